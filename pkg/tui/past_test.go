package tui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// pastSource is a fakeSource that also reads pasts: testPasts, or err.
type pastSource struct {
	fakeSource
	err error

	pmu     sync.Mutex
	offsets [][]time.Duration
}

func (p *pastSource) Past(_ context.Context, _ time.Time, offsets []time.Duration) ([]traffic.Past, error) {
	p.pmu.Lock()
	p.offsets = append(p.offsets, offsets)
	p.pmu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	return testPasts(offsets), nil
}

// testPasts are the test rows an hour, a day and a week ago: the same numbers but for shop/payments,
// whose 5xx share was 0.2% an hour ago (4.7% now), shop/inventory, twice as fast a day ago, and
// search/query, with a third of its traffic a week ago. Rows without data now had none then.
func testPasts(offsets []time.Duration) []traffic.Past {
	out := make([]traffic.Past, len(offsets))
	for i, off := range offsets {
		p := traffic.Past{Offset: off, At: testNow.Add(-off), Rows: map[string]traffic.Row{}}
		for _, r := range testRows() {
			switch {
			case r.Name == rn("shop", "payments") && off == time.Hour:
				r.Success = 0.998
			case r.Name == rn("shop", "inventory") && off == 24*time.Hour:
				r.P99 /= 2
			case r.Name == rn("search", "query") && off == 7*24*time.Hour:
				r.RPS /= 3
			}
			r.RPS *= 1 + 0.01*float64(i) // a little noise: below the notable changes
			p.Rows[r.Name] = r
		}
		out[i] = p
	}
	return out
}

// vsLoaded is m with the vs view on and its first load applied.
func vsLoaded(t testing.TB, m Model) Model {
	t.Helper()
	m.src = &pastSource{}
	m, cmd := update(t, m, press("v"))
	if cmd == nil {
		t.Fatal("v started no load")
	}
	return applyVsLoad(t, m)
}

// applyVsLoad delivers the load m is waiting for, with the test pasts.
func applyVsLoad(t testing.TB, m Model) Model {
	t.Helper()
	m, _ = update(t, m, loadedMsg{seq: m.seq, asked: testNow, at: testNow, frameLoaded: true, frame: testFrame(),
		pastLoaded: true, pasts: testPasts(m.offsets())})
	return m
}

func TestVsViewOrdersByTheBiggestMove(t *testing.T) {
	m := loaded(t, Options{}, 160, 48, testFrame())
	src := &pastSource{}
	m.src = src
	m, cmd := update(t, m, press("v"))
	if !m.vs.on || cmd == nil {
		t.Fatalf("v: on %v, load %v", m.vs.on, cmd != nil)
	}
	// The load the key started reads the three default offsets with the frame.
	if msg, ok := cmd().(loadedMsg); !ok || !msg.pastLoaded || len(msg.pasts) != 3 {
		t.Fatalf("the load read no pasts: %+v", msg)
	}
	if got := src.offsets[0]; !slices.Equal(got, traffic.Offsets) {
		t.Errorf("offsets read %v, want %v", got, traffic.Offsets)
	}
	m = applyVsLoad(t, m)
	var first []string
	for _, idx := range m.table.order[:3] {
		first = append(first, m.frame.Rows[idx].Name)
	}
	// shop/payments' 5xx share, 4.7% against the 1% floor (ln 4.7 = 1.55), search/query's RPS ×2.9
	// (1.07), shop/inventory's p99 ×2 (0.69): the rest moved by 2% at most.
	want := []string{rn("shop", "payments"), rn("search", "query"), rn("shop", "inventory")}
	if !slices.Equal(first, want) {
		t.Errorf("first rows %q, want %q", first, want)
	}
	screen := plain(m)
	for _, s := range []string{"VS 1H", "VS 1D", "VS 1W", "5xx +4.5pt*", "rps ×2.9*", "p99 ×2.0*", "vs 1h 1d 1w ago, biggest move first"} {
		if !strings.Contains(screen, s) {
			t.Errorf("the screen lacks %q:\n%s", s, screen)
		}
	}
	// A sort key leaves the vs order: sorted by RPS, as before, the columns stay.
	m, _ = update(t, m, press("3"))
	if m.vs.byChange || m.frame.Rows[m.table.order[0]].Name != rn("search", "query") || !strings.Contains(plain(m), "VS 1W") {
		t.Errorf("after 3: by change %v, first %q", m.vs.byChange, m.frame.Rows[m.table.order[0]].Name)
	}
	// v again: the trends are back, and no past is read any more.
	m, _ = update(t, m, press("v"))
	if m.vs.on || strings.Contains(plain(m), "VS 1H") || !strings.Contains(plain(m), "RPS TREND") {
		t.Errorf("v did not go back to the trends:\n%s", plain(m))
	}
	if req := m.request(true); req.past != nil {
		t.Errorf("a load outside the vs view reads pasts %v", req.past)
	}
}

