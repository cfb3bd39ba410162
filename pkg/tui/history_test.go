package tui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// historySource is a fakeSource that also reads history: hist, or histErr, recording the
// calls.
type historySource struct {
	fakeSource
	hmu     sync.Mutex
	hist    traffic.History
	histErr error
	chart   traffic.History // every ClusterHistory's answer
	spans   []time.Duration
	steps   []time.Duration
	charts  []string // cluster and span of every ClusterHistory call
}

func (h *historySource) History(_ context.Context, at time.Time, span, step time.Duration) (traffic.History, error) {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	h.spans, h.steps = append(h.spans, span), append(h.steps, step)
	if h.histErr != nil {
		return traffic.History{}, h.histErr
	}
	out := h.hist
	if out.Steps > 0 && out.Start.IsZero() {
		out.Start = at.Add(-time.Duration(out.Steps-1) * out.Step)
	}
	return out, nil
}

func (h *historySource) ClusterHistory(_ context.Context, _ time.Time, span, _ time.Duration, cluster string) (traffic.History, error) {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	h.charts = append(h.charts, fmt.Sprint(cluster, " ", span))
	return h.chart, nil
}

func (h *historySource) historyCalls() int {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	return len(h.spans)
}

// stepHistory is a back-fill ending at end of the given clusters: RPS steps from 10 to 20 at
// step 5 of 10, p99 steady at 100 ms.
func stepHistory(end time.Time, names ...string) traffic.History {
	h := traffic.History{Start: end.Add(-9 * historyStep), Step: historyStep, Steps: 10, Window: time.Minute,
		Clusters: map[string]traffic.Trend{}}
	for _, name := range names {
		var t traffic.Trend
		for i := range 10 {
			rps := 10.0
			if i >= 5 {
				rps = 20
			}
			t.RPS = append(t.RPS, rps)
			t.P99 = append(t.P99, 100+float64(i%2)) // 1% noise: steady
			t.Success = append(t.Success, 1)
			t.P50 = append(t.P50, 5)
			t.P90 = append(t.P90, 50)
		}
		h.Clusters[name] = t
	}
	return h
}

