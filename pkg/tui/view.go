package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// View draws the screen on the alternate screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	return v
}

// render draws the screen as text: header, body (table, drill-down or help) and status line.
// It touches only the rows on screen, so its cost does not grow with the number of rows.
func (m Model) render() string {
	lines := make([]string, 0, m.height)
	if m.comparison.only {
		lines = append(lines, m.compareHeader()...)
	} else {
		lines = append(lines, m.header()...)
	}

	bodyH := m.bodyHeight()
	var body []string
	first := headerLines // lines from here on are clipped to the width
	switch m.mode {
	case modeHelp:
		body = m.helpLines()
		body = body[m.clampHelpScroll(m.helpScroll):]
	case modePicker:
		body = m.pickerLines()
	case modeCompare:
		body = m.comparison.lines
		s := min(max(m.comparison.scroll, 0), max(len(body)-bodyH, 0))
		body = body[s:]
	case modeDetail:
		body = m.detail.lines
		s := min(max(m.detail.scroll, 0), max(len(body)-bodyH, 0))
		body = body[s:]
	default:
		var fits bool
		body, fits = m.tableLines()
		if fits {
			// Rows are drawn to the layout's width, known to fit: no need to measure them.
			first = headerLines + len(body)
		}
	}
	body = body[:min(len(body), bodyH)]
	lines = append(lines, body...)
	for range bodyH - len(body) {
		lines = append(lines, "")
	}
	lines = append(lines, m.footer())

	lines = lines[:min(len(lines), max(m.height, 1))]
	for i, l := range lines {
		if i < headerLines || i >= first {
			lines[i] = clipLine(l, m.width)
		}
	}
	return strings.Join(lines, "\n")
}

// sep separates items on the header and status lines.
const sep = " · "

// behindNote says, from a second on, how far behind the clock the instant a store was read at
// (Options.Frontier) is: the age of the newest samples every number on screen includes.
func (m Model) behindNote() string {
	if m.behind < time.Second {
		return ""
	}
	return sep + "data " + fmtAge(m.behind) + " old"
}

