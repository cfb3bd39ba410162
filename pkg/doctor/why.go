package doctor

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	promlabels "github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// SubjectKind is the kind of thing Why follows through the chain.
type SubjectKind string

// The kinds of subject.
const (
	SubjectService SubjectKind = "service"
	SubjectPod     SubjectKind = "pod"
	SubjectMetric  SubjectKind = "metric"
	SubjectAlert   SubjectKind = "alert"
)

// subjectAliases are the names a subject's kind may be given by, as kubectl accepts them.
var subjectAliases = map[string]SubjectKind{
	"service": SubjectService, "services": SubjectService, "svc": SubjectService,
	"pod": SubjectPod, "pods": SubjectPod, "po": SubjectPod,
	"metric": SubjectMetric, "metrics": SubjectMetric,
	"alert": SubjectAlert, "alerts": SubjectAlert,
}

// SubjectKinds lists the kinds, for help and completion.
var SubjectKinds = []SubjectKind{SubjectService, SubjectPod, SubjectMetric, SubjectAlert}

// maxSubjectName bounds a metric or alert name.
const maxSubjectName = 1024

// Subject is the one thing Why follows: a Service or pod of the team's Envoy, a metric, or an
// alert.
type Subject struct {
	Kind SubjectKind
	Name string
	// Namespace is where a Service or pod lives; "" is the namespace where the team's Envoy runs.
	Namespace string
}

func (s Subject) String() string { return string(s.Kind) + "/" + s.Name }

// ParseSubject reads KIND and NAME (service, svc, pod, po, metric or alert), or KIND/NAME with an
// empty name. The error says what is wrong and what is accepted.
func ParseSubject(kind, name string) (Subject, error) {
	if name == "" {
		var ok bool
		kind, name, ok = strings.Cut(kind, "/")
		if !ok {
			return Subject{}, fmt.Errorf("name what to follow as KIND/NAME or KIND NAME, e.g. service/envoy, pod/envoy-0, metric/envoy_cluster_upstream_rq_total or alert/EnvoyUpstreamHigh5xxRatio")
		}
	}
	k, ok := subjectAliases[strings.ToLower(kind)]
	if !ok {
		return Subject{}, fmt.Errorf("kind %q is not one why follows; use service, pod, metric or alert", kind)
	}
	s := Subject{Kind: k, Name: name}
	switch k {
	case SubjectService, SubjectPod:
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return Subject{}, fmt.Errorf("%s name %q: %s", k, name, errs[0])
		}
	default:
		if name == "" || len(name) > maxSubjectName || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
			return Subject{}, fmt.Errorf("%s name %q: use a non-empty name of at most %d printable characters", k, name, maxSubjectName)
		}
	}
	return s, nil
}

// The links of a trace, in the order Why follows them.
const (
	LinkStack    = "stack"    // the team's Prometheus exists and an operator reconciles it
	LinkObject   = "object"   // the Service or pod exists and runs
	LinkMonitor  = "monitor"  // a monitor of the team selects it: its labels and its namespace
	LinkPort     = "port"     // the port the monitor names exists on it
	LinkSelected = "selected" // the Prometheus selects the monitor or the rule
	LinkRBAC     = "rbac"     // the Prometheus ServiceAccount may discover it
	LinkTarget   = "target"   // Prometheus scrapes it and the scrape succeeds
	LinkSeries   = "series"   // its series are in Prometheus now
	LinkRules    = "rules"    // the rules that read its series are loaded and evaluate
	LinkRule     = "rule"     // a PrometheusRule of the team defines the alert
	LinkLoaded   = "loaded"   // Prometheus loaded the alert and evaluates it without error
	LinkState    = "state"    // what the alert does now: inactive, pending or firing
)

// chains are the links Why follows for each kind of subject.
var chains = map[SubjectKind][]string{
	SubjectService: {LinkStack, LinkObject, LinkMonitor, LinkPort, LinkSelected, LinkRBAC, LinkTarget, LinkSeries, LinkRules},
	SubjectPod:     {LinkStack, LinkObject, LinkMonitor, LinkPort, LinkSelected, LinkRBAC, LinkTarget, LinkSeries, LinkRules},
	SubjectMetric:  {LinkStack, LinkSelected, LinkTarget, LinkSeries, LinkRules},
	SubjectAlert:   {LinkStack, LinkRule, LinkSelected, LinkLoaded, LinkSeries, LinkState},
}

// Chain lists the links Why follows for a kind of subject, in order.
func Chain(k SubjectKind) []string { return slices.Clone(chains[k]) }