func TestHistoryNext(t *testing.T) {
	base := stepOf(testNow)
	h := history{}
	h1 := h.next([]traffic.Row{{Name: "a", RPS: 1, P99: 10}, {Name: "b", RPS: 2, P99: 20}}, base)
	// Another refresh in the same step replaces the newest value; one a step later adds one.
	h2 := h1.next([]traffic.Row{{Name: "a", RPS: 3, P99: 30}, {Name: "b", RPS: 2, P99: 20}}, base.Add(time.Second))
	h3 := h2.next([]traffic.Row{{Name: "a", RPS: nan, P99: nan}, {Name: "c", RPS: 3, P99: 30}}, base.Add(historyStep))

	if len(h.rows) != 0 || len(h1.rows) != 2 || h1.rows["a"].rps[historyLen-1] != 1 {
		t.Errorf("an older history changed: %d rows, %d rows, a = %v", len(h.rows), len(h1.rows), h1.rows["a"].rps)
	}
	last := func(vals []float64, n int) []float64 { return vals[len(vals)-n:] }
	if diff := cmp.Diff([]float64{nan, 3}, last(h2.get("a").rpsValues(), 2), cmpNaN); diff != "" {
		t.Errorf("a after a refresh in the same step (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{nan, 3, nan}, last(h3.get("a").rpsValues(), 3), cmpNaN); diff != "" {
		t.Errorf("a a step later without data (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{20, nan}, last(h3.get("b").p99Values(), 2), cmpNaN); diff != "" {
		t.Errorf("b missing from the frame (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{nan, 3}, last(h3.get("c").rpsValues(), 2), cmpNaN); diff != "" {
		t.Errorf("c new (-want +got):\n%s", diff)
	}
	// A refresh many steps later moves everything out: a row missing then is forgotten.
	h4 := h3.next([]traffic.Row{{Name: "c", RPS: 1, P99: 1}}, base.Add(20*historyStep))
	if _, ok := h4.rows["a"]; ok || len(h4.rows) != 1 {
		t.Errorf("rows after a long pause: %v", h4.rows)
	}
	if diff := cmp.Diff([]float64{nan, 1}, last(h4.get("c").rpsValues(), 2), cmpNaN); diff != "" {
		t.Errorf("c after a long pause (-want +got):\n%s", diff)
	}
	// An instant before the newest step (a clock set back) counts as the newest step.
	h5 := h4.next([]traffic.Row{{Name: "c", RPS: 7, P99: 1}}, base)
	if !h5.end.Equal(h4.end) || h5.get("c").rps[historyLen-1] != 7 {
		t.Errorf("an earlier refresh moved the history to %v (from %v): %v", h5.end, h4.end, h5.get("c").rps)
	}
}

// cmpNaN makes NaN equal to NaN.
var cmpNaN = cmp.Comparer(func(a, b float64) bool { return a == b || (a != a && b != b) })

func TestBackfill(t *testing.T) {
	// A refresh came first; the back-fill fills the steps before it and keeps its numbers.
	h := history{}.next([]traffic.Row{{Name: "a", RPS: 25, P99: 90}, {Name: "b", RPS: 1, P99: 1}}, testNow)
	fill := stepHistory(testNow, "a", "gone")
	fill.Clusters["b"] = traffic.Trend{RPS: make([]float64, 10), P99: make([]float64, 10)}
	for i := range 10 {
		fill.Clusters["b"].RPS[i], fill.Clusters["b"].P99[i] = nan, nan
	}
	got := h.backfill(fill)
	want := []float64{10, 10, 10, 10, 10, 20, 20, 20, 20, 25}
	if diff := cmp.Diff(want, got.get("a").rpsValues(), cmpNaN); diff != "" {
		t.Errorf("a back-filled (-want +got):\n%s", diff)
	}
	if got.get("a").p99[historyLen-1] != 90 || got.get("a").p99[0] != 100 {
		t.Errorf("a's p99 = %v, want the refresh's 90 last and the back-fill's before", got.get("a").p99)
	}
	if diff := cmp.Diff([]float64{nan, 1}, got.get("b").rpsValues()[historyLen-2:], cmpNaN); diff != "" {
		t.Errorf("b, without history (-want +got):\n%s", diff)
	}
	if _, ok := got.rows["gone"]; !ok {
		t.Error("a cluster only the back-fill knows is not kept")
	}
	if len(h.rows["a"].rpsValues()) != historyLen || h.rows["a"].rps[0] == 10 {
		t.Error("the back-fill changed the history it started from")
	}
	// A back-fill from before the last refresh's step fills the steps it covers, in place.
	late := history{}.next([]traffic.Row{{Name: "a", RPS: 25, P99: 90}}, testNow.Add(2*historyStep))
	got = late.backfill(stepHistory(testNow, "a"))
	want = []float64{10, 10, 10, 20, 20, 20, 20, 20, nan, 25}
	if diff := cmp.Diff(want, got.get("a").rpsValues(), cmpNaN); diff != "" {
		t.Errorf("an older back-fill (-want +got):\n%s", diff)
	}
	// A back-fill before any refresh.
	got = history{}.backfill(stepHistory(testNow, "a"))
	if diff := cmp.Diff([]float64{10, 10, 10, 10, 10, 20, 20, 20, 20, 20}, got.get("a").rpsValues(), cmpNaN); diff != "" {
		t.Errorf("a back-fill first (-want +got):\n%s", diff)
	}
	if got := (history{}).backfill(traffic.History{}); len(got.rows) != 0 || !got.end.IsZero() {
		t.Errorf("an empty back-fill made %+v", got)
	}
}

func TestTrendline(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want string
	}{
		// Each row is scaled to its own range: a step from 1000 to 1100 rps is full height.
		{"own range", []float64{1000, 1000, 1100, 1100}, "▁▁██"},
		{"own range, low level", []float64{1, 1.5, 2}, " ▁▅█"},
		{"steady: under 5% of the level is flat", []float64{100, 104, 101, 102}, "▄▄▄▄"},
		{"5% is still flat", []float64{100, 105}, "  ▄▄"},
		{"all zero", []float64{0, 0, 0}, " ▁▁▁"},
		{"from zero", []float64{0, 0.01}, "  ▁█"},
		{"gaps are spaces", []float64{10, nan, 20, nan}, "▁ █ "},
		{"flat with gaps", []float64{10, nan, 10}, " ▄ ▄"},
		{"all gaps", []float64{nan, nan}, "    "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := trendline(tt.in, 4); got != tt.want {
				t.Errorf("trendline(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBackfillOnStartThenRefreshes(t *testing.T) {
	f := testFrame()
	top := f.Rows[4] // search/query, the busiest: selected first
	src := &historySource{fakeSource: fakeSource{frames: []traffic.Frame{f}}, hist: stepHistory(time.Time{}, top.Name)}
	src.hist.Start = time.Time{} // relative to the instant asked
	m := New(src, Options{Interval: time.Millisecond, Timeout: time.Minute, Now: fixedNow})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 160, Height: 48})
	for _, msg := range runCmd(t, m.Init()) {
		if l, ok := msg.(loadedMsg); ok {
			if !l.histLoaded || l.histErr != nil {
				t.Fatalf("Init's load carries no history: %+v", l)
			}
			m, _ = update(t, m, l)
		}
	}
	if src.historyCalls() != 1 || src.spans[0] != historySpan-historyStep || src.steps[0] != historyStep {
		t.Fatalf("history calls: spans %v steps %v, want one of %v at %v", src.spans, src.steps, historySpan-historyStep, historyStep)
	}
	if !m.histHave || m.histErr != nil {
		t.Fatalf("after the first load: have %v err %v", m.histHave, m.histErr)
	}
	want := []float64{10, 10, 10, 10, 10, 20, 20, 20, 20, top.RPS}
	if diff := cmp.Diff(want, m.hist.get(top.Name).rpsValues(), cmpNaN); diff != "" {
		t.Errorf("back-filled rps (-want +got):\n%s", diff)
	}
	// Later refreshes do not read the history again.
	m.clock = testNow.Add(historyStep)
	req := m.request(true)
	if req.history {
		t.Error("a refresh after the back-fill reads the history again")
	}
	// The footer shows the selected row's scale.
	if got := plain(m); !strings.Contains(got, "trend rps "+fmtRPS(10)+"–"+fmtRPS(top.RPS)+" p99 ") {
		t.Errorf("no scale of the selected row's trend in:\n%s", got)
	}
}

func TestFailingBackfillKeepsRefreshing(t *testing.T) {
	src := &historySource{fakeSource: fakeSource{frames: []traffic.Frame{testFrame()}}, histErr: errors.New("range queries refused")}
	m := New(src, Options{Interval: time.Millisecond, Timeout: time.Minute, Now: fixedNow})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 160, Height: 48})
	for _, msg := range runCmd(t, m.Init()) {
		if l, ok := msg.(loadedMsg); ok {
			m, _ = update(t, m, l)
		}
	}
	if !m.haveFrame || m.err != nil {
		t.Fatalf("the frame did not come with a failed back-fill: have %v err %v", m.haveFrame, m.err)
	}
	screen := plain(m)
	if !strings.Contains(strings.Split(screen, "\n")[0], "history unavailable") {
		t.Errorf("the header does not say the history is unavailable:\n%s", screen)
	}
	if !strings.Contains(screen, rn("shop", "checkout")) {
		t.Errorf("the table is not drawn:\n%s", screen)
	}
	// Not asked again at once, but after historyRetry.
	if req := m.request(true); req.history {
		t.Error("a failed back-fill is asked again at once")
	}
	m.clock = testNow.Add(historyRetry)
	if req := m.request(true); !req.history {
		t.Error("a failed back-fill is not asked again after the retry delay")
	}
}

func TestWindowKeyRebuildsTheSource(t *testing.T) {
	first := &historySource{fakeSource: fakeSource{frames: []traffic.Frame{testFrame()}}, hist: stepHistory(testNow, rn("shop", "cart"))}
	var asked []time.Duration
	var sources []*historySource
	opts := Options{Interval: time.Millisecond, Timeout: time.Minute, Now: fixedNow, Window: time.Minute,
		SetWindow: func(w time.Duration) (Source, error) {
			asked = append(asked, w)
			f := testFrame()
			f.Window = w
			s := &historySource{fakeSource: fakeSource{frames: []traffic.Frame{f}}, hist: stepHistory(testNow, rn("shop", "cart"))}
			sources = append(sources, s)
			return s, nil
		}}
	m := New(first, opts)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 160, Height: 48})
	for _, msg := range runCmd(t, m.Init()) {
		if l, ok := msg.(loadedMsg); ok {
			m, _ = update(t, m, l)
		}
	}
	// An old load still on its way when the window changes is not drawn.
	m.seq++
	old := testFrame()
	old.Window = 7 * time.Minute
	stale := loadedMsg{seq: m.seq, asked: testNow, at: testNow, frameLoaded: true, frame: old, histLoaded: true, hist: stepHistory(testNow, rn("shop", "cart"))}

	m, cmd := update(t, m, press("w"))
	if len(asked) != 1 || asked[0] != 5*time.Minute {
		t.Fatalf("windows asked: %v, want 5m", asked)
	}
	if m.histHave || len(m.hist.rows) != 0 {
		t.Error("the history of the last window is kept")
	}
	if line := strings.Split(plain(m), "\n")[0]; !strings.Contains(line, "window 1m → 5m") {
		t.Errorf("header while switching: %q", line)
	}
	msgs := runCmd(t, cmd)
	m, _ = update(t, m, stale)
	if m.histHave || m.frame.Window == old.Window {
		t.Error("the last window's load was drawn")
	}
	m, _ = update(t, m, msgs...)
	if sources[0].historyCalls() != 1 || len(sources[0].callsOf("frame")) != 1 {
		t.Errorf("the new source got %d history and %d frame calls, want 1 and 1", sources[0].historyCalls(), len(sources[0].callsOf("frame")))
	}
	if !m.histHave || m.frame.Window != 5*time.Minute {
		t.Errorf("after the switch: history %v, window %v", m.histHave, m.frame.Window)
	}
	if line := strings.Split(plain(m), "\n")[0]; !strings.Contains(line, "window 5m ·") {
		t.Errorf("header after the switch: %q", line)
	}
	// The windows cycle.
	for _, want := range []time.Duration{15 * time.Minute, time.Hour, time.Minute, 5 * time.Minute} {
		m, _ = update(t, m, press("w"))
		if m.window != want {
			t.Errorf("window %v, want %v", m.window, want)
		}
	}
	// A window the source cannot take leaves everything as it was, with the error shown.
	m.opts.SetWindow = func(time.Duration) (Source, error) { return nil, errors.New("no such window") }
	before := m.window
	m, _ = update(t, m, press("w"))
	if m.window != before || m.err == nil || !strings.Contains(m.err.Error(), "no such window") {
		t.Errorf("a refused window: window %v err %v", m.window, m.err)
	}
}

