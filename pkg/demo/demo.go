// Package demo is an in-process Prometheus for `top --demo`: a simulated Envoy fleet is scraped
// into an in-memory store as time passes and queried with Prometheus' own PromQL engine, so the
// demo runs the very queries top sends a real Prometheus, with no cluster and no server.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/internal/memstore"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	promteam "github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Defaults of the simulated scrapes.
const (
	ScrapeInterval = 5 * time.Second
	// history is how much data at least exists when the demo starts, so every rate window up
	// to 10m has answers at once; the alerting rules' history needs more (see alertHistory).
	history = 10 * time.Minute
	// Namespace is where the simulated Envoys run.
	Namespace = "edge"
	// ruleHistory is how far back the rules are evaluated at every scrape when the demo starts:
	// top reads only the latest values of the recording rules.
	ruleHistory = time.Minute
	// alertHistory is how far back the rules are first evaluated when the demo has alerting
	// rules: an alert whose `for` is up to alertHistory-historyStep (the 5m of the 5xx alert)
	// already fires when the demo starts; a longer one is still pending, as on a Prometheus that
	// started alertHistory ago.
	alertHistory = 6 * time.Minute
	// historyStep is how often the rules are evaluated before ruleHistory: a rule group's
	// interval rather than every scrape, so the demo starts fast.
	historyStep = 30 * time.Second
	// fleetAge is how long the default fleet has run when the demo starts: long enough for
	// the same time a week ago to have traffic.
	fleetAge = 8 * 24 * time.Hour
	// pastGrid is the scrape interval of the stretches of the distant past written on demand
	// (see ensurePast), and pastRuleGrid the rules' evaluation interval there.
	pastGrid     = 15 * time.Second
	pastRuleGrid = 30 * time.Second
	// pastLookback is how much more than its longest range a query of the distant past needs:
	// the lookback of an instant selector (5m) and the window of the recorded rates it reads.
	pastLookback = 5*time.Minute + promteam.RuleWindow
	// liveKeep is how much of the live scrapes a long-running demo keeps: the longest stretch
	// top reads (a 1h window an hour ago; the drill-down's hour of a 1h window) and the lookback
	// before it. Older live scrapes are deleted trimEvery at a time; a query that reaches back
	// further reads the past as ensurePast writes it.
	liveKeep  = 2*time.Hour + pastLookback
	trimEvery = 30 * time.Minute
)

// Querier answers PromQL over the simulated fleet. It implements traffic.Querier.
type Querier struct {
	fleet    *envoysim.Fleet
	dialect  envoysim.Dialect
	interval time.Duration
	history  time.Duration // how much raw data a scrape catches up at most
	engine   *promql.Engine
	db       *memstore.Store

	mu   sync.Mutex
	next time.Time // the next scrape not yet appended
	// rules are the stack's recording rules, then its alerting rules, evaluated in that order as
	// a team's Prometheus would, so top's --source rules and its alerts work on the demo too.
	// They are evaluated every historyStep from rulesFrom on and after every scrape from
	// everyScrapeFrom on.
	rules           []*ruleState
	rulesFrom       time.Time
	everyScrapeFrom time.Time
	// liveFrom is the first scrape of the recent history and of the live scrapes after it.
	// A query of an instant before it (top's comparison with an hour, a day or a week ago)
	// first writes the stretch of the past it reads, on pastGrid, out of order: pastScraped and
	// pastEvaluated hold the instants written (unix milliseconds).
	liveFrom      time.Time
	pastScraped   map[int64]bool
	pastEvaluated map[int64]bool
}

// ruleState is one rule and the series it wrote at its last evaluation, which get a stale
// marker when an evaluation no longer writes them, as in a rule group.
type ruleState struct {
	rule rule
	last map[string]labels.Labels
}

// Options configure a demo; the zero value is the stock-Envoy demo fleet.
type Options struct {
	Fleet   *envoysim.Fleet // default: envoysim.DemoFleet started an hour before now
	Dialect envoysim.Dialect
	// stack is the team stack whose rules the demo evaluates; default
	// manifests.DefaultTeamSpec("demo", Namespace).
	stack *manifests.TeamSpec
}

// New starts the demo at now with history already scraped.
func New(now time.Time) (*Querier, error) { return NewWithOptions(now, Options{}) }

