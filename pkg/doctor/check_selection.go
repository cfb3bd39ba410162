package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// kind is one kind of object a Prometheus selects with a label selector and a namespace
// selector.
type kind struct {
	name       string // PodMonitor
	resource   string // podmonitors
	field      string // podMonitorSelector
	nsField    string // podMonitorNamespaceSelector
	noun       string // what the remedy asks to label: monitor or rule
	selector   func(*monitoringv1.Prometheus) *metav1.LabelSelector
	nsSelector func(*monitoringv1.Prometheus) *metav1.LabelSelector
}

var (
	kindPodMonitor = kind{
		name: "PodMonitor", resource: "podmonitors", field: "podMonitorSelector", nsField: "podMonitorNamespaceSelector", noun: "monitor",
		selector:   func(p *monitoringv1.Prometheus) *metav1.LabelSelector { return p.Spec.PodMonitorSelector },
		nsSelector: func(p *monitoringv1.Prometheus) *metav1.LabelSelector { return p.Spec.PodMonitorNamespaceSelector },
	}
	kindServiceMonitor = kind{
		name: "ServiceMonitor", resource: "servicemonitors", field: "serviceMonitorSelector", nsField: "serviceMonitorNamespaceSelector", noun: "monitor",
		selector:   func(p *monitoringv1.Prometheus) *metav1.LabelSelector { return p.Spec.ServiceMonitorSelector },
		nsSelector: func(p *monitoringv1.Prometheus) *metav1.LabelSelector { return p.Spec.ServiceMonitorNamespaceSelector },
	}
	kindRule = kind{
		name: "PrometheusRule", resource: "prometheusrules", field: "ruleSelector", nsField: "ruleNamespaceSelector", noun: "rule",
		selector:   func(p *monitoringv1.Prometheus) *metav1.LabelSelector { return p.Spec.RuleSelector },
		nsSelector: func(p *monitoringv1.Prometheus) *metav1.LabelSelector { return p.Spec.RuleNamespaceSelector },
	}
)

// objectFacts are the monitors and rules that matter to one Prometheus: every one in its
// namespace, every one labelled with the team in the namespace where the team's Envoy runs, and
// every one its selectors pick in other namespaces.
type objectFacts struct {
	team            string
	podMonitors     []monitoringv1.PodMonitor
	serviceMonitors []monitoringv1.ServiceMonitor
	rules           []monitoringv1.PrometheusRule
	nsLabels        map[string]map[string]string // labels of the namespaces the objects live in
	teamNamespaces  []string                     // the Prometheus' namespace and the team's Envoy namespace
	err             error                        // listing the Prometheus' own namespace failed
	notes           []string                     // other lists that failed
}

func (d *doctor) gatherObjects(p *monitoringv1.Prometheus) objectFacts {
	f := objectFacts{team: d.team, nsLabels: map[string]map[string]string{}}
	teamSel := labels.SelectorFromSet(labels.Set{manifests.LabelTeam: d.team})
	teamNamespaces := []string{p.Namespace}
	if ns := p.Annotations[manifests.AnnotationEnvoyNamespace]; ns != "" && ns != p.Namespace {
		teamNamespaces = append(teamNamespaces, ns)
	}
	f.teamNamespaces = teamNamespaces
	var pmNotes, smNotes, ruleNotes []string
	var pmErr, smErr, ruleErr error
	f.podMonitors, pmNotes, pmErr = gatherKind(d.ctx, d.c.ListPodMonitors, p, kindPodMonitor, teamSel, teamNamespaces)
	f.serviceMonitors, smNotes, smErr = gatherKind(d.ctx, d.c.ListServiceMonitors, p, kindServiceMonitor, teamSel, teamNamespaces)
	f.rules, ruleNotes, ruleErr = gatherKind(d.ctx, d.c.ListPrometheusRules, p, kindRule, teamSel, teamNamespaces)
	f.notes = slices.Concat(pmNotes, smNotes, ruleNotes)
	f.err = errors.Join(pmErr, smErr, ruleErr)

	namespaces := []string{p.Namespace}
	for _, m := range f.podMonitors {
		namespaces = append(namespaces, m.Namespace)
	}
	for _, m := range f.serviceMonitors {
		namespaces = append(namespaces, m.Namespace)
	}
	for _, r := range f.rules {
		namespaces = append(namespaces, r.Namespace)
	}
	slices.Sort(namespaces)
	for _, ns := range slices.Compact(namespaces) {
		// Without the namespace object only the label every namespace carries is known.
		f.nsLabels[ns] = map[string]string{"kubernetes.io/metadata.name": ns}
		if n, err := d.c.GetNamespace(d.ctx, ns); err == nil && n != nil {
			f.nsLabels[ns] = n.Labels
		}
	}
	return f
}