func TestNextWindow(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		time.Minute: 5 * time.Minute, 5 * time.Minute: 15 * time.Minute, 15 * time.Minute: time.Hour,
		time.Hour: time.Minute, 2 * time.Minute: 5 * time.Minute, 2 * time.Hour: time.Minute, 0: time.Minute,
	} {
		if got := nextWindow(in); got != want {
			t.Errorf("nextWindow(%v) = %v, want %v", in, got, want)
		}
	}
}

// chartHistory is a drill-down's history of cluster name over 15m, 61 steps: every number steps
// at step 30, the rate from 10 to 20, success from 99.9% to 95%, the percentiles up.
func chartHistory(end time.Time, name string) traffic.History {
	const n = chartPoints + 1
	step := chartSpans[0] / chartPoints
	var t traffic.Trend
	for i := range n {
		after := i >= n/2
		pick := func(before, later float64) float64 {
			if after {
				return later
			}
			return before
		}
		t.RPS = append(t.RPS, pick(10, 20)+float64(i%2)*0.1)
		t.Success = append(t.Success, pick(0.999, 0.95))
		t.P50 = append(t.P50, pick(5, 8))
		t.P90 = append(t.P90, pick(50, 80))
		t.P99 = append(t.P99, pick(100, 300))
	}
	return traffic.History{Start: end.Add(-time.Duration(n-1) * step), Step: step, Steps: n, Window: time.Minute,
		Clusters: map[string]traffic.Trend{name: t}}
}

