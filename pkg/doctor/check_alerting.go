package doctor

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// alertingFacts is what the alerting checks read: where the Prometheus sends alerts, the
// Alertmanager there, the team's AlertmanagerConfigs and the Secrets their receivers read.
type alertingFacts struct {
	targets []monitoringv1.AlertmanagerEndpoints
	// The Alertmanager resource the alerts go to, when the stack names it (own, or NAMESPACE/NAME).
	amNamespace, amName string
	am                  *monitoringv1.Alertmanager
	amErr               error
	configs             []monitoringv1alpha1.AlertmanagerConfig
	configsErr          error
	nsLabels            map[string]string
	nsErr               error
	// secretKeys maps each Secret the receivers read to its keys; nil keys: the Secret is missing.
	secretKeys map[string][]string
	secretsErr error
}

func (d *doctor) gatherAlerting(p *monitoringv1.Prometheus) alertingFacts {
	var f alertingFacts
	if p.Spec.Alerting != nil {
		f.targets = p.Spec.Alerting.Alertmanagers
	}
	if len(f.targets) == 0 {
		return f
	}
	switch where := p.Annotations[manifests.AnnotationAlertmanager]; {
	case where == manifests.AlertmanagerOwn:
		f.amNamespace, f.amName = p.Namespace, d.team
	case strings.Contains(where, "/"):
		f.amNamespace, f.amName, _ = strings.Cut(where, "/")
	default:
		return f
	}
	f.am, f.amErr = d.c.GetAlertmanager(d.ctx, f.amNamespace, f.amName)
	teamSel := labels.SelectorFromSet(labels.Set{manifests.LabelTeam: d.team})
	f.configs, f.configsErr = d.c.ListAlertmanagerConfigs(d.ctx, p.Namespace, teamSel)
	if ns, err := d.c.GetNamespace(d.ctx, p.Namespace); err != nil {
		f.nsErr = err
	} else if ns != nil {
		f.nsLabels = ns.Labels
	}
	f.secretKeys = map[string][]string{}
	for _, name := range secretNames(f.configs) {
		keys, err := d.c.SecretKeys(d.ctx, p.Namespace, name)
		if err != nil {
			f.secretsErr = err
			break
		}
		f.secretKeys[name] = keys
	}
	return f
}

// evalAlertDelivery: the alerts go to an Alertmanager that exists and reads the team's
// AlertmanagerConfig.
func evalAlertDelivery(p *monitoringv1.Prometheus, team string, f alertingFacts) Result {
	create := fmt.Sprintf("kubectl promteam create %s -n %s --alertmanager own --notify slack=SECRET/KEY --apply", team, p.Namespace)
	if len(f.targets) == 0 {
		return skipped("alerts are evaluated and delivered to nobody: the Prometheus has no Alertmanager; " + create + " gives the team one")
	}
	if f.amName == "" {
		t := f.targets[0]
		return skipped(fmt.Sprintf("alerts go to Service %s/%s, which the stack did not name as an Alertmanager resource; doctor checks the ones create --alertmanager names",
			deref(t.Namespace, p.Namespace), t.Name))
	}
	ref := f.amNamespace + "/" + f.amName
	switch {
	case f.amErr != nil:
		return failed(fmt.Sprintf("cannot read Alertmanager %s: %v", ref, f.amErr), "grant get on alertmanagers.monitoring.coreos.com in namespace "+f.amNamespace+", or ask its owner")
	case f.am == nil:
		return failed(fmt.Sprintf("the alerts go to Alertmanager %s, which does not exist", ref),
			fmt.Sprintf("%s (or --alertmanager NAMESPACE/NAME for an existing one; kubectl get alertmanagers -A lists them)", create))
	case f.configsErr != nil:
		return failed(fmt.Sprintf("cannot list the team's AlertmanagerConfigs: %v", f.configsErr), "grant list on alertmanagerconfigs.monitoring.coreos.com in namespace "+p.Namespace)
	case len(f.configs) == 0:
		return passed(fmt.Sprintf("alerts go to Alertmanager %s; the team has no AlertmanagerConfig, so its own routes decide who hears them", ref))
	}
	sel := f.am.Spec.AlertmanagerConfigSelector
	if sel == nil {
		return failed(fmt.Sprintf("Alertmanager %s reads no AlertmanagerConfig: its alertmanagerConfigSelector is unset", ref),
			fmt.Sprintf("set it (kubectl edit alertmanager -n %s %s), for example to {matchLabels: {%s: %s}} for this team only", f.amNamespace, f.amName, manifests.LabelTeam, team))
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return failed(fmt.Sprintf("Alertmanager %s has an invalid alertmanagerConfigSelector: %v", ref, err), "fix the selector: kubectl edit alertmanager -n "+f.amNamespace+" "+f.amName)
	}
	for _, c := range f.configs {
		if !selector.Matches(labels.Set(c.Labels)) {
			return failed(fmt.Sprintf("Alertmanager %s selects AlertmanagerConfigs with %s, and %s/%s does not match", ref, selector, c.Namespace, c.Name),
				fmt.Sprintf("kubectl promteam create %s -n %s --alertmanager %s --apply reads the label from the Alertmanager (or pass --alertmanager-config-label)", team, p.Namespace, f.amFlag(p)))
		}
	}
	nsSel := f.am.Spec.AlertmanagerConfigNamespaceSelector
	switch {
	case nsSel == nil && p.Namespace != f.amNamespace:
		return failed(fmt.Sprintf("Alertmanager %s reads AlertmanagerConfigs from its own namespace only (alertmanagerConfigNamespaceSelector is unset), not from %s", ref, p.Namespace),
			fmt.Sprintf("set its alertmanagerConfigNamespaceSelector to select namespace %s (kubectl edit alertmanager -n %s %s)", p.Namespace, f.amNamespace, f.amName))
	case nsSel != nil && f.nsErr != nil:
		return failed(fmt.Sprintf("cannot read namespace %s to match Alertmanager %s's namespace selector: %v", p.Namespace, ref, f.nsErr), "grant get on namespaces, or ask a cluster admin to run doctor")
	case nsSel != nil:
		nsSelector, err := metav1.LabelSelectorAsSelector(nsSel)
		if err != nil {
			return failed(fmt.Sprintf("Alertmanager %s has an invalid alertmanagerConfigNamespaceSelector: %v", ref, err), "fix the selector: kubectl edit alertmanager -n "+f.amNamespace+" "+f.amName)
		}
		if !nsSelector.Matches(labels.Set(f.nsLabels)) {
			return failed(fmt.Sprintf("Alertmanager %s reads AlertmanagerConfigs from namespaces labelled %s, and %s is not", ref, nsSelector, p.Namespace),
				fmt.Sprintf("kubectl label namespace %s %s (or ask the platform team)", p.Namespace, strings.ReplaceAll(nsSelector.String(), ",", " ")))
		}
	}
	return passed(fmt.Sprintf("alerts go to Alertmanager %s (matcher strategy %s), which reads AlertmanagerConfig %s/%s", ref, strategyOf(f.am), f.configs[0].Namespace, f.configs[0].Name))
}

