//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/rulefile"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/thanostest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// shardZones are the two halves of the Envoy fleet of TestShardedRecordingRulesAddUp, one per
// shard. envoysim's pods of one Fleet are identical, and the quantiles of identical halves would
// average right by chance; here the halves differ, as Envoys in two zones do that call
// zone-local endpoints: the same upstream clusters, with other rates, errors and latencies.
// Latency segments end on Envoy's bucket bounds, so histogram_quantile is exact.
func shardZones(start time.Time) [2]*envoysim.Fleet {
	return [2]*envoysim.Fleet{
		{Start: start, Pods: []string{"envoy-a-0", "envoy-a-1"}, Clusters: []envoysim.Cluster{
			{Name: "shop_checkout_8080", RPS: 40, ErrorRatio: 0.002, Active: 2,
				Latency: envoysim.Latency{{Weight: 0.9, LoMs: 10, HiMs: 25}, {Weight: 0.1, LoMs: 25, HiMs: 50}}},
			{Name: "shop_cart_8080", RPS: 20, ErrorRatio: 0.01, Latency: envoysim.Uniform(5, 10)},
			{Name: "shop_search_8080", RPS: 15, Latency: envoysim.Uniform(25, 50)},
		}},
		{Start: start, Pods: []string{"envoy-b-0"}, Clusters: []envoysim.Cluster{
			{Name: "shop_checkout_8080", RPS: 12, ErrorRatio: 0.2, Active: 5,
				Latency: envoysim.Latency{{Weight: 0.5, LoMs: 250, HiMs: 500}, {Weight: 0.5, LoMs: 500, HiMs: 1000}}},
			{Name: "shop_cart_8080", RPS: 20, ErrorRatio: 0.01, Latency: envoysim.Uniform(5, 10)},
		}},
	}
}

