package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// testClock is a clock tests move by hand.
type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

// names lists the rows of the table in their current order.
func names(m Model) []string {
	out := make([]string, len(m.table.order))
	for i, idx := range m.table.order {
		out[i] = m.frame.Rows[idx].Name
	}
	return out
}

// selected is the name of the selected row.
func selected(m Model) string {
	if len(m.table.order) == 0 {
		return ""
	}
	return m.frame.Rows[m.table.order[m.table.cursor]].Name
}

// runCmd runs cmd and flattens batches into the messages they produce. A tick Cmd waits for
// its timer, so tests that run them use a short Interval; each Cmd runs once (a tea.Tick Cmd
// cannot fire twice).
func runCmd(t *testing.T, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, runCmd(t, c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

// isQuit reports whether cmd ends the program, quitting or interrupted.
func isQuit(cmd tea.Cmd) bool { return quitKind(cmd) != "" }

// quitKind is how cmd ends the program: "quit", "interrupt", or "" when it does not.
func quitKind(cmd tea.Cmd) string {
	if cmd == nil {
		return ""
	}
	switch cmd().(type) {
	case tea.QuitMsg:
		return "quit"
	case tea.InterruptMsg:
		return "interrupt"
	}
	return ""
}

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want Options
	}{
		{"zero", Options{}, Options{Interval: 2 * time.Second, Timeout: 5 * time.Second, MinRPS: 1}},
		{"long interval sets the timeout", Options{Interval: 10 * time.Second},
			Options{Interval: 10 * time.Second, Timeout: 10 * time.Second, MinRPS: 1}},
		{"explicit", Options{Interval: time.Second, Timeout: 3 * time.Second, MinRPS: 5, Target: "demo", Filter: "shop"},
			Options{Interval: time.Second, Timeout: 3 * time.Second, MinRPS: 5, Target: "demo", Filter: "shop"}},
		{"negative MinRPS colours everything", Options{MinRPS: -1},
			Options{Interval: 2 * time.Second, Timeout: 5 * time.Second, MinRPS: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(&fakeSource{}, tt.opts)
			got := m.opts
			got.Now = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if m.table.filter != tt.opts.Filter {
				t.Errorf("filter = %q, want %q", m.table.filter, tt.opts.Filter)
			}
			if m.table.sort != (sortState{col: colRPS, desc: true}) {
				t.Errorf("default sort = %+v, want RPS descending", m.table.sort)
			}
		})
	}
}

func TestInitLoadsFirstFrameAndTicks(t *testing.T) {
	src := &fakeSource{frames: []traffic.Frame{testFrame()}}
	m := New(src, Options{Interval: time.Millisecond, Timeout: time.Minute, Now: fixedNow})
	msgs := runCmd(t, m.Init())

	var loads, ticks int
	for _, msg := range msgs {
		switch msg := msg.(type) {
		case loadedMsg:
			loads++
			if msg.seq != 1 || !msg.frameLoaded || msg.frameErr != nil || msg.cluster != "" {
				t.Errorf("first load = seq %d frame %v err %v cluster %q, want seq 1 with a frame",
					msg.seq, msg.frameLoaded, msg.frameErr, msg.cluster)
			}
			m, _ = update(t, m, msg)
		case tickMsg:
			ticks++
		default:
			t.Errorf("unexpected message %T", msg)
		}
	}
	if loads != 1 || ticks != 1 {
		t.Fatalf("Init produced %d loads and %d ticks, want 1 and 1", loads, ticks)
	}
	calls := src.callsOf("frame")
	if len(calls) != 1 || !calls[0].at.Equal(testNow) {
		t.Fatalf("frame calls = %+v, want one at %v", calls, testNow)
	}
	if d := calls[0].deadline; d <= 0 || d > time.Minute {
		t.Errorf("context deadline in %v, want within the 1m timeout", d)
	}
	if !m.haveFrame || m.loading || len(m.table.order) != len(testRows()) {
		t.Errorf("after the first frame: haveFrame %v loading %v rows %d", m.haveFrame, m.loading, len(m.table.order))
	}

	// The tick re-arms itself and starts one load.
	m, cmd := update(t, m, tickMsg(testNow))
	msgs = runCmd(t, cmd)
	if len(msgs) != 2 || m.seq != 2 || !m.loading {
		t.Fatalf("tick: %d messages, seq %d, loading %v; want a tick and a load of seq 2", len(msgs), m.seq, m.loading)
	}

	// While that load is in flight, ticks start no other.
	m, cmd = update(t, m, tickMsg(testNow))
	msgs = runCmd(t, cmd)
	if len(msgs) != 1 || m.seq != 2 {
		t.Fatalf("tick during a load: %d messages, seq %d; want only the tick", len(msgs), m.seq)
	}
	if _, ok := msgs[0].(tickMsg); !ok {
		t.Errorf("tick during a load did not re-arm the tick")
	}
}

