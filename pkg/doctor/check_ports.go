package doctor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// listKey names one list request: a namespace ("" for all) and a label selector.
type listKey struct{ namespace, selector string }

type podList struct {
	pods []corev1.Pod
	err  error
}

type serviceList struct {
	services []corev1.Service
	err      error
}

// portsFacts are the pods and Services the selected monitors' selectors find.
type portsFacts struct {
	pods     map[listKey]podList
	services map[listKey]serviceList
}

func (d *doctor) gatherPorts(p *monitoringv1.Prometheus, objs objectFacts) portsFacts {
	f := portsFacts{pods: map[listKey]podList{}, services: map[listKey]serviceList{}}
	pods := func(ns string, sel labels.Selector) {
		k := listKey{ns, sel.String()}
		if _, done := f.pods[k]; !done {
			items, err := d.c.ListPods(d.ctx, ns, sel)
			f.pods[k] = podList{items, err}
		}
	}
	for _, m := range objs.selectedPodMonitors(p) {
		sel, err := asSelector(m.Spec.Selector)
		if err != nil {
			continue
		}
		for _, ns := range discoveryNamespaces(p, m.Namespace, m.Spec.NamespaceSelector) {
			pods(ns, sel)
		}
	}
	for _, m := range objs.selectedEnvoyServiceMonitors(p) {
		sel, err := asSelector(m.Spec.Selector)
		if err != nil {
			continue
		}
		for _, ns := range discoveryNamespaces(p, m.Namespace, m.Spec.NamespaceSelector) {
			k := listKey{ns, sel.String()}
			if _, done := f.services[k]; done {
				continue
			}
			items, err := d.c.ListServices(d.ctx, ns, sel)
			f.services[k] = serviceList{items, err}
			for _, svc := range items {
				if len(svc.Spec.Selector) > 0 {
					pods(svc.Namespace, labels.SelectorFromSet(svc.Spec.Selector))
				}
			}
		}
	}
	return f
}

// portsCheck accumulates the findings of the ports check.
type portsCheck struct {
	problems, fixes, unknown []string
	targets                  int
}

func (c *portsCheck) fail(reason, fix string) {
	c.problems = append(c.problems, reason)
	if !slices.Contains(c.fixes, fix) {
		c.fixes = append(c.fixes, fix)
	}
}

func evalPorts(p *monitoringv1.Prometheus, objs objectFacts, f portsFacts) Result {
	if objs.err != nil {
		return skipped(objs.err.Error())
	}
	pms, sms := objs.selectedPodMonitors(p), objs.selectedEnvoyServiceMonitors(p)
	if len(pms)+len(sms) == 0 {
		if p.Annotations[manifests.AnnotationEnvoy] == string(manifests.PresetNone) {
			return skipped("the stack has no Envoy monitors (--envoy none) and Prometheus " + p.Name + " selects no other monitor")
		}
		envoyUnselected := slices.ContainsFunc(objs.unselected(p, kindPodMonitor, kindServiceMonitor), func(o struct {
			object
			verdict
		}) bool {
			return o.labels[manifests.LabelName] != manifests.AlertmanagerAppName
		})
		if envoyUnselected {
			return skipped(fmt.Sprintf("Prometheus %s selects none of the team's monitors (see the selection check)", p.Name))
		}
		return failed(fmt.Sprintf("Prometheus %s selects no PodMonitor or ServiceMonitor, so it scrapes nothing", p.Name),
			fmt.Sprintf("re-create the stack's monitors with kubectl promteam create %s -n %s --apply",
				teamOf(p), p.Namespace))
	}
	var c portsCheck
	for _, m := range pms {
		c.podMonitor(p, m, f)
	}
	for _, m := range sms {
		c.serviceMonitor(p, m, f)
	}
	switch {
	case len(c.problems) > 0:
		return failed(strings.Join(append(c.problems, c.unknown...), "\n"), strings.Join(c.fixes, "\n"))
	case len(c.unknown) > 0:
		return skipped(strings.Join(c.unknown, "\n"))
	}
	return passed(fmt.Sprintf("%d monitors find %d pods or Services with the ports they name", len(pms)+len(sms), c.targets))
}

// noPodsFix is the remedy for a monitor whose selector matches nothing.
func noPodsFix(what, sel, ns string) string {
	return fmt.Sprintf("no Envoy %s match %s %s: check the preset or --envoy-selector (kubectl get %s %s --show-labels)",
		what, sel, inNamespace(ns), what, nsFlag(ns))
}

