package manifests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// The labels every alert of a stack carries, whatever its expression kept, so that the team's
// route matches it under each of the operator's matcher strategies and wherever Envoy runs.
const (
	// AlertLabelTeam is the team whose stack raised the alert.
	AlertLabelTeam = "team"
	// AlertLabelNamespace is the team's namespace: the operator's OnNamespace strategy adds a
	// namespace="<the AlertmanagerConfig's namespace>" matcher to the team's route.
	AlertLabelNamespace = "namespace"
	// AlertLabelEnvoyNamespace keeps the namespace of the Envoy the alert is about.
	AlertLabelEnvoyNamespace = promql.LabelEnvoyNamespace
	// AnnotationRunbook links every alert to what to do about it.
	AnnotationRunbook = "runbook_url"
)

// DefaultRunbookURL is the page that explains each alert of the stack; each alert links to its
// own section.
const DefaultRunbookURL = "https://github.com/kubectl-promteam/kubectl-promteam/blob/main/docs/alerts.md"

// RunbookPlaceholder in --runbook-url is replaced by the alert's name; without it, the URL gets
// the alert's section anchor (#<alert name in lower case>).
const RunbookPlaceholder = "{alert}"

// ParseRunbookURL accepts an absolute http(s) URL, optionally with {alert} where the alert's name
// goes.
func ParseRunbookURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) ||
		strings.Contains(strings.ReplaceAll(s, RunbookPlaceholder, ""), "{") || strings.Contains(s, "}}") {
		return "", fmt.Errorf("use an absolute http(s) URL, such as https://wiki.example.com/runbooks/%s (%s is replaced by the alert name; without it each alert links to #<its name>)",
			RunbookPlaceholder, RunbookPlaceholder)
	}
	return s, nil
}

// runbookFor is the runbook_url of one alert.
func (s TeamSpec) runbookFor(alert string) string {
	base := s.RunbookURL
	if base == "" {
		base = DefaultRunbookURL
	}
	if strings.Contains(base, RunbookPlaceholder) {
		return strings.ReplaceAll(base, RunbookPlaceholder, alert)
	}
	return base + "#" + strings.ToLower(alert)
}

// routedAlert adds what every alert of the stack carries: the labels its route matches (the
// expression's namespace, where Envoy runs, moves to envoy_namespace; Prometheus expands label
// templates against the expression's labels before the rule's labels replace them) and its
// runbook.
func (s TeamSpec) routedAlert(r rule) rule {
	labels := map[string]string{
		AlertLabelTeam:           s.Team,
		AlertLabelNamespace:      s.Namespace,
		AlertLabelEnvoyNamespace: "{{ $labels.namespace }}",
	}
	for k, v := range r.labels {
		labels[k] = v
	}
	annotations := map[string]string{AnnotationRunbook: s.runbookFor(r.alert)}
	for k, v := range r.annotations {
		annotations[k] = v
	}
	r.labels, r.annotations = labels, annotations
	return r
}

// Alertmanager objects and names.

// AlertmanagerServiceName is the Service in front of a team's own Alertmanager.
func AlertmanagerServiceName(team string) string { return "alertmanager-" + team }

// alertmanagerPort is the port the operator names web on every Alertmanager pod.
const alertmanagerPort = 9093

// Intervals of the team's route: Alertmanager's own defaults, written out so that they show.
const (
	routeGroupWait      = "30s"
	routeGroupInterval  = "5m"
	routeRepeatInterval = "4h"
)

// routeGroupBy makes one notification per alert and upstream cluster.
var routeGroupBy = []string{"alertname", AlertLabelEnvoyNamespace, "envoy_cluster_name"}

// inhibitEqual is what a critical alert and a warning must share for the first to silence the
// second: the same upstream cluster of the same Envoy.
var inhibitEqual = []string{AlertLabelEnvoyNamespace, "envoy_cluster_name"}

func (s TeamSpec) alertmanagerName() string { return s.Team }

func (s TeamSpec) alertmanagerConfigName() string { return s.Team }

func (s TeamSpec) alertmanagerLabels() map[string]string {
	return s.labels(LabelName, AlertmanagerAppName, "app.kubernetes.io/instance", s.alertmanagerName())
}

// alertmanagerPodLabels are labels the operator puts on this Alertmanager's pods and no others.
func (s TeamSpec) alertmanagerPodLabels() map[string]string {
	return map[string]string{LabelName: AlertmanagerAppName, "alertmanager": s.alertmanagerName()}
}

