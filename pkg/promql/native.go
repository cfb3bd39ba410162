package promql

import (
	"math"
	"slices"
	"strconv"
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

// EnvoyBoundsMs are the upper bounds of Envoy's default latency buckets in milliseconds
// (source/common/stats/histogram_impl.cc, defaultBuckets): where latency arrives as a native
// histogram, the drill-down reads its rates below these bounds, as a classic histogram would
// have them.
var EnvoyBoundsMs = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
	300000, 600000, 1800000, 3600000}

// nativeBuckets is a native histogram's rate below each of EnvoyBoundsMs and +Inf, labelled le as
// the classic buckets are: histogram_fraction of the summed rate up to the bound, times its
// count. One query, one series per bound.
func nativeBuckets(native *parser.VectorSelector, w time.Duration) parser.Expr {
	sum := func() parser.Expr { return SumBy(Rate(native, w)) }
	var out parser.Expr
	for _, b := range append(slices.Clone(EnvoyBoundsMs), math.Inf(1)) {
		below := Mul(call("histogram_fraction", Num(math.Inf(-1)), Num(b), sum()), call("histogram_count", sum()))
		le := strconv.FormatFloat(b, 'g', -1, 64)
		if math.IsInf(b, 1) {
			le = "+Inf"
		}
		e := LabelReplace(below, "le", le, "", "")
		if out == nil {
			out = e
		} else {
			out = Or(out, e)
		}
	}
	return out
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