// NewWithOptions starts a demo of a chosen fleet and dialect.
func NewWithOptions(now time.Time, opts Options) (*Querier, error) {
	fleet := opts.Fleet
	if fleet == nil {
		fleet = envoysim.DemoFleet(now.Add(-fleetAge))
		envoysim.DemoHistory(fleet, now)
	}
	if err := fleet.Validate(); err != nil {
		return nil, err
	}
	spec := manifests.DefaultTeamSpec("demo", Namespace)
	if opts.stack != nil {
		spec = *opts.stack
	}
	evaluated, alerting, err := stackRules(spec)
	if err != nil {
		return nil, err
	}
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:        slog.New(slog.DiscardHandler),
		MaxSamples:    50_000_000,
		Timeout:       time.Minute,
		LookbackDelta: 5 * time.Minute,
	})
	q := &Querier{
		rules:           evaluated,
		rulesFrom:       now.Add(-ruleHistory),
		everyScrapeFrom: now.Add(-ruleHistory),
		fleet:           fleet,
		dialect:         opts.Dialect,
		interval:        ScrapeInterval,
		history:         history,
		engine:          engine,
		db:              memstore.New(),
		pastScraped:     map[int64]bool{},
		pastEvaluated:   map[int64]bool{},
	}
	if alerting {
		// The alerts' `for` runs from alertHistory ago; the rate windows of the recording rules
		// they read need raw data from a window before that.
		q.rulesFrom = now.Add(-alertHistory).Truncate(historyStep)
		q.history = max(history, now.Sub(q.rulesFrom)+promteam.RuleWindow)
	}
	q.next = now.Add(-q.history).Truncate(ScrapeInterval)
	q.liveFrom = q.next
	if err := q.scrapeUntil(context.Background(), now); err != nil {
		return nil, err
	}
	return q, nil
}

// scrapeUntil appends every scrape due up to at. Callers hold mu or own q exclusively.
func (q *Querier) scrapeUntil(ctx context.Context, at time.Time) error {
	if earliest := at.Add(-q.history); q.next.Before(earliest) {
		q.next = earliest.Truncate(q.interval)
	}
	for !q.next.After(at) {
		if err := q.scrape(q.next); err != nil {
			return err
		}
		if q.evaluatesAt(q.next) {
			if err := q.evalRules(ctx, q.next, true); err != nil {
				return err
			}
		}
		q.next = q.next.Add(q.interval)
	}
	if cutoff := q.next.Add(-liveKeep).Truncate(pastGrid); cutoff.Sub(q.liveFrom) >= trimEvery {
		q.db.DeleteRange(q.liveFrom.UnixMilli(), cutoff.UnixMilli())
		q.liveFrom = cutoff
	}
	return nil
}

// scrape appends what every pod of the fleet shows at t, all at once.
func (q *Querier) scrape(t time.Time) error {
	ts := t.UnixMilli()
	var batch []memstore.Sample
	for i, pod := range q.fleet.Pods {
		target := labels.FromStrings(
			"instance", fmt.Sprintf("10.42.0.%d:9901", 10+i),
			"job", "envoy",
			"namespace", Namespace,
			"pod", pod,
		)
		err := q.fleet.TargetSamples(pod, t, q.dialect, target, func(l labels.Labels, v float64) {
			batch = append(batch, memstore.Sample{Labels: l, T: ts, V: v})
		})
		if err != nil {
			return fmt.Errorf("demo scrape: %w", err)
		}
	}
	q.db.Append(batch)
	return nil
}

// ensurePast writes the stretch of the past before liveFrom that query at instant at reads, if
// it is not written yet: the fleet's scrapes on pastGrid from its longest range and
// pastLookback before at, then the recording rules on pastRuleGrid over the lookback before at
// (the alerting rules keep their state in the present only).
func (q *Querier) ensurePast(ctx context.Context, query string, at time.Time) error {
	if !at.Before(q.liveFrom) {
		return nil
	}
	from := at.Add(-longestRange(query) - pastLookback).Truncate(pastGrid)
	for t := from; !t.After(at) && t.Before(q.liveFrom); t = t.Add(pastGrid) {
		if t.Before(q.fleet.Start) || q.pastScraped[t.UnixMilli()] {
			continue
		}
		if err := q.scrape(t); err != nil {
			return err
		}
		q.pastScraped[t.UnixMilli()] = true
	}
	for t := at.Add(-5 * time.Minute).Truncate(pastRuleGrid); !t.After(at) && t.Before(q.liveFrom); t = t.Add(pastRuleGrid) {
		if len(q.rules) == 0 || q.pastEvaluated[t.UnixMilli()] {
			continue
		}
		if err := q.evalRules(ctx, t, false); err != nil {
			return err
		}
		q.pastEvaluated[t.UnixMilli()] = true
	}
	return nil
}

