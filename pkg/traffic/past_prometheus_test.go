//go:build e2e

package traffic_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// TestPastMatchesTheTruth writes the minutes around the same time an hour, a day and a week ago
// of a simulated fleet into a real Prometheus (promtool's back-fill): one cluster has a daily
// shape, another quadrupled its rate three days ago. The collector's Past at each offset matches
// the truth over the window that ended then (RPS 5%, success half a point, percentiles 12%), and
// Compare finds what the simulator changed: the quadrupling against a week ago and nothing
// against a day ago, and the daily shape's move against an hour ago.
func TestPastMatchesTheTruth(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	fleet := &envoysim.Fleet{
		Start: now.Add(-8 * day),
		Pods:  []string{"envoy-0", "envoy-1"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_frontend_80", RPS: 40, Daily: 0.6, ErrorRatio: 0.02, ClientErrorRatio: 0.02,
				Latency: envoysim.Latency{{Weight: 0.6, LoMs: 10, HiMs: 25}, {Weight: 0.25, LoMs: 25, HiMs: 50}, {Weight: 0.15, LoMs: 100, HiMs: 250}}},
			{Name: "shop_cart_8080", RPS: 20, ErrorRatio: 0.01, Latency: envoysim.Uniform(50, 100),
				Step: envoysim.Step{At: now.Add(-3 * day), Factor: 4}},
		},
	}
	if err := fleet.Validate(); err != nil {
		t.Fatal(err)
	}
	hist := &promtest.History{Fleet: fleet, From: now.Add(-10 * time.Minute), To: time.Now(), Step: 5 * time.Second}
	for _, off := range traffic.Offsets {
		hist.Earlier = append(hist.Earlier, promtest.Span{From: now.Add(-off - 10*time.Minute), To: now.Add(-off + 2*time.Minute)})
	}
	targets := promtest.ServeFleet(t, fleet, "edge")
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second, History: hist})
	client, err := prom.New(prom.Config{URL: srv.URL(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const window = time.Minute
	c, err := traffic.NewCollector(client, traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("edge"), Window: window})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	begin := time.Now()
	pasts, err := c.Past(ctx, now, traffic.Offsets)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pasts read in %s with %d queries", len(pasts), time.Since(begin).Round(time.Millisecond), c.PastQueries(len(traffic.Offsets)))
	frame, err := c.Frame(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	tol := truth.Issue
	near := func(got, want, rel float64) bool { return math.Abs(got-want) <= rel*want }
	for _, p := range pasts {
		for _, cl := range fleet.Clusters {
			r, ok := p.Rows[cl.Name]
			if !ok {
				t.Errorf("%s ago: no row of %s among %d", p.Offset, cl.Name, len(p.Rows))
				continue
			}
			checkNumbers(t, fmt.Sprintf("%s ago: %s", p.Offset, cl.Name), r.RPS, r.Success, r.P50, r.P90, r.P99,
				fleet.TruthBetween(cl, p.At.Add(-window), p.At), tol)
		}
	}

	changes := map[string][]traffic.Change{}
	for _, r := range frame.Rows {
		changes[r.Name] = traffic.Compare(r, pasts)
	}
	cart := changes["shop_cart_8080"]
	if len(cart) != 3 {
		t.Fatalf("shop_cart_8080: %d changes, want one per offset: %+v", len(cart), cart)
	}
	if b, _ := traffic.Biggest(cart); b.Offset != 7*day || b.Metric != traffic.MetricRPS || !near(b.Now/b.Then, 4, 2*tol.RPS) {
		t.Errorf("shop_cart_8080's biggest change is %+v, want its rps ×4 against a week ago", b)
	}
	for _, ch := range cart[:2] {
		if ch.Score > 0.1 {
			t.Errorf("shop_cart_8080 moved against %s ago: %+v", ch.Offset, ch)
		}
	}
	front := changes["shop_frontend_80"]
	if len(front) != 3 {
		t.Fatalf("shop_frontend_80: %d changes, want one per offset: %+v", len(front), front)
	}
	frontTruth, _ := fleet.Cluster("shop_frontend_80")
	wantRatio := fleet.TruthBetween(frontTruth, now.Add(-window), now).RPS /
		fleet.TruthBetween(frontTruth, now.Add(-time.Hour-window), now.Add(-time.Hour)).RPS
	i := rowIndex(frame, "shop_frontend_80")
	if i < 0 {
		t.Fatalf("no row of shop_frontend_80 now")
	}
	if got := frame.Rows[i].RPS / pasts[0].Rows["shop_frontend_80"].RPS; !near(got, wantRatio, 2*tol.RPS) {
		t.Errorf("shop_frontend_80 against an hour ago: rps ×%.3f, the daily shape says ×%.3f", got, wantRatio)
	}
	if ch := front[1]; ch.Offset != day || ch.Score > 0.1 {
		t.Errorf("shop_frontend_80 moved against a day ago: %+v (the daily shape repeats)", ch)
	}
}

// checkNumbers compares a cluster's numbers with the truth: RPS and the percentiles within tol's
// relative errors, success within its absolute one.
func checkNumbers(t *testing.T, what string, rps, success, p50, p90, p99 float64, want envoysim.Truth, tol truth.Tolerance) {
	t.Helper()
	near := func(got, want, rel float64) bool { return math.Abs(got-want) <= rel*want }
	if !near(rps, want.RPS, tol.RPS) {
		t.Errorf("%s: rps %v, truth %v", what, rps, want.RPS)
	}
	if math.Abs(success-want.Success) > tol.Success {
		t.Errorf("%s: success %v, truth %v", what, success, want.Success)
	}
	for _, q := range []struct {
		name      string
		got, want float64
	}{{"p50", p50, want.P50}, {"p90", p90, want.P90}, {"p99", p99, want.P99}} {
		if !near(q.got, q.want, tol.Quantile) {
			t.Errorf("%s: %s %v, truth %v", what, q.name, q.got, q.want)
		}
	}
}

func rowIndex(f traffic.Frame, name string) int {
	for i, r := range f.Rows {
		if r.Name == name {
			return i
		}
	}
	return -1
}
