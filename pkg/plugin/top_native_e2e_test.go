//go:build e2e

package plugin

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/rulefile"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// TestTopOnNativeHistograms lets a real Prometheus 3 that scrapes native histograms (protobuf
// first, scrape_native_histograms) scrape simulated Envoys that serve their latency as native
// histograms, so that it keeps no classic _bucket series at all, and checks the real binary's
// numbers against the simulator's truth: `top --once -o json` over 30s (RPS within 5%, success
// within half a point, percentiles within 12%), `compare` on a worse canary, whose p99 are
// within 12% and whose verdict is FAIL, and `top` reading the stack's recording rules, which
// record the native histograms' rates: percentiles and success within the same tolerances, rates
// in proportion to the truth. Sidecars of a default Istio installation that pass native histograms
// through give the same numbers on Istio's standard metrics; the drill-down's latency bars, the
// dashboard's percentiles and the p99 alert read the native histograms too.
func TestTopOnNativeHistograms(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	fleet, rollouts, mesh := e2eFleet(), canaryFleet(), istioMesh(time.Now().Add(-2*time.Hour))
	mux := http.NewServeMux()
	envoys := httptest.NewServer(mux)
	t.Cleanup(envoys.Close)
	var targets []promtest.Target
	for ns, f := range map[string]*envoysim.Fleet{"edge": fleet, "shop": rollouts, "mesh": mesh} {
		dialect := envoysim.Stock
		if ns == "mesh" {
			// Sidecars of a default Istio installation that pass native histograms through.
			dialect = envoysim.IstioStandard
		}
		for _, pod := range f.Pods {
			prefix := "/" + ns + "/" + pod
			mux.Handle(prefix+"/", http.StripPrefix(prefix, f.Handler(pod, dialect, nil)))
			targets = append(targets, promtest.Target{
				URL:    envoys.URL + prefix + "/stats/prometheus",
				Labels: map[string]string{"namespace": ns, "pod": pod},
			})
		}
	}
	rules := rulefile.Write(t, manifests.DefaultTeamSpec("team-a", "edge"), 0)
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second, Binary: tools.Path(t, "prometheus3"), NativeHistograms: true, RuleFiles: []string{rules}})
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_time{namespace="edge"}`, 1, 40*time.Second)
	// The windows count from the first sample: a rate over a window that holds less is short.
	began := time.Now()
	srv.WaitForSeries(t, `istio_request_duration_milliseconds{namespace="mesh"}`, 1, 10*time.Second)
	for _, classic := range []string{"envoy_cluster_upstream_rq_time_bucket", "istio_request_duration_milliseconds_bucket"} {
		if got := srv.Query(t, "count("+classic+")"); len(got) != 0 {
			t.Fatalf("Prometheus keeps classic buckets too (%s: %v): the test would not read native histograms", classic, got)
		}
	}
	// A 30s window needs 30s of samples.
	time.Sleep(32*time.Second - time.Since(began))

	t.Run("top", func(t *testing.T) {
		out, stderr, code := cli.Run(t, bin, nil, "top", "--prometheus-url", srv.URL(), "--envoy-namespace", "edge", "--window", "30s", "--once", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		snap := truth.Decode(t, []byte(out))
		if len(snap.Rows) != len(fleet.Clusters) {
			t.Errorf("%d rows for %d clusters", len(snap.Rows), len(fleet.Clusters))
		}
		truth.Check(t, snap, fleet, truth.Issue)
	})

	// Istio's standard metrics with native histograms: the same numbers.
	t.Run("istio", func(t *testing.T) {
		out, stderr, code := cli.Run(t, bin, nil, "top", "--prometheus-url", srv.URL(), "--envoy-namespace", "mesh", "--window", "30s", "--once", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		snap := truth.Decode(t, []byte(out))
		if len(snap.Rows) != len(mesh.Clusters) {
			t.Errorf("%d rows for %d destination services", len(snap.Rows), len(mesh.Clusters))
		}
		truth.Check(t, snap, mesh, truth.Issue)
	})

	// The drill-down's latency bars come from the native histogram where there are no classic
	// buckets: every request falls in one, and the rate below each of Envoy's bounds is the
	// truth's.
	t.Run("drill-down", func(t *testing.T) {
		client, err := prom.New(prom.Config{URL: srv.URL(), Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			dialect   promql.Dialect
			namespace string
			frontend  envoysim.Cluster
		}{
			{promql.DialectEnvoy, "edge", fleet.Clusters[0]},
			{promql.DialectIstioStandard, "mesh", mesh.Clusters[0]},
		} {
			c, err := traffic.NewCollector(client, traffic.Config{Dialect: tc.dialect, Selector: promql.Namespace(tc.namespace), Window: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.Detail(context.Background(), time.Now(), tc.frontend.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Latency) != len(promql.EnvoyBoundsMs)+1 {
				t.Fatalf("%s: %d latency bars, want one per Envoy bound and +Inf: %+v", tc.dialect.Name, len(d.Latency), d.Latency)
			}
			var all, below float64
			for _, b := range d.Latency {
				all += b.RPS
				if b.UpperMs <= 50 {
					below += b.RPS
				}
			}
			if math.Abs(all-tc.frontend.RPS)/tc.frontend.RPS > truth.Issue.RPS {
				t.Errorf("%s: the bars add up to %v requests/s, want %v", tc.dialect.Name, all, tc.frontend.RPS)
			}
			if want := tc.frontend.RPS * tc.frontend.Latency.CDF(50); math.Abs(below-want)/want > truth.Issue.Quantile {
				t.Errorf("%s: %v requests/s below 50ms, want %v", tc.dialect.Name, below, want)
			}
		}
	})

	// A one-minute window needs a minute of samples.
	time.Sleep(62*time.Second - time.Since(began))
	t.Run("compare", func(t *testing.T) {
		out, stderr, code := cli.Run(t, bin, nil, "compare", "--prometheus-url", srv.URL(), "--envoy-namespace", "shop",
			"--window", "1m", "--step", "10s", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080", "-o", "json")
		var res compareJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("exit %d, stderr %q, not JSON: %v\n%s", code, stderr, err, out)
		}
		if res.Verdict != "FAIL" || code != 1 {
			t.Errorf("verdict %s exit %d, want FAIL and 1; checks %+v", res.Verdict, code, res.Checks)
		}
		for _, arm := range []struct {
			name string
			got  *float64
		}{{"shop_checkout-primary_8080", res.Baseline.P99}, {"shop_checkout-canary_8080", res.Canary.P99}} {
			c, _ := rollouts.Cluster(arm.name)
			want := c.Quantile(0.99)
			if arm.got == nil || *arm.got < want*0.88 || *arm.got > want*1.12 {
				t.Errorf("%s p99 = %v, want %v within 12%%", arm.name, deref(arm.got), want)
			}
		}
	})

	// The rules record the native histograms' rates; top reads their percentiles.
	t.Run("rules", func(t *testing.T) {
		out, stderr, code := cli.Run(t, bin, nil, "top", "--prometheus-url", srv.URL(), "--envoy-namespace", "edge", "--once", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		snap := truth.Decode(t, []byte(out))
		if snap.Source != "rules" {
			t.Errorf("source %q, want the rules", snap.Source)
		}
		// The rules' 5m rates hold about a minute of samples: every rate is the truth times the
		// share of the window that holds samples, measured on the busiest cluster.
		rows := byName(snap)
		busiest := fleet.Clusters[0]
		got := rows[busiest.Name].RPS
		if got == nil || *got <= 0 || *got > busiest.RPS {
			t.Fatalf("%s rps = %v", busiest.Name, fmtNumber(got))
		}
		scaled := *fleet
		scaled.Clusters = append([]envoysim.Cluster(nil), fleet.Clusters...)
		for i := range scaled.Clusters {
			scaled.Clusters[i].RPS *= *got / busiest.RPS
		}
		truth.Check(t, snap, &scaled, truth.Issue)
	})

	// The Grafana dashboard's latency panels and the p99 alert read the recorded latency too: on
	// native histograms alone, the dashboard's percentiles are the truth, and the alert's latency
	// condition holds for the one cluster whose p99 is above its threshold. (Its traffic gate
	// reads the recorded 5m request rate, which a minute of samples leaves at a fifth of the
	// truth: the condition is read without it.)
	t.Run("dashboard and alert", func(t *testing.T) {
		spec := manifests.DefaultTeamSpec("team-a", "edge")
		for _, q := range []float64{0.5, 0.99} {
			expr, err := promql.Check(promql.LatencyQuantileFromBuckets([]promql.Source{promql.SourceEnvoy}, q, promql.Eq(promql.LabelNamespace, "edge")))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, s := range srv.Query(t, expr) {
				got[s.Metric[promql.LabelCluster]] = s.Value * 1000
			}
			for _, c := range fleet.Clusters {
				if c.RPS == 0 || len(c.Latency) == 0 {
					continue
				}
				if want, v, ok := c.Quantile(q), got[c.Name], hasKey(got, c.Name); !ok || math.Abs(v-want)/want > truth.Issue.Quantile {
					t.Errorf("dashboard p%g of %s = %v ms (%v), want %v", q*100, c.Name, v, ok, want)
				}
			}
		}
		alerts, err := spec.AlertingRules()
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(alerts, func(a manifests.AlertingRule) bool { return a.Alert == "EnvoyUpstreamHighLatencyP99" })
		if i < 0 {
			t.Fatal("no p99 alert")
		}
		cond, err := parser.NewParser(parser.Options{}).ParseExpr(alerts[i].Expr)
		if err != nil {
			t.Fatal(err)
		}
		gated, ok := cond.(*parser.BinaryExpr)
		if !ok || gated.Op != parser.LAND {
			t.Fatalf("the p99 alert is not a condition and its traffic gate: %s", alerts[i].Expr)
		}
		var firing []string
		for _, s := range srv.Query(t, gated.LHS.String()) {
			firing = append(firing, s.Metric[promql.LabelCluster])
		}
		if !slices.Equal(firing, []string{"shop_slow_8080"}) {
			t.Errorf("the p99 alert's condition holds for %q, want shop_slow_8080 alone", firing)
		}
	})
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
