package envoysim

import (
	"regexp"
	"slices"
	"strings"
)

// Istio's standard metrics ([IstioStandard]), as the sidecar of a default Istio installation
// serves them on /stats/prometheus: Istio's stats plugin counts every request in
// istio_requests_total and records its duration in istio_request_duration_milliseconds, labelled
// with who called whom and how it ended. The series and labels follow a real sidecar's output
// (testdata/envoy/datadog-istio-1.11-sidecar-merged.prom), with the labels top, compare and the
// recording rules read and those that make a series realistic (principals and canonical
// revisions left out). Envoy's own cluster statistics are trimmed, as Istio's default inclusion
// list does, to its bootstrap cluster xds-grpc, the control-plane stream.
//
// A cluster of the fleet is a destination service. Its Name is the host Istio reports as
// destination_service (reviews.default.svc.cluster.local), or an Istio cluster name
// (outbound|9080|v2|reviews.default.svc.cluster.local), whose subset becomes destination_version:
// two such clusters are two versions of one service, one row of `top` and two arms of
// `compare`. The pods of the fleet are the callers, workload [IstioSourceWorkload], and every
// request is reported twice, as in a mesh: by the caller (reporter="source") and by the
// destination's sidecar (reporter="destination"), so a reader that counts both reporters
// doubles every rate. The destination's reports come from the same pods, a simplification: a
// reader that keeps reporters apart cannot tell.
//
// Series appear on first use, as Istio creates them: one per response code that has a request,
// with a latency histogram beside it when the cluster has a latency distribution. The histogram
// uses Istio's default bounds, which are Envoy's ([BucketBounds]).

// IstioSourceWorkload is the workload (and app) the fleet's pods report as the caller, in
// namespace IstioSourceNamespace.
const (
	IstioSourceWorkload  = "sim-client"
	IstioSourceNamespace = "default"
)

// IstioDestination is what Istio's labels say of one cluster of the fleet.
type IstioDestination struct {
	Service   string // destination_service, the host
	Name      string // destination_service_name
	Namespace string // destination_service_namespace; "unknown" outside Kubernetes' svc domain
	Version   string // destination_version: the cluster name's subset, else v1
	Workload  string // destination_workload: Name-Version
}

var istioClusterName = regexp.MustCompile(`^(?:outbound|inbound)\|[0-9]*\|([^|]*)\|(.+)$`)

// IstioDestinationOf returns the destination Istio reports for a cluster called name.
func IstioDestinationOf(name string) IstioDestination {
	d := IstioDestination{Service: name, Version: "v1"}
	if m := istioClusterName.FindStringSubmatch(name); m != nil {
		d.Service = m[2]
		if m[1] != "" {
			d.Version = m[1]
		}
	}
	d.Name, d.Namespace = d.Service, "unknown"
	if parts := strings.Split(d.Service, "."); len(parts) >= 3 && parts[2] == "svc" {
		d.Name, d.Namespace = parts[0], parts[1]
	}
	d.Workload = d.Name + "-" + d.Version
	return d
}

// istioResponseFlags are Envoy's response flags for each of codeNames: 504 is an upstream
// timeout (UT); the others are the application's own answers.
var istioResponseFlags = [len(codeNames)]string{"-", "-", "-", "UT"}

// walkStandard emits the series of [IstioStandard]: Envoy's trimmed statistics, then Istio's
// counter, then its histogram, in Envoy's order (counters, gauges, histograms, each by name).
func (r *renderer) walkStandard(s sink) {
	xds := []label{{"cluster_name", "xds-grpc"}}
	s.family("envoy_cluster_upstream_rq", "counter")
	s.uint("envoy_cluster_upstream_rq", []label{{"response_code_class", "2xx"}, xds[0]}, 1)
	s.family("envoy_cluster_upstream_rq_total", "counter")
	s.uint("envoy_cluster_upstream_rq_total", xds, 1)
	s.family("istio_requests_total", "counter")
	r.eachIstioSeries(func(ls []label, n float64, _ *flow) {
		s.uint("istio_requests_total", ls, floorU(n))
	})
	s.family("envoy_cluster_upstream_rq_active", "gauge")
	s.uint("envoy_cluster_upstream_rq_active", xds, 1)
	s.family("envoy_server_live", "gauge")
	s.uint("envoy_server_live", nil, 1)
	s.family("envoy_server_uptime", "gauge")
	s.uint("envoy_server_uptime", nil, floorU(r.tau))
	const hist = "istio_request_duration_milliseconds"
	s.family(hist, "histogram")
	r.eachIstioSeries(func(ls []label, n float64, fl *flow) {
		if len(fl.latency) == 0 {
			return
		}
		if ns, ok := s.(nativeSink); ok {
			// A sidecar that passes Envoy's native histograms through (the protobuf exposition).
			st := state{total: floorU(n), sum: n * fl.latency.Mean(), n: n, latency: fl.latency, hist: true}
			for i, b := range bounds {
				st.buckets[i] = floorU(n * fl.latency.CDF(b))
			}
			st.buckets[len(bounds)] = st.total
			ns.histogram(nil, ls, &st)
			return
		}
		for i, b := range bounds {
			s.bucket(hist+"_bucket", ls, i, floorU(n*fl.latency.CDF(b)))
		}
		s.bucket(hist+"_bucket", ls, len(bounds), floorU(n))
		s.float(hist+"_sum", ls, n*fl.latency.Mean())
		s.uint(hist+"_count", ls, floorU(n))
	})
}

// eachIstioSeries calls fn with the labels of every series of Istio's standard metrics in the
// renderer's pod, by cluster, reporter and response code, and the pod's exact number of requests
// of that series (at least one: series appear on first use).
func (r *renderer) eachIstioSeries(fn func(ls []label, n float64, fl *flow)) {
	source := IstioSourceWorkload
	for _, i := range r.sortedClusters() {
		c := &r.f.Clusters[i]
		fl := c.flow()
		dest := IstioDestinationOf(c.Name)
		n := r.f.requests(&fl, r.tau) / float64(r.npods)
		for _, reporter := range []string{"source", "destination"} {
			security := "unknown" // the caller's sidecar does not report the policy
			if reporter == "destination" {
				security = "mutual_tls"
			}
			for k, share := range fl.shares() {
				if floorU(n*share) < 1 {
					continue
				}
				ls := []label{
					{"response_code", codeNames[k]},
					{"reporter", reporter},
					{"source_workload", source},
					{"source_workload_namespace", IstioSourceNamespace},
					{"source_app", source},
					{"source_version", "v1"},
					{"source_cluster", "Kubernetes"},
					{"destination_workload", dest.Workload},
					{"destination_workload_namespace", dest.Namespace},
					{"destination_app", dest.Name},
					{"destination_version", dest.Version},
					{"destination_service", dest.Service},
					{"destination_service_name", dest.Name},
					{"destination_service_namespace", dest.Namespace},
					{"destination_cluster", "Kubernetes"},
					{"request_protocol", "http"},
					{"response_flags", istioResponseFlags[k]},
					{"connection_security_policy", security},
					{"source_canonical_service", source},
					{"destination_canonical_service", dest.Name},
				}
				fn(ls, n*share, &fl)
			}
		}
	}
}

// sortedClusters is the indices of the fleet's clusters in the order of their names.
func (r *renderer) sortedClusters() []int {
	out := make([]int, len(r.f.Clusters))
	for i := range out {
		out[i] = i
	}
	slices.SortFunc(out, func(a, b int) int { return strings.Compare(r.f.Clusters[a].Name, r.f.Clusters[b].Name) })
	return out
}
