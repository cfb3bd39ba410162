package tui

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// screen names a state of the dashboard to draw.
type screen struct {
	name  string
	opts  Options
	setup func(t testing.TB, m Model) Model
}

// screens are the states the golden and width tests draw.
var screens = []screen{
	{name: "table", setup: func(t testing.TB, m Model) Model { return withHistory(t, m, 12) }},
	{name: "selected-low-row", setup: func(t testing.TB, m Model) Model {
		// The selection on a dimmed row further down.
		for selected(m) != rn("search", "suggest") {
			m, _ = update(t, m, press("down"))
		}
		return m
	}},
	{name: "sorted-p99-asc", setup: func(t testing.TB, m Model) Model {
		m, _ = update(t, m, press("7"), press("7"))
		return m
	}},
	{name: "filter-editing", setup: func(t testing.TB, m Model) Model {
		m, _ = update(t, m, typeKeys("/shop")...)
		return m
	}},
	{name: "filter-inverse", setup: func(t testing.TB, m Model) Model {
		m, _ = update(t, m, append(typeKeys("/!team-"), press("enter"))...)
		return m
	}},
	{name: "detail", setup: func(t testing.TB, m Model) Model {
		for selected(m) != rn("shop", "payments") {
			m, _ = update(t, m, press("down"))
		}
		m, _ = update(t, m, press("enter"))
		m, _ = update(t, m, loadedMsg{seq: m.seq, asked: testNow, at: testNow, cluster: m.detail.name, detail: testDetail()})
		return m
	}},
	{name: "detail-trends", setup: func(t testing.TB, m Model) Model {
		name := rn("shop", "payments")
		m.src = &historySource{chart: chartHistory(testNow, name)}
		for selected(m) != name {
			m, _ = update(t, m, press("down"))
		}
		m, _ = update(t, m, press("enter"))
		m, _ = update(t, m, loadedMsg{seq: m.seq, asked: testNow, at: testNow, cluster: name, detail: testDetail(),
			chartLoaded: true, chartSpan: chartSpans[0], chart: chartHistory(testNow, name)})
		return m
	}},
	{name: "detail-loading", setup: func(t testing.TB, m Model) Model {
		m, _ = update(t, m, press("enter"))
		return m
	}},
	{name: "help", setup: func(t testing.TB, m Model) Model {
		m, _ = update(t, m, press("?"))
		return m
	}},
	{name: "error-stale", setup: func(t testing.TB, m Model) Model {
		f := testFrame()
		f.Warnings = []string{"PromQL info: metric might not be a counter, name does not end in _total", "another warning"}
		m.seq, m.loading = 2, false
		m, _ = update(t, m, frameAt(2, testNow.Add(-3*time.Second), f))
		m, _ = update(t, m, tickMsg(testNow))
		m, _ = update(t, m, failAt(m.seq, errors.New(`Get "http://prometheus.monitoring:9090/api/v1/query": context deadline exceeded`)))
		return m
	}},
	{name: "warnings-paused", setup: func(t testing.TB, m Model) Model {
		f := testFrame()
		f.Warnings = []string{"PromQL info: metric might not be a counter, name does not end in _total", "another warning"}
		m.seq, m.loading = 2, false
		m, _ = update(t, m, frameAt(2, testNow.Add(-3*time.Second), f), press("p"))
		return m
	}},
	{name: "waiting", setup: func(t testing.TB, _ Model) Model {
		m, _ := update(t, New(&fakeSource{}, Options{NoColor: true, Now: fixedNow, Target: "demo"}),
			tea.WindowSizeMsg{Width: 80, Height: 24})
		return m
	}},
	{name: "thanos-query", opts: Options{Backend: traffic.BackendThanosQuery, Target: "team-a/thanos-query-team-a via port-forward 127.0.0.1:40123"},
		setup: func(_ testing.TB, m Model) Model { return m }},
	{name: "history", setup: func(t testing.TB, m Model) Model {
		// A back-fill with a step change in every row's rate, then a refresh a step later.
		var names []string
		for _, r := range testRows() {
			names = append(names, r.Name)
		}
		m.seq, m.loading = 2, false
		m, _ = update(t, m, loadedMsg{seq: 2, asked: testNow, at: testNow, histLoaded: true, hist: stepHistory(testNow.Add(-historyStep), names...)})
		m.seq, m.loading = 3, false
		m, _ = update(t, m, frameAt(3, testNow, testFrame()))
		return m
	}},
	{name: "history-unavailable", setup: func(t testing.TB, m Model) Model {
		m.seq, m.loading = 2, false
		m, _ = update(t, m, loadedMsg{seq: 2, asked: testNow, at: testNow, histLoaded: true, histErr: errors.New("range queries refused")})
		return m
	}},
	{name: "window-switching", opts: Options{Window: time.Minute, SetWindow: func(time.Duration) (Source, error) { return &fakeSource{}, nil }},
		setup: func(t testing.TB, m Model) Model {
			m, _ = update(t, m, press("w"))
			return m
		}},
	{name: "vs", setup: func(t testing.TB, m Model) Model { return vsLoaded(t, m) }},
	{name: "by-route", opts: Options{SetGroupBy: func(traffic.GroupBy) (Source, error) { return &fakeSource{}, nil }},
		setup: func(t testing.TB, m Model) Model {
			m, _ = update(t, m, press("b"))
			l := frameAt(m.seq, testNow, routeFrame())
			l.gen = m.gen
			m, _ = update(t, m, l)
			return m
		}},
	{name: "by-vhost", opts: Options{GroupBy: traffic.GroupByVhost},
		setup: func(t testing.TB, m Model) Model {
			m.seq, m.loading = 2, false
			m, _ = update(t, m, frameAt(2, testNow, vhostFrame()))
			return m
		}},
	{name: "by-route-detail", opts: Options{GroupBy: traffic.GroupByRoute},
		setup: func(t testing.TB, m Model) Model {
			m.seq, m.loading = 2, false
			m, _ = update(t, m, frameAt(2, testNow, routeFrame()))
			for selected(m) != "httproute/team-a/checkout" {
				m, _ = update(t, m, press("down"))
			}
			m, _ = update(t, m, press("enter"))
			m, _ = update(t, m, loadedMsg{seq: m.seq, asked: testNow, at: testNow, cluster: m.detail.name, detail: testDetail()})
			return m
		}},
	{name: "picker-teams", opts: Options{Switcher: testSwitcher(), Place: placeA}, setup: func(t testing.TB, m Model) Model {
		m, cmd := update(t, m, press("T"))
		m, _ = update(t, m, cmd())
		m, _ = update(t, m, typeKeys("e")...)
		return m
	}},
	{name: "picker-contexts", opts: Options{Switcher: testSwitcher(), Place: placeA}, setup: func(t testing.TB, m Model) Model {
		m, cmd := update(t, m, press("X"))
		m, _ = update(t, m, cmd())
		return m
	}},
	{name: "switching", opts: Options{Switcher: testSwitcher(), Place: placeA}, setup: func(t testing.TB, m Model) Model {
		m, cmd := update(t, m, press("T"))
		m, _ = update(t, m, cmd())
		m, _ = update(t, m, press("down"), press("enter"))
		return m
	}},
	{name: "switch-failed", opts: Options{Switcher: failingSwitcher(), Place: placeA},
		setup: func(t testing.TB, m Model) Model {
			m, cmd := update(t, m, press("T"))
			m, _ = update(t, m, cmd())
			m, cmd = update(t, m, press("down"), press("enter"))
			m, _ = update(t, m, cmd())
			return m
		}},
	{name: "empty-frame", setup: func(t testing.TB, m Model) Model {
		m.seq, m.loading = 2, false
		m, _ = update(t, m, frameAt(2, testNow, traffic.Frame{Window: time.Minute, Dialect: "stock"}))
		return m
	}},
}

