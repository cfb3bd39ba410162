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
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

var nan = math.NaN()

// call is one recorded call to the fake source.
type call struct {
	kind     string // "frame" or "detail"
	at       time.Time
	cluster  string
	deadline time.Duration // time left until the context's deadline when called
}

// fakeSource returns fixed frames and errors, one per call (the last one repeats), and records
// the calls.
type fakeSource struct {
	mu        sync.Mutex
	frames    []traffic.Frame
	errs      []error
	detail    traffic.Detail
	detailErr error
	calls     []call
}

func (f *fakeSource) Frame(ctx context.Context, at time.Time) (traffic.Frame, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.callsOf("frame"))
	f.record(ctx, "frame", at, "")
	var err error
	if len(f.errs) > 0 {
		err = f.errs[min(n, len(f.errs)-1)]
	}
	if err != nil {
		return traffic.Frame{}, err
	}
	if len(f.frames) == 0 {
		return traffic.Frame{}, errors.New("fake: no frame")
	}
	return f.frames[min(n, len(f.frames)-1)], nil
}

func (f *fakeSource) Detail(ctx context.Context, at time.Time, cluster string) (traffic.Detail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(ctx, "detail", at, cluster)
	if f.detailErr != nil {
		return traffic.Detail{}, f.detailErr
	}
	d := f.detail
	d.Cluster = cluster
	return d, nil
}

func (f *fakeSource) record(ctx context.Context, kind string, at time.Time, cluster string) {
	c := call{kind: kind, at: at, cluster: cluster}
	if dl, ok := ctx.Deadline(); ok {
		c.deadline = time.Until(dl)
	}
	f.calls = append(f.calls, c)
}

