//go:build e2e

package promtest

import (
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// TestPrometheusScrapesEnvoySim serves a simulated fleet of two Envoys in both dialects, lets a real
// Prometheus scrape it every second and checks rates, success ratios, latency and label values
// through the HTTP API; then it stops and restarts the server.
func TestPrometheusScrapesEnvoySim(t *testing.T) {
	fleet := &envoysim.Fleet{
		// Counters are well under way when the first scrape comes.
		Start: time.Now().Add(-10 * time.Minute),
		Pods:  []string{"envoy-0", "envoy-1"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_frontend_80", RPS: 40, ErrorRatio: 0.05, ClientErrorRatio: 0.02,
				Latency: envoysim.Latency{{Weight: 0.6, LoMs: 10, HiMs: 25}, {Weight: 0.3, LoMs: 25, HiMs: 50}, {Weight: 0.1, LoMs: 100, HiMs: 250}}},
			{Name: quotedName, RPS: 20, Latency: envoysim.Uniform(1, 5)},
			{Name: "outbound|9080||reviews.default.svc.cluster.local", RPS: 10, ErrorRatio: 0.1, Latency: envoysim.Uniform(50, 100)},
			{Name: "shop_idle_8080", Latency: envoysim.Uniform(1, 5)},
		},
		Listeners: []envoysim.Listener{{Prefix: "ingress_http", RPS: 70, Latency: envoysim.Uniform(5, 10)}},
	}
	mux := http.NewServeMux()
	var targets []Target
	envoys := httptest.NewServer(mux)
	t.Cleanup(envoys.Close)
	for _, d := range []envoysim.Dialect{envoysim.Stock, envoysim.Istio} {
		for _, pod := range fleet.Pods {
			prefix := "/" + d.String() + "/" + pod
			mux.Handle(prefix+"/", http.StripPrefix(prefix, fleet.Handler(pod, d, nil)))
			targets = append(targets, Target{
				URL:    envoys.URL + prefix + "/stats/prometheus",
				Labels: map[string]string{"namespace": "edge-" + d.String(), "pod": pod},
			})
		}
	}

	srv := Start(t, targets, Options{ScrapeInterval: time.Second})
	begin := time.Now()
	n := len(fleet.Pods) * len(fleet.Clusters)
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total{envoy_cluster_name!=""}`, n, 30*time.Second)
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total{cluster_name!=""}`, n, 10*time.Second)
	firstScrape := time.Now()
	t.Logf("first samples %s after the server was ready", firstScrape.Sub(begin).Round(time.Millisecond))

	// Target labels are attached, the job is per target.
	for _, s := range srv.Query(t, `envoy_server_live`) {
		if s.Metric["namespace"] == "" || s.Metric["pod"] == "" || s.Metric["job"] == "" || s.Value != 1 {
			t.Errorf("envoy_server_live sample %v", s)
		}
	}

	// Let the 30s window fill with samples.
	time.Sleep(time.Until(firstScrape.Add(32 * time.Second)))

	within := func(what string, got, want, tol float64) {
		t.Helper()
		if math.IsNaN(got) || math.Abs(got-want) > tol*math.Max(math.Abs(want), 1e-9) {
			t.Errorf("%s = %v, want %v (±%v%%)", what, got, want, tol*100)
		}
	}
	byLabel := func(res []Sample, label string) map[string]float64 {
		out := map[string]float64{}
		for _, s := range res {
			out[s.Metric[label]] = s.Value
		}
		return out
	}
	for _, d := range []envoysim.Dialect{envoysim.Stock, envoysim.Istio} {
		cl := d.ClusterLabel()
		rps := byLabel(srv.Query(t, `sum by (`+cl+`) (rate(envoy_cluster_upstream_rq_total[30s]))`), cl)
		success := byLabel(srv.Query(t, `1 - (
			  sum by (`+cl+`) (rate(`+d.ClassMetric()+`{`+d.ClassLabel()+`="`+d.Class(5)+`"}[30s]))
			or
			  0 * sum by (`+cl+`) (rate(`+d.ClassMetric()+`[30s]))
			) / sum by (`+cl+`) (rate(`+d.ClassMetric()+`[30s]))`), cl)
		p99 := byLabel(srv.Query(t, `histogram_quantile(0.99, sum by (`+cl+`, le) (rate(envoy_cluster_upstream_rq_time_bucket[30s])))`), cl)
		for _, c := range fleet.Clusters {
			truth := c.Truth()
			got, ok := rps[c.Name]
			if !ok {
				t.Errorf("%s: no rate for cluster %q (label values came back as %v)", d, c.Name, slices.Collect(mapKeys(rps)))
				continue
			}
			if c.RPS == 0 {
				if got != 0 {
					t.Errorf("%s: idle %q rate = %v", d, c.Name, got)
				}
				continue
			}
			within(d.String()+" "+c.Name+" rps", got, truth.RPS, 0.05)
			within(d.String()+" "+c.Name+" success", success[c.Name], truth.Success, 0.01)
			within(d.String()+" "+c.Name+" p99", p99[c.Name], truth.P99, 0.05)
		}
		ll := d.ListenerLabel()
		down := byLabel(srv.Query(t, `sum by (`+ll+`) (rate(envoy_http_downstream_rq_total[30s]))`), ll)
		within(d.String()+" ingress_http rps", down["ingress_http"], fleet.Listeners[0].Truth().RPS, 0.05)
	}
	if _, ok := byLabel(srv.Query(t, `envoy_cluster_upstream_rq_total`), "envoy_cluster_name")[quotedName]; !ok {
		t.Errorf("cluster %q did not come back intact", quotedName)
	}

	// An outage: the API goes away, and comes back on the same address with the old data.
	srv.Stop()
	if resp, err := http.Get(srv.URL() + "/-/ready"); err == nil {
		_ = resp.Body.Close()
		t.Error("stopped server still answers")
	}
	srv.Restart(t)
	res := srv.Query(t, `count(count_over_time(envoy_server_live[5m]))`)
	if len(res) != 1 || res[0].Value != float64(len(targets)) {
		t.Errorf("after restart, %v targets have envoy_server_live samples, want %d", res, len(targets))
	}
	t.Logf("test took %s", time.Since(begin).Round(time.Millisecond))
}

func mapKeys(m map[string]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