func TestVsViewWithoutPasts(t *testing.T) {
	// A source that reads no past says so, and the table stays usable.
	m := loaded(t, Options{}, 160, 48, testFrame())
	m, cmd := update(t, m, press("v"))
	if cmd != nil || !errors.Is(m.vs.err, errNoPast) || !strings.Contains(plain(m), "past unavailable") {
		t.Errorf("no past: load %v, err %v", cmd != nil, m.vs.err)
	}
	// A failed read shows its error; the rows show no change.
	m = loaded(t, Options{}, 160, 48, testFrame())
	m.src = &pastSource{err: errors.New("query timed out\x1b[2J")}
	m, _ = update(t, m, press("v"))
	m, _ = update(t, m, loadedMsg{seq: m.seq, asked: testNow, at: testNow, pastLoaded: true, pastErr: errors.New("query timed out\x1b[2J")})
	screen := plain(m)
	if !strings.Contains(screen, "past unavailable: query timed out") || strings.Contains(screen, "\x1b[2J") || strings.Contains(screen, "*") {
		t.Errorf("failed past:\n%s", screen)
	}
}

func TestVsViewStartsOverOnAWindowChange(t *testing.T) {
	opts := Options{Window: time.Minute, SetWindow: func(time.Duration) (Source, error) { return &pastSource{}, nil }}
	m := vsLoaded(t, loaded(t, opts, 160, 48, testFrame()))
	if !m.vs.have {
		t.Fatal("no pasts applied")
	}
	m, cmd := update(t, m, press("w"))
	if m.vs.have || m.vs.changes != nil || cmd == nil {
		t.Errorf("the pasts over the last window survived the change: have %v", m.vs.have)
	}
	if req := m.request(true); len(req.past) != 3 {
		t.Errorf("the next load reads pasts %v", req.past)
	}
}

// TestVsViewReadsItsPastsEvery30s: a refresh reads the pasts again once they are pastRefresh
// old, or after a failed read, and not in between.
func TestVsViewReadsItsPastsEvery30s(t *testing.T) {
	m := vsLoaded(t, loaded(t, Options{}, 160, 48, testFrame()))
	for _, tc := range []struct {
		after time.Duration
		read  bool
	}{{5 * time.Second, false}, {pastRefresh - time.Second, false}, {pastRefresh, true}, {2 * pastRefresh, true}} {
		m.clock = m.vs.at.Add(tc.after)
		if req := m.request(true); (len(req.past) == 3) != tc.read {
			t.Errorf("%s after the pasts were read, the refresh reads pasts %v; want a read: %v", tc.after, req.past, tc.read)
		}
	}
	m.clock = m.vs.at.Add(time.Second)
	m, _ = update(t, m, loadedMsg{seq: m.seq + 1, asked: m.clock, at: m.clock, pastLoaded: true, pastErr: errors.New("query timed out")})
	if req := m.request(true); len(req.past) != 3 {
		t.Errorf("after a failed read, the refresh reads pasts %v", req.past)
	}
}

func TestChangeFitsTheVsColumn(t *testing.T) {
	for _, tc := range []struct {
		c    traffic.Change
		want string
	}{
		{traffic.Change{Metric: traffic.MetricRPS, Now: 300, Then: 100}, "rps ×3.0"},
		{traffic.Change{Metric: traffic.MetricRPS, Now: 150, Then: 100}, "rps +50%"},
		{traffic.Change{Metric: traffic.MetricRPS, Now: 52, Then: 100}, "rps −48%"},
		{traffic.Change{Metric: traffic.MetricRPS, Now: 0, Then: 100}, "rps −100%"},
		{traffic.Change{Metric: traffic.MetricRPS, Now: 5, Then: 0}, "rps new"},
		{traffic.Change{Metric: traffic.MetricLatency, Now: 2400, Then: 100}, "p99 ×24"},
		{traffic.Change{Metric: traffic.MetricErrors, Now: 0.047, Then: 0.002}, "5xx +4.5pt"},
		{traffic.Change{Metric: traffic.MetricErrors, Now: 0.001, Then: 0.35}, "5xx -35pt"},
	} {
		got := traffic.FormatChange(tc.c)
		if got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
		if w := plainWidth(got); w+1 > vsWidth {
			t.Errorf("%q is %d wide; the column has room for %d with the mark", got, w, vsWidth-1)
		}
	}
}