func TestLoadHonoursTimeout(t *testing.T) {
	src := blockingSource{}
	msg := load(src, loadRequest{seq: 7, at: testNow, timeout: 20 * time.Millisecond, frame: true, cluster: "c"})().(loadedMsg)
	if msg.seq != 7 || !msg.at.Equal(testNow) {
		t.Errorf("seq %d at %v, want 7 at %v", msg.seq, msg.at, testNow)
	}
	if !errors.Is(msg.frameErr, context.DeadlineExceeded) {
		t.Errorf("frame error = %v, want the deadline", msg.frameErr)
	}
	if !errors.Is(msg.detailErr, context.DeadlineExceeded) || !strings.Contains(msg.detailErr.Error(), "c") {
		t.Errorf("detail error = %v, want the deadline naming the cluster", msg.detailErr)
	}
}

// blockingSource answers only when the context ends: a Prometheus that hangs.
type blockingSource struct{}

func (blockingSource) Frame(ctx context.Context, _ time.Time) (traffic.Frame, error) {
	<-ctx.Done()
	return traffic.Frame{}, ctx.Err()
}

func (blockingSource) Detail(ctx context.Context, _ time.Time, _ string) (traffic.Detail, error) {
	<-ctx.Done()
	return traffic.Detail{}, ctx.Err()
}

func TestNavigation(t *testing.T) {
	// 40 rows, 80×24: 19 table rows on screen.
	tests := []struct {
		keys       []string
		wantCursor int
		wantOffset int
	}{
		{nil, 0, 0},
		{[]string{"down", "down", "j"}, 3, 0},
		{[]string{"up"}, 0, 0},
		{[]string{"k", "k"}, 0, 0},
		{[]string{"down", "k"}, 0, 0},
		{[]string{"end"}, 39, 21},
		{[]string{"G"}, 39, 21},
		{[]string{"G", "down"}, 39, 21},
		{[]string{"G", "home"}, 0, 0},
		{[]string{"G", "g"}, 0, 0},
		{[]string{"pgdown"}, 18, 0},
		{[]string{"pgdown", "pgdown"}, 36, 18},
		{[]string{"pgdown", "pgdown", "pgdown"}, 39, 21},
		{[]string{"end", "pgup"}, 21, 21},
		{[]string{"end", "pgup", "pgup", "pgup"}, 0, 0},
		{[]string{"pgup"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			m := loaded(t, Options{NoColor: true}, 80, 24, testFrame())
			for _, k := range tt.keys {
				m, _ = update(t, m, press(k))
			}
			if m.table.cursor != tt.wantCursor || m.table.offset != tt.wantOffset {
				t.Errorf("cursor %d offset %d, want %d %d", m.table.cursor, m.table.offset, tt.wantCursor, tt.wantOffset)
			}
			assertFits(t, m.render(), 80, 24)
		})
	}
}