// Trace is the answer of Why: the links from the team's stack to the subject, each passed,
// failed (the first broken link, with its fix) or skipped (not followed past the broken link,
// or not checkable, with the reason).
type Trace struct {
	Team      string `json:"team"`
	Namespace string `json:"namespace"`
	Subject   string `json:"subject"`
	// Backend is what answered the live links, as in Report; set by the caller.
	Backend string `json:"backend,omitempty"`
	// Broken is the ID of the first broken link; empty when none is.
	Broken string   `json:"broken,omitempty"`
	Links  []Result `json:"links"`
}

// WriteText writes one line per link, as Report.WriteText writes checks, but with what each
// passed link found: the trace shows the way from the stack to the subject.
func (t Trace) WriteText(w io.Writer, color bool) error {
	return writeResults(w, t.Links, color, true)
}

// Failed reports whether a link is broken.
func (t Trace) Failed() bool { return t.Broken != "" }

// Link returns the link with the given ID.
func (t Trace) Link(id string) (Result, bool) { return Report{Results: t.Links}.Result(id) }

// Rule is one rule Prometheus loaded (/api/v1/rules).
type Rule struct {
	Group     string
	File      string
	Name      string // the alert's name or the recorded metric
	Alerting  bool
	Health    string // ok, err or unknown
	LastError string
	State     string // of an alert: inactive, pending or firing
	Active    int    // of an alert: how many series are pending or firing
}

// TraceSource is what Why reads from the team's Prometheus.
type TraceSource interface {
	// Targets lists the active scrape targets.
	Targets(ctx context.Context) ([]Target, error)
	// CountSeries counts the series sel matches now, as an instant query does (a series that
	// went stale is not counted).
	CountSeries(ctx context.Context, sel *parser.VectorSelector) (int, error)
	// Rules lists the rules Prometheus loaded.
	Rules(ctx context.Context) ([]Rule, error)
}

// Why follows subject through team's stack in namespace, link by link, and stops at the first
// broken one with its fix: for a Service or pod, the object → the monitor that should select it
// → its port → the Prometheus that should select the monitor → RBAC for discovery → the live
// target → its series → the rules that read them; for a metric, the monitors → the targets →
// the series (and the relabelling that drops it) → the rules; for an alert, the PrometheusRule
// → its selection → the rule Prometheus loaded → the series it reads → its state. p may be nil:
// the live links are then skipped. Why never returns an error: what it could not read is a
// failed or skipped link with the reason.
func Why(ctx context.Context, c Cluster, p TraceSource, team, namespace string, s Subject, opts Options) Trace {
	w := &why{doctor: doctor{ctx: ctx, c: c, team: team, ns: namespace, opts: opts.withDefaults()}, p: p, s: s}
	return w.run()
}

// why holds one Why's inputs and what the links found so far.
type why struct {
	doctor
	p TraceSource
	s Subject

	prom *monitoringv1.Prometheus
	objs objectFacts
	// subjectNS is where the Service or pod lives.
	subjectNS string
	// pods are the subject pod, or the pods the subject Service selects.
	pods []corev1.Pod
	// services are the subject Service, or the Services that select the subject pod.
	services []corev1.Service
	// monitors are the team's monitors that select the subject, with its port.
	monitors []monitorRef
	// targets are the subject's live targets.
	targets []Target
	// rules are the selected PrometheusRules; alert is the rule that defines the alert.
	alert    *definedRule
	loaded   []Rule
	loadedOK bool
}

// monitorRef is one monitor as the trace needs it.
type monitorRef struct {
	obj    object
	status monitoringv1.ConfigResourceStatus
	// pool is the scrape pool prefix the operator gives its targets: podMonitor/NS/NAME/.
	pool              string
	metricRelabelings [][]monitoringv1.RelabelConfig // by endpoint
}

// podMonitorRef and serviceMonitorRef are a monitor as the trace needs it; the operator names
// the scrape pool of its endpoint N podMonitor/NAMESPACE/NAME/N (serviceMonitor/… likewise).
func podMonitorRef(m monitoringv1.PodMonitor) monitorRef {
	ref := monitorRef{obj: object{kindPodMonitor, m.Namespace, m.Name, m.Labels}, status: m.Status, pool: "podMonitor/" + m.Namespace + "/" + m.Name + "/"}
	for _, ep := range m.Spec.PodMetricsEndpoints {
		ref.metricRelabelings = append(ref.metricRelabelings, ep.MetricRelabelConfigs)
	}
	return ref
}

func serviceMonitorRef(m monitoringv1.ServiceMonitor) monitorRef {
	ref := monitorRef{obj: object{kindServiceMonitor, m.Namespace, m.Name, m.Labels}, status: m.Status, pool: "serviceMonitor/" + m.Namespace + "/" + m.Name + "/"}
	for _, ep := range m.Spec.Endpoints {
		ref.metricRelabelings = append(ref.metricRelabelings, ep.MetricRelabelConfigs)
	}
	return ref
}