// header draws the three header lines: what is shown and how fresh it is; the error or the
// warnings; the downstream listeners.
func (m Model) header() []string {
	st := m.styles

	// Line 1: title, flags, freshness, then what is shown; the long target goes last so a
	// narrow terminal cuts it rather than the age.
	var b strings.Builder
	b.WriteString(st.title.Render("promteam top"))
	if p := m.opts.Place.String(); p != "" {
		b.WriteString(sep + termtext.Sanitize(p))
	}
	if m.paused {
		b.WriteString(" " + st.paused.Render(" PAUSED "))
	}
	if m.haveFrame {
		age := "updated " + fmtAge(m.clock.Sub(m.lastGood)) + " ago"
		if m.err != nil {
			age = st.err.Render(age + " (stale)")
		}
		b.WriteString(sep + age + m.behindNote())
		if m.frame.AlertsKnown {
			b.WriteString(sep + m.alertSummary())
		}
		b.WriteString(sep + "took " + fmtTook(m.frame.Took))
		if n := len(m.frame.Warnings); n > 0 {
			b.WriteString(sep + st.warning.Render(plural(n, "warning", "warnings")))
		}
		window := "window " + fmtWindow(m.frame.Window)
		if m.window > 0 && m.window != m.frame.Window {
			window += " → " + fmtWindow(m.window) // the next frame brings it
		}
		b.WriteString(sep + window)
		switch {
		case m.frame.Source == traffic.SourceRules:
			b.WriteString(sep + "recording rules")
		case m.frame.Dialect != "":
			b.WriteString(sep + m.frame.Dialect)
		}
		if r := m.opts.RulesWindow; r > 0 && m.frame.Source != traffic.SourceRules && m.frame.Window != r {
			b.WriteString(sep + "Envoy's own series (the rules keep " + fmtWindow(r) + ")")
		}
		switch m.frame.GroupBy {
		case traffic.GroupByRoute:
			b.WriteString(sep + "by route")
		case traffic.GroupByVhost:
			b.WriteString(sep + "by virtual host")
		}
	} else {
		b.WriteString(sep + "no data yet")
	}
	if m.histErr != nil {
		b.WriteString(sep + st.warning.Render("history unavailable"))
	}
	if m.opts.Backend == traffic.BackendThanosQuery {
		b.WriteString(sep + "Thanos Query")
	}
	if m.opts.Target != "" {
		b.WriteString(sep + termtext.Sanitize(m.opts.Target))
	}
	line1 := b.String()

	// Line 2: the current error, else the first warning.
	var line2 string
	switch {
	case m.switching.pending != nil:
		line2 = m.switchLine()
	case m.err != nil:
		// The age of the frame still on screen is on line 1, marked stale.
		state := "retry in " + fmtAge(m.nextLoad.Sub(m.clock))
		switch {
		case m.paused:
			state = "paused"
		case m.loading:
			state = "retrying…"
		}
		line2 = st.err.Render("✗ refresh failed") + st.muted.Render(" ("+state+"): ") + oneLine(m.err.Error())
	case m.switching.err != nil:
		line2 = m.switchLine()
	case m.haveFrame && len(m.frame.Warnings) > 0:
		w := "⚠ " + oneLine(m.frame.Warnings[0])
		if n := len(m.frame.Warnings) - 1; n > 0 {
			w += fmt.Sprintf(" (+%d more)", n)
		}
		line2 = st.warning.Render(w)
	case !m.haveFrame:
		line2 = st.muted.Render("loading the first frame…")
	}

	// Line 3: downstream listeners.
	var l3 strings.Builder
	l3.WriteString(st.muted.Render("downstream "))
	if !m.haveFrame || len(m.frame.Listeners) == 0 {
		l3.WriteString(dash)
	}
	for i, l := range m.frame.Listeners {
		if i > 0 {
			l3.WriteString(sep)
		}
		if l3.Len() > 4*m.width {
			break // the rest would be clipped anyway
		}
		kind := kindOf(false, l.RPS, m.opts.MinRPS)
		cell := st.cell[kind]
		l3.WriteString(termtext.Sanitize(l.Prefix) + " " + orInvalid(fmtRPS(l.RPS), l.Invalid, traffic.FieldRPS) + " rps ")
		l3.WriteString(cell[successLevel(l.Success)].Render(orInvalid(fmtSuccess(l.Success), l.Invalid, traffic.FieldSuccess)))
		l3.WriteString(" p99 " + cell[latencyLevel(l.P99)].Render(orInvalid(fmtMs(l.P99), l.Invalid, traffic.FieldP99)))
	}
	return []string{line1, line2, l3.String()}
}

// alertSummary counts the alerts about the selected clusters: firing ones in the error colour,
// with the critical ones, and pending ones.
func (m Model) alertSummary() string {
	st := m.styles
	firing, pending, critical := m.frame.AlertCount()
	var parts []string
	if firing > 0 {
		f := fmt.Sprintf("%d firing", firing)
		if critical > 0 {
			f += fmt.Sprintf(" (%d critical)", critical)
		}
		parts = append(parts, st.err.Render(f))
	}
	if pending > 0 {
		parts = append(parts, st.warning.Render(fmt.Sprintf("%d pending", pending)))
	}
	if len(parts) == 0 {
		return st.muted.Render("no alerts")
	}
	return "alerts " + strings.Join(parts, ", ")
}

