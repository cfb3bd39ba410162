// Package demo is an in-process Prometheus for `top --demo`: a simulated Envoy fleet is scraped
// into a TSDB as time passes and queried with Prometheus' own PromQL engine, so the demo runs
// the very queries top sends a real Prometheus, with no cluster and no server.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Defaults of the simulated scrapes.
const (
	ScrapeInterval = 5 * time.Second
	// history is how much data exists when the demo starts, so every rate window up to 10m
	// has answers at once.
	history = 10 * time.Minute
	// Namespace is where the simulated Envoys run.
	Namespace = "edge"
	// ruleHistory is how far back the recording rules are evaluated when the demo starts: top
	// reads only their latest values.
	ruleHistory = time.Minute
)

// Querier answers PromQL over the simulated fleet. It implements traffic.Querier.
type Querier struct {
	fleet    *envoysim.Fleet
	dialect  envoysim.Dialect
	interval time.Duration
	engine   *promql.Engine

	mu   sync.Mutex
	db   *tsdb.DB
	dir  string
	next time.Time // the next scrape not yet appended
	// rules are the stack's recording rules, evaluated after every scrape from rulesFrom on,
	// as a team's Prometheus would, so top's --source rules works on the demo too.
	rules     []manifests.RecordingRule
	rulesFrom time.Time
}

// Options configure a demo; the zero value is the stock-Envoy demo fleet.
type Options struct {
	Fleet   *envoysim.Fleet // default: envoysim.DemoFleet started an hour before now
	Dialect envoysim.Dialect
}

// New starts the demo at now with history already scraped.
func New(now time.Time) (*Querier, error) { return NewWithOptions(now, Options{}) }

// NewWithOptions starts a demo of a chosen fleet and dialect.
func NewWithOptions(now time.Time, opts Options) (*Querier, error) {
	fleet := opts.Fleet
	if fleet == nil {
		fleet = envoysim.DemoFleet(now.Add(-time.Hour))
	}
	if err := fleet.Validate(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "promteam-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo storage: %w", err)
	}
	dbOpts := tsdb.DefaultOptions()
	dbOpts.RetentionDuration = int64(2 * time.Hour / time.Millisecond)
	db, err := tsdb.Open(dir, slog.New(slog.DiscardHandler), nil, dbOpts, nil)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("demo storage: %w", err)
	}
	rules, err := manifests.DefaultTeamSpec("demo", Namespace).RecordingRules()
	if err != nil {
		return nil, err
	}
	q := &Querier{
		rules:     rules,
		rulesFrom: now.Add(-ruleHistory),
		fleet:     fleet,
		dialect:   opts.Dialect,
		interval:  ScrapeInterval,
		engine: promql.NewEngine(promql.EngineOpts{
			Logger:        slog.New(slog.DiscardHandler),
			MaxSamples:    50_000_000,
			Timeout:       time.Minute,
			LookbackDelta: 5 * time.Minute,
		}),
		db:   db,
		dir:  dir,
		next: now.Add(-history).Truncate(ScrapeInterval),
	}
	if err := q.scrapeUntil(context.Background(), now); err != nil {
		_ = q.Close()
		return nil, err
	}
	return q, nil
}

// scrapeUntil appends every scrape due up to at. Callers hold mu or own q exclusively.
func (q *Querier) scrapeUntil(ctx context.Context, at time.Time) error {
	if earliest := at.Add(-history); q.next.Before(earliest) {
		q.next = earliest.Truncate(q.interval)
	}
	for !q.next.After(at) {
		app := q.db.Appender(ctx)
		ts := q.next.UnixMilli()
		for i, pod := range q.fleet.Pods {
			target := labels.FromStrings(
				"instance", fmt.Sprintf("10.42.0.%d:9901", 10+i),
				"job", "envoy",
				"namespace", Namespace,
				"pod", pod,
			)
			var appendErr error
			err := q.fleet.TargetSamples(pod, q.next, q.dialect, target, func(l labels.Labels, v float64) {
				if appendErr == nil {
					_, appendErr = app.Append(0, l, ts, v)
				}
			})
			if err == nil {
				err = appendErr
			}
			if err != nil {
				_ = app.Rollback()
				return fmt.Errorf("demo scrape: %w", err)
			}
		}
		if err := app.Commit(); err != nil {
			return fmt.Errorf("demo scrape: %w", err)
		}
		if !q.next.Before(q.rulesFrom) {
			if err := q.evalRules(ctx, q.next); err != nil {
				return err
			}
		}
		q.next = q.next.Add(q.interval)
	}
	return nil
}

