package manifests

import (
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func (s TeamSpec) noEnvoy() bool {
	return len(s.Presets) == 1 && s.Presets[0] == PresetNone
}

// monitorName names the monitor of preset p; the team prefix keeps teams that share a namespace
// apart.
func (s TeamSpec) monitorName(p Preset) string { return s.Team + "-" + string(p) }

// envoyNamespaceSelector is where a monitor discovers Envoy: its own namespace (the zero value),
// the --envoy-namespace, or every namespace with --cluster-scope.
func (s TeamSpec) envoyNamespaceSelector() monitoringv1.NamespaceSelector {
	switch {
	case s.ClusterScope:
		return monitoringv1.NamespaceSelector{Any: true}
	case s.EnvoyNamespace != "" && s.EnvoyNamespace != s.Namespace:
		return monitoringv1.NamespaceSelector{MatchNames: []string{s.EnvoyNamespace}}
	}
	return monitoringv1.NamespaceSelector{}
}

// monitors builds one PodMonitor or ServiceMonitor per preset.
func (s TeamSpec) monitors() []Object {
	var out []Object
	for _, name := range s.Presets {
		p := presets[name]
		if name == PresetNone {
			continue
		}
		selector := p.selector
		nsSelector := s.envoyNamespaceSelector()
		if name == PresetStatsd {
			// The exporter runs in the team namespace as part of the stack.
			selector = metav1.LabelSelector{MatchLabels: s.statsdLabels()}
			nsSelector = monitoringv1.NamespaceSelector{}
		} else if s.EnvoySelector != nil {
			selector = *s.EnvoySelector.DeepCopy()
		}
		relabel := append([]monitoringv1.RelabelConfig{dropUnused}, p.relabel...)
		meta := s.meta(s.monitorName(name), s.Namespace, s.labels("app.kubernetes.io/component", "envoy-monitor"))
		// Envoy answers with a Content-Type Prometheus 3 does not accept on its own.
		fallback := ptr.To(monitoringv1.PrometheusText0_0_4)
		protocols, native := s.nativeHistograms()
		switch p.kind {
		case podMonitor:
			out = append(out, &monitoringv1.PodMonitor{
				TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PodMonitorsKind},
				ObjectMeta: meta,
				Spec: monitoringv1.PodMonitorSpec{
					Selector:               selector,
					NamespaceSelector:      nsSelector,
					FallbackScrapeProtocol: fallback,
					ScrapeProtocols:        protocols,
					NativeHistogramConfig:  native,
					PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{
						Port:                 ptr.To(p.port),
						Path:                 p.path,
						Interval:             s.EnvoyScrapeInterval,
						MetricRelabelConfigs: relabel,
					}},
				},
			})
		case serviceMonitor:
			out = append(out, &monitoringv1.ServiceMonitor{
				TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.ServiceMonitorsKind},
				ObjectMeta: meta,
				Spec: monitoringv1.ServiceMonitorSpec{
					Selector:               selector,
					NamespaceSelector:      nsSelector,
					FallbackScrapeProtocol: fallback,
					ScrapeProtocols:        protocols,
					NativeHistogramConfig:  native,
					Endpoints: []monitoringv1.Endpoint{{
						Port:                 p.port,
						Path:                 p.path,
						Interval:             s.EnvoyScrapeInterval,
						MetricRelabelConfigs: relabel,
					}},
				},
			})
		}
	}
	return out
}

// nativeHistograms is the monitors' scrape of native histograms (TeamSpec.NativeHistograms):
// the protobuf exposition first, the only one that carries them, then the text formats; native
// histograms kept, and the classic buckets beside them, which the recording rules and the
// dashboard read. Without the flag, nothing is set and Prometheus' defaults apply.
func (s TeamSpec) nativeHistograms() ([]monitoringv1.ScrapeProtocol, monitoringv1.NativeHistogramConfig) {
	if !s.NativeHistograms {
		return nil, monitoringv1.NativeHistogramConfig{}
	}
	return []monitoringv1.ScrapeProtocol{monitoringv1.PrometheusProto, monitoringv1.OpenMetricsText1_0_0, monitoringv1.PrometheusText0_0_4},
		monitoringv1.NativeHistogramConfig{ScrapeNativeHistograms: ptr.To(true), ScrapeClassicHistograms: ptr.To(true)}
}