// gatherKind lists the objects of one kind that matter to p, each once, sorted by namespace and
// name. It fails only when the Prometheus' own namespace cannot be listed; other failed lists
// become notes.
func gatherKind[T any, PT interface {
	*T
	metav1.Object
}](ctx context.Context, list func(context.Context, string, labels.Selector) ([]T, error),
	p *monitoringv1.Prometheus, k kind, teamSel labels.Selector, teamNamespaces []string) ([]T, []string, error) {
	seen := map[string]bool{}
	var out []T
	add := func(items []T) {
		for i := range items {
			m := PT(&items[i])
			key := m.GetNamespace() + "/" + m.GetName()
			if !seen[key] {
				seen[key] = true
				out = append(out, items[i])
			}
		}
	}
	own, err := list(ctx, p.Namespace, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("list %ss in namespace %s: %w", k.name, p.Namespace, err)
	}
	add(own)
	var notes []string
	// Team-labelled objects elsewhere may belong to a stack of the same name in their own
	// namespace; only the namespace where the team's Envoy runs is searched.
	for _, ns := range teamNamespaces[1:] {
		items, err := list(ctx, ns, teamSel)
		if err != nil {
			notes = append(notes, fmt.Sprintf("cannot list %ss in namespace %s: %v", k.name, ns, err))
			continue
		}
		add(items)
	}
	if k.nsSelector(p) != nil && k.selector(p) != nil {
		if sel, err := metav1.LabelSelectorAsSelector(k.selector(p)); err == nil {
			items, err := list(ctx, "", sel)
			if err != nil {
				notes = append(notes, fmt.Sprintf("cannot list %ss in every namespace (%s selects other namespaces): %v", k.name, k.nsField, err))
			} else {
				add(items)
			}
		}
	}
	slices.SortFunc(out, func(a, b T) int {
		ma, mb := PT(&a), PT(&b)
		if c := strings.Compare(ma.GetNamespace(), mb.GetNamespace()); c != 0 {
			return c
		}
		return strings.Compare(ma.GetName(), mb.GetName())
	})
	return out, notes, nil
}

// object is what the selection check needs to know of a monitor or rule.
type object struct {
	kind      kind
	namespace string
	name      string
	labels    map[string]string
}

func (f objectFacts) objects() []object {
	var out []object
	for _, m := range f.podMonitors {
		out = append(out, object{kindPodMonitor, m.Namespace, m.Name, m.Labels})
	}
	for _, m := range f.serviceMonitors {
		out = append(out, object{kindServiceMonitor, m.Namespace, m.Name, m.Labels})
	}
	for _, r := range f.rules {
		out = append(out, object{kindRule, r.Namespace, r.Name, r.Labels})
	}
	return out
}

// verdict is why p does or does not select an object.
type verdict struct {
	selected bool
	// wrongNamespace is true when the object's namespace is the reason it is not selected.
	wrongNamespace bool
	why            string
}

