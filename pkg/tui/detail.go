package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// detailView is the drill-down's state: the cluster, its detail once loaded, and the scroll
// position in its lines.
type detailView struct {
	name   string
	data   traffic.Detail
	have   bool  // data has arrived for name
	err    error // the latest drill-down load failed with this
	scroll int
	// The charts: span is theirs (zero: the first of chartSpans), chart the cluster's history
	// once chartHave, chartErr when its load failed.
	span      time.Duration
	chart     traffic.History
	chartHave bool
	chartErr  error
	// lines is the whole drill-down as drawn, redrawn by redrawDetail whenever what it shows
	// changes (the detail, the frame, the width), so a key press scrolls without drawing.
	lines []string
}

// detailKey handles a key in the drill-down.
func (m Model) detailKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	page := max(m.bodyHeight()-1, 1)
	switch {
	case key.Matches(msg, k.Back):
		m.mode, m.detail = modeTable, detailView{}
	case key.Matches(msg, k.Span):
		m.detail.span = m.detail.nextChartSpan()
		m.detail.chartHave, m.detail.chartErr = false, nil
		m.redrawDetail()
		if !m.loading {
			return m, m.startLoad(false)
		}
	case key.Matches(msg, k.Up):
		m.detail.scroll = m.clampDetailScroll(m.detail.scroll - 1)
	case key.Matches(msg, k.Down):
		m.detail.scroll = m.clampDetailScroll(m.detail.scroll + 1)
	case key.Matches(msg, k.PageUp):
		m.detail.scroll = m.clampDetailScroll(m.detail.scroll - page)
	case key.Matches(msg, k.PageDown):
		m.detail.scroll = m.clampDetailScroll(m.detail.scroll + page)
	case key.Matches(msg, k.Top):
		m.detail.scroll = 0
	case key.Matches(msg, k.Bottom):
		m.detail.scroll = m.clampDetailScroll(len(m.detail.lines))
	}
	return m, nil
}

// clampDetailScroll bounds a drill-down scroll position to its content.
func (m *Model) clampDetailScroll(s int) int {
	if m.screen() != modeDetail {
		return 0
	}
	return min(max(s, 0), max(len(m.detail.lines)-m.bodyHeight(), 0))
}

// redrawDetail draws the drill-down into detail.lines when it is open (also under the help),
// and drops the lines otherwise. Update calls it when the detail, the frame or the width
// changes, never for a key that only scrolls.
func (m *Model) redrawDetail() {
	if m.screen() != modeDetail {
		m.detail.lines = nil
		return
	}
	m.detail.lines = m.detailLines()
}

// detailLines draws the whole drill-down, section by section, for redrawDetail; render shows
// the part of detail.lines that fits, from detail.scroll.
func (m Model) detailLines() []string {
	lines := m.detailHeader()
	if _, ok := m.src.(ClusterHistorian); ok {
		lines = append(lines, m.detailTrends()...)
	}
	if !m.detail.have {
		if m.detail.err == nil {
			lines = append(lines, m.styles.muted.Render("loading the drill-down…"))
		}
		return lines
	}
	for _, warning := range m.detail.data.Warnings {
		lines = append(lines, m.styles.warning.Render("⚠ "+oneLine(warning)))
	}
	for _, section := range [][]string{
		m.detailAlerts(), m.detailResponses(), m.detailFailures(), m.detailLatency(), m.detailPods(), m.detailListeners(),
	} {
		if len(section) == 0 {
			continue
		}
		lines = append(lines, "")
		lines = append(lines, section...)
	}
	return lines
}

// detailHeader is the cluster's name and service, its row from the current frame, and the
// drill-down's error.
func (m Model) detailHeader() []string {
	st := m.styles
	title := st.section.Render(termtext.Sanitize(m.detail.name))
	row, ok := m.frameRow(m.detail.name)
	if ok && row.Route != "" {
		// Named by its route, with the cluster (or route group) name it stands for.
		title = st.section.Render(termtext.Sanitize(row.Route)) + "  " + st.muted.Render(termtext.Sanitize(m.detail.name))
	}
	if ok {
		title += "  " + termtext.Sanitize(serviceLabel(row))
	}
	lines := []string{title}
	if ok {
		cell := st.cell[kindOf(false, row.RPS, m.opts.MinRPS)]
		bad := row.Invalid
		lines = append(lines, "rps "+orInvalid(fmtRPS(row.RPS), bad, traffic.FieldRPS)+
			sep+"success "+cell[successLevel(row.Success)].Render(orInvalid(fmtSuccess(row.Success), bad, traffic.FieldSuccess))+
			sep+"p50 "+orInvalid(fmtMs(row.P50), bad, traffic.FieldP50)+sep+"p90 "+orInvalid(fmtMs(row.P90), bad, traffic.FieldP90)+
			sep+"p99 "+cell[latencyLevel(row.P99)].Render(orInvalid(fmtMs(row.P99), bad, traffic.FieldP99))+
			sep+"active "+orInvalid(fmtCount(row.Active), bad, traffic.FieldActive))
		if bad != 0 {
			lines = append(lines, st.err.Render(invalid+" invalid data: Prometheus answered "+strings.Join(bad.Names(), ", ")+
				" outside the possible range; shown as "+invalid))
		}
	} else {
		lines = append(lines, st.muted.Render("not in the current frame"))
	}
	if m.detail.err != nil {
		lines = append(lines, st.err.Render("✗ "+oneLine(m.detail.err.Error())))
	}
	return lines
}

