//go:build e2e

package plugin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// BenchmarkTopAllTeams measures one `top -A` refresh over 20 teams, each with a real Prometheus
// scraping a simulated fleet of its own (20 clusters on 2 Envoys), alternating with the refresh of
// one of those teams alone, the same reader and queries. Metrics: both in milliseconds and their
// ratio, which concurrency (--concurrency 8) should keep at 2 or less.
func BenchmarkTopAllTeams(b *testing.B) {
	const teams = 20
	urls := map[string]string{}
	var stacks []kube.StackSummary
	var servers []*promtest.Server
	fleet := envoysim.ScaleFleet(time.Now().Add(-time.Hour), 20, 2)
	for i := range teams {
		team := fmt.Sprintf("team-%02d", i)
		srv := promtest.Start(b, promtest.ServeFleet(b, fleet, team), promtest.Options{ScrapeInterval: 2 * time.Second})
		urls[team] = srv.URL()
		servers = append(servers, srv)
		stacks = append(stacks, kube.StackSummary{Namespace: team, Team: team, Replicas: 1, Shards: 1})
	}
	for _, srv := range servers {
		srv.WaitForSeries(b, `envoy_cluster_upstream_rq_total`, len(fleet.Pods)*len(fleet.Clusters), time.Minute)
	}
	time.Sleep(10 * time.Second) // a few scrapes, so every rate has points

	cfg := traffic.Config{Selector: promql.Everything, Window: 30 * time.Second, Source: traffic.SourceRaw}
	reader := teamsReader{
		prom: &PrometheusFlags{Timeout: 30 * time.Second}, concurrency: defaultConcurrency, traffic: &cfg,
		connect: func(_ context.Context, s kube.StackSummary) (teamConn, error) {
			c, err := prom.New(prom.Config{URL: urls[s.Team], Timeout: 30 * time.Second})
			if err != nil {
				return teamConn{}, err
			}
			return teamConn{q: c, target: c.URL(), close: func() {}, backend: backendPrometheus}, nil
		},
	}
	refresh := func(stacks []kube.StackSummary) time.Duration {
		start := time.Now()
		for _, r := range reader.rows(b.Context(), stacks, time.Now()) {
			if !r.Reached() || !traffic.Known(r.RPS) {
				b.Fatalf("%s: %s, rps %v", r.Team, r.Reason, r.RPS)
			}
		}
		return time.Since(start)
	}
	var one, all time.Duration
	for b.Loop() {
		one += refresh(stacks[:1])
		all += refresh(stacks)
	}
	b.ReportMetric(float64(one.Milliseconds())/float64(b.N), "one-team-ms")
	b.ReportMetric(float64(all.Milliseconds())/float64(b.N), "all-teams-ms")
	b.ReportMetric(float64(all)/float64(one), "ratio")
}
