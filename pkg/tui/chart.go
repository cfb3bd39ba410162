package tui

import (
	"math"
	"strings"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// The drill-down's charts cover chartSpans[i] in chartPoints steps; the t key switches span.
var chartSpans = []time.Duration{15 * time.Minute, time.Hour}

const (
	chartPoints = 60
	// chartRows is the height of one chart in cells, 4 braille dots each.
	chartRows = 3
	// chartLabelW is the width of the scale labels left of every chart, the same for all so
	// that their time axes line up.
	chartLabelW = 7
)

// brailleBits are the dot bits of a braille cell by column (0, 1) and row (0 at the top).
var brailleBits = [2][4]rune{{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}}

// chartScale is the range a chart draws vals over: their own lo..hi, or a band around a steady
// level (steady says which) so that its noise stays a flat line in the middle, clamped to
// within..
func chartScale(steady func(lo, hi float64) bool, clamp [2]float64, vals ...[]float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if l, h, known := span(v); known {
			lo, hi, ok = min(lo, l), max(hi, h), true
		}
	}
	if ok && steady(lo, hi) {
		mid := (lo + hi) / 2
		band := max(flatShare*math.Abs(mid), 1e-9)
		lo, hi = max(mid-band, clamp[0]), min(mid+band, clamp[1])
		if lo >= hi {
			lo, hi = mid-band, mid+band
		}
	}
	return lo, hi, ok
}

// successSteady is the flat rule of a success chart: a ratio near 1 varies a lot relative to its
// error ratio long before it does relative to itself, so only a change under a tenth of a point
// is steady.
func successSteady(lo, hi float64) bool { return hi-lo < 0.001 }

// plot draws series (oldest first, one value per step) as braille lines on a grid of width×rows
// cells, every series over lo..hi; NaN leaves a gap. Each line joins its points vertically so
// a step change draws as a wall, not two dots.
func plot(series [][]float64, width, rows int, lo, hi float64) []string {
	if width <= 0 || rows <= 0 {
		return nil
	}
	grid := make([][]rune, rows)
	for r := range grid {
		grid[r] = make([]rune, width)
	}
	nx, ny := 2*width, 4*rows
	dotY := func(v float64) int {
		y := int(math.Round((v - lo) / (hi - lo) * float64(ny-1)))
		return min(max(y, 0), ny-1) // from the bottom
	}
	set := func(x, y int) {
		row := rows - 1 - y/4
		grid[row][x/2] |= brailleBits[x%2][3-y%4]
	}
	for _, vals := range series {
		n := len(vals)
		if n == 0 {
			continue
		}
		prev, havePrev := 0, false
		for x := range nx {
			i := n - 1
			if nx > 1 {
				i = int(math.Round(float64(x) * float64(n-1) / float64(nx-1)))
			}
			v := vals[i]
			if !traffic.Known(v) {
				havePrev = false
				continue
			}
			y := dotY(v)
			from, to := y, y
			if havePrev {
				from, to = min(prev, y), max(prev, y)
			}
			for yy := from; yy <= to; yy++ {
				set(x, yy)
			}
			prev, havePrev = y, true
		}
	}
	out := make([]string, rows)
	for r, cells := range grid {
		var b strings.Builder
		for _, c := range cells {
			b.WriteRune(0x2800 + c)
		}
		out[r] = b.String()
	}
	return out
}

// chartLines draws one chart: a title line, then the plot with the top and bottom of its scale
// on its left. width is the whole chart's.
func chartLines(title string, series [][]float64, width int, format func(float64) string, steady func(lo, hi float64) bool, clamp [2]float64) []string {
	lo, hi, ok := chartScale(steady, clamp, series...)
	if !ok {
		return []string{title + " " + dash + " no data in this span"}
	}
	top, bottom := format(hi), format(lo)
	lw := chartLabelW
	plotW := width - lw - 2
	if plotW < 4 {
		return []string{title + " " + bottom + "–" + top}
	}
	lines := []string{title}
	for r, l := range plot(series, plotW, chartRows, lo, hi) {
		label := ""
		switch r {
		case 0:
			label = top
		case chartRows - 1:
			label = bottom
		}
		lines = append(lines, padLeft(label, lw)+" ┤"+l)
	}
	return lines
}

// timeAxis is the line under the charts: the start of the span, its middle and now.
func timeAxis(span time.Duration, width int) string {
	labelW := chartLabelW
	plotW := width - labelW - 2
	if plotW < 4 {
		return ""
	}
	left, mid, right := "-"+fmtWindow(span), "-"+fmtWindow(span/2), "now"
	axis := []rune(strings.Repeat(" ", plotW))
	put := func(at int, s string) {
		for i, r := range []rune(s) {
			if at+i >= 0 && at+i < len(axis) {
				axis[at+i] = r
			}
		}
	}
	put(0, left)
	if plotW > len(left)+len(mid)+len(right)+4 {
		put(plotW/2-len(mid)/2, mid)
	}
	put(plotW-len(right), right)
	return strings.Repeat(" ", labelW) + " └" + string(axis)
}

// chartSpan is the span of the drill-down's charts.
func (d detailView) chartSpan() time.Duration {
	if d.span == 0 {
		return chartSpans[0]
	}
	return d.span
}

// nextChartSpan is the span after the one shown.
func (d detailView) nextChartSpan() time.Duration {
	for i, s := range chartSpans {
		if s == d.chartSpan() {
			return chartSpans[(i+1)%len(chartSpans)]
		}
	}
	return chartSpans[0]
}

// detailTrends draws the drill-down's charts of RPS, success and the percentiles over the
// chart span, read from Prometheus for the cluster alone.
func (m Model) detailTrends() []string {
	st := m.styles
	d := m.detail
	head := st.section.Render("trends") + " over the last " + fmtWindow(d.chartSpan()) + st.muted.Render(" · t: "+fmtWindow(d.nextChartSpan()))
	switch {
	case d.chartErr != nil:
		return []string{head, st.warning.Render("history unavailable: " + oneLine(d.chartErr.Error()))}
	case !d.chartHave:
		return []string{head, st.muted.Render("loading the history…")}
	}
	t, ok := d.chart.Clusters[d.name]
	if !ok {
		return []string{head, st.muted.Render("no data in this span")}
	}
	w := max(m.width-1, 1)
	lines := []string{head}
	lines = append(lines, chartLines("rps", [][]float64{t.RPS}, w, fmtRPS, isFlat, [2]float64{0, math.Inf(1)})...)
	lines = append(lines, chartLines("success", [][]float64{t.Success}, w, fmtSuccess, successSteady, [2]float64{0, 1})...)
	lines = append(lines, chartLines("p50 p90 p99 (bottom to top)", [][]float64{t.P50, t.P90, t.P99}, w, fmtMs, isFlat, [2]float64{0, math.Inf(1)})...)
	if axis := timeAxis(d.chartSpan(), w); axis != "" {
		lines = append(lines, axis)
	}
	return lines
}
