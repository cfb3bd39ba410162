package tui

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// frontierAt is an Options.Frontier that answers behind the clock, or fails with err, and
// records the instants it was asked at.
type frontierAt struct {
	mu     sync.Mutex
	behind time.Duration
	err    error
	asked  []time.Time
}

func (f *frontierAt) frontier(_ context.Context, at time.Time) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, at)
	return at.Add(-f.behind), f.err
}

// TestFrontierMovesEveryRead: with Options.Frontier, a load asks it once at the clock and reads
// the frame and the drill-down at its answer; the header says how far behind the clock that is,
// while "updated" counts from the refresh. A frontier that cannot be read fails every part of
// the load, which keeps the last frame and says why.
func TestFrontierMovesEveryRead(t *testing.T) {
	src := &fakeSource{frames: []traffic.Frame{testFrame()}, detail: testDetail()}
	fr := &frontierAt{behind: 7 * time.Second}
	m, _ := update(t, New(src, Options{NoColor: true, Now: fixedNow, Frontier: fr.frontier}), tea.WindowSizeMsg{Width: 160, Height: 40})
	req := m.request(true)
	req.cluster = "shop/cart"
	msg := load(src, req)().(loadedMsg)
	want := testNow.Add(-7 * time.Second)
	if len(fr.asked) != 1 || !fr.asked[0].Equal(testNow) {
		t.Errorf("the frontier was asked at %v, want once at the clock", fr.asked)
	}
	for _, c := range src.calls {
		if !c.at.Equal(want) {
			t.Errorf("%s read at %s, want the frontier %s", c.kind, c.at.Format(time.TimeOnly), want.Format(time.TimeOnly))
		}
	}
	if len(src.callsOf("frame")) != 1 || len(src.callsOf("detail")) != 1 {
		t.Errorf("calls %v, want one frame and one drill-down", src.calls)
	}
	if !msg.asked.Equal(testNow) || !msg.at.Equal(want) {
		t.Errorf("loaded asked at %v, read at %v", msg.asked, msg.at)
	}
	m, _ = update(t, m, msg)
	header := strings.SplitN(plain(m), "\n", 2)[0]
	if !strings.Contains(header, "updated 0s ago · data 7s old") {
		t.Errorf("header does not say how old the data is:\n%s", header)
	}

	// Less than a second behind is the clock's own: nothing to say.
	fr.behind = 400 * time.Millisecond
	m.seq++
	m, _ = update(t, m, load(src, m.request(true))())
	if header := strings.SplitN(plain(m), "\n", 2)[0]; strings.Contains(header, " old") {
		t.Errorf("a store 400ms behind is named:\n%s", header)
	}

	fr.err = errors.New("finding how far the store's samples reach: connection refused")
	before := len(src.calls)
	req = m.request(true)
	req.cluster = "shop/cart"
	msg = load(src, req)().(loadedMsg)
	if len(src.calls) != before {
		t.Errorf("a load whose frontier failed read %v", src.calls[before:])
	}
	if !errors.Is(msg.frameErr, fr.err) || !errors.Is(msg.detailErr, fr.err) || !msg.frameLoaded {
		t.Errorf("frame error %v, drill-down error %v; want the frontier's", msg.frameErr, msg.detailErr)
	}
	m.seq++
	msg.seq = m.seq
	m, _ = update(t, m, msg)
	if view := plain(m); !strings.Contains(view, "connection refused") || !strings.Contains(view, "shop/cart") {
		t.Errorf("a failed frontier should keep the last frame and say why:\n%s", view)
	}
}

// TestFrontierOfCompareWatch: compare --watch over a lagging store judges at the frontier and
// says how far behind it is.
func TestFrontierOfCompareWatch(t *testing.T) {
	var judged []time.Time
	fn := func(_ context.Context, at time.Time, b, c string) (compare.Result, error) {
		judged = append(judged, at)
		return testComparison(b, c), nil
	}
	fr := &frontierAt{behind: 12 * time.Second}
	m := NewCompare(fn, "shop_checkout-primary_8080", "shop_checkout-canary_8080",
		Options{NoColor: true, Now: fixedNow, Interval: time.Second, Frontier: fr.frontier})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 30})
	m, _ = update(t, m, load(nil, m.request(false))())
	if len(judged) != 1 || !judged[0].Equal(testNow.Add(-12*time.Second)) {
		t.Errorf("judged at %v, want once at the frontier", judged)
	}
	if header := strings.SplitN(plain(m), "\n", 2)[0]; !strings.Contains(header, "updated 0s ago · data 12s old") {
		t.Errorf("compare header:\n%s", header)
	}
}
