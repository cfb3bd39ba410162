package traffic_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/demo"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// routeGroups are the rows of envoysim.RoutesFleet grouped by route, and the clusters each sums.
var routeGroups = map[string][]string{
	"httproute/team-a/checkout": {"httproute/team-a/checkout/rule/0", "httproute/team-a/checkout/rule/1"},
	"grpcroute/team-a/echo":     {"grpcroute/team-a/echo/rule/0"},
	"team-b_cart_8080":          {"team-b_cart_8080"},
}

// TestRoutesAddUpToTheTruth runs the grouped queries with Prometheus' PromQL engine over the
// simulated gateway (the demo's engine, which also evaluates the stack's recording rules), from
// Envoy's own series and from the recording rules: the two rules of team-a/checkout are one row
// whose rate, error rates, success ratio and percentiles are within the issue's tolerances of
// the truth of all their requests; averaging the rules' ratios and percentiles would be off by
// more than the tolerance, so the check tells a sum from an average. The rows are named by route,
// the drill-down of a route reads every cluster of its rules, and so does its chart.
func TestRoutesAddUpToTheTruth(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	fleet := envoysim.RoutesFleet(now.Add(-time.Hour))
	q, err := demo.NewWithOptions(now, demo.Options{Fleet: fleet})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()

	rule0, _ := fleet.Cluster("httproute/team-a/checkout/rule/0")
	rule1, _ := fleet.Cluster("httproute/team-a/checkout/rule/1")
	group := envoysim.GroupTruth(rule0, rule1)
	t0, t1 := rule0.Truth(), rule1.Truth()
	if mean := (t0.P99 + t1.P99) / 2; math.Abs(mean-group.P99)/group.P99 <= truth.Issue.Quantile {
		t.Fatalf("the fleet cannot tell an average p99 (%v) from the group's (%v)", mean, group.P99)
	}
	if mean := (t0.Success + t1.Success) / 2; math.Abs(mean-group.Success) <= truth.Issue.Success {
		t.Fatalf("the fleet cannot tell an average success (%v) from the group's (%v)", mean, group.Success)
	}

	for _, src := range []traffic.Source{traffic.SourceRaw, traffic.SourceRules} {
		t.Run(string(src), func(t *testing.T) {
			c, err := traffic.NewCollector(q, traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace(demo.Namespace),
				Window: 5 * time.Minute, Source: src, GroupBy: traffic.GroupByRoute})
			if err != nil {
				t.Fatal(err)
			}
			snap := snapshotAt(t, c, now)
			if snap.GroupBy != "route" {
				t.Errorf("group_by = %q", snap.GroupBy)
			}
			truth.CheckGroups(t, snap, fleet, routeGroups, truth.Issue)
			names := map[string]string{}
			for _, r := range snap.Rows {
				names[r.Name] = r.Route
			}
			for name, want := range map[string]string{
				"httproute/team-a/checkout": "team-a/checkout", "grpcroute/team-a/echo": "GRPCRoute team-a/echo", "team-b_cart_8080": "team-b/cart:8080",
			} {
				if names[name] != want {
					t.Errorf("row %q is named %q, want %q", name, names[name], want)
				}
			}

			d, err := c.Detail(context.Background(), now, "httproute/team-a/checkout")
			if err != nil {
				t.Fatal(err)
			}
			var pods float64
			for _, p := range d.Pods {
				pods += p.RPS
			}
			if len(d.Pods) != len(fleet.Pods) || math.Abs(pods-group.RPS)/group.RPS > truth.Issue.RPS {
				t.Errorf("drill-down of the route: %d pods with %v requests/s in all, want %d with %v", len(d.Pods), pods, len(fleet.Pods), group.RPS)
			}
			h, err := c.ClusterHistory(context.Background(), now, 2*time.Minute, 30*time.Second, "httproute/team-a/checkout")
			if err != nil {
				t.Fatal(err)
			}
			tr, ok := h.Clusters["httproute/team-a/checkout"]
			if !ok || len(h.Clusters) != 1 {
				t.Fatalf("chart of the route: %v", h.Clusters)
			}
			if last := tr.RPS[len(tr.RPS)-1]; math.Abs(last-group.RPS)/group.RPS > truth.Issue.RPS {
				t.Errorf("chart of the route ends at %v requests/s, want %v", last, group.RPS)
			}
		})
	}
}