func TestPlot(t *testing.T) {
	// Four dots wide: two at the bottom, then the step joins the bottom to the top, then the top.
	if got := plot([][]float64{{0, 0, 1, 1}}, 2, 1, 0, 1); len(got) != 1 || got[0] != "⣀⡏" {
		t.Errorf("a step = %q, want %q", got, "⣀⡏")
	}
	// Gaps are blank; a value halfway is the lowest dot of the top cell.
	if got := plot([][]float64{{nan, nan, 5, nan}}, 2, 2, 0, 10); len(got) != 2 || got[0] != "⠀⡀" || got[1] != "⠀⠀" {
		t.Errorf("plot with gaps = %q, want %q", got, []string{"⠀⡀", "⠀⠀"})
	}
	// Several series share the grid.
	if got := plot([][]float64{{0, 0}, {1, 1}}, 1, 1, 0, 1); got[0] != "⣉" {
		t.Errorf("two series = %q, want %q", got, "⣉")
	}
	if plot(nil, 0, 3, 0, 1) != nil {
		t.Error("a plot of no width drew something")
	}
}

func TestChartScale(t *testing.T) {
	open := [2]float64{0, math.Inf(1)}
	lo, hi, ok := chartScale(isFlat, open, []float64{10, 20}, []float64{nan, 30})
	if !ok || lo != 10 || hi != 30 {
		t.Errorf("scale = %v..%v %v, want 10..30", lo, hi, ok)
	}
	// A steady series is drawn in a band around its level, a flat line in the middle.
	lo, hi, _ = chartScale(isFlat, open, []float64{100, 101, 100})
	if lo >= 100 || hi <= 101 || math.Abs((lo+hi)/2-100.5) > 1e-9 {
		t.Errorf("steady scale = %v..%v", lo, hi)
	}
	// Success: a drop of 5 points is no noise, and a steady ratio's band stays within 100%.
	if lo, hi, _ := chartScale(successSteady, [2]float64{0, 1}, []float64{0.999, 0.95}); lo != 0.95 || hi != 0.999 {
		t.Errorf("success scale = %v..%v, want its own range", lo, hi)
	}
	if lo, hi, _ := chartScale(successSteady, [2]float64{0, 1}, []float64{1, 0.9995}); hi != 1 || lo >= 0.9995 {
		t.Errorf("steady success scale = %v..%v, want up to 1", lo, hi)
	}
	if _, _, ok := chartScale(isFlat, open, []float64{nan}); ok {
		t.Error("a scale of no data")
	}
}