func nsFlag(ns string) string {
	if ns == "" {
		return "-A"
	}
	return "-n " + ns
}

func (c *portsCheck) podMonitor(p *monitoringv1.Prometheus, m monitoringv1.PodMonitor, f portsFacts) {
	id := fmt.Sprintf("PodMonitor %s/%s", m.Namespace, m.Name)
	sel, err := asSelector(m.Spec.Selector)
	if err != nil {
		c.fail(fmt.Sprintf("%s: invalid selector: %v", id, err), fmt.Sprintf("fix spec.selector of %s", id))
		return
	}
	for _, ns := range discoveryNamespaces(p, m.Namespace, m.Spec.NamespaceSelector) {
		list := f.pods[listKey{ns, sel.String()}]
		if list.err != nil {
			c.unknown = append(c.unknown, fmt.Sprintf("%s: cannot list pods %s: %v", id, inNamespace(ns), list.err))
			continue
		}
		selText := plainSelector(m.Spec.Selector)
		if len(list.pods) == 0 {
			c.fail(fmt.Sprintf("%s: no Envoy pods match %s %s", id, selText, inNamespace(ns)), noPodsFix("pods", selText, ns))
			continue
		}
		c.targets += len(list.pods)
		for i, ep := range m.Spec.PodMetricsEndpoints {
			want, ok := podEndpointPort(ep)
			if !ok {
				continue
			}
			if slices.ContainsFunc(list.pods, func(pod corev1.Pod) bool { return declaresPort(pod, want) }) {
				continue
			}
			c.fail(fmt.Sprintf("%s endpoint %d: port %s is declared by none of the %d pods matching %s %s (they declare: %s)",
				id, i, portText(want), len(list.pods), selText, inNamespace(ns), quoteList(declaredPorts(list.pods))),
				fmt.Sprintf("`port` must name a declared container port (PodMonitor): declare port %s on the Envoy container (containers[].ports), or set %s's port to one the pods declare",
					portText(want), id))
		}
	}
}

func (c *portsCheck) serviceMonitor(p *monitoringv1.Prometheus, m monitoringv1.ServiceMonitor, f portsFacts) {
	id := fmt.Sprintf("ServiceMonitor %s/%s", m.Namespace, m.Name)
	sel, err := asSelector(m.Spec.Selector)
	if err != nil {
		c.fail(fmt.Sprintf("%s: invalid selector: %v", id, err), fmt.Sprintf("fix spec.selector of %s", id))
		return
	}
	selText := plainSelector(m.Spec.Selector)
	for _, ns := range discoveryNamespaces(p, m.Namespace, m.Spec.NamespaceSelector) {
		list := f.services[listKey{ns, sel.String()}]
		if list.err != nil {
			c.unknown = append(c.unknown, fmt.Sprintf("%s: cannot list Services %s: %v", id, inNamespace(ns), list.err))
			continue
		}
		if len(list.services) == 0 {
			c.fail(fmt.Sprintf("%s: no Envoy Services match %s %s", id, selText, inNamespace(ns)), noPodsFix("services", selText, ns))
			continue
		}
		c.targets += len(list.services)
		for i, ep := range m.Spec.Endpoints {
			if ep.Port == "" && ep.TargetPort == nil {
				continue
			}
			if slices.ContainsFunc(list.services, func(svc corev1.Service) bool { return servicePortMatches(svc, ep) }) {
				continue
			}
			want := strconv.Quote(ep.Port)
			if ep.Port == "" {
				want = "targetPort " + ep.TargetPort.String()
			}
			var have []string
			for _, svc := range list.services {
				for _, sp := range svc.Spec.Ports {
					have = append(have, fmt.Sprintf("%s %q(%d)", svc.Name, sp.Name, sp.Port))
				}
			}
			c.fail(fmt.Sprintf("%s endpoint %d: port %s is on none of the Services matching %s %s (they have: %s)",
				id, i, want, selText, inNamespace(ns), quoteList(have)),
				fmt.Sprintf("`port` must name a Service port (ServiceMonitor): name the Service port %s, or set %s's port to one of the Service's port names",
					want, id))
		}
		for _, svc := range list.services {
			if len(svc.Spec.Selector) == 0 {
				continue
			}
			pods := f.pods[listKey{svc.Namespace, labels.SelectorFromSet(svc.Spec.Selector).String()}]
			if pods.err == nil && len(pods.pods) == 0 {
				svcSel := labels.SelectorFromSet(svc.Spec.Selector).String()
				c.fail(fmt.Sprintf("%s: Service %s/%s selects no pods (selector %s)", id, svc.Namespace, svc.Name, svcSel),
					noPodsFix("pods", svcSel, svc.Namespace))
			}
		}
	}
}

