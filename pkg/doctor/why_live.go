package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	promlabels "github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// The links of a trace that read the team's Prometheus, and an alert's links.

// live links

// notLive is the reason a live link is skipped; "" when Prometheus can be asked.
func (w *why) notLive() string {
	if w.p == nil {
		return "not connected to the team's Prometheus"
	}
	return ""
}

func (w *why) liveCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(w.ctx, liveTimeout)
}

func (w *why) linkTarget() Result {
	if r := w.notLive(); r != "" {
		return skipped(r)
	}
	ctx, cancel := w.liveCtx()
	defer cancel()
	all, err := w.p.Targets(ctx)
	if err != nil {
		return skipped("Prometheus is not reachable: " + err.Error())
	}
	for _, t := range all {
		if w.ownsTarget(t) {
			w.targets = append(w.targets, t)
		}
	}
	if len(w.targets) == 0 {
		if w.s.Kind == SubjectMetric {
			return failed("Prometheus has no target of the team's monitors",
				"Prometheus may not have loaded the configuration the operator wrote yet (about a minute): run why again; if it stays empty, kubectl promteam doctor "+w.team+" -n "+w.ns)
		}
		var pools []string
		for _, m := range w.monitors {
			pools = append(pools, m.pool+"*")
		}
		return failed(fmt.Sprintf("Prometheus has no target for %s %s/%s in scrape pool %s", kindTitle(w.s.Kind), w.subjectNS, w.s.Name, strings.Join(pools, ", ")),
			fmt.Sprintf("Prometheus loads what the operator wrote within about a minute: run why again; if the target stays missing, the relabelings of %s drop it (kubectl get %s %s -n %s -o yaml), or the pod is not ready",
				w.monitors[0], w.monitors[0].obj.kind.resource, w.monitors[0].obj.name, w.monitors[0].obj.namespace))
	}
	up, _, down, fixes := targetHealth(w.targets)
	// For a metric, one target that answers is enough for the series to exist.
	if len(down) > 0 && (w.s.Kind != SubjectMetric || up == 0) {
		return failed(strings.Join(down, "\n"), strings.Join(fixes, "\n"))
	}
	if up == 0 {
		return skipped(fmt.Sprintf("none of the %d targets has been scraped yet", len(w.targets)))
	}
	var urls []string
	for _, t := range w.targets {
		if t.Health == HealthUp && len(urls) < 5 {
			urls = append(urls, t.ScrapeURL)
		}
	}
	reason := fmt.Sprintf("%d of %d targets up: %s", up, len(w.targets), strings.Join(urls, ", "))
	if len(down) > 0 {
		reason += fmt.Sprintf("; %d down", len(down))
	}
	return passed(reason)
}

// ownsTarget reports whether t is a target of one of the monitors for the subject.
func (w *why) ownsTarget(t Target) bool {
	if !slices.ContainsFunc(w.monitors, func(m monitorRef) bool { return strings.HasPrefix(t.ScrapePool, m.pool) }) {
		return false
	}
	switch w.s.Kind {
	case SubjectMetric:
		return true
	case SubjectPod:
		return t.Labels["namespace"] == w.subjectNS && t.Labels["pod"] == w.s.Name
	}
	if t.Labels["namespace"] != w.subjectNS {
		return false
	}
	if strings.HasPrefix(t.ScrapePool, "serviceMonitor/") {
		return t.Labels["service"] == w.s.Name
	}
	return slices.ContainsFunc(w.pods, func(p corev1.Pod) bool { return p.Name == t.Labels["pod"] })
}

func (w *why) linkSeries() Result {
	if r := w.notLive(); r != "" {
		return skipped(r)
	}
	switch w.s.Kind {
	case SubjectMetric:
		return w.metricSeries()
	case SubjectAlert:
		return w.alertSeries()
	}
	ctx, cancel := w.liveCtx()
	defer cancel()
	total := 0
	for _, t := range w.targets {
		if t.Health != HealthUp {
			continue
		}
		n, err := w.p.CountSeries(ctx, scrapedSeries(t))
		if err != nil {
			return skipped("cannot query Prometheus: " + err.Error())
		}
		total += n
	}
	if total == 0 {
		m := w.monitors[0]
		return failed(fmt.Sprintf("the scrapes of %s keep no series but up and scrape_*: every series is dropped", w.s),
			fmt.Sprintf("the metricRelabelings of %s drop everything: kubectl get %s %s -n %s -o yaml; remove or narrow the drop rule",
				m, m.obj.kind.resource, m.obj.name, m.obj.namespace))
	}
	return passed(fmt.Sprintf("%d series from its targets", total))
}

