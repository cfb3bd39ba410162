package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// CompareFunc judges the canary cluster(s) against the baseline's at instant at.
type CompareFunc func(ctx context.Context, at time.Time, baseline, canary string) (compare.Result, error)

// compareResult wraps the last comparison on screen.
type compareResult struct {
	compare.Result
}

// comparisonView is the state of the live comparison: the rows marked as baseline and canary
// and the comparison of the two.
type comparisonView struct {
	marks  []string // the baseline, then the canary
	only   bool     // the dashboard is one comparison (compare --watch): no table to go back to
	result compareResult
	have   bool   // a result has arrived for marks
	err    error  // the latest comparison failed with this
	note   string // why c did nothing
	scroll int
	// lines is the comparison as drawn, redrawn by redrawComparison whenever it changes.
	lines []string
}

// NewCompare builds a dashboard that shows one live comparison (compare --watch) and nothing
// else: Esc does not go back to a table, because there is none.
func NewCompare(fn CompareFunc, baseline, canary string, opts Options) Model {
	opts.Compare = fn
	m := New(nil, opts)
	m.comparison.marks = []string{baseline, canary}
	m.mode, m.comparison.only = modeCompare, true
	m.redrawComparison()
	return m
}

// toggle marks a row as the baseline, then the canary; marking a third row drops the oldest
// mark, and marking a marked row unmarks it.
func (c *comparisonView) toggle(name string) {
	for i, mk := range c.marks {
		if mk == name {
			c.marks = append(c.marks[:i:i], c.marks[i+1:]...)
			return
		}
	}
	c.marks = append(c.marks, name)
	if len(c.marks) > 2 {
		c.marks = c.marks[len(c.marks)-2:]
	}
	c.note = ""
}

// markOf is B or C for a marked row, a space otherwise.
func (c *comparisonView) markOf(name string) string {
	for i, mk := range c.marks {
		if mk == name {
			return [2]string{"B", "C"}[i]
		}
	}
	return " "
}

// openCompare opens the live comparison of the two marked rows.
func (m Model) openCompare() (tea.Model, tea.Cmd) {
	switch {
	case m.opts.Compare == nil:
		m.comparison.note = "comparison is not available here"
		return m, nil
	case len(m.comparison.marks) != 2:
		m.comparison.note = "mark the baseline and then the canary with m first"
		return m, nil
	}
	m.mode = modeCompare
	m.comparison = comparisonView{marks: m.comparison.marks, only: m.comparison.only}
	m.redrawComparison()
	if !m.loading {
		return m, m.startLoad(false)
	}
	return m, nil
}

// compareKey handles a key in the comparison view.
func (m Model) compareKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back) && !m.comparison.only:
		m.mode = modeTable
		m.redrawComparison()
	case key.Matches(msg, k.Up):
		m.comparison.scroll = max(m.comparison.scroll-1, 0)
	case key.Matches(msg, k.Down):
		m.comparison.scroll = min(m.comparison.scroll+1, max(len(m.comparison.lines)-m.bodyHeight(), 0))
	}
	return m, nil
}

// redrawComparison draws the comparison into comparison.lines when it is open (also under the
// help), and drops the lines otherwise. Update calls it when the comparison changes, never for a
// key that only scrolls.
func (m *Model) redrawComparison() {
	if m.screen() != modeCompare {
		m.comparison.lines = nil
		return
	}
	m.comparison.lines = m.compareLines()
}

