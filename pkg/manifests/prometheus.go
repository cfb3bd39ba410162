package manifests

import (
	"sort"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Labels and values every object of a stack carries.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "kubectl-promteam"
	LabelTeam      = "promteam.io/team"
	// LabelNamespace is the team namespace, on the objects a stack keeps outside it (cluster-scoped
	// RBAC, the Role in the Envoy namespace): team names are unique per namespace only.
	LabelNamespace = "promteam.io/namespace"
	// LabelName names the application an object belongs to: prometheus, alertmanager,
	// statsd-exporter.
	LabelName = "app.kubernetes.io/name"
	// AlertmanagerAppName is LabelName on the team's own Alertmanager and its Service and
	// ServiceMonitor.
	AlertmanagerAppName = "alertmanager"

	// Annotations on the Prometheus that record the choices list, delete and doctor read back.
	AnnotationEnvoy          = "promteam.io/envoy"           // the presets, comma-separated
	AnnotationEnvoyNamespace = "promteam.io/envoy-namespace" // where Envoy runs, if not the team namespace
	AnnotationAlertmanager   = "promteam.io/alertmanager"    // where alerts go: own, or NAMESPACE/NAME

	// WebPortName is the port, on every Prometheus pod and on the team's Service, that serves
	// Prometheus' web UI and API.
	WebPortName = "web"
	// webPort is the port the operator names WebPortName on every Prometheus pod.
	webPort = 9090
)

// ServiceName is the team's own headless Service in front of its Prometheus pods, through
// which port-forward and the API server's service proxy reach them. The ServiceAccount, Role,
// RoleBinding, PodDisruptionBudget and NetworkPolicy share the name.
func ServiceName(team string) string { return "prometheus-" + team }

// ServiceLabels are labels the team's Service carries, enough to find it in any namespace.
func ServiceLabels(team string) map[string]string {
	return map[string]string{LabelTeam: team, "app.kubernetes.io/name": "prometheus"}
}

// prometheusName is the Prometheus custom resource; the operator derives the StatefulSet
// (prometheus-<team>) and pod names from it.
func (s TeamSpec) prometheusName() string { return s.Team }

// accountName names the ServiceAccount, Role, RoleBinding, Service, PodDisruptionBudget and
// NetworkPolicy of the stack.
func (s TeamSpec) accountName() string { return ServiceName(s.Team) }

// ForeignName names the objects a team's stack keeps outside its namespace (cluster-scoped RBAC,
// the Role and RoleBinding in the Envoy namespace); it includes the namespace because teams in
// different namespaces may share a name.
func ForeignName(namespace, team string) string { return "promteam:" + namespace + ":" + team }

// foreignLabels label the objects a stack keeps outside its namespace.
func (s TeamSpec) foreignLabels() map[string]string {
	l := s.prometheusLabels()
	l[LabelNamespace] = s.Namespace
	return l
}

// labels are the labels of every object; extra adds key, value pairs.
func (s TeamSpec) labels(extra ...string) map[string]string {
	l := map[string]string{LabelManagedBy: ManagedBy, LabelTeam: s.Team}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// prometheusLabels label the objects that belong to the Prometheus server itself.
func (s TeamSpec) prometheusLabels() map[string]string {
	return s.labels("app.kubernetes.io/name", "prometheus", "app.kubernetes.io/instance", s.prometheusName())
}

// podLabels are labels the operator puts on this Prometheus' pods and on no other pods.
func (s TeamSpec) podLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": s.prometheusName()}
}

// teamSelector selects the monitors and rules of this team only.
func (s TeamSpec) teamSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{LabelTeam: s.Team}}
}

func (s TeamSpec) meta(name, namespace string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels}
}

func (s TeamSpec) serviceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: s.meta(s.accountName(), s.Namespace, s.prometheusLabels()),
		// Kubernetes service discovery authenticates with this token.
		AutomountServiceAccountToken: ptr.To(true),
	}
}

// discoveryRules is what Prometheus' Kubernetes service discovery reads for PodMonitors (role
// pod) and ServiceMonitors (role endpointslice): nothing more.
func discoveryRules() []rbacv1.PolicyRule {
	read := []string{"get", "list", "watch"}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "services"}, Verbs: read},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: read},
	}
}