// tableLines draws the column titles and the visible rows, and reports whether they fit the
// width by construction.
func (m Model) tableLines() ([]string, bool) {
	st := m.styles
	lay := m.layout()
	h := m.tableHeight()
	lines := make([]string, 0, h+1)
	fits := lay.width() <= m.width

	// Column titles with the sort arrow.
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", gutter))
	for j, c := range lay.cols {
		if j > 0 {
			b.WriteByte(' ')
		}
		spec, w := columnSpecs[c], lay.widths[j]
		title := spec.title
		if k, ok := c.isVs(); ok {
			title = "VS " + strings.ToUpper(fmtOffset(m.offsets()[k]))
		}
		if c == m.table.sort.col && !m.byChange() {
			arrow := "▲"
			if m.table.sort.desc {
				arrow = "▼"
			}
			title = fit(title, w-1) + arrow
		}
		if spec.right {
			b.WriteString(padLeft(title, w))
		} else {
			b.WriteString(padRight(title, w))
		}
	}
	lines = append(lines, st.colHead.Render(b.String()))

	switch {
	case !m.haveFrame:
		return append(lines, st.muted.Render("  waiting for the first frame…")), false
	case len(m.frame.Rows) == 0:
		return append(lines, st.muted.Render("  no Envoy clusters in this frame")), false
	case len(m.table.order) == 0:
		return append(lines, st.muted.Render("  no cluster matches the filter "+strconv.Quote(m.activeFilter()))), false
	}

	end := min(m.table.offset+h, len(m.table.order))
	for i := m.table.offset; i < end; i++ {
		lines = append(lines, m.rowLine(lay, i))
	}
	return lines, fits
}

// rowLine draws the row at position i of the order. Cells are grouped into runs of the same
// style so a row costs only a few style renders.
func (m Model) rowLine(lay layout, i int) string {
	idx := m.table.order[i]
	r := &m.frame.Rows[idx]
	selected := i == m.table.cursor
	styles := m.styles.cell[kindOf(selected, r.RPS, m.opts.MinRPS)]

	var out, run strings.Builder
	out.Grow(4 * lay.width()) // sparkline glyphs take 3 bytes, escape codes a few more
	run.Grow(3 * lay.width())
	runLevel := levelOK
	emit := func(text string, l level) {
		if l != runLevel && run.Len() > 0 {
			out.WriteString(styles[runLevel].Render(run.String()))
			run.Reset()
		}
		runLevel = l
		run.WriteString(text)
	}

	sel, above := " ", " "
	if selected {
		sel = "▸"
	}
	if traffic.AboveThresholds(r.RPS, r.Success, r.P99, m.opts.MinRPS) {
		above = traffic.Marker
	}
	emit(sel+above+m.comparison.markOf(r.Name), levelOK)
	hist := m.hist.get(r.Name)
	for j, c := range lay.cols {
		if j > 0 {
			emit(" ", levelOK)
		}
		w := lay.widths[j]
		switch c {
		case colName:
			emit(padRight(m.names[idx], w), levelOK)
		case colService:
			emit(padRight(m.svc[idx], w), levelOK)
		case colRPS:
			emit(padLeft(orInvalid(fmtRPS(r.RPS), r.Invalid, traffic.FieldRPS), w), levelOK)
		case colSuccess:
			emit(padLeft(orInvalid(fmtSuccess(r.Success), r.Invalid, traffic.FieldSuccess), w), successLevel(r.Success))
		case colP50:
			emit(padLeft(orInvalid(fmtMs(r.P50), r.Invalid, traffic.FieldP50), w), levelOK)
		case colP90:
			emit(padLeft(orInvalid(fmtMs(r.P90), r.Invalid, traffic.FieldP90), w), levelOK)
		case colP99:
			emit(padLeft(orInvalid(fmtMs(r.P99), r.Invalid, traffic.FieldP99), w), latencyLevel(r.P99))
		case colActive:
			emit(padLeft(orInvalid(fmtCount(r.Active), r.Invalid, traffic.FieldActive), w), levelOK)
		case col4xx:
			emit(padLeft(orInvalid(fmtRPS(r.Err4xx), r.Invalid, traffic.FieldErr4xx), w), levelOK)
		case col5xx:
			// 5xx are the errors of the success ratio: the same colour.
			emit(padLeft(orInvalid(fmtRPS(r.Err5xx), r.Invalid, traffic.FieldErr5xx), w), successLevel(r.Success))
		case colRPSTrend:
			emit(trendline(hist.rpsValues(), w), levelOK)
		case colP99Trend:
			emit(trendline(hist.p99Values(), w), levelOK)
		case colVs0, colVs1, colVs2:
			k, _ := c.isVs()
			text, l := m.vsCell(idx, m.offsets()[k])
			emit(padLeft(text, w), l)
		}
	}
	if run.Len() > 0 {
		out.WriteString(styles[runLevel].Render(run.String()))
	}
	return out.String()
}

