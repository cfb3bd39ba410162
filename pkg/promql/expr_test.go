package promql

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

func TestExactText(t *testing.T) {
	// The shapes the reference gives for team-a with a 1m window, byte for byte.
	team := Eq("namespace", "team-a")
	tests := []struct {
		name string
		expr parser.Expr
		want string
	}{
		{
			"rps",
			SumBy(Rate(Series("envoy_cluster_upstream_rq_total", team), time.Minute), LabelCluster),
			`sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_total{namespace="team-a"}[1m]))`,
		},
		{
			"p99",
			HistogramQuantile(0.99, SumBy(Rate(Series("envoy_cluster_upstream_rq_time_bucket", team), time.Minute), LabelCluster, "le")),
			`histogram_quantile(0.99, sum by (envoy_cluster_name, le) (rate(envoy_cluster_upstream_rq_time_bucket{namespace="team-a"}[1m])))`,
		},
		{
			"gated",
			And(Gt(Series("a"), Num(1-0.999)), Series("b"), LabelNamespace, LabelCluster),
			`a > 0.001 and on (namespace, envoy_cluster_name) b`,
		},
		{
			"burn threshold",
			Gt(Series("a"), Num(14.4*(1-0.999))),
			`a > 0.0144`,
		},
		{
			"label_replace",
			LabelReplace(Series("x"), "dst", "$1", "src", "(.*)"),
			`label_replace(x, "dst", "$1", "src", "(.*)")`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestHostileLabelValuesStayInsideTheirMatcher(t *testing.T) {
	values := []string{
		`team"} or vector(1) or {"`,
		`back\slash`,
		`quote"and\"escaped`,
		"new\nline",
		`}[5m]))`,
		"üñíçødé",
	}
	for _, v := range values {
		e := SumBy(Rate(Series("envoy_cluster_upstream_rq_total", Eq("envoy_cluster_name", v), Neq("namespace", v)), time.Minute), LabelCluster)
		text, err := Check(e)
		if err != nil {
			t.Fatalf("value %q: %v", v, err)
		}
		parsed, err := parser.NewParser(parser.Options{}).ParseExpr(text)
		if err != nil {
			t.Fatal(err)
		}
		var got []*labels.Matcher
		parser.Inspect(parsed, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				got = vs.LabelMatchers
			}
			return nil
		})
		if len(got) != 3 {
			t.Fatalf("value %q: want 3 matchers, parsed %d from %s", v, len(got), text)
		}
		for _, m := range got[:2] {
			if m.Value != v {
				t.Errorf("value %q came back as %q from %s", v, m.Value, text)
			}
		}
	}
}

func TestREDQueriesRoundTripForEverySourceMix(t *testing.T) {
	mixes := [][]Source{
		{SourceEnvoy}, {SourceStatsd}, {SourceIstio},
		{SourceEnvoy, SourceStatsd}, {SourceEnvoy, SourceIstio}, {SourceStatsd, SourceEnvoy, SourceIstio},
	}
	for _, mix := range mixes {
		for _, w := range []time.Duration{time.Minute, RuleWindow, 72 * time.Hour} {
			exprs := []parser.Expr{
				RequestRate(mix, w),
				ResponseRate(mix, w, ClassAll),
				ResponseRate(mix, w, Class5xx),
				ResponseRate(mix, w, ClassNot5xx),
				ResponseRate(mix, w, Class4xx),
				ErrorRatio(mix, w),
			}
			for _, u := range LatencyUnits {
				if e := LatencyBucketRate(mix, u.Unit, w); e != nil {
					exprs = append(exprs, e)
				}
			}
			for _, q := range Quantiles {
				exprs = append(exprs, LatencyQuantileFromBuckets(mix, q))
			}
			if a := ActiveRequests(mix); a != nil {
				exprs = append(exprs, a)
			}
			for _, e := range exprs {
				if _, err := Check(e); err != nil {
					t.Errorf("%v %s: %v", mix, w, err)
				}
			}
		}
	}
}

func TestSourcesSharingCounterNamesAreNotQueriedTwice(t *testing.T) {
	// statsd keeps Envoy's counter names: the same series must not be summed twice with or.
	both := RequestRate([]Source{SourceEnvoy, SourceStatsd}, RuleWindow).String()
	one := RequestRate([]Source{SourceEnvoy}, RuleWindow).String()
	if both != one {
		t.Errorf("envoy+statsd request rate = %s, want %s", both, one)
	}
	// Their latency histograms differ (ms vs seconds), so each has its own record; Envoy and
	// Istio both count milliseconds and share one.
	mix := []Source{SourceStatsd, SourceEnvoy, SourceIstio}
	for _, tc := range []struct {
		unit LatencyUnit
		want string
	}{
		{Milliseconds, `sum by (namespace, envoy_cluster_name, le) (rate(envoy_cluster_upstream_rq_time_bucket[5m])) or sum by (namespace, envoy_cluster_name, le) (label_replace(rate(istio_request_duration_milliseconds_bucket{reporter="source"}[5m]), "envoy_cluster_name", "$1", "destination_service", "(.*)"))`},
		{Seconds, `sum by (namespace, envoy_cluster_name, le) (rate(envoy_cluster_upstream_rq_time_seconds_bucket[5m]))`},
	} {
		if got := LatencyBucketRate(mix, tc.unit, RuleWindow).String(); got != tc.want {
			t.Errorf("buckets of unit %d\n got %s\nwant %s", tc.unit, got, tc.want)
		}
	}
	if LatencyBucketRate([]Source{SourceEnvoy}, Seconds, RuleWindow) != nil {
		t.Error("Envoy alone has no histogram in seconds; LatencyBucketRate must be nil")
	}
	// Quantiles read both records, summed by le, in seconds, then the native histograms' (Envoy's
	// and Istio's, where Prometheus keeps no classic buckets); or binds last.
	lat := LatencyQuantileFromBuckets(mix, 0.99).String()
	want := `histogram_quantile(0.99, sum by (namespace, envoy_cluster_name, le) (envoy_cluster:upstream_rq_time_milliseconds_bucket:rate5m)) / 1000 or histogram_quantile(0.99, sum by (namespace, envoy_cluster_name, le) (envoy_cluster:upstream_rq_time_seconds_bucket:rate5m)) or histogram_quantile(0.99, sum by (namespace, envoy_cluster_name) (envoy_cluster:upstream_rq_time_milliseconds:rate5m)) / 1000`
	if lat != want {
		t.Errorf("latency\n got %s\nwant %s", lat, want)
	}
	if ActiveRequests([]Source{SourceIstio}) != nil {
		t.Error("Istio's standard metrics have no in-flight gauge; ActiveRequests must be nil")
	}
}

func TestRecordNames(t *testing.T) {
	if LatencyUnits[Milliseconds].Record != RecordLatencyBucketsMs || LatencyUnits[Seconds].Record != RecordLatencyBucketsSeconds ||
		LatencyUnits[Milliseconds].Ms != 1 || LatencyUnits[Seconds].Ms != 1000 {
		t.Errorf("LatencyUnits is not indexed by unit: %+v", LatencyUnits)
	}
	if got := RecordErrorRatio(72 * time.Hour); got != "envoy_cluster:upstream_rq_error_ratio:rate3d" {
		t.Errorf("RecordErrorRatio(3d) = %s", got)
	}
}

// TestLatencyQuantileOfStatsdOnly: statsd_exporter's timers are classic histograms in seconds;
// no native histogram is recorded for them, so the quantile reads the seconds' buckets alone.
func TestLatencyQuantileOfStatsdOnly(t *testing.T) {
	got := LatencyQuantileFromBuckets([]Source{SourceStatsd}, 0.5).String()
	if want := `histogram_quantile(0.5, sum by (namespace, envoy_cluster_name, le) (envoy_cluster:upstream_rq_time_seconds_bucket:rate5m))`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
