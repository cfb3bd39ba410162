package tui

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
)

// testComparison is a failing canary as compare.Run reports it.
func testComparison(baseline, canary string) compare.Result {
	steps := func(v float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v * (1 + 0.05*float64(i%3))
		}
		out[2] = math.NaN()
		return out
	}
	return compare.Result{
		At: testNow, Window: 5 * time.Minute, Step: 30 * time.Second,
		Baseline: compare.ArmStats{Selector: baseline, Clusters: []string{baseline}, Requests: 12000, Errors: 12, RPS: 40, Share: 0.8,
			Success: 0.999, SuccessLo: 0.9983, SuccessHi: 0.9994, P50: 24, P90: 45, P99: 49, Timeouts: 0, Retries: 0.1,
			P99Steps: steps(49, 10), RPSSteps: steps(40, 10)},
		Canary: compare.ArmStats{Selector: canary, Clusters: []string{canary}, Requests: 3000, Errors: 180, RPS: 10, Share: 0.2,
			Success: 0.94, SuccessLo: 0.9309, SuccessHi: 0.9480, P50: 175, P90: 235, P99: 248.5, Timeouts: 0.2, Retries: 0.4,
			P99Steps: steps(248, 10), RPSSteps: steps(10, 10)},
		SuccessDelta: -0.059, SuccessTest: "two-proportion z", SuccessP: 1e-50, P99Increase: 4.07, LatencyP: 0.0002, LatencySteps: 9,
		Checks: []compare.Check{
			{Name: "traffic", Verdict: compare.Pass, Reason: "baseline served 12000 and canary 3000 requests in 5m0s"},
			{Name: "success-drop", Verdict: compare.Fail, Reason: "canary success 94.00% is 5.90 points below baseline 99.90%"},
			{Name: "p99", Verdict: compare.Fail, Reason: "canary p99 249ms is 407.00% above baseline 49ms"},
		},
		Verdict: compare.Fail,
	}
}

// TestMarkAndCompare marks a baseline and a canary in the table, opens the live comparison with
// c, gets it loaded, and goes back with Esc.
func TestMarkAndCompare(t *testing.T) {
	var asked [][2]string
	fn := func(_ context.Context, _ time.Time, b, c string) (compare.Result, error) {
		asked = append(asked, [2]string{b, c})
		return testComparison(b, c), nil
	}
	m := loaded(t, Options{NoColor: true, Compare: fn}, 120, 40, testFrame())
	first, second := m.frame.Rows[m.table.order[0]].Name, m.frame.Rows[m.table.order[1]].Name

	// c before two marks says what to do.
	m, cmd := update(t, m, press("c"))
	if cmd != nil || m.mode == modeCompare || !strings.Contains(plain(m), "mark the baseline and then the canary") {
		t.Fatalf("c without marks opened the comparison")
	}
	m, _ = update(t, m, press("m"), press("j"), press("space"))
	if got := m.comparison.marks; len(got) != 2 || got[0] != first || got[1] != second {
		t.Fatalf("marks = %v", got)
	}
	view := plain(m)
	if !strings.Contains(view, " B"+first) && !strings.Contains(view, "▸B") && !strings.Contains(view, " B") {
		t.Errorf("the baseline row is not marked B:\n%s", view)
	}
	m, cmd = update(t, m, press("c"))
	if m.mode != modeCompare || cmd == nil {
		t.Fatal("c did not open and load the comparison")
	}
	msg := cmd()
	m, _ = update(t, m, msg)
	if len(asked) != 1 || asked[0] != [2]string{first, second} {
		t.Errorf("compared %v", asked)
	}
	view = plain(m)
	for _, want := range []string{"BASELINE", "CANARY", "verdict: FAIL", "two-proportion z", "Mann-Whitney", "✗ p99"} {
		if !strings.Contains(view, want) {
			t.Errorf("the comparison lacks %q:\n%s", want, view)
		}
	}
	// Each refresh brings the comparison again.
	m, cmd = update(t, m, tickMsg(testNow))
	if cmd == nil {
		t.Fatal("no refresh")
	}
	m, _ = update(t, m, press("esc"))
	if m.mode == modeCompare {
		t.Error("esc did not go back to the table")
	}
	// Marking a marked row unmarks it.
	m, _ = update(t, m, press("m"))
	if len(m.comparison.marks) != 1 {
		t.Errorf("marks after unmarking = %v", m.comparison.marks)
	}
}

