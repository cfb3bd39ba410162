//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// BenchmarkOnePrometheusCapacity measures what one team Prometheus (Prometheus 3, as the stack
// runs it) costs per series and per sample, for docs/running-prometheus-per-team.md: it scrapes
// simulated Envoy fleets of two sizes and reads Prometheus' own metrics once the head is
// steady. The cost of a series is the difference of resident memory between the two sizes
// divided by the difference of head series (the fixed part cancels out); the cost of a sample is
// CPU seconds per ingested sample over the same 30 seconds. Metrics: bytes/series,
// cpu-µs/sample, and at the larger size the series, samples/s and resident MiB.
func BenchmarkOnePrometheusCapacity(b *testing.B) {
	type reading struct{ series, rss, samplesPerSec, cpuPerSample float64 }
	measure := func(b *testing.B, clusters int) reading {
		fleet := envoysim.ScaleFleet(time.Now().Add(-time.Hour), clusters, 2)
		srv := promtest.Start(b, promtest.ServeFleet(b, fleet, "edge"), promtest.Options{
			ScrapeInterval: 2 * time.Second, ScrapeTimeout: 2 * time.Second, Binary: tools.Path(b, "prometheus3"),
		})
		srv.WaitForSeries(b, `envoy_cluster_upstream_rq_total`, clusters*2, 3*time.Minute)
		time.Sleep(30 * time.Second) // every series in the head, the scrape caches full
		first := selfMetrics(b, srv.URL())
		time.Sleep(30 * time.Second)
		last := selfMetrics(b, srv.URL())
		samples := last["prometheus_tsdb_head_samples_appended_total"] - first["prometheus_tsdb_head_samples_appended_total"]
		cpu := last["process_cpu_seconds_total"] - first["process_cpu_seconds_total"]
		if samples <= 0 || last["prometheus_tsdb_head_series"] <= 0 {
			b.Fatalf("Prometheus ingested nothing: %v", last)
		}
		return reading{series: last["prometheus_tsdb_head_series"], rss: last["process_resident_memory_bytes"],
			samplesPerSec: samples / 30, cpuPerSample: cpu / samples}
	}
	for range b.N {
		small, large := measure(b, 250), measure(b, 1500)
		if large.series <= small.series {
			b.Fatalf("head series %v at 1500 clusters, %v at 250", large.series, small.series)
		}
		b.ReportMetric((large.rss-small.rss)/(large.series-small.series), "bytes/series")
		b.ReportMetric(large.cpuPerSample*1e6, "cpu-µs/sample")
		b.ReportMetric(large.series, "series")
		b.ReportMetric(large.samplesPerSec, "samples/s")
		b.ReportMetric(large.rss/(1<<20), "rss-MiB")
	}
}

// selfMetrics reads Prometheus' own /metrics, each metric the sum of its series (Prometheus 3
// splits prometheus_tsdb_head_samples_appended_total by sample type).
func selfMetrics(b *testing.B, url string) map[string]float64 {
	b.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if i := strings.Index(line, "} "); i >= 0 {
			series, value, ok = line[:i+1], line[i+2:], true
		}
		fields := strings.Fields(value)
		if !ok || len(fields) == 0 {
			continue
		}
		name, _, _ := strings.Cut(series, "{")
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			out[name] += v
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatal(fmt.Errorf("%s/metrics: %w", url, err))
	}
	return out
}