// rbac grants the Prometheus ServiceAccount discovery in the team namespace, in the Envoy
// namespace if that is another one, or everywhere with cluster scope.
func (s TeamSpec) rbac() []Object {
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: s.accountName(), Namespace: s.Namespace}}
	foreign := ForeignName(s.Namespace, s.Team)
	if s.ClusterScope {
		return []Object{
			&rbacv1.ClusterRole{
				TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
				ObjectMeta: s.meta(foreign, "", s.foreignLabels()),
				Rules:      discoveryRules(),
			},
			&rbacv1.ClusterRoleBinding{
				TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
				ObjectMeta: s.meta(foreign, "", s.foreignLabels()),
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: foreign},
				Subjects:   subject,
			},
		}
	}
	type grant struct {
		namespace, name string
		labels          map[string]string
	}
	grants := []grant{{s.Namespace, s.accountName(), s.prometheusLabels()}}
	if s.EnvoyNamespace != "" && s.EnvoyNamespace != s.Namespace && !s.noEnvoy() {
		grants = append(grants, grant{s.EnvoyNamespace, foreign, s.foreignLabels()})
	}
	// The Prometheus discovers the shared Alertmanager's pods through its Service's endpoints.
	if am := s.Alerting; am.Delivery == DeliverShared && am.Namespace != s.Namespace &&
		(am.Namespace != s.EnvoyNamespace || s.noEnvoy()) {
		grants = append(grants, grant{am.Namespace, foreign, s.foreignLabels()})
	}
	var out []Object
	for _, g := range grants {
		out = append(out, &rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: s.meta(g.name, g.namespace, g.labels),
			Rules:      discoveryRules(),
		})
	}
	for _, g := range grants {
		out = append(out, &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: s.meta(g.name, g.namespace, g.labels),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: g.name},
			Subjects:   subject,
		})
	}
	return out
}

