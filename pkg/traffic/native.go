package traffic

import "github.com/kubectl-promteam/kubectl-promteam/pkg/promql"

// recordedNativeQueries read the percentiles of the recorded native latency histograms
// (promql.RecordLatencyNativeMs): three quantiles of one recorded series per cluster each.
func recordedNativeQueries(sel promql.Selector) []clusterQuery {
	return []clusterQuery{
		{expr: promql.RecordedNativeLatency(sel, 0.5), into: func(r *rowParts, v float64) { r.P50 = v }, record: promql.RecordLatencyNativeMs},
		{expr: promql.RecordedNativeLatency(sel, 0.9), into: func(r *rowParts, v float64) { r.P90 = v }, record: promql.RecordLatencyNativeMs},
		{expr: promql.RecordedNativeLatency(sel, 0.99), into: func(r *rowParts, v float64) { r.P99 = v }, record: promql.RecordLatencyNativeMs},
	}
}