// build draws a screen at w×h.
func (s screen) build(t testing.TB, w, h int, noColor bool) Model {
	t.Helper()
	opts := s.opts
	opts.NoColor = noColor
	m := loaded(t, opts, w, h, testFrame())
	m = s.setup(t, m)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// TestViewGolden compares screens with testdata/*.golden; run with -update to rewrite them.
// Goldens without colour are plain text; the colour goldens show escape codes as "\e[…m".
func TestViewGolden(t *testing.T) {
	sizes := [][2]int{{80, 24}, {160, 48}}
	for _, s := range screens {
		for _, sz := range sizes {
			w, h := sz[0], sz[1]
			t.Run(fmt.Sprintf("%s-%dx%d", s.name, w, h), func(t *testing.T) {
				m := s.build(t, w, h, true)
				v := m.View()
				if !v.AltScreen {
					t.Error("the view does not use the alternate screen")
				}
				assertFits(t, v.Content, w, h)
				assertNoColour(t, v.Content)
				golden.Assert(t, filepath.Join("testdata", fmt.Sprintf("%s-%dx%d.golden", s.name, w, h)),
					[]byte(ansi.Strip(v.Content)+"\n"))
			})
		}
	}
	for _, name := range []string{"table", "detail", "error-stale"} {
		t.Run(name+"-colour-120x30", func(t *testing.T) {
			s := findScreen(t, name)
			m := s.build(t, 120, 30, false)
			v := m.View().Content
			assertFits(t, v, 120, 30)
			golden.Assert(t, filepath.Join("testdata", name+"-colour-120x30.golden"), []byte(visibleEscapes(v)+"\n"))
		})
	}
}

func findScreen(t testing.TB, name string) screen {
	for _, s := range screens {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("no screen %q", name)
	return screen{}
}

// visibleEscapes shows the escape character as `\e` so colour goldens can be read and diffed.
func visibleEscapes(s string) string { return strings.ReplaceAll(s, "\x1b", `\e`) }

// TestViewFits draws every screen at many sizes, with and without colour: no line is ever
// wider than the terminal, no view taller.
func TestViewFits(t *testing.T) {
	widths := []int{1, 2, 10, 20, 30, 40, 50, 60, 70, 79, 80, 81, 100, 120, 159, 160, 200, 320}
	heights := []int{1, 2, 4, 6, 10, 24, 48, 100}
	for _, s := range screens {
		for _, noColor := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/nocolor=%v", s.name, noColor), func(t *testing.T) {
				for _, w := range widths {
					for _, h := range heights {
						m := s.build(t, w, h, noColor)
						v := m.View().Content
						assertFits(t, v, w, h)
						if t.Failed() {
							t.Fatalf("at %dx%d", w, h)
						}
					}
				}
			})
		}
	}
}

