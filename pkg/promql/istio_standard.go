package promql

import (
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Istio's standard metrics as a dialect of top and compare. A default Istio installation trims
// Envoy's own cluster statistics (only what proxyStatsMatcher asks for is kept), but every sidecar
// and gateway reports istio_requests_total and istio_request_duration_milliseconds for each
// request, labelled with the destination service and the response code. The dialect reads them
// with the conventions of the recording rules (red.go, SourceIstio), so that `top --source raw`
// and `--source rules` show the same rows with the same numbers:
//
//   - a row is a destination service (destination_service, such as
//     reviews.default.svc.cluster.local), the name the rules record as envoy_cluster_name;
//   - only the calling side's reports count (reporter="source"), see istioSource;
//   - success is the share of requests whose response_code is not 5xx, over every request;
//   - latency is istio_request_duration_milliseconds, in milliseconds like Envoy's histograms.
//
// Istio has no gauge of requests in flight and no counters of timeouts, retries, overflows,
// resets or ejections: those numbers are absent (null), never 0. The listener rows are what
// each destination workload's sidecar reported receiving (reporter="destination"), one per
// workload, named NAMESPACE/WORKLOAD: the server side of the same requests, including those
// from callers outside the mesh, which no source reports.

// The series and labels of Istio's standard metrics the dialect reads.
const (
	IstioRequests      = "istio_requests_total"
	IstioLatencyBucket = "istio_request_duration_milliseconds_bucket"

	IstioReporter                     = "reporter"
	IstioDestinationService           = "destination_service"
	IstioDestinationServiceName       = "destination_service_name"
	IstioDestinationServiceNamespace  = "destination_service_namespace"
	IstioDestinationVersion           = "destination_version"
	IstioDestinationWorkload          = "destination_workload"
	IstioDestinationWorkloadNamespace = "destination_workload_namespace"
	IstioResponseCode                 = "response_code"
)

// DialectIstioStandard reads Istio's standard metrics. Its Class label does not exist on the
// series: the class queries derive it from response_code (5xx from 503), so that the drill-down
// and compare read classes as in the other dialects.
var DialectIstioStandard = Dialect{
	Name:        "istio-standard",
	Cluster:     IstioDestinationService,
	ClassMetric: IstioRequests,
	Class:       "response_code_class",
	Class5xx:    "5xx",
	Class4xx:    "4xx",
	CodeMetric:  IstioRequests,
	Code:        IstioResponseCode,
	Listener:    IstioDestinationWorkload,
	Standard:    true,
}

// istioSource selects metric as reported by the calling sidecar or gateway. Both ends of a call
// inside the mesh report it, once with reporter="source" and once with reporter="destination":
// counting both reporters doubles every rate. The source's report is the one the recording
// rules read, the one that also covers calls to services outside the mesh, and its latency is
// what the caller waited.
func (s Selector) istioSource(metric string, extra ...*labels.Matcher) *parser.VectorSelector {
	return s.series(metric, append([]*labels.Matcher{Eq(IstioReporter, "source")}, extra...)...)
}

// istioDestination selects metric as reported by the receiving sidecar, for the listener rows.
func (s Selector) istioDestination(metric string, extra ...*labels.Matcher) *parser.VectorSelector {
	return s.series(metric, append([]*labels.Matcher{Eq(IstioReporter, "destination")}, extra...)...)
}

// not5xx and is5xx narrow Istio's series by response code, as red.go's ResponseRate does.
var (
	not5xx = mustMatcher(labels.MatchNotRegexp, IstioResponseCode, "5..")
	// anHTTPCode leaves out response_code="0": a request that got no response at all, which has
	// no class.
	anHTTPCode = mustMatcher(labels.MatchRegexp, IstioResponseCode, "[1-5][0-9][0-9]")
)

// IstioServiceNames is requests per second by destination service and the name and namespace
// Istio gives it, so that rows carry the Service it names whatever the host looks like. A
// destination service may appear with more than one pair (an unknown one, "unknown", during a
// rollout): the rows add them up.
func IstioServiceNames(sel Selector, w time.Duration) parser.Expr {
	return SumBy(Rate(sel.istioSource(IstioRequests), w),
		IstioDestinationService, IstioDestinationServiceNamespace, IstioDestinationServiceName)
}

func istioRequestRate(d Dialect, sel Selector, w time.Duration, by ...string) parser.Expr {
	return SumBy(Rate(sel.istioSource(IstioRequests), w), append([]string{d.Cluster}, by...)...)
}

// istioSuccessRatio is the non-5xx share of every request, as the recording rules count it:
// numerator and denominator read the same series.
func istioSuccessRatio(d Dialect, sel Selector, w time.Duration, by ...string) parser.Expr {
	group := append([]string{d.Cluster}, by...)
	ok := SumBy(Rate(sel.istioSource(IstioRequests, not5xx), w), group...)
	all := SumBy(Rate(sel.istioSource(IstioRequests), w), group...)
	return Div(ok, all)
}

func istioLatency(d Dialect, sel Selector, q float64, w time.Duration, by ...string) parser.Expr {
	return latencyQuantile(q, sel.istioSource(IstioLatencyBucket), w, append([]string{d.Cluster}, by...)...)
}

// istioClassRate is responses per second by status class, the class (5xx) derived from
// response_code (503).
func istioClassRate(d Dialect, sel Selector, w time.Duration) parser.Expr {
	return SumBy(istioClass(d, Rate(sel.istioSource(IstioRequests, anHTTPCode), w)), d.Class)
}

func istioClass(d Dialect, e parser.Expr) parser.Expr {
	return LabelReplace(e, d.Class, "${1}xx", IstioResponseCode, "([1-5])[0-9][0-9]")
}

// istioCodeRate is responses per second by status code, labelled CodeLabel.
func istioCodeRate(d Dialect, sel Selector, w time.Duration) parser.Expr {
	codes := sel.istioSource(IstioRequests, Neq(d.Code, ""))
	return SumBy(LabelReplace(Rate(codes, w), CodeLabel, "$1", d.Code, "(.*)"), CodeLabel)
}

// IstioLatencyBuckets is the latency histogram's rate by bucket bound (le, milliseconds), from the
// classic buckets, else from the native histogram a sidecar passes through (nativeBuckets, at
// Envoy's default bounds, which Istio's buckets share up to 10s).
func IstioLatencyBuckets(sel Selector, w time.Duration) parser.Expr {
	classic := sel.istioSource(IstioLatencyBucket)
	return Or(SumBy(Rate(classic, w), "le"), nativeBuckets(nativeOf(classic), w))
}

// istioListenerGroup is what a listener row of the dialect is: one destination workload.
var istioListenerGroup = []string{IstioDestinationWorkloadNamespace, IstioDestinationWorkload}

// istioListener names the rows of e NAMESPACE/WORKLOAD in the dialect's Listener label, so that
// workloads of one name in two namespaces stay two rows.
func istioListener(d Dialect, e parser.Expr) parser.Expr {
	return LabelJoin(e, d.Listener, "/", istioListenerGroup...)
}

func istioDownstreamRate(d Dialect, sel Selector, w time.Duration) parser.Expr {
	return istioListener(d, SumBy(Rate(sel.istioDestination(IstioRequests), w), istioListenerGroup...))
}

// istioDownstreamClassRates is responses per second by destination workload and status class,
// as DownstreamClassRates is for Envoy's listeners.
func istioDownstreamClassRates(d Dialect, sel Selector, w time.Duration) parser.Expr {
	rate := istioClass(d, Rate(sel.istioDestination(IstioRequests, anHTTPCode), w))
	return istioListener(d, SumBy(rate, append(append([]string(nil), istioListenerGroup...), d.Class)...))
}

// istioClassRates is responses per second by destination service and status class, as
// UpstreamClassRates is for Envoy's clusters.
func istioClassRates(d Dialect, sel Selector, w time.Duration) parser.Expr {
	return SumBy(istioClass(d, Rate(sel.istioSource(IstioRequests, anHTTPCode), w)), d.Cluster, d.Class)
}

func istioDownstreamLatency(d Dialect, sel Selector, q float64, w time.Duration) parser.Expr {
	return istioListener(d, latencyQuantile(q, sel.istioDestination(IstioLatencyBucket), w, istioListenerGroup...))
}

// istioResponseIncrease is requests in the window by status class; requests without a response
// (response_code="0") have no class and count among the requests, as in the success ratio.
func istioResponseIncrease(d Dialect, sel Selector, w time.Duration) parser.Expr {
	return SumBy(istioClass(d, Increase(sel.istioSource(IstioRequests), w)), d.Class)
}

func istioTotalRequestRate(sel Selector, w time.Duration) parser.Expr {
	return SumBy(Rate(sel.istioSource(IstioRequests), w))
}

func istioTotalLatency(sel Selector, q float64, w time.Duration) parser.Expr {
	return latencyQuantile(q, sel.istioSource(IstioLatencyBucket), w)
}

func istioClusterNames(d Dialect, sel Selector) parser.Expr {
	return &parser.AggregateExpr{Op: parser.COUNT, Expr: sel.istioSource(IstioRequests), Grouping: []string{d.Cluster}}
}

// LabelJoin is label_join(e, dst, separator, src...).
func LabelJoin(e parser.Expr, dst, separator string, src ...string) parser.Expr {
	args := []parser.Expr{e, &parser.StringLiteral{Val: dst}, &parser.StringLiteral{Val: separator}}
	for _, s := range src {
		args = append(args, &parser.StringLiteral{Val: s})
	}
	return call("label_join", args...)
}