// selects evaluates p's selectors of the object's kind the way the operator does: the namespace
// selector (null: the Prometheus' own namespace only) and then the label selector (null:
// nothing).
func selects(p *monitoringv1.Prometheus, o object, nsLabels map[string]map[string]string) verdict {
	k := o.kind
	nsSel := k.nsSelector(p)
	if nsSel == nil {
		if o.namespace != p.Namespace {
			return verdict{wrongNamespace: true, why: fmt.Sprintf("Prometheus %s reads %ss from namespace %s only (%s is null)",
				p.Name, k.name, p.Namespace, k.nsField)}
		}
	} else if !matches(nsSel, nsLabels[o.namespace]) {
		return verdict{wrongNamespace: true, why: fmt.Sprintf("%s %s of Prometheus %s does not select namespace %s",
			k.nsField, formatSelector(nsSel), p.Name, o.namespace)}
	}
	sel := k.selector(p)
	if sel == nil {
		return verdict{why: fmt.Sprintf("%s of Prometheus %s is null and selects nothing", k.field, p.Name)}
	}
	if !matches(sel, o.labels) {
		return verdict{why: fmt.Sprintf("Prometheus %s selects %s", p.Name, formatSelector(sel))}
	}
	return verdict{selected: true}
}

// selectedPodMonitors are the PodMonitors p selects.
func (f objectFacts) selectedPodMonitors(p *monitoringv1.Prometheus) []monitoringv1.PodMonitor {
	var out []monitoringv1.PodMonitor
	for _, m := range f.podMonitors {
		if selects(p, object{kindPodMonitor, m.Namespace, m.Name, m.Labels}, f.nsLabels).selected {
			out = append(out, m)
		}
	}
	return out
}

// selectedServiceMonitors are the ServiceMonitors p selects.
func (f objectFacts) selectedServiceMonitors(p *monitoringv1.Prometheus) []monitoringv1.ServiceMonitor {
	var out []monitoringv1.ServiceMonitor
	for _, m := range f.serviceMonitors {
		if selects(p, object{kindServiceMonitor, m.Namespace, m.Name, m.Labels}, f.nsLabels).selected {
			out = append(out, m)
		}
	}
	return out
}

// selectedEnvoyServiceMonitors are the ServiceMonitors p selects that scrape Envoy: all but the
// team's own Alertmanager's.
func (f objectFacts) selectedEnvoyServiceMonitors(p *monitoringv1.Prometheus) []monitoringv1.ServiceMonitor {
	var out []monitoringv1.ServiceMonitor
	for _, m := range f.selectedServiceMonitors(p) {
		if m.Labels[manifests.LabelName] != manifests.AlertmanagerAppName {
			out = append(out, m)
		}
	}
	return out
}

// selectedRules are the PrometheusRules p selects.
func (f objectFacts) selectedRules(p *monitoringv1.Prometheus) []monitoringv1.PrometheusRule {
	var out []monitoringv1.PrometheusRule
	for _, r := range f.rules {
		if selects(p, object{kindRule, r.Namespace, r.Name, r.Labels}, f.nsLabels).selected {
			out = append(out, r)
		}
	}
	return out
}

// unselected lists the objects that belong to the team but that p does not select: those
// labelled with the team anywhere, and those in p's namespace that carry no team label. Objects
// labelled with another team are theirs.
func (f objectFacts) unselected(p *monitoringv1.Prometheus, kinds ...kind) []struct {
	object
	verdict
} {
	var out []struct {
		object
		verdict
	}
	for _, o := range f.objects() {
		if !slices.ContainsFunc(kinds, func(k kind) bool { return k.name == o.kind.name }) {
			continue
		}
		team, labelled := o.labels[manifests.LabelTeam]
		if labelled && team != f.team {
			continue
		}
		if !labelled && o.namespace != p.Namespace {
			continue
		}
		s := selects(p, o, f.nsLabels)
		if s.wrongNamespace && !slices.Contains(f.teamNamespaces, o.namespace) {
			// Found by a namespace selector in a namespace it does not select: another stack's.
			continue
		}
		if !s.selected {
			out = append(out, struct {
				object
				verdict
			}{o, s})
		}
	}
	return out
}

