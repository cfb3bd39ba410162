package promql

import (
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// WithMatcher adds a matcher (an exact cluster name, or a pattern a person gave as a regular
// expression) to s.
func (s Selector) WithMatcher(m *labels.Matcher) Selector {
	return Selector{matchers: append(append([]*labels.Matcher(nil), s.matchers...), m)}
}

// ResponseIncrease is final responses in the window by status class.
func ResponseIncrease(d Dialect, sel Selector, w time.Duration) parser.Expr {
	if d.Standard {
		return istioResponseIncrease(d, sel, w)
	}
	return SumBy(Increase(sel.series(d.ClassMetric, Neq(d.Class, "")), w), d.Class)
}

// TotalRequestRate is requests per second of every selected cluster together.
func TotalRequestRate(d Dialect, sel Selector, w time.Duration) parser.Expr {
	if d.Standard {
		return istioTotalRequestRate(sel, w)
	}
	return SumBy(Rate(sel.series(metricRequests), w))
}

// TotalLatency is latency quantile q in milliseconds of every selected cluster together.
func TotalLatency(d Dialect, sel Selector, q float64, w time.Duration) parser.Expr {
	if d.Standard {
		return istioTotalLatency(sel, q, w)
	}
	return latencyQuantile(q, sel.series(metricLatency), w)
}

// TotalRate is the per-second rate of one counter summed over the selected series.
func TotalRate(sel Selector, metric string, w time.Duration) parser.Expr {
	return SumBy(Rate(sel.series(metric), w))
}

// ClusterNames lists the clusters the selection holds, one series each.
func ClusterNames(d Dialect, sel Selector) parser.Expr {
	if d.Standard {
		return istioClusterNames(d, sel)
	}
	return &parser.AggregateExpr{Op: parser.COUNT, Expr: sel.series(metricRequests), Grouping: []string{d.Cluster}}
}