func TestSort(t *testing.T) {
	noData := []string{rn("auth", "sessions")} // NaN in every column
	tests := []struct {
		keys      []string
		want      sortState
		wantFirst string
		wantLast  []string // the rows at the end, in order
	}{
		{nil, sortState{colRPS, true}, rn("search", "query"), noData},
		{[]string{"3"}, sortState{colRPS, false}, "prometheus_stats", noData},
		{[]string{"3", "3"}, sortState{colRPS, true}, rn("search", "query"), noData},
		{[]string{"r"}, sortState{colRPS, false}, "prometheus_stats", noData},
		{[]string{"4"}, sortState{colSuccess, false}, rn("search", "suggest"),
			[]string{rn("auth", "sessions"), "prometheus_stats"}},
		{[]string{"4", "4"}, sortState{colSuccess, true}, rn("auth", "tokens"),
			[]string{rn("auth", "sessions"), "prometheus_stats"}},
		{[]string{"7"}, sortState{colP99, true}, rn("search", "suggest"),
			[]string{rn("auth", "sessions"), "prometheus_stats"}},
		{[]string{"7", "r"}, sortState{colP99, false}, rn("auth", "tokens"),
			[]string{rn("auth", "sessions"), "prometheus_stats"}},
		{[]string{"5"}, sortState{colP50, true}, rn("shop", "payments"),
			[]string{rn("auth", "sessions"), "prometheus_stats"}},
		{[]string{"6"}, sortState{colP90, true}, rn("shop", "inventory"),
			[]string{rn("auth", "sessions"), "prometheus_stats"}},
		{[]string{"8"}, sortState{colActive, true}, rn("search", "query"), noData},
		// 9 and 0 sort by the error rates, most first; rows without requests have none.
		{[]string{"9"}, sortState{col4xx, true}, rn("search", "query"),
			[]string{rn("auth", "sessions"), "prometheus_stats"}},
		{[]string{"0"}, sortState{col5xx, true}, rn("shop", "inventory"),
			[]string{rn("auth", "sessions"), "prometheus_stats"}},
		{[]string{"0", "0"}, sortState{col5xx, false}, rn("auth", "tokens"),
			[]string{rn("auth", "sessions"), "prometheus_stats"}},
		{[]string{"1"}, sortState{colName, false}, rn("a-really-long-namespace-name-for-truncation", "and-an-equally-long-service"),
			[]string{"xds_cluster"}},
		{[]string{"1", "1"}, sortState{colName, true}, "xds_cluster",
			[]string{rn("a-really-long-namespace-name-for-truncation", "and-an-equally-long-service")}},
		{[]string{"2"}, sortState{colService, false}, rn("a-really-long-namespace-name-for-truncation", "and-an-equally-long-service"),
			[]string{"prometheus_stats", "xds_cluster"}},
		{[]string{"2", "2"}, sortState{colService, true}, rn("team-27", "svc-27"),
			[]string{"prometheus_stats", "xds_cluster"}},
		{[]string{"s"}, sortState{colSuccess, false}, rn("search", "suggest"),
			[]string{rn("auth", "sessions"), "prometheus_stats"}},
		{[]string{"0", "s"}, sortState{colName, false}, rn("a-really-long-namespace-name-for-truncation", "and-an-equally-long-service"),
			[]string{"xds_cluster"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			m := loaded(t, Options{NoColor: true}, 80, 24, testFrame())
			m, _ = update(t, m, press("down")) // the selection follows its row through sorting
			sel := selected(m)
			for _, k := range tt.keys {
				m, _ = update(t, m, press(k))
			}
			if m.table.sort != tt.want {
				t.Errorf("sort = %+v, want %+v", m.table.sort, tt.want)
			}
			got := names(m)
			if got[0] != tt.wantFirst {
				t.Errorf("first row %q, want %q", got[0], tt.wantFirst)
			}
			if tail := got[len(got)-len(tt.wantLast):]; !slices.Equal(tail, tt.wantLast) {
				t.Errorf("last rows %q, want %q", tail, tt.wantLast)
			}
			if selected(m) != sel {
				t.Errorf("selection moved from %q to %q", sel, selected(m))
			}
		})
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name        string
		initial     string
		keys        []tea.Msg
		wantFilter  string
		wantEditing bool
		wantRows    int
	}{
		{"substring", "", append(typeKeys("/shop"), press("enter")), "shop", false, 4},
		{"any case", "", append(typeKeys("/SHOP"), press("enter")), "SHOP", false, 4},
		{"namespace", "", append(typeKeys("/bookinfo"), press("enter")), "bookinfo", false, 1},
		{"service", "", append(typeKeys("/reviews"), press("enter")), "reviews", false, 1},
		{"inverse", "", append(typeKeys("/!shop"), press("enter")), "!shop", false, 36},
		{"bare bang matches all", "", append(typeKeys("/!"), press("enter")), "!", false, 40},
		{"nothing matches", "", append(typeKeys("/zzz"), press("enter")), "zzz", false, 0},
		{"applies while typing", "", typeKeys("/shop"), "", true, 4},
		{"q is typed, not quit", "", typeKeys("/q"), "", true, 2}, // search/query, …equally…
		{"esc clears", "", append(typeKeys("/shop"), press("esc")), "", false, 40},
		{"backspace", "", append(typeKeys("/shopx"), press("backspace"), press("enter")), "shop", false, 4},
		{"ctrl+u", "", append(typeKeys("/shopx"), press("ctrl+u"), press("enter")), "", false, 40},
		{"esc in the table clears", "", append(typeKeys("/shop"), press("enter"), press("esc")), "", false, 40},
		{"paste", "", []tea.Msg{press("/"), tea.PasteMsg{Content: "book\ninfo"}, press("enter")}, "book info", false, 0},
		{"paste outside the filter is ignored", "", []tea.Msg{tea.PasteMsg{Content: "shop"}}, "", false, 40},
		{"initial filter", "team-0", nil, "team-0", false, 10},
		{"edit starts from the filter", "team-0", append(typeKeys("/1"), press("enter")), "team-01", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loaded(t, Options{NoColor: true, Filter: tt.initial}, 80, 24, testFrame())
			m, cmd := update(t, m, tt.keys...)
			if isQuit(cmd) {
				t.Fatal("a key of the filter quit")
			}
			if m.table.filter != tt.wantFilter || (m.mode == modeFilter) != tt.wantEditing || len(m.table.order) != tt.wantRows {
				t.Errorf("filter %q editing %v rows %d, want %q %v %d",
					m.table.filter, m.mode == modeFilter, len(m.table.order), tt.wantFilter, tt.wantEditing, tt.wantRows)
			}
			if want := len(testRows()); len(m.frame.Rows) != want {
				t.Errorf("frame has %d rows, want %d", len(m.frame.Rows), want)
			}
			if m.table.cursor < 0 || (len(m.table.order) > 0 && m.table.cursor >= len(m.table.order)) {
				t.Errorf("cursor %d out of %d rows", m.table.cursor, len(m.table.order))
			}
			assertFits(t, m.render(), 80, 24)
		})
	}
}

func TestSelectionFollowsRowAcrossFrames(t *testing.T) {
	m := loaded(t, Options{NoColor: true}, 80, 24, testFrame())
	for selected(m) != rn("shop", "payments") {
		m, _ = update(t, m, press("down"))
	}
	f := testFrame()
	for i := range f.Rows {
		if f.Rows[i].Name == rn("shop", "payments") {
			f.Rows[i].RPS = 5000 // now the busiest row
		}
	}
	m.seq, m.loading = 2, false
	m, _ = update(t, m, frameAt(2, testNow, f))
	if selected(m) != rn("shop", "payments") || m.table.cursor != 0 {
		t.Errorf("selection %q at %d, want shop/payments at 0", selected(m), m.table.cursor)
	}

	// The row disappears: the selection stays at the same position.
	f.Rows = slices.DeleteFunc(slices.Clone(f.Rows), func(r traffic.Row) bool { return r.Name == rn("shop", "payments") })
	m.seq, m.loading = 3, false
	m, _ = update(t, m, frameAt(3, testNow, f))
	if m.table.cursor != 0 || selected(m) != rn("search", "query") {
		t.Errorf("selection %q at %d, want the new first row", selected(m), m.table.cursor)
	}
}

