//go:build e2e

package traffic_test

import (
	"context"
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

// TestRoutesAgainstARealPrometheus lets a real Prometheus hold 20 minutes of the simulated
// gateway (back-filled with promtool, then scraped live) and reads it grouped by route: the two
// rules of the HTTPRoute team-a/checkout are one row, named as its user wrote it, whose rate,
// 4xx and 5xx rates, success ratio and percentiles are within the issue's tolerances of the truth
// of all their requests (envoysim.GroupTruth); the GRPCRoute and the Contour upstream are rows of
// their own. A row per cluster, from the same Prometheus, names every rule by its route and
// agrees with each cluster's truth, so the grouping changed which requests a row counts and
// nothing else; both send as many queries.
func TestRoutesAgainstARealPrometheus(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	fleet := envoysim.RoutesFleet(now.Add(-20 * time.Minute))
	if err := fleet.Validate(); err != nil {
		t.Fatal(err)
	}
	targets := promtest.ServeFleet(t, fleet, "gateway")
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second,
		History: &promtest.History{Fleet: fleet, From: fleet.Start, To: now, Step: 5 * time.Second}})
	client, err := prom.New(prom.Config{URL: srv.URL(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	read := func(group traffic.GroupBy) (truth.Snapshot, int) {
		t.Helper()
		c, err := traffic.NewCollector(client, traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("gateway"),
			Window: 2 * time.Minute, GroupBy: group})
		if err != nil {
			t.Fatal(err)
		}
		return snapshotAt(t, c, now), len(c.Queries())
	}

	grouped, n := read(traffic.GroupByRoute)
	if grouped.GroupBy != "route" {
		t.Errorf("group_by = %q", grouped.GroupBy)
	}
	truth.CheckGroups(t, grouped, fleet, map[string][]string{
		"httproute/team-a/checkout": {"httproute/team-a/checkout/rule/0", "httproute/team-a/checkout/rule/1"},
		"grpcroute/team-a/echo":     {"grpcroute/team-a/echo/rule/0"},
		"team-b_cart_8080":          {"team-b_cart_8080"},
	}, truth.Issue)
	routes := map[string]string{}
	for _, r := range grouped.Rows {
		routes[r.Name] = r.Route
	}
	for name, want := range map[string]string{
		"httproute/team-a/checkout": "team-a/checkout", "grpcroute/team-a/echo": "GRPCRoute team-a/echo", "team-b_cart_8080": "team-b/cart:8080",
	} {
		if routes[name] != want {
			t.Errorf("grouped row %q is named %q, want %q", name, routes[name], want)
		}
	}
	// The group's success and p99 are those of all its requests: not what averaging the rules'
	// would give, which the tolerances tell apart.
	r0, _ := fleet.Cluster("httproute/team-a/checkout/rule/0")
	r1, _ := fleet.Cluster("httproute/team-a/checkout/rule/1")
	for _, r := range grouped.Rows {
		if r.Name != "httproute/team-a/checkout" || r.P99 == nil || r.SuccessRate == nil {
			continue
		}
		if mean := (r0.Truth().P99 + r1.Truth().P99) / 2; math.Abs(*r.P99-mean)/mean <= truth.Issue.Quantile {
			t.Errorf("p99 %v is the rules' average p99 %v", *r.P99, mean)
		}
	}

	flat, m := read(traffic.GroupByCluster)
	if flat.GroupBy != "cluster" || m != n {
		t.Errorf("a row per cluster: group_by %q, %d queries (grouped: %d)", flat.GroupBy, m, n)
	}
	truth.Check(t, flat, fleet, truth.Issue)
	for _, r := range flat.Rows {
		want := map[string]string{
			"httproute/team-a/checkout/rule/0": "team-a/checkout rule 0", "httproute/team-a/checkout/rule/1": "team-a/checkout rule 1",
			"grpcroute/team-a/echo/rule/0": "GRPCRoute team-a/echo rule 0", "team-b_cart_8080": "",
		}[r.Name]
		if r.Route != want {
			t.Errorf("row %q is named %q, want %q", r.Name, r.Route, want)
		}
	}
}

// TestVirtualHostsAgainstARealPrometheus lets a real Prometheus hold the simulated gateway's
// virtual host statistics and reads a row per virtual cluster and route: each matches the truth
// of all the requests of its clusters, with as many queries as a row per cluster sends, and the
// drill-down of the virtual cluster checkout counts both its clusters' requests.
func TestVirtualHostsAgainstARealPrometheus(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	fleet := envoysim.VirtualHostsFleet(now.Add(-20 * time.Minute))
	targets := promtest.ServeFleet(t, fleet, "gateway")
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second,
		History: &promtest.History{Fleet: fleet, From: fleet.Start, To: now, Step: 5 * time.Second}})
	client, err := prom.New(prom.Config{URL: srv.URL(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("gateway"), Window: 2 * time.Minute}
	flat, err := traffic.NewCollector(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.GroupBy = traffic.GroupByVhost
	c, err := traffic.NewCollector(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Queries()) != len(flat.Queries()) {
		t.Errorf("%d queries by virtual host, %d by cluster", len(c.Queries()), len(flat.Queries()))
	}
	snap := snapshotAt(t, c, now)
	if snap.GroupBy != "vhost" {
		t.Errorf("group_by = %q", snap.GroupBy)
	}
	truth.CheckGroups(t, snap, fleet, envoysim.VirtualHostGroups(), truth.Issue)

	d, err := c.Detail(context.Background(), now, "vhost.shop.vcluster.checkout")
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := fleet.Cluster("checkout_v1_8080")
	v2, _ := fleet.Cluster("checkout_v2_8080")
	want := envoysim.GroupTruth(v1, v2).RPS
	var pods float64
	for _, p := range d.Pods {
		pods += p.RPS
	}
	if len(d.Pods) != len(fleet.Pods) || math.Abs(pods-want)/want > truth.Issue.RPS {
		t.Errorf("drill-down: %d pods with %v requests/s in all, want %d with %v", len(d.Pods), pods, len(fleet.Pods), want)
	}
}
