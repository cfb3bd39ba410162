//go:build e2e

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/thanostest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// BenchmarkTopRefreshThanos measures one refresh of the collector through a Thanos Query over
// the sidecars of two Prometheus 3 replicas scraping the same simulated fleet (what a --thanos
// stack gives top), alternating with one refresh against one of the replicas directly, which
// holds the same series. Metrics: both in milliseconds per refresh, their ratio, and the HTTP
// requests of each kind of refresh (they must be equal: going through the Query adds no query).
func BenchmarkTopRefreshThanos(b *testing.B) {
	for _, n := range []int{200, 2000} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) { benchRefreshThanos(b, n) })
	}
}

// countingTransport counts the requests that go through it.
type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func benchRefreshThanos(b *testing.B, clusters int) {
	fleet := envoysim.ScaleFleet(time.Now().Add(-time.Hour), clusters, 1)
	envoy := httptest.NewServer(fleet.Handler(fleet.Pods[0], envoysim.Stock, nil))
	b.Cleanup(envoy.Close)
	target := []promtest.Target{{URL: envoy.URL + "/stats/prometheus", Labels: map[string]string{"namespace": "edge", "pod": fleet.Pods[0]}}}
	var endpoints []string
	var direct *promtest.Server
	for _, replica := range []string{"r0", "r1"} {
		srv := promtest.Start(b, target, promtest.Options{
			ScrapeInterval: 5 * time.Second, ScrapeTimeout: 5 * time.Second,
			Binary:         tools.Path(b, "prometheus3"),
			ExternalLabels: map[string]string{"prometheus_replica": replica},
		})
		sidecar := thanostest.StartSidecar(b, replica, srv.URL(), srv.DataDir(), thanostest.SidecarOptions{})
		endpoints = append(endpoints, sidecar.GRPC)
		if direct == nil {
			direct = srv
		}
		srv.WaitForSeries(b, `envoy_cluster_upstream_rq_total`, clusters, 2*time.Minute)
	}
	query := thanostest.StartQuery(b, endpoints, thanostest.QueryOptions{ReplicaLabels: []string{"prometheus_replica"}})
	thanostest.WaitForStores(b, query.URL(), 2, time.Minute)
	time.Sleep(12 * time.Second) // two more scrapes, so every rate has points

	collector := func(cfg prom.Config) (*traffic.Collector, *countingTransport) {
		counter := &countingTransport{next: http.DefaultTransport}
		cfg.Timeout, cfg.Transport = time.Minute, counter
		client, err := prom.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		c, err := traffic.NewCollector(client, traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("edge"), Window: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		return c, counter
	}
	viaQuery, queryRequests := collector(thanosQueryConfig(query.URL()))
	viaProm, promRequests := collector(prom.Config{URL: direct.URL()})

	// Warm both paths, and check they see the same fleet: every cluster once, not once per replica.
	ctx := context.Background()
	at := time.Now()
	for name, c := range map[string]*traffic.Collector{"query": viaQuery, "prometheus": viaProm} {
		if f, err := c.Frame(ctx, at); err != nil || len(f.Rows) != clusters {
			b.Fatalf("frame through the %s: %v, %d rows, want %d", name, err, len(f.Rows), clusters)
		}
	}
	queryRequests.n.Store(0)
	promRequests.n.Store(0)

	var throughQuery, throughProm time.Duration
	b.ResetTimer()
	for range b.N {
		at := time.Now()
		start := time.Now()
		if _, err := viaQuery.Frame(ctx, at); err != nil {
			b.Fatal(err)
		}
		throughQuery += time.Since(start)
		start = time.Now()
		if _, err := viaProm.Frame(ctx, at); err != nil {
			b.Fatal(err)
		}
		throughProm += time.Since(start)
	}
	b.StopTimer()
	if q, p := queryRequests.n.Load(), promRequests.n.Load(); q != p {
		b.Errorf("a refresh through the Query sent %d requests, one against Prometheus %d", q, p)
	}
	b.ReportMetric(float64(throughQuery.Milliseconds())/float64(b.N), "query-ms")
	b.ReportMetric(float64(throughProm.Milliseconds())/float64(b.N), "prometheus-ms")
	b.ReportMetric(float64(throughQuery)/float64(throughProm), "ratio")
	b.ReportMetric(float64(queryRequests.n.Load())/float64(b.N), "requests/refresh")
}

// thanosQueryConfig is the client configuration top uses for a Thanos Query.
func thanosQueryConfig(url string) prom.Config { return prom.Config{URL: url, ThanosQuery: true} }