func (f *fakeSource) callsOf(kind string) []call {
	var out []call
	for _, c := range f.calls {
		if c.kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// row builds a row of a Contour-style cluster name "ns/svc/port/hash". Its 5xx rate follows
// from the success ratio, its 4xx rate from the service's name (0 to 3% of the requests); both
// are unknown for a row without requests.
func row(ns, svc string, rps, success, p50, p90, p99, active float64) traffic.Row {
	r := traffic.Row{
		Name:      fmt.Sprintf("%s/%s/80/%010x", ns, svc, len(ns)*7919+len(svc)*104729),
		Namespace: ns, Service: svc,
		RPS: rps, Success: success, P50: p50, P90: p90, P99: p99, Active: active,
		Err4xx: nan, Err5xx: nan,
	}
	if rps > 0 && traffic.Known(success) {
		r.Err4xx, r.Err5xx = rps*float64(len(svc)%4)/100, rps*(1-success)
	}
	return r
}

// rn is the name row gives the cluster of ns/svc.
func rn(ns, svc string) string { return row(ns, svc, 0, 0, 0, 0, 0, 0).Name }

// testRows is a frame's worth of rows covering every case the table draws: busy and idle rows,
// failing and slow rows, rows without data, rows without a known service.
func testRows() []traffic.Row {
	rows := []traffic.Row{
		row("shop", "checkout", 412.37, 0.9995, 8.2, 31, 120, 14),
		row("shop", "cart", 230.1, 0.999, 4.1, 12, 48, 6),
		row("shop", "payments", 88.4, 0.953, 40, 310, 780, 9),   // yellow p99, yellow success
		row("shop", "inventory", 61.0, 0.82, 15, 600, 2400, 31), // red success, red p99
		row("search", "query", 1520.55, 1, 2.5, 6.8, 19.4, 40),
		row("search", "suggest", 0.4, 0.5, 3, 5, 9000, 0), // below MinRPS: dimmed despite its numbers
		row("auth", "tokens", 9.8, 1, 0.42, 0.9, 3.1, 1),
		row("auth", "sessions", nan, nan, nan, nan, nan, nan), // no data at all
		{Name: "xds_cluster", RPS: 0.3, Success: 1, P50: 1, P90: 2, P99: 4, Active: 2},
		{Name: "prometheus_stats", RPS: 0, Success: nan, P50: nan, P90: nan, P99: nan, Active: 0, Err4xx: nan, Err5xx: nan},
		{Name: "outbound|9080||reviews.bookinfo.svc.cluster.local", Namespace: "bookinfo", Service: "reviews",
			RPS: 45.2, Success: 0.9991, P50: 22, P90: 95, P99: 510, Active: 3, Err4xx: 0.9, Err5xx: 45.2 * (1 - 0.9991)},
		row("a-really-long-namespace-name-for-truncation", "and-an-equally-long-service", 12.5, 0.98, 11, 22, 44, 2),
	}
	for i := range 28 {
		rows = append(rows, row(fmt.Sprintf("team-%02d", i), fmt.Sprintf("svc-%02d", i),
			float64((i*37)%101)+0.5, 1-float64(i%5)/1000, float64(1+i%7), float64(5+i%11), float64(10+(i*53)%400), float64(i%4)))
	}
	return rows
}

func testFrame() traffic.Frame {
	return traffic.Frame{
		At:      testNow.Add(-3 * time.Second),
		Window:  time.Minute,
		Dialect: "contour",
		Rows:    testRows(),
		Listeners: []traffic.Listener{
			{Prefix: "ingress_http", RPS: 2380.4, Success: 0.9987, P99: 210},
			{Prefix: "ingress_https", RPS: 12.1, Success: 0.85, P99: 1500},
			{Prefix: "admin", RPS: 0.1, Success: nan, P99: nan},
		},
		Took: 137 * time.Millisecond,
		Alerts: []traffic.Alert{
			{Name: "EnvoyUpstreamHigh5xxRatio", State: traffic.AlertFiring, Severity: "critical", Cluster: rn("shop", "payments"), Namespace: "projectcontour"},
			{Name: "EnvoyUpstreamHighLatencyP99", State: traffic.AlertFiring, Severity: "warning", Cluster: rn("shop", "inventory"), Namespace: "projectcontour"},
			{Name: "EnvoyUpstreamHighLatencyP99", State: traffic.AlertPending, Severity: "warning", Cluster: rn("shop", "payments"), Namespace: "projectcontour"},
		},
		AlertsKnown: true,
	}
}

// routeFrame is a frame grouped by route: the rules of two Envoy Gateway routes summed, a Contour
// upstream named as an HTTPProxy lists it, a cluster that encodes no route, and a route with a
// hostile name that only the cluster name column shows raw.
func routeFrame() traffic.Frame {
	route := func(name, route, ns, svc string, rps, success, p50, p90, p99, active float64) traffic.Row {
		r := row(ns, svc, rps, success, p50, p90, p99, active)
		r.Name, r.Route = name, route
		return r
	}
	return traffic.Frame{
		At: testNow, Window: time.Minute, Dialect: "stock", GroupBy: traffic.GroupByRoute, Took: 98 * time.Millisecond,
		Rows: []traffic.Row{
			route("httproute/team-a/checkout", "team-a/checkout", "team-a", "checkout", 40, 0.9675, 21.1, 130, 238, 5),
			route("grpcroute/team-a/echo", "GRPCRoute team-a/echo", "team-a", "echo", 8, 1, 3, 4.6, 5, 1),
			route("httproute/team-b/a-route-with-a-rather-long-name", "team-b/a-route-with-a-rather-long-name", "team-b", "a-route-with-a-rather-long-name", 2.5, 0.91, 80, 400, 1300, 0),
			route("team-b_cart_8080", "team-b/cart:8080", "team-b", "cart", 20, 0.998, 7.5, 20, 24.5, 1),
			{Name: "xds_cluster", RPS: 0.3, Success: 1, P50: 1, P90: 2, P99: 4, Active: 2, Err4xx: 0, Err5xx: 0},
		},
		Listeners: []traffic.Listener{{Prefix: "http-80", RPS: 68, Success: 0.98, P99: 240}},
	}
}

// vhostFrame is a frame of virtual clusters and routes, named as Envoy names their statistics.
func vhostFrame() traffic.Frame {
	named := func(name string, rps, success, p50, p90, p99 float64) traffic.Row {
		return traffic.Row{Name: name, RPS: rps, Success: success, P50: p50, P90: p90, P99: p99, Active: nan,
			Err4xx: rps * 0.02, Err5xx: rps * (1 - success)}
	}
	return traffic.Frame{
		At: testNow, Window: time.Minute, Dialect: "stock", GroupBy: traffic.GroupByVhost, Took: 61 * time.Millisecond,
		Rows: []traffic.Row{
			named("vhost.shop.vcluster.checkout", 40, 0.9675, 21.1, 130, 238),
			named("vhost.shop.vcluster.search", 20, 0.998, 8.1, 17.5, 24.3),
			named("vhost.shop.route.cart", 8, 1, 3, 4.6, 5),
		},
		Listeners: []traffic.Listener{{Prefix: "http-80", RPS: 68, Success: 0.98, P99: 240}},
	}
}

func testDetail() traffic.Detail {
	return traffic.Detail{
		Cluster: "shop/payments",
		At:      testNow.Add(-3 * time.Second),
		Window:  time.Minute,
		Classes: []traffic.Share{{Label: "2xx", RPS: 80.1}, {Label: "4xx", RPS: 4.2}, {Label: "5xx", RPS: 4.1}},
		Codes: []traffic.Share{{Label: "200", RPS: 70}, {Label: "201", RPS: 10.1}, {Label: "404", RPS: 4.2},
			{Label: "503", RPS: 3.0}, {Label: "504", RPS: 1.1}},
		Timeouts: 1.1, PerTryTimeouts: 0.4, Retries: 2.5, RetryOverflow: 0, PendingOverflow: nan, Resets: 0.02,
		EjectionsActive: 1, MembersHealthy: 2, MembersTotal: 3, BreakersOpen: 0,
		Pods: []traffic.PodRow{
			{Pod: "envoy-7d9c6b5f4-abcde", RPS: 44.3, Success: 0.96, P99: 700},
			{Pod: "envoy-7d9c6b5f4-fghij", RPS: 44.1, Success: 0.946, P99: 1200},
			{Pod: "envoy-7d9c6b5f4-klmno", RPS: nan, Success: nan, P99: nan},
		},
		Latency: []traffic.Bucket{
			{UpperMs: 5, RPS: 10}, {UpperMs: 25, RPS: 30}, {UpperMs: 100, RPS: 25}, {UpperMs: 500, RPS: 15},
			{UpperMs: 1000, RPS: 6}, {UpperMs: 5000, RPS: 2.3}, {UpperMs: math.Inf(1), RPS: 0.1},
		},
	}
}

// update sends msgs to m in order and returns the resulting model and the last Cmd.
func update(t testing.TB, m Model, msgs ...tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, msg := range msgs {
		var next tea.Model
		next, cmd = m.Update(msg)
		var ok bool
		if m, ok = next.(Model); !ok {
			t.Fatalf("Update returned %T, want Model", next)
		}
	}
	return m, cmd
}

// frameAt is the result of load seq carrying f, asked for at the given time.
func frameAt(seq uint64, at time.Time, f traffic.Frame) loadedMsg {
	return loadedMsg{seq: seq, asked: at, at: at, frameLoaded: true, frame: f}
}

// failAt is a failed load seq.
func failAt(seq uint64, err error) loadedMsg {
	return loadedMsg{seq: seq, asked: testNow, at: testNow, frameLoaded: true, frameErr: err}
}

// press is a key press as the terminal reports it.
func press(s string) tea.KeyPressMsg {
	switch s {
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	}
	r := []rune(s)
	if len(r) != 1 {
		panic("press: unknown key " + s)
	}
	k := tea.KeyPressMsg{Code: r[0], Text: s}
	if r[0] >= 'A' && r[0] <= 'Z' {
		k.Code, k.ShiftedCode, k.Mod = r[0]+'a'-'A', r[0], tea.ModShift
	}
	return k
}

// typeKeys presses every rune of s.
func typeKeys(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, press(string(r)))
	}
	return out
}