// governingService is the team's own headless Service. Without it the operator uses the shared
// prometheus-operated Service, which selects every Prometheus pod in the namespace.
func (s TeamSpec) governingService() *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: s.meta(s.accountName(), s.Namespace, s.prometheusLabels()),
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  s.podLabels(),
			Ports: []corev1.ServicePort{{
				Name: WebPortName, Port: webPort, TargetPort: intstr.FromString(WebPortName), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
	if s.Thanos.Enabled {
		svc.Spec.Ports = append(svc.Spec.Ports, thanosGRPCServicePort())
	}
	return svc
}

func (s TeamSpec) prometheus() *monitoringv1.Prometheus {
	p := &monitoringv1.Prometheus{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PrometheusesKind},
		ObjectMeta: s.meta(s.prometheusName(), s.Namespace, s.prometheusLabels()),
	}
	p.Annotations = map[string]string{AnnotationEnvoy: s.presetList()}
	if s.EnvoyNamespace != "" && s.EnvoyNamespace != s.Namespace {
		p.Annotations[AnnotationEnvoyNamespace] = s.EnvoyNamespace
	}
	if s.Alerting.Delivery != DeliverNowhere {
		p.Annotations[AnnotationAlertmanager] = s.alertmanagerFlag()
	}
	if s.Thanos.Enabled {
		p.Annotations[AnnotationThanosQuery] = ThanosQueryName(s.Team)
	}
	spec := &p.Spec
	spec.Version = s.PrometheusVersion
	spec.ServiceAccountName = s.accountName()
	spec.ServiceName = ptr.To(s.accountName())
	spec.Replicas = ptr.To(s.Replicas)
	spec.Shards = ptr.To(s.Shards)
	spec.ScrapeInterval = s.ScrapeInterval
	spec.EvaluationInterval = s.EvaluationInterval
	spec.Retention = s.Retention
	if size := s.retentionSize(); !size.IsZero() {
		spec.RetentionSize = monitoringv1.ByteSize(size.String())
	}
	spec.WALCompression = ptr.To(true)
	spec.ExternalLabels = map[string]string{"team": s.Team}
	for k, v := range s.ExternalLabels {
		spec.ExternalLabels[k] = v
	}
	if s.Shards > 1 {
		// Each shard records the same series names and labels for its part of the targets;
		// without a label of its own, a Thanos Query would take two shards' series of one
		// cluster for replicas of each other and keep one. The operator's config-reloader
		// replaces $(SHARD) with the shard's number in the configuration it generates, as it
		// replaces $(POD_NAME) in prometheus_replica.
		spec.ExternalLabels[ShardExternalLabel] = "$(SHARD)"
	}

	// Non-null selectors: null selects nothing (and all four null means unmanaged config).
	spec.ServiceMonitorSelector = s.teamSelector()
	spec.PodMonitorSelector = s.teamSelector()
	spec.ProbeSelector = s.teamSelector()
	spec.ScrapeConfigSelector = s.teamSelector()
	spec.RuleSelector = s.teamSelector()
	// The namespace selectors stay null: monitors and rules are read from the team namespace
	// only. Unless the team asked to reach Envoy elsewhere, each monitor may only discover
	// targets in its own namespace, which is all the Role grants.
	spec.IgnoreNamespaceSelectors = s.EnvoyNamespace == "" && !s.ClusterScope
	spec.ServiceDiscoveryRole = ptr.To(monitoringv1.EndpointSliceRole)
	// The operator caps every monitor's own limits at these; unset means no cap.
	if s.SampleLimit > 0 {
		spec.EnforcedSampleLimit = ptr.To(s.SampleLimit)
	}
	if s.TargetLimit > 0 {
		spec.EnforcedTargetLimit = ptr.To(s.TargetLimit)
	}
	// A monitor must not read files from the Prometheus pod, such as its own token.
	spec.ArbitraryFSAccessThroughSMs = monitoringv1.ArbitraryFSAccessThroughSMsConfig{Deny: true}

	spec.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: s.CPU, corev1.ResourceMemory: s.Memory,
	}}
	if !s.MemoryLimit.IsZero() {
		// Prometheus 3 derives GOMEMLIMIT from the container memory limit.
		spec.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: s.MemoryLimit}
	}
	spec.SecurityContext = restrictedPodSecurityContext()
	spec.PodMetadata = &monitoringv1.EmbeddedObjectMetadata{Labels: map[string]string{LabelTeam: s.Team}}
	spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				TopologyKey:   corev1.LabelHostname,
				LabelSelector: &metav1.LabelSelector{MatchLabels: s.podLabels()},
			},
		}},
	}}
	if !s.Storage.IsZero() {
		pvc := corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: s.Storage}},
		}
		if s.StorageClass != "" {
			pvc.StorageClassName = ptr.To(s.StorageClass)
		}
		spec.Storage = &monitoringv1.StorageSpec{VolumeClaimTemplate: monitoringv1.EmbeddedPersistentVolumeClaim{Spec: pvc}}
	}
	if am := s.alertmanagerTarget(); am != nil {
		spec.Alerting = &monitoringv1.AlertingSpec{Alertmanagers: []monitoringv1.AlertmanagerEndpoints{*am}}
	}
	spec.RemoteWrite = s.remoteWrites()
	if s.Thanos.Enabled {
		p.Spec.Thanos = s.thanosSidecar()
	}
	return p
}

// restrictedPodSecurityContext meets Pod Security "restricted" at the pod level; the operator
// sets the container-level fields itself. 1000/2000 are the ids kube-prometheus uses.
func restrictedPodSecurityContext() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](1000),
		RunAsGroup:     ptr.To[int64](2000),
		FSGroup:        ptr.To[int64](2000),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// restrictedContainerSecurityContext meets Pod Security "restricted" for containers the stack
// runs itself.
func restrictedContainerSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// podDisruptionBudget keeps one replica up through voluntary disruptions such as node drains.
// The budget selects the pods of every shard: with shards it lets one pod go at a time, so that
// every shard keeps a replica (one minimum available pod would let whole shards go).
func (s TeamSpec) podDisruptionBudget() *policyv1.PodDisruptionBudget {
	pdb := &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: s.meta(s.accountName(), s.Namespace, s.prometheusLabels()),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr.To(intstr.FromInt32(1)),
			Selector:     &metav1.LabelSelector{MatchLabels: s.podLabels()},
		},
	}
	if s.Shards > 1 {
		pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable = nil, ptr.To(intstr.FromInt32(1))
	}
	return pdb
}

// networkPolicy admits connections to the Prometheus web port from pods of the team namespace
// only, and with Thanos to the sidecars' gRPC port from the team's Thanos Query only.
func (s TeamSpec) networkPolicy() *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: s.meta(s.accountName(), s.Namespace, s.prometheusLabels()),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: s.podLabels()},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(webPort))}},
			}},
		},
	}
	if s.Thanos.Enabled {
		np.Spec.Ingress = append(np.Spec.Ingress, s.thanosSidecarIngress())
	}
	return np
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
