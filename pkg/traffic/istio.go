package traffic

import (
	"math"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// standardQueries are the cluster queries of Istio's standard metrics (promql.DialectIstioStandard):
// requests, success and the percentiles by destination service. There are no requests in flight:
// Istio keeps no such gauge, so the column stays empty rather than 0. The request rate also
// carries the name and namespace Istio gives each destination service, which name the row's
// Service (istioService).
func standardQueries(d promql.Dialect, sel promql.Selector, w time.Duration) []clusterQuery {
	return []clusterQuery{
		{expr: promql.IstioServiceNames(sel, w), into: func(r *rowParts, v float64) { r.RPS = addRate(r.RPS, v) }, names: true},
		{expr: promql.UpstreamSuccessRatio(d, sel, w), into: func(r *rowParts, v float64) { r.Success = v }},
		{expr: promql.UpstreamLatency(d, sel, 0.5, w), into: func(r *rowParts, v float64) { r.P50 = v }},
		{expr: promql.UpstreamLatency(d, sel, 0.9, w), into: func(r *rowParts, v float64) { r.P90 = v }},
		{expr: promql.UpstreamLatency(d, sel, 0.99, w), into: func(r *rowParts, v float64) { r.P99 = v }},
		{expr: promql.UpstreamClassRates(d, sel, w), classes: true},
	}
}

// addRate adds a rate to a sum that starts as no data.
func addRate(sum, v float64) float64 {
	if math.IsNaN(sum) {
		return v
	}
	return sum + v
}

// istioService names r's Service and namespace as Istio's labels do, where they know them: they
// hold what the destination service is in Kubernetes, whatever its host name looks like.
func istioService(r *rowParts, m labels.Labels) {
	ns, name := m.Get(promql.IstioDestinationServiceNamespace), m.Get(promql.IstioDestinationServiceName)
	if ns == "" || name == "" || ns == "unknown" || name == "unknown" {
		return
	}
	r.Namespace, r.Service = ns, name
}

// istioServiceClusters reports whether series in Istio's Envoy tags name the cluster of a service
// (outbound|PORT|SUBSET|HOST, inbound|...) rather than only the sidecar's own bootstrap clusters
// (xds-grpc, sds-grpc, prometheus_stats, agent), which a default installation keeps: the
// statistics of the clusters top shows are there only when proxyStatsMatcher asks for them.
func istioServiceClusters(series []labels.Labels) bool {
	for _, ls := range series {
		name := ls.Get(promql.DialectIstio.Cluster)
		if strings.HasPrefix(name, "outbound|") || strings.HasPrefix(name, "inbound|") {
			return true
		}
	}
	return false
}
