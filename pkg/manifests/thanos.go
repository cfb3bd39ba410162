package manifests

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Thanos is the query layer of a stack: a Thanos sidecar on every Prometheus pod, and a Thanos
// Query of the team's own that reaches every shard and replica through them.
type Thanos struct {
	Enabled bool
	Version string // pinned release of the sidecars and the Query, such as v0.41.0
	// Image runs the sidecars and the Query; "" is ThanosImageRepository:Version.
	Image string
	// ObjectStorage is the Secret key holding a Thanos objstore YAML; with it the sidecars upload
	// every block. The zero value uploads nothing.
	ObjectStorage SecretRef
	QueryReplicas int32
}

// Thanos defaults and fixed settings. The image is pinned by version like the statsd exporter's.
const (
	DefaultThanosVersion       = "v0.41.0"
	DefaultThanosQueryReplicas = 1
	// ThanosImageRepository is the image the sidecars and the Query run unless --thanos-image
	// names another; its tag is the Thanos version.
	ThanosImageRepository = "thanosio/thanos"
	// ThanosQueryAppName is LabelName on the team's Thanos Query and its Service.
	ThanosQueryAppName = "thanos-query"
	// AnnotationThanosQuery on the Prometheus names the Service of the stack's Thanos Query.
	AnnotationThanosQuery = "promteam.io/thanos-query"

	// ThanosGRPCPortName is the StoreAPI port, on every sidecar (the operator names it so), on the
	// team's governing Service and on the Query.
	ThanosGRPCPortName = "grpc"
	// ThanosHTTPPortName is the Query's HTTP API and UI port.
	ThanosHTTPPortName = "http"
	thanosGRPCPort     = 10901
	thanosHTTPPort     = 10902
	// ThanosSidecarHTTPPort is the port of the sidecar's metrics, the operator's default.
	ThanosSidecarHTTPPort = thanosHTTPPort

	// thanosReplicaLabel is the external label the operator gives each Prometheus pod its own
	// value of (the pod name); the Query deduplicates replicas on it.
	thanosReplicaLabel = "prometheus_replica"
	thanosObjstoreHint = "a Thanos objstore YAML (the bucket's type and config)"
)

// Resources of the sidecar (it proxies the StoreAPI and uploads blocks) and of the Query (it
// holds the series of one query from every store at once).
var (
	thanosSidecarCPU         = resource.MustParse("50m")
	thanosSidecarMemory      = resource.MustParse("128Mi")
	thanosSidecarMemoryLimit = resource.MustParse("512Mi")
	thanosQueryCPU           = resource.MustParse("100m")
	thanosQueryMemory        = resource.MustParse("256Mi")
	thanosQueryMemoryLimit   = resource.MustParse("1Gi")
)

// ThanosQueryName names a team's Thanos Query: its Deployment, Service, PodDisruptionBudget and
// NetworkPolicy.
func ThanosQueryName(team string) string { return "thanos-query-" + team }

// ThanosImage is the image a Thanos version runs by default.
func ThanosImage(version string) string { return ThanosImageRepository + ":" + version }

// minThanosMinor is the oldest Thanos 0.x release accepted: the operator fully configures the
// sidecar (its Prometheus HTTP client file) from v0.24.0 on.
const minThanosMinor = 24

// ParseThanosVersion accepts a Thanos release such as v0.41.0 or 0.41.0 and returns it with the
// leading v of the image tags.
func ParseThanosVersion(s string) (string, error) {
	if err := ValidateThanosVersion(s); err != nil {
		return "", err
	}
	return "v" + strings.TrimPrefix(s, "v"), nil
}

// ValidateThanosVersion accepts the 0.x releases of Thanos from v0.24.0 on.
func ValidateThanosVersion(s string) error {
	major, minor, ok := prometheusVersion(s)
	switch {
	case !ok:
		return fmt.Errorf("use a Thanos release such as %s", DefaultThanosVersion)
	case major > 0:
		return fmt.Errorf("unknown major version %d: the stack is written for Thanos 0.x; use a release such as %s", major, DefaultThanosVersion)
	case minor < minThanosMinor:
		return fmt.Errorf("use Thanos v0.%d.0 or later, such as %s", minThanosMinor, DefaultThanosVersion)
	}
	return nil
}

