//go:build e2e

package prom

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
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
