package traffic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	promengine "github.com/prometheus/prometheus/promql"
	"golang.org/x/sync/errgroup"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// RangeQuerier runs one PromQL range query. pkg/prom and the demo implement it next to Querier;
// a collector whose Querier does not has no History.
type RangeQuerier interface {
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, []string, error)
}

// ErrNoRangeQueries is History's answer when the Querier cannot run range queries.
var ErrNoRangeQueries = errors.New("this Prometheus client runs no range queries")

// History is the recent past of every cluster's trend numbers: RPS, success and the latency
// percentiles at each step of a span, computed by the same expressions as a refresh, so a
// step's numbers are the ones a refresh at that instant would have shown.
type History struct {
	// Start is the instant of the first step; step i is at Start + i×Step.
	Start time.Time
	Step  time.Duration
	// Steps is the number of steps, the length of every Trend's slices.
	Steps  int
	Window time.Duration
	Source Source
	// Clusters holds one Trend per cluster name that had a number at any step.
	Clusters map[string]Trend
	// Warnings are what Prometheus attached to its answers, deduplicated.
	Warnings []string
}

// At is the instant of step i.
func (h History) At(i int) time.Time { return h.Start.Add(time.Duration(i) * h.Step) }

// Trend is one cluster's numbers at each step of a History, oldest first; NoData where
// Prometheus had none or answered a number outside its domain.
type Trend struct {
	RPS, Success, P50, P90, P99 []float64
}

// maxHistorySteps caps the steps of one History: every answer is held in memory at once.
const maxHistorySteps = 1441

// HistoryQueries lists the range queries History sends: one per trend number (the cluster
// queries of a refresh but requests in flight), whatever the number of clusters.
func (c *Collector) HistoryQueries() []string {
	var out []string
	for _, q := range c.frame {
		if q.trend() {
			out = append(out, q.text)
		}
	}
	return out
}

// trend reports whether q fills a number of Trend: a cluster query that is not the requests in
// flight or an error rate (query.untrended).
func (q query) trend() bool { return q.listener == nil && !q.untrended }

