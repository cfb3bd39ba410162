package demo

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// fleet has steady traffic, latency segments aligned with Envoy's bucket bounds, an idle
// cluster, one without a histogram and a name with quotes and backslashes.
func fleet() *envoysim.Fleet {
	return &envoysim.Fleet{
		Start: now.Add(-time.Hour),
		Pods:  []string{"envoy-a", "envoy-b"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_checkout_8080", RPS: 120, ErrorRatio: 0.05, Active: 6,
				Latency: envoysim.Latency{{Weight: 0.5, LoMs: 10, HiMs: 25}, {Weight: 0.4, LoMs: 25, HiMs: 50}, {Weight: 0.1, LoMs: 100, HiMs: 250}}},
			{Name: `we"ird\name`, RPS: 30, ErrorRatio: 0.2, Latency: envoysim.Uniform(1, 5), Active: 2},
			{Name: "outbound|9080||reviews.default.svc.cluster.local", RPS: 9, Latency: envoysim.Uniform(50, 100)},
			{Name: "slow", RPS: 3, Latency: envoysim.Uniform(1000, 2500)},
			{Name: "idle", Latency: envoysim.Uniform(1, 5)},
			{Name: "no-histogram", RPS: 6},
		},
	}
}

// TestDemoEngineGivesTheTruth runs top's collector, with the queries it sends a real Prometheus,
// against the in-process engine for both dialects, and checks the JSON against the fleet.
func TestDemoEngineGivesTheTruth(t *testing.T) {
	for _, tc := range []struct {
		dialect envoysim.Dialect
		want    promql.Dialect
	}{{envoysim.Stock, promql.DialectEnvoy}, {envoysim.Istio, promql.DialectIstio}} {
		t.Run(tc.want.Name, func(t *testing.T) {
			f := fleet()
			q, err := NewWithOptions(now, Options{Fleet: f, Dialect: tc.dialect})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			src := traffic.NewAuto(q, traffic.Config{Selector: promql.Namespace(Namespace), Window: time.Minute})
			frame, err := src.Frame(context.Background(), now)
			if err != nil {
				t.Fatal(err)
			}
			if frame.Dialect != tc.want.Name {
				t.Errorf("discovered dialect %s, want %s", frame.Dialect, tc.want.Name)
			}
			var b bytes.Buffer
			if err := traffic.RenderJSON(&b, frame); err != nil {
				t.Fatal(err)
			}
			truth.Check(t, truth.Decode(t, b.Bytes()), f, truth.Tolerance{RPS: 0.01, Success: 0.001, Quantile: 0.02})

			// Time moves on: a later refresh scrapes the fleet up to then.
			later, err := src.Frame(context.Background(), now.Add(30*time.Second))
			if err != nil || len(later.Rows) != len(f.Clusters) {
				t.Fatalf("later frame: %v, %d rows", err, len(later.Rows))
			}
			det, err := src.Detail(context.Background(), now, "shop_checkout_8080")
			if err != nil {
				t.Fatal(err)
			}
			if len(det.Classes) == 0 || len(det.Codes) == 0 || len(det.Pods) != 2 || len(det.Latency) == 0 {
				t.Errorf("drill-down = %+v", det)
			}
		})
	}
}

