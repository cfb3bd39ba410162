//go:build e2e

package prom

import (
	"context"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// TestTargetsAndSeriesOfARealPrometheus reads targets and series from a real Prometheus
// scraping a simulated Envoy (up) and a path that answers 404 (down).
func TestTargetsAndSeriesOfARealPrometheus(t *testing.T) {
	fleet := envoysim.DemoFleet(time.Now().Add(-time.Hour))
	envoy := httptest.NewServer(fleet.Handler(fleet.Pods[0], envoysim.Stock, nil))
	defer envoy.Close()
	srv := promtest.Start(t, []promtest.Target{
		{URL: envoy.URL + "/stats/prometheus"},
		{URL: envoy.URL + "/metrics"},
	}, promtest.Options{ScrapeInterval: time.Second})
	srv.WaitForSeries(t, "envoy_cluster_upstream_rq_total", 1, time.Minute)
	srv.WaitForSeries(t, "up", 2, time.Minute)

	c, err := New(Config{URL: srv.URL(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	targets, err := c.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	health := map[string]doctor.Target{}
	for _, tg := range targets {
		health[tg.ScrapeURL] = tg
	}
	if up := health[envoy.URL+"/stats/prometheus"]; up.Health != doctor.HealthUp || up.ScrapePool != "target-0" || up.Labels["job"] != "target-0" {
		t.Errorf("Envoy target: %+v", up)
	}
	if down := health[envoy.URL+"/metrics"]; down.Health != doctor.HealthDown || !strings.Contains(down.LastError, "404") {
		t.Errorf("404 target: %+v", down)
	}
	for selector, want := range map[string]bool{
		"envoy_cluster_upstream_rq_total": true,
		`up{job="target-1"}`:              true,
		"istio_requests_total":            false,
	} {
		got, err := c.HasSeries(ctx, selector)
		if err != nil || got != want {
			t.Errorf("HasSeries(%s) = %v, %v; want %v", selector, got, err, want)
		}
	}
	if _, err := c.HasSeries(ctx, "{"); err == nil || !strings.Contains(err.Error(), "bad_data") || !strings.Contains(err.Error(), "read /api/v1/series at "+srv.URL()) {
		t.Errorf("HasSeries of a bad selector: %v, want the API's bad_data error and the endpoint", err)
	}
}

// TestCapacityOfARealPrometheus reads Capacity from two real Prometheus servers scraping the same
// simulated Envoys every 5s: one just started, whose samples per second are unknown since it holds
// less than the 5 minutes they average over, and one whose storage holds 10 minutes of the same
// scrapes before it starts, whose samples per second are what its scrapes recorded.
func TestCapacityOfARealPrometheus(t *testing.T) {
	const step = 5 * time.Second
	fleet := envoysim.DemoFleet(time.Now().Add(-time.Hour))
	targets := promtest.ServeFleet(t, fleet, "edge")
	young := promtest.Start(t, targets, promtest.Options{ScrapeInterval: step})
	now := time.Now()
	history := &promtest.History{Fleet: fleet, From: now.Add(-10 * time.Minute), To: now.Add(-step), Step: step}
	old := promtest.Start(t, targets, promtest.Options{ScrapeInterval: step, History: history})
	// No scrape is in the storage between the history's end and the first live scrape, which
	// comes within a step of Start's return: writing the history takes seconds (more under
	// -race), and the window's average is that much lower.
	gap := max(time.Since(history.To)-step, 0)
	capacity := func(srv *promtest.Server) doctor.Capacity {
		t.Helper()
		srv.WaitForSeries(t, "scrape_samples_post_metric_relabeling", len(targets), time.Minute)
		c, err := New(Config{URL: srv.URL(), Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Capacity(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	if got := capacity(young); !math.IsNaN(got.SamplesPerSecond) || !(got.LargestScrape > 0) || !(got.HeadSeries > 0) {
		t.Errorf("just started: %+v, want samples per second unknown, the largest scrape and the head known", got)
	}

	got := capacity(old)
	perScrape, largest := 0.0, 0.0
	for _, s := range old.Query(t, "scrape_samples_post_metric_relabeling") {
		perScrape += s.Value
		largest = max(largest, s.Value)
	}
	window := promql.SamplesWindow
	want := perScrape / step.Seconds() * (window - gap).Seconds() / window.Seconds()
	t.Logf("10 minutes held: %.2f samples/s; the scrapes record %.2f a second, %s of the window without scrapes", got.SamplesPerSecond, perScrape/step.Seconds(), gap.Round(time.Millisecond))
	// The first live scrape may come a step after Start's return: one scrape in 60.
	if want <= 0 || math.Abs(got.SamplesPerSecond-want)/want > 0.05 || got.LargestScrape != largest {
		t.Errorf("10 minutes held: %.1f samples/s and largest scrape %v, want %.1f (each target's scrape every %s, none for %s) and %v",
			got.SamplesPerSecond, got.LargestScrape, want, step, gap.Round(time.Millisecond), largest)
	}
}