// sgr matches a Select Graphic Rendition sequence.
var sgr = regexp.MustCompile("\x1b\\[([0-9;:]*)m")

// assertNoColour fails when s sets a foreground or background colour.
func assertNoColour(t testing.TB, s string) {
	t.Helper()
	if n := len(colourCodes(s)); n > 0 {
		t.Errorf("view without colour has %d colour codes, e.g. %q", n, colourCodes(s)[0])
	}
}

// colourCodes lists the SGR sequences of s that set a colour.
func colourCodes(s string) []string {
	var out []string
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		for p := range strings.SplitSeq(m[1], ";") {
			n, err := strconv.Atoi(strings.SplitN(p, ":", 2)[0])
			if err != nil {
				continue
			}
			if (n >= 30 && n <= 49) || (n >= 90 && n <= 107) {
				out = append(out, m[0])
				break
			}
		}
	}
	return out
}

func TestColourOnlyAboveMinRPS(t *testing.T) {
	red, yellow, faint := "\x1b[31m", "\x1b[33m", "\x1b[2m"
	tests := []struct {
		name     string
		minRPS   float64
		row      string
		want     []string
		dontWant []string
	}{
		{"failing and slow", 0, rn("shop", "inventory"), []string{red}, []string{faint}},
		{"degraded", 0, rn("shop", "payments"), []string{yellow}, []string{red, faint}},
		{"healthy", 0, rn("search", "query"), nil, []string{red, yellow, faint}},
		{"below the floor: dimmed, never red", 0, rn("search", "suggest"), []string{faint}, []string{red, yellow}},
		{"no data: dimmed", 0, rn("auth", "sessions"), []string{faint}, []string{red, yellow}},
		{"higher floor dims a failing row", 100, rn("shop", "inventory"), []string{faint}, []string{red, yellow}},
		{"no floor colours a trickle", -1, rn("search", "suggest"), []string{red}, []string{faint}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loaded(t, Options{MinRPS: tt.minRPS}, 160, 48, testFrame())
			m, _ = update(t, m, press("1")) // sort by name: row 0 (selected) is not one of these
			i := -1
			for j, idx := range m.table.order {
				if m.frame.Rows[idx].Name == tt.row {
					i = j
				}
			}
			if i <= 0 {
				t.Fatalf("row %q at %d", tt.row, i)
			}
			line := m.rowLine(computeLayout(m.width, m.maxName, m.maxSvc), i)
			for _, s := range tt.want {
				if !strings.Contains(line, s) {
					t.Errorf("row lacks %q: %q", s, line)
				}
			}
			for _, s := range tt.dontWant {
				if strings.Contains(line, s) {
					t.Errorf("row has %q: %q", s, line)
				}
			}
		})
	}
}