// vsCell draws row idx's change against the past offset ago: the row's biggest move, when it
// is notable, marked * and in the error level if it is for the worse; other notable moves for
// the worse in the warning level.
func (m Model) vsCell(idx int, offset time.Duration) (string, level) {
	c, ok := m.vs.changeAt(idx, offset)
	if !ok {
		return dash, levelOK
	}
	text := traffic.FormatChange(c)
	notable := c.Score >= notableScore
	biggest := notable && idx < len(m.vs.scores) && c.Score == m.vs.scores[idx]
	switch {
	case biggest && worse(c):
		return text + "*", levelBad
	case biggest:
		return text + "*", levelOK
	case notable && worse(c):
		return text + " ", levelWarn
	}
	return text + " ", levelOK
}

// layout is the table's layout at the terminal's width: the vs view's when it is on. Rows of
// virtual clusters and routes name no Service and count no requests in flight: their layouts
// have no NAMESPACE/SERVICE or ACTIVE column.
func (m Model) layout() layout {
	candidates := layoutCandidates
	if m.vs.on {
		candidates = vsLayoutCandidates(len(m.offsets()))
	}
	if m.frame.GroupBy == traffic.GroupByVhost {
		candidates = withoutColumn(withoutColumn(candidates, colService), colActive)
	}
	return computeLayoutOf(candidates, m.width, m.maxName, m.maxSvc)
}

// vsStatus is the vs view's part of the status line: what the rows are compared with, or why
// they are not.
func (m Model) vsStatus() string {
	st := m.styles
	if m.vs.err != nil {
		return st.warning.Render("past unavailable: " + oneLine(m.vs.err.Error()))
	}
	offs := make([]string, 0, maxVsColumns)
	for _, o := range m.offsets() {
		offs = append(offs, fmtOffset(o))
	}
	s := "vs " + strings.Join(offs, " ") + " ago"
	if !m.vs.have {
		return s + " (loading…)"
	}
	if m.vs.byChange {
		s += ", biggest move first"
	}
	return s + " (v: trends)"
}

// activeFilter is the filter in force: the one being typed while the input is open.
func (m Model) activeFilter() string {
	if m.mode == modeFilter {
		return m.table.input
	}
	return m.table.filter
}

// footer draws the status line: row count, sort, filter and key hints.
func (m Model) footer() string {
	st := m.styles
	rows := "clusters"
	switch m.frame.GroupBy {
	case traffic.GroupByRoute:
		rows = "routes"
	case traffic.GroupByVhost:
		rows = "virtual clusters and routes"
	}
	count := fmt.Sprintf("%d/%d %s", len(m.table.order), len(m.frame.Rows), rows)
	switch m.mode {
	case modeFilter:
		return "/" + termtext.Sanitize(m.table.input) + "█" + st.muted.Render("  enter apply · esc clear · "+count)
	case modeHelp:
		if n, h := len(m.helpLines()), m.bodyHeight(); n > h {
			top := m.clampHelpScroll(m.helpScroll)
			return st.muted.Render(fmt.Sprintf("? or esc close help · ↑↓ scroll (lines %d-%d of %d) · q quit", top+1, top+h, n))
		}
		return st.muted.Render("? or esc close help · q quit")
	case modePicker:
		return m.pickerFooter()
	case modeCompare:
		return m.compareFooter()
	case modeDetail:
		scroll := ""
		if n, h := len(m.detail.lines), m.bodyHeight(); n > h {
			top := min(max(m.detail.scroll, 0), n-h)
			scroll = fmt.Sprintf(" (lines %d-%d of %d)", top+1, top+h, n)
		}
		return st.muted.Render("esc back · ↑↓ scroll" + scroll + " · t chart span · p pause · ? help · q quit")
	}
	arrow := "▲"
	if m.table.sort.desc {
		arrow = "▼"
	}
	s := count + sep + "sort " + columnSpecs[m.table.sort.col].title + " " + arrow
	if m.byChange() {
		s = count
	}
	if m.table.filter != "" {
		s += sep + "filter " + strconv.Quote(m.table.filter)
	}
	if m.vs.on {
		s += sep + m.vsStatus()
	} else if t := m.trendScale(); t != "" {
		s += sep + t
	}
	if m.comparison.note != "" {
		s += sep + st.warning.Render(m.comparison.note)
	}
	return s + st.muted.Render(sep+"? help · q quit · enter drill down · / filter · 1-9 0 sort · r reverse · p pause · w window · v vs past")
}

