package demo

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// istioFleet is a default Istio installation's view of five destination services: latency
// segments on the bucket bounds, one service outside Kubernetes and one without latency.
func istioFleet() *envoysim.Fleet {
	return &envoysim.Fleet{
		Start: now.Add(-time.Hour),
		Pods:  []string{"client-a", "client-b"},
		Clusters: []envoysim.Cluster{
			{Name: "reviews.default.svc.cluster.local", RPS: 40, ErrorRatio: 0.05, ClientErrorRatio: 0.1, TimeoutRatio: 0.01,
				Latency: envoysim.Latency{{Weight: 0.6, LoMs: 10, HiMs: 25}, {Weight: 0.3, LoMs: 25, HiMs: 50}, {Weight: 0.1, LoMs: 100, HiMs: 250}}},
			{Name: "ratings.shop.svc.cluster.local", RPS: 12, Latency: envoysim.Uniform(1, 5)},
			{Name: "api.example.com", RPS: 5, ErrorRatio: 0.2, Latency: envoysim.Uniform(100, 250)},
			{Name: "details.shop.svc.cluster.local", RPS: 6},
		},
	}
}

func istioDemo(t *testing.T, f *envoysim.Fleet, presets ...manifests.Preset) *Querier {
	t.Helper()
	opts := Options{Fleet: f, Dialect: envoysim.IstioStandard}
	if len(presets) > 0 {
		spec := manifests.DefaultTeamSpec("demo", Namespace)
		spec.Presets = presets
		opts.stack = &spec
	}
	q, err := NewWithOptions(now, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// TestIstioStandardMetricsGiveTheTruth runs top's collector, with the queries it sends a real
// Prometheus, over a default Istio installation's metrics in the PromQL engine: the dialect is
// found on its own (the sidecars' xds-grpc statistics notwithstanding), every destination
// service is a row with the truth's numbers and the Service Istio names, requests in flight
// are null, the listeners are the destination workloads, and the drill-down has classes, codes,
// pods and buckets but none of Envoy's own statistics.
func TestIstioStandardMetricsGiveTheTruth(t *testing.T) {
	f := istioFleet()
	q := istioDemo(t, f)
	src := traffic.NewAuto(q, traffic.Config{Selector: promql.Namespace(Namespace), Window: time.Minute})
	frame, err := src.Frame(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if frame.Dialect != promql.DialectIstioStandard.Name {
		t.Fatalf("discovered dialect %s, want %s", frame.Dialect, promql.DialectIstioStandard.Name)
	}
	var b bytes.Buffer
	if err := traffic.RenderJSON(&b, frame); err != nil {
		t.Fatal(err)
	}
	snap := truth.Decode(t, b.Bytes())
	if len(snap.Rows) != len(f.Clusters) {
		t.Errorf("%d rows for %d services", len(snap.Rows), len(f.Clusters))
	}
	truth.Check(t, snap, f, truth.Tolerance{RPS: 0.02, Success: 0.005, Quantile: 0.02})
	services := map[string]string{
		"reviews.default.svc.cluster.local": "default/reviews", "ratings.shop.svc.cluster.local": "shop/ratings",
		"details.shop.svc.cluster.local": "shop/details", "api.example.com": "",
	}
	for _, r := range frame.Rows {
		if r.Namespace+"/"+r.Service != services[r.Name] && (r.Service != "" || services[r.Name] != "") {
			t.Errorf("%s is Service %s/%s, want %q", r.Name, r.Namespace, r.Service, services[r.Name])
		}
		if !math.IsNaN(r.Active) {
			t.Errorf("%s has %v requests in flight: Istio's metrics have no such number", r.Name, r.Active)
		}
	}
	for _, r := range snap.Rows {
		if r.ActiveRequests != nil {
			t.Errorf("%s active_requests = %v, want null", r.Name, *r.ActiveRequests)
		}
	}

	// The listeners: what each destination workload's sidecar received.
	listeners := map[string]traffic.Listener{}
	for _, l := range frame.Listeners {
		listeners[l.Prefix] = l
	}
	if len(listeners) != len(f.Clusters) {
		t.Errorf("listeners %+v, want one per destination workload", frame.Listeners)
	}
	for _, c := range f.Clusters {
		d := envoysim.IstioDestinationOf(c.Name)
		l, ok := listeners[d.Namespace+"/"+d.Workload]
		want := c.Truth()
		if !ok || math.Abs(l.RPS-want.RPS) > 0.02*want.RPS || math.Abs(l.Success-want.Success) > 0.005 {
			t.Errorf("listener %s/%s = %+v, want %v rps, success %v", d.Namespace, d.Workload, l, want.RPS, want.Success)
		}
	}

	det, err := src.Detail(context.Background(), now, "reviews.default.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	shares := func(s []traffic.Share) map[string]float64 {
		m := map[string]float64{}
		for _, x := range s {
			m[x.Label] = x.RPS
		}
		return m
	}
	classes, codes := shares(det.Classes), shares(det.Codes)
	if len(classes) != 3 || math.Abs(classes["5xx"]-2) > 0.1 || math.Abs(classes["4xx"]-4) > 0.1 || math.Abs(classes["2xx"]-34) > 0.5 {
		t.Errorf("classes %v, want 2xx 34, 4xx 4, 5xx 2", classes)
	}
	if len(codes) != 4 || math.Abs(codes["504"]-0.4) > 0.05 || math.Abs(codes["503"]-1.6) > 0.1 {
		t.Errorf("codes %v, want 200, 404, 503 1.6 and 504 0.4", codes)
	}
	if len(det.Pods) != len(f.Pods) || det.Pods[0].Pod != "client-a" || math.Abs(det.Pods[0].RPS-20) > 0.5 {
		t.Errorf("pods %+v, want the two callers at 20 rps each", det.Pods)
	}
	if len(det.Latency) != len(envoysim.BucketBounds())+1 {
		t.Errorf("%d latency buckets, want Istio's %d", len(det.Latency), len(envoysim.BucketBounds())+1)
	}
	for name, v := range map[string]float64{"timeouts": det.Timeouts, "retries": det.Retries, "members": det.MembersTotal, "ejections": det.EjectionsActive} {
		if !math.IsNaN(v) {
			t.Errorf("drill-down %s = %v: Istio's metrics have no such number", name, v)
		}
	}
}

// TestIstioStandardRulesAgreeWithRaw: the recording rules of `create --envoy istio` over the same
// metrics give the same rows as the raw queries: same names, the truth's numbers.
func TestIstioStandardRulesAgreeWithRaw(t *testing.T) {
	f := istioFleet()
	q := istioDemo(t, f, manifests.PresetIstio)
	for _, source := range []traffic.Source{traffic.SourceRules, traffic.SourceRaw} {
		src := traffic.NewAuto(q, traffic.Config{Selector: promql.Namespace(Namespace), Window: promql.RuleWindow, Source: source})
		frame, err := src.Frame(context.Background(), now)
		if err != nil {
			t.Fatalf("source %s: %v", source, err)
		}
		if frame.Source != source || frame.Dialect != promql.DialectIstioStandard.Name {
			t.Errorf("frame source %s dialect %s, want %s and %s", frame.Source, frame.Dialect, source, promql.DialectIstioStandard.Name)
		}
		var b bytes.Buffer
		if err := traffic.RenderJSON(&b, frame); err != nil {
			t.Fatal(err)
		}
		snap := truth.Decode(t, b.Bytes())
		if len(snap.Rows) != len(f.Clusters) {
			t.Errorf("source %s: %d rows for %d services", source, len(snap.Rows), len(f.Clusters))
		}
		truth.Check(t, snap, f, truth.Tolerance{RPS: 0.02, Success: 0.005, Quantile: 0.02})
		for _, r := range frame.Rows {
			if r.Name == "reviews.default.svc.cluster.local" && (r.Namespace != "default" || r.Service != "reviews") {
				t.Errorf("source %s: %s is Service %s/%s", source, r.Name, r.Namespace, r.Service)
			}
		}
	}
}

// TestIstioStandardCompare judges canaries on Istio's metrics: a canary service, and a canary
// version of one service (reviews@v2 against reviews@v1, one destination service split by
// subsets), each worse than its baseline, fail; an equal version passes.
func TestIstioStandardCompare(t *testing.T) {
	fast := envoysim.Latency{{Weight: 0.9, LoMs: 10, HiMs: 25}, {Weight: 0.1, LoMs: 25, HiMs: 50}}
	slow := envoysim.Latency{{Weight: 0.5, LoMs: 50, HiMs: 100}, {Weight: 0.5, LoMs: 100, HiMs: 250}}
	f := &envoysim.Fleet{
		Start: now.Add(-time.Hour),
		Pods:  []string{"client-a", "client-b"},
		Clusters: []envoysim.Cluster{
			{Name: "checkout.shop.svc.cluster.local", RPS: 40, ErrorRatio: 0.001, Latency: fast},
			{Name: "checkout-canary.shop.svc.cluster.local", RPS: 10, ErrorRatio: 0.08, Latency: slow},
			{Name: "outbound|9080|v1|reviews.shop.svc.cluster.local", RPS: 30, ErrorRatio: 0.001, Latency: fast},
			{Name: "outbound|9080|v2|reviews.shop.svc.cluster.local", RPS: 10, ErrorRatio: 0.08, Latency: slow},
			{Name: "outbound|9080|v3|reviews.shop.svc.cluster.local", RPS: 30, ErrorRatio: 0.001, Latency: fast},
		},
	}
	q := istioDemo(t, f)
	d, err := traffic.Discover(context.Background(), q, promql.Namespace(Namespace), now)
	if err != nil || d.Name != promql.DialectIstioStandard.Name {
		t.Fatalf("Discover = %s, %v", d.Name, err)
	}
	run := func(baseline, canary string) compare.Result {
		t.Helper()
		b, err := compare.ParseArm(baseline)
		if err != nil {
			t.Fatal(err)
		}
		c, err := compare.ParseArm(canary)
		if err != nil {
			t.Fatal(err)
		}
		res, err := compare.Run(context.Background(), q, compare.Config{
			Dialect: d, Selector: promql.Namespace(Namespace), Baseline: b, Canary: c,
			Window: 5 * time.Minute, Step: 30 * time.Second, Thresholds: compare.DefaultThresholds(),
		}, now)
		if err != nil {
			t.Fatalf("compare %s %s: %v", baseline, canary, err)
		}
		return res
	}
	checkArm := func(what string, s compare.ArmStats, c envoysim.Cluster) {
		t.Helper()
		if math.Abs(s.RPS-c.RPS) > 0.02*c.RPS || math.Abs(s.Success-(1-c.ErrorRatio)) > 0.005 ||
			math.Abs(s.P99-c.Quantile(0.99)) > 0.12*c.Quantile(0.99) {
			t.Errorf("%s: rps %v success %v p99 %v, want %v, %v, %v", what, s.RPS, s.Success, s.P99, c.RPS, 1-c.ErrorRatio, c.Quantile(0.99))
		}
		if !math.IsNaN(s.Timeouts) || !math.IsNaN(s.Retries) {
			t.Errorf("%s: timeouts %v retries %v, want none: Istio's metrics have no such numbers", what, s.Timeouts, s.Retries)
		}
	}

	res := run("checkout.shop.svc.cluster.local", "checkout-canary.shop.svc.cluster.local")
	if res.Verdict != compare.Fail {
		t.Errorf("canary service: verdict %s, checks %+v", res.Verdict, res.Checks)
	}
	checkArm("canary service", res.Canary, f.Clusters[1])
	checkArm("baseline service", res.Baseline, f.Clusters[0])

	res = run("reviews.shop.svc.cluster.local@v1", "~reviews\\..*@v2")
	if res.Verdict != compare.Fail {
		t.Errorf("canary version: verdict %s, checks %+v", res.Verdict, res.Checks)
	}
	checkArm("canary version", res.Canary, f.Clusters[3])
	checkArm("baseline version", res.Baseline, f.Clusters[2])
	if len(res.Canary.Clusters) != 1 || res.Canary.Clusters[0] != "reviews.shop.svc.cluster.local@v2" {
		t.Errorf("canary clusters %v", res.Canary.Clusters)
	}

	if res := run("reviews.shop.svc.cluster.local@v1", "reviews.shop.svc.cluster.local@v3"); res.Verdict != compare.Pass {
		t.Errorf("equal version: verdict %s, checks %+v", res.Verdict, res.Checks)
	}
}
