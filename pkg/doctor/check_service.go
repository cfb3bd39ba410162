package doctor

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

type serviceFacts struct {
	svc      *corev1.Service
	svcErr   error
	proms    []monitoringv1.Prometheus // every Prometheus in the namespace
	promsErr error
	pods     []corev1.Pod // the pods the Service selects
	podsErr  error
}

func (d *doctor) gatherService(p *monitoringv1.Prometheus) serviceFacts {
	var f serviceFacts
	f.proms, f.promsErr = d.c.ListPrometheuses(d.ctx, p.Namespace, nil)
	name := ptr.Deref(p.Spec.ServiceName, "")
	if name == "" {
		return f
	}
	f.svc, f.svcErr = d.c.GetService(d.ctx, p.Namespace, name)
	if f.svc != nil && len(f.svc.Spec.Selector) > 0 {
		f.pods, f.podsErr = d.c.ListPods(d.ctx, p.Namespace, labels.SelectorFromSet(f.svc.Spec.Selector))
	}
	return f
}

// ownPodSelector is the selector of a governing Service that picks exactly p's pods.
func ownPodSelector(p *monitoringv1.Prometheus) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": p.Name}
}

// belongsTo reports whether the operator made pod for p.
func belongsTo(pod corev1.Pod, p *monitoringv1.Prometheus) bool {
	l := pod.Labels
	return l["operator.prometheus.io/name"] == p.Name ||
		(l["app.kubernetes.io/name"] == "prometheus" && l["app.kubernetes.io/instance"] == p.Name)
}

func evalService(p *monitoringv1.Prometheus, f serviceFacts) Result {
	name := ptr.Deref(p.Spec.ServiceName, "")
	var others []string
	for _, q := range f.proms {
		if q.Name != p.Name {
			others = append(others, q.Name)
		}
	}
	slices.Sort(others)
	if name == "" {
		if f.promsErr != nil {
			return skipped("spec.serviceName is unset and the Prometheus objects of namespace " + p.Namespace +
				" cannot be listed: " + f.promsErr.Error())
		}
		if len(others) == 0 {
			return passed("spec.serviceName is unset: the shared Service prometheus-operated serves " + p.Name +
				", the only Prometheus in namespace " + p.Namespace)
		}
		return failed(fmt.Sprintf("spec.serviceName is unset and namespace %s also holds Prometheus %s: "+
			"the shared Service prometheus-operated selects the pods of all of them, so a port-forward may reach another team's Prometheus",
			p.Namespace, strings.Join(others, ", ")),
			fmt.Sprintf("Set spec.serviceName and create that headless Service (operator ≥ v0.81): "+
				"kubectl promteam create %s -n %s --apply sets serviceName: prometheus-%s and creates that Service", teamOf(p), p.Namespace, p.Name))
	}
	if f.svcErr != nil {
		return skipped(fmt.Sprintf("cannot read Service %s: %v", name, f.svcErr))
	}
	own := ownPodSelector(p)
	if f.svc == nil {
		return failed(fmt.Sprintf("Service %s named by spec.serviceName does not exist in namespace %s", name, p.Namespace),
			fmt.Sprintf("create the headless Service %s (clusterIP: None, selector %s, port web 9090 → web): kubectl promteam create %s -n %s --apply",
				name, labels.Set(own).String(), teamOf(p), p.Namespace))
	}
	patch, _ := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/selector", "value": own}})
	fix := fmt.Sprintf("select the pods of Prometheus %s only: kubectl patch service %s -n %s --type json -p '%s'", p.Name, name, p.Namespace, patch)
	sel := labels.SelectorFromSet(f.svc.Spec.Selector)
	var problems []string
	switch {
	case len(f.svc.Spec.Selector) == 0:
		problems = append(problems, fmt.Sprintf("Service %s has no selector", name))
	case !sel.Matches(labels.Set(operatorPodLabels(p))):
		problems = append(problems, fmt.Sprintf("Service %s (selector %s) does not select the pods of Prometheus %s", name, sel, p.Name))
	}
	for _, q := range f.proms {
		if q.Name != p.Name && len(f.svc.Spec.Selector) > 0 && sel.Matches(labels.Set(operatorPodLabels(&q))) {
			problems = append(problems, fmt.Sprintf("Service %s (selector %s) also selects the pods of Prometheus %s", name, sel, q.Name))
		}
	}
	var strangers []string
	for _, pod := range f.pods {
		if !belongsTo(pod, p) {
			strangers = append(strangers, pod.Name)
		}
	}
	if len(strangers) > 0 {
		problems = append(problems, fmt.Sprintf("Service %s also selects pod %s, which Prometheus %s does not own", name, strings.Join(strangers, ", "), p.Name))
	}
	if len(problems) > 0 {
		return failed(strings.Join(problems, "\n"), fix)
	}
	return passed("Service " + name + " selects " + sel.String())
}
