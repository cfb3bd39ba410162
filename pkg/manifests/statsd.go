package manifests

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// statsd_exporter settings. The image is pinned; the mapping uses observer_type, which replaced
// the deprecated timer_type.
const (
	StatsdExporterImage = "prom/statsd-exporter:v0.30.0"
	statsdMetricsPort   = "metrics"
	statsdMetricsNumber = 9102
	statsdIngestNumber  = 9125
	statsdMappingKey    = "mapping.yaml"
)

func (s TeamSpec) statsdName() string        { return s.Team + "-statsd-exporter" }
func (s TeamSpec) statsdMappingName() string { return s.Team + "-statsd-mapping" }

func (s TeamSpec) statsdLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/name": "statsd-exporter", "app.kubernetes.io/instance": s.Team}
}

// statsdMapping is statsd_exporter's mapping configuration.
type statsdMapping struct {
	Defaults statsdDefaults `json:"defaults"`
	Mappings []statsdRule   `json:"mappings"`
}

type statsdDefaults struct {
	ObserverType     string           `json:"observer_type"`
	HistogramOptions statsdHistOption `json:"histogram_options"`
}

type statsdHistOption struct {
	Buckets []float64 `json:"buckets"`
}

type statsdRule struct {
	Match     string            `json:"match"`
	MatchType string            `json:"match_type,omitempty"`
	Action    string            `json:"action,omitempty"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// statsdMappingConfig keeps Envoy's counter names, so the recording rules read statsd and native
// Envoy alike, and turns timers into *_seconds histograms. A glob '*' matches a whole dot-separated
// segment only, hence the regex rules for the per-class counters; regex rules run after every
// glob rule, in order, so the catch-all drop comes last.
func statsdMappingConfig() statsdMapping {
	cluster := map[string]string{"envoy_cluster_name": "$1"}
	return statsdMapping{
		Defaults: statsdDefaults{
			ObserverType:     "histogram",
			HistogramOptions: statsdHistOption{Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}},
		},
		Mappings: []statsdRule{
			{Match: "envoy.cluster.*.upstream_rq_time", Name: "envoy_cluster_upstream_rq_time_seconds", Labels: cluster},
			{Match: "envoy.cluster.*.upstream_cx_connect_ms", Name: "envoy_cluster_upstream_cx_connect_seconds", Labels: cluster},
			{Match: "envoy.cluster.*.upstream_rq_total", Name: "envoy_cluster_upstream_rq_total", Labels: cluster},
			{Match: "envoy.cluster.*.upstream_rq_active", Name: "envoy_cluster_upstream_rq_active", Labels: cluster},
			{Match: "envoy.cluster.*.upstream_rq_timeout", Name: "envoy_cluster_upstream_rq_timeout", Labels: cluster},
			{Match: "envoy.cluster.*.upstream_rq_retry", Name: "envoy_cluster_upstream_rq_retry", Labels: cluster},
			{Match: `envoy\.cluster\.([^.]+)\.upstream_rq_(\d)xx`, MatchType: "regex", Name: "envoy_cluster_upstream_rq_xx",
				Labels: map[string]string{"envoy_cluster_name": "$1", "envoy_response_code_class": "$2"}},
			{Match: `envoy\.cluster\.([^.]+)\.upstream_rq_(\d{3})`, MatchType: "regex", Name: "envoy_cluster_upstream_rq",
				Labels: map[string]string{"envoy_cluster_name": "$1", "envoy_response_code": "$2"}},
			{Match: "envoy.http.*.downstream_rq_time", Name: "envoy_http_downstream_rq_time_seconds",
				Labels: map[string]string{"envoy_http_conn_manager_prefix": "$1"}},
			{Match: `envoy\.http\.([^.]+)\.downstream_rq_(\d)xx`, MatchType: "regex", Name: "envoy_http_downstream_rq_xx",
				Labels: map[string]string{"envoy_http_conn_manager_prefix": "$1", "envoy_response_code_class": "$2"}},
			{Match: ".+", MatchType: "regex", Action: "drop", Name: "dropped"},
		},
	}
}

func (s TeamSpec) statsdObjects() ([]Object, error) {
	mapping, err := yaml.Marshal(statsdMappingConfig())
	if err != nil {
		return nil, err
	}
	labels := s.labels("app.kubernetes.io/name", "statsd-exporter", "app.kubernetes.io/instance", s.Team)
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: s.meta(s.statsdMappingName(), s.Namespace, labels),
		Data:       map[string]string{statsdMappingKey: string(mapping)},
	}
	ports := []corev1.ContainerPort{
		{Name: statsdMetricsPort, ContainerPort: statsdMetricsNumber, Protocol: corev1.ProtocolTCP},
		{Name: "statsd-udp", ContainerPort: statsdIngestNumber, Protocol: corev1.ProtocolUDP},
		{Name: "statsd-tcp", ContainerPort: statsdIngestNumber, Protocol: corev1.ProtocolTCP},
	}
	podLabels := s.statsdLabels()
	podLabels[LabelTeam] = s.Team
	deploy := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: s.meta(s.statsdName(), s.Namespace, labels),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: s.statsdLabels()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](65534),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  "statsd-exporter",
						Image: StatsdExporterImage,
						Args: []string{
							"--statsd.mapping-config=/etc/statsd-exporter/" + statsdMappingKey,
							"--statsd.listen-udp=:9125",
							"--statsd.listen-tcp=:9125",
							"--web.listen-address=:9102",
						},
						Ports: ports,
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
						},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
							HTTPGet: &corev1.HTTPGetAction{Path: "/metrics", Port: intstr.FromString(statsdMetricsPort)},
						}},
						SecurityContext: restrictedContainerSecurityContext(),
						VolumeMounts:    []corev1.VolumeMount{{Name: "mapping", MountPath: "/etc/statsd-exporter", ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{{
						Name: "mapping",
						VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: s.statsdMappingName()},
						}},
					}},
				},
			},
		},
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: s.meta(s.statsdName(), s.Namespace, labels),
		Spec: corev1.ServiceSpec{
			Selector: s.statsdLabels(),
			Ports: []corev1.ServicePort{
				{Name: statsdMetricsPort, Port: statsdMetricsNumber, TargetPort: intstr.FromString(statsdMetricsPort), Protocol: corev1.ProtocolTCP},
				{Name: "statsd-udp", Port: statsdIngestNumber, TargetPort: intstr.FromString("statsd-udp"), Protocol: corev1.ProtocolUDP},
				{Name: "statsd-tcp", Port: statsdIngestNumber, TargetPort: intstr.FromString("statsd-tcp"), Protocol: corev1.ProtocolTCP},
			},
		},
	}
	return []Object{cm, deploy, svc}, nil
}
