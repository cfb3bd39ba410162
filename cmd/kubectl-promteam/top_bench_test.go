//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// BenchmarkTopRefresh measures one refresh of the collector against a real Prometheus scraping
// a simulated fleet, alternating with the same queries sent concurrently by a bare HTTP client
// that only decodes the JSON. Metrics: refresh and bare milliseconds per refresh, their ratio
// (goal ≤ 1.15), and at 5,000 clusters the peak RSS of a whole `top --once -o json` process
// next to that of `version` (goal < 120 MB).
func BenchmarkTopRefresh(b *testing.B) {
	for _, n := range []int{200, 5000} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) { benchRefresh(b, n) })
	}
}

func benchRefresh(b *testing.B, clusters int) {
	fleet := envoysim.ScaleFleet(time.Now().Add(-time.Hour), clusters, 1)
	envoy := httptest.NewServer(fleet.Handler(fleet.Pods[0], envoysim.Stock, nil))
	b.Cleanup(envoy.Close)
	srv := promtest.Start(b, []promtest.Target{{URL: envoy.URL + "/stats/prometheus", Labels: map[string]string{"namespace": "edge", "pod": fleet.Pods[0]}}},
		promtest.Options{ScrapeInterval: 5 * time.Second, ScrapeTimeout: 5 * time.Second})
	srv.WaitForSeries(b, `envoy_cluster_upstream_rq_total`, clusters, 2*time.Minute)
	time.Sleep(12 * time.Second) // two more scrapes, so every rate has points

	promClient, err := prom.New(prom.Config{URL: srv.URL(), Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	collector, err := traffic.NewCollector(promClient, traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("edge"), Window: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Timeout: time.Minute}
	ctx := context.Background()
	queries := collector.Queries()
	bare := func(at time.Time) {
		if err := bareRefresh(ctx, client, srv.URL(), queries, at, decodeJSON); err != nil {
			b.Fatal(err)
		}
	}

	// Warm both paths (connections, Prometheus' caches) before measuring.
	at := time.Now()
	if f, err := collector.Frame(ctx, at); err != nil || len(f.Rows) != clusters {
		b.Fatalf("frame: %v, %d rows", err, len(f.Rows))
	}
	bare(at)

	var ours, theirs time.Duration
	b.ResetTimer()
	for range b.N {
		at := time.Now()
		start := time.Now()
		if _, err := collector.Frame(ctx, at); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		start = time.Now()
		bare(at)
		theirs += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "refresh-ms")
	b.ReportMetric(float64(theirs.Milliseconds())/float64(b.N), "bare-ms")
	b.ReportMetric(float64(ours)/float64(theirs), "ratio")

	if clusters >= 5000 {
		b.ReportMetric(peakRSS(b, "top", "--prometheus-url", srv.URL(), "--envoy-namespace", "edge", "--once", "-o", "json"), "top-peak-rss-MiB")
		b.ReportMetric(peakRSS(b, "version"), "version-peak-rss-MiB")
	}
}

// decodeJSON decodes an answer as a plain client would: the envelope, then every sample's labels
// and value.
func decodeJSON(r io.Reader) error {
	var body struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(r).Decode(&body); err != nil {
		return err
	}
	if body.Status != "success" {
		return fmt.Errorf("status %q", body.Status)
	}
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	return json.Unmarshal(body.Data, &data)
}