// AlertmanagerConfigLabels are the labels of the team's AlertmanagerConfig, which an
// Alertmanager's alertmanagerConfigSelector must match: the own Alertmanager selects the team
// label; a shared one what --alertmanager-config-label says.
func (s TeamSpec) AlertmanagerConfigLabels() map[string]string {
	l := s.labels("app.kubernetes.io/component", "alert-routing")
	for k, v := range s.Alerting.ConfigLabels {
		l[k] = v
	}
	return l
}

// alertmanagerTarget is where the Prometheus sends alerts, nil when nowhere.
func (s TeamSpec) alertmanagerTarget() *monitoringv1.AlertmanagerEndpoints {
	switch s.Alerting.Delivery {
	case DeliverOwn:
		return &monitoringv1.AlertmanagerEndpoints{
			Namespace: ptr.To(s.Namespace), Name: AlertmanagerServiceName(s.Team),
			Port: intstr.FromString(WebPortName), APIVersion: ptr.To(monitoringv1.AlertmanagerAPIVersion2),
		}
	case DeliverShared:
		return &monitoringv1.AlertmanagerEndpoints{
			Namespace: ptr.To(s.Alerting.Namespace), Name: s.Alerting.Service,
			Port: intstr.FromString(WebPortName), APIVersion: ptr.To(monitoringv1.AlertmanagerAPIVersion2),
		}
	}
	return nil
}

// alertingObjects are the team's own Alertmanager (with its Service and disruption budget) and
// the AlertmanagerConfig that routes the team's alerts to its receivers.
func (s TeamSpec) alertingObjects() ([]Object, error) {
	var out []Object
	if s.Alerting.Delivery == DeliverOwn {
		out = append(out, s.alertmanager(), s.alertmanagerService(), s.alertmanagerMonitor())
		if s.Replicas > 1 {
			out = append(out, s.alertmanagerDisruptionBudget())
		}
	}
	if s.Alerting.Delivery != DeliverNowhere && len(s.Alerting.Receivers) > 0 {
		amc, err := s.alertmanagerConfig()
		if err != nil {
			return nil, err
		}
		out = append(out, amc)
	}
	return out, nil
}

// Resources of a team's own Alertmanager: it keeps silences and the notification log, small.
var (
	alertmanagerCPU         = resource.MustParse("10m")
	alertmanagerMemory      = resource.MustParse("64Mi")
	alertmanagerMemoryLimit = resource.MustParse("256Mi")
	alertmanagerStorage     = resource.MustParse("1Gi")
)

func (s TeamSpec) alertmanager() *monitoringv1.Alertmanager {
	am := &monitoringv1.Alertmanager{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.AlertmanagersKind},
		ObjectMeta: s.meta(s.alertmanagerName(), s.Namespace, s.alertmanagerLabels()),
	}
	spec := &am.Spec
	spec.Version = s.Alerting.AlertmanagerVersion
	spec.Replicas = ptr.To(s.Replicas)
	spec.ServiceName = ptr.To(AlertmanagerServiceName(s.Team))
	// Alertmanager reads nothing from the API server.
	spec.AutomountServiceAccountToken = ptr.To(false)
	// Only this team's AlertmanagerConfig, from this namespace only (a null namespace selector).
	spec.AlertmanagerConfigSelector = &metav1.LabelSelector{MatchLabels: map[string]string{LabelTeam: s.Team}}
	spec.AlertmanagerConfigMatcherStrategy = monitoringv1.AlertmanagerConfigMatcherStrategy{Type: monitoringv1.OnNamespaceConfigMatcherStrategyType}
	spec.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: alertmanagerCPU, corev1.ResourceMemory: alertmanagerMemory},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: alertmanagerMemoryLimit},
	}
	spec.SecurityContext = restrictedPodSecurityContext()
	spec.PodMetadata = &monitoringv1.EmbeddedObjectMetadata{Labels: map[string]string{LabelTeam: s.Team}}
	spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				TopologyKey:   corev1.LabelHostname,
				LabelSelector: &metav1.LabelSelector{MatchLabels: s.alertmanagerPodLabels()},
			},
		}},
	}}
	if !s.Storage.IsZero() {
		pvc := corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: alertmanagerStorage}},
		}
		if s.StorageClass != "" {
			pvc.StorageClassName = ptr.To(s.StorageClass)
		}
		spec.Storage = &monitoringv1.StorageSpec{VolumeClaimTemplate: monitoringv1.EmbeddedPersistentVolumeClaim{Spec: pvc}}
	}
	return am
}

