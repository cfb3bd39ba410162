//go:build e2e

package traffic_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/rulefile"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// counting counts the queries of one text that pass through it.
type counting struct {
	traffic.Querier
	text string
	n    atomic.Int64
}

func (c *counting) Query(ctx context.Context, q string, at time.Time) (traffic.Result, error) {
	if q == c.text {
		c.n.Add(1)
	}
	return c.Querier.Query(ctx, q, at)
}

// TestRulesReuseMatchesAFreshRead walks a rules collector through ten seconds of a real
// Prometheus that scrapes a simulated fleet every second and evaluates the stack's rules every
// two, at past instants half a second apart, so that the answers are settled. At every instant
// its frame must equal that of a new collector, which has nothing to reuse, to the last bit; and
// it must read the recorded series on its first two refreshes (the first knows no stamps) and
// then exactly when the rules were evaluated since the last refresh, as Prometheus tells by the
// newest timestamp of the recorded request rates.
func TestRulesReuseMatchesAFreshRead(t *testing.T) {
	t.Parallel()
	fleet := envoysim.ScaleFleet(time.Now().Add(-time.Hour), 40, 2)
	targets := promtest.ServeFleet(t, fleet, "edge")
	every := 2 * time.Second
	rules := rulefile.Write(t, manifests.DefaultTeamSpec("team-a", "edge"), every)
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second, RuleFiles: []string{rules}})
	busy := 0
	for _, c := range fleet.Clusters {
		if c.RPS > 0 {
			busy++
		}
	}
	srv.WaitForSeries(t, `envoy_cluster:upstream_rq_time_milliseconds_bucket:rate5m{namespace="edge",le="+Inf"}`, busy, time.Minute)
	// The walk below reads the request rates from its first step on: on a loaded machine their
	// group may be first evaluated after the quantiles' is.
	srv.WaitForSeries(t, promql.RecordRequestRate+`{namespace="edge"}`, 1, time.Minute)
	// Evaluations to walk through, all in the past, the first a second after the waits ended.
	time.Sleep(13 * time.Second)

	client, err := prom.New(prom.Config{URL: srv.URL(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("edge"), Source: traffic.SourceRules}
	newCollector := func(q traffic.Querier) *traffic.Collector {
		c, err := traffic.NewCollector(q, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	probe := newCollector(client)
	reads := &counting{Querier: client, text: probe.Queries()[0]}
	kept := newCollector(reads)

	ctx := context.Background()
	end := time.Now().Add(-2 * time.Second)
	var steps, evaluations, readCount int
	var lastEval float64
	for at := end.Add(-10 * time.Second); !at.After(end); at = at.Add(500 * time.Millisecond) {
		before := reads.n.Load()
		got, err := kept.Frame(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		want, err := newCollector(client).Frame(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := frameText(got), frameText(want); g != w || len(want.Rows) != len(fleet.Clusters) {
			t.Errorf("at %s the kept collector shows\n%s\na new one\n%s", at.Format(time.RFC3339Nano), g, w)
		}
		eval, err := srv.QueryAt(ctx, `max(timestamp(`+promql.RecordRequestRate+`{namespace="edge"}))`, at)
		if err != nil || len(eval) != 1 {
			t.Fatalf("last evaluation at %s: %v %v", at, eval, err)
		}
		evaluated := steps > 0 && eval[0].Value != lastEval
		if evaluated {
			evaluations++
		}
		lastEval = eval[0].Value
		read := reads.n.Load() > before
		if should := steps < 2 || evaluated; read != should {
			t.Errorf("step %d at %s (rules last evaluated at %v): read %v, want %v", steps, at.Format(time.RFC3339Nano), lastEval, read, should)
		}
		if read {
			readCount++
		}
		steps++
	}
	t.Logf("%d refreshes over %d evaluations: %d read the recorded series", steps, evaluations, readCount)
	if evaluations < 3 || readCount >= steps {
		t.Errorf("%d refreshes saw %d evaluations and read %d times: the walk proves nothing", steps, evaluations, readCount)
	}
}

// frameText prints a frame's rows sorted by name, and its listeners: every number to the last
// bit, NaN as NaN.
func frameText(f traffic.Frame) string {
	traffic.SortRows(f.Rows, traffic.SortName, false)
	return fmt.Sprintf("%+v\n%+v", f.Rows, f.Listeners)
}
