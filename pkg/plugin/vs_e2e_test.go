//go:build e2e

package plugin

import (
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tmuxtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// TestDashboardComparesWithThePastInARealTerminal runs the real binary in tmux against a real
// Prometheus holding the minutes around the same time an hour, a day and a week ago: v shows a
// column per offset, puts first the cluster that quadrupled its traffic three days ago, with its
// move against a week ago marked as its biggest, and v again brings the trends back.
func TestDashboardComparesWithThePastInARealTerminal(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	fleet := &envoysim.Fleet{
		Start: now.Add(-8 * day),
		Pods:  []string{"envoy-0", "envoy-1"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_frontend_80", RPS: 60, ErrorRatio: 0.001, Latency: envoysim.Uniform(10, 25)},
			{Name: "shop_cart_8080", RPS: 20, ErrorRatio: 0.001, Latency: envoysim.Uniform(50, 100),
				Step: envoysim.Step{At: now.Add(-3 * day), Factor: 4}},
		},
	}
	if err := fleet.Validate(); err != nil {
		t.Fatal(err)
	}
	hist := &promtest.History{Fleet: fleet, From: now.Add(-10 * time.Minute), To: time.Now(), Step: 5 * time.Second}
	for _, off := range traffic.Offsets {
		// Enough past for the refreshes of the next minutes too.
		hist.Earlier = append(hist.Earlier, promtest.Span{From: now.Add(-off - 10*time.Minute), To: now.Add(-off + 5*time.Minute)})
	}
	srv := promtest.Start(t, promtest.ServeFleet(t, fleet, "edge"), promtest.Options{ScrapeInterval: time.Second, History: hist})

	s := tmuxtest.Start(t, 160, 30)
	s.Type(t, bin+" top --prometheus-url "+srv.URL()+" --envoy-namespace edge --window 1m --interval 1s")
	s.WaitForText(t, "RPS TREND", 20*time.Second)
	// The first windows straddle the end of the back-filled past and the live scrapes.
	waitRPS(t, s, "shop_cart_8080", 80)
	s.Keys(t, "v")
	screen := s.WaitFor(t, "the comparison", 20*time.Second, func(sc string) bool {
		return strings.Contains(sc, "VS 1W") && strings.Contains(sc, "biggest move first") && strings.Contains(sc, "rps ×")
	})
	var rows []string
	for _, l := range screen {
		if strings.Contains(l, "shop_") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2 || !strings.Contains(rows[0], "shop_cart_8080") {
		t.Fatalf("the cart, whose traffic quadrupled, is not first:\n%s", strings.Join(screen, "\n"))
	}
	// Its cells against an hour and a day ago show no notable move; against a week ago ×4,
	// marked as its biggest (×3.8 to ×4.2 within the tolerances).
	cart := rows[0]
	if !strings.Contains(cart, "rps ×3.8*") && !strings.Contains(cart, "rps ×3.9*") && !strings.Contains(cart, "rps ×4.0*") &&
		!strings.Contains(cart, "rps ×4.1*") && !strings.Contains(cart, "rps ×4.2*") {
		t.Errorf("the cart's move against a week ago is not ×4, marked: %q", cart)
	}
	if strings.Count(cart, "*") != 1 || strings.Contains(rows[1], "*") {
		t.Errorf("one biggest move is marked, the cart's: %q / %q", cart, rows[1])
	}
	s.Keys(t, "v")
	s.WaitForText(t, "RPS TREND", 10*time.Second)
	s.Keys(t, "q")
}