// detailAlerts are the pending and firing alerts about the cluster, when the frame knows them.
func (m Model) detailAlerts() []string {
	if !m.frame.AlertsKnown {
		return nil
	}
	st := m.styles
	alerts := m.frame.AlertsOf(m.detail.name)
	head := st.section.Render("alerts")
	if len(alerts) == 0 {
		return []string{head + " " + st.muted.Render("none pending or firing")}
	}
	lines := []string{head}
	for _, a := range alerts {
		state := st.warning.Render(fmt.Sprintf("%-7s", a.State))
		if a.State == traffic.AlertFiring {
			state = st.err.Render(fmt.Sprintf("%-7s", a.State))
		}
		line := "  " + state + "  " + fmt.Sprintf("%-8s", termtext.Sanitize(a.Severity)) + "  " + termtext.Sanitize(a.Name)
		if a.Namespace != "" {
			line += st.muted.Render("  envoy in " + termtext.Sanitize(a.Namespace))
		}
		lines = append(lines, line)
	}
	return lines
}

// detailResponses are the responses by status class, with their shares, and the top codes.
func (m Model) detailResponses() []string {
	st, d := m.styles, m.detail.data
	total := 0.0
	for _, c := range d.Classes {
		if traffic.Known(c.RPS) {
			total += c.RPS
		}
	}
	classes := make([]string, len(d.Classes))
	for i, c := range d.Classes {
		classes[i] = termtext.Sanitize(c.Label) + " " + fmtRate(c.RPS)
		if total > 0 && traffic.Known(c.RPS) {
			classes[i] += " (" + strconv.FormatFloat(c.RPS/total*100, 'f', 1, 64) + "%)"
		}
	}
	lines := wrapItems(st.section.Render("status classes")+"  ", 16, classes, m.width)
	return append(lines, wrapItems(st.section.Render("top codes")+"       ", 16, m.topCodes(), m.width)...)
}

// detailFailures are the failures and protections, in a grid as wide as the screen allows.
func (m Model) detailFailures() []string {
	d := m.detail.data
	lines := []string{m.styles.section.Render("failures and protection")}
	items := [][2]string{
		{"timeouts", fmtRate(d.Timeouts)},
		{"per-try timeouts", fmtRate(d.PerTryTimeouts)},
		{"retries", fmtRate(d.Retries)},
		{"retry overflow", fmtRate(d.RetryOverflow)},
		{"pending overflow", fmtRate(d.PendingOverflow)},
		{"resets", fmtRate(d.Resets)},
		{"ejected hosts", fmtCount(d.EjectionsActive)},
		{"healthy members", fmtCount(d.MembersHealthy) + "/" + fmtCount(d.MembersTotal)},
		{"open breakers", fmtCount(d.BreakersOpen)},
	}
	const cellW = 32
	perLine := max((m.width-2)/cellW, 1)
	for i := 0; i < len(items); i += perLine {
		var b strings.Builder
		b.WriteString("  ")
		for j := i; j < min(i+perLine, len(items)); j++ {
			b.WriteString(padRight(items[j][0], 18) + padLeft(items[j][1], 11))
			if j+1 < min(i+perLine, len(items)) {
				b.WriteString("   ")
			}
		}
		lines = append(lines, b.String())
	}
	return lines
}

// detailLatency is the upstream latency histogram.
func (m Model) detailLatency() []string {
	st := m.styles
	lines := []string{st.section.Render("upstream latency") + " · requests per second in each histogram bucket",
		st.muted.Render("  buckets are coarse: a bar counts requests between the bound above it and its own")}
	return append(lines, m.bucketLines(m.detail.data.Latency)...)
}

// rateRow is one line of a drill-down's small tables: a name with its rate, success and p99.
type rateRow struct {
	name              string // as printed
	rps, success, p99 float64
	invalid           traffic.Fields
}