// loaded builds a model of w×h showing f, as after Init, a resize and the first result.
func loaded(t testing.TB, opts Options, w, h int, f traffic.Frame) Model {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	if opts.Target == "" {
		opts.Target = "http://prometheus.monitoring:9090"
	}
	m, _ := update(t, New(&fakeSource{}, opts),
		tea.WindowSizeMsg{Width: w, Height: h},
		frameAt(1, testNow.Add(-3*time.Second), f))
	return m
}

// withHistory feeds n more frames with varying rates so the sparklines have something to draw;
// every fourth frame has no data for the first rows, which shows as gaps.
func withHistory(t testing.TB, m Model, n int) Model {
	t.Helper()
	base := testFrame()
	m.hist = history{} // the frames go back in time from the first
	for i := range n {
		f := base
		f.Rows = make([]traffic.Row, len(base.Rows))
		for j, r := range base.Rows {
			k := 0.5 + 0.5*math.Sin(float64(i+j)/2)
			r.RPS *= k
			r.P99 *= 1 + k
			if i%4 == 1 && j < 3 {
				r.RPS, r.P99 = nan, nan
			}
			f.Rows[j] = r
		}
		if i == n-1 {
			f = base
		}
		m.seq++
		m.loading = false
		// One frame per step of the history, the last one now.
		m, _ = update(t, m, frameAt(m.seq, testNow.Add(-3*time.Second-time.Duration(n-1-i)*historyStep), f))
	}
	return m
}

// plain is the screen of m without escape codes.
func plain(m Model) string { return ansi.Strip(m.render()) }

// assertFits fails when a line of the view is wider than w or the view taller than h.
func assertFits(t testing.TB, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) > h {
		t.Errorf("view has %d lines, terminal has %d", len(lines), h)
	}
	for i, l := range lines {
		if got := lipgloss.Width(l); got > w {
			t.Errorf("line %d is %d cells wide, terminal has %d: %q", i+1, got, w, l)
		}
	}
}
