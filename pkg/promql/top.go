package promql

import (
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Selector narrows every query to the series of one team or one Envoy. Its matchers hold user
// values, which the printer quotes and escapes.
type Selector struct {
	matchers []*labels.Matcher
}

// Everything selects every series.
var Everything = Selector{}

// Namespace selects the series of Envoys in one namespace (the target label the operator sets).
func Namespace(ns string) Selector {
	return Selector{matchers: []*labels.Matcher{Eq(LabelNamespace, ns)}}
}

// With adds a label equality to s.
func (s Selector) With(name, value string) Selector {
	out := Selector{matchers: append(append([]*labels.Matcher(nil), s.matchers...), Eq(name, value))}
	return out
}

// Pins reports whether s selects one value of label name: whether it holds an equality
// matcher for it.
func (s Selector) Pins(name string) bool {
	_, ok := s.Pinned(name)
	return ok
}

// Pinned is the value s selects for label name, when it pins one (see Pins).
func (s Selector) Pinned(name string) (string, bool) {
	for _, m := range s.matchers {
		if m.Name == name && m.Type == labels.MatchEqual {
			return m.Value, true
		}
	}
	return "", false
}

func (s Selector) series(metric string, extra ...*labels.Matcher) *parser.VectorSelector {
	return Series(metric, append(append([]*labels.Matcher(nil), s.matchers...), extra...)...)
}

// Envoy cluster and listener statistics the live view reads.
const (
	metricRequests      = "envoy_cluster_upstream_rq_total"
	metricLatency       = "envoy_cluster_upstream_rq_time_bucket"
	metricActive        = "envoy_cluster_upstream_rq_active"
	metricDownstream    = "envoy_http_downstream_rq_total"
	metricDownstreamLat = "envoy_http_downstream_rq_time_bucket"
)

// UpstreamRequestRate is requests per second by cluster (and by the extra labels).
func UpstreamRequestRate(d Dialect, sel Selector, w time.Duration, by ...string) parser.Expr {
	if d.Standard {
		return istioRequestRate(d, sel, w, by...)
	}
	return SumBy(Rate(sel.series(metricRequests), w), append([]string{d.Cluster}, by...)...)
}

// UpstreamSuccessRatio is the non-5xx share of final responses by cluster. Numerator and
// denominator both count final responses by class, so in-flight and reset requests do not skew
// it; a cluster without responses has no ratio (0/0 is NaN).
func UpstreamSuccessRatio(d Dialect, sel Selector, w time.Duration, by ...string) parser.Expr {
	if d.Standard {
		return istioSuccessRatio(d, sel, w, by...)
	}
	group := append([]string{d.Cluster}, by...)
	ok := SumBy(Rate(sel.series(d.ClassMetric, Neq(d.Class, d.Class5xx), Neq(d.Class, "")), w), group...)
	all := SumBy(Rate(sel.series(d.ClassMetric, Neq(d.Class, "")), w), group...)
	return Div(ok, all)
}

// UpstreamLatency is latency quantile q in milliseconds by cluster, from the classic histogram
// with le kept through the sum, or else the native one (latencyQuantile).
func UpstreamLatency(d Dialect, sel Selector, q float64, w time.Duration, by ...string) parser.Expr {
	if d.Standard {
		return istioLatency(d, sel, q, w, by...)
	}
	return latencyQuantile(q, sel.series(metricLatency), w, append([]string{d.Cluster}, by...)...)
}

// UpstreamActive is requests in flight by cluster; nil for Istio's standard metrics, which have
// no such gauge.
func UpstreamActive(d Dialect, sel Selector) parser.Expr {
	if d.Standard {
		return nil
	}
	return SumBy(sel.series(metricActive), d.Cluster)
}

// ClassRate is final responses per second by status class.
func ClassRate(d Dialect, sel Selector, w time.Duration) parser.Expr {
	if d.Standard {
		return istioClassRate(d, sel, w)
	}
	return SumBy(Rate(sel.series(d.ClassMetric, Neq(d.Class, "")), w), d.Class)
}

// UpstreamClassRates is final responses per second by cluster and status class, every class of
// every cluster in one query: the reader sums the classes into the response rate and picks the
// 4xx and 5xx rates out of it (Dialect.Class4xx, Class5xx). A class a cluster never answered has
// no series, which the reader counts as 0 when the cluster had responses.
func UpstreamClassRates(d Dialect, sel Selector, w time.Duration) parser.Expr {
	if d.Standard {
		return istioClassRates(d, sel, w)
	}
	return SumBy(Rate(sel.series(d.ClassMetric, Neq(d.Class, "")), w), d.Cluster, d.Class)
}

// CodeLabel is the label CodeRate groups by.
const CodeLabel = "code"

// CodeRate is final responses per second by status code, labelled code. Where the dialect puts
// codes into metric names, a subquery at step moves the code into a label first, because rate()
// drops metric names.
func CodeRate(d Dialect, sel Selector, w, step time.Duration) parser.Expr {
	if d.Standard {
		return istioCodeRate(d, sel, w)
	}
	if d.CodeMetric != "" {
		codes := sel.series(d.CodeMetric, Neq(d.Code, ""))
		return SumBy(LabelReplace(Rate(codes, w), CodeLabel, "$1", d.Code, "(.*)"), CodeLabel)
	}
	name := mustMatcher(labels.MatchRegexp, model.MetricNameLabel, d.CodeNamePrefix+"[0-9]{3}")
	vs := &parser.VectorSelector{LabelMatchers: append(append([]*labels.Matcher(nil), sel.matchers...), name)}
	relabelled := LabelReplace(vs, CodeLabel, "$1", model.MetricNameLabel, d.CodeNamePrefix+"([0-9]{3})")
	sub := &parser.SubqueryExpr{Expr: relabelled, Range: w, Step: step}
	return SumBy(call("rate", sub), CodeLabel)
}

// LatencyBuckets is the cumulative latency histogram's rate by bucket bound (le, milliseconds),
// from the classic buckets, else from the native histogram (nativeBuckets).
func LatencyBuckets(sel Selector, w time.Duration) parser.Expr {
	classic := sel.series(metricLatency)
	return Or(SumBy(Rate(classic, w), "le"), nativeBuckets(nativeOf(classic), w))
}

// StatLabel names the statistic in ClusterStats' result.
const StatLabel = "stat"

// Statistics ClusterStats reports, as values of StatLabel.
const (
	StatTimeouts        = "timeouts"
	StatPerTryTimeouts  = "per_try_timeouts"
	StatRetries         = "retries"
	StatRetryOverflow   = "retry_overflow"
	StatPendingOverflow = "pending_overflow"
	StatRxResets        = "rx_resets"
	StatTxResets        = "tx_resets"
	StatEjections       = "ejections_active"
	StatHealthy         = "members_healthy"
	StatMembers         = "members_total"
	StatBreakersOpen    = "breakers_open"
)

// ClusterStats is the reliability statistics of the selected series in one query: each sum is
// tagged with StatLabel and joined with or. Counters are per second over w; gauges are now.
func ClusterStats(sel Selector, w time.Duration) parser.Expr {
	rate := func(stat, metric string) parser.Expr { return tag(SumBy(Rate(sel.series(metric), w)), stat) }
	// Every Envoy reports the same membership, ejections and breakers of a cluster: the largest
	// report is the answer, a sum would count each host once per pod.
	gauge := func(stat, metric string) parser.Expr { return tag(MaxBy(sel.series(metric)), stat) }
	parts := []parser.Expr{
		rate(StatTimeouts, "envoy_cluster_upstream_rq_timeout"),
		rate(StatPerTryTimeouts, "envoy_cluster_upstream_rq_per_try_timeout"),
		rate(StatRetries, "envoy_cluster_upstream_rq_retry"),
		rate(StatRetryOverflow, "envoy_cluster_upstream_rq_retry_overflow"),
		rate(StatPendingOverflow, "envoy_cluster_upstream_rq_pending_overflow"),
		rate(StatRxResets, "envoy_cluster_upstream_rq_rx_reset"),
		rate(StatTxResets, "envoy_cluster_upstream_rq_tx_reset"),
		gauge(StatEjections, "envoy_cluster_outlier_detection_ejections_active"),
		gauge(StatHealthy, "envoy_cluster_membership_healthy"),
		gauge(StatMembers, "envoy_cluster_membership_total"),
		gauge(StatBreakersOpen, "envoy_cluster_circuit_breakers_default_rq_open"),
	}
	out := parts[0]
	for _, p := range parts[1:] {
		out = Or(out, p)
	}
	return out
}

func tag(e parser.Expr, stat string) parser.Expr {
	return LabelReplace(e, StatLabel, stat, model.MetricNameLabel, ".*")
}

// DownstreamRequestRate is requests per second by HTTP connection manager.
func DownstreamRequestRate(d Dialect, sel Selector, w time.Duration) parser.Expr {
	if d.Standard {
		return istioDownstreamRate(d, sel, w)
	}
	return SumBy(Rate(sel.series(metricDownstream), w), d.Listener)
}

// DownstreamClassRates is downstream responses per second by HTTP connection manager and status
// class: the listeners' success ratio (the non-5xx share) and error rates, read as
// UpstreamClassRates is.
func DownstreamClassRates(d Dialect, sel Selector, w time.Duration) parser.Expr {
	if d.Standard {
		return istioDownstreamClassRates(d, sel, w)
	}
	return SumBy(Rate(sel.series(d.ListenerClassMetric, Neq(d.Class, "")), w), d.Listener, d.Class)
}

// DownstreamLatency is downstream latency quantile q in milliseconds by HTTP connection manager.
func DownstreamLatency(d Dialect, sel Selector, q float64, w time.Duration) parser.Expr {
	if d.Standard {
		return istioDownstreamLatency(d, sel, q, w)
	}
	return latencyQuantile(q, sel.series(metricDownstreamLat), w, d.Listener)
}

// ClusterLabels is every cluster label value the selected series hold, for dialect discovery:
// one series per distinct pair of the dialects' cluster labels.
func ClusterLabels(sel Selector) parser.Expr {
	var by []string
	for _, d := range Dialects {
		by = append(by, d.Cluster)
	}
	return &parser.AggregateExpr{Op: parser.COUNT, Expr: sel.series(metricRequests), Grouping: by}
}

// EnvoyNamespaces counts the Envoy cluster series of every namespace, whatever the selection:
// where Envoys report from, to explain a selection of one namespace that holds none.
func EnvoyNamespaces() parser.Expr {
	return &parser.AggregateExpr{Op: parser.COUNT, Expr: Everything.series(metricRequests), Grouping: []string{LabelNamespace}}
}

// IstioStandard counts Istio's standard request series; used to explain an empty view.
func IstioStandard(sel Selector) parser.Expr {
	return &parser.AggregateExpr{Op: parser.COUNT, Expr: sel.series("istio_requests_total")}
}

// Reading the recording rules instead of Envoy's own series. The rules (docs/recording-rules.md)
// record one series per namespace and cluster, always labelled envoy_cluster_name whatever the
// dialect; these queries fold them into one series per cluster, as the raw queries above do, so a
// cluster reported from several namespaces is one row either way. Each reads one recorded series
// per cluster (or per cluster and bucket), with no join: what costs a refresh is the number of
// series it selects and returns.

// RecordedClusters counts the named clusters the recording rules hold for sel: the probe that
// tells whether a refresh can read them. Its result is empty when there are none. Recorded series
// without a cluster name (Envoy statistics in a dialect the rules do not label) do not count.
func RecordedClusters(sel Selector) parser.Expr {
	return &parser.AggregateExpr{Op: parser.COUNT, Expr: sel.series(RecordRequestRate, Neq(LabelCluster, ""))}
}

// RecordedRequestRate is requests per second by cluster over the rules' window.
func RecordedRequestRate(sel Selector) parser.Expr {
	return SumBy(sel.series(RecordRequestRate), LabelCluster)
}

// RecordedResponseRate is final responses per second by cluster over the rules' window.
func RecordedResponseRate(sel Selector) parser.Expr {
	return SumBy(sel.series(RecordResponseRate), LabelCluster)
}

// RecordedNot5xxRate is final non-5xx responses per second by cluster over the rules' window.
// Over RecordedResponseRate it is the success ratio: both are sums, which add up across
// namespaces and Prometheus shards where recorded ratios would not.
func RecordedNot5xxRate(sel Selector) parser.Expr {
	return SumBy(sel.series(RecordNot5xxRate), LabelCluster)
}

// RecordedClient4xxRate is final 4xx responses per second by cluster over the rules' window. The
// rule records 0 for a cluster with responses and no 4xx, so an absent series means the rules
// predate it (or the cluster had no responses), never 0.
func RecordedClient4xxRate(sel Selector) parser.Expr {
	return SumBy(sel.series(Record4xxRate), LabelCluster)
}

// RecordedLatencyBuckets is the recorded latency histogram of one unit's record (see
// LatencyUnits) by cluster and le: the bucket rates summed over namespaces and shards, from which
// the reader computes any quantile. Summing buckets by le, never quantiles, is what keeps a
// quantile of several namespaces or shards the quantile of all their requests.
func RecordedLatencyBuckets(sel Selector, record string) parser.Expr {
	return SumBy(sel.series(record), LabelCluster, "le")
}

// RecordedNativeLatency is latency quantile q in milliseconds by cluster from the recorded native
// histograms, summed over namespaces and shards first, as the bucket rates are.
func RecordedNativeLatency(sel Selector, q float64) parser.Expr {
	return HistogramQuantile(q, SumBy(sel.series(RecordLatencyNativeMs), LabelCluster))
}

// RecordedActive is requests in flight by cluster, as last recorded. Empty for Istio's standard
// metrics, which have no such gauge.
func RecordedActive(sel Selector) parser.Expr {
	return SumBy(sel.series(RecordActiveRequests), LabelCluster)
}

// RecordLabel names the recording rule in RecordedStamps' result.
const RecordLabel = "record"

// RecordedStamps is when the recording rules last wrote each of records for one cluster of sel:
// the timestamp of its latest sample (seconds), one series per record and namespace, labelled
// RecordLabel. A rule group writes every series of an evaluation with the evaluation's
// timestamp, so the stamps of one cluster tell whether the rules were evaluated since a refresh
// read them, at the cost of reading a handful of series.
func RecordedStamps(sel Selector, cluster string, records ...string) parser.Expr {
	var out parser.Expr
	for _, r := range records {
		// timestamp drops the metric name, so each record is tagged to tell them apart.
		stamp := LabelReplace(call("timestamp", sel.series(r, Eq(LabelCluster, cluster))), RecordLabel, r, model.MetricNameLabel, ".*")
		if out == nil {
			out = stamp
			continue
		}
		out = Or(out, stamp)
	}
	return out
}

// The series Prometheus keeps for every pending and firing alert, and the labels top reads.
const (
	MetricAlerts = "ALERTS"
	// LabelAlertState is pending or firing.
	LabelAlertState = "alertstate"
	LabelAlertName  = "alertname"
	LabelSeverity   = "severity"
	// LabelEnvoyNamespace is where the team's alerts keep the namespace of the Envoy they are
	// about: their namespace label is the team's, for Alertmanager's routing.
	LabelEnvoyNamespace = "envoy_namespace"
)

// Alerts are the pending and firing alerts about the selected upstream clusters: those with a
// cluster label, about Envoys in the selected namespace when sel pins one.
func Alerts(sel Selector) parser.Expr {
	matchers := []*labels.Matcher{Neq(LabelCluster, "")}
	if ns, ok := sel.Pinned(LabelNamespace); ok {
		matchers = append(matchers, Eq(LabelEnvoyNamespace, ns))
	}
	return Series(MetricAlerts, matchers...)
}