func TestDemoFleetStarts(t *testing.T) {
	q, err := New(now)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	frame, err := traffic.NewAuto(q, traffic.Config{Selector: promql.Everything, Window: time.Minute}).Frame(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(frame.Rows) < 5 || len(frame.Listeners) == 0 {
		t.Errorf("demo frame has %d rows and %d listeners", len(frame.Rows), len(frame.Listeners))
	}
}

// TestDemoRecordsTheRules: the demo evaluates the stack's recording rules like a team's
// Prometheus, so --source rules reads them (window 5m) and their numbers are the fleet's.
func TestDemoRecordsTheRules(t *testing.T) {
	f := fleet()
	q, err := NewWithOptions(now, Options{Fleet: f})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	src := traffic.NewAuto(q, traffic.Config{Selector: promql.Namespace(Namespace), Source: traffic.SourceRules})
	for _, at := range []time.Time{now, now.Add(20 * time.Second)} {
		frame, err := src.Frame(context.Background(), at)
		if err != nil {
			t.Fatalf("--source rules on the demo at %s: %v", at, err)
		}
		if frame.Source != traffic.SourceRules || frame.Window != promql.RuleWindow {
			t.Errorf("frame source %q window %s, want rules over %s", frame.Source, frame.Window, promql.RuleWindow)
		}
		var b bytes.Buffer
		if err := traffic.RenderJSON(&b, frame); err != nil {
			t.Fatal(err)
		}
		truth.Check(t, truth.Decode(t, b.Bytes()), f, truth.Tolerance{RPS: 0.01, Success: 0.001, Quantile: 0.02})
	}
}

// alertsAt are the ALERTS series of the demo at at, as alertname/alertstate/cluster keys, and
// their full label sets.
func alertsAt(t *testing.T, q *Querier, at time.Time) (map[string]bool, []traffic.Sample) {
	t.Helper()
	text, err := promql.Check(promql.Alerts(promql.Namespace(Namespace)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.Query(context.Background(), text, at)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, s := range res.Vector {
		keys[s.Metric.Get(promql.LabelAlertName)+"/"+s.Metric.Get(promql.LabelAlertState)+"/"+s.Metric.Get(promql.LabelCluster)] = true
	}
	return keys, res.Vector
}

// TestDemoAlertsFireAtStart: the demo evaluates the stack's alerting rules from before it
// starts, so the 5xx alert (for 5m) already fires for the two clusters whose 5xx ratio is above
// its threshold, with the labels the team's route matches, and the latency alert (for 10m) is
// pending for the two slow ones; healthy clusters have none, and they keep firing as time moves.
func TestDemoAlertsFireAtStart(t *testing.T) {
	q, err := New(now)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	want := map[string]bool{
		"EnvoyUpstreamHigh5xxRatio/firing/payments_gateway_443":         true,
		"EnvoyUpstreamHigh5xxRatio/firing/shop_checkout-canary_8080":    true,
		"EnvoyUpstreamHighLatencyP99/pending/payments_gateway_443":      true,
		"EnvoyUpstreamHighLatencyP99/pending/shop_recommendations_8080": true,
	}
	for _, at := range []time.Time{now, now.Add(20 * time.Second)} {
		got, series := alertsAt(t, q, at)
		if !maps.Equal(got, want) {
			t.Errorf("ALERTS at %s = %v, want %v", at, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		for _, s := range series {
			l := s.Metric
			wantSeverity := "warning"
			if l.Get(promql.LabelAlertName) == "EnvoyUpstreamHigh5xxRatio" {
				wantSeverity = "critical"
			}
			if l.Get(manifests.AlertLabelTeam) != "demo" || l.Get(manifests.AlertLabelNamespace) != Namespace ||
				l.Get(manifests.AlertLabelEnvoyNamespace) != Namespace || l.Get(promql.LabelSeverity) != wantSeverity || s.Value != 1 {
				t.Errorf("alert %s = %g lacks the labels of the stack's alerts", l, s.Value)
			}
		}
	}

	// top reads them as it reads a team Prometheus.
	frame, err := traffic.NewAuto(q, traffic.Config{Selector: promql.Namespace(Namespace), Window: time.Minute, Alerts: true}).Frame(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if !frame.AlertsKnown || len(frame.Alerts) != len(want) || frame.Alerts[0].State != traffic.AlertFiring ||
		frame.Alerts[0].Cluster != "payments_gateway_443" || frame.Alerts[0].Severity != "critical" || frame.Alerts[0].Namespace != Namespace {
		t.Errorf("frame alerts (known %t) = %+v", frame.AlertsKnown, frame.Alerts)
	}

	// Each alert's for-state is written too, as a rule group writes it.
	res, err := q.Query(context.Background(), `ALERTS_FOR_STATE{alertname="EnvoyUpstreamHigh5xxRatio"}`, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Vector {
		if active := time.Unix(int64(s.Value), 0); now.Sub(active) < 5*time.Minute || now.Sub(active) > alertHistory {
			t.Errorf("%s active since %s, want between 5m and %s before the start", s.Metric, active, alertHistory)
		}
	}
	if len(res.Vector) != 2 {
		t.Errorf("ALERTS_FOR_STATE of the 5xx alert = %v", res.Vector)
	}
}

// TestDemoOfAHealthyFleetHasNoAlerts: no cluster above a threshold, no alert, pending or firing;
// top reads an empty list, not an unknown one.
func TestDemoOfAHealthyFleetHasNoAlerts(t *testing.T) {
	healthy := &envoysim.Fleet{
		Start: now.Add(-time.Hour),
		Pods:  []string{"envoy-a"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_checkout_8080", RPS: 120, ErrorRatio: 0.01, Latency: envoysim.Uniform(10, 50), Active: 3},
			{Name: "quiet_but_failing_8080", RPS: 0.5, ErrorRatio: 0.5, Latency: envoysim.Uniform(1, 5)},
		},
	}
	q, err := NewWithOptions(now, Options{Fleet: healthy})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if got, _ := alertsAt(t, q, now); len(got) != 0 {
		t.Errorf("a healthy fleet has alerts %v", got)
	}
	res, err := q.Query(context.Background(), `ALERTS`, now)
	if err != nil || len(res.Vector) != 0 {
		t.Errorf("ALERTS = %v, %v", res.Vector, err)
	}
	frame, err := traffic.NewAuto(q, traffic.Config{Selector: promql.Namespace(Namespace), Window: time.Minute, Alerts: true}).Frame(context.Background(), now)
	if err != nil || !frame.AlertsKnown || len(frame.Alerts) != 0 || len(frame.Rows) != 2 {
		t.Errorf("frame: %v, alerts known %t: %+v, %d rows", err, frame.AlertsKnown, frame.Alerts, len(frame.Rows))
	}
}

// TestDemoLeavesOutAlertsItCannotEvaluate: the burn-rate alerts of an SLO read windows of an
// hour and more that the demo does not record; they are simply never active, and the others
// fire as before.
func TestDemoLeavesOutAlertsItCannotEvaluate(t *testing.T) {
	spec := manifests.DefaultTeamSpec("demo", Namespace)
	spec.SLO = 99.9
	alerts, err := spec.AlertingRules()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(alerts, func(r manifests.AlertingRule) bool { return r.Alert == "EnvoyErrorBudgetBurn" }) {
		t.Fatal("a stack with an SLO has no burn-rate alert")
	}
	q, err := NewWithOptions(now, Options{stack: &spec})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	got, _ := alertsAt(t, q, now)
	for key := range got {
		if strings.HasPrefix(key, "EnvoyErrorBudgetBurn") {
			t.Errorf("alert %s reads windows the demo does not record", key)
		}
	}
	if !got["EnvoyUpstreamHigh5xxRatio/firing/payments_gateway_443"] {
		t.Errorf("ALERTS = %v, want the 5xx alert firing", got)
	}
}

// BenchmarkStart measures how long the demo takes to start with the stack's alerting rules
// against a demo of the recording rules only, in the same run: ratio is the first over the
// second.
func BenchmarkStart(b *testing.B) {
	noAlerts := manifests.DefaultTeamSpec("demo", Namespace)
	noAlerts.Alerts = false
	var withAlerts, baseline time.Duration
	start := func(opts Options) time.Duration {
		began := time.Now()
		q, err := NewWithOptions(now, opts)
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(began)
		if err := q.Close(); err != nil {
			b.Fatal(err)
		}
		return took
	}
	for b.Loop() {
		baseline += start(Options{stack: &noAlerts})
		withAlerts += start(Options{})
	}
	b.ReportMetric(float64(withAlerts.Milliseconds())/float64(b.N), "ms/start")
	b.ReportMetric(float64(baseline.Milliseconds())/float64(b.N), "baseline-ms/start")
	b.ReportMetric(float64(withAlerts)/float64(baseline), "ratio")
}

// TestDemoAlertResolvesAtOnce: when a failing cluster recovers, its alert leaves ALERTS at the
// first evaluation whose condition is false, as in a rule group, which writes a stale marker
// for it instead of letting the last sample linger for the lookback.
func TestDemoAlertResolvesAtOnce(t *testing.T) {
	f := &envoysim.Fleet{
		Start:    now.Add(-time.Hour),
		Pods:     []string{"envoy-a"},
		Clusters: []envoysim.Cluster{{Name: "flaky_8080", RPS: 20, ErrorRatio: 0.3, Latency: envoysim.Uniform(1, 5)}},
	}
	q, err := NewWithOptions(now, Options{Fleet: f})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	rules, err := manifests.DefaultTeamSpec("demo", Namespace).AlertingRules()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rules, func(r manifests.AlertingRule) bool { return r.Alert == "EnvoyUpstreamHigh5xxRatio" })
	if i < 0 {
		t.Fatal("no 5xx alert")
	}
	if got, _ := alertsAt(t, q, now); !got["EnvoyUpstreamHigh5xxRatio/firing/flaky_8080"] {
		t.Fatalf("ALERTS = %v, want the 5xx alert firing", got)
	}
	f.Clusters[0].ErrorRatio = 0
	resolved := false
	for at := now.Add(ScrapeInterval); !at.After(now.Add(8 * time.Minute)); at = at.Add(ScrapeInterval) {
		got, _ := alertsAt(t, q, at)
		cond, err := q.Query(context.Background(), rules[i].Expr, at)
		if err != nil {
			t.Fatal(err)
		}
		if firing := got["EnvoyUpstreamHigh5xxRatio/firing/flaky_8080"]; firing != (len(cond.Vector) > 0) {
			t.Fatalf("at %s ALERTS firing is %t, the condition holds for %d series", at.Sub(now), firing, len(cond.Vector))
		}
		resolved = resolved || len(got) == 0
	}
	if !resolved {
		t.Error("the alert never resolved")
	}
}