// scrapedSeries selects what a target's scrape brought, but the series Prometheus adds to every
// scrape (up, scrape_*).
func scrapedSeries(t Target) *parser.VectorSelector {
	ms := []*promlabels.Matcher{
		promlabels.MustNewMatcher(promlabels.MatchEqual, "job", t.Labels["job"]),
		promlabels.MustNewMatcher(promlabels.MatchEqual, "instance", t.Labels["instance"]),
		promlabels.MustNewMatcher(promlabels.MatchNotRegexp, model.MetricNameLabel, "up|scrape_.+"),
	}
	return &parser.VectorSelector{LabelMatchers: ms}
}

// metricSelector selects every series of one metric.
func metricSelector(name string) *parser.VectorSelector {
	return &parser.VectorSelector{Name: name, LabelMatchers: []*promlabels.Matcher{promlabels.MustNewMatcher(promlabels.MatchEqual, model.MetricNameLabel, name)}}
}

func (w *why) metricSeries() Result {
	ctx, cancel := w.liveCtx()
	defer cancel()
	n, err := w.p.CountSeries(ctx, metricSelector(w.s.Name))
	if err != nil {
		return skipped("cannot query Prometheus: " + err.Error())
	}
	if n > 0 {
		return passed(fmt.Sprintf("%d series of %s", n, w.s.Name))
	}
	if rule := w.recordedBy(w.s.Name); rule != nil {
		return failed(fmt.Sprintf("no series of %s, which rule group %s of PrometheusRule %s/%s records", w.s.Name, rule.group, rule.ruleObj.Namespace, rule.ruleObj.Name),
			fmt.Sprintf("the recording rule has nothing to record, or is not loaded: kubectl promteam why %s -n %s metric/<a metric its expression reads>, and see Prometheus' rules page", w.team, w.ns))
	}
	for _, m := range w.monitors {
		for ep, cfgs := range m.metricRelabelings {
			if i, ok := dropsMetric(cfgs, w.s.Name); ok {
				c := cfgs[i]
				fix := fmt.Sprintf("remove that rule or narrow its regex so that it keeps %s: kubectl edit %s %s -n %s",
					w.s.Name, strings.ToLower(m.obj.kind.name), m.obj.name, m.obj.namespace)
				if m.obj.labels[manifests.LabelManagedBy] == manifests.ManagedBy {
					fix += " (the stack drops it on purpose, as neither its rules nor its dashboards read it; kubectl promteam create --apply puts the rule back)"
				}
				return failed(fmt.Sprintf("metric %s is dropped by relabelling: metricRelabelings[%d] of %s endpoint %d (action %s, sourceLabels %s, regex %q)",
					w.s.Name, i, m, ep, actionOf(c), sourceLabelsText(c), c.Regex), fix)
			}
		}
	}
	return failed(fmt.Sprintf("no target of the team exposes %s, and no relabelling of its monitors drops it", w.s.Name),
		fmt.Sprintf("check the name (Envoy's request counter is envoy_cluster_upstream_rq_total; Istio's istio_requests_total) and that the Envoys export it: kubectl promteam port-forward %s -n %s, then search the metric in Prometheus",
			w.team, w.ns))
}

// recordedBy is the selected recording rule that records metric, or nil.
func (w *why) recordedBy(metric string) *definedRule {
	for _, r := range w.definedRules() {
		if r.rule.Record == metric && selects(w.prom, object{kindRule, r.ruleObj.Namespace, r.ruleObj.Name, r.ruleObj.Labels}, w.objs.nsLabels).selected {
			return &r
		}
	}
	return nil
}

// definedRules lists every rule of the team's PrometheusRules.
func (w *why) definedRules() []definedRule {
	var out []definedRule
	for _, pr := range w.objs.rules {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				out = append(out, definedRule{ruleObj: pr, group: g.Name, rule: r})
			}
		}
	}
	return out
}

// metricsRead lists the metric names expr reads, in order; nil when it does not parse.
func metricsRead(expr string) []string {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type == promlabels.MatchEqual {
					name = m.Value
				}
			}
		}
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
		return nil
	})
	return out
}

