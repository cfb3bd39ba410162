//go:build e2e

package plugin

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/rulefile"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// istioMesh is a default Istio installation's view of five destination services, with latency
// segments on the bucket bounds (Istio's are Envoy's), one service outside Kubernetes and one
// without latency.
func istioMesh(start time.Time) *envoysim.Fleet {
	return &envoysim.Fleet{
		Start: start,
		Pods:  []string{"client-0", "client-1"},
		Clusters: []envoysim.Cluster{
			{Name: "frontend.shop.svc.cluster.local", RPS: 40, ErrorRatio: 0.05, ClientErrorRatio: 0.02, TimeoutRatio: 0.01,
				Latency: envoysim.Latency{{Weight: 0.6, LoMs: 10, HiMs: 25}, {Weight: 0.25, LoMs: 25, HiMs: 50}, {Weight: 0.15, LoMs: 100, HiMs: 250}}},
			{Name: "reviews.default.svc.cluster.local", RPS: 10, ErrorRatio: 0.1, Latency: envoysim.Uniform(50, 100)},
			{Name: "slow.shop.svc.cluster.local", RPS: 5, Latency: envoysim.Latency{{Weight: 0.5, LoMs: 500, HiMs: 1000}, {Weight: 0.5, LoMs: 1000, HiMs: 2500}}},
			{Name: "api.example.com", RPS: 20, Latency: envoysim.Uniform(1, 5)},
			{Name: "nohistogram.shop.svc.cluster.local", RPS: 6},
		},
	}
}

// istioRollouts holds two canaries on Istio's metrics: a canary service, and a canary version of
// cart (an Istio subset, destination_version v2), both slower and failing more than their
// baselines.
func istioRollouts(start time.Time) *envoysim.Fleet {
	fast := envoysim.Latency{{Weight: 0.9, LoMs: 10, HiMs: 25}, {Weight: 0.1, LoMs: 25, HiMs: 50}}
	slow := envoysim.Latency{{Weight: 0.5, LoMs: 50, HiMs: 100}, {Weight: 0.5, LoMs: 100, HiMs: 250}}
	return &envoysim.Fleet{
		Start: start,
		Pods:  []string{"client-0", "client-1"},
		Clusters: []envoysim.Cluster{
			{Name: "checkout.shop.svc.cluster.local", RPS: 40, ErrorRatio: 0.001, Latency: fast},
			{Name: "checkout-canary.shop.svc.cluster.local", RPS: 10, ErrorRatio: 0.08, Latency: slow},
			{Name: "outbound|8080|v1|cart.shop.svc.cluster.local", RPS: 30, ErrorRatio: 0.002, Latency: fast},
			{Name: "outbound|8080|v2|cart.shop.svc.cluster.local", RPS: 10, ErrorRatio: 0.08, Latency: slow},
		},
	}
}

