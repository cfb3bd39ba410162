//go:build e2e

package plugin

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tmuxtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// footer is the start of the dashboard's status line.
const footer = " clusters · sort "

// TestDashboardInARealTerminal runs the real binary's dashboard in a tmux pseudo-terminal: the
// table appears, the layout follows a resize without wrapping, keys work, and q quits and gives
// the terminal back to the shell.
func TestDashboardInARealTerminal(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	s := tmuxtest.Start(t, 120, 30)
	s.Type(t, bin+" top --demo; echo EXITED=$?")
	screen := s.WaitForText(t, footer, 15*time.Second)
	checkLayout(t, screen, 120, 30)
	if !strings.Contains(strings.Join(screen, "\n"), "shop_frontend_80") || !strings.Contains(screen[0], "promteam top") {
		t.Fatalf("no table:\n%s", strings.Join(screen, "\n"))
	}
	// The demo evaluates the stack's alerting rules: the header counts its alerts.
	if want := "alerts 2 firing (2 critical), 2 pending"; !strings.Contains(screen[0], want) {
		t.Errorf("header %q lacks %q", screen[0], want)
	}

	s.Resize(t, 64, 16)
	// tmux crops the old screen at once; the dashboard's redraw follows.
	screen = s.WaitFor(t, "the layout at 64x16", 10*time.Second, func(sc string) bool {
		lines := strings.Split(sc, "\n")
		return len(lines) <= 16 && strings.HasPrefix(lines[0], "promteam top") &&
			strings.Contains(lines[len(lines)-1], footer) && !strings.Contains(sc, "TREND")
	})
	checkLayout(t, screen, 64, 16)

	s.Resize(t, 120, 30)
	s.WaitForText(t, "TREND", 10*time.Second)
	s.Keys(t, "/")
	s.Type(t, "checkout")
	screen = s.WaitForText(t, "2/11 clusters", 10*time.Second)
	if strings.Contains(strings.Join(screen, "\n"), "shop_frontend_80") {
		t.Error("the filter left shop_frontend_80 on screen")
	}
	s.Keys(t, "Enter")
	s.WaitForText(t, "status classes", 10*time.Second)
	s.Keys(t, "Escape")
	s.WaitForText(t, footer, 10*time.Second)
	s.Keys(t, "?")
	s.WaitForText(t, "reverse", 10*time.Second)
	s.Keys(t, "?")

	s.Keys(t, "q")
	screen = s.WaitForText(t, "EXITED=0", 10*time.Second)
	if text := strings.Join(screen, "\n"); strings.Contains(text, "promteam top ·") || strings.Contains(text, footer) {
		t.Errorf("the dashboard is still on screen after quitting:\n%s", text)
	}
	// The shell reads lines again: echo and line editing are back.
	s.Type(t, "echo TYPED-$((40+2))")
	s.WaitForText(t, "TYPED-42", 5*time.Second)
}

// TestDashboardExitStatus: in a real terminal, ctrl+c ends top and compare --watch with 130, as
// SIGINT ends any program, and leaves the terminal usable; q ends compare --watch with the
// status of the verdict on screen (the demo's canary fails: 1), as a one-off compare would.
func TestDashboardExitStatus(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	watch := bin + " compare --demo --baseline shop_checkout-primary_8080 --canary shop_checkout-canary_8080 --watch --interval 1s"
	for _, tc := range []struct {
		name, command, ready, key, want string
	}{
		{"top ctrl+c", bin + " top --demo", footer, "C-c", "EXITED=130"},
		{"top ctrl+c in the filter", bin + " top --demo", footer, "/", "EXITED=130"},
		{"compare --watch q after FAIL", watch, "verdict: FAIL", "q", "EXITED=1"},
		{"compare --watch ctrl+c", watch, "verdict: FAIL", "C-c", "EXITED=130"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tmuxtest.Start(t, 120, 30)
			s.Type(t, tc.command+"; echo EXITED=$?")
			s.WaitForText(t, tc.ready, 30*time.Second)
			s.Keys(t, tc.key)
			if tc.key == "/" {
				s.Keys(t, "C-c")
			}
			s.WaitForText(t, tc.want, 10*time.Second)
			s.Type(t, "echo TYPED-$((40+2))")
			s.WaitForText(t, "TYPED-42", 5*time.Second)
		})
	}
}

// TestDashboardSurvivesAPrometheusOutage stops the Prometheus under a running dashboard: it keeps
// the last good rows with their age, shows the failure, and recovers once Prometheus is back.
func TestDashboardSurvivesAPrometheusOutage(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	fleet := e2eFleet()
	envoy := httptest.NewServer(fleet.Handler(fleet.Pods[0], envoysim.Stock, nil))
	t.Cleanup(envoy.Close)
	srv := promtest.Start(t, []promtest.Target{{URL: envoy.URL + "/stats/prometheus", Labels: map[string]string{"namespace": "edge", "pod": fleet.Pods[0]}}},
		promtest.Options{ScrapeInterval: time.Second})
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total`, len(fleet.Clusters), 30*time.Second)

	s := tmuxtest.Start(t, 140, 30)
	s.Type(t, bin+" top --prometheus-url "+srv.URL()+" --window 15s --interval 1s")
	s.WaitFor(t, "rows with traffic", 30*time.Second, func(sc string) bool {
		return strings.Contains(sc, "shop_frontend_80") && strings.Contains(sc, "%")
	})

	srv.Stop()
	screen := s.WaitForText(t, "refresh failed", 15*time.Second)
	text := strings.Join(screen, "\n")
	if !strings.Contains(text, "shop_frontend_80") || !strings.Contains(text, "stale") {
		t.Errorf("the last good rows are gone or not marked stale during the outage:\n%s", text)
	}

	srv.Restart(t)
	s.WaitFor(t, "recovery", 45*time.Second, func(sc string) bool {
		return !strings.Contains(sc, "refresh failed") && !strings.Contains(sc, "stale") && strings.Contains(sc, "shop_frontend_80")
	})
	s.Keys(t, "q")
}

// checkLayout fails when the dashboard does not fit: the header must be the first row and the
// status line the last, which a line wider than the terminal would push down by wrapping.
func checkLayout(t *testing.T, screen []string, width, height int) {
	t.Helper()
	if len(screen) > height {
		t.Errorf("%d rows on a %d-row terminal", len(screen), height)
	}
	if !strings.HasPrefix(screen[0], "promteam top") {
		t.Errorf("first row is %q, not the header", screen[0])
	}
	last := screen[len(screen)-1]
	if !strings.Contains(last, footer) {
		t.Errorf("last row is %q, not the status line:\n%s", last, strings.Join(screen, "\n"))
	}
	for i, l := range screen {
		if n := len([]rune(l)); n > width {
			t.Errorf("row %d is %d columns wide on a %d-column terminal", i, n, width)
		}
	}
}
