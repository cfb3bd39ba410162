//go:build e2e

package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"

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
// stack's default evaluation interval (30 s). The fleet runs one Envoy pod, the least the rules
// can save (they aggregate the pods away, a raw refresh sums them), and three, as a Deployment
// with replicas does.
//
// A rules refresh reads the recorded series only when the rules were evaluated since its last
// read; otherwise it asks for one cluster's stamps and reads the listeners. Metrics:
//   - rules-ms: a rules refresh as top runs it, every two seconds (or as fast as the loop goes),
//     with rules-reads the share of them that read the recorded series;
//   - reread-ms: a rules refresh right after an evaluation (Collector.Reread), which reads them;
//   - raw-ms, and the ratios ratio = rules-ms / raw-ms (goal ≤ 0.1) and ratio-reread;
//   - rule-eval-ms, Prometheus' own time for its last evaluation of the rule group: the work the
//     rules move out of every refresh into every evaluation;
//   - rules-bare-ms, to tell Prometheus' share from the plugin's: the reading refresh's queries
//     sent concurrently by a bare HTTP client that reads the answers without decoding them;
//   - ratio-reread-uncompressed: ratio-reread with uncompressed answers (--disable-compression).
func BenchmarkTopRefreshRules(b *testing.B) {
	for _, pods := range []int{1, 3} {
		b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) { benchRefreshRules(b, 2000, pods) })
	}
}

// topInterval is top's default refresh interval (--interval).
const topInterval = 2 * time.Second

func benchRefreshRules(b *testing.B, clusters, pods int) {
	fleet := envoysim.ScaleFleet(time.Now().Add(-time.Hour), clusters, pods)
	targets := promtest.ServeFleet(b, fleet, "edge")
	every, err := model.ParseDuration(manifests.DefaultEvaluationInterval)
	if err != nil {
		b.Fatal(err)
	}
	rules := rulefile.Write(b, manifests.DefaultTeamSpec("team-a", "edge"), time.Duration(every))
	srv := promtest.Start(b, targets, promtest.Options{ScrapeInterval: 5 * time.Second, ScrapeTimeout: 5 * time.Second, RuleFiles: []string{rules}})
	srv.WaitForSeries(b, `envoy_cluster_upstream_rq_total`, clusters*pods, 3*time.Minute)
	busy := 0
	for _, c := range fleet.Clusters {
		if c.RPS > 0 {
			busy++
		}
	}
	// The first evaluation may come before two scrapes; the one after has every series.
	srv.WaitForSeries(b, `envoy_cluster:upstream_rq_time_milliseconds_bucket:rate5m{namespace="edge",le="+Inf"}`, busy, 3*time.Minute)

	// collectors builds a raw and a rules collector on one client; uncompressed asks for plain
	// answers (--disable-compression). reads counts the reads of the recorded request rates.
	readRPS, err := promql.Check(promql.RecordedRequestRate(promql.Namespace("edge")))
	if err != nil {
		b.Fatal(err)
	}
	var reads atomic.Int64
	collectors := func(uncompressed bool) (raw, recorded *traffic.Collector) {
		pc, err := prom.New(prom.Config{URL: srv.URL(), Timeout: time.Minute, DisableCompression: uncompressed})
		if err != nil {
			b.Fatal(err)
		}
		client := &countingQuerier{Querier: pc, text: readRPS, n: &reads}
		cfg := traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("edge"), Window: time.Minute}
		if raw, err = traffic.NewCollector(client, cfg); err != nil {
			b.Fatal(err)
		}
		cfg.Source = traffic.SourceRules
		if recorded, err = traffic.NewCollector(client, cfg); err != nil {
			b.Fatal(err)
		}
		return raw, recorded
	}
	raw, recorded := collectors(false)
	_, reread := collectors(false)
	plainRaw, plainReread := collectors(true)
	if q := recorded.Queries()[0]; q != readRPS {
		b.Fatalf("the rules refresh reads the request rates with %s, not %s", q, readRPS)
	}

	// Warm both paths (connections, Prometheus' caches) before measuring, and check that both
	// see every cluster.
	ctx := context.Background()
	for i, c := range []*traffic.Collector{raw, recorded, reread, plainRaw, plainReread} {
		if f, err := c.Frame(ctx, time.Now()); err != nil || len(f.Rows) != clusters {
			b.Fatalf("frame of collector %d (raw, recorded, reread, plain raw, plain reread): %v, %d rows", i, err, len(f.Rows))
		}
	}
	httpClient := &http.Client{Timeout: time.Minute}
	queries := recorded.Queries()
	bare := func(at time.Time) {
		if err := bareRefresh(ctx, httpClient, srv.URL(), queries, at, discard); err != nil {
			b.Fatal(err)
		}
	}
	bare(time.Now())

	var fromRules, fromReread, fromRaw, fromBare, plainRules, plainRawTime time.Duration
	frame := func(c *traffic.Collector, at time.Time, total *time.Duration) {
		start := time.Now()
		if _, err := c.Frame(ctx, at); err != nil {
			b.Fatal(err)
		}
		*total += time.Since(start)
	}
	readsBefore := reads.Load()
	b.ResetTimer()
	for range b.N {
		at := time.Now()
		frame(recorded, at, &fromRules)
		frame(raw, at, &fromRaw)
		reread.Reread()
		frame(reread, at, &fromReread)
		start := time.Now()
		bare(at)
		fromBare += time.Since(start)
		plainReread.Reread()
		frame(plainReread, at, &plainRules)
		frame(plainRaw, at, &plainRawTime)
		// At most one iteration per refresh interval of top, so that the steady collector sees
		// as many evaluations per refresh as top does.
		b.StopTimer()
		time.Sleep(time.Until(at.Add(topInterval)))
		b.StartTimer()
	}
	b.StopTimer()
	// Every iteration rereads twice; the rest are the steady collector's reads.
	steadyReads := reads.Load() - readsBefore - 2*int64(b.N)
	perRefresh := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(perRefresh(fromRules), "rules-ms")
	b.ReportMetric(float64(steadyReads)/float64(b.N), "rules-reads")
	b.ReportMetric(perRefresh(fromReread), "reread-ms")
	b.ReportMetric(perRefresh(fromRaw), "raw-ms")
	b.ReportMetric(perRefresh(fromBare), "rules-bare-ms")
	b.ReportMetric(float64(fromRules)/float64(fromRaw), "ratio")
	b.ReportMetric(float64(fromReread)/float64(fromRaw), "ratio-reread")
	b.ReportMetric(float64(plainRules)/float64(plainRawTime), "ratio-reread-uncompressed")
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

// countingQuerier counts in n the queries of one text it passes on.
type countingQuerier struct {
	traffic.Querier
	text string
	n    *atomic.Int64
}

func (c *countingQuerier) Query(ctx context.Context, q string, at time.Time) (traffic.Result, error) {
	if q == c.text {
		c.n.Add(1)
	}
	return c.Querier.Query(ctx, q, at)
}
