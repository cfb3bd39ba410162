package traffic_test

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/demo"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// TestVirtualHostsAddUpToTheTruth reads the simulated gateway's virtual host statistics with
// Prometheus' PromQL engine (the demo's): a row per virtual cluster and per counted route, named
// as Envoy names them, whose rate, error rates, success ratio and percentiles are those of all
// the requests it matched (the two clusters behind the virtual cluster checkout summed, not
// averaged); the cluster outside every virtual cluster has no row. The drill-down of a virtual
// cluster reads its own statistics: its pods, status codes and timeouts. Recording rules and
// other dialects are refused with the reason.
func TestVirtualHostsAddUpToTheTruth(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	fleet := envoysim.VirtualHostsFleet(now.Add(-time.Hour))
	q, err := demo.NewWithOptions(now, demo.Options{Fleet: fleet})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	v1, _ := fleet.Cluster("checkout_v1_8080")
	v2, _ := fleet.Cluster("checkout_v2_8080")
	group := envoysim.GroupTruth(v1, v2)
	if mean := (v1.Truth().P99 + v2.Truth().P99) / 2; math.Abs(mean-group.P99)/group.P99 <= truth.Issue.Quantile {
		t.Fatalf("the fleet cannot tell an average p99 (%v) from the group's (%v)", mean, group.P99)
	}

	cfg := traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace(demo.Namespace),
		Window: 5 * time.Minute, GroupBy: traffic.GroupByVhost}
	c, err := traffic.NewCollector(q, cfg)
	if err != nil {
		t.Fatal(err)
	}
	snap := snapshotAt(t, c, now)
	if snap.GroupBy != "vhost" {
		t.Errorf("group_by = %q", snap.GroupBy)
	}
	truth.CheckGroups(t, snap, fleet, envoysim.VirtualHostGroups(), truth.Issue)
	for _, r := range snap.Rows {
		if r.Service != nil || r.Route != "" {
			t.Errorf("row %q names service %v, route %q: a virtual cluster names neither", r.Name, *r.Service, r.Route)
		}
	}

	d, err := c.Detail(context.Background(), now, "vhost.shop.vcluster.checkout")
	if err != nil {
		t.Fatal(err)
	}
	var pods float64
	for _, p := range d.Pods {
		pods += p.RPS
	}
	if len(d.Pods) != len(fleet.Pods) || math.Abs(pods-group.RPS)/group.RPS > truth.Issue.RPS {
		t.Errorf("drill-down: %d pods with %v requests/s in all, want %d with %v", len(d.Pods), pods, len(fleet.Pods), group.RPS)
	}
	codes := map[string]float64{}
	for _, s := range d.Codes {
		codes[s.Label] = s.RPS
	}
	if want := v1.RPS*v1.ClientErrorRatio + v2.RPS*v2.ClientErrorRatio; math.Abs(codes["404"]-want) > 0.05*want {
		t.Errorf("drill-down: 404s at %v/s, want %v (codes %v)", codes["404"], want, codes)
	}
	if want := v1.RPS * v1.TimeoutRatio; math.Abs(d.Timeouts-want) > 0.1*want {
		t.Errorf("drill-down: timeouts at %v/s, want %v", d.Timeouts, want)
	}
	if traffic.Known(d.MembersTotal) || traffic.Known(d.PendingOverflow) {
		t.Errorf("drill-down: membership %v, pending overflows %v: a virtual cluster has neither", d.MembersTotal, d.PendingOverflow)
	}
	if unknown, err := c.Detail(context.Background(), now, "checkout_v1_8080"); err != nil || len(unknown.Pods) != 0 {
		t.Errorf("drill-down of a cluster's name among virtual hosts: %v, %d pods; want nothing", err, len(unknown.Pods))
	}

	h, err := c.ClusterHistory(context.Background(), now, 2*time.Minute, 30*time.Second, "vhost.shop.route.cart")
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := h.Clusters["vhost.shop.route.cart"]
	cart, _ := fleet.Cluster("cart_8080")
	if !ok || len(h.Clusters) != 1 || math.Abs(tr.RPS[len(tr.RPS)-1]-cart.RPS)/cart.RPS > truth.Issue.RPS {
		t.Errorf("chart of the route: %v, want only vhost.shop.route.cart ending at %v requests/s", h.Clusters, cart.RPS)
	}

	for _, bad := range []traffic.Config{
		{Dialect: promql.DialectEnvoy, Selector: cfg.Selector, Window: time.Minute, GroupBy: traffic.GroupByVhost, Source: traffic.SourceRules},
		{Dialect: promql.DialectIstio, Selector: cfg.Selector, Window: time.Minute, GroupBy: traffic.GroupByVhost},
		{Dialect: promql.DialectIstioStandard, Selector: cfg.Selector, Window: time.Minute, GroupBy: traffic.GroupByVhost},
	} {
		if _, err := traffic.NewCollector(q, bad); err == nil || !strings.Contains(err.Error(), "virtual host") {
			t.Errorf("%s dialect, source %q: error %v, want one about virtual hosts", bad.Dialect.Name, bad.Source, err)
		}
	}
}

// snapshotAt refreshes c at instant at and reads the frame back as `top -o json` prints it.
func snapshotAt(t *testing.T, c *traffic.Collector, at time.Time) truth.Snapshot {
	t.Helper()
	f, err := c.Frame(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := traffic.RenderJSON(&b, f); err != nil {
		t.Fatal(err)
	}
	return truth.Decode(t, b.Bytes())
}
