package tui

import (
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Colour thresholds: traffic's, the one place that decides when a number turns yellow or red
// (and a row gets traffic.Marker). They apply only to rows whose request rate is at least
// Options.MinRPS: one failure out of three requests is noise, not an incident, so such rows are
// dimmed instead.
const (
	errorRatioBad  = traffic.ErrorRatioBad
	errorRatioWarn = traffic.ErrorRatioWarn
	p99BadMs       = traffic.P99BadMs
	p99WarnMs      = traffic.P99WarnMs
)

// level is how alarming a number is.
type level int

const (
	levelOK level = iota
	levelWarn
	levelBad
	numLevels
)

// successLevel grades a success ratio (0..1); unknown values are never coloured.
func successLevel(success float64) level { return fromTraffic(traffic.SuccessLevel(success)) }

// latencyLevel grades a p99 in milliseconds; unknown values are never coloured.
func latencyLevel(ms float64) level { return fromTraffic(traffic.LatencyLevel(ms)) }

func fromTraffic(l traffic.Level) level {
	switch l {
	case traffic.LevelBad:
		return levelBad
	case traffic.LevelWarn:
		return levelWarn
	}
	return levelOK
}

// rowKind is how a table row is drawn as a whole.
type rowKind int

const (
	rowNormal rowKind = iota
	rowDim            // below MinRPS: no threshold colours, faint
	rowSelected
	rowSelectedDim
	numRowKinds
)

// paint is a style reduced to the escape codes it writes before and after a single line of
// text. lipgloss renders each style once, in newPaint; drawing a cell is then two string
// concatenations, which keeps View cheap. An unset paint leaves text unchanged.
type paint struct {
	prefix, suffix string
}

// newPaint captures the codes s puts around one line of text.
func newPaint(s lipgloss.Style) paint {
	const probe = "\x00"
	before, after, ok := strings.Cut(s.Render(probe), probe)
	if !ok {
		return paint{}
	}
	return paint{prefix: before, suffix: after}
}

// Render styles s, which must be one line of text without tabs (every caller passes plain
// cells or folded messages).
func (p paint) Render(s string) string {
	if p.prefix == "" || s == "" {
		return s
	}
	return p.prefix + s + p.suffix
}

// styles holds every style the dashboard draws with. It is built once in New from
// Options.NoColor; nothing here is package-level state.
type styles struct {
	title   paint // first header line
	muted   paint // secondary text
	colHead paint // column titles
	err     paint // refresh error
	warning paint // Prometheus warnings
	paused  paint // PAUSED marker
	bar     paint // latency bucket bars
	section paint // section titles in the drill-down and help

	// cell is the style of a table cell by row kind and level.
	cell [numRowKinds][numLevels]paint
}

// newStyles builds the styles. Without colour only attributes are used: bold for titles and for
// red-level numbers, faint for low-traffic rows and reverse video for the selection.
func newStyles(noColor bool) styles {
	bold := lipgloss.NewStyle().Bold(true)
	faint := lipgloss.NewStyle().Faint(true)
	reverse := lipgloss.NewStyle().Reverse(true)

	s := styles{
		title:   newPaint(bold),
		muted:   newPaint(faint),
		colHead: newPaint(bold),
		section: newPaint(bold),
		err:     newPaint(bold),
		paused:  newPaint(reverse.Bold(true)),
	}
	// Without colour a yellow-level number stays plain and a red-level one turns bold.
	var warn, warnSel paint
	bad := bold
	if noColor {
		warnSel = newPaint(reverse)
	} else {
		w := lipgloss.NewStyle().Foreground(lipgloss.Yellow)
		warn, warnSel = newPaint(w), newPaint(w.Reverse(true))
		bad = lipgloss.NewStyle().Foreground(lipgloss.Red)
		s.err = newPaint(bold.Foreground(lipgloss.Red))
		s.warning = newPaint(w)
		s.paused = newPaint(reverse.Bold(true).Foreground(lipgloss.Yellow))
		s.bar = newPaint(lipgloss.NewStyle().Foreground(lipgloss.Cyan))
	}

	s.cell[rowNormal][levelOK] = paint{}
	s.cell[rowNormal][levelWarn] = warn
	s.cell[rowNormal][levelBad] = newPaint(bad)
	s.cell[rowSelected][levelOK] = newPaint(reverse)
	s.cell[rowSelected][levelWarn] = warnSel
	s.cell[rowSelected][levelBad] = newPaint(bad.Reverse(true))
	for l := range numLevels {
		// Dimmed rows carry no threshold colour whatever their numbers.
		s.cell[rowDim][l] = newPaint(faint)
		s.cell[rowSelectedDim][l] = newPaint(faint.Reverse(true))
	}
	return s
}

// kindOf picks the row kind for a row with the given rate.
func kindOf(selected bool, rps, minRPS float64) rowKind {
	dim := !traffic.Known(rps) || rps < minRPS
	switch {
	case selected && dim:
		return rowSelectedDim
	case selected:
		return rowSelected
	case dim:
		return rowDim
	}
	return rowNormal
}