func TestDrillDown(t *testing.T) {
	src := &fakeSource{frames: []traffic.Frame{testFrame()}, detail: testDetail()}
	clock := &testClock{now: testNow}
	m, _ := update(t, New(src, Options{NoColor: true, Interval: time.Millisecond, Now: clock.Now}),
		tea.WindowSizeMsg{Width: 80, Height: 24}, frameAt(1, testNow, testFrame()))
	m, _ = update(t, m, press("down"))
	want := selected(m)

	// Enter opens the drill-down and loads the detail of that cluster only.
	m, cmd := update(t, m, press("enter"))
	if m.mode != modeDetail || m.detail.name != want || !m.loading || cmd == nil {
		t.Fatalf("after enter: open %v name %q loading %v cmd %v", m.mode == modeDetail, m.detail.name, m.loading, cmd != nil)
	}
	msgs := runCmd(t, cmd)
	if len(src.callsOf("frame")) != 0 || len(src.callsOf("detail")) != 1 || src.callsOf("detail")[0].cluster != want {
		t.Fatalf("calls = %+v, want one detail call for %q", src.calls, want)
	}
	m, _ = update(t, m, msgs...)
	if !m.detail.have || m.detail.data.Cluster != want || m.loading {
		t.Fatalf("detail not applied: have %v cluster %q loading %v", m.detail.have, m.detail.data.Cluster, m.loading)
	}
	if v := plain(m); !strings.Contains(v, "status classes") || !strings.Contains(v, want) {
		t.Errorf("drill-down view lacks the detail:\n%s", v)
	}

	// A tick refreshes both the frame and this cluster's detail.
	m, cmd = update(t, m, tickMsg(testNow))
	for _, msg := range runCmd(t, cmd) {
		if lm, ok := msg.(loadedMsg); ok {
			if !lm.frameLoaded || lm.cluster != want {
				t.Errorf("tick in the drill-down loaded frame %v cluster %q", lm.frameLoaded, lm.cluster)
			}
			m, _ = update(t, m, lm)
		}
	}
	if got := src.callsOf("detail"); len(got) != 2 || got[1].cluster != want {
		t.Errorf("detail calls = %+v, want a second for %q", got, want)
	}

	// Keys that move the table do not move the selection here; Esc returns to the table.
	m, _ = update(t, m, press("down"), press("end"))
	if selected(m) != want {
		t.Errorf("selection moved in the drill-down to %q", selected(m))
	}
	m, _ = update(t, m, press("esc"))
	if m.mode == modeDetail || selected(m) != want {
		t.Errorf("after esc: open %v selection %q", m.mode == modeDetail, selected(m))
	}

	// After Esc, a tick loads the frame only.
	m, cmd = update(t, m, tickMsg(testNow))
	for _, msg := range runCmd(t, cmd) {
		if lm, ok := msg.(loadedMsg); ok && lm.cluster != "" {
			t.Errorf("tick after esc loaded the detail of %q", lm.cluster)
		}
	}
}

func TestDrillDownWhileLoading(t *testing.T) {
	m := loaded(t, Options{NoColor: true}, 80, 24, testFrame())
	m, _ = update(t, m, tickMsg(testNow)) // load 2 in flight
	m, cmd := update(t, m, press("enter"))
	if cmd != nil || m.seq != 2 {
		t.Fatalf("enter during a load started another (seq %d)", m.seq)
	}
	if v := plain(m); !strings.Contains(v, "loading the drill-down") {
		t.Errorf("view does not say the drill-down is loading:\n%s", v)
	}
	// The frame result arrives; the missing detail is loaded right away.
	m, cmd = update(t, m, frameAt(2, testNow, testFrame()))
	if cmd == nil || m.seq != 3 || !m.loading {
		t.Fatalf("no detail load after the frame arrived (seq %d loading %v)", m.seq, m.loading)
	}
	// A detail for another cluster (the one before Esc and Enter) is ignored.
	m, _ = update(t, m, loadedMsg{seq: 3, asked: testNow, at: testNow, cluster: "other", detail: traffic.Detail{Cluster: "other"}})
	if m.detail.have {
		t.Errorf("detail of another cluster applied")
	}
}

func TestDrillDownError(t *testing.T) {
	m := loaded(t, Options{NoColor: true}, 80, 24, testFrame())
	m, _ = update(t, m, press("enter"))
	name := m.detail.name
	m, cmd := update(t, m, loadedMsg{seq: 2, asked: testNow, at: testNow, cluster: name, detailErr: errors.New("drill-down boom")})
	if cmd != nil {
		t.Errorf("a failed drill-down is retried at once; want the next tick")
	}
	if m.detail.err == nil || m.err != nil || m.backoff != 0 {
		t.Errorf("detailErr %v err %v backoff %v; want only the drill-down error", m.detail.err, m.err, m.backoff)
	}
	if v := plain(m); !strings.Contains(v, "drill-down boom") {
		t.Errorf("view lacks the drill-down error:\n%s", v)
	}
}