// TestCompareWatch is compare --watch: only the comparison, no table to go back to, and a failed
// comparison keeps the last one with the error.
func TestCompareWatch(t *testing.T) {
	fail := false
	fn := func(_ context.Context, _ time.Time, b, c string) (compare.Result, error) {
		if fail {
			return compare.Result{}, errors.New("prometheus is down")
		}
		return testComparison(b, c), nil
	}
	m := NewCompare(fn, "shop_checkout-primary_8080", "shop_checkout-canary_8080",
		Options{NoColor: true, Now: fixedNow, Target: "http://localhost:9090", Interval: time.Millisecond})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 30})
	// Init's load has no frame source to read (there is no table) and only compares.
	var loaded bool
	for _, msg := range runCmd(t, m.Init()) {
		if lm, ok := msg.(loadedMsg); ok {
			loaded = lm.compared && !lm.frameLoaded
			m, _ = update(t, m, lm)
		}
	}
	if !loaded {
		t.Fatal("Init does not load the comparison alone")
	}
	golden.Assert(t, filepath.Join("testdata", "compare-watch-120x30.golden"), []byte(plain(m)))
	m, _ = update(t, m, press("esc"))
	if m.mode != modeCompare {
		t.Error("esc left the only view there is")
	}
	fail = true
	m.seq++
	m, _ = update(t, m, load(nil, m.request(false))())
	view := plain(m)
	if !strings.Contains(view, "comparison failed") || !strings.Contains(view, "verdict: FAIL") {
		t.Errorf("a failed refresh should keep the last comparison and say why:\n%s", view)
	}
	assertFits(t, m.render(), 120, 30)
}

// TestCompareScroll checks the comparison's scrolling against its lines, which Update draws when
// the comparison changes and not for a key that scrolls.
func TestCompareScroll(t *testing.T) {
	fail := false
	fn := func(_ context.Context, _ time.Time, b, c string) (compare.Result, error) {
		if fail {
			return compare.Result{}, errors.New("prometheus is down")
		}
		return testComparison(b, c), nil
	}
	m := NewCompare(fn, "base", "canary", Options{NoColor: true, Now: fixedNow})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 12})
	fresh := func(step string) {
		t.Helper()
		if !slices.Equal(m.comparison.lines, m.compareLines()) {
			t.Fatalf("%s: the comparison's lines are stale", step)
		}
	}
	fresh("new")
	m, _ = update(t, m, load(nil, m.request(false))())
	fresh("loaded")
	n, h := len(m.comparison.lines), m.bodyHeight()
	if n <= h {
		t.Fatalf("the comparison has %d lines, fewer than the %d on screen: nothing to scroll", n, h)
	}
	before := m.comparison.lines
	for range n + 5 {
		m, _ = update(t, m, press("down"))
	}
	if m.comparison.scroll != n-h || &m.comparison.lines[0] != &before[0] {
		t.Errorf("scroll %d (want %d), lines redrawn %v", m.comparison.scroll, n-h, &m.comparison.lines[0] != &before[0])
	}
	if !strings.Contains(plain(m), "verdict: FAIL") {
		t.Errorf("scrolled to the end, the verdict is not on screen:\n%s", plain(m))
	}

	// A failed refresh adds its error to the comparison kept on screen.
	fail = true
	m.seq++
	m, _ = update(t, m, load(nil, m.request(false))())
	fresh("failed")
	if !slices.ContainsFunc(m.comparison.lines, func(l string) bool { return strings.Contains(l, "prometheus is down") }) {
		t.Errorf("the comparison's lines lack the error:\n%s", strings.Join(m.comparison.lines, "\n"))
	}
}