// unselectedFix is the remedy for one object p does not select.
func unselectedFix(p *monitoringv1.Prometheus, o object, s verdict, team string) string {
	k := o.kind
	if s.wrongNamespace {
		return fmt.Sprintf("move %s %s to namespace %s (its spec.namespaceSelector says where its targets are), or set %s on Prometheus %s to select namespace %s",
			k.name, o.name, p.Namespace, k.nsField, p.Name, o.namespace)
	}
	sel := k.selector(p)
	if sel == nil {
		return fmt.Sprintf("null selects nothing, {} selects all: set %s: {} or matchLabels %s=%s", k.field, manifests.LabelTeam, team)
	}
	fix := fmt.Sprintf("Prometheus %s selects %s; label the %s or widen the selector", p.Name, formatSelector(sel), k.noun)
	if changes := labelChanges(sel, o.labels); len(changes) > 0 {
		fix += fmt.Sprintf(": kubectl label %s %s -n %s %s --overwrite", k.resource, o.name, o.namespace, strings.Join(changes, " "))
	}
	return fix
}

func evalSelection(p *monitoringv1.Prometheus, f objectFacts) Result {
	if f.err != nil {
		return skipped(f.err.Error())
	}
	var reasons, fixes []string
	for _, u := range f.unselected(p, kindPodMonitor, kindServiceMonitor, kindRule) {
		reasons = append(reasons, fmt.Sprintf("%s %s/%s is not selected: %s", u.kind.name, u.namespace, u.name, u.why))
		fixes = append(fixes, unselectedFix(p, u.object, u.verdict, f.team))
	}
	if len(reasons) > 0 {
		return failed(strings.Join(append(reasons, f.notes...), "\n"), strings.Join(fixes, "\n"))
	}
	reason := fmt.Sprintf("selects %d PodMonitors, %d ServiceMonitors and %d PrometheusRules",
		len(f.selectedPodMonitors(p)), len(f.selectedServiceMonitors(p)), len(f.selectedRules(p)))
	if len(f.notes) > 0 {
		reason += "; " + strings.Join(f.notes, "; ")
	}
	return passed(reason)
}

// selectors

func evalSelectors(p *monitoringv1.Prometheus) Result {
	fields := []struct {
		name string
		sel  *metav1.LabelSelector
	}{
		{"serviceMonitorSelector", p.Spec.ServiceMonitorSelector},
		{"podMonitorSelector", p.Spec.PodMonitorSelector},
		{"probeSelector", p.Spec.ProbeSelector},
		{"scrapeConfigSelector", p.Spec.ScrapeConfigSelector},
		{"ruleSelector", p.Spec.RuleSelector},
	}
	var null, invalid []string
	monitorNulls := 0
	for i, f := range fields {
		if f.sel == nil {
			null = append(null, f.name)
			if i < 4 {
				monitorNulls++
			}
			continue
		}
		if _, err := metav1.LabelSelectorAsSelector(f.sel); err != nil {
			invalid = append(invalid, fmt.Sprintf("%s: %v", f.name, err))
		}
	}
	if len(invalid) > 0 {
		return failed("invalid selectors: "+strings.Join(invalid, "; "),
			fmt.Sprintf("fix the selector on Prometheus %s: kubectl edit prometheus %s -n %s", p.Name, p.Name, p.Namespace))
	}
	if len(null) == 0 {
		return passed("")
	}
	var reason string
	if monitorNulls == 4 {
		reason = "serviceMonitorSelector, podMonitorSelector, probeSelector and scrapeConfigSelector are all null: " +
			"the operator falls back to unmanaged config and Prometheus scrapes nothing"
		if p.Spec.RuleSelector == nil {
			reason += "; ruleSelector is null: no rules load"
		}
	} else {
		reason = strings.Join(null, ", ") + " null: it selects nothing"
	}
	fix := fmt.Sprintf("null selects nothing, {} selects all: set %s: {} or matchLabels %s=%s\n"+
		"kubectl patch prometheus %s -n %s --type merge -p '%s'",
		strings.Join(null, ", "), manifests.LabelTeam, teamOf(p),
		p.Name, p.Namespace, selectorPatch(null, manifests.LabelTeam, teamOf(p)))
	return failed(reason, fix)
}

// teamOf is the team a Prometheus belongs to: its team label, or its name.
func teamOf(p *monitoringv1.Prometheus) string {
	if t := p.Labels[manifests.LabelTeam]; t != "" {
		return t
	}
	return p.Name
}