// alertmanagerService is the team Alertmanager's own Service: the operator's alertmanager-operated
// selects every Alertmanager pod in the namespace.
func (s TeamSpec) alertmanagerService() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: s.meta(AlertmanagerServiceName(s.Team), s.Namespace, s.alertmanagerLabels()),
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  s.alertmanagerPodLabels(),
			Ports: []corev1.ServicePort{{
				Name: WebPortName, Port: alertmanagerPort, TargetPort: intstr.FromString(WebPortName), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

// alertmanagerMonitor has the team's Prometheus scrape its own Alertmanager, so that failing
// notifications (alertmanager_notifications_failed_total) show, and doctor can name them.
func (s TeamSpec) alertmanagerMonitor() *monitoringv1.ServiceMonitor {
	return &monitoringv1.ServiceMonitor{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.ServiceMonitorsKind},
		ObjectMeta: s.meta(AlertmanagerServiceName(s.Team), s.Namespace, s.alertmanagerLabels()),
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector:  metav1.LabelSelector{MatchLabels: s.alertmanagerLabels()},
			Endpoints: []monitoringv1.Endpoint{{Port: WebPortName}},
		},
	}
}

func (s TeamSpec) alertmanagerDisruptionBudget() *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: s.meta(AlertmanagerServiceName(s.Team), s.Namespace, s.alertmanagerLabels()),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr.To(intstr.FromInt32(1)),
			Selector:     &metav1.LabelSelector{MatchLabels: s.alertmanagerPodLabels()},
		},
	}
}

// teamMatchers select the alerts of this team's stack. They are on the route and on both sides
// of the inhibition even where the operator adds a namespace matcher itself: with the None
// strategy it adds nothing, and team names are unique per namespace only.
func (s TeamSpec) teamMatchers() []monitoringv1alpha1.Matcher {
	return []monitoringv1alpha1.Matcher{
		{Name: AlertLabelTeam, Value: s.Team, MatchType: monitoringv1alpha1.MatchEqual},
		{Name: AlertLabelNamespace, Value: s.Namespace, MatchType: monitoringv1alpha1.MatchEqual},
	}
}

// ReceiverNames names the receivers of an AlertmanagerConfig: the kind, numbered from the second
// of a kind on (slack, slack-2).
func ReceiverNames(receivers []Receiver) []string {
	seen := map[ReceiverKind]int{}
	names := make([]string, len(receivers))
	for i, r := range receivers {
		seen[r.Kind]++
		names[i] = string(r.Kind)
		if n := seen[r.Kind]; n > 1 {
			names[i] += fmt.Sprintf("-%d", n)
		}
	}
	return names
}

// unrouted is the route's own receiver, with no integration: an alert that matches none of the
// severity routes (none of the stack's does) is dropped here rather than sent to a receiver
// that did not ask for it.
const unrouted = "unrouted"

// Message templates: Alertmanager's defaults leave out the summary and the runbook.
const (
	notifyTitle = `[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.team }})`
	notifyText  = `{{ range .Alerts }}{{ .Annotations.summary }}
{{ .Annotations.runbook_url }}
{{ end }}`
)

func (s TeamSpec) alertmanagerConfig() (*monitoringv1alpha1.AlertmanagerConfig, error) {
	amc := &monitoringv1alpha1.AlertmanagerConfig{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1alpha1.SchemeGroupVersion.String(), Kind: monitoringv1alpha1.AlertmanagerConfigKind},
		ObjectMeta: s.meta(s.alertmanagerConfigName(), s.Namespace, s.AlertmanagerConfigLabels()),
	}
	names := ReceiverNames(s.Alerting.Receivers)
	route := &monitoringv1alpha1.Route{
		Receiver:       unrouted,
		Matchers:       s.teamMatchers(),
		GroupBy:        routeGroupBy,
		GroupWait:      ptr.To(monitoringv1.NonEmptyDuration(routeGroupWait)),
		GroupInterval:  ptr.To(monitoringv1.NonEmptyDuration(routeGroupInterval)),
		RepeatInterval: ptr.To(monitoringv1.NonEmptyDuration(routeRepeatInterval)),
	}
	receivers := []monitoringv1alpha1.Receiver{{Name: unrouted}}
	for i, r := range s.Alerting.Receivers {
		receivers = append(receivers, r.receiver(names[i]))
		child := monitoringv1alpha1.Route{Receiver: names[i], Matchers: []monitoringv1alpha1.Matcher{severityMatcher(r.Severities)}, Continue: true}
		raw, err := json.Marshal(child)
		if err != nil {
			return nil, err
		}
		route.Routes = append(route.Routes, apiextensionsv1.JSON{Raw: raw})
	}
	amc.Spec.Route = route
	amc.Spec.Receivers = receivers
	amc.Spec.InhibitRules = []monitoringv1alpha1.InhibitRule{{
		SourceMatch: append(s.teamMatchers(), monitoringv1alpha1.Matcher{Name: "severity", Value: SeverityCritical, MatchType: monitoringv1alpha1.MatchEqual}),
		TargetMatch: append(s.teamMatchers(), monitoringv1alpha1.Matcher{Name: "severity", Value: SeverityWarning, MatchType: monitoringv1alpha1.MatchEqual}),
		Equal:       inhibitEqual,
	}}
	return amc, nil
}