// History reads the trend numbers of every cluster over span up to at, one step apart: one
// range query per trend number (HistoryQueries), all at once, whatever the number of clusters.
// The recording rules' success ratio and percentiles are derived from the recorded sums of each
// step as a refresh derives them.
func (c *Collector) History(ctx context.Context, at time.Time, span, step time.Duration) (History, error) {
	rq, ok := c.q.(RangeQuerier)
	if !ok {
		return History{}, ErrNoRangeQueries
	}
	if step <= 0 || span < 0 {
		return History{}, fmt.Errorf("a history needs a positive step and a span of 0 or more, not %s over %s", step, span)
	}
	steps := int(span/step) + 1
	if steps > maxHistorySteps {
		return History{}, fmt.Errorf("a history of %d steps is more than the %d one read may hold; use a longer step", steps, maxHistorySteps)
	}
	start := at.Add(-time.Duration(steps-1) * step)
	var queries []query
	for _, q := range c.frame {
		if q.trend() {
			queries = append(queries, q)
		}
	}
	answers := make([]model.Matrix, len(queries))
	warnings := make([][]string, len(queries))
	g, gctx := errgroup.WithContext(ctx)
	for i, q := range queries {
		g.Go(func() error {
			m, w, err := rq.QueryRange(gctx, q.text, start, at, step)
			answers[i], warnings[i] = m, w
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return History{}, err
	}
	h := History{Start: start, Step: step, Steps: steps, Window: c.cfg.Window, Source: c.cfg.Source}
	for _, w := range warnings {
		h.Warnings = appendNew(h.Warnings, w...)
	}
	h.Clusters = c.foldHistory(queries, answers, start, step, steps)
	return h, nil
}

// foldHistory folds range answers into one row per cluster and step, finishes every row as a
// refresh finishes its rows, and keeps their trend numbers.
func (c *Collector) foldHistory(queries []query, answers []model.Matrix, start time.Time, step time.Duration, steps int) map[string]Trend {
	rules := c.cfg.Source == SourceRules
	parts := map[string][]rowParts{}
	for i, q := range queries {
		for _, s := range answers[i] {
			name := string(s.Metric[model.LabelName(q.label)])
			if rules && name == "" {
				continue // as in a refresh: a recorded series of no cluster
			}
			var le float64
			if q.histogram {
				var err error
				if le, err = parseBound(string(s.Metric[model.BucketLabel])); err != nil {
					continue
				}
			}
			rows, ok := parts[name]
			if !ok {
				rows = make([]rowParts, steps)
				for j := range rows {
					rows[j] = rowParts{
						Row:       Row{RPS: NoData, Success: NoData, P50: NoData, P90: NoData, P99: NoData, Active: NoData},
						responses: NoData, not5xx: NoData,
					}
				}
				parts[name] = rows
			}
			for _, p := range s.Values {
				j, ok := stepOf(p.Timestamp.Time(), start, step, steps)
				if !ok {
					continue
				}
				r := &rows[j]
				if q.histogram {
					r.buckets[q.unit] = append(r.buckets[q.unit], promengine.Bucket{UpperBound: le, Count: float64(p.Value)})
					continue
				}
				q.into(r, float64(p.Value))
			}
		}
	}
	out := make(map[string]Trend, len(parts))
	for name, rows := range parts {
		t := Trend{
			RPS: make([]float64, steps), Success: make([]float64, steps),
			P50: make([]float64, steps), P90: make([]float64, steps), P99: make([]float64, steps),
		}
		for j := range rows {
			r := &rows[j]
			if c.fromSums {
				r.Success = recordedSuccess(r.responses, r.not5xx)
				recordedLatency(r)
			}
			checkRow(&r.Row)
			t.RPS[j], t.Success[j], t.P50[j], t.P90[j], t.P99[j] = r.RPS, r.Success, r.P50, r.P90, r.P99
		}
		out[name] = t
	}
	return out
}

// stepOf is the index of the step at instant t, if t is one (within a millisecond, Prometheus'
// resolution).
func stepOf(t, start time.Time, step time.Duration, steps int) (int, bool) {
	d := t.Sub(start)
	if d < -time.Millisecond {
		return 0, false
	}
	j := int(math.Round(float64(d) / float64(step)))
	if j >= steps || (d-time.Duration(j)*step).Abs() > time.Millisecond {
		return 0, false
	}
	return j, true
}

// parseBound reads a bucket's le label; NaN is no bound.
func parseBound(s string) (float64, error) {
	le, err := strconv.ParseFloat(s, 64)
	if err == nil && math.IsNaN(le) {
		err = errors.New("NaN bucket bound")
	}
	return le, err
}

// History settles the dialect and source if they are not known yet, then reads the history.
func (a *Auto) History(ctx context.Context, at time.Time, span, step time.Duration) (History, error) {
	c, err := a.collector(ctx, at)
	if err != nil {
		return History{}, err
	}
	return c.History(ctx, at, span, step)
}

// ClusterHistory is History for one cluster only, for a drill-down's charts: the same queries,
// narrowed to the cluster's label value (quoted by the selector, never spliced), or to the
// clusters of a route's group.
func (c *Collector) ClusterHistory(ctx context.Context, at time.Time, span, step time.Duration, cluster string) (History, error) {
	cfg := c.cfg
	label := cfg.Dialect.Cluster
	if cfg.Source == SourceRules {
		label = promql.LabelCluster
	}
	cfg.Selector, cfg.Alerts = c.narrow(cfg.Selector, label, cluster), false
	one, err := NewCollector(c.q, cfg)
	if err != nil {
		return History{}, err
	}
	return one.History(ctx, at, span, step)
}

// ClusterHistory settles the dialect and source if they are not known yet, then reads one
// cluster's history.
func (a *Auto) ClusterHistory(ctx context.Context, at time.Time, span, step time.Duration, cluster string) (History, error) {
	c, err := a.collector(ctx, at)
	if err != nil {
		return History{}, err
	}
	return c.ClusterHistory(ctx, at, span, step, cluster)
}