// podEndpointPort is the port a PodMonitor endpoint scrapes, in the order the operator reads
// the fields; false when it names none (every declared port is scraped).
func podEndpointPort(ep monitoringv1.PodMetricsEndpoint) (intstr.IntOrString, bool) {
	switch {
	case ptr.Deref(ep.Port, "") != "":
		return intstr.FromString(*ep.Port), true
	case ep.PortNumber != nil:
		return intstr.FromInt32(*ep.PortNumber), true
	case ep.TargetPort != nil: //nolint:staticcheck // deprecated, but the operator still honours it
		return *ep.TargetPort, true //nolint:staticcheck // deprecated, but the operator still honours it
	}
	return intstr.IntOrString{}, false
}

func portText(p intstr.IntOrString) string {
	if p.Type == intstr.String {
		return strconv.Quote(p.StrVal)
	}
	return "number " + strconv.Itoa(int(p.IntVal))
}

// declaresPort reports whether a container (or init container) of pod declares the port by name
// or number: Kubernetes pod discovery makes targets for declared ports only.
func declaresPort(pod corev1.Pod, want intstr.IntOrString) bool {
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		for _, cp := range c.Ports {
			if (want.Type == intstr.String && cp.Name == want.StrVal) || (want.Type == intstr.Int && cp.ContainerPort == want.IntVal) {
				return true
			}
		}
	}
	return false
}