func TestDrillDownCharts(t *testing.T) {
	name := rn("shop", "payments")
	src := &historySource{fakeSource: fakeSource{frames: []traffic.Frame{testFrame()}, detail: testDetail()}, chart: chartHistory(testNow, name)}
	m := New(src, Options{Interval: time.Millisecond, Timeout: time.Minute, Now: fixedNow})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24}, frameAt(1, testNow, testFrame()))
	for selected(m) != name {
		m, _ = update(t, m, press("down"))
	}
	m, cmd := update(t, m, press("enter"))
	m, _ = update(t, m, runCmd(t, cmd)...)
	if len(src.charts) != 1 || src.charts[0] != name+" 15m0s" {
		t.Fatalf("chart loads %q, want one of %s over 15m", src.charts, name)
	}
	screen := plain(m)
	for _, want := range []string{"trends over the last 15m", "success", "p50 p90 p99", fmtMs(300), fmtSuccess(0.95), "-15m", "now"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the drill-down lacks %q:\n%s", want, screen)
		}
	}
	assertFits(t, m.render(), 80, 24)
	// The step is drawn as a wall halfway along the rps chart.
	lines := strings.Split(screen, "\n")
	found := false
	for i, l := range lines {
		if strings.TrimSpace(l) == "rps" && i+1 < len(lines) {
			found = true
			top := []rune(lines[i+1])
			plotStart := chartLabelW + 2
			half := plotStart + (len(top)-plotStart)/2
			if strings.TrimRight(string(top[plotStart:half-1]), "⠀") != "" || strings.Trim(string(top[half+1:]), "⠀") == "" {
				t.Errorf("the rps chart's top row is not empty before the step and drawn after it: %q", string(top))
			}
		}
	}
	if !found {
		t.Errorf("no rps chart in:\n%s", screen)
	}
	// t stretches the charts to 1h.
	m, cmd = update(t, m, press("t"))
	if cmd == nil {
		t.Fatal("t loads nothing")
	}
	m, _ = update(t, m, runCmd(t, cmd)...)
	if len(src.charts) != 2 || src.charts[1] != name+" 1h0m0s" {
		t.Errorf("chart loads %q, want the second over 1h", src.charts)
	}
	if !strings.Contains(plain(m), "trends over the last 1h") || !strings.Contains(plain(m), "-1h") {
		t.Errorf("the drill-down after t:\n%s", plain(m))
	}
}