func severityMatcher(severities []string) monitoringv1alpha1.Matcher {
	if len(severities) == 1 {
		return monitoringv1alpha1.Matcher{Name: "severity", Value: severities[0], MatchType: monitoringv1alpha1.MatchEqual}
	}
	sorted := slices.Sorted(slices.Values(severities))
	return monitoringv1alpha1.Matcher{Name: "severity", Value: strings.Join(sorted, "|"), MatchType: monitoringv1alpha1.MatchRegexp}
}

// receiver is one receiver of the AlertmanagerConfig, its secret referenced in the namespace.
func (r Receiver) receiver(name string) monitoringv1alpha1.Receiver {
	out := monitoringv1alpha1.Receiver{Name: name}
	secret := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: r.Secret.Name}, Key: r.Secret.Key}
	resolved := ptr.To(true)
	switch r.Kind {
	case ReceiverSlack:
		c := monitoringv1alpha1.SlackConfig{APIURL: secret, SendResolved: resolved, Title: ptr.To(notifyTitle), Text: ptr.To(notifyText)}
		if r.Channel != "" {
			c.Channel = ptr.To(r.Channel)
		}
		out.SlackConfigs = []monitoringv1alpha1.SlackConfig{c}
	case ReceiverPagerDuty:
		out.PagerDutyConfigs = []monitoringv1alpha1.PagerDutyConfig{{RoutingKey: secret, SendResolved: resolved}}
	case ReceiverWebhook:
		out.WebhookConfigs = []monitoringv1alpha1.WebhookConfig{{URLSecret: secret, SendResolved: resolved}}
	case ReceiverMSTeams:
		out.MSTeamsV2Configs = []monitoringv1alpha1.MSTeamsV2Config{{WebhookURL: secret, SendResolved: resolved, Title: ptr.To(notifyTitle), Text: ptr.To(notifyText)}}
	case ReceiverEmail:
		c := monitoringv1alpha1.EmailConfig{To: ptr.To(r.To), From: ptr.To(r.From), Smarthost: ptr.To(r.Smarthost), SendResolved: resolved}
		if r.Username != "" {
			c.AuthUsername = ptr.To(r.Username)
			c.AuthPassword = secret
		}
		out.EmailConfigs = []monitoringv1alpha1.EmailConfig{c}
	}
	return out
}

// SecretKey is a key of a Secret the stack reads, with what it must hold.
type SecretKey struct {
	SecretRef
	Holds    string
	FromFile bool // the value is a file, such as a YAML configuration, rather than one line
}

// Secrets are the Secret keys the stack reads, in the team's namespace: the receivers' in
// --notify order, then the Thanos sidecars' object storage configuration, then the remote
// writes' credentials, without repeats.
func (s TeamSpec) Secrets() []SecretKey {
	out := s.receiverSecrets()
	seen := map[SecretRef]bool{}
	for _, k := range out {
		seen[k.SecretRef] = true
	}
	for _, k := range append(s.thanosSecrets(), s.remoteWriteSecrets()...) {
		if !seen[k.SecretRef] {
			seen[k.SecretRef] = true
			out = append(out, k)
		}
	}
	return out
}

// receiverSecrets are the Secret keys the receivers read, in --notify order without repeats.
func (s TeamSpec) receiverSecrets() []SecretKey {
	var out []SecretKey
	seen := map[SecretRef]bool{}
	for _, r := range s.Alerting.Receivers {
		if r.Secret.Name == "" || seen[r.Secret] {
			continue
		}
		seen[r.Secret] = true
		out = append(out, SecretKey{SecretRef: r.Secret, Holds: r.secretPurpose()})
	}
	return out
}