func TestPause(t *testing.T) {
	m := loaded(t, Options{NoColor: true, Interval: time.Millisecond}, 80, 24, testFrame())
	m, cmd := update(t, m, press("p"))
	if !m.paused || cmd != nil {
		t.Fatalf("p: paused %v cmd %v", m.paused, cmd != nil)
	}
	for range 3 {
		m, cmd = update(t, m, tickMsg(testNow))
		msgs := runCmd(t, cmd)
		if len(msgs) != 1 || m.seq != 1 || m.loading {
			t.Fatalf("tick while paused: %d messages, seq %d, loading %v; want only the tick", len(msgs), m.seq, m.loading)
		}
		if _, ok := msgs[0].(tickMsg); !ok {
			t.Fatalf("tick while paused returned %T", msgs[0])
		}
	}
	if !strings.Contains(plain(m), "PAUSED") {
		t.Errorf("view does not show PAUSED")
	}
	// Resuming loads at once.
	m, cmd = update(t, m, press("p"))
	if m.paused || cmd == nil || m.seq != 2 || !m.loading {
		t.Errorf("resume: paused %v seq %d loading %v", m.paused, m.seq, m.loading)
	}
	if strings.Contains(plain(m), "PAUSED") {
		t.Errorf("view still shows PAUSED")
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		keys       []string
		wantMode   mode
		wantBehind mode // the screen under the help, when it is shown
	}{
		{[]string{"?"}, modeHelp, modeTable},
		{[]string{"?", "?"}, modeTable, modeTable},
		{[]string{"?", "esc"}, modeTable, modeTable},
		{[]string{"?", "down", "enter", "/"}, modeHelp, modeTable},
		{[]string{"enter", "?"}, modeHelp, modeDetail},
		{[]string{"enter", "?", "esc"}, modeDetail, modeDetail},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			m := loaded(t, Options{NoColor: true}, 80, 24, testFrame())
			for _, k := range tt.keys {
				m, _ = update(t, m, press(k))
			}
			want := tt.wantMode == modeHelp
			if m.mode != tt.wantMode {
				t.Errorf("mode = %v, want %v", m.mode, tt.wantMode)
			}
			if want && (m.table.cursor != 0 || m.behindHelp != tt.wantBehind) {
				t.Errorf("keys acted behind the help: cursor %d, screen behind %v, want %v", m.table.cursor, m.behindHelp, tt.wantBehind)
			}
			if v := plain(m); strings.Contains(v, "pause / resume refreshing") != want {
				t.Errorf("help shown = %v, want %v:\n%s", !want, want, v)
			}
		})
	}
}