// TestShardedRecordingRulesAddUp runs the stack's own recording rules (rulefile.Write of
// `create --shards 2 --thanos`) in two real Prometheus 3 servers, each scraping one half of an
// Envoy fleet with the external labels the stack gives its shards (prometheus_shard as the
// operator's config-reloader fills it in, and the operator's prometheus_replica), each with a
// Thanos sidecar, and a Thanos Query over both that deduplicates on prometheus_replica, as the
// stack's does. A third Prometheus scrapes the whole fleet and evaluates the same rules: what an
// unsharded stack records. The rules' 5m windows are not full during the test, but the three
// servers started together, so their rates are the truth times the same share of the window
// (see TestTopReadsTheRecordingRules), which the comparison cancels out.
//
// Read through the Query, top's rules refresh (the real collector, over pkg/prom) must show what
// the same refresh shows from the unsharded Prometheus, within top's tolerances: requests and
// in-flight within 5%, success within half a point, percentiles within 12%. The old rules, which
// recorded each shard's ratio and quantiles, would have shown the shards' average: the test
// computes that average from the same recorded buckets and requires it to be wrong for the
// cluster whose halves differ, so that it can tell the two apart. A Query that also takes
// prometheus_shard for a replica label, as one would treat shards that carry no label of their
// own, must lose traffic.
func TestShardedRecordingRulesAddUp(t *testing.T) {
	t.Parallel()
	prometheus3 := tools.Path(t, "prometheus3")
	zones := shardZones(time.Now().Add(-2 * time.Hour))

	spec := manifests.DefaultTeamSpec("team-a", "team-a")
	spec.Shards = 2
	spec.Thanos.Enabled = true
	st, err := manifests.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	var external map[string]string
	for _, o := range st.Objects {
		if p, ok := o.(*monitoringv1.Prometheus); ok {
			external = p.Spec.ExternalLabels
		}
	}
	if external[manifests.ShardExternalLabel] != "$(SHARD)" {
		t.Fatalf("the sharded stack's external labels %v do not tell the shards apart", external)
	}
	rules := rulefile.Write(t, spec, 0)

	// shardLabels are the external labels of one shard's first pod once the operator's
	// config-reloader has replaced $(SHARD) and $(POD_NAME) in the configuration.
	shardLabels := func(shard int) map[string]string {
		pod := fmt.Sprintf("prometheus-team-a-shard-%d-0", shard)
		if shard == 0 {
			pod = "prometheus-team-a-0"
		}
		out := map[string]string{"prometheus_replica": pod}
		for k, v := range external {
			out[k] = strings.NewReplacer("$(SHARD)", fmt.Sprint(shard), "$(POD_NAME)", pod).Replace(v)
		}
		return out
	}

	// The three servers start back to back, the unsharded one between the shards, so that their
	// windows hold samples for about as long; the sidecars come after.
	targets := [2][]promtest.Target{promtest.ServeFleet(t, zones[0], "edge"), promtest.ServeFleet(t, zones[1], "edge")}
	start := func(targets []promtest.Target, external map[string]string) *promtest.Server {
		return promtest.Start(t, targets, promtest.Options{Binary: prometheus3, ExternalLabels: external, RuleFiles: []string{rules}})
	}
	shards := [2]*promtest.Server{start(targets[0], shardLabels(0))}
	whole := start(append(slices.Clone(targets[0]), targets[1]...), map[string]string{"team": "team-a"})
	shards[1] = start(targets[1], shardLabels(1))
	var endpoints []string
	for i, srv := range shards {
		sidecar := thanostest.StartSidecar(t, fmt.Sprintf("shard %d", i), srv.URL(), srv.DataDir(), thanostest.SidecarOptions{})
		endpoints = append(endpoints, sidecar.GRPC)
	}
	query := thanostest.StartQuery(t, endpoints, thanostest.QueryOptions{ReplicaLabels: []string{"prometheus_replica"}})
	merged := thanostest.StartQuery(t, endpoints, thanostest.QueryOptions{ReplicaLabels: []string{"prometheus_replica", manifests.ShardExternalLabel}})
	thanostest.WaitForStores(t, query.URL(), 2, time.Minute)
	thanostest.WaitForStores(t, merged.URL(), 2, time.Minute)

	clusters := map[string]bool{}
	for _, f := range zones {
		for _, c := range f.Clusters {
			clusters[c.Name] = true
		}
	}
	whole.WaitForSeries(t, promql.RecordLatencyBucketsMs+`{le="+Inf"}`, len(clusters), time.Minute)
	// A minute of samples: a request more or less in a bucket moves nothing by a percent.
	time.Sleep(time.Minute)

	ctx := context.Background()
	at := time.Now()
	read := func(url string) map[string]traffic.Row {
		t.Helper()
		client, err := prom.New(prom.Config{URL: url, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c, err := traffic.NewCollector(client, traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("edge"), Source: traffic.SourceRules})
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.Frame(ctx, at)
		if err != nil {
			t.Fatalf("rules refresh from %s: %v", url, err)
		}
		if len(f.Warnings) > 0 {
			t.Errorf("rules refresh from %s: warnings %q", url, f.Warnings)
		}
		rows := map[string]traffic.Row{}
		for _, r := range f.Rows {
			rows[r.Name] = r
		}
		return rows
	}
	want, got := read(whole.URL()), read(query.URL())
	if len(want) != len(clusters) || len(got) != len(clusters) {
		t.Fatalf("%d rows unsharded, %d through the Query, for %d clusters", len(want), len(got), len(clusters))
	}
	relative := func(a, b float64) float64 { return math.Abs(a-b) / math.Abs(b) }
	for name := range clusters {
		w, g := want[name], got[name]
		for _, f := range []struct {
			field     string
			got, want float64
			tolerance float64
			absolute  bool
		}{
			{"rps", g.RPS, w.RPS, 0.05, false},
			{"success", g.Success, w.Success, 0.005, true},
			{"p50", g.P50, w.P50, 0.12, false},
			{"p90", g.P90, w.P90, 0.12, false},
			{"p99", g.P99, w.P99, 0.12, false},
		} {
			if !traffic.Known(f.got) || !traffic.Known(f.want) {
				t.Errorf("%s %s: %v through the Query, %v unsharded", name, f.field, f.got, f.want)
				continue
			}
			off := relative(f.got, f.want)
			if f.absolute {
				off = math.Abs(f.got - f.want)
			}
			if off > f.tolerance {
				t.Errorf("%s %s: %v through the Query, %v unsharded (off by %.3g)", name, f.field, f.got, f.want, off)
			}
		}
		t.Logf("%s: rps %.2f / %.2f, success %.4f / %.4f, p50 %.1f / %.1f ms, p99 %.1f / %.1f ms (Query / unsharded)",
			name, g.RPS, w.RPS, g.Success, w.Success, g.P50, w.P50, g.P99, w.P99)
	}
	if g, w := got["shop_checkout_8080"].Active, want["shop_checkout_8080"].Active; g != w || g != 7 {
		t.Errorf("shop_checkout_8080 in flight: %v through the Query, %v unsharded, want 7", g, w)
	}

	// What the old rules would have shown: each shard's own success ratio and quantiles, averaged
	// by the reader. Computed here from the same recorded sums, per shard.
	perShard := []string{manifests.ShardExternalLabel, promql.LabelCluster}
	rate := func(record string) string {
		return fmt.Sprintf(`sum by (%s) (%s{namespace="edge"})`, strings.Join(perShard, ", "), record)
	}
	averaged := func(expr string) map[string]float64 {
		t.Helper()
		out := map[string]float64{}
		for _, s := range queryThanos(t, query.URL(), fmt.Sprintf("avg by (%s) (%s)", promql.LabelCluster, expr), at) {
			out[s.Metric.Get(promql.LabelCluster)] = s.Value
		}
		return out
	}
	avgSuccess := averaged(rate(promql.RecordNot5xxRate) + " / " + rate(promql.RecordResponseRate))
	quantile := func(q float64) map[string]float64 {
		return averaged(fmt.Sprintf(`histogram_quantile(%g, sum by (%s, le) (%s{namespace="edge"}))`, q, strings.Join(perShard, ", "), promql.RecordLatencyBucketsMs))
	}
	avgP50, avgP99 := quantile(0.5), quantile(0.99)
	checkout := want["shop_checkout_8080"]
	successOff := math.Abs(avgSuccess["shop_checkout_8080"] - checkout.Success)
	p50Off, p99Off := relative(avgP50["shop_checkout_8080"], checkout.P50), relative(avgP99["shop_checkout_8080"], checkout.P99)
	t.Logf("averaging the shards' own numbers for shop_checkout_8080: success %.4f (off by %.2f points), p50 %.1f ms (off by %.0f%%), p99 %.1f ms (off by %.0f%%)",
		avgSuccess["shop_checkout_8080"], successOff*100, avgP50["shop_checkout_8080"], p50Off*100, avgP99["shop_checkout_8080"], p99Off*100)
	if successOff <= 0.005 || p50Off <= 0.12 {
		t.Errorf("averaging the shards' success ratios and p50 would pass for shop_checkout_8080 (off by %.3g points and %.3g): the test cannot tell sums from averages", successOff*100, p50Off)
	}
	// Where both halves carry the same traffic, the average happens to be right.
	if off := relative(avgP50["shop_cart_8080"], want["shop_cart_8080"].P50); off > 0.12 {
		t.Errorf("shop_cart_8080 is the same in both shards, yet the shards' p50 average is off by %.3g", off)
	}

	// Without a label of their own the shards look like replicas of each other: the Query keeps
	// one shard's series of each cluster and drops the other's traffic.
	lost := queryThanos(t, merged.URL(), fmt.Sprintf(`sum by (%s) (%s{namespace="edge"})`, promql.LabelCluster, promql.RecordRequestRate), at)
	lostRPS := map[string]float64{}
	for _, s := range lost {
		lostRPS[s.Metric.Get(promql.LabelCluster)] = s.Value
	}
	for _, name := range []string{"shop_checkout_8080", "shop_cart_8080"} {
		if rps := lostRPS[name]; rps > 0.9*want[name].RPS {
			t.Errorf("%s: %v requests/s through a Query that takes the shard label for a replica label, %v unsharded: the shards were not merged as replicas", name, rps, want[name].RPS)
		}
		t.Logf("%s: %.2f requests/s when the shards look like replicas, %.2f unsharded (%.0f%% lost)", name, lostRPS[name], want[name].RPS, 100*(1-lostRPS[name]/want[name].RPS))
	}
}

// queryThanos runs an instant query against a Thanos Query at instant at, through pkg/prom.
func queryThanos(t *testing.T, url, expr string, at time.Time) traffic.Vector {
	t.Helper()
	client, err := prom.New(prom.Config{URL: url, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Query(context.Background(), expr, at)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return res.Vector
}
