package doctor

import (
	"fmt"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// The links of a trace that read the cluster.

// stack

func (w *why) linkStack() Result {
	api := evalAPI(w.gatherAPI())
	if api.Status != StatusPassed {
		return api
	}
	crds := evalCRDs(w.gatherCRDs())
	if crds.Status != StatusPassed {
		return crds
	}
	sf := w.gatherStack()
	if res := evalStack(sf); res.Status != StatusPassed {
		return res
	}
	w.prom = w.waitReconciled(sf.prom)
	if res := evalReconciled(w.prom, w.opts.ReconcileWait); res.Status != StatusPassed {
		return res
	}
	w.objs = w.gatherObjects(w.prom)
	if w.objs.err != nil {
		return failed("cannot read the team's monitors and rules: "+w.objs.err.Error(),
			fmt.Sprintf("you need list on podmonitors, servicemonitors and prometheusrules in namespace %s: kubectl auth can-i list podmonitors -n %s", w.ns, w.ns))
	}
	w.subjectNS = w.s.Namespace
	if w.subjectNS == "" {
		w.subjectNS = envoyNamespace(w.prom)
	}
	return passed(fmt.Sprintf("Prometheus %s/%s, reconciled and available", w.ns, w.team))
}

// envoyNamespace is where the team's Envoy runs: the namespace create was given with
// --envoy-namespace, else the stack's own.
func envoyNamespace(p *monitoringv1.Prometheus) string {
	if ns := p.Annotations[manifests.AnnotationEnvoyNamespace]; ns != "" {
		return ns
	}
	return p.Namespace
}

// object

func (w *why) linkObject() Result {
	ns := w.subjectNS
	nsHint := fmt.Sprintf("a %s in another namespace: --envoy-namespace NAMESPACE", strings.ToLower(kindTitle(w.s.Kind)))
	if w.s.Kind == SubjectService {
		svc, err := w.c.GetService(w.ctx, ns, w.s.Name)
		if err != nil {
			return failed(fmt.Sprintf("cannot read Service %s in namespace %s: %v", w.s.Name, ns, err),
				fmt.Sprintf("check access: kubectl get service %s -n %s", w.s.Name, ns))
		}
		if svc == nil {
			return failed(fmt.Sprintf("no Service %s in namespace %s", w.s.Name, ns),
				fmt.Sprintf("check the name: kubectl get services -n %s; %s", ns, nsHint))
		}
		w.services = []corev1.Service{*svc}
		if len(svc.Spec.Selector) == 0 {
			return passed(fmt.Sprintf("Service %s/%s, without a pod selector (its endpoints are managed by hand)", ns, svc.Name))
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		pods, err := w.c.ListPods(w.ctx, ns, sel)
		if err != nil {
			return failed(fmt.Sprintf("cannot list the pods of Service %s: %v", svc.Name, err),
				fmt.Sprintf("check access: kubectl get pods -n %s -l %s", ns, sel))
		}
		w.pods = pods
		if len(pods) == 0 {
			return failed(fmt.Sprintf("Service %s/%s selects no pod (selector %s)", ns, svc.Name, sel),
				fmt.Sprintf("the Service's selector must match the Envoy pods' labels: kubectl get pods -n %s --show-labels; kubectl edit service %s -n %s", ns, svc.Name, ns))
		}
		return passed(fmt.Sprintf("Service %s/%s selects %d pods (%s)", ns, svc.Name, len(pods), sel))
	}
	found, err := w.c.GetPod(w.ctx, ns, w.s.Name)
	if err != nil {
		return failed(fmt.Sprintf("cannot read pod %s in namespace %s: %v", w.s.Name, ns, err),
			fmt.Sprintf("check access: kubectl get pod %s -n %s", w.s.Name, ns))
	}
	if found == nil {
		return failed(fmt.Sprintf("no pod %s in namespace %s", w.s.Name, ns),
			fmt.Sprintf("check the name: kubectl get pods -n %s; %s", ns, nsHint))
	}
	pod := *found
	w.pods = []corev1.Pod{pod}
	services, err := w.c.ListServices(w.ctx, ns, nil)
	if err == nil {
		for _, svc := range services {
			if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				w.services = append(w.services, svc)
			}
		}
	}
	if pod.Status.PodIP == "" {
		return failed(fmt.Sprintf("pod %s/%s has no IP (phase %s): Prometheus has nothing to scrape", ns, pod.Name, pod.Status.Phase),
			fmt.Sprintf("find out why it does not run: kubectl describe pod %s -n %s", pod.Name, ns))
	}
	return passed(fmt.Sprintf("pod %s/%s, %s, IP %s, labels %s", ns, pod.Name, pod.Status.Phase, pod.Status.PodIP, labels.Set(pod.Labels)))
}

// monitor

// candidate is one monitor of the team, and how it meets the subject.
type candidate struct {
	ref        monitorRef
	selector   *metav1.LabelSelector
	namespaces []string // where it discovers targets; "" for every namespace
	labelsHit  bool     // its selector matches the subject (or one of its pods or Services)
	nsHit      bool
	// have are the labels the selector is matched against, for the fix.
	have     map[string]string
	haveWhat string // "pod envoy-0", "Service envoy", "the pods of Service envoy"
	resource string // what kubectl labels: pod, service
}

func (w *why) candidates() []candidate {
	var out []candidate
	ns := w.subjectNS
	inNS := func(nss []string) bool { return slices.Contains(nss, ns) || slices.Contains(nss, "") }
	for _, m := range w.objs.podMonitors {
		c := candidate{ref: podMonitorRef(m), selector: &m.Spec.Selector, namespaces: discoveryNamespaces(w.prom, m.Namespace, m.Spec.NamespaceSelector)}
		c.nsHit = inNS(c.namespaces)
		for _, pod := range w.pods {
			if c.have == nil {
				c.have, c.resource = pod.Labels, "pod"
				c.haveWhat = "pod " + pod.Name
				if w.s.Kind == SubjectService {
					c.haveWhat = "the pods of Service " + w.s.Name
				}
			}
			if matches(c.selector, pod.Labels) {
				c.labelsHit = true
			}
		}
		out = append(out, c)
	}
	for _, m := range w.objs.serviceMonitors {
		c := candidate{ref: serviceMonitorRef(m), selector: &m.Spec.Selector, namespaces: discoveryNamespaces(w.prom, m.Namespace, m.Spec.NamespaceSelector)}
		c.nsHit = inNS(c.namespaces)
		for _, svc := range w.services {
			if c.have == nil {
				c.have, c.resource, c.haveWhat = svc.Labels, "service", "Service "+svc.Name
			}
			if matches(c.selector, svc.Labels) {
				c.labelsHit = true
			}
		}
		if c.have == nil && w.s.Kind == SubjectPod {
			c.haveWhat = "no Service (none selects pod " + w.s.Name + ")"
		}
		out = append(out, c)
	}
	return out
}

func (w *why) linkMonitor() Result {
	cands := w.candidates()
	what := fmt.Sprintf("%s %s/%s", kindTitle(w.s.Kind), w.subjectNS, w.s.Name)
	if len(cands) == 0 {
		return failed(fmt.Sprintf("team %s has no PodMonitor or ServiceMonitor", w.team),
			fmt.Sprintf("create the stack's monitors: kubectl promteam create %s -n %s --apply", w.team, w.ns))
	}
	var hits []string
	for _, c := range cands {
		if c.labelsHit && c.nsHit {
			ref := c.ref
			ref.clusterWide = slices.Contains(c.namespaces, "")
			w.monitors = append(w.monitors, ref)
			hits = append(hits, fmt.Sprintf("%s (selector %s)", c.ref, plainSelector(*c.selector)))
		}
	}
	if len(hits) > 0 {
		return passed(strings.Join(hits, "; ") + " selects " + what)
	}
	// The labels match but the namespace is not where the monitor looks.
	for _, c := range cands {
		if !c.labelsHit {
			continue
		}
		reason := fmt.Sprintf("namespace %s is not selected: %s matches the labels of %s but discovers targets %s only",
			w.subjectNS, c.ref, c.haveWhat, strings.Join(namespaceTexts(c.namespaces), ", "))
		var fix string
		switch {
		case w.prom.Spec.IgnoreNamespaceSelectors:
			fix = fmt.Sprintf("Prometheus %s sets ignoreNamespaceSelectors, so each monitor discovers in its own namespace only: create the monitor in namespace %s, or run the Envoy in namespace %s",
				w.prom.Name, w.subjectNS, c.ref.obj.namespace)
		default:
			fix = fmt.Sprintf("add namespace %s to spec.namespaceSelector.matchNames of %s (the Prometheus ServiceAccount then needs a Role there too: kubectl promteam create %s -n %s --envoy-namespace %s), or run the Envoy in namespace %s",
				w.subjectNS, c.ref, w.team, w.ns, w.subjectNS, strings.Join(c.namespaces, ", "))
		}
		return failed(reason, fix)
	}
	// The closest monitor first: one that looks in the subject's namespace and selects the
	// kind of object that has labels to compare.
	slices.SortStableFunc(cands, func(a, b candidate) int {
		score := func(c candidate) int {
			s := 0
			if c.nsHit {
				s -= 2
			}
			if c.have != nil {
				s--
			}
			return s
		}
		return score(a) - score(b)
	})
	c := cands[0]
	var reasons []string
	for _, c := range cands {
		reasons = append(reasons, fmt.Sprintf("%s selects %s", c.ref, plainSelector(*c.selector)))
	}
	have := "no labels"
	if len(c.have) > 0 {
		have = "labels " + labels.Set(c.have).String()
	}
	reason := fmt.Sprintf("no monitor of team %s selects %s: %s has %s; %s", w.team, what, c.haveWhat, have, strings.Join(reasons, "; "))
	fix := fmt.Sprintf("label %s to match %s, or widen that monitor's selector", c.haveWhat, c.ref)
	if changes := labelChanges(c.selector, c.have); len(changes) > 0 && c.resource != "" {
		target := fmt.Sprintf("%s %s", c.resource, w.s.Name)
		if c.resource == "pod" && w.s.Kind == SubjectService {
			target = "pods -l " + labels.SelectorFromSet(w.services[0].Spec.Selector).String()
		} else if c.resource == "service" && w.s.Kind == SubjectPod {
			target = "service " + w.services[0].Name
		}
		fix += fmt.Sprintf(": kubectl label %s -n %s %s --overwrite", target, w.subjectNS, strings.Join(changes, " "))
		if c.resource == "pod" {
			fix += " (and in the pod template of the Deployment that makes them, or new pods lose it)"
		}
	}
	return failed(reason, fix)
}

func namespaceTexts(nss []string) []string {
	var out []string
	for _, ns := range nss {
		out = append(out, inNamespace(ns))
	}
	return out
}

// port

func (w *why) linkPort() Result {
	var ok []monitorRef
	var reasons, fixes, found []string
	for _, m := range w.monitors {
		hit, reason, fix := w.portOf(m)
		if hit {
			ok = append(ok, m)
			found = append(found, m.String()+" finds "+reason)
			continue
		}
		reasons = append(reasons, reason)
		fixes = append(fixes, fix)
	}
	if len(ok) == 0 {
		return failed(strings.Join(reasons, "\n"), strings.Join(fixes, "\n"))
	}
	w.monitors = ok
	return passed(strings.Join(found, "; "))
}

// portOf reports whether monitor m finds the port one of its endpoints names on the subject,
// and which; when it does not, why and the fix.
func (w *why) portOf(m monitorRef) (bool, string, string) {
	if m.obj.kind.name == kindPodMonitor.name {
		pm := w.podMonitor(m)
		if pm == nil {
			return false, "", ""
		}
		var declared []string
		for _, ep := range pm.Spec.PodMetricsEndpoints {
			want, named := podEndpointPort(ep)
			if !named {
				return true, "every port the pods declare", ""
			}
			for _, pod := range w.pods {
				if matches(&pm.Spec.Selector, pod.Labels) && declaresPort(pod, want) {
					return true, "port " + portText(want) + " on pod " + pod.Name, ""
				}
			}
			declared = append(declared, portText(want))
		}
		return false, fmt.Sprintf("%s names port %s, which %s: %s)",
				m, strings.Join(declared, ", "), w.undeclaredText(), quoteList(declaredPorts(w.pods))),
			fmt.Sprintf("`port` must name a declared container port (PodMonitor): set the endpoint's port of %s to one the pods declare (kubectl edit podmonitor %s -n %s), or declare port %s on the Envoy container",
				m, m.obj.name, m.obj.namespace, strings.Join(declared, ", "))
	}
	sm := w.serviceMonitor(m)
	if sm == nil {
		return false, "", ""
	}
	var wanted, have []string
	for _, ep := range sm.Spec.Endpoints {
		if ep.Port == "" && ep.TargetPort == nil {
			return true, "every port of the Service", ""
		}
		want := fmt.Sprintf("%q", ep.Port)
		if ep.Port == "" {
			want = "targetPort " + ep.TargetPort.String()
		}
		for _, svc := range w.services {
			if matches(&sm.Spec.Selector, svc.Labels) && servicePortMatches(svc, ep) {
				return true, "port " + want + " on Service " + svc.Name, ""
			}
		}
		wanted = append(wanted, want)
	}
	for _, svc := range w.services {
		for _, sp := range svc.Spec.Ports {
			have = append(have, fmt.Sprintf("%s %q(%d)", svc.Name, sp.Name, sp.Port))
		}
	}
	return false, fmt.Sprintf("%s names port %s, which the Service does not have (it has: %s)", m, strings.Join(wanted, ", "), quoteList(have)),
		fmt.Sprintf("`port` must name a Service port (ServiceMonitor): set the endpoint's port of %s to one of the Service's port names (kubectl edit servicemonitor %s -n %s), or name the Service port %s",
			m, m.obj.name, m.obj.namespace, strings.Join(wanted, ", "))
}

// undeclaredText says that the subject's pods do not declare a port, up to the list of those
// they do.
func (w *why) undeclaredText() string {
	if w.s.Kind == SubjectPod {
		return "pod " + w.s.Name + " does not declare (it declares"
	}
	return fmt.Sprintf("none of the %d pods of Service %s declares (they declare", len(w.pods), w.s.Name)
}

func (w *why) podMonitor(m monitorRef) *monitoringv1.PodMonitor {
	for i := range w.objs.podMonitors {
		if pm := &w.objs.podMonitors[i]; pm.Namespace == m.obj.namespace && pm.Name == m.obj.name {
			return pm
		}
	}
	return nil
}

func (w *why) serviceMonitor(m monitorRef) *monitoringv1.ServiceMonitor {
	for i := range w.objs.serviceMonitors {
		if sm := &w.objs.serviceMonitors[i]; sm.Namespace == m.obj.namespace && sm.Name == m.obj.name {
			return sm
		}
	}
	return nil
}

// selected

// bindingRejected is the operator's own word when its status says it rejected the object for p:
// the Accepted condition of the binding to p, when it is False.
func bindingRejected(st monitoringv1.ConfigResourceStatus, p *monitoringv1.Prometheus) (accepted bool, rejected string) {
	for _, b := range st.Bindings {
		if b.Resource != "prometheuses" || b.Name != p.Name || b.Namespace != p.Namespace {
			continue
		}
		for _, c := range b.Conditions {
			if c.Type != monitoringv1.Accepted {
				continue
			}
			if c.Status == monitoringv1.ConditionTrue {
				return true, ""
			}
			return false, strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	return false, ""
}

func (w *why) linkSelected() Result {
	var ok []monitorRef
	var reasons, fixes []string
	for _, m := range w.monitors {
		v := selects(w.prom, m.obj, w.objs.nsLabels)
		if !v.selected {
			reason := fmt.Sprintf("%s is not selected: %s", m, v.why)
			if v.wrongNamespace {
				reason = fmt.Sprintf("namespace %s of %s is not selected: %s", m.obj.namespace, m, v.why)
			}
			reasons = append(reasons, reason)
			fixes = append(fixes, unselectedFix(w.prom, m.obj, v, w.team))
			continue
		}
		if _, rejected := bindingRejected(m.status, w.prom); rejected != "" {
			reasons = append(reasons, fmt.Sprintf("the operator rejected %s for Prometheus %s: %s", m, w.prom.Name, rejected))
			fixes = append(fixes, fmt.Sprintf("fix %s as the operator says, then re-apply it: %s", m, rejected))
			continue
		}
		ok = append(ok, m)
	}
	if len(ok) == 0 {
		return failed(strings.Join(reasons, "\n"), strings.Join(fixes, "\n"))
	}
	w.monitors = ok
	var names []string
	for _, m := range ok {
		s := m.String()
		if accepted, _ := bindingRejected(m.status, w.prom); accepted {
			s += " (the operator reports it accepted)"
		}
		names = append(names, s)
	}
	return passed(fmt.Sprintf("Prometheus %s selects %s", w.prom.Name, strings.Join(names, ", ")))
}

// linkMonitorsSelected is the metric's selected link: the Prometheus selects at least one of the
// team's monitors.
func (w *why) linkMonitorsSelected() Result {
	var refs []monitorRef
	for _, m := range w.objs.podMonitors {
		refs = append(refs, podMonitorRef(m))
	}
	for _, m := range w.objs.serviceMonitors {
		refs = append(refs, serviceMonitorRef(m))
	}
	for _, ref := range refs {
		if selects(w.prom, ref.obj, w.objs.nsLabels).selected {
			w.monitors = append(w.monitors, ref)
		}
	}
	if len(w.monitors) > 0 {
		var names []string
		for _, m := range w.monitors {
			names = append(names, m.String())
		}
		return passed(fmt.Sprintf("Prometheus %s selects %s", w.prom.Name, strings.Join(names, ", ")))
	}
	if res := evalSelection(w.prom, w.objs); res.Status == StatusFailed {
		return res
	}
	return failed(fmt.Sprintf("Prometheus %s selects no PodMonitor or ServiceMonitor, so it scrapes nothing", w.prom.Name),
		fmt.Sprintf("create the stack's monitors: kubectl promteam create %s -n %s --apply", w.team, w.ns))
}

// rbac

func (w *why) linkRBAC() Result {
	var nss []string
	for _, m := range w.monitors {
		if m.clusterWide {
			nss = append(nss, "")
		} else {
			nss = append(nss, w.subjectNS)
		}
	}
	slices.Sort(nss)
	nss = slices.Compact(nss)
	return evalRBAC(w.prom, w.gatherRBACIn(w.prom, nss))
}