// evalRules evaluates the recording rules at at and appends what they record, rule by rule, as a
// rule group does: a rule reads what the rules before it recorded at the same time.
func (q *Querier) evalRules(ctx context.Context, at time.Time) error {
	ts := at.UnixMilli()
	for _, r := range q.rules {
		pq, err := q.engine.NewInstantQuery(ctx, q.db, nil, r.Expr, at)
		if err != nil {
			return fmt.Errorf("demo rule %s: %w", r.Record, err)
		}
		res := pq.Exec(ctx)
		vec, err := res.Vector()
		if res.Err != nil {
			err = res.Err
		}
		if err != nil {
			pq.Close()
			return fmt.Errorf("demo rule %s: %w", r.Record, err)
		}
		app := q.db.Appender(ctx)
		for _, s := range vec {
			if s.H != nil {
				continue
			}
			b := labels.NewBuilder(s.Metric)
			b.Set(model.MetricNameLabel, r.Record)
			if _, err = app.Append(0, b.Labels(), ts, s.F); err != nil {
				break
			}
		}
		pq.Close()
		if err != nil {
			_ = app.Rollback()
			return fmt.Errorf("demo rule %s: %w", r.Record, err)
		}
		if err := app.Commit(); err != nil {
			return fmt.Errorf("demo rule %s: %w", r.Record, err)
		}
	}
	return nil
}

// Query scrapes the simulated fleet up to at, then evaluates query there.
func (q *Querier) Query(ctx context.Context, query string, at time.Time) (traffic.Result, error) {
	q.mu.Lock()
	err := q.scrapeUntil(ctx, at)
	q.mu.Unlock()
	if err != nil {
		return traffic.Result{}, err
	}
	pq, err := q.engine.NewInstantQuery(ctx, q.db, nil, query, at)
	if err != nil {
		return traffic.Result{}, fmt.Errorf("query %s: %w", query, err)
	}
	defer pq.Close()
	res := pq.Exec(ctx)
	if res.Err != nil {
		return traffic.Result{}, fmt.Errorf("query %s: %w", query, res.Err)
	}
	vec, err := res.Vector()
	if err != nil {
		return traffic.Result{}, fmt.Errorf("query %s: %w", query, err)
	}
	out := traffic.Result{Vector: make(traffic.Vector, 0, len(vec))}
	for _, s := range vec {
		if s.H != nil {
			continue
		}
		out.Vector = append(out.Vector, traffic.Sample{Metric: s.Metric, Value: s.F})
	}
	out.Warnings, out.Infos = res.Warnings.AsStrings(query, 10, 10)
	return out, nil
}

// Close releases the demo's storage.
func (q *Querier) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.db.Close()
	if rmErr := os.RemoveAll(q.dir); err == nil {
		err = rmErr
	}
	return err
}

// QueryRange scrapes the simulated fleet up to end, then evaluates query from start to end at step.
func (q *Querier) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, []string, error) {
	q.mu.Lock()
	err := q.scrapeUntil(ctx, end)
	q.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	pq, err := q.engine.NewRangeQuery(ctx, q.db, nil, query, start, end, step)
	if err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", query, err)
	}
	defer pq.Close()
	res := pq.Exec(ctx)
	if res.Err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", query, res.Err)
	}
	m, err := res.Matrix()
	if err != nil {
		return nil, nil, fmt.Errorf("query %s: %w", query, err)
	}
	out := make(model.Matrix, 0, len(m))
	for _, series := range m {
		metric := make(model.Metric, series.Metric.Len())
		series.Metric.Range(func(l labels.Label) { metric[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
		ss := &model.SampleStream{Metric: metric}
		for _, p := range series.Floats {
			ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.Time(p.T), Value: model.SampleValue(p.F)})
		}
		out = append(out, ss)
	}
	warnings, _ := res.Warnings.AsStrings(query, 10, 0)
	return out, warnings, nil
}