func (w *why) readLoaded() error {
	if w.loadedOK {
		return nil
	}
	ctx, cancel := w.liveCtx()
	defer cancel()
	rules, err := w.p.Rules(ctx)
	if err != nil {
		return err
	}
	w.loaded, w.loadedOK = rules, true
	return nil
}

// linkRules checks that the selected rules that read the subject's series are loaded and
// evaluate: for a metric, the rules whose expression reads it; for a Service or pod, the team's
// rules that read any metric its targets bring.
func (w *why) linkRules() Result {
	if r := w.notLive(); r != "" {
		return skipped(r)
	}
	var reading []definedRule
	for _, r := range w.definedRules() {
		if !selects(w.prom, object{kindRule, r.ruleObj.Namespace, r.ruleObj.Name, r.ruleObj.Labels}, w.objs.nsLabels).selected {
			continue
		}
		read := metricsRead(r.rule.Expr.String())
		if w.s.Kind == SubjectMetric && !slices.Contains(read, w.s.Name) {
			continue
		}
		reading = append(reading, r)
	}
	if len(reading) == 0 {
		if w.s.Kind == SubjectMetric {
			return passed(fmt.Sprintf("no selected rule of team %s reads %s", w.team, w.s.Name))
		}
		return passed(fmt.Sprintf("team %s has no selected rule", w.team))
	}
	if err := w.readLoaded(); err != nil {
		return skipped("cannot read Prometheus' rules: " + err.Error())
	}
	var missing, broken, fixes []string
	for _, r := range reading {
		name := ruleName(r.rule)
		lr, ok := w.findLoaded(r.group, name)
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s (group %s of PrometheusRule %s/%s)", name, r.group, r.ruleObj.Namespace, r.ruleObj.Name))
		case lr.Health == "err":
			broken = append(broken, fmt.Sprintf("%s fails to evaluate: %s", name, lr.LastError))
		}
	}
	if len(missing) > 0 {
		fixes = append(fixes, w.notLoadedFix())
	}
	if len(broken) > 0 {
		fixes = append(fixes, "fix the rule's expression in its PrometheusRule and re-apply it (kubectl promteam create "+w.team+" -n "+w.ns+" --apply for the stack's own rules)")
	}
	if len(missing)+len(broken) > 0 {
		var reasons []string
		if len(missing) > 0 {
			reasons = append(reasons, "not loaded by Prometheus: "+strings.Join(missing, ", "))
		}
		return failed(strings.Join(append(reasons, broken...), "\n"), strings.Join(fixes, "\n"))
	}
	return passed(fmt.Sprintf("%d rules that read it are loaded and evaluate", len(reading)))
}

func ruleName(r monitoringv1.Rule) string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

func (w *why) findLoaded(group, name string) (Rule, bool) {
	for _, lr := range w.loaded {
		if lr.Group == group && lr.Name == name {
			return lr, true
		}
	}
	return Rule{}, false
}

func (w *why) notLoadedFix() string {
	return fmt.Sprintf("the operator writes the selected rules into ConfigMaps prometheus-%s-rulefiles-*, which the config reloader has Prometheus load within about a minute: run why again; if they stay missing, read the reloader's log: kubectl logs prometheus-%s-0 -c config-reloader -n %s",
		w.prom.Name, w.prom.Name, w.prom.Namespace)
}

// alert links

func (w *why) linkRule() Result {
	var names []string
	for _, r := range w.definedRules() {
		if r.rule.Alert == w.s.Name && w.alert == nil {
			r := r
			w.alert = &r
		}
		if r.rule.Alert != "" && !slices.Contains(names, r.rule.Alert) {
			names = append(names, r.rule.Alert)
		}
	}
	if w.alert == nil {
		slices.Sort(names)
		known := "it has none"
		if len(names) > 0 {
			if len(names) > 10 {
				names = append(names[:10], "…")
			}
			known = "its alerts are " + strings.Join(names, ", ")
		}
		return failed(fmt.Sprintf("no PrometheusRule of team %s defines alert %s (%s)", w.team, w.s.Name, known),
			fmt.Sprintf("check the alert's name, or add the rule to a PrometheusRule labelled %s=%s in namespace %s", manifests.LabelTeam, w.team, w.ns))
	}
	a := w.alert
	return passed(fmt.Sprintf("group %s of PrometheusRule %s/%s: %s", a.group, a.ruleObj.Namespace, a.ruleObj.Name, oneLine(a.rule.Expr.String())))
}

