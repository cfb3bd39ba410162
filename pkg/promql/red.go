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
//
// Every rule that `top`, the dashboard and the latency alert read records a sum: a rate, a
// histogram's bucket rates or a gauge's total. Sums of the series several Prometheus shards record
// add up to what one Prometheus would have recorded; ratios and quantiles do not (the mean of two
// shards' medians is no median), so those are derived where the series are read
// (docs/recording-rules.md).
const (
	// RecordRequestRate is upstream requests per second.
	RecordRequestRate = "envoy_cluster:upstream_rq:rate5m"
	// RecordResponseRate is final upstream responses per second, every status class.
	RecordResponseRate = "envoy_cluster:upstream_rq_xx:rate5m"
	// RecordNot5xxRate is final upstream responses per second that were not 5xx: with
	// RecordResponseRate, the success ratio. Present whenever there are responses.
	RecordNot5xxRate = "envoy_cluster:upstream_rq_not_5xx:rate5m"
	// Record5xxRate is final upstream 5xx responses per second. Absent, not zero, for a cluster
	// that never answered 5xx: Envoy creates its per-class counters on first use.
	Record5xxRate = "envoy_cluster:upstream_rq_5xx:rate5m"
	// Record4xxRate is final upstream 4xx responses per second. Unlike Record5xxRate it is 0,
	// not absent, for a cluster with responses and no 4xx (it is present whenever
	// RecordResponseRate is), so a reader tells "none" from "not recorded".
	Record4xxRate = "envoy_cluster:upstream_rq_4xx:rate5m"
	// RecordLatencyBucketsMs is the rate of the upstream request time histogram's cumulative
	// buckets, labelled le in milliseconds (Envoy's own histograms and Istio's).
	RecordLatencyBucketsMs = "envoy_cluster:upstream_rq_time_milliseconds_bucket:rate5m"
	// RecordLatencyBucketsSeconds is the same histogram labelled le in seconds (statsd_exporter's
	// timers).
	RecordLatencyBucketsSeconds = "envoy_cluster:upstream_rq_time_seconds_bucket:rate5m"
	// RecordLatencyNativeMs is the rate of the upstream request time histogram where Prometheus
	// scrapes it as a native histogram (milliseconds; Envoy's own and Istio's): one native
	// histogram series per namespace and cluster, whose sums across shards are exact, as the
	// bucket rates' are. Absent where latency arrives as classic buckets only.
	RecordLatencyNativeMs = "envoy_cluster:upstream_rq_time_milliseconds:rate5m"
	// RecordActiveRequests is the number of requests in flight (Envoy sources only).
	RecordActiveRequests = "envoy_cluster:upstream_rq_active:sum"
)

// RecordErrorRatio names the 5xx share of final responses over window (5m, 30m, 1h, 6h, 3d). Only
// the alerts read these ratios, in the Prometheus that recorded them.
func RecordErrorRatio(window time.Duration) string {
	return "envoy_cluster:upstream_rq_error_ratio:rate" + Window(window)
}

// Quantiles are the latency quantiles top and the dashboard derive from the recorded buckets.
var Quantiles = []float64{0.5, 0.9, 0.99}

// Window prints a duration the way PromQL writes it (5m, 1h, 3d).
func Window(d time.Duration) string { return model.Duration(d).String() }

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
			case Class4xx:
				ms = append(ms, mustMatcher(labels.MatchRegexp, "response_code", "4.."))
			case Class5xx:
				ms = append(ms, mustMatcher(labels.MatchRegexp, "response_code", "5.."))
			case ClassNot5xx:
				ms = append(ms, mustMatcher(labels.MatchNotRegexp, "response_code", "5.."))
			}
			return istioSum(Series("istio_requests_total", ms...), window)
		default:
			var ms []*labels.Matcher
			switch class {
			case Class4xx:
				ms = append(ms, Eq("envoy_response_code_class", "4"))
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
	// Class4xx counts 4xx responses: requests the upstream refused as the client's fault.
	Class4xx
)

// ErrorRatio is the 5xx share of final responses over window, computed from one metric for
// numerator and denominator.
func ErrorRatio(sources []Source, window time.Duration) parser.Expr {
	return Div(ResponseRate(sources, window, Class5xx), ResponseRate(sources, window, ClassAll))
}

