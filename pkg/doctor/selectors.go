package doctor

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// formatSelector prints a label selector as the remedies quote it: {a=b,c in (d)}, {} for one that
// selects everything and null for one that selects nothing.
func formatSelector(s *metav1.LabelSelector) string {
	if s == nil {
		return "null"
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return fmt.Sprintf("{invalid: %v}", err)
	}
	return "{" + sel.String() + "}"
}

// plainSelector prints a selector for kubectl -l: app=envoy, or "everything" when empty.
func plainSelector(s metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(&s)
	if err != nil {
		return fmt.Sprintf("invalid selector (%v)", err)
	}
	if sel.Empty() {
		return "{} (every pod)"
	}
	return sel.String()
}

// matches reports whether a nullable selector selects set; null selects nothing.
func matches(s *metav1.LabelSelector, set map[string]string) bool {
	if s == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	return err == nil && sel.Matches(labels.Set(set))
}

// asSelector converts a monitor's selector; an invalid one selects nothing.
func asSelector(s metav1.LabelSelector) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(&s)
}

// labelChanges lists what to change on an object's labels so that s selects it: labels to set
// (key=value) and labels to remove (key-), in the syntax of kubectl label. Requirements that
// name no single value (Exists on a missing key, NotIn) add key=<value>.
func labelChanges(s *metav1.LabelSelector, have map[string]string) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, k := range sortedKeys(s.MatchLabels) {
		if v := s.MatchLabels[k]; have[k] != v {
			out = append(out, k+"="+v)
		}
	}
	sel, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchExpressions: s.MatchExpressions})
	if err != nil {
		return out
	}
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		if r.Matches(labels.Set(have)) {
			continue
		}
		switch r.Operator() {
		case selection.In, selection.Equals, selection.DoubleEquals:
			out = append(out, r.Key()+"="+r.ValuesUnsorted()[0])
		case selection.DoesNotExist, selection.NotIn, selection.NotEquals:
			out = append(out, r.Key()+"-")
		default:
			out = append(out, r.Key()+"=<value>")
		}
	}
	return out
}

// selectorPatch is a merge patch that sets each field of spec to {matchLabels: {key: value}}.
func selectorPatch(fields []string, key, value string) string {
	spec := map[string]any{}
	for _, f := range fields {
		spec[f] = map[string]any{"matchLabels": map[string]string{key: value}}
	}
	b, _ := json.Marshal(map[string]any{"spec": spec})
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// operatorPodLabels are the labels the operator gives the pods of p (shard 0), plus the ones
// spec.podMetadata adds.
func operatorPodLabels(p *monitoringv1.Prometheus) map[string]string {
	l := map[string]string{}
	if p.Spec.PodMetadata != nil {
		for k, v := range p.Spec.PodMetadata.Labels {
			l[k] = v
		}
	}
	for k, v := range map[string]string{
		"app.kubernetes.io/name":       "prometheus",
		"app.kubernetes.io/instance":   p.Name,
		"app.kubernetes.io/managed-by": "prometheus-operator",
		"operator.prometheus.io/name":  p.Name,
		"operator.prometheus.io/shard": "0",
		"prometheus":                   p.Name,
	} {
		l[k] = v
	}
	return l
}

// discoveryNamespaces lists where a monitor in namespace monitorNS discovers targets: its own
// namespace when the Prometheus ignores namespace selectors or the monitor names none, the named
// ones, or "" (every namespace) for any: true.
func discoveryNamespaces(p *monitoringv1.Prometheus, monitorNS string, sel monitoringv1.NamespaceSelector) []string {
	switch {
	case p.Spec.IgnoreNamespaceSelectors:
		return []string{monitorNS}
	case sel.Any:
		return []string{""}
	case len(sel.MatchNames) > 0:
		out := slices.Clone(sel.MatchNames)
		slices.Sort(out)
		return slices.Compact(out)
	}
	return []string{monitorNS}
}

// inNamespace prints "in namespace X", or "in every namespace" for "".
func inNamespace(ns string) string {
	if ns == "" {
		return "in every namespace"
	}
	return "in namespace " + ns
}

func quoteList(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}