// TestQuit: q quits, ctrl+c interrupts (the program then exits 130, like a SIGINT), in every
// view and in the filter input, where q is just a letter.
func TestQuit(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		want string
	}{
		{"q", []string{"q"}, "quit"},
		{"ctrl+c", []string{"ctrl+c"}, "interrupt"},
		{"q in the drill-down", []string{"enter", "q"}, "quit"},
		{"ctrl+c in the drill-down", []string{"enter", "ctrl+c"}, "interrupt"},
		{"q in the help", []string{"?", "q"}, "quit"},
		{"ctrl+c in the help", []string{"?", "ctrl+c"}, "interrupt"},
		{"q in the filter types", []string{"/", "q"}, ""},
		{"ctrl+c in the filter", []string{"/", "ctrl+c"}, "interrupt"},
		{"other keys", []string{"x", "down", "esc"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loaded(t, Options{NoColor: true}, 80, 24, testFrame())
			var cmd tea.Cmd
			for _, k := range tt.keys {
				m, cmd = update(t, m, press(k))
			}
			if got := quitKind(cmd); got != tt.want {
				t.Errorf("ends as %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStaleResultsDropped(t *testing.T) {
	a, b, c := testFrame(), testFrame(), testFrame()
	b.Dialect, c.Dialect = "frame-b", "frame-c"
	tests := []struct {
		name        string
		msgs        []tea.Msg
		wantDialect string
		wantErr     bool
		wantLoading bool
	}{
		{"in order", []tea.Msg{frameAt(2, testNow, b)}, "frame-b", false, false},
		{"late result of an older load", []tea.Msg{frameAt(2, testNow, b), frameAt(1, testNow, c)}, "frame-b", false, false},
		{"late error of an older load", []tea.Msg{frameAt(2, testNow, b), failAt(1, errors.New("old"))}, "frame-b", false, false},
		{"older result arriving after a newer one", []tea.Msg{frameAt(3, testNow, c), frameAt(2, testNow, b)}, "frame-c", false, false},
		{"stale result does not end the load in flight", []tea.Msg{frameAt(1, testNow, c)}, "contour", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loaded(t, Options{NoColor: true}, 80, 24, a)
			m, _ = update(t, m, tickMsg(testNow)) // load 2 in flight
			if strings.Contains(tt.name, "newer") {
				m.seq = 3 // pretend two loads overlapped
			}
			m, _ = update(t, m, tt.msgs...)
			if m.frame.Dialect != tt.wantDialect || (m.err != nil) != tt.wantErr || m.loading != tt.wantLoading {
				t.Errorf("dialect %q err %v loading %v, want %q %v %v",
					m.frame.Dialect, m.err, m.loading, tt.wantDialect, tt.wantErr, tt.wantLoading)
			}
		})
	}
}

func TestErrorKeepsFrameAndBacksOff(t *testing.T) {
	clock := &testClock{now: testNow}
	src := &fakeSource{}
	m, _ := update(t, New(src, Options{NoColor: true, Interval: 2 * time.Second, Now: clock.Now}),
		tea.WindowSizeMsg{Width: 120, Height: 30}, frameAt(1, testNow, testFrame()))
	down := errors.New(`Post "http://prometheus:9090/api/v1/query": dial tcp: connection refused`)

	// Each failure doubles the delay, up to 30s.
	wantBackoff := []time.Duration{4, 8, 16, 30, 30}
	for i, want := range wantBackoff {
		want *= time.Second
		// Ticks start the next load once the delay is over.
		m, _ = update(t, m, tickMsg(clock.now))
		if !m.loading {
			t.Fatalf("failure %d: no load started at %v (next load %v)", i, clock.now, m.nextLoad)
		}
		seq := m.seq
		m, _ = update(t, m, failAt(seq, down))
		if m.backoff != want || !m.nextLoad.Equal(clock.now.Add(want)) {
			t.Errorf("failure %d: backoff %v next %v, want %v", i, m.backoff, m.nextLoad.Sub(clock.now), want)
		}
		if !m.haveFrame || m.frame.Dialect != "contour" || len(m.table.order) != len(testRows()) {
			t.Errorf("failure %d: the last good frame is gone", i)
		}
		view := plain(m)
		for _, s := range []string{"connection refused", "ago (stale)", "refresh failed (retry in " + fmtAge(want) + ")"} {
			if !strings.Contains(view, s) {
				t.Errorf("failure %d: view lacks %q:\n%s", i, s, view)
			}
		}
		assertFits(t, view, 120, 30)
		// Ticks before the delay is over start nothing.
		for clock.now.Add(2*time.Second).Before(m.nextLoad) || clock.now.Add(2*time.Second).Equal(m.nextLoad) {
			if clock.now = clock.now.Add(2 * time.Second); clock.now.Equal(m.nextLoad) {
				break
			}
			m, _ = update(t, m, tickMsg(clock.now))
			if m.seq != seq || m.loading {
				t.Fatalf("failure %d: a load started at %v, before %v", i, clock.now, m.nextLoad)
			}
		}
		clock.now = m.nextLoad
	}
	if !strings.Contains(plain(m), "updated 1m26s ago (stale)") { // 4+8+16+30+30s of failures, less the last 2s
		t.Errorf("age of the last good frame not shown:\n%s", plain(m))
	}

	// Recovery: the next success clears the error and the backoff.
	m, _ = update(t, m, tickMsg(clock.now))
	f := testFrame()
	f.Dialect = "recovered"
	m, _ = update(t, m, frameAt(m.seq, clock.now, f))
	if m.err != nil || m.backoff != 0 || !m.nextLoad.IsZero() || m.frame.Dialect != "recovered" || !m.lastGood.Equal(clock.now) {
		t.Errorf("after recovery: err %v backoff %v next %v dialect %q lastGood %v",
			m.err, m.backoff, m.nextLoad, m.frame.Dialect, m.lastGood)
	}
	if v := plain(m); strings.Contains(v, "connection refused") || !strings.Contains(v, "updated 0s ago") {
		t.Errorf("view after recovery:\n%s", v)
	}
	// And the next tick loads at the normal interval again.
	clock.now = clock.now.Add(2 * time.Second)
	seq := m.seq
	m, _ = update(t, m, tickMsg(clock.now))
	if m.seq != seq+1 {
		t.Errorf("no load on the first tick after recovery")
	}
}

func TestErrorBeforeFirstFrame(t *testing.T) {
	m, _ := update(t, New(&fakeSource{}, Options{NoColor: true, Now: fixedNow}),
		tea.WindowSizeMsg{Width: 80, Height: 24}, failAt(1, errors.New("no such host")))
	if m.haveFrame || m.err == nil {
		t.Fatalf("haveFrame %v err %v", m.haveFrame, m.err)
	}
	v := plain(m)
	for _, s := range []string{"no such host", "(retry in 4s)", "waiting for the first frame"} {
		if !strings.Contains(v, s) {
			t.Errorf("view lacks %q:\n%s", s, v)
		}
	}
	// Keys on an empty table are harmless.
	for _, k := range []string{"down", "end", "pgdown", "enter", "3", "/"} {
		m, _ = update(t, m, press(k))
	}
	if m.mode == modeDetail {
		t.Errorf("enter on an empty table opened a drill-down")
	}
}

func TestResize(t *testing.T) {
	m := loaded(t, Options{NoColor: true}, 160, 48, testFrame())
	for range 30 {
		m, _ = update(t, m, press("down"))
	}
	if m.table.cursor != 30 || m.table.offset != 0 {
		t.Fatalf("at 160x48: cursor %d offset %d, want 30 0", m.table.cursor, m.table.offset)
	}
	tests := []struct {
		w, h       int
		wantOffset int
	}{
		{80, 24, 12}, // 19 rows: 30 is the last on screen
		{80, 10, 26}, // 5 rows
		{40, 6, 30},  // 1 row
		{160, 48, 0}, // back: all 40 rows fit, the window returns to the top
	}
	for _, tt := range tests {
		m, _ = update(t, m, tea.WindowSizeMsg{Width: tt.w, Height: tt.h})
		if m.width != tt.w || m.height != tt.h {
			t.Errorf("size %dx%d, want %dx%d", m.width, m.height, tt.w, tt.h)
		}
		if m.table.cursor != 30 || m.table.offset > m.table.cursor || m.table.cursor >= m.table.offset+m.tableHeight() {
			t.Errorf("%dx%d: cursor %d offset %d: selection off screen", tt.w, tt.h, m.table.cursor, m.table.offset)
		}
		if m.table.offset != tt.wantOffset {
			t.Errorf("%dx%d: offset %d, want %d", tt.w, tt.h, m.table.offset, tt.wantOffset)
		}
		assertFits(t, m.render(), tt.w, tt.h)
	}
}

// TestProgramSmoke runs the model in a real Bubble Tea program, wired as the command wires it,
// and quits it with "q".
func TestProgramSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	src := &fakeSource{frames: []traffic.Frame{testFrame()}}
	in, feed := io.Pipe()
	var out bytes.Buffer
	p := tea.NewProgram(New(src, Options{Target: "demo", Interval: 10 * time.Millisecond, NoColor: true}),
		tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(&out), tea.WithWindowSize(80, 24))

	go func() {
		// Quit once a few refreshes went through.
		for {
			src.mu.Lock()
			n := len(src.calls)
			src.mu.Unlock()
			if n >= 3 || ctx.Err() != nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		_, _ = feed.Write([]byte("q"))
	}()
	final, err := p.Run()
	_ = feed.Close()
	if err != nil {
		t.Fatalf("program: %v", err)
	}
	m, ok := final.(Model)
	if !ok {
		t.Fatalf("final model is %T", final)
	}
	if !m.haveFrame || m.err != nil {
		t.Errorf("final model: haveFrame %v err %v", m.haveFrame, m.err)
	}
	if !strings.Contains(out.String(), "\x1b[?1049h") {
		t.Errorf("the program did not switch to the alternate screen")
	}
}

// TestFilterAndSortAgreeWithSnapshot: the dashboard shows the rows `top --once` prints, in the
// same order, for the same --filter and sort: both go through traffic's one filter and order.
func TestFilterAndSortAgreeWithSnapshot(t *testing.T) {
	for _, filter := range []string{"", "shop/checkout", "SHOP/", "!shop/", "bookinfo/reviews", "team-0", "xds"} {
		for c := colName; c < numSortable; c++ {
			for _, reverse := range []bool{false, true} {
				m := loaded(t, Options{Filter: filter}, 200, 80, testFrame())
				keys := []string{sortDigits[c : c+1]}
				if c == colRPS {
					keys = nil // the default sort
				}
				if reverse {
					keys = append(keys, "r")
				}
				for _, k := range keys {
					m, _ = update(t, m, press(k))
				}
				rows := traffic.FilterRows(testFrame().Rows, traffic.ParseFilter(filter))
				traffic.SortRows(rows, c.sortKey(), reverse)
				var want []string
				for _, r := range rows {
					want = append(want, r.Name)
				}
				if got := names(m); !slices.Equal(got, want) {
					t.Errorf("filter %q, sort %s reverse=%v: dashboard shows %q, snapshot %q", filter, c.sortKey(), reverse, got, want)
				}
				if filter == "shop/checkout" && len(want) != 1 {
					t.Errorf("filter %q selects %q, want the one checkout row", filter, want)
				}
			}
		}
	}
}

// TestDetailScroll checks the drill-down's scrolling against its lines, which Update draws when
// what they show changes (the detail, the frame, the width) and only then.
func TestDetailScroll(t *testing.T) {
	m := loaded(t, Options{NoColor: true}, 80, 24, testFrame())
	m, _ = update(t, m, press("enter"))
	name := m.detail.name
	fresh := func(step string) {
		t.Helper()
		if !slices.Equal(m.detail.lines, m.detailLines()) {
			t.Fatalf("%s: the drill-down's lines are stale", step)
		}
	}
	fresh("enter")
	m, _ = update(t, m, loadedMsg{seq: m.seq, asked: testNow, at: testNow, cluster: name, detail: testDetail()})
	fresh("detail loaded")
	n, h := len(m.detail.lines), m.bodyHeight()
	if n <= h {
		t.Fatalf("the drill-down has %d lines, fewer than the %d on screen: nothing to scroll", n, h)
	}

	// End goes to the last screenful and no further; the footer counts the same lines.
	m, _ = update(t, m, press("end"), press("down"), press("pgdown"))
	if m.detail.scroll != n-h {
		t.Errorf("scroll after end = %d, want %d", m.detail.scroll, n-h)
	}
	if want := fmt.Sprintf("(lines %d-%d of %d)", n-h+1, n, n); !strings.Contains(plain(m), want) {
		t.Errorf("footer lacks %q:\n%s", want, plain(m))
	}

	// A key that scrolls does not draw the drill-down again.
	before := m.detail.lines
	m, _ = update(t, m, press("up"))
	if m.detail.scroll != n-h-1 || &m.detail.lines[0] != &before[0] {
		t.Errorf("up: scroll %d (want %d), lines redrawn %v", m.detail.scroll, n-h-1, &m.detail.lines[0] != &before[0])
	}

	// A narrower screen wraps the drill-down onto more lines; End reaches the new last line.
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 40, Height: 24})
	fresh("narrower")
	if len(m.detail.lines) <= n {
		t.Errorf("at 40 columns %d lines, want more than the %d at 80", len(m.detail.lines), n)
	}
	m, _ = update(t, m, press("end"))
	if want := len(m.detail.lines) - m.bodyHeight(); m.detail.scroll != want {
		t.Errorf("scroll after end at 40 columns = %d, want %d", m.detail.scroll, want)
	}

	// A taller screen clamps the scroll to what is left to show.
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 40})
	fresh("taller")
	if want := max(len(m.detail.lines)-m.bodyHeight(), 0); m.detail.scroll != want {
		t.Errorf("scroll at 80x40 = %d, want %d", m.detail.scroll, want)
	}

	// A new frame and a failed drill-down load change what the drill-down shows, also under
	// the help.
	f := testFrame()
	for i := range f.Rows {
		if f.Rows[i].Name == name {
			f.Rows[i].RPS *= 2
		}
	}
	before = m.detail.lines
	m, _ = update(t, m, press("?"), frameAt(m.seq+1, testNow, f))
	fresh("frame under the help")
	if slices.Equal(m.detail.lines, before) {
		t.Errorf("the drill-down's lines did not change with the frame")
	}
	m, _ = update(t, m, loadedMsg{seq: m.seq + 2, asked: testNow, at: testNow, cluster: name, detailErr: errors.New("drill-down failed")})
	fresh("detail error")
	if !slices.ContainsFunc(m.detail.lines, func(l string) bool { return strings.Contains(l, "drill-down failed") }) {
		t.Errorf("the drill-down's lines lack its error:\n%s", strings.Join(m.detail.lines, "\n"))
	}

	// Back in the table, the drill-down holds nothing.
	m, _ = update(t, m, press("esc"), press("esc"))
	if m.mode != modeTable || m.detail.lines != nil {
		t.Errorf("after esc esc: mode %v, %d drill-down lines kept", m.mode, len(m.detail.lines))
	}
}

