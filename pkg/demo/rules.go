package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/template"
)

// The demo evaluates the stack's rules as a Prometheus rule group does (rules/recording.go and
// rules/alerting.go of Prometheus): what a rule writes at an evaluation, and an alerting rule's
// pending and firing alerts from one evaluation to the next. What a team's Prometheus does
// beyond that (notifying an Alertmanager, keep_firing_for, restoring state after a restart) the
// demo has no use for.

// queryFunc evaluates an instant query, as a rule group's query function does.
type queryFunc func(ctx context.Context, query string, at time.Time) (promql.Vector, error)

// rule is a recording or an alerting rule.
type rule interface {
	name() string
	// eval evaluates the rule at at and returns the samples it writes.
	eval(ctx context.Context, at time.Time, query queryFunc) (promql.Vector, error)
}

var (
	errDuplicateSeries = errors.New("vector contains metrics with the same labelset after applying rule labels")
	errDuplicateAlert  = errors.New("vector contains metrics with the same labelset after applying alert labels")
)

// recordingRule writes its expression's result under the name record.
type recordingRule struct {
	record string
	expr   string
}

func (r *recordingRule) name() string { return r.record }

func (r *recordingRule) eval(ctx context.Context, at time.Time, query queryFunc) (promql.Vector, error) {
	vec, err := query(ctx, r.expr, at)
	if err != nil {
		return nil, err
	}
	seen := make(map[uint64]bool, len(vec))
	lb := labels.NewBuilder(labels.EmptyLabels())
	for i := range vec {
		lb.Reset(vec[i].Metric)
		lb.Set(model.MetricNameLabel, r.record)
		vec[i].Metric = lb.Labels()
		h := vec[i].Metric.Hash()
		if seen[h] {
			return nil, errDuplicateSeries
		}
		seen[h] = true
	}
	return vec, nil
}

// alertingRule keeps the alerts its expression makes active.
type alertingRule struct {
	alert  string
	expr   string
	hold   time.Duration // the rule's `for`
	labels labels.Labels // may hold templates
	active map[uint64]*activeAlert
}

type activeAlert struct {
	labels   labels.Labels
	activeAt time.Time
	firing   bool
}

func (r *alertingRule) name() string { return r.alert }

// eval makes every sample of the expression an active alert, pending until it has been active
// for the rule's `for`, then firing; an alert whose sample is gone is no longer active. It
// writes ALERTS{alertstate} and ALERTS_FOR_STATE (the instant it became active) for each.
func (r *alertingRule) eval(ctx context.Context, at time.Time, query queryFunc) (promql.Vector, error) {
	res, err := query(ctx, r.expr, at)
	if err != nil {
		return nil, err
	}
	current := make(map[uint64]labels.Labels, len(res))
	lb := labels.NewBuilder(labels.EmptyLabels())
	for _, smpl := range res {
		lb.Reset(smpl.Metric)
		lb.Del(model.MetricNameLabel)
		r.labels.Range(func(l labels.Label) {
			lb.Set(l.Name, r.expand(ctx, l.Value, smpl, at, query))
		})
		lb.Set(labels.AlertName, r.alert)
		lset := lb.Labels()
		h := lset.Hash()
		if _, dup := current[h]; dup {
			return nil, errDuplicateAlert
		}
		current[h] = lset
	}
	if r.active == nil {
		r.active = map[uint64]*activeAlert{}
	}
	for h := range r.active {
		if _, ok := current[h]; !ok {
			delete(r.active, h)
		}
	}
	var out promql.Vector
	ts := at.UnixMilli()
	for h, lset := range current {
		a, ok := r.active[h]
		if !ok {
			a = &activeAlert{labels: lset, activeAt: at}
			r.active[h] = a
		}
		a.firing = at.Sub(a.activeAt) >= r.hold
		state := "pending"
		if a.firing {
			state = "firing"
		}
		lb.Reset(a.labels)
		lb.Set(model.MetricNameLabel, "ALERTS")
		lb.Set("alertstate", state)
		out = append(out, promql.Sample{Metric: lb.Labels(), T: ts, F: 1})
		lb.Reset(a.labels)
		lb.Set(model.MetricNameLabel, "ALERTS_FOR_STATE")
		out = append(out, promql.Sample{Metric: lb.Labels(), T: ts, F: float64(a.activeAt.Unix())})
	}
	return out, nil
}

// expand expands a label's template with the alert's $labels and $value, as Prometheus does.
func (r *alertingRule) expand(ctx context.Context, text string, smpl promql.Sample, at time.Time, query queryFunc) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	data := template.AlertTemplateData(smpl.Metric.Map(), nil, "", smpl)
	tmpl := template.NewTemplateExpander(ctx, defs+text, "__alert_"+r.alert, data,
		model.Time(at.UnixMilli()), template.QueryFunc(query), nil, nil)
	out, err := tmpl.Expand()
	if err != nil {
		return fmt.Sprintf("<error expanding template: %s>", err)
	}
	return out
}