// deliveryChoices say where the alerts go, whom they notify and why routing cannot miss them.
func (s TeamSpec) deliveryChoices() []string {
	a := s.Alerting
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	switch a.Delivery {
	case DeliverNowhere:
		add("%s", NoDeliveryNote)
		return out
	case DeliverOwn:
		storage := "an emptyDir (silences are lost on restart)"
		if !s.Storage.IsZero() {
			storage = "a " + alertmanagerStorage.String() + " volume for silences and the notification log"
		}
		add("Alerts go to the team's own Alertmanager %s (%d replica(s), %s, %s), which reads only this team's AlertmanagerConfig from this namespace.",
			a.AlertmanagerVersion, s.Replicas, storage, "requests "+alertmanagerCPU.String()+" CPU and "+alertmanagerMemory.String()+", memory limited to "+alertmanagerMemoryLimit.String())
	case DeliverShared:
		add("Alerts go to the platform's Alertmanager %s/%s through Service %s (port web) in namespace %q.", a.Namespace, a.Name, a.Service, a.Namespace)
		if len(a.Receivers) == 0 {
			add("No --notify: the Alertmanager's own routes decide who hears the team's alerts; add --notify for receivers of the team's own.")
		} else {
			picked := "The AlertmanagerConfig carries no label for the Alertmanager's alertmanagerConfigSelector, which must then select every AlertmanagerConfig"
			if len(a.ConfigLabels) > 0 {
				picked = "The AlertmanagerConfig is labelled " + labelText(a.ConfigLabels) + " so that the Alertmanager's alertmanagerConfigSelector picks it"
			}
			add("%s; its alertmanagerConfigNamespaceSelector must also select namespace %q (doctor checks both).", picked, s.Namespace)
		}
	}
	add("Every alert carries %s=%s and %s=%s (the namespace of the Envoy it is about moves to %s), and the team's route matches both: it is delivered under each of the operator's matcher strategies and to no other team's receivers.",
		AlertLabelTeam, s.Team, AlertLabelNamespace, s.Namespace, AlertLabelEnvoyNamespace)
	if len(a.Receivers) > 0 {
		names := ReceiverNames(a.Receivers)
		for _, sev := range []string{SeverityCritical, SeverityWarning} {
			var to []string
			for i, r := range a.Receivers {
				if slices.Contains(r.Severities, sev) {
					to = append(to, names[i]+" ("+r.target()+")")
				}
			}
			if len(to) == 0 {
				to = []string{"nobody"}
			}
			add("%s alerts notify %s.", sev, strings.Join(to, ", "))
		}
		add("Notifications are grouped by alert and upstream cluster (%s wait, %s between updates, repeated every %s); a warning is held back while a critical alert fires for the same cluster.",
			routeGroupWait, routeGroupInterval, routeRepeatInterval)
		if secrets := s.receiverSecrets(); len(secrets) > 0 {
			refs := make([]string, len(secrets))
			for i, k := range secrets {
				refs[i] = k.String()
			}
			add("The receivers read Secret keys %s in namespace %q; the stack references them and never holds their values.", strings.Join(refs, ", "), s.Namespace)
		}
	}
	add("Each alert links to its runbook, such as %s.", s.runbookFor("EnvoyUpstreamHigh5xxRatio"))
	return out
}

// NoDeliveryNote is what create says when a stack's alerts go nowhere.
const NoDeliveryNote = "Alerts are evaluated and delivered to nobody: the Prometheus has no Alertmanager. " +
	"Add --alertmanager own --notify slack=SECRET/KEY for an Alertmanager of the team's own, or --alertmanager NAMESPACE/NAME for the platform's."

// target says where a receiver notifies, without secrets.
func (r Receiver) target() string {
	switch {
	case r.Kind == ReceiverEmail:
		return r.To
	case r.Channel != "":
		return r.Channel + ", URL in " + r.Secret.String()
	}
	return r.Secret.String()
}

func labelText(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// SecretCommands are the kubectl commands that create the Secrets keys names, one per Secret,
// with a placeholder saying what each key holds (a file's path for a FromFile key).
func SecretCommands(namespace string, keys []SecretKey) []string {
	var order []string
	literals := map[string][]string{}
	for _, k := range keys {
		if _, ok := literals[k.Name]; !ok {
			order = append(order, k.Name)
		}
		value := fmt.Sprintf("--from-literal=%s='<%s>'", k.Key, k.Holds)
		if k.FromFile {
			value = fmt.Sprintf("--from-file=%s='<path to %s>'", k.Key, k.Holds)
		}
		literals[k.Name] = append(literals[k.Name], value)
	}
	out := make([]string, len(order))
	for i, name := range order {
		out[i] = fmt.Sprintf("kubectl create secret generic %s -n %s %s", name, namespace, strings.Join(literals[name], " "))
	}
	return out
}