func declaredPorts(pods []corev1.Pod) []string {
	var out []string
	for _, pod := range pods {
		for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
			for _, cp := range c.Ports {
				s := fmt.Sprintf("%q(%d)", cp.Name, cp.ContainerPort)
				if cp.Name == "" {
					s = strconv.Itoa(int(cp.ContainerPort))
				}
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// servicePortMatches reports whether svc has the port a ServiceMonitor endpoint names.
func servicePortMatches(svc corev1.Service, ep monitoringv1.Endpoint) bool {
	for _, sp := range svc.Spec.Ports {
		if ep.Port != "" {
			if sp.Name == ep.Port {
				return true
			}
			continue
		}
		tp := *ep.TargetPort
		if tp.Type == intstr.Int && (sp.TargetPort.IntValue() == int(tp.IntVal) || (sp.TargetPort.IntVal == 0 && sp.TargetPort.StrVal == "" && sp.Port == tp.IntVal)) {
			return true
		}
		if tp.Type == intstr.String && sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal == tp.StrVal {
			return true
		}
	}
	return false
}

// rbac

// discoveryResource is one resource the Prometheus ServiceAccount reads for service discovery.
type discoveryResource struct{ group, resource string }

func discoveryResources(p *monitoringv1.Prometheus) []discoveryResource {
	out := []discoveryResource{{"", "pods"}, {"", "services"}}
	if ptr.Deref(p.Spec.ServiceDiscoveryRole, monitoringv1.EndpointsRole) == monitoringv1.EndpointSliceRole {
		return append(out, discoveryResource{"discovery.k8s.io", "endpointslices"})
	}
	return append(out, discoveryResource{"", "endpoints"})
}

var discoveryVerbs = []string{"get", "list", "watch"}

type rbacFacts struct {
	serviceAccount string
	canReview      bool
	canReviewErr   error
	namespaces     []string            // where the monitors discover targets ("" for every namespace)
	denied         map[string][]string // namespace → "verb resource" the ServiceAccount may not do
	errs           []string
}

func serviceAccountOf(p *monitoringv1.Prometheus) string {
	if p.Spec.ServiceAccountName != "" {
		return p.Spec.ServiceAccountName
	}
	return "default"
}

// monitorNamespaces lists where the selected monitors discover targets.
func monitorNamespaces(p *monitoringv1.Prometheus, objs objectFacts) []string {
	var out []string
	for _, m := range objs.selectedPodMonitors(p) {
		out = append(out, discoveryNamespaces(p, m.Namespace, m.Spec.NamespaceSelector)...)
	}
	for _, m := range objs.selectedEnvoyServiceMonitors(p) {
		out = append(out, discoveryNamespaces(p, m.Namespace, m.Spec.NamespaceSelector)...)
	}
	if len(out) == 0 {
		out = []string{p.Namespace}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (d *doctor) gatherRBAC(p *monitoringv1.Prometheus, objs objectFacts) rbacFacts {
	return d.gatherRBACIn(p, monitorNamespaces(p, objs))
}

// gatherRBACIn asks whether the Prometheus ServiceAccount may discover targets in each of
// namespaces ("" for the cluster scope).
func (d *doctor) gatherRBACIn(p *monitoringv1.Prometheus, namespaces []string) rbacFacts {
	f := rbacFacts{serviceAccount: serviceAccountOf(p), denied: map[string][]string{}}
	f.canReview, f.canReviewErr = d.c.CanI(d.ctx, ResourceAttributes{Verb: "create", Group: "authorization.k8s.io", Resource: "subjectaccessreviews"})
	if !f.canReview || f.canReviewErr != nil {
		return f
	}
	f.namespaces = namespaces
	for _, ns := range f.namespaces {
		for _, r := range discoveryResources(p) {
			for _, verb := range discoveryVerbs {
				ok, err := d.c.CanServiceAccount(d.ctx, p.Namespace, f.serviceAccount,
					ResourceAttributes{Namespace: ns, Verb: verb, Group: r.group, Resource: r.resource})
				switch {
				case err != nil:
					f.errs = append(f.errs, fmt.Sprintf("cannot check %s %s %s: %v", verb, r.resource, inNamespace(ns), err))
				case !ok:
					f.denied[ns] = append(f.denied[ns], verb+" "+r.resource)
				}
			}
		}
	}
	return f
}

func evalRBAC(p *monitoringv1.Prometheus, f rbacFacts) Result {
	sa := p.Namespace + "/" + f.serviceAccount
	if f.canReviewErr != nil {
		return skipped("cannot tell whether you may create SubjectAccessReviews: " + f.canReviewErr.Error())
	}
	if !f.canReview {
		return skipped("you may not create subjectaccessreviews.authorization.k8s.io, so the permissions of ServiceAccount " + sa +
			" cannot be checked (a cluster admin can run the doctor)")
	}
	var reasons, fixes []string
	team := teamOf(p)
	for _, ns := range f.namespaces {
		denied := f.denied[ns]
		if len(denied) == 0 {
			continue
		}
		what := groupDenials(denied)
		reasons = append(reasons, fmt.Sprintf("ServiceAccount %s cannot %s %s", sa, what, scopeText(ns)))
		switch ns {
		case p.Namespace:
			fixes = append(fixes, fmt.Sprintf("cannot %s in namespace %s: the Role prometheus-%s or its RoleBinding to ServiceAccount %s is missing; re-create them with kubectl promteam create %s -n %s --apply",
				what, ns, team, f.serviceAccount, team, p.Namespace))
		case "":
			fixes = append(fixes, fmt.Sprintf("cannot %s at the cluster scope: keep monitors in the team namespace with ignoreNamespaceSelectors: true (no namespaceSelector any: true), or get a ClusterRole (kubectl promteam create %s -n %s --cluster-scope, applied by a cluster admin)",
				what, team, p.Namespace))
		default:
			fixes = append(fixes, fmt.Sprintf("cannot %s in namespace %s: keep monitors in the team namespace with ignoreNamespaceSelectors: true, or get a Role in %s (kubectl promteam create %s -n %s --envoy-namespace %s)",
				what, ns, ns, team, p.Namespace, ns))
		}
	}
	if len(reasons) > 0 {
		return failed(strings.Join(append(reasons, f.errs...), "\n"), strings.Join(fixes, "\n"))
	}
	if len(f.errs) > 0 {
		return skipped(strings.Join(f.errs, "\n"))
	}
	var where []string
	for _, ns := range f.namespaces {
		where = append(where, scopeText(ns))
	}
	var res []string
	for _, r := range discoveryResources(p) {
		res = append(res, r.resource)
	}
	return passed(fmt.Sprintf("ServiceAccount %s may get, list and watch %s %s", sa, strings.Join(res, ", "), strings.Join(where, ", ")))
}

// groupDenials turns ["get pods", "list pods", "list services"] into "get/list pods, list services".
func groupDenials(denied []string) string {
	var order []string
	verbs := map[string][]string{}
	for _, d := range denied {
		verb, res, _ := strings.Cut(d, " ")
		if _, ok := verbs[res]; !ok {
			order = append(order, res)
		}
		verbs[res] = append(verbs[res], verb)
	}
	var parts []string
	for _, res := range order {
		parts = append(parts, strings.Join(verbs[res], "/")+" "+res)
	}
	return strings.Join(parts, ", ")
}

func scopeText(ns string) string {
	if ns == "" {
		return "at the cluster scope"
	}
	return "in namespace " + ns
}