func TestNoColorHasNoColourCodes(t *testing.T) {
	for _, s := range screens {
		t.Run(s.name, func(t *testing.T) {
			m := s.build(t, 160, 48, true)
			assertNoColour(t, m.View().Content)
		})
	}
	// With colour, the same screens do colour.
	m := findScreen(t, "table").build(t, 160, 48, false)
	if len(colourCodes(m.View().Content)) == 0 {
		t.Error("the coloured table has no colour codes")
	}
}

func TestLayout(t *testing.T) {
	tests := []struct {
		width int
		want  []column
	}{
		{320, layoutCandidates[0]},
		{160, layoutCandidates[0]},
		{130, layoutCandidates[0]},
		// 4XX/S gives way to keep the sparklines, and comes back when they go.
		{120, layoutCandidates[1]},
		{110, layoutCandidates[2]},
		{100, layoutCandidates[2]},
		{95, layoutCandidates[3]},
		{90, layoutCandidates[4]},
		// 80 columns keep SUCCESS, 5XX/S and the namespace/service; P50, ACTIVE and 4XX/S give way.
		{80, layoutCandidates[5]},
		{70, layoutCandidates[6]},
		{60, layoutCandidates[7]},
		{50, layoutCandidates[8]},
		{40, layoutCandidates[8]},
		{10, layoutCandidates[8]},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.width), func(t *testing.T) {
			l := computeLayout(tt.width, 30, 20)
			if fmt.Sprint(l.cols) != fmt.Sprint(tt.want) {
				t.Errorf("columns %v, want %v", l.cols, tt.want)
			}
			if total := l.width(); total > tt.width && tt.width >= 40 {
				t.Errorf("layout is %d wide, terminal %d", l.width(), tt.width)
			}
		})
	}
	// Short names leave room instead of stretching the table.
	l := computeLayout(200, 10, 9)
	if l.widths[0] != 10 || l.widths[1] != 9 {
		t.Errorf("flexible widths %v, want 10 and 9", l.widths[:2])
	}
}

// TestViewCostIndependentOfRows checks the point of drawing only the visible rows: a view of
// 5,000 rows allocates no more than a view of 50.
func TestViewCostIndependentOfRows(t *testing.T) {
	small, large := benchModel(t, 50), benchModel(t, 5000)
	a := testing.AllocsPerRun(20, func() { _ = small.View() })
	b := testing.AllocsPerRun(20, func() { _ = large.View() })
	if b > a*1.1+5 {
		t.Errorf("View allocates %.0f times with 5000 rows, %.0f with 50", b, a)
	}
}

// benchModel is a 160×48 table of n rows with a full history.
func benchModel(tb testing.TB, n int) Model {
	tb.Helper()
	rows := make([]traffic.Row, n)
	for i := range rows {
		rows[i] = row(fmt.Sprintf("team-%04d", i%97), fmt.Sprintf("service-%05d", i),
			float64((i*7919)%1000)/3, 1-float64(i%13)/200, float64(1+i%50), float64(10+i%300), float64(20+(i*31)%2000), float64(i%9))
	}
	f := traffic.Frame{At: testNow, Window: time.Minute, Dialect: "stock", Rows: rows, Took: time.Second,
		Listeners: testFrame().Listeners}
	m := loaded(tb, Options{}, 160, 48, f)
	for i := range historyLen {
		m.seq, m.loading = m.seq+1, false
		m, _ = update(tb, m, frameAt(m.seq, testNow.Add(time.Duration(i)*historyStep), f))
	}
	m, _ = update(tb, m, press("down"), press("down"))
	return m
}