// imagePattern is an image reference with a tag, a digest or both.
var imagePattern = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*` +
	`(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?(?:@sha256:[a-f0-9]{64})?$`)

// ValidateThanosImage accepts an image reference pinned by a tag other than latest or by a
// digest; when its tag is a release, it must be version's, which the operator reads to pick the
// sidecar's arguments.
func ValidateThanosImage(image, version string) error {
	m := imagePattern.FindStringSubmatch(image)
	if m == nil || len(image) > 255 {
		return fmt.Errorf("use an image reference such as %s, or the same path on a registry mirror", ThanosImage(version))
	}
	tag := m[imagePattern.SubexpIndex("tag")]
	if (tag == "" && !strings.Contains(image, "@")) || tag == "latest" {
		return fmt.Errorf("pin a tag or digest, such as %s: an unpinned image changes under the stack", ThanosImage(version))
	}
	if _, _, isRelease := prometheusVersion(tag); isRelease && "v"+strings.TrimPrefix(tag, "v") != version {
		return fmt.Errorf("tag %s differs from --thanos-version %s, from which the operator picks the sidecar's arguments; pass --thanos-version %s too", tag, version, tag)
	}
	return nil
}

// ParseThanosObjstore accepts SECRET/KEY naming the Secret key that holds the objstore YAML.
func ParseThanosObjstore(s string) (SecretRef, error) {
	return parseSecretRef(s, "thanos-objstore/objstore.yaml")
}

// thanosImage is the image the sidecars and the Query run.
func (s TeamSpec) thanosImage() string {
	if s.Thanos.Image != "" {
		return s.Thanos.Image
	}
	return ThanosImage(s.Thanos.Version)
}

// validateThanos checks the Thanos fields: none but the defaults without Thanos.
func (s TeamSpec) validateThanos() error {
	t := s.Thanos
	if !t.Enabled {
		switch {
		case t.ObjectStorage != (SecretRef{}):
			return &FieldError{Field: "thanos-objstore", Value: t.ObjectStorage.String(), Reason: ErrOnlyWithThanos.Error()}
		case t.Image != "":
			return &FieldError{Field: "thanos-image", Value: t.Image, Reason: ErrOnlyWithThanos.Error()}
		}
		return nil
	}
	if err := ValidateThanosVersion(t.Version); err != nil {
		return &FieldError{Field: "thanos-version", Value: t.Version, Reason: err.Error()}
	}
	if !strings.HasPrefix(t.Version, "v") {
		return &FieldError{Field: "thanos-version", Value: t.Version, Reason: "write it with the leading v of the image tags, such as " + DefaultThanosVersion}
	}
	if t.Image != "" {
		if err := ValidateThanosImage(t.Image, t.Version); err != nil {
			return &FieldError{Field: "thanos-image", Value: t.Image, Reason: err.Error()}
		}
	}
	if t.ObjectStorage != (SecretRef{}) {
		if _, err := ParseThanosObjstore(t.ObjectStorage.String()); err != nil {
			return &FieldError{Field: "thanos-objstore", Value: t.ObjectStorage.String(), Reason: err.Error()}
		}
	}
	if t.QueryReplicas < 1 {
		return &FieldError{Field: "thanos-query-replicas", Value: fmt.Sprint(t.QueryReplicas), Reason: "use 1 or more"}
	}
	return nil
}

// ErrOnlyWithThanos is the reason a Thanos flag without --thanos is refused.
var ErrOnlyWithThanos = errors.New("only applies with --thanos; add --thanos")

// thanosSidecar is the Prometheus' spec.thanos: the operator adds a sidecar to every pod that
// serves the StoreAPI on port grpc and, with object storage, uploads every block.
func (s TeamSpec) thanosSidecar() *monitoringv1.ThanosSpec {
	t := &monitoringv1.ThanosSpec{
		Version: ptr.To(s.Thanos.Version),
		Image:   ptr.To(s.thanosImage()),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: thanosSidecarCPU, corev1.ResourceMemory: thanosSidecarMemory},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: thanosSidecarMemoryLimit},
		},
	}
	if ref := s.Thanos.ObjectStorage; ref != (SecretRef{}) {
		t.ObjectStorageConfig = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Key: ref.Key}
	}
	return t
}

// thanosGRPCServicePort is the sidecars' StoreAPI on the governing Service: a DNS SRV lookup of
// _grpc._tcp on the headless Service finds every shard's and replica's sidecar.
func thanosGRPCServicePort() corev1.ServicePort {
	return corev1.ServicePort{Name: ThanosGRPCPortName, Port: thanosGRPCPort, TargetPort: intstr.FromString(ThanosGRPCPortName), Protocol: corev1.ProtocolTCP}
}

func (s TeamSpec) thanosQueryLabels() map[string]string {
	return s.labels(LabelName, ThanosQueryAppName, "app.kubernetes.io/instance", s.Team)
}

// thanosQueryPodLabels select the team's Thanos Query pods and no others.
func (s TeamSpec) thanosQueryPodLabels() map[string]string {
	return map[string]string{LabelName: ThanosQueryAppName, "app.kubernetes.io/instance": s.Team}
}

// thanosQueryEndpoint is the DNS SRV name of the sidecars' gRPC port on the governing Service.
func (s TeamSpec) thanosQueryEndpoint() string {
	return fmt.Sprintf("dnssrv+_%s._tcp.%s.%s.svc", ThanosGRPCPortName, s.accountName(), s.Namespace)
}

// thanosQueryArgs run the Query against every sidecar of the team. Replicas are deduplicated on
// the operator's replica label; partial responses are off, so that a store that does not answer
// fails the query instead of silently dropping a shard's share of every number.
func (s TeamSpec) thanosQueryArgs() []string {
	return []string{
		"query",
		fmt.Sprintf("--http-address=0.0.0.0:%d", thanosHTTPPort),
		fmt.Sprintf("--grpc-address=0.0.0.0:%d", thanosGRPCPort),
		"--endpoint=" + s.thanosQueryEndpoint(),
		"--query.replica-label=" + thanosReplicaLabel,
		"--no-query.partial-response",
		"--log.format=logfmt",
	}
}

// thanosQueryObjects are the team's Thanos Query: its Deployment and Service, a
// PodDisruptionBudget with more than one replica and a NetworkPolicy with --network-policy.
func (s TeamSpec) thanosQueryObjects() []Object {
	name := ThanosQueryName(s.Team)
	labels := s.thanosQueryLabels()
	podLabels := s.thanosQueryPodLabels()
	podLabels[LabelTeam] = s.Team
	probe := func(path string, period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(ThanosHTTPPortName)}},
			PeriodSeconds:    period,
			FailureThreshold: failures,
		}
	}
	deploy := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: s.meta(name, s.Namespace, labels),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(s.Thanos.QueryReplicas),
			Selector: &metav1.LabelSelector{MatchLabels: s.thanosQueryPodLabels()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					// The Query finds the sidecars through DNS and reads nothing from the API server.
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              restrictedPodSecurityContext(),
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
							Weight: 100,
							PodAffinityTerm: corev1.PodAffinityTerm{
								TopologyKey:   corev1.LabelHostname,
								LabelSelector: &metav1.LabelSelector{MatchLabels: s.thanosQueryPodLabels()},
							},
						}},
					}},
					Containers: []corev1.Container{{
						Name:  ThanosQueryAppName,
						Image: s.thanosImage(),
						Args:  s.thanosQueryArgs(),
						Ports: []corev1.ContainerPort{
							{Name: ThanosHTTPPortName, ContainerPort: thanosHTTPPort, Protocol: corev1.ProtocolTCP},
							{Name: ThanosGRPCPortName, ContainerPort: thanosGRPCPort, Protocol: corev1.ProtocolTCP},
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: thanosQueryCPU, corev1.ResourceMemory: thanosQueryMemory},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: thanosQueryMemoryLimit},
						},
						ReadinessProbe:           probe("/-/ready", 5, 20),
						LivenessProbe:            probe("/-/healthy", 30, 4),
						SecurityContext:          restrictedContainerSecurityContext(),
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
				},
			},
		},
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: s.meta(name, s.Namespace, labels),
		Spec: corev1.ServiceSpec{
			Selector: s.thanosQueryPodLabels(),
			Ports: []corev1.ServicePort{
				{Name: ThanosHTTPPortName, Port: thanosHTTPPort, TargetPort: intstr.FromString(ThanosHTTPPortName), Protocol: corev1.ProtocolTCP},
				{Name: ThanosGRPCPortName, Port: thanosGRPCPort, TargetPort: intstr.FromString(ThanosGRPCPortName), Protocol: corev1.ProtocolTCP},
			},
		},
	}
	out := []Object{deploy, svc}
	if s.Thanos.QueryReplicas > 1 {
		out = append(out, &policyv1.PodDisruptionBudget{
			TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
			ObjectMeta: s.meta(name, s.Namespace, labels),
			Spec: policyv1.PodDisruptionBudgetSpec{
				MinAvailable: ptr.To(intstr.FromInt32(1)),
				Selector:     &metav1.LabelSelector{MatchLabels: s.thanosQueryPodLabels()},
			},
		})
	}
	if s.NetworkPolicy {
		out = append(out, &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: s.meta(name, s.Namespace, labels),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: s.thanosQueryPodLabels()},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(thanosHTTPPort))}},
				}},
			},
		})
	}
	return out
}

// thanosSidecarIngress admits the Query pods to the sidecars' gRPC port.
func (s TeamSpec) thanosSidecarIngress() networkingv1.NetworkPolicyIngressRule {
	return networkingv1.NetworkPolicyIngressRule{
		From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: s.thanosQueryPodLabels()}}},
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(thanosGRPCPort))}},
	}
}

// thanosSecrets are the Secret keys the sidecars read.
func (s TeamSpec) thanosSecrets() []SecretKey {
	if !s.Thanos.Enabled || s.Thanos.ObjectStorage == (SecretRef{}) {
		return nil
	}
	return []SecretKey{{SecretRef: s.Thanos.ObjectStorage, Holds: thanosObjstoreHint, FromFile: true}}
}

// thanosChoices say what Thanos adds to the stack and where the data lives.
func (s TeamSpec) thanosChoices() []string {
	t := s.Thanos
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	add("Thanos %s (image %s) is pinned and runs as a sidecar in each of the %d Prometheus pod(s) (requests %s CPU and %s, memory limited to %s), serving the StoreAPI on port %s (%d) of Service %s.",
		t.Version, s.thanosImage(), s.Shards*s.Replicas, thanosSidecarCPU.String(), thanosSidecarMemory.String(), thanosSidecarMemoryLimit.String(),
		ThanosGRPCPortName, thanosGRPCPort, s.accountName())
	add("Thanos Query %s (%d replica(s), requests %s CPU and %s, memory limited to %s) finds every sidecar through the DNS SRV record %s, merges the shards and deduplicates the replicas on the operator's %s label; a store that does not answer fails the query instead of leaving its part out. Its HTTP API is port %s (%d) of Service %s.",
		ThanosQueryName(s.Team), t.QueryReplicas, thanosQueryCPU.String(), thanosQueryMemory.String(), thanosQueryMemoryLimit.String(),
		strings.TrimPrefix(s.thanosQueryEndpoint(), "dnssrv+"), thanosReplicaLabel, ThanosHTTPPortName, thanosHTTPPort, ThanosQueryName(s.Team))
	if t.ObjectStorage == (SecretRef{}) {
		add("No --thanos-objstore: the Thanos Query deduplicates replicas and merges shards, but history stays local: each Prometheus keeps --retention %s on its own volume and nothing outlives it.", s.Retention)
		return out
	}
	add("The sidecars upload every block to the bucket that the Thanos objstore YAML in Secret key %s of namespace %q describes; the stack references the Secret and never holds it. --retention %s is now local retention: blocks go to object storage and outlive it there. The stack runs no Thanos Store Gateway or Compactor, so the Thanos Query reads the local retention only.",
		t.ObjectStorage, s.Namespace, s.Retention)
	if s.delaysCompaction() {
		add("The operator delays the Prometheus' local compaction until the sidecars have uploaded each block.")
	} else {
		add("The operator turns the Prometheus' local compaction off while the sidecars upload (delayed compaction needs Prometheus v3.9.0 and Thanos v0.41.0 or later), so local blocks stay 2h long.")
	}
	return out
}

// delaysCompaction tells whether the operator delays local compaction for uploads rather than
// turning it off: Prometheus v3.9.0 and Thanos v0.41.0 or later.
func (s TeamSpec) delaysCompaction() bool {
	pMajor, pMinor, _ := prometheusVersion(s.PrometheusVersion)
	_, tMinor, _ := prometheusVersion(s.Thanos.Version)
	return (pMajor > 3 || (pMajor == 3 && pMinor >= 9)) && tMinor >= 41
}
