//go:build e2e

package plugin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/rulefile"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// TestTopOnNativeHistograms lets a real Prometheus 3 that scrapes native histograms (protobuf
// first, scrape_native_histograms) scrape simulated Envoys that serve their latency as native
// histograms, so that it keeps no classic _bucket series at all, and checks the real binary's
// numbers against the simulator's truth: `top --once -o json` over 30s (RPS within 5%, success
// within half a point, percentiles within 12%), `compare` on a worse canary, whose p99 are
// within 12% and whose verdict is FAIL, and `top` reading the stack's recording rules, which
// record the native histograms' rates: percentiles and success within the same tolerances, rates
// in proportion to the truth.
func TestTopOnNativeHistograms(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	fleet, rollouts := e2eFleet(), canaryFleet()
	mux := http.NewServeMux()
	envoys := httptest.NewServer(mux)
	t.Cleanup(envoys.Close)
	var targets []promtest.Target
	for ns, f := range map[string]*envoysim.Fleet{"edge": fleet, "shop": rollouts} {
		for _, pod := range f.Pods {
			prefix := "/" + ns + "/" + pod
			mux.Handle(prefix+"/", http.StripPrefix(prefix, f.Handler(pod, envoysim.Stock, nil)))
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
	if classic := srv.Query(t, `count(envoy_cluster_upstream_rq_time_bucket)`); len(classic) != 0 {
		t.Fatalf("Prometheus keeps classic buckets too (%v): the test would not read native histograms", classic)
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
}