func (m monitorRef) String() string {
	return m.obj.kind.name + " " + m.obj.namespace + "/" + m.obj.name
}

// definedRule is an alerting or recording rule of a PrometheusRule.
type definedRule struct {
	ruleObj monitoringv1.PrometheusRule
	group   string
	rule    monitoringv1.Rule
}

func (w *why) run() Trace {
	t := Trace{Team: w.team, Namespace: w.ns, Subject: w.s.String()}
	chain := chains[w.s.Kind]
	for i, id := range chain {
		res := w.link(id)
		res.ID = id
		res.Title = w.linkTitle(id)
		if res.Status != StatusFailed {
			res.Fix = ""
		}
		t.Links = append(t.Links, res)
		if res.Status == StatusFailed {
			t.Broken = id
			for _, rest := range chain[i+1:] {
				t.Links = append(t.Links, Result{ID: rest, Title: w.linkTitle(rest), Status: StatusSkipped,
					Reason: "not followed: the chain breaks at " + id})
			}
			break
		}
	}
	return t
}

func (w *why) linkTitle(id string) string {
	what := fmt.Sprintf("%s %s", kindTitle(w.s.Kind), w.s.Name)
	switch id {
	case LinkStack:
		return fmt.Sprintf("Prometheus %s exists in namespace %s and an operator reconciles it", w.team, w.ns)
	case LinkObject:
		return what + " exists" + w.inSubjectNS()
	case LinkMonitor:
		return "a monitor of team " + w.team + " selects " + what + " (labels and namespace)"
	case LinkPort:
		return "the port the monitor names exists on " + what
	case LinkSelected:
		if w.s.Kind == SubjectAlert {
			return "Prometheus " + w.team + " selects the PrometheusRule that defines " + what
		}
		return "Prometheus " + w.team + " selects the monitor"
	case LinkRBAC:
		return "the Prometheus ServiceAccount may discover " + what
	case LinkTarget:
		if w.s.Kind == SubjectMetric {
			return "Prometheus scrapes the team's targets"
		}
		return "Prometheus scrapes " + what + " and the scrape succeeds"
	case LinkSeries:
		switch w.s.Kind {
		case SubjectMetric:
			return "series of " + w.s.Name + " are in Prometheus now"
		case SubjectAlert:
			return "the series " + what + " reads are in Prometheus now"
		}
		return "series scraped from " + what + " are in Prometheus now"
	case LinkRules:
		return "the rules that read them are loaded and evaluate"
	case LinkRule:
		return "a PrometheusRule of team " + w.team + " defines " + what
	case LinkLoaded:
		return "Prometheus loaded " + what + " and evaluates it without error"
	case LinkState:
		return "what " + what + " does now"
	}
	return id
}

func (w *why) inSubjectNS() string {
	if w.subjectNS == "" {
		return ""
	}
	return " in namespace " + w.subjectNS
}

func kindTitle(k SubjectKind) string {
	switch k {
	case SubjectService:
		return "Service"
	case SubjectPod:
		return "pod"
	case SubjectMetric:
		return "metric"
	}
	return "alert"
}

func (w *why) link(id string) Result {
	switch id {
	case LinkStack:
		return w.linkStack()
	case LinkObject:
		return w.linkObject()
	case LinkMonitor:
		return w.linkMonitor()
	case LinkPort:
		return w.linkPort()
	case LinkSelected:
		if w.s.Kind == SubjectAlert {
			return w.linkRuleSelected()
		}
		if w.s.Kind == SubjectMetric {
			return w.linkMonitorsSelected()
		}
		return w.linkSelected()
	case LinkRBAC:
		return w.linkRBAC()
	case LinkTarget:
		return w.linkTarget()
	case LinkSeries:
		return w.linkSeries()
	case LinkRules:
		return w.linkRules()
	case LinkRule:
		return w.linkRule()
	case LinkLoaded:
		return w.linkLoaded()
	case LinkState:
		return w.linkState()
	}
	return skipped("unknown link")
}

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
			w.monitors = append(w.monitors, c.ref)
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
	for _, c := range w.candidates() {
		if slices.ContainsFunc(w.monitors, func(m monitorRef) bool { return sameObject(m.obj, c.ref.obj) }) {
			if slices.Contains(c.namespaces, "") {
				nss = append(nss, "")
			} else {
				nss = append(nss, w.subjectNS)
			}
		}
	}
	slices.Sort(nss)
	nss = slices.Compact(nss)
	return evalRBAC(w.prom, w.gatherRBACIn(w.prom, nss))
}

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

func sameObject(a, b object) bool {
	return a.kind.name == b.kind.name && a.namespace == b.namespace && a.name == b.name
}
