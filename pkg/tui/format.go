package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// dash is what every unknown number (NaN) shows as: never 0 ms or 100%.
const dash = "—"

// ellipsis marks text cut to fit.
const ellipsis = "…"

// invalid is what a number Prometheus answered outside its domain shows as (traffic.CheckRate).
const invalid = "✗"

// orInvalid is text, or the invalid mark when f is among the invalid fields.
func orInvalid(text string, bad, f traffic.Fields) string {
	if bad.Has(f) {
		return invalid
	}
	return text
}

// The table's numbers print as pkg/traffic prints them, with the dashboard's dash for no data.
func fmtRPS(v float64) string     { return orDash(v, traffic.FormatRPS) }
func fmtSuccess(v float64) string { return orDash(v, traffic.FormatSuccess) }
func fmtMs(v float64) string      { return orDash(v, traffic.FormatLatency) }
func fmtCount(v float64) string   { return orDash(v, traffic.FormatCount) }

func orDash(v float64, format func(float64) string) string {
	if !traffic.Known(v) {
		return dash
	}
	return format(v)
}

// fmtRate formats a per-second rate in the drill-down ("2.50/s").
func fmtRate(v float64) string {
	if !traffic.Known(v) {
		return dash
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "/s"
}

// fmtAge formats a duration at second resolution: "3s", "1m5s", "2h0m".
func fmtAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// fmtWindow formats a rate window compactly: "1m", "30s", "1m30s", "1h".
func fmtWindow(d time.Duration) string {
	if d <= 0 {
		return dash
	}
	if d < time.Second {
		return d.String()
	}
	var b strings.Builder
	h, m, s := d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// fmtTook formats how long a refresh took: "120ms", "1.2s".
func fmtTook(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}

// serviceLabel is the NAMESPACE/SERVICE cell: "ns/svc" where the controller's naming reveals
// both, the service alone where only it is known, else a dash.
func serviceLabel(r traffic.Row) string {
	switch {
	case r.Namespace != "" && r.Service != "":
		return r.Namespace + "/" + r.Service
	case r.Service != "":
		return r.Service
	}
	return dash
}

// sparkGlyphs are the eight bar heights of a sparkline.
var sparkGlyphs = [...]rune{'▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'}

// sparkline draws vals (oldest first) scaled from 0 to their maximum, right-aligned in width
// cells. NaN is a gap (a space).
func sparkline(vals []float64, width int) string {
	return sparklineTo(vals, width, peak(vals))
}

// peak is the largest known value of the series, 0 when none is.
func peak(series ...[]float64) float64 {
	hi := 0.0
	for _, vals := range series {
		for _, v := range vals {
			if traffic.Known(v) && v > hi {
				hi = v
			}
		}
	}
	return hi
}

// sparklineTo draws vals scaled to hi, so that several sparklines can share one scale.
func sparklineTo(vals []float64, width int, hi float64) string {
	if width <= 0 {
		return ""
	}
	if len(vals) > width {
		vals = vals[len(vals)-width:]
	}
	var b strings.Builder
	b.Grow(width * 3)
	for range width - len(vals) {
		b.WriteByte(' ')
	}
	for _, v := range vals {
		switch {
		case !traffic.Known(v):
			b.WriteByte(' ')
		case hi <= 0 || v <= 0:
			b.WriteRune(sparkGlyphs[0])
		default:
			i := int(math.Round(v / hi * float64(len(sparkGlyphs)-1)))
			b.WriteRune(sparkGlyphs[min(max(i, 0), len(sparkGlyphs)-1)])
		}
	}
	return b.String()
}

// barEighths are partial block glyphs for horizontal bars, by eighths.
var barEighths = [...]string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// bar draws a horizontal bar of frac (0..1) of width cells, padded to width.
func bar(frac float64, width int) string {
	if width <= 0 {
		return ""
	}
	if !traffic.Known(frac) || frac < 0 {
		frac = 0
	}
	eighths := int(math.Round(min(frac, 1) * float64(width*8)))
	if frac > 0 && eighths == 0 {
		eighths = 1 // a bucket that saw anything is never drawn empty
	}
	s := strings.Repeat("█", eighths/8) + barEighths[eighths%8]
	return s + strings.Repeat(" ", width-(eighths+7)/8)
}

// plainWidth is the cell width of text, its escape codes taking none; fast for plain ASCII.
func plainWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || s[i] == '\x1b' {
			// Wide runes, or styled text: escape codes take no cells.
			return lipgloss.Width(s)
		}
	}
	return len(s)
}

// fit cuts plain text to at most w cells, marking the cut with an ellipsis.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if plainWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, ellipsis)
}

// padRight fits plain text to exactly w cells, left-aligned.
func padRight(s string, w int) string {
	s = fit(s, w)
	if n := w - plainWidth(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

// padLeft fits plain text to exactly w cells, right-aligned.
func padLeft(s string, w int) string {
	s = fit(s, w)
	if n := w - plainWidth(s); n > 0 {
		return strings.Repeat(" ", n) + s
	}
	return s
}

// clipLine cuts a styled line to at most w cells.
func clipLine(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, ellipsis)
}