func (f alertingFacts) amFlag(p *monitoringv1.Prometheus) string {
	if f.amNamespace == p.Namespace && f.amName == p.Name {
		return manifests.AlertmanagerOwn
	}
	return f.amNamespace + "/" + f.amName
}

func strategyOf(am *monitoringv1.Alertmanager) monitoringv1.AlertmanagerConfigMatcherStrategyType {
	if s := am.Spec.AlertmanagerConfigMatcherStrategy.Type; s != "" {
		return s
	}
	return monitoringv1.OnNamespaceConfigMatcherStrategyType
}

// evalAlertRouting: under the Alertmanager's matcher strategy, every alert of the team carries
// the labels its route matches, and the route takes no other team's alerts.
func evalAlertRouting(p *monitoringv1.Prometheus, team string, objs objectFacts, f alertingFacts) Result {
	if f.am == nil || len(f.configs) == 0 {
		return skipped("no Alertmanager reads an AlertmanagerConfig of the team")
	}
	strategy := strategyOf(f.am)
	// The operator adds namespace="<the AlertmanagerConfig's namespace>" to the team's route
	// unless the strategy is None, or the Alertmanager lives in the team's namespace under
	// OnNamespaceExceptForAlertmanagerNamespace.
	enforced := strategy == monitoringv1.OnNamespaceConfigMatcherStrategyType ||
		(strategy == monitoringv1.OnNamespaceExceptForAlertmanagerNamespaceConfigMatcherStrategyType && f.amNamespace != p.Namespace)
	recreate := fmt.Sprintf("kubectl promteam create %s -n %s --alertmanager %s --apply (its alerts set %s and %s)", team, p.Namespace, f.amFlag(p), manifests.AlertLabelTeam, manifests.AlertLabelNamespace)
	if enforced {
		var missing []string
		for _, r := range objs.rules {
			for _, g := range r.Spec.Groups {
				for _, rule := range g.Rules {
					if rule.Alert != "" && rule.Labels[manifests.AlertLabelNamespace] != p.Namespace {
						missing = append(missing, r.Name+"/"+rule.Alert)
					}
				}
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return failed(fmt.Sprintf("under the %s matcher strategy the team's route only takes alerts labelled namespace=%s, and %s do not set it: an alert about Envoy in another namespace is never delivered",
				strategy, p.Namespace, strings.Join(missing, ", ")), recreate)
		}
	}
	for _, c := range f.configs {
		if c.Spec.Route == nil {
			continue
		}
		has := func(name, value string) bool {
			return slices.ContainsFunc(c.Spec.Route.Matchers, func(m monitoringv1alpha1.Matcher) bool {
				return m.Name == name && m.Value == value && (m.MatchType == monitoringv1alpha1.MatchEqual || m.MatchType == "" && !m.Regex)
			})
		}
		if !enforced && (!has(manifests.AlertLabelTeam, team) || !has(manifests.AlertLabelNamespace, p.Namespace)) {
			return failed(fmt.Sprintf("under the %s matcher strategy the operator scopes AlertmanagerConfig %s/%s to no namespace, and its route does not match %s=%s and %s=%s: it takes other teams' alerts",
				strategy, c.Namespace, c.Name, manifests.AlertLabelTeam, team, manifests.AlertLabelNamespace, p.Namespace), recreate)
		}
	}
	return passed(fmt.Sprintf("every alert carries the labels the team's route matches under the %s matcher strategy, and the route takes no other team's alerts", strategy))
}

// evalReceiverSecrets: every Secret key the receivers read exists in the team's namespace.
func evalReceiverSecrets(p *monitoringv1.Prometheus, f alertingFacts) Result {
	if len(f.configs) == 0 {
		return skipped("the team has no AlertmanagerConfig")
	}
	if f.secretsErr != nil {
		if apierrors.IsForbidden(f.secretsErr) {
			return skipped(fmt.Sprintf("may not read Secrets in namespace %s to check the receivers' keys", p.Namespace))
		}
		return failed(fmt.Sprintf("cannot read the receivers' Secrets: %v", f.secretsErr), "check the API server and your access to Secrets in namespace "+p.Namespace)
	}
	var missing, fixes []string
	for _, ref := range secretRefs(f.configs) {
		keys, ok := f.secretKeys[ref.name]
		if ok && keys != nil && slices.Contains(keys, ref.key) {
			continue
		}
		missing = append(missing, ref.name+"/"+ref.key)
		fixes = append(fixes, fmt.Sprintf("kubectl create secret generic %s -n %s --from-literal=%s=...", ref.name, p.Namespace, ref.key))
	}
	if len(missing) > 0 {
		return failed(fmt.Sprintf("the receivers read Secret keys that do not exist in namespace %s: %s; the operator rejects the AlertmanagerConfig until they do",
			p.Namespace, strings.Join(missing, ", ")), strings.Join(fixes, "; "))
	}
	return passed("every Secret key the receivers read exists")
}

// secretRef is one key of one Secret, as a SecretKeySelector names it.
type secretRef struct{ name, key string }

// secretRefs finds every SecretKeySelector in the receivers of configs: any object whose fields
// are name and key (and optional), wherever the receiver kind keeps it.
func secretRefs(configs []monitoringv1alpha1.AlertmanagerConfig) []secretRef {
	seen := map[secretRef]bool{}
	var out []secretRef
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			name, nameOK := t["name"].(string)
			key, keyOK := t["key"].(string)
			others := len(t) - 2
			if _, ok := t["optional"]; ok {
				others--
			}
			if nameOK && keyOK && others == 0 {
				if r := (secretRef{name, key}); !seen[r] {
					seen[r] = true
					out = append(out, r)
				}
				return
			}
			for _, k := range slices.Sorted(func(yield func(string) bool) {
				for k := range t {
					if !yield(k) {
						return
					}
				}
			}) {
				walk(t[k])
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	for _, c := range configs {
		for _, r := range c.Spec.Receivers {
			raw, err := json.Marshal(r)
			if err != nil {
				continue
			}
			var v any
			if json.Unmarshal(raw, &v) == nil {
				if m, ok := v.(map[string]any); ok {
					delete(m, "name") // the receiver's own name
				}
				walk(v)
			}
		}
	}
	return out
}

func secretNames(configs []monitoringv1alpha1.AlertmanagerConfig) []string {
	var names []string
	for _, r := range secretRefs(configs) {
		if !slices.Contains(names, r.name) {
			names = append(names, r.name)
		}
	}
	return names
}

// evalAlertmanagersDiscovered: the Prometheus found the Alertmanager it is told to send to.
func evalAlertmanagersDiscovered(p *monitoringv1.Prometheus, active []string, err error) Result {
	if p == nil || p.Spec.Alerting == nil || len(p.Spec.Alerting.Alertmanagers) == 0 {
		return skipped("the Prometheus sends alerts to no Alertmanager")
	}
	t := p.Spec.Alerting.Alertmanagers[0]
	svc := deref(t.Namespace, p.Namespace) + "/" + t.Name
	if err != nil {
		return failed(fmt.Sprintf("cannot read the Alertmanagers Prometheus discovered: %v", err), "check that Prometheus answers /api/v1/alertmanagers")
	}
	if len(active) == 0 {
		return failed(fmt.Sprintf("Prometheus discovered no Alertmanager behind Service %s: its alerts go nowhere", svc),
			fmt.Sprintf("check that Service %s has ready endpoints on port %s (kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s) and that ServiceAccount %s/%s may list endpointslices there",
				svc, t.Port.String(), deref(t.Namespace, p.Namespace), t.Name, p.Namespace, p.Spec.ServiceAccountName))
	}
	return passed(fmt.Sprintf("Prometheus sends alerts to %s", strings.Join(active, ", ")))
}

func deref(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}
