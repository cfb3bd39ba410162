//go:build e2e

package plugin

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tmuxtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// TestDashboardHistoryInARealTerminal runs the real binary's dashboard against a real Prometheus
// holding 20 minutes of a simulated fleet's past (back-filled with promtool), in which the rate
// of shop_frontend_80 tripled 8 minutes ago: the sparklines and the selected row's scale show
// that history at once, the drill-down's rps chart shows the step where it was, and w switches
// the window (the header says so) with the numbers still right.
func TestDashboardHistoryInARealTerminal(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	now := time.Now().Truncate(time.Second)
	stepAt := now.Add(-8 * time.Minute)
	fleet := e2eFleet()
	fleet.Start = now.Add(-20 * time.Minute)
	fleet.Clusters[0].Step = envoysim.Step{At: stepAt, Factor: 3} // shop_frontend_80: 40 → 120 rps
	targets := promtest.ServeFleet(t, fleet, "edge")
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second,
		History: &promtest.History{Fleet: fleet, From: fleet.Start, To: time.Now(), Step: 5 * time.Second}})

	s := tmuxtest.Start(t, 120, 30)
	begin := time.Now()
	s.Type(t, bin+" top --prometheus-url "+srv.URL()+" --envoy-namespace edge --window 1m --interval 1s")
	// The busiest row, selected first, has a scale from about 40 to about 120 rps at once.
	screen := s.WaitFor(t, "the history's scale", 20*time.Second, func(sc string) bool {
		return strings.Contains(sc, "trend rps ")
	})
	t.Logf("history on screen %s after start", time.Since(begin).Round(time.Millisecond))
	lo, hi := trendScale(t, screen)
	if math.Abs(lo-40) > 0.05*40 || math.Abs(hi-120) > 0.05*120 {
		t.Errorf("the selected row's trend goes from %v to %v rps, want 40 to 120:\n%s", lo, hi, strings.Join(screen, "\n"))
	}
	waitRPS(t, s, "shop_frontend_80", 120)

	// The drill-down's rps chart: empty in its top row before the step, drawn after it.
	s.Keys(t, "Enter")
	s.WaitForText(t, "trends over the last 15m", 15*time.Second)
	screen = s.WaitFor(t, "the rps chart", 15*time.Second, func(sc string) bool { return strings.Contains(sc, "┤") })
	top := chartTopRow(t, screen, "rps")
	// The step is 7 of the 15 minutes along; its 1m window ramps up until 8 of 15.
	early, late := top[:len(top)*2/5], top[len(top)*3/5:]
	// A blank braille cell may come back from tmux as a space.
	if strings.Trim(string(early), "⠀ ") != "" || strings.Trim(string(late), "⠀ ") == "" {
		t.Errorf("the rps chart does not show the step at 7/15 of its width: top row %q\n%s", string(top), strings.Join(screen, "\n"))
	}
	s.Keys(t, "Escape")
	// Escape and a key right after it would arrive as alt+key.
	s.WaitForText(t, footer, 10*time.Second)

	// w: the next window, 5m, with the history read again and the numbers right.
	s.Keys(t, "w")
	screen = s.WaitFor(t, "window 5m", 15*time.Second, func(sc string) bool {
		lines := strings.Split(sc, "\n")
		return strings.Contains(lines[0], "window 5m ·") && strings.Contains(sc, "trend rps ")
	})
	if !strings.Contains(screen[0], "window 5m ·") {
		t.Errorf("header %q", screen[0])
	}
	waitRPS(t, s, "shop_frontend_80", 120)
	s.Keys(t, "w")
	s.WaitFor(t, "window 15m", 15*time.Second, func(sc string) bool { return strings.Contains(strings.Split(sc, "\n")[0], "window 15m ·") })
	s.Keys(t, "q")
}

// trendScale reads the selected row's RPS scale from the status line: "trend rps LO–HI".
func trendScale(t *testing.T, screen []string) (lo, hi float64) {
	t.Helper()
	for _, l := range screen {
		_, rest, ok := strings.Cut(l, "trend rps ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		a, b, ok := strings.Cut(f[0], "–")
		if !ok {
			t.Fatalf("the trend scale %q is not a range", f[0])
		}
		return parseRate(t, a), parseRate(t, b)
	}
	t.Fatalf("no trend scale on screen:\n%s", strings.Join(screen, "\n"))
	return 0, 0
}

// waitRPS waits until the row of cluster shows an RPS within 5% of want: the first refreshes
// after Prometheus started straddle the end of the back-filled past and the first live scrapes,
// and their rates are low by up to the share of the window between both.
func waitRPS(t *testing.T, s *tmuxtest.Session, cluster string, want float64) []string {
	t.Helper()
	return s.WaitFor(t, cluster+" at "+strconv.FormatFloat(want, 'f', -1, 64)+" rps", 30*time.Second, func(sc string) bool {
		v, ok := rpsOf(strings.Split(sc, "\n"), cluster)
		return ok && math.Abs(v-want) <= 0.05*want
	})
}

// rpsOf reads the RPS of cluster's row on screen: the first number after its name.
func rpsOf(screen []string, cluster string) (float64, bool) {
	for _, l := range screen {
		i := strings.Index(l, cluster)
		if i < 0 {
			continue
		}
		for _, f := range strings.Fields(l[i+len(cluster):]) {
			if v, err := strconv.ParseFloat(f, 64); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}

// parseRate reads a rate as the dashboard prints it (12.3, 1.2k).
func parseRate(t *testing.T, s string) float64 {
	t.Helper()
	k := 1.0
	if strings.HasSuffix(s, "k") {
		s, k = strings.TrimSuffix(s, "k"), 1000
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("rate %q: %v", s, err)
	}
	return v * k
}

// chartTopRow is the top row of the drill-down chart titled title: the braille cells right of
// its axis.
func chartTopRow(t *testing.T, screen []string, title string) []rune {
	t.Helper()
	for i, l := range screen {
		if strings.TrimSpace(l) == title && i+1 < len(screen) {
			_, plot, ok := strings.Cut(screen[i+1], "┤")
			if ok {
				return []rune(plot)
			}
		}
	}
	t.Fatalf("no %s chart on screen:\n%s", title, strings.Join(screen, "\n"))
	return nil
}
