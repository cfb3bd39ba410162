package manifests

import (
	"fmt"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/promql/parser"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// Alert thresholds. Every alert is gated on traffic so that a quiet service with one failed
// request does not page anybody.
const (
	alert5xxRatio      = 0.05 // share of final responses
	alertP99Seconds    = 1.0
	alertMinRPS        = 1.0 // requests per second a cluster needs before 5xx and latency alerts fire
	alertBurnMinRPS    = 0.1 // burn-rate alerts watch a budget, so they look at quieter clusters too
	alert5xxFor        = 5 * time.Minute
	alertLatencyFor    = 10 * time.Minute
	alertBreakerFor    = 5 * time.Minute
	alertBurnPageFor   = 2 * time.Minute
	alertBurnTicketFor = 15 * time.Minute
	severityCritical   = "critical"
	severityWarning    = "warning"
	annotationSummary  = "summary"
	annotationDescribe = "description"
	clusterTemplate    = "{{ $labels.envoy_cluster_name }} in {{ $labels.namespace }}"
	promteamRuleName   = "envoy-red"
)

// The rule groups of a stack's PrometheusRule: the recorded RED series, the recorded SLO
// windows, and the alerts.
const (
	RuleGroupRED    = "promteam-envoy-red.rules"
	RuleGroupSLO    = "promteam-envoy-slo.rules"
	RuleGroupAlerts = "promteam-envoy.alerts"
)

// burnTier is one multiwindow burn-rate alert of the SRE Workbook for a 30-day SLO: it fires when
// both windows burn the error budget factor times faster than allowed.
type burnTier struct {
	factor      float64
	long, short time.Duration
	severity    string
	forDuration time.Duration
}

var burnTiers = []burnTier{
	{factor: 14.4, long: time.Hour, short: 5 * time.Minute, severity: severityCritical, forDuration: alertBurnPageFor},
	{factor: 6, long: 6 * time.Hour, short: 30 * time.Minute, severity: severityCritical, forDuration: alertBurnPageFor},
	{factor: 1, long: 72 * time.Hour, short: 6 * time.Hour, severity: severityWarning, forDuration: alertBurnTicketFor},
}

func (s TeamSpec) ruleName() string { return s.Team + "-" + promteamRuleName }

// rule is a recording or alerting rule with its expression still a parsed PromQL tree.
type rule struct {
	record, alert string
	expr          parser.Expr
	forDuration   time.Duration
	labels        map[string]string
	annotations   map[string]string
}

// recordingRules are the contract with `top` and the dashboard: stable names, labelled by
// namespace and envoy_cluster_name, computed from whichever sources the presets bring.
//
// They record sums only (rates, bucket rates, a gauge's total), never ratios or quantiles of
// them: with --shards each Prometheus evaluates them over its own targets, and the Thanos Query
// that merges the shards can add sums up but cannot merge ratios or quantiles. Readers derive
// those from the sums (docs/recording-rules.md).
func recordingRules(sources []promql.Source) []rule {
	w := promql.RuleWindow
	rules := []rule{
		{record: promql.RecordRequestRate, expr: promql.RequestRate(sources, w)},
		{record: promql.RecordResponseRate, expr: promql.ResponseRate(sources, w, promql.ClassAll)},
		// Success comes from the non-5xx classes, so a cluster that never failed shows 1, not
		// nothing; 5xx-only series would be absent for it.
		{record: promql.RecordNot5xxRate, expr: promql.ResponseRate(sources, w, promql.ClassNot5xx)},
		{record: promql.Record5xxRate, expr: promql.ResponseRate(sources, w, promql.Class5xx)},
		// 4xx is 0, not absent, wherever there are responses: top tells a cluster without 4xx
		// from a stack whose rules predate this one. A sum still, so shards add up.
		{record: promql.Record4xxRate, expr: promql.Or(promql.ResponseRate(sources, w, promql.Class4xx), promql.Mul(promql.Num(0), ruleRef(promql.RecordResponseRate)))},
		// The one ratio recorded: the 5xx alert and the fastest burn-rate tier read it, in the
		// Prometheus that evaluates them, which with --shards is each shard over its own targets.
		// Numerator and denominator come from the same metric.
		{record: promql.RecordErrorRatio(w), expr: promql.Div(ruleRef(promql.Record5xxRate), ruleRef(promql.RecordResponseRate))},
	}
	for _, u := range promql.LatencyUnits {
		if e := promql.LatencyBucketRate(sources, u.Unit, w); e != nil {
			rules = append(rules, rule{record: u.Record, expr: e})
		}
	}
	if e := promql.LatencyNativeRate(sources, w); e != nil {
		rules = append(rules, rule{record: promql.RecordLatencyNativeMs, expr: e})
	}
	if active := promql.ActiveRequests(sources); active != nil {
		rules = append(rules, rule{record: promql.RecordActiveRequests, expr: active})
	}
	return rules
}

// RecordingRule is one of the recording rules top reads: the series it records and the PromQL
// that computes it.
type RecordingRule struct {
	Record string
	Expr   string
}

// RecordingRules are the stack's rate and latency-bucket recording rules (the ones top reads,
// not the SLO windows), in the order a rule group evaluates them: later rules read earlier ones.
func (s TeamSpec) RecordingRules() ([]RecordingRule, error) {
	var out []RecordingRule
	for _, r := range recordingRules(s.sources()) {
		text, err := promql.Check(r.expr)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.record, err)
		}
		out = append(out, RecordingRule{Record: r.record, Expr: text})
	}
	return out, nil
}

