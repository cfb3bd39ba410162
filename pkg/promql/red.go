package promql

import (
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Source is where a team's Envoy request metrics come from. Each source names its series
// differently; the recording rules fold them all into one set of series names and labels.
type Source int

const (
	// SourceEnvoy is Envoy's own /stats/prometheus output: envoy_cluster_* counters and
	// histograms in milliseconds, labelled envoy_cluster_name and envoy_response_code_class="5".
	SourceEnvoy Source = iota
	// SourceStatsd is statsd_exporter fed by Envoy's statsd sink, mapped so that counters keep
	// Envoy's names; its timers are histograms in seconds (envoy_cluster_upstream_rq_time_seconds).
	SourceStatsd
	// SourceIstio is Istio's standard metrics (istio_requests_total,
	// istio_request_duration_milliseconds) as reported by the calling sidecar.
	SourceIstio
)

func (s Source) String() string {
	switch s {
	case SourceEnvoy:
		return "envoy"
	case SourceStatsd:
		return "statsd"
	case SourceIstio:
		return "istio"
	}
	return "source(" + strconv.Itoa(int(s)) + ")"
}

// Labels every recorded series carries. namespace is the namespace of the Envoy that reported
// the traffic; envoy_cluster_name is the upstream cluster (for Istio, the destination service).
const (
	LabelNamespace = "namespace"
	LabelCluster   = "envoy_cluster_name"
)

// RuleWindow is the rate window of the recording rules.
const RuleWindow = 5 * time.Minute

// Names of the recording rules that `create` writes and `top` reads. They are a contract: a
// rename breaks every dashboard and alert built on them.
const (
	// RecordRequestRate is upstream requests per second.
	RecordRequestRate = "envoy_cluster:upstream_rq:rate5m"
	// RecordResponseRate is final upstream responses per second, every status class.
	RecordResponseRate = "envoy_cluster:upstream_rq_xx:rate5m"
	// Record5xxRate is final upstream 5xx responses per second. Absent, not zero, for a cluster
	// that never answered 5xx: Envoy creates its per-class counters on first use.
	Record5xxRate = "envoy_cluster:upstream_rq_5xx:rate5m"
	// RecordSuccessRatio is the share of final responses that were not 5xx, 0..1.
	RecordSuccessRatio = "envoy_cluster:upstream_rq_success_ratio:rate5m"
	// RecordActiveRequests is the number of requests in flight (Envoy sources only).
	RecordActiveRequests = "envoy_cluster:upstream_rq_active:sum"
)

// RecordErrorRatio names the 5xx share of final responses over window (5m, 30m, 1h, 6h, 3d).
func RecordErrorRatio(window time.Duration) string {
	return "envoy_cluster:upstream_rq_error_ratio:rate" + Window(window)
}

// RecordLatency names the upstream latency quantile q (0.5, 0.9, 0.99) in seconds.
func RecordLatency(q float64) string {
	return "envoy_cluster:upstream_rq_time_seconds:p" + percentile(q) + "_rate5m"
}

// Quantiles are the latency quantiles the rules record.
var Quantiles = []float64{0.5, 0.9, 0.99}

// Window prints a duration the way PromQL writes it (5m, 1h, 3d).
func Window(d time.Duration) string { return model.Duration(d).String() }

func percentile(q float64) string {
	return strconv.FormatFloat(q*100, 'f', -1, 64)
}

var groupBy = []string{LabelNamespace, LabelCluster}

// RequestRate is upstream requests per second over window, by namespace and cluster, from every
// source in sources (joined with or).
func RequestRate(sources []Source, window time.Duration) parser.Expr {
	return oneOf(sources, func(s Source) parser.Expr {
		switch s {
		case SourceIstio:
			return istioSum(Series("istio_requests_total", Eq("reporter", "source")), window)
		default:
			return SumBy(Rate(Series("envoy_cluster_upstream_rq_total"), window), groupBy...)
		}
	})
}

// ResponseRate is final responses per second over window, of every class or narrowed by class.
func ResponseRate(sources []Source, window time.Duration, class ResponseClass) parser.Expr {
	return oneOf(sources, func(s Source) parser.Expr {
		switch s {
		case SourceIstio:
			ms := []*labels.Matcher{Eq("reporter", "source")}
			switch class {
			case Class5xx:
				ms = append(ms, mustMatcher(labels.MatchRegexp, "response_code", "5.."))
			case ClassNot5xx:
				ms = append(ms, mustMatcher(labels.MatchNotRegexp, "response_code", "5.."))
			}
			return istioSum(Series("istio_requests_total", ms...), window)
		default:
			var ms []*labels.Matcher
			switch class {
			case Class5xx:
				ms = append(ms, Eq("envoy_response_code_class", "5"))
			case ClassNot5xx:
				ms = append(ms, Neq("envoy_response_code_class", "5"))
			}
			return SumBy(Rate(Series("envoy_cluster_upstream_rq_xx", ms...), window), groupBy...)
		}
	})
}

// ResponseClass narrows ResponseRate.
type ResponseClass int

const (
	// ClassAll counts every final response.
	ClassAll ResponseClass = iota
	// Class5xx counts 5xx responses, including those Envoy generates for timeouts and resets.
	Class5xx
	// ClassNot5xx counts every response that is not 5xx.
	ClassNot5xx
)

// ErrorRatio is the 5xx share of final responses over window, computed from one metric for
// numerator and denominator.
func ErrorRatio(sources []Source, window time.Duration) parser.Expr {
	return Div(ResponseRate(sources, window, Class5xx), ResponseRate(sources, window, ClassAll))
}

// LatencyQuantile is upstream latency quantile q over window, in seconds.
func LatencyQuantile(sources []Source, q float64, window time.Duration) parser.Expr {
	return oneOf(sources, func(s Source) parser.Expr {
		by := append(append([]string(nil), groupBy...), "le")
		switch s {
		case SourceStatsd:
			return HistogramQuantile(q, SumBy(Rate(Series("envoy_cluster_upstream_rq_time_seconds_bucket"), window), by...))
		case SourceIstio:
			rate := Rate(Series("istio_request_duration_milliseconds_bucket", Eq("reporter", "source")), window)
			return Div(HistogramQuantile(q, SumBy(istioCluster(rate), by...)), Num(1000))
		default:
			return Div(HistogramQuantile(q, SumBy(Rate(Series("envoy_cluster_upstream_rq_time_bucket"), window), by...)), Num(1000))
		}
	})
}

// ActiveRequests is the number of upstream requests in flight. Istio's standard metrics have no
// equivalent, so it is nil when sources hold only Istio.
func ActiveRequests(sources []Source) parser.Expr {
	var envoy []Source
	for _, s := range sources {
		if s != SourceIstio {
			envoy = append(envoy, s)
		}
	}
	if len(envoy) == 0 {
		return nil
	}
	return SumBy(Series("envoy_cluster_upstream_rq_active"), groupBy...)
}

// istioSum rates an Istio counter and names its destination service as the cluster.
func istioSum(vs *parser.VectorSelector, window time.Duration) parser.Expr {
	return SumBy(istioCluster(Rate(vs, window)), groupBy...)
}

func istioCluster(e parser.Expr) parser.Expr {
	return LabelReplace(e, LabelCluster, "$1", "destination_service", "(.*)")
}

// oneOf joins the expressions of the distinct sources with or, in a fixed order, so a team that
// mixes sources still gets one series per cluster. Sources whose expression is the same (statsd
// keeps Envoy's counter names) appear once.
func oneOf(sources []Source, f func(Source) parser.Expr) parser.Expr {
	var (
		out  parser.Expr
		seen []string
	)
	for _, s := range []Source{SourceEnvoy, SourceStatsd, SourceIstio} {
		if !slices.Contains(sources, s) {
			continue
		}
		e := f(s)
		if text := e.String(); !slices.Contains(seen, text) {
			seen = append(seen, text)
			if out == nil {
				out = e
			} else {
				out = Or(out, e)
			}
		}
	}
	return out
}