// LatencyBucketRate is the rate over window of the upstream request time histogram's cumulative
// buckets, by namespace, cluster and le, from the sources whose histograms count in unit
// (milliseconds: Envoy, Istio; seconds: statsd). nil when no source of sources counts in unit.
func LatencyBucketRate(sources []Source, unit LatencyUnit, window time.Duration) parser.Expr {
	var mine []Source
	for _, s := range sources {
		if s.latencyUnit() == unit {
			mine = append(mine, s)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	by := append(append([]string(nil), groupBy...), "le")
	return oneOf(mine, func(s Source) parser.Expr {
		switch s {
		case SourceStatsd:
			return SumBy(Rate(Series("envoy_cluster_upstream_rq_time_seconds_bucket"), window), by...)
		case SourceIstio:
			rate := Rate(Series("istio_request_duration_milliseconds_bucket", Eq("reporter", "source")), window)
			return SumBy(istioCluster(rate), by...)
		default:
			return SumBy(Rate(Series("envoy_cluster_upstream_rq_time_bucket"), window), by...)
		}
	})
}

// LatencyNativeRate is the rate over window of the upstream request time's native histogram
// (milliseconds), summed by namespace and cluster, from the sources that may send one (Envoy's
// own and Istio's; statsd_exporter's timers are classic). nil when no source of sources does.
func LatencyNativeRate(sources []Source, window time.Duration) parser.Expr {
	var mine []Source
	for _, s := range sources {
		if s != SourceStatsd {
			mine = append(mine, s)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	return oneOf(mine, func(s Source) parser.Expr {
		if s == SourceIstio {
			return SumBy(istioCluster(Rate(Series("istio_request_duration_milliseconds", Eq("reporter", "source")), window)), groupBy...)
		}
		return SumBy(Rate(Series("envoy_cluster_upstream_rq_time"), window), groupBy...)
	})
}

// LatencyUnit is the unit of a latency histogram's le label.
type LatencyUnit int

const (
	// Milliseconds is the unit of Envoy's own and Istio's latency histograms.
	Milliseconds LatencyUnit = iota
	// Seconds is the unit of statsd_exporter's timers.
	Seconds
)

// LatencyUnits lists every unit, with the record that keeps its bucket rates and what one le
// step of it is in milliseconds.
var LatencyUnits = []struct {
	Unit   LatencyUnit
	Record string
	Ms     float64
}{
	{Milliseconds, RecordLatencyBucketsMs, 1},
	{Seconds, RecordLatencyBucketsSeconds, 1000},
}

func (s Source) latencyUnit() LatencyUnit {
	if s == SourceStatsd {
		return Seconds
	}
	return Milliseconds
}

// LatencyQuantileFromBuckets is latency quantile q in seconds by namespace and cluster, from the
// bucket rates the rules record for sources (of each unit they use, joined with or, milliseconds
// first), else from the native histogram's rate they record (RecordLatencyNativeMs, where
// Prometheus keeps native histograms only), that match matchers. It sums the buckets by le (the
// native histograms as they are) first, so it answers the same whether one Prometheus recorded
// them or several shards did.
func LatencyQuantileFromBuckets(sources []Source, q float64, matchers ...*labels.Matcher) parser.Expr {
	by := append(append([]string(nil), groupBy...), "le")
	var out parser.Expr
	for _, u := range LatencyUnits {
		if !slices.ContainsFunc(sources, func(s Source) bool { return s.latencyUnit() == u.Unit }) {
			continue
		}
		e := HistogramQuantile(q, SumBy(Series(u.Record, matchers...), by...))
		if u.Unit == Milliseconds {
			e = Div(e, Num(1000))
		}
		if out == nil {
			out = e
		} else {
			out = Or(out, e)
		}
	}
	if slices.ContainsFunc(sources, func(s Source) bool { return s != SourceStatsd }) {
		native := Div(HistogramQuantile(q, SumBy(Series(RecordLatencyNativeMs, matchers...), groupBy...)), Num(1000))
		if out == nil {
			return native
		}
		out = Or(out, native)
	}
	return out
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