// AlertingRule is one of the stack's alerts: its name, the PromQL of its condition, how long the
// condition must hold before the alert fires, and the labels and annotations it carries. Label
// and annotation values may be Prometheus templates over the expression's labels and value.
type AlertingRule struct {
	Alert       string
	Expr        string
	For         time.Duration
	Labels      map[string]string
	Annotations map[string]string
}

// AlertingRules are the stack's alerts as its PrometheusRule holds them, in the same order; none
// when the stack has alerts turned off or scrapes no Envoy. The burn-rate alerts of an SLO read
// the SLO windows' recording rules, which RecordingRules leaves out.
func (s TeamSpec) AlertingRules() ([]AlertingRule, error) {
	sources := s.sources()
	if !s.Alerts || len(sources) == 0 {
		return nil, nil
	}
	var out []AlertingRule
	for _, r := range s.alertingRules(sources) {
		text, err := promql.Check(r.expr)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.alert, err)
		}
		out = append(out, AlertingRule{Alert: r.alert, Expr: text, For: r.forDuration, Labels: r.labels, Annotations: r.annotations})
	}
	return out, nil
}

// sloWindows are the error-ratio windows the burn-rate tiers read, besides the 5m one.
func sloWindows() []time.Duration {
	var out []time.Duration
	seen := map[time.Duration]bool{promql.RuleWindow: true}
	for _, t := range burnTiers {
		for _, w := range []time.Duration{t.short, t.long} {
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}

func sloRecordingRules(sources []promql.Source) []rule {
	var rules []rule
	for _, w := range sloWindows() {
		rules = append(rules, rule{record: promql.RecordErrorRatio(w), expr: promql.ErrorRatio(sources, w)})
	}
	return rules
}

func ruleRef(name string) parser.Expr { return promql.Series(name) }

// trafficGate keeps only clusters with more than minRPS requests per second.
func trafficGate(e parser.Expr, minRPS float64) parser.Expr {
	return promql.And(e, promql.Gt(ruleRef(promql.RecordRequestRate), promql.Num(minRPS)), promql.LabelNamespace, promql.LabelCluster)
}

func (s TeamSpec) alertingRules(sources []promql.Source) []rule {
	rules := []rule{
		{
			alert:       "EnvoyUpstreamHigh5xxRatio",
			expr:        trafficGate(promql.Gt(ruleRef(promql.RecordErrorRatio(promql.RuleWindow)), promql.Num(alert5xxRatio)), alertMinRPS),
			forDuration: alert5xxFor,
			labels:      map[string]string{"severity": severityCritical},
			annotations: map[string]string{
				annotationSummary:  fmt.Sprintf("%s: more than %g%% of upstream responses are 5xx", clusterTemplate, alert5xxRatio*100),
				annotationDescribe: "{{ $value | humanizePercentage }} of final responses from this upstream cluster were 5xx over 5 minutes, including timeouts and resets Envoy answered itself.",
			},
		},
		// p99 from the recorded bucket rates, summed by le: per shard with --shards, like every
		// alert, but never a quantile of quantiles.
		{
			alert:       "EnvoyUpstreamHighLatencyP99",
			expr:        trafficGate(promql.Gt(promql.Paren(promql.LatencyQuantileFromBuckets(sources, 0.99)), promql.Num(alertP99Seconds)), alertMinRPS),
			forDuration: alertLatencyFor,
			labels:      map[string]string{"severity": severityWarning},
			annotations: map[string]string{
				annotationSummary:  fmt.Sprintf("%s: p99 upstream latency above %gs", clusterTemplate, alertP99Seconds),
				annotationDescribe: "p99 upstream latency is {{ $value | humanizeDuration }} over 5 minutes. Envoy's histogram buckets are coarse above 1s, so read it as a range.",
			},
		},
	}
	if promql.ActiveRequests(sources) != nil {
		rules = append(rules, rule{
			alert: "EnvoyCircuitBreakerOpen",
			expr: promql.Gt(promql.MaxBy(promql.Series("envoy_cluster_circuit_breakers_default_rq_open"),
				promql.LabelNamespace, promql.LabelCluster), promql.Num(0)),
			forDuration: alertBreakerFor,
			labels:      map[string]string{"severity": severityWarning},
			annotations: map[string]string{
				annotationSummary:  clusterTemplate + ": the request circuit breaker is open",
				annotationDescribe: "Envoy is rejecting requests to this upstream cluster because max_requests is reached.",
			},
		})
	}
	if s.SLO != 0 {
		budget := 1 - s.SLO/100
		for i, t := range burnTiers {
			threshold := promql.Num(t.factor * budget)
			expr := trafficGate(promql.Paren(promql.And(
				promql.Gt(ruleRef(promql.RecordErrorRatio(t.long)), threshold),
				promql.Gt(ruleRef(promql.RecordErrorRatio(t.short)), threshold))), alertBurnMinRPS)
			name := "EnvoyErrorBudgetBurn"
			if t.severity != severityCritical {
				name = "EnvoyErrorBudgetBurnSlow"
			}
			rules = append(rules, rule{
				alert:       name,
				expr:        expr,
				forDuration: t.forDuration,
				labels:      map[string]string{"severity": t.severity, "burn_window": promql.Window(t.long), "tier": fmt.Sprint(i + 1)},
				annotations: map[string]string{
					annotationSummary: fmt.Sprintf("%s is burning its %s%% error budget %gx too fast", clusterTemplate, formatSLO(s.SLO), t.factor),
					annotationDescribe: fmt.Sprintf("The 5xx ratio over %s and over %s both exceed %g times the error budget of a %s%% objective over 30 days.",
						promql.Window(t.long), promql.Window(t.short), t.factor, formatSLO(s.SLO)),
				},
			})
		}
	}
	for i := range rules {
		rules[i] = s.routedAlert(rules[i])
	}
	return rules
}

// maxEvaluationInterval is the longest evaluation interval the stack's rules tolerate, and what
// sets it: half the 5m window of the recording rules, so each window spans two evaluations, and
// half the shortest `for` of the alerts, so a condition is seen twice before it fires. ok is false
// when the stack has no rules of its own.
func (s TeamSpec) maxEvaluationInterval() (limit time.Duration, reason string, ok bool) {
	sources := s.sources()
	if len(sources) == 0 {
		return 0, "", false
	}
	limit = promql.RuleWindow / 2
	reason = "half the " + promql.Window(promql.RuleWindow) + " window of the recording rules"
	if !s.Alerts {
		return limit, reason, true
	}
	for _, r := range s.alertingRules(sources) {
		if r.forDuration > 0 && r.forDuration/2 < limit {
			limit = r.forDuration / 2
			reason = fmt.Sprintf("half the %s `for` of alert %s", promql.Window(r.forDuration), r.alert)
			if s.SLO != 0 && r.forDuration == alertBurnPageFor {
				reason += ", which --slo adds"
			}
		}
	}
	return limit, reason, true
}

// prometheusRule holds the recording rules and, unless turned off, the alerts.
func (s TeamSpec) prometheusRule() (*monitoringv1.PrometheusRule, error) {
	sources := s.sources()
	type group struct {
		name  string
		rules []rule
	}
	groups := []group{{RuleGroupRED, recordingRules(sources)}}
	if s.SLO != 0 {
		groups = append(groups, group{RuleGroupSLO, sloRecordingRules(sources)})
	}
	if s.Alerts {
		groups = append(groups, group{RuleGroupAlerts, s.alertingRules(sources)})
	}
	pr := &monitoringv1.PrometheusRule{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PrometheusRuleKind},
		ObjectMeta: s.meta(s.ruleName(), s.Namespace, s.labels("app.kubernetes.io/component", "envoy-rules")),
	}
	for _, g := range groups {
		group := monitoringv1.RuleGroup{Name: g.name}
		for _, r := range g.rules {
			text, err := promql.Check(r.expr)
			if err != nil {
				return nil, fmt.Errorf("rule %s%s: %w", r.record, r.alert, err)
			}
			out := monitoringv1.Rule{Record: r.record, Alert: r.alert, Expr: intstr.FromString(text), Labels: r.labels, Annotations: r.annotations}
			if r.forDuration > 0 {
				out.For = ptr.To(monitoringv1.Duration(promql.Window(r.forDuration)))
			}
			group.Rules = append(group.Rules, out)
		}
		pr.Spec.Groups = append(pr.Spec.Groups, group)
	}
	return pr, nil
}