// BenchmarkView draws a 160×48 screen of 50 and of 5,000 rows.
func BenchmarkView(b *testing.B) {
	for _, n := range []int{50, 5000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			m := benchModel(b, n)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkViewRatio draws both sizes in turn and reports how much longer 5,000 rows take than
// 50 (about 1 when the cost depends on the visible rows only) and the time of each.
func BenchmarkViewRatio(b *testing.B) {
	small, large := benchModel(b, 50), benchModel(b, 5000)
	var tSmall, tLarge time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		_ = small.View()
		t1 := time.Now()
		_ = large.View()
		tLarge += time.Since(t1)
		tSmall += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(tLarge)/float64(tSmall), "ratio-5000/50")
	b.ReportMetric(float64(tSmall.Nanoseconds())/float64(n), "ns/view-50")
	b.ReportMetric(float64(tLarge.Nanoseconds())/float64(n), "ns/view-5000")
}

// BenchmarkFrame applies a frame of 5,000 rows: the per-refresh cost of sorting, filtering and
// keeping the history.
func BenchmarkFrame(b *testing.B) {
	m := benchModel(b, 5000)
	f := m.frame
	b.ReportAllocs()
	for b.Loop() {
		m.seq, m.loading = m.seq+1, false
		m, _ = update(b, m, frameAt(m.seq, testNow, f))
	}
}

// TestHeaderSaysTheNumbersComeFromTheRules checks that a frame read from the recording rules says
// so next to their window, in place of the dialect.
func TestHeaderSaysTheNumbersComeFromTheRules(t *testing.T) {
	m := loaded(t, Options{NoColor: true}, 160, 48, testFrame())
	f := testFrame()
	f.Window, f.Source, f.Dialect = 5*time.Minute, traffic.SourceRules, "envoy"
	m.seq, m.loading = 2, false
	m, _ = update(t, m, frameAt(2, testNow, f))
	line := ansi.Strip(m.header()[0])
	if !strings.Contains(line, "window 5m · recording rules") || strings.Contains(line, "envoy") {
		t.Errorf("header %q: want the rules' window and source, not the dialect", line)
	}
	f.Window, f.Source = time.Minute, traffic.SourceRaw
	m.seq, m.loading = 3, false
	m, _ = update(t, m, frameAt(3, testNow, f))
	if line := ansi.Strip(m.header()[0]); !strings.Contains(line, "window 1m · envoy") {
		t.Errorf("raw header %q", line)
	}
}

// TestHeaderCountsAlerts checks that the header counts the firing alerts, with the critical
// ones, and the pending ones; says so when there are none; and says nothing when the frame does
// not know the alerts.
func TestHeaderCountsAlerts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		alerts []traffic.Alert
		known  bool
		want   string // "" means no alert item at all
	}{
		{"unknown", testFrame().Alerts, false, ""},
		{"none", nil, true, "no alerts"},
		{"firing and pending", testFrame().Alerts, true, "alerts 2 firing (1 critical), 1 pending"},
		{"pending only", []traffic.Alert{{Name: "X", State: traffic.AlertPending, Cluster: "c"}}, true, "alerts 1 pending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testFrame()
			f.Alerts, f.AlertsKnown = tc.alerts, tc.known
			m := loaded(t, Options{NoColor: true}, 200, 48, f)
			line := ansi.Strip(m.header()[0])
			if tc.want == "" {
				if strings.Contains(line, "alert") {
					t.Errorf("header %q speaks of alerts it does not know", line)
				}
				return
			}
			if !strings.Contains(line, " · "+tc.want+" · ") {
				t.Errorf("header %q, want %q", line, tc.want)
			}
		})
	}
}