func (w *why) linkRuleSelected() Result {
	pr := w.alert.ruleObj
	o := object{kindRule, pr.Namespace, pr.Name, pr.Labels}
	v := selects(w.prom, o, w.objs.nsLabels)
	if !v.selected {
		return failed(fmt.Sprintf("PrometheusRule %s/%s is not selected, so Prometheus does not load %s: %s", pr.Namespace, pr.Name, w.s.Name, v.why),
			unselectedFix(w.prom, o, v, w.team))
	}
	accepted, rejected := bindingRejected(pr.Status, w.prom)
	if rejected != "" {
		return failed(fmt.Sprintf("the operator rejected PrometheusRule %s/%s for Prometheus %s: %s", pr.Namespace, pr.Name, w.prom.Name, rejected),
			fmt.Sprintf("fix PrometheusRule %s as the operator says, then re-apply it: %s", pr.Name, rejected))
	}
	events := w.gatherRuleEvents(w.prom, objectFacts{rules: []monitoringv1.PrometheusRule{pr}})
	if res := evalRules(w.prom, objectFacts{team: w.team, rules: []monitoringv1.PrometheusRule{pr}, nsLabels: w.objs.nsLabels}, events); res.Status == StatusFailed {
		return res
	}
	reason := fmt.Sprintf("Prometheus %s selects PrometheusRule %s/%s", w.prom.Name, pr.Namespace, pr.Name)
	if accepted {
		reason += " (the operator reports it accepted)"
	}
	return passed(reason)
}

func (w *why) linkLoaded() Result {
	if r := w.notLive(); r != "" {
		return skipped(r)
	}
	if err := w.readLoaded(); err != nil {
		return skipped("cannot read Prometheus' rules: " + err.Error())
	}
	lr, ok := w.findLoaded(w.alert.group, w.s.Name)
	if !ok {
		return failed(fmt.Sprintf("Prometheus has not loaded alert %s (group %s of PrometheusRule %s/%s)", w.s.Name, w.alert.group, w.alert.ruleObj.Namespace, w.alert.ruleObj.Name),
			w.notLoadedFix())
	}
	if lr.Health == "err" {
		return failed(fmt.Sprintf("alert %s fails to evaluate: %s", w.s.Name, lr.LastError),
			fmt.Sprintf("fix the expression in PrometheusRule %s/%s and re-apply it", w.alert.ruleObj.Namespace, w.alert.ruleObj.Name))
	}
	return passed(fmt.Sprintf("loaded from %s, health %s", lr.File, lr.Health))
}

func (w *why) alertSeries() Result {
	read := metricsRead(w.alert.rule.Expr.String())
	if len(read) == 0 {
		return passed("the expression reads no metric")
	}
	ctx, cancel := w.liveCtx()
	defer cancel()
	var have []string
	for _, name := range read {
		n, err := w.p.CountSeries(ctx, metricSelector(name))
		if err != nil {
			return skipped("cannot query Prometheus: " + err.Error())
		}
		if n == 0 {
			return failed(fmt.Sprintf("alert %s reads %s, of which Prometheus has no series now: the alert cannot fire", w.s.Name, name),
				fmt.Sprintf("follow the metric: kubectl promteam why %s -n %s metric/%s", w.team, w.ns, name))
		}
		have = append(have, fmt.Sprintf("%s (%d series)", name, n))
	}
	return passed("reads " + strings.Join(have, ", "))
}

func (w *why) linkState() Result {
	if r := w.notLive(); r != "" {
		return skipped(r)
	}
	lr, ok := w.findLoaded(w.alert.group, w.s.Name)
	if !ok {
		return skipped("the alert is not loaded")
	}
	switch lr.State {
	case "firing":
		return passed(fmt.Sprintf("firing (%d series); where it goes: kubectl promteam doctor %s -n %s (alert-delivery, alert-routing)", lr.Active, w.team, w.ns))
	case "pending":
		return passed(fmt.Sprintf("pending (%d series): it fires once its for: duration has passed", lr.Active))
	}
	return passed("inactive: its expression matches nothing now")
}