// TestTableView exercises the table's state on its own: the filter narrows the order, the
// selection follows its row by name and is clamped when the row is filtered out, and the
// offset keeps the selection among the h rows on screen.
func TestTableView(t *testing.T) {
	rows := testRows()
	keys := make([]string, len(rows))
	for i := range rows {
		keys[i] = traffic.SearchKey(&rows[i])
	}
	const h = 3
	tv := tableView{sort: sortBy(colRPS)}
	tv.rebuild(rows, keys, "", h, nil)
	if len(tv.order) != len(rows) || rows[tv.order[0]].Name != rn("search", "query") {
		t.Fatalf("unfiltered: %d rows, first %q", len(tv.order), rows[tv.order[0]].Name)
	}
	tv.moveTo(5, rows, h)
	if tv.offset != 3 {
		t.Errorf("cursor 5 in %d rows on screen: offset %d, want 3", h, tv.offset)
	}

	// Filtering keeps the selected row selected where it now stands.
	tv.moveTo(slices.IndexFunc(tv.order, func(i int) bool { return rows[i].Name == rn("shop", "payments") }), rows, h)
	tv.rebuild(rows, keys, "shop", h, nil)
	if len(tv.order) != 4 || tv.selName != rn("shop", "payments") || rows[tv.order[tv.cursor]].Name != tv.selName {
		t.Errorf("filter shop: %d rows, selection %q at %d", len(tv.order), tv.selName, tv.cursor)
	}
	if tv.cursor < tv.offset || tv.cursor >= tv.offset+h {
		t.Errorf("filter shop: cursor %d off screen from offset %d", tv.cursor, tv.offset)
	}

	// A filter that drops the selected row clamps the selection into what is left.
	tv.rebuild(rows, keys, "auth", h, nil)
	if len(tv.order) != 2 || tv.cursor != 1 || tv.offset != 0 || !strings.HasPrefix(tv.selName, "auth/") {
		t.Errorf("filter auth: %d rows, cursor %d offset %d selection %q", len(tv.order), tv.cursor, tv.offset, tv.selName)
	}

	// No row left: the cursor and offset stay at zero.
	tv.rebuild(rows, keys, "no such service", h, nil)
	if len(tv.order) != 0 || tv.cursor != 0 || tv.offset != 0 {
		t.Errorf("no match: %d rows, cursor %d offset %d", len(tv.order), tv.cursor, tv.offset)
	}
}
