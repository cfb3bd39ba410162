package promql

import (
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Latency arrives as a classic histogram (METRIC_bucket series by le) or, where Prometheus scrapes
// native histograms (Prometheus 3 with scrape_native_histograms, Envoy's protobuf exposition), as
// one native histogram series named METRIC, without _bucket or le. latencyQuantile reads both in
// one query, so the form is found per cluster without a probe: the classic buckets where they
// exist, else the native histogram. A Prometheus that keeps both (scrapeClassicHistograms) is read
// from the classic buckets, as before it scraped native ones; one without native histograms finds
// nothing on the right of the or, which costs it one index lookup.
func latencyQuantile(q float64, classic *parser.VectorSelector, w time.Duration, by ...string) parser.Expr {
	withLe := append(append([]string(nil), by...), "le")
	return Or(
		HistogramQuantile(q, SumBy(Rate(classic, w), withLe...)),
		HistogramQuantile(q, SumBy(Rate(nativeOf(classic), w), by...)),
	)
}

// nativeOf selects the native histogram of a classic histogram's _bucket series: the same
// matchers, the name without _bucket.
func nativeOf(vs *parser.VectorSelector) *parser.VectorSelector {
	name := strings.TrimSuffix(vs.Name, "_bucket")
	ms := make([]*labels.Matcher, 0, len(vs.LabelMatchers))
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel {
			m = mustMatcher(labels.MatchEqual, model.MetricNameLabel, name)
		}
		ms = append(ms, m)
	}
	return &parser.VectorSelector{Name: name, LabelMatchers: ms}
}
