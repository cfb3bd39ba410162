package manifests

import (
	"fmt"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

type promqlSource = promql.Source

// Preset names how a team's Envoy exposes its metrics.
type Preset string

// The presets, in the order the stack lists them.
const (
	PresetEnvoy        Preset = "envoy"
	PresetEmissary     Preset = "emissary"
	PresetContour      Preset = "contour"
	PresetIstio        Preset = "istio"
	PresetEnvoyGateway Preset = "envoy-gateway"
	PresetGloo         Preset = "gloo"
	PresetStatsd       Preset = "statsd"
	PresetNone         Preset = "none"
)

var presetOrder = []Preset{PresetEnvoy, PresetEmissary, PresetContour, PresetIstio, PresetEnvoyGateway, PresetGloo, PresetStatsd, PresetNone}

// PresetNames lists the accepted preset names.
func PresetNames() string {
	names := make([]string, len(presetOrder))
	for i, p := range presetOrder {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}

// ParsePresets accepts preset names (each may itself be a comma-separated list) and returns them
// in canonical order without duplicates, so flag order never changes the output.
func ParsePresets(values []string) ([]Preset, error) {
	var out []Preset
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			p := Preset(strings.TrimSpace(name))
			if !slices.Contains(presetOrder, p) {
				return nil, fmt.Errorf("unknown preset %q; use one of %s", name, PresetNames())
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.SortFunc(out, func(a, b Preset) int {
		return slices.Index(presetOrder, a) - slices.Index(presetOrder, b)
	})
	return out, nil
}

// preset describes how one kind of Envoy deployment is scraped.
type preset struct {
	describe string // one line for --explain and --help
	// kind is podMonitor or serviceMonitor; selector picks the Envoy pods or the admin Service.
	kind     monitorKind
	selector metav1.LabelSelector
	port     string // container port name (PodMonitor) or Service port name (ServiceMonitor)
	path     string
	// relabel adds labels to every scraped series, such as the upstream Service parsed out of a
	// controller's cluster naming scheme.
	relabel []monitoringv1.RelabelConfig
	metrics promql.Source
	noRules bool
}

type monitorKind int

const (
	podMonitor monitorKind = iota
	serviceMonitor
)

func (p preset) source() (promql.Source, bool) { return p.metrics, !p.noRules }

// dropUnused drops Envoy families that neither the rules nor the dashboards read and that grow
// with listeners and workers rather than with traffic.
var dropUnused = monitoringv1.RelabelConfig{
	Action:       "drop",
	SourceLabels: []monitoringv1.LabelName{"__name__"},
	Regex:        "envoy_(listener_manager|server_worker|runtime|http_rds|cluster_manager_cds)_.*",
}

// splitCluster writes upstream_namespace, upstream_service and upstream_port from a controller's
// cluster name. Kubernetes names cannot contain '_', so splitting on it is unambiguous. The
// upstream_ prefix keeps them apart from the namespace, service and pod of the Envoy target.
func splitCluster(regex string, groups ...string) []monitoringv1.RelabelConfig {
	var out []monitoringv1.RelabelConfig
	for i, target := range groups {
		replacement := fmt.Sprintf("$%d", i+1)
		out = append(out, monitoringv1.RelabelConfig{
			Action:       "replace",
			SourceLabels: []monitoringv1.LabelName{"envoy_cluster_name"},
			Regex:        regex,
			TargetLabel:  target,
			Replacement:  &replacement,
		})
	}
	return out
}

func matchLabels(kv ...string) metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return metav1.LabelSelector{MatchLabels: m}
}

var presets = map[Preset]preset{
	PresetEnvoy: {
		describe: "plain Envoy: PodMonitor on pods labelled app=envoy, admin port named \"admin\", /stats/prometheus",
		kind:     podMonitor, selector: matchLabels("app", "envoy"), port: "admin", path: "/stats/prometheus",
	},
	PresetEmissary: {
		describe: "Emissary-ingress/Ambassador: ServiceMonitor on the ambassador-admin Service, port \"ambassador-admin\", /metrics",
		kind:     serviceMonitor, selector: matchLabels("service", "ambassador-admin"), port: "ambassador-admin", path: "/metrics",
	},
	PresetContour: {
		describe: "Contour's Envoy: PodMonitor on app=envoy, port \"metrics\" (8002), /stats/prometheus; clusters named <namespace>_<service>_<port>",
		kind:     podMonitor, selector: matchLabels("app", "envoy"), port: "metrics", path: "/stats/prometheus",
		relabel: splitCluster(`([^_]+)_([^_]+)_([0-9]+)`, "upstream_namespace", "upstream_service", "upstream_port"),
	},
	PresetIstio: {
		describe: "Istio sidecars: PodMonitor on pods without istio-prometheus-ignore, port \"http-envoy-prom\" (15090), /stats/prometheus; rules read istio_requests_total",
		kind:     podMonitor, port: "http-envoy-prom", path: "/stats/prometheus",
		selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "istio-prometheus-ignore", Operator: metav1.LabelSelectorOpDoesNotExist}}},
		metrics:  promql.SourceIstio,
	},
	PresetEnvoyGateway: {
		describe: "Envoy Gateway proxies: PodMonitor on app.kubernetes.io/name=envoy,app.kubernetes.io/component=proxy, port \"metrics\" (19001), /stats/prometheus",
		kind:     podMonitor, selector: matchLabels("app.kubernetes.io/name", "envoy", "app.kubernetes.io/component", "proxy"), port: "metrics", path: "/stats/prometheus",
	},
	PresetGloo: {
		describe: "Gloo Edge gateway-proxy: PodMonitor on gloo=gateway-proxy, port \"http-monitoring\" (8081), /metrics; kube upstreams split into namespace and service",
		kind:     podMonitor, selector: matchLabels("gloo", "gateway-proxy"), port: "http-monitoring", path: "/metrics",
		relabel: splitCluster(`kube-upstream_.+_([^_]+)_([^_]+)_([0-9]+)`, "upstream_namespace", "upstream_service", "upstream_port"),
	},
	PresetStatsd: {
		describe: "Envoy's statsd sink: a statsd_exporter Deployment, its mapping and Service, scraped by a ServiceMonitor on port \"metrics\" (9102)",
		kind:     serviceMonitor, port: statsdMetricsPort, path: "/metrics",
		metrics: promql.SourceStatsd,
	},
	PresetNone: {
		describe: "no Envoy monitors and no Envoy rules: only the Prometheus, for monitors the team adds itself",
		noRules:  true,
	},
}

// presetList prints the spec's presets as the Prometheus annotation records them.
func (s TeamSpec) presetList() string {
	names := make([]string, len(s.Presets))
	for i, p := range s.Presets {
		names[i] = string(p)
	}
	return strings.Join(names, ",")
}

// PresetDescription is the one-line description of p.
func PresetDescription(p Preset) string { return presets[p].describe }