// longestRange is the longest range selector or subquery range in query; 0 when it has none or
// does not parse (the engine then says why).
func longestRange(query string) time.Duration {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(query)
	if err != nil {
		return 0
	}
	var longest time.Duration
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			longest = max(longest, n.Range)
		case *parser.SubqueryExpr:
			longest = max(longest, n.Range)
		}
		return nil
	})
	return longest
}

// evaluatesAt reports whether the rules are evaluated after the scrape at t.
func (q *Querier) evaluatesAt(t time.Time) bool {
	if len(q.rules) == 0 || t.Before(q.rulesFrom) {
		return false
	}
	return !t.Before(q.everyScrapeFrom) || t.Truncate(historyStep).Equal(t)
}

// stackRules are the rules of spec the demo evaluates, recording rules first, and whether there
// are alerting rules among them. The alerts that read recording rules the demo does not record,
// such as the burn-rate windows of an SLO, find no series and are never active.
func stackRules(spec manifests.TeamSpec) ([]*ruleState, bool, error) {
	recording, err := spec.RecordingRules()
	if err != nil {
		return nil, false, err
	}
	alerts, err := spec.AlertingRules()
	if err != nil {
		return nil, false, err
	}
	p := parser.NewParser(parser.Options{})
	var out []*ruleState
	for _, r := range recording {
		if _, err := p.ParseExpr(r.Expr); err != nil {
			return nil, false, fmt.Errorf("demo rule %s: %w", r.Record, err)
		}
		out = append(out, &ruleState{rule: &recordingRule{record: r.Record, expr: r.Expr}})
	}
	for _, r := range alerts {
		if _, err := p.ParseExpr(r.Expr); err != nil {
			return nil, false, fmt.Errorf("demo alert %s: %w", r.Alert, err)
		}
		out = append(out, &ruleState{rule: &alertingRule{alert: r.Alert, expr: r.Expr, hold: r.For, labels: labels.FromMap(r.Labels)}})
	}
	return out, len(alerts) > 0, nil
}

// evalRules evaluates the rules at at and appends what they write, rule by rule, as a rule group
// does: a rule reads what the rules before it recorded at the same time, an alerting rule keeps
// its pending and firing alerts from one evaluation to the next, and a series a rule no longer
// writes gets a stale marker. In the distant past (present false) only the recording rules are
// evaluated, without stale markers: the rules' state is the present's.
func (q *Querier) evalRules(ctx context.Context, at time.Time, present bool) error {
	ts := at.UnixMilli()
	var buf []byte
	for _, r := range q.rules {
		if _, recording := r.rule.(*recordingRule); !present && !recording {
			continue
		}
		vec, err := r.rule.eval(ctx, at, q.instant)
		if err != nil {
			return fmt.Errorf("demo rule %s: %w", r.rule.name(), err)
		}
		written := make(map[string]labels.Labels, len(vec))
		batch := make([]memstore.Sample, 0, len(vec))
		for _, s := range vec {
			if s.H != nil {
				continue
			}
			buf = s.Metric.Bytes(buf)
			written[string(buf)] = s.Metric
			batch = append(batch, memstore.Sample{Labels: s.Metric, T: ts, V: s.F})
		}
		for key, l := range r.last {
			if _, ok := written[key]; ok || !present {
				continue
			}
			batch = append(batch, memstore.Sample{Labels: l, T: ts, V: math.Float64frombits(value.StaleNaN)})
		}
		q.db.Append(batch)
		if present {
			r.last = written
		}
	}
	return nil
}

// instant evaluates query at at, as a rule group's query function does: a scalar is a vector
// of one sample without labels.
func (q *Querier) instant(ctx context.Context, query string, at time.Time) (promql.Vector, error) {
	pq, err := q.engine.NewInstantQuery(ctx, q.db, nil, query, at)
	if err != nil {
		return nil, err
	}
	defer pq.Close()
	res := pq.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v, nil
	case promql.Scalar:
		return promql.Vector{promql.Sample{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
	default:
		return nil, fmt.Errorf("rule result is a %s, not a vector or scalar", res.Value.Type())
	}
}

// Query scrapes the simulated fleet up to at (or writes the stretch of the past it reads), then
// evaluates query there.
func (q *Querier) Query(ctx context.Context, query string, at time.Time) (traffic.Result, error) {
	q.mu.Lock()
	err := q.scrapeUntil(ctx, at)
	if err == nil {
		err = q.ensurePast(ctx, query, at)
	}
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

// Close releases the demo's storage; the store is garbage once the Querier is.
func (q *Querier) Close() error { return nil }

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