// rateTable draws the rows under a head ("POD", "LISTENER"), the names as wide as the widest
// and the screen allow.
func (m Model) rateTable(head string, rows []rateRow) []string {
	if len(rows) == 0 {
		return []string{"  " + dash}
	}
	st := m.styles
	nameW := len(head)
	for _, r := range rows {
		nameW = max(nameW, plainWidth(r.name))
	}
	nameW = max(min(nameW, m.width-2-3*9), 4)
	lines := []string{st.colHead.Render("  " + padRight(head, nameW) + padLeft("RPS", 9) + padLeft("SUCCESS", 9) + padLeft("P99", 9))}
	for _, r := range rows {
		cell := st.cell[kindOf(false, r.rps, m.opts.MinRPS)]
		lines = append(lines, cell[levelOK].Render("  "+padRight(r.name, nameW)+padLeft(orInvalid(fmtRPS(r.rps), r.invalid, traffic.FieldRPS), 9))+
			cell[successLevel(r.success)].Render(padLeft(orInvalid(fmtSuccess(r.success), r.invalid, traffic.FieldSuccess), 9))+
			cell[latencyLevel(r.p99)].Render(padLeft(orInvalid(fmtMs(r.p99), r.invalid, traffic.FieldP99), 9)))
	}
	return lines
}

// detailPods are the cluster's numbers per Envoy pod.
func (m Model) detailPods() []string {
	rows := make([]rateRow, len(m.detail.data.Pods))
	for i, p := range m.detail.data.Pods {
		rows[i] = rateRow{termtext.Sanitize(p.Pod), p.RPS, p.Success, p.P99, p.Invalid}
	}
	return append([]string{m.styles.section.Render("pods")}, m.rateTable("POD", rows)...)
}

// detailListeners are what clients saw: every HTTP connection manager, including Envoy's own
// local replies.
func (m Model) detailListeners() []string {
	rows := make([]rateRow, len(m.frame.Listeners))
	for i, l := range m.frame.Listeners {
		rows[i] = rateRow{termtext.Sanitize(l.Prefix), l.RPS, l.Success, l.P99, l.Invalid}
	}
	head := m.styles.section.Render("downstream listeners") + " · what clients saw, local replies included"
	return append([]string{head}, m.rateTable("LISTENER", rows)...)
}

// bucketLines draws one bar per latency bucket, scaled to the busiest bucket.
func (m Model) bucketLines(buckets []traffic.Bucket) []string {
	if len(buckets) == 0 {
		return []string{"  " + dash}
	}
	total, peak := 0.0, 0.0
	for _, b := range buckets {
		if traffic.Known(b.RPS) {
			total += b.RPS
			peak = max(peak, b.RPS)
		}
	}
	const labelW, rateW, pctW = 9, 10, 7
	barW := min(max(m.width-2-labelW-1-1-rateW-pctW, 1), 50)
	lines := make([]string, 0, len(buckets))
	prev := 0.0
	for _, b := range buckets {
		label := "≤ " + fmtMs(b.UpperMs)
		if !traffic.Known(b.UpperMs) {
			label = "> " + fmtMs(prev)
		}
		prev = b.UpperMs
		frac, share := traffic.NoData, dash
		if traffic.Known(b.RPS) && peak > 0 {
			frac = b.RPS / peak
		}
		if traffic.Known(b.RPS) && total > 0 {
			share = strconv.FormatFloat(b.RPS/total*100, 'f', 1, 64) + "%"
		}
		lines = append(lines, "  "+padRight(label, labelW)+" "+m.styles.bar.Render(bar(frac, barW))+" "+
			padLeft(fmtRate(b.RPS), rateW)+padLeft(share, pctW))
	}
	return lines
}

// frameRow finds a row of the current frame by name.
func (m Model) frameRow(name string) (traffic.Row, bool) {
	for _, r := range m.frame.Rows {
		if r.Name == name {
			return r, true
		}
	}
	return traffic.Row{}, false
}

// wrapItems lays items out after a label of labelW cells, wrapping onto indented lines.
func wrapItems(label string, labelW int, items []string, width int) []string {
	if len(items) == 0 {
		return []string{label + dash}
	}
	var lines []string
	indent := strings.Repeat(" ", labelW)
	cur, curW := label, labelW
	for i, it := range items {
		itW := plainWidth(it)
		if i > 0 {
			if curW+3+itW > width {
				lines = append(lines, cur)
				cur, curW = indent, labelW
			} else {
				cur += sep
				curW += 3
			}
		}
		cur += it
		curW += itW
	}
	return append(lines, cur)
}