// TestTopOnIstioStandardMetrics lets a real Prometheus (Debian's 2.42) scrape sidecars that
// expose what a default Istio installation keeps (Istio's standard metrics, and of Envoy's
// cluster statistics only xds-grpc's) and evaluate the recording rules of `create --envoy istio`,
// and runs the real binary on them:
//   - `top --once -o json` over 30s of raw series finds the dialect on its own and matches the
//     simulator's truth (RPS within 5%, success within half a point, percentiles within 12%),
//     with requests in flight null and each service named as Istio labels it;
//   - read from the rules (auto, no --window), the same rows: success and percentiles match the
//     truth within the same tolerances, rates in proportion to it (the rules' 5m window holds
//     about a minute of samples) within 5%;
//   - `compare` fails a worse canary service and a worse canary version (SERVICE@VERSION), and
//     its numbers match the truth.
func TestTopOnIstioStandardMetrics(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	start := time.Now().Add(-2 * time.Hour)
	mesh, rollouts := istioMesh(start), istioRollouts(start)
	mux := http.NewServeMux()
	sidecars := httptest.NewServer(mux)
	t.Cleanup(sidecars.Close)
	var targets []promtest.Target
	for ns, fleet := range map[string]*envoysim.Fleet{"mesh": mesh, "shop": rollouts} {
		for _, pod := range fleet.Pods {
			prefix := "/" + ns + "/" + pod
			mux.Handle(prefix+"/", http.StripPrefix(prefix, fleet.Handler(pod, envoysim.IstioStandard, nil)))
			targets = append(targets, promtest.Target{
				URL:    sidecars.URL + prefix + "/stats/prometheus",
				Labels: map[string]string{"namespace": ns, "pod": pod},
			})
		}
	}
	spec := manifests.DefaultTeamSpec("team-a", "mesh")
	spec.Presets = []manifests.Preset{manifests.PresetIstio}
	rules := rulefile.Write(t, spec, 0)
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second, RuleFiles: []string{rules}})
	srv.WaitForSeries(t, `envoy_cluster:upstream_rq:rate5m{namespace="mesh"}`, len(mesh.Clusters), 40*time.Second)
	srv.WaitForSeries(t, `envoy_cluster:upstream_rq:rate5m{namespace="shop"}`, 2, 10*time.Second)
	// The windows count from the first sample, which the recorded series follow: a rate over a
	// window that holds less is short.
	began := time.Now()
	// A 30s window needs 30s of samples.
	time.Sleep(32*time.Second - time.Since(began))

	top := func(t *testing.T, args ...string) truth.Snapshot {
		t.Helper()
		out, stderr, code := cli.Run(t, bin, nil, append([]string{"top", "--prometheus-url", srv.URL(), "--envoy-namespace", "mesh", "--once", "-o", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("top %v: exit %d: %s", args, code, stderr)
		}
		return truth.Decode(t, []byte(out))
	}
	services := func(t *testing.T, snap truth.Snapshot) {
		t.Helper()
		want := map[string]string{
			"frontend.shop.svc.cluster.local": "shop/frontend", "reviews.default.svc.cluster.local": "default/reviews",
			"slow.shop.svc.cluster.local": "shop/slow", "nohistogram.shop.svc.cluster.local": "shop/nohistogram", "api.example.com": "",
		}
		for _, r := range snap.Rows {
			got := ""
			if r.Namespace != nil && r.Service != nil && *r.Service != "" {
				got = *r.Namespace + "/" + *r.Service
			}
			if got != want[r.Name] {
				t.Errorf("%s is Service %q, want %q", r.Name, got, want[r.Name])
			}
			if r.ActiveRequests != nil {
				t.Errorf("%s active_requests = %v: Istio's metrics have no such number", r.Name, *r.ActiveRequests)
			}
		}
	}

	var rawNames []string
	t.Run("raw", func(t *testing.T) {
		snap := top(t, "--window", "30s")
		if snap.Source != "raw" || snap.Window != "30s" {
			t.Errorf("source %q window %q", snap.Source, snap.Window)
		}
		if len(snap.Rows) != len(mesh.Clusters) {
			t.Errorf("%d rows for %d destination services", len(snap.Rows), len(mesh.Clusters))
		}
		truth.Check(t, snap, mesh, truth.Issue)
		services(t, snap)
		for _, r := range snap.Rows {
			rawNames = append(rawNames, r.Name)
		}
		// Named instead of found: the same rows.
		if named := top(t, "--window", "30s", "--dialect", "istio-standard"); len(named.Rows) != len(mesh.Clusters) {
			t.Errorf("--dialect istio-standard: %d rows", len(named.Rows))
		}
	})

	judge := func(t *testing.T, baseline, canary string) compareJSON {
		t.Helper()
		out, stderr, code := cli.Run(t, bin, nil, "compare", "--prometheus-url", srv.URL(), "--envoy-namespace", "shop",
			"--window", "1m", "--step", "10s", "--baseline", baseline, "--canary", canary, "-o", "json")
		var res compareJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("exit %d, stderr %q, not JSON: %v\n%s", code, stderr, err, out)
		}
		if res.Verdict != "FAIL" || code != 1 {
			t.Errorf("verdict %s exit %d, want FAIL and 1; checks %+v", res.Verdict, code, res.Checks)
		}
		return res
	}
	near := func(t *testing.T, what string, got *float64, want, tol float64, relative bool) {
		t.Helper()
		scale := 1.0
		if relative {
			scale = want
		}
		if got == nil || (*got-want)/scale > tol || (want-*got)/scale > tol {
			t.Errorf("%s = %v, want %v within %v", what, deref(got), want, tol)
		}
	}
	// A one-minute window needs a minute of samples.
	time.Sleep(62*time.Second - time.Since(began))
	t.Run("compare", func(t *testing.T) {
		for _, tc := range []struct {
			baseline, canary string
			base, can        envoysim.Cluster
			canaryClusters   string
		}{
			{"checkout.shop.svc.cluster.local", "checkout-canary.shop.svc.cluster.local", rollouts.Clusters[0], rollouts.Clusters[1], "checkout-canary.shop.svc.cluster.local"},
			{"cart.shop.svc.cluster.local@v1", `~cart\..*@v2`, rollouts.Clusters[2], rollouts.Clusters[3], "cart.shop.svc.cluster.local@v2"},
		} {
			res := judge(t, tc.baseline, tc.canary)
			if len(res.Canary.Clusters) != 1 || res.Canary.Clusters[0] != tc.canaryClusters {
				t.Errorf("canary %s selects %v", tc.canary, res.Canary.Clusters)
			}
			near(t, tc.canary+" success", res.Canary.Success, 1-tc.can.ErrorRatio, 0.005, false)
			near(t, tc.baseline+" success", res.Baseline.Success, 1-tc.base.ErrorRatio, 0.005, false)
			near(t, tc.canary+" p99", res.Canary.P99, tc.can.Quantile(0.99), 0.12, true)
			near(t, tc.baseline+" p99", res.Baseline.P99, tc.base.Quantile(0.99), 0.12, true)
			rps := res.Canary.RPS
			near(t, tc.canary+" rps", &rps, tc.can.RPS, 0.05, true)
		}
	})

	t.Run("rules", func(t *testing.T) {
		snap := top(t)
		if snap.Source != "rules" || snap.Window != "5m" {
			t.Errorf("auto without --window: source %q window %q, want the rules' 5m", snap.Source, snap.Window)
		}
		rows := byName(snap)
		if len(rows) != len(rawNames) {
			t.Errorf("%d rows from the rules, %d raw", len(rows), len(rawNames))
		}
		for _, n := range rawNames {
			if _, ok := rows[n]; !ok {
				t.Errorf("raw row %s is not among the rules' rows", n)
			}
		}
		services(t, snap)
		// The rules' 5m rates hold about a minute of samples: every rate is the truth times the
		// share of the window that holds samples, measured on the busiest service.
		busiest := mesh.Clusters[0]
		got := rows[busiest.Name].RPS
		if got == nil || *got <= 0 || *got > busiest.RPS {
			t.Fatalf("%s rps = %v", busiest.Name, fmtNumber(got))
		}
		share := *got / busiest.RPS
		scaled := *mesh
		scaled.Clusters = append([]envoysim.Cluster(nil), mesh.Clusters...)
		for i := range scaled.Clusters {
			scaled.Clusters[i].RPS *= share
		}
		t.Logf("rates are %.4f of the truth (%.0fs of samples in the 5m window)", share, share*300)
		truth.Check(t, snap, &scaled, truth.Issue)
	})

	// The dashboard's history from the rules: at every step where the rules had recorded, success
	// and percentiles are the truth; the rates grow with the samples in the rules' 5m window, and
	// the last step's are the refresh's own, so the sparklines end where the table stands.
	t.Run("rules history", func(t *testing.T) {
		client, err := prom.New(prom.Config{URL: srv.URL(), Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c, err := traffic.NewCollector(client, traffic.Config{Dialect: promql.DialectIstioStandard, Selector: promql.Namespace("mesh"), Source: traffic.SourceRules})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		h, err := c.History(context.Background(), now, 40*time.Second, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.Frame(context.Background(), now)
		if err != nil {
			t.Fatal(err)
		}
		if h.Source != traffic.SourceRules || h.Steps != 9 {
			t.Fatalf("history from %q with %d steps, want the rules and 9", h.Source, h.Steps)
		}
		for _, cl := range mesh.Clusters {
			tr, ok := h.Clusters[cl.Name]
			if !ok {
				t.Errorf("no history of %s among %d", cl.Name, len(h.Clusters))
				continue
			}
			checked := 0
			for i := range h.Steps {
				if math.IsNaN(tr.Success[i]) {
					continue // before the rules' first evaluation
				}
				if math.Abs(tr.Success[i]-(1-cl.ErrorRatio)) > truth.Issue.Success {
					t.Errorf("%s at %s: success %v, want %v", cl.Name, h.At(i).Format(time.TimeOnly), tr.Success[i], 1-cl.ErrorRatio)
				}
				if want := cl.Quantile(0.99); len(cl.Latency) > 0 && math.Abs(tr.P99[i]-want)/want > truth.Issue.Quantile {
					t.Errorf("%s at %s: p99 %v, want %v", cl.Name, h.At(i).Format(time.TimeOnly), tr.P99[i], want)
				}
				if i > 0 && !math.IsNaN(tr.RPS[i-1]) && tr.RPS[i] < 0.98*tr.RPS[i-1] {
					t.Errorf("%s: the rate fell from %v to %v while the 5m window filled", cl.Name, tr.RPS[i-1], tr.RPS[i])
				}
				checked++
			}
			if checked < 5 {
				t.Errorf("%s: %d steps with numbers, want at least 5", cl.Name, checked)
			}
			for _, r := range f.Rows {
				if last := tr.RPS[h.Steps-1]; r.Name == cl.Name && math.Abs(last-r.RPS)/r.RPS > truth.Issue.RPS {
					t.Errorf("%s: the history ends at %v requests/s, the refresh says %v", cl.Name, last, r.RPS)
				}
			}
		}
	})
}
