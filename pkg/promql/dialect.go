package promql

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// Dialect is how one Envoy distribution names its cluster statistics. Stock Envoy tags a
// cluster envoy_cluster_name and a status class with a bare digit; Istio's bootstrap renames the
// tags (cluster_name, response_code_class="5xx"), counts classes on envoy_cluster_upstream_rq and
// puts status codes into metric names (envoy_cluster_upstream_rq_503).
type Dialect struct {
	Name string
	// Cluster is the label naming the upstream cluster.
	Cluster string
	// ClassMetric counts final responses by status class, labelled Class; Class5xx is the
	// value of a 5xx response.
	ClassMetric string
	Class       string
	Class5xx    string
	// CodeMetric counts final responses by status code, labelled Code. Empty when codes are in
	// metric names (CodeNamePrefix + "503").
	CodeMetric     string
	Code           string
	CodeNamePrefix string
	// ListenerClassMetric counts downstream responses by class; Listener labels the HTTP
	// connection manager.
	ListenerClassMetric string
	Listener            string
	// Class4xx is the value of Class for a 4xx response, as Class5xx is for a 5xx one. Empty
	// when the dialect has no such class: 4xx rates are then unknown, never 0.
	Class4xx string
	// Standard says the dialect reads Istio's standard metrics (istio_requests_total,
	// istio_request_duration_milliseconds) instead of Envoy's own cluster statistics: its queries
	// are built in istio_standard.go, and the Envoy-only numbers (requests in flight, timeouts,
	// retries, overflows, ejections) are absent.
	Standard bool
}

// The dialects kubectl-promteam reads.
var (
	DialectEnvoy = Dialect{
		Name:                "envoy",
		Cluster:             "envoy_cluster_name",
		ClassMetric:         "envoy_cluster_upstream_rq_xx",
		Class:               "envoy_response_code_class",
		Class5xx:            "5",
		CodeMetric:          "envoy_cluster_upstream_rq",
		Code:                "envoy_response_code",
		ListenerClassMetric: "envoy_http_downstream_rq_xx",
		Listener:            "envoy_http_conn_manager_prefix",
		Class4xx:            "4",
	}
	DialectIstio = Dialect{
		Name:                "istio",
		Cluster:             "cluster_name",
		ClassMetric:         "envoy_cluster_upstream_rq",
		Class:               "response_code_class",
		Class5xx:            "5xx",
		CodeNamePrefix:      "envoy_cluster_upstream_rq_",
		ListenerClassMetric: "envoy_http_downstream_rq",
		Listener:            "http_conn_manager_prefix",
		Class4xx:            "4xx",
	}
	// Dialects are the dialects of Envoy's own cluster statistics, which DetectDialect tells
	// apart. DialectIstioStandard is not among them: it reads other series, and Discover picks it
	// only where these are absent.
	Dialects = []Dialect{DialectEnvoy, DialectIstio}
)

// DialectNames lists the accepted --dialect values.
func DialectNames() string { return "auto, envoy, istio, istio-standard" }

// DialectByName returns the named dialect: one of Dialects, or DialectIstioStandard.
func DialectByName(name string) (Dialect, error) {
	for _, d := range append(slices.Clip(Dialects), DialectIstioStandard) {
		if d.Name == name {
			return d, nil
		}
	}
	return Dialect{}, fmt.Errorf("unknown dialect %q; use one of %s", name, DialectNames())
}

// DetectDialect picks the dialect of a set of Envoy cluster series (any envoy_cluster_* series
// will do) by which cluster label they carry; ok is false when none carries either. Where both
// appear, the one on more series wins.
func DetectDialect(series []labels.Labels) (d Dialect, ok bool) {
	counts := make([]int, len(Dialects))
	for _, ls := range series {
		if !strings.HasPrefix(ls.Get(model.MetricNameLabel), "envoy_cluster_") && ls.Get(model.MetricNameLabel) != "" {
			continue
		}
		for i, d := range Dialects {
			if ls.Get(d.Cluster) != "" {
				counts[i]++
			}
		}
	}
	best := -1
	for i, c := range counts {
		if c > 0 && (best < 0 || c > counts[best]) {
			best = i
		}
	}
	if best < 0 {
		return Dialect{}, false
	}
	return Dialects[best], true
}
