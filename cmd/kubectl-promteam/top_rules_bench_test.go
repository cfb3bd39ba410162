package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/rulefile"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// BenchmarkTopRefreshRules measures, at 2,000 clusters, one collector refresh that reads the
// team's recording rules (--source rules) against one refresh that computes the same numbers
// from Envoy's own series over top's default 1m window (--source raw), alternating on the same
// Prometheus, which scrapes the fleet every 5 s and evaluates the stack's own rules at the
// stack's default evaluation interval (30 s). Metrics: rules and raw milliseconds per refresh
// and their ratio (goal ≤ 0.1), and rule-eval-ms, Prometheus' own time for its last evaluation
// of the rule group: the work the rules move out of every refresh into every evaluation. To tell
// Prometheus' share from the plugin's, rules-bare-ms is the rules refresh's queries sent
// concurrently by a bare HTTP client that reads the answers without decoding them.
func BenchmarkTopRefreshRules(b *testing.B) {
	const clusters = 2000
	fleet := envoysim.ScaleFleet(time.Now().Add(-time.Hour), clusters, 1)
	envoy := httptest.NewServer(fleet.Handler(fleet.Pods[0], envoysim.Stock, nil))
	b.Cleanup(envoy.Close)
	every, err := model.ParseDuration(manifests.DefaultEvaluationInterval)
	if err != nil {
		b.Fatal(err)
	}
	rules := rulefile.Write(b, manifests.DefaultTeamSpec("team-a", "edge"), time.Duration(every))
	srv := promtest.Start(b, []promtest.Target{{URL: envoy.URL + "/stats/prometheus", Labels: map[string]string{"namespace": "edge", "pod": fleet.Pods[0]}}},
		promtest.Options{ScrapeInterval: 5 * time.Second, ScrapeTimeout: 5 * time.Second, RuleFiles: []string{rules}})
	srv.WaitForSeries(b, `envoy_cluster_upstream_rq_total`, clusters, 2*time.Minute)
	busy := 0
	for _, c := range fleet.Clusters {
		if c.RPS > 0 {
			busy++
		}
	}
	// The first evaluation may come before two scrapes; the one after has every series.
	srv.WaitForSeries(b, `envoy_cluster:upstream_rq_time_seconds:p99_rate5m{namespace="edge"}`, busy, 3*time.Minute)

	client, err := prom.New(prom.Config{URL: srv.URL(), Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	cfg := traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("edge"), Window: time.Minute}
	raw, err := traffic.NewCollector(client, cfg)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Source = traffic.SourceRules
	recorded, err := traffic.NewCollector(client, cfg)
	if err != nil {
		b.Fatal(err)
	}

	// Warm both paths (connections, Prometheus' caches) before measuring, and check that both
	// see every cluster.
	ctx := context.Background()
	for _, c := range []*traffic.Collector{raw, recorded} {
		if f, err := c.Frame(ctx, time.Now()); err != nil || len(f.Rows) != clusters {
			b.Fatalf("%s frame: %v, %d rows", c.Source(), err, len(f.Rows))
		}
	}

	bare := &http.Client{Timeout: time.Minute}
	bareRefresh := func(at time.Time) {
		g, gctx := errgroup.WithContext(ctx)
		for _, q := range recorded.Queries() {
			g.Go(func() error {
				form := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64)}}
				req, err := http.NewRequestWithContext(gctx, http.MethodGet, srv.URL()+"/api/v1/query?"+form.Encode(), nil)
				if err != nil {
					return err
				}
				resp, err := bare.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("bare query: %s", resp.Status)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	bareRefresh(time.Now())

	var fromRules, fromRaw, fromBare time.Duration
	b.ResetTimer()
	for range b.N {
		at := time.Now()
		start := time.Now()
		if _, err := recorded.Frame(ctx, at); err != nil {
			b.Fatal(err)
		}
		fromRules += time.Since(start)
		start = time.Now()
		if _, err := raw.Frame(ctx, at); err != nil {
			b.Fatal(err)
		}
		fromRaw += time.Since(start)
		start = time.Now()
		bareRefresh(at)
		fromBare += time.Since(start)
	}
	b.StopTimer()
	perRefresh := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(perRefresh(fromRules), "rules-ms")
	b.ReportMetric(perRefresh(fromRaw), "raw-ms")
	b.ReportMetric(perRefresh(fromBare), "rules-bare-ms")
	b.ReportMetric(float64(fromRules)/float64(fromRaw), "ratio")
	b.ReportMetric(ruleGroupSeconds(b, srv.URL(), "promteam-envoy-red.rules")*1000, "rule-eval-ms")
}

// ruleGroupSeconds reads how long Prometheus' last evaluation of a rule group took from its own
// /metrics.
func ruleGroupSeconds(tb testing.TB, base, group string) float64 {
	tb.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "prometheus_rule_group_last_duration_seconds{") || !strings.Contains(line, ";"+group+`"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			tb.Fatalf("%s: %v", line, err)
		}
		return v
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	tb.Fatalf("Prometheus' /metrics has no prometheus_rule_group_last_duration_seconds for group %s", group)
	return 0
}