// trendScale is the scale of the selected row's sparklines: the range each is drawn over, or
// "steady" for a flat one; "" without a selection or history.
func (m Model) trendScale() string {
	if !m.haveFrame || m.table.cursor < 0 || m.table.cursor >= len(m.table.order) {
		return ""
	}
	s, ok := m.hist.rows[m.frame.Rows[m.table.order[m.table.cursor]].Name]
	if !ok {
		return ""
	}
	scale := func(vals []float64, format func(float64) string) string {
		lo, hi, ok := span(vals)
		switch {
		case !ok:
			return dash
		case isFlat(lo, hi):
			return "steady " + format(hi)
		}
		return format(lo) + "–" + format(hi)
	}
	return "trend rps " + scale(s.rpsValues(), fmtRPS) + " p99 " + scale(s.p99Values(), fmtMs)
}

// clampHelpScroll keeps the help's first line on screen within what lets its last one show.
func (m Model) clampHelpScroll(s int) int {
	return min(max(s, 0), max(len(m.helpLines())-m.bodyHeight(), 0))
}

// helpLines draws the help overlay.
func (m Model) helpLines() []string {
	st := m.styles
	lines := []string{st.section.Render("Keys")}
	for _, h := range m.keys.help() {
		lines = append(lines, "  "+padRight(h.Key, 16)+" "+h.Desc)
	}
	success := fmt.Sprintf("yellow when errors exceed %s, red from %s", pct(errorRatioWarn), pct(errorRatioBad))
	latency := fmt.Sprintf("yellow above %s, red above %s", fmtMs(p99WarnMs), fmtMs(p99BadMs))
	marker := "a row with a red SUCCESS or P99, in colour or not"
	if m.opts.NoColor {
		success = "bold from " + pct(errorRatioBad) + " errors"
		latency = "bold above " + fmtMs(p99BadMs)
		marker = "a row with a bold SUCCESS or P99 (" + pct(errorRatioBad) + " errors, p99 above " + fmtMs(p99BadMs) + ")"
	}
	cols := make([]string, numSortable)
	for c := range numSortable {
		cols[c] = columnSpecs[c].title
	}
	lines = append(lines,
		st.section.Render("Sort")+" 1-9 0: "+strings.Join(cols, " "),
		st.section.Render("Thresholds")+fmt.Sprintf(" (rows with at least %s rps; slower rows are dimmed)", fmtRPS(m.opts.MinRPS)),
		"  SUCCESS  "+success+"; 5XX/S likewise",
		"  P99      "+latency,
		"  "+traffic.Marker+"        "+marker,
		"  "+dash+"        no data: never shown as 0ms or 100%; such rows sort last",
		"  "+invalid+"        invalid: an impossible number (rate below 0, success above 100%, latency above a day)",
		st.section.Render("Trends")+fmt.Sprintf(" RPS and P99 over %s, one glyph per %s, each row on its own scale", fmtWindow(historySpan), fmtWindow(historyStep)),
		st.section.Render("Vs")+" each row's biggest move in RPS, 5xx share or P99 against each past; * the row's biggest",
	)
	return lines
}

// pct formats a ratio as a short percentage: 0.001 → "0.1%".
func pct(v float64) string {
	return strconv.FormatFloat(v*100, 'f', -1, 64) + "%"
}

// plural formats a count with the matching noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// oneLine folds text onto one line, printable: errors and warnings carry Prometheus' and the API
// server's text.
func oneLine(s string) string {
	return termtext.Sanitize(strings.Join(strings.Fields(s), " "))
}