func TestHeaderSaysTheRulesKeepTheirWindow(t *testing.T) {
	f := testFrame()
	m := loaded(t, Options{RulesWindow: 5 * time.Minute}, 200, 30, f)
	if line := strings.Split(plain(m), "\n")[0]; !strings.Contains(line, "Envoy's own series (the rules keep 5m)") {
		t.Errorf("a 1m window of a source that may read the rules: %q", line)
	}
	f.Window, f.Source = 5*time.Minute, traffic.SourceRules
	m.seq, m.loading = 2, false
	m, _ = update(t, m, frameAt(2, testNow, f))
	if line := strings.Split(plain(m), "\n")[0]; strings.Contains(line, "own series") || !strings.Contains(line, "recording rules") {
		t.Errorf("the rules' own window: %q", line)
	}
}

// TestGroupKeyRebuildsTheSource: v asks for a source grouped the other way, loads a frame and the
// history from it at once, drops the marks (they name rows of the other grouping), and goes back
// on a second press; the header says when rows stand for routes; a grouping the source refuses
// leaves everything as it was, with the error shown; without SetGroupBy the key does nothing.
func TestGroupKeyRebuildsTheSource(t *testing.T) {
	first := &historySource{fakeSource: fakeSource{frames: []traffic.Frame{testFrame()}}, hist: stepHistory(testNow, rn("shop", "cart"))}
	var asked []traffic.GroupBy
	var sources []*historySource
	opts := Options{Interval: time.Millisecond, Timeout: time.Minute, Now: fixedNow,
		SetGroupBy: func(g traffic.GroupBy) (Source, error) {
			asked = append(asked, g)
			f := testFrame()
			if g == traffic.GroupByRoute {
				f = routeFrame()
			}
			s := &historySource{fakeSource: fakeSource{frames: []traffic.Frame{f}}, hist: stepHistory(testNow, "httproute/team-a/checkout")}
			sources = append(sources, s)
			return s, nil
		}}
	m := New(first, opts)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 160, Height: 48})
	for _, msg := range runCmd(t, m.Init()) {
		if l, ok := msg.(loadedMsg); ok {
			m, _ = update(t, m, l)
		}
	}
	m, _ = update(t, m, press("m"))
	if len(m.comparison.marks) != 1 {
		t.Fatalf("marks before the switch: %v", m.comparison.marks)
	}
	m, cmd := update(t, m, press("b"))
	if len(asked) != 1 || asked[0] != traffic.GroupByRoute {
		t.Fatalf("groupings asked: %v, want route", asked)
	}
	if m.histHave || len(m.hist.rows) != 0 || len(m.comparison.marks) != 0 {
		t.Errorf("kept across the switch: history %v, marks %v", m.histHave, m.comparison.marks)
	}
	m, _ = update(t, m, runCmd(t, cmd)...)
	if sources[0].historyCalls() != 1 || len(sources[0].callsOf("frame")) != 1 {
		t.Errorf("the new source got %d history and %d frame calls, want 1 and 1", sources[0].historyCalls(), len(sources[0].callsOf("frame")))
	}
	screen := plain(m)
	if line := strings.Split(screen, "\n")[0]; !strings.Contains(line, "· by route") {
		t.Errorf("header by route: %q", line)
	}
	if !strings.Contains(screen, "team-a/checkout ") || strings.Contains(screen, "httproute/") {
		t.Errorf("rows are not named by route:\n%s", screen)
	}
	m, _ = update(t, m, press("b"))
	if len(asked) != 2 || asked[1] != traffic.GroupByVhost || m.groupBy != traffic.GroupByVhost {
		t.Errorf("a second b asked %v, grouping %q", asked, m.groupBy)
	}
	m, _ = update(t, m, press("b"))
	if len(asked) != 3 || asked[2] != traffic.GroupByCluster || m.groupBy != traffic.GroupByCluster {
		t.Errorf("a third b asked %v, grouping %q", asked, m.groupBy)
	}
	m.opts.SetGroupBy = func(traffic.GroupBy) (Source, error) { return nil, errors.New("no routes here") }
	m, _ = update(t, m, press("b"))
	if m.groupBy != traffic.GroupByCluster || m.err == nil || !strings.Contains(m.err.Error(), "no routes here") {
		t.Errorf("a refused grouping: %q, err %v", m.groupBy, m.err)
	}
	m.opts.SetGroupBy, m.err = nil, nil
	src := m.src
	m, cmd = update(t, m, press("b"))
	if cmd != nil || m.src != src || m.err != nil {
		t.Error("b without SetGroupBy did something")
	}
}