// compareLines draws the comparison: both versions side by side with sparklines of their
// per-step requests per second and p99, the deltas with their tests, the checks and the verdict.
func (m Model) compareLines() []string {
	st := m.styles
	var lines []string
	title := "compare"
	if len(m.comparison.marks) == 2 {
		title = fmt.Sprintf("compare  B %s  ·  C %s", termtext.Sanitize(m.comparison.marks[0]), termtext.Sanitize(m.comparison.marks[1]))
	}
	lines = append(lines, st.section.Render(title))
	if m.comparison.err != nil {
		lines = append(lines, st.err.Render("✗ "+oneLine(m.comparison.err.Error())))
	}
	if !m.comparison.have {
		if m.comparison.err == nil {
			lines = append(lines, st.muted.Render("comparing…"))
		}
		return lines
	}
	r := m.comparison.result.Result
	b, c := r.Baseline, r.Canary
	const labelW, colW = 20, 26
	row := func(label, base, canary, delta string) string {
		return "  " + padRight(label, labelW) + padRight(base, colW) + padRight(canary, colW) + delta
	}
	share := func(a compare.ArmStats) string { return fmtRPS(a.RPS) + " (" + pctOrDash(a.Share) + ")" }
	ci := func(a compare.ArmStats) string {
		if !traffic.Known(a.Success) {
			return dash
		}
		return fmtSuccess(a.Success) + " [" + fmtSuccess(a.SuccessLo) + ", " + fmtSuccess(a.SuccessHi) + "]"
	}
	sparkW := colW - 2
	lines = append(lines,
		"",
		st.colHead.Render(row("", "BASELINE", "CANARY", "DELTA")),
		row("requests", fmtTotal(b.Requests), fmtTotal(c.Requests), "in "+fmtWindow(r.Window)),
		row("rps (share)", share(b), share(c), ""),
		// Both versions on one scale, so the sparklines compare as the numbers do.
		row("rps per step", sparklineTo(b.RPSSteps, sparkW, peak(b.RPSSteps, c.RPSSteps)), sparklineTo(c.RPSSteps, sparkW, peak(b.RPSSteps, c.RPSSteps)), ""),
		row("success (95% CI)", ci(b), ci(c), fmt.Sprintf("%+.2f pts  %s p=%s", r.SuccessDelta*100, r.SuccessTest, pvalText(r.SuccessP))),
		row("5xx", fmtTotal(b.Errors), fmtTotal(c.Errors), ""),
		row("p50 · p90", fmtMs(b.P50)+" · "+fmtMs(b.P90), fmtMs(c.P50)+" · "+fmtMs(c.P90), ""),
		row("p99", fmtMs(b.P99), fmtMs(c.P99), fmt.Sprintf("%+.1f%%  Mann-Whitney p=%s", r.P99Increase*100, pvalText(r.LatencyP))),
		row("p99 per step", sparklineTo(b.P99Steps, sparkW, peak(b.P99Steps, c.P99Steps)), sparklineTo(c.P99Steps, sparkW, peak(b.P99Steps, c.P99Steps)), ""),
		row("timeouts · retries", fmtRate(b.Timeouts)+" · "+fmtRate(b.Retries), fmtRate(c.Timeouts)+" · "+fmtRate(c.Retries), ""),
	)
	if len(b.Invalid)+len(c.Invalid) > 0 {
		lines = append(lines, st.err.Render(row(invalid+" invalid data", strings.Join(b.Invalid, ","), strings.Join(c.Invalid, ","), "not shown")))
	}
	lines = append(lines, "")
	for _, ch := range r.Checks {
		mark := map[compare.Verdict]string{compare.Pass: "✓", compare.Fail: "✗", compare.Inconclusive: "?"}[ch.Verdict]
		line := fmt.Sprintf("  %s %s: %s", mark, ch.Name, oneLine(ch.Reason))
		switch ch.Verdict {
		case compare.Fail:
			line = st.err.Render(line)
		case compare.Inconclusive:
			line = st.warning.Render(line)
		}
		lines = append(lines, line)
	}
	verdict := "verdict: " + string(r.Verdict)
	switch r.Verdict {
	case compare.Fail:
		verdict = st.err.Render(verdict)
	case compare.Inconclusive:
		verdict = st.warning.Render(verdict)
	default:
		verdict = st.section.Render(verdict)
	}
	return append(lines, "", "  "+verdict)
}

// fmtTotal formats a count over the window: whole numbers, the dash for none.
func fmtTotal(v float64) string {
	if !traffic.Known(v) {
		return dash
	}
	return fmt.Sprintf("%.0f", v)
}

func pctOrDash(v float64) string {
	if !traffic.Known(v) {
		return dash
	}
	return fmt.Sprintf("%.1f%%", v*100)
}

func pvalText(p float64) string {
	switch {
	case !traffic.Known(p):
		return dash
	case p < 0.0001:
		return "<0.0001"
	}
	return fmt.Sprintf("%.4f", p)
}

// compareFooter is the status line of the comparison view.
func (m Model) compareFooter() string {
	back := "esc back · "
	if m.comparison.only {
		back = ""
	}
	return m.styles.muted.Render(back + "↑↓ scroll · p pause · ? help · q quit · " + termtext.Sanitize(strings.Join(m.comparison.marks, " vs ")))
}

// compareHeader is the header of compare --watch: freshness, the error if the last comparison
// failed, and the verdict.
func (m Model) compareHeader() []string {
	st := m.styles
	var b strings.Builder
	b.WriteString(st.title.Render("promteam compare"))
	if m.paused {
		b.WriteString(" " + st.paused.Render(" PAUSED "))
	}
	if m.comparison.have {
		age := "updated " + fmtAge(m.clock.Sub(m.lastGood)) + " ago"
		if m.err != nil {
			age = st.err.Render(age + " (stale)")
		}
		b.WriteString(sep + age + m.behindNote() + sep + "window " + fmtWindow(m.comparison.result.Window) + " step " + fmtWindow(m.comparison.result.Step))
	} else {
		b.WriteString(sep + "no data yet")
	}
	if m.opts.Target != "" {
		b.WriteString(sep + termtext.Sanitize(m.opts.Target))
	}
	var line2 string
	if m.err != nil {
		line2 = st.err.Render("✗ comparison failed") + st.muted.Render(": ") + oneLine(m.err.Error())
	}
	line3 := st.muted.Render("verdict ") + dash
	if m.comparison.have {
		line3 = st.muted.Render("verdict ") + string(m.comparison.result.Verdict)
	}
	return []string{b.String(), line2, line3}
}

// LastComparison is the comparison on screen when the program ended (compare --watch exits with
// its verdict): ok is false when none arrived, and err is the error of the latest refresh when it
// failed.
func (m Model) LastComparison() (res compare.Result, ok bool, err error) {
	return m.comparison.result.Result, m.comparison.have, m.comparison.err
}
