//go:build e2e

package plugin

import (
	"context"
	"fmt"
	"net/http"
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
//
// Sub-benchmarks: direct reaches each Prometheus by URL, so the 20 servers' work on the same
// cores bounds the refresh; tunnel-50ms adds a round trip of 50 ms before every request, as a
// tunnel to a remote cluster does, so waiting bounds it; tunnel-50ms-concurrency-20 reaches every
// team at once.
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
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 32
	for _, v := range []struct {
		name        string
		delay       time.Duration
		concurrency int
	}{
		{"direct", 0, defaultConcurrency},
		{"tunnel-50ms", 50 * time.Millisecond, defaultConcurrency},
		{"tunnel-50ms-concurrency-20", 50 * time.Millisecond, teams},
	} {
		b.Run(v.name, func(b *testing.B) {
			reader := teamsReader{
				prom: &PrometheusFlags{Timeout: 30 * time.Second}, concurrency: v.concurrency, traffic: &cfg,
				connect: func(_ context.Context, s kube.StackSummary) (teamConn, error) {
					pc := prom.Config{URL: urls[s.Team], Timeout: 30 * time.Second}
					if v.delay > 0 {
						pc.Transport = roundTripDelay{delay: v.delay, next: base}
					}
					c, err := prom.New(pc)
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
		})
	}
}

// roundTripDelay waits delay before it passes each request on to next: the round trip a tunnel to
// a remote cluster adds to every request.
type roundTripDelay struct {
	delay time.Duration
	next  http.RoundTripper
}

func (d roundTripDelay) RoundTrip(r *http.Request) (*http.Response, error) {
	t := time.NewTimer(d.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return d.next.RoundTrip(r)
	case <-r.Context().Done():
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, r.Context().Err()
	}
}
