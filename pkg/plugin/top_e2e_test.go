//go:build e2e

package plugin

import (
	"bytes"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// e2eFleet has latency segments aligned with Envoy's histogram bounds, so Prometheus'
// interpolation inside a bucket is exact and the truth is known. Its error rates are at least one
// per second per pod, so that a request more or less in a 30s window moves them by at most 3.3%.
func e2eFleet() *envoysim.Fleet {
	return &envoysim.Fleet{
		Start: time.Now().Add(-10 * time.Minute),
		Pods:  []string{"envoy-0", "envoy-1"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_frontend_80", RPS: 40, ErrorRatio: 0.05, ClientErrorRatio: 0.1, Active: 4,
				// No quantile on a bucket boundary: there, a request more or less in the
				// window moves histogram_quantile across an empty bucket.
				Latency: envoysim.Latency{{Weight: 0.6, LoMs: 10, HiMs: 25}, {Weight: 0.25, LoMs: 25, HiMs: 50}, {Weight: 0.15, LoMs: 100, HiMs: 250}}},
			{Name: `team"a\b_svc_8080`, RPS: 20, Latency: envoysim.Uniform(1, 5)},
			{Name: "outbound|9080||reviews.default.svc.cluster.local", RPS: 10, ErrorRatio: 0.2, Latency: envoysim.Uniform(50, 100)},
			{Name: "shop_slow_8080", RPS: 5, Latency: envoysim.Latency{{Weight: 0.5, LoMs: 500, HiMs: 1000}, {Weight: 0.5, LoMs: 1000, HiMs: 2500}}},
			{Name: "shop_idle_8080", Latency: envoysim.Uniform(1, 5)},
			{Name: "shop_nohistogram_8080", RPS: 6},
		},
		Listeners: []envoysim.Listener{{Prefix: "ingress_http", RPS: 70, ErrorRatio: 0.05, ClientErrorRatio: 0.1, Latency: envoysim.Uniform(5, 10)}},
	}
}

// TestTopAgainstARealPrometheus serves a simulated fleet in both label dialects, lets a real
// Prometheus scrape it, and checks that the real binary's `top --once -o json` matches the
// simulator's truth in each dialect: RPS and 4xx and 5xx rates within 5%, success within half a
// point, percentiles within 12%, and null where a cluster has no data; error rates 0 where a busy
// cluster has none, though Envoy has no series for their class.
func TestTopAgainstARealPrometheus(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	fleet := e2eFleet()
	mux := http.NewServeMux()
	envoys := httptest.NewServer(mux)
	t.Cleanup(envoys.Close)
	var targets []promtest.Target
	for _, d := range []envoysim.Dialect{envoysim.Stock, envoysim.Istio} {
		for _, pod := range fleet.Pods {
			prefix := "/" + d.String() + "/" + pod
			mux.Handle(prefix+"/", http.StripPrefix(prefix, fleet.Handler(pod, d, nil)))
			targets = append(targets, promtest.Target{
				URL:    envoys.URL + prefix + "/stats/prometheus",
				Labels: map[string]string{"namespace": "edge-" + d.String(), "pod": pod},
			})
		}
	}
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second})
	n := len(fleet.Pods) * len(fleet.Clusters)
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total{envoy_cluster_name!=""}`, n, 30*time.Second)
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total{cluster_name!=""}`, n, 10*time.Second)
	// A 30s window needs 30s of samples.
	time.Sleep(32 * time.Second)

	top := func(args ...string) (string, string, error) {
		cmd := exec.Command(bin, append([]string{"top", "--prometheus-url", srv.URL(), "--window", "30s"}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	for _, d := range []envoysim.Dialect{envoysim.Stock, envoysim.Istio} {
		t.Run(d.String(), func(t *testing.T) {
			out, stderr, err := top("--envoy-namespace", "edge-"+d.String(), "--once", "-o", "json")
			if err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			snap := truth.Decode(t, []byte(out))
			if len(snap.Rows) != len(fleet.Clusters) {
				t.Errorf("%d rows for %d clusters", len(snap.Rows), len(fleet.Clusters))
			}
			truth.Check(t, snap, fleet, truth.Issue)
			truth.CheckListeners(t, snap, fleet, truth.Issue)
			if snap.Window != "30s" {
				t.Errorf("window = %q", snap.Window)
			}
			if at, err := time.Parse(time.RFC3339Nano, snap.At); err != nil || !strings.HasSuffix(snap.At, "Z") || time.Since(at) > time.Minute || time.Since(at) < 0 {
				t.Errorf("at = %q (%v): want the snapshot's instant, RFC 3339 in UTC", snap.At, err)
			}
			// Piped output without -o is a table; the rows above the red thresholds (20% of
			// 5xx; a p99 above 1s) are marked, the others not.
			table, _, err := top("--envoy-namespace", "edge-"+d.String())
			if err != nil || !strings.HasPrefix(table, "  NAME") || !strings.Contains(table, `team"a\b_svc_8080`) {
				t.Errorf("table snapshot: %v\n%s", err, table)
			}
			marked := map[string]bool{}
			for _, line := range strings.Split(table, "\n")[1:] {
				if name, ok := strings.CutPrefix(line, "! "); ok {
					marked[strings.Fields(name)[0]] = true
				}
			}
			if want := map[string]bool{"outbound|9080||reviews.default.svc.cluster.local": true, "shop_slow_8080": true}; !maps.Equal(marked, want) {
				t.Errorf("marked rows %v, want %v:\n%s", marked, want, table)
			}
			// The dialect can be named instead of discovered.
			if _, stderr, err := top("--envoy-namespace", "edge-"+d.String(), "--dialect", map[envoysim.Dialect]string{envoysim.Stock: "envoy", envoysim.Istio: "istio"}[d], "-o", "json"); err != nil {
				t.Errorf("--dialect: %v %s", err, stderr)
			}
		})
	}

	// Prometheus gone: one line naming it, exit code 1.
	srv.Stop()
	_, stderr, err := top("--envoy-namespace", "edge-stock", "--once")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "cannot reach Prometheus at "+srv.URL()) {
		t.Errorf("with Prometheus down: %v, stderr %q", err, stderr)
	}
}

// TestPrometheusURLCompression: with --prometheus-url, queries ask a real Prometheus for gzip
// answers, and for plain ones with kubectl's --disable-compression.
func TestPrometheusURLCompression(t *testing.T) {
	t.Parallel()
	srv := promtest.Start(t, nil, promtest.Options{ScrapeInterval: time.Second})
	front := promtest.Front(t, srv.URL())
	for _, tc := range []struct {
		flags []string
		want  string
	}{{nil, "gzip"}, {[]string{"--disable-compression"}, ""}} {
		// This Prometheus holds no Envoy series: top says so, after asking.
		_, stderr, code := cli.Run(t, binary(t), nil, append([]string{"top", "--prometheus-url", front.URL, "--once"}, tc.flags...)...)
		if code == 0 || !strings.Contains(stderr, "no Envoy cluster statistics") {
			t.Errorf("top %v against an empty Prometheus: exit %d, %s", tc.flags, code, stderr)
		}
		if got := front.Take(); !promtest.All(got, tc.want) {
			t.Errorf("top %v asked for %q, want %q", tc.flags, got, tc.want)
		}
	}
}