// TestDetailListsTheClustersAlerts checks that the drill-down lists the alerts about its cluster
// only, firing ones first, with names from Prometheus sanitized.
func TestDetailListsTheClustersAlerts(t *testing.T) {
	f := testFrame()
	// Firing first, as the collector orders them.
	f.Alerts = slices.Insert(slices.Clone(f.Alerts), 1, traffic.Alert{Name: "Evil\x1b[2J\nName", State: traffic.AlertFiring, Severity: "critical", Cluster: rn("shop", "payments")})
	m := loaded(t, Options{NoColor: true}, 160, 48, f)
	for selected(m) != rn("shop", "payments") {
		m, _ = update(t, m, press("down"))
	}
	m, _ = update(t, m, press("enter"))
	m, _ = update(t, m, loadedMsg{seq: m.seq, asked: testNow, at: testNow, cluster: m.detail.name, detail: testDetail()})
	out := strings.Join(m.detail.lines, "\n")
	if strings.Contains(out, "\x1b[2J") {
		t.Fatal("an alert name reached the terminal unsanitized")
	}
	var alerts []string
	in := false
	for _, l := range m.detail.lines {
		switch l = ansi.Strip(l); {
		case l == "alerts":
			in = true
		case l == "":
			in = false
		case in:
			alerts = append(alerts, strings.Join(strings.Fields(l), " "))
		}
	}
	want := []string{
		"firing critical EnvoyUpstreamHigh5xxRatio envoy in projectcontour",
		strings.Join(strings.Fields("firing critical "+termtext.Sanitize("Evil\x1b[2J\nName")), " "),
		"pending warning EnvoyUpstreamHighLatencyP99 envoy in projectcontour",
	}
	if !slices.Equal(alerts, want) {
		t.Errorf("alerts in the drill-down:\n%q\nwant\n%q", alerts, want)
	}

	// A cluster without alerts says so; a frame that does not know the alerts shows no section.
	f.Alerts = nil
	m.seq, m.loading = m.seq+1, false
	m, _ = update(t, m, frameAt(m.seq, testNow, f))
	if out := ansi.Strip(strings.Join(m.detail.lines, "\n")); !strings.Contains(out, "alerts none pending or firing") {
		t.Errorf("drill-down without alerts:\n%s", out)
	}
	f.AlertsKnown = false
	m.seq, m.loading = m.seq+1, false
	m, _ = update(t, m, frameAt(m.seq, testNow, f))
	if out := ansi.Strip(strings.Join(m.detail.lines, "\n")); strings.Contains(out, "alerts") {
		t.Errorf("drill-down of a frame without alerts speaks of them:\n%s", out)
	}
}

// TestMarkerShowsRowsAboveTheThresholds: a row with a red success ratio or p99 carries
// traffic.Marker in its gutter, with colour and without, and only from MinRPS on; the help says
// what it means.
func TestMarkerShowsRowsAboveTheThresholds(t *testing.T) {
	for _, noColor := range []bool{true, false} {
		m := loaded(t, Options{NoColor: noColor}, 80, 24, testFrame())
		m, _ = update(t, m, press("1")) // by name: every row below is on screen, none selected
		marked := map[string]bool{}
		for i, idx := range m.table.order {
			// The gutter: the selection, the marker, the comparison's mark.
			gutter := []rune(ansi.Strip(m.rowLine(computeLayout(m.width, m.maxName, m.maxSvc), i)))[:3]
			marked[m.frame.Rows[idx].Name] = string(gutter[1]) == traffic.Marker
		}
		for name, want := range map[string]bool{
			rn("shop", "inventory"): true,  // red success and p99
			rn("shop", "payments"):  false, // yellow only
			rn("search", "suggest"): false, // red numbers below MinRPS
			rn("auth", "sessions"):  false, // no data
			rn("search", "query"):   false,
		} {
			if marked[name] != want {
				t.Errorf("noColor=%v: %s marked %v, want %v", noColor, name, marked[name], want)
			}
		}
	}
	m := loaded(t, Options{NoColor: true}, 80, 24, testFrame())
	m, _ = update(t, m, press("?"))
	if !strings.Contains(plain(m), "  "+traffic.Marker+"        a row with a bold SUCCESS or P99") {
		t.Errorf("the help does not explain the marker:\n%s", plain(m))
	}
}

// TestDetailListsErrorCodesFirst: the drill-down's top codes put 5xx, then 4xx, before the rest,
// each with its share of the responses.
func TestDetailListsErrorCodesFirst(t *testing.T) {
	m := findScreen(t, "detail").build(t, 160, 48, true)
	var codes string
	for _, l := range strings.Split(plain(m), "\n") {
		if strings.HasPrefix(l, "top codes") {
			codes = l
		}
	}
	want := "top codes       503 3.00/s (3.4%) · 504 1.10/s (1.2%) · 404 4.20/s (4.8%) · 200 70.00/s (79.2%) · 201 10.10/s (11.4%)"
	if codes != want {
		t.Errorf("codes line\n got %q\nwant %q", codes, want)
	}
	d := testDetail()
	for i := range 12 {
		d.Codes = append(d.Codes, traffic.Share{Label: strconv.Itoa(210 + i), RPS: 0.1})
	}
	m.detail.data = d
	if got := m.topCodes(); len(got) != maxTopCodes+1 || ansi.Strip(got[maxTopCodes]) != "+9 more" {
		t.Errorf("17 codes listed as %q: want %d and the count of the rest", got, maxTopCodes)
	}
}
