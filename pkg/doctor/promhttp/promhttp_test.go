package promhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor/promhttp"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// TestAgainstPrometheus reads targets and series from a real Prometheus scraping a simulated
// Envoy (up) and a path that answers 404 (down).
func TestAgainstPrometheus(t *testing.T) {
	fleet := envoysim.DemoFleet(time.Now().Add(-time.Hour))
	envoy := httptest.NewServer(fleet.Handler(fleet.Pods[0], envoysim.Stock, nil))
	defer envoy.Close()
	srv := promtest.Start(t, []promtest.Target{
		{URL: envoy.URL + "/stats/prometheus"},
		{URL: envoy.URL + "/metrics"},
	}, promtest.Options{ScrapeInterval: time.Second})
	srv.WaitForSeries(t, "envoy_cluster_upstream_rq_total", 1, time.Minute)
	srv.WaitForSeries(t, "up", 2, time.Minute)

	c, err := promhttp.New(srv.URL(), nil)
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
	if up := health[envoy.URL+"/stats/prometheus"]; up.Health != doctor.HealthUp || up.ScrapePool != "target-0" {
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
	if _, err := c.HasSeries(ctx, "{"); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Errorf("HasSeries of a bad selector: %v, want the API's bad_data error", err)
	}
}

// TestPathPrefix checks that a base URL with a path, such as the API server's service proxy,
// keeps its path, and that a non-API answer becomes an error naming the status.
func TestPathPrefix(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		if strings.HasSuffix(r.URL.Path, "/targets") {
			http.Error(w, "no endpoints available for service", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":[]}`))
	}))
	defer srv.Close()
	c, err := promhttp.New(srv.URL+"/api/v1/namespaces/team/services/prometheus-web:web/proxy/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := c.HasSeries(context.Background(), "up"); err != nil || ok {
		t.Errorf("HasSeries = %v, %v", ok, err)
	}
	if want := "/api/v1/namespaces/team/services/prometheus-web:web/proxy/api/v1/series"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
	_, err = c.Targets(context.Background())
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "no endpoints available") {
		t.Errorf("Targets: %v, want the 503 and its body", err)
	}
	if _, err := promhttp.New("127.0.0.1:9090", nil); err == nil {
		t.Error("New accepted a URL without a scheme")
	}
}
