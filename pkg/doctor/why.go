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
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
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

// ParseSubjectKind reads a kind or its alias (svc, po), in any case.
func ParseSubjectKind(kind string) (SubjectKind, bool) {
	k, ok := subjectAliases[strings.ToLower(kind)]
	return k, ok
}

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
	k, ok := ParseSubjectKind(kind)
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
	pool string
	// clusterWide is whether it discovers targets in every namespace (namespaceSelector any).
	clusterWide       bool
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
