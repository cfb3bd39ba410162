package demo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// answers is a query function that answers from a table of instants.
func answers(at map[time.Time]promql.Vector) queryFunc {
	return func(_ context.Context, _ string, t time.Time) (promql.Vector, error) {
		v := at[t]
		out := make(promql.Vector, len(v))
		copy(out, v)
		return out, nil
	}
}

// TestAlertingRuleStates follows one alert as a Prometheus rule group would: pending when it
// first appears, firing once active for the rule's `for`, gone when its sample is, and pending
// again, from a new start, when it comes back.
func TestAlertingRuleStates(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	hot := promql.Vector{{Metric: labels.FromStrings("__name__", "x", "cluster", "c1", "namespace", "edge"), F: 0.2}}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	r := &alertingRule{alert: "Hot", expr: "x > 0.1", hold: 2 * time.Minute,
		labels: labels.FromStrings("severity", "critical", "envoy_namespace", "{{ $labels.namespace }}")}
	q := answers(map[time.Time]promql.Vector{at(0): hot, at(1): hot, at(2): hot, at(4): hot})
	for _, step := range []struct {
		minute   int
		state    string // "" when no alert
		activeAt int
	}{{0, "pending", 0}, {1, "pending", 0}, {2, "firing", 0}, {3, "", 0}, {4, "pending", 4}} {
		vec, err := r.eval(context.Background(), at(step.minute), q)
		if err != nil {
			t.Fatal(err)
		}
		if step.state == "" {
			if len(vec) != 0 {
				t.Errorf("minute %d: %v, want no alert", step.minute, vec)
			}
			continue
		}
		if len(vec) != 2 {
			t.Fatalf("minute %d: %v, want ALERTS and ALERTS_FOR_STATE", step.minute, vec)
		}
		for _, s := range vec {
			l := s.Metric
			if l.Get("alertname") != "Hot" || l.Get("severity") != "critical" || l.Get("envoy_namespace") != "edge" || l.Get("cluster") != "c1" {
				t.Errorf("minute %d: %s lacks the alert's labels", step.minute, l)
			}
			switch l.Get("__name__") {
			case "ALERTS":
				if l.Get("alertstate") != step.state || s.F != 1 {
					t.Errorf("minute %d: %s = %g, want alertstate %s", step.minute, l, s.F, step.state)
				}
			case "ALERTS_FOR_STATE":
				if s.F != float64(at(step.activeAt).Unix()) || l.Has("alertstate") {
					t.Errorf("minute %d: %s = %g, want active since minute %d", step.minute, l, s.F, step.activeAt)
				}
			default:
				t.Errorf("minute %d: unexpected series %s", step.minute, l)
			}
		}
	}
}

// TestRulesRejectDuplicateSeries: two samples that become one series after the rule's labels
// are an error, as in Prometheus, not a silent overwrite.
func TestRulesRejectDuplicateSeries(t *testing.T) {
	t0 := time.Unix(0, 0)
	two := promql.Vector{
		{Metric: labels.FromStrings("__name__", "a", "cluster", "c")},
		{Metric: labels.FromStrings("__name__", "b", "cluster", "c")},
	}
	q := answers(map[time.Time]promql.Vector{t0: two})
	if _, err := (&recordingRule{record: "r", expr: "{cluster=\"c\"}"}).eval(context.Background(), t0, q); !errors.Is(err, errDuplicateSeries) {
		t.Errorf("recording rule: %v, want %v", err, errDuplicateSeries)
	}
	if _, err := (&alertingRule{alert: "A", expr: "{cluster=\"c\"}"}).eval(context.Background(), t0, q); !errors.Is(err, errDuplicateAlert) {
		t.Errorf("alerting rule: %v, want %v", err, errDuplicateAlert)
	}
	vec, err := (&recordingRule{record: "r", expr: "a"}).eval(context.Background(), t0, answers(map[time.Time]promql.Vector{t0: two[:1]}))
	if err != nil || len(vec) != 1 || vec[0].Metric.Get("__name__") != "r" || vec[0].Metric.Get("cluster") != "c" {
		t.Errorf("recording rule wrote %v (%v), want r{cluster=\"c\"}", vec, err)
	}
}
