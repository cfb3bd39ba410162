package promql

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
)

// allQueries is every query `top` can send, for one dialect, team namespace and cluster.
func allQueries(d Dialect, ns, cluster string) map[string]parser.Expr {
	sel := Namespace(ns)
	one := sel.With(d.Cluster, cluster)
	w := time.Minute
	return map[string]parser.Expr{
		"01 rps":                 UpstreamRequestRate(d, sel, w),
		"02 success":             UpstreamSuccessRatio(d, sel, w),
		"03 p50":                 UpstreamLatency(d, sel, 0.5, w),
		"04 p90":                 UpstreamLatency(d, sel, 0.9, w),
		"05 p99":                 UpstreamLatency(d, sel, 0.99, w),
		"06 active":              UpstreamActive(d, sel),
		"07 listener rps":        DownstreamRequestRate(d, sel, w),
		"08 listener classes":    DownstreamClassRates(d, sel, w),
		"09 listener p99":        DownstreamLatency(d, sel, 0.99, w),
		"10 detail classes":      ClassRate(d, one, w),
		"11 detail codes":        CodeRate(d, one, w, 15*time.Second),
		"12 detail stats":        ClusterStats(one, w),
		"13 detail pod rps":      UpstreamRequestRate(d, one, w, "pod", "instance"),
		"14 detail pod success":  UpstreamSuccessRatio(d, one, w, "pod", "instance"),
		"15 detail pod p99":      UpstreamLatency(d, one, 0.99, w, "pod", "instance"),
		"16 detail buckets":      LatencyBuckets(one, w),
		"17 discovery":           ClusterLabels(sel),
		"18 discovery istio std": IstioStandard(sel),
		"19 envoy namespaces":    EnvoyNamespaces(),
		"20 alerts":              Alerts(sel),
		"21 classes":             UpstreamClassRates(d, sel, w),
	}
}

// TestEveryTopQueryRoundTrips prints every query for both dialects, with label values that try
// to break out of their quotes, checks each parses back to itself, and keeps the text in a
// golden file so a change to what the tool sends is a reviewed change.
func TestEveryTopQueryRoundTrips(t *testing.T) {
	for _, d := range Dialects {
		var b bytes.Buffer
		queries := allQueries(d, `team"a\`, `outbound|80||x".svc\`)
		for i := 1; i <= len(queries); i++ {
			for name, e := range queries {
				if name[:2] != fmt.Sprintf("%02d", i) {
					continue
				}
				text, err := Check(e)
				if err != nil {
					t.Errorf("%s %s: %v", d.Name, name, err)
				}
				fmt.Fprintf(&b, "# %s\n%s\n\n", name[3:], text)
			}
		}
		golden.Assert(t, filepath.Join("testdata", "top-"+d.Name+".promql"), b.Bytes())
	}
}

func TestDetectDialectOnLabelSets(t *testing.T) {
	if _, ok := DetectDialect(nil); ok {
		t.Error("no series, yet a dialect")
	}
}

// TestRecordedQueries pins what a refresh that reads the recording rules sends: every query
// round-trips and narrows by the selection with its values quoted; the probe counts only named
// clusters; the stamps read one cluster's records, each tagged with its name.
func TestRecordedQueries(t *testing.T) {
	sel := Namespace("edge")
	want := map[string]struct {
		expr parser.Expr
		text string
	}{
		"probe": {RecordedClusters(sel),
			`count(envoy_cluster:upstream_rq:rate5m{envoy_cluster_name!="",namespace="edge"})`},
		"rps": {RecordedRequestRate(sel),
			`sum by (envoy_cluster_name) (envoy_cluster:upstream_rq:rate5m{namespace="edge"})`},
		"responses": {RecordedResponseRate(sel),
			`sum by (envoy_cluster_name) (envoy_cluster:upstream_rq_xx:rate5m{namespace="edge"})`},
		"not 5xx": {RecordedNot5xxRate(sel),
			`sum by (envoy_cluster_name) (envoy_cluster:upstream_rq_not_5xx:rate5m{namespace="edge"})`},
		"buckets ms": {RecordedLatencyBuckets(sel, RecordLatencyBucketsMs),
			`sum by (envoy_cluster_name, le) (envoy_cluster:upstream_rq_time_milliseconds_bucket:rate5m{namespace="edge"})`},
		"buckets seconds": {RecordedLatencyBuckets(sel, RecordLatencyBucketsSeconds),
			`sum by (envoy_cluster_name, le) (envoy_cluster:upstream_rq_time_seconds_bucket:rate5m{namespace="edge"})`},
		"active": {RecordedActive(sel),
			`sum by (envoy_cluster_name) (envoy_cluster:upstream_rq_active:sum{namespace="edge"})`},
		"4xx": {RecordedClient4xxRate(sel),
			`sum by (envoy_cluster_name) (envoy_cluster:upstream_rq_4xx:rate5m{namespace="edge"})`},
		"everything": {RecordedRequestRate(Everything),
			`sum by (envoy_cluster_name) (envoy_cluster:upstream_rq:rate5m)`},
		"stamps": {RecordedStamps(sel, "svc_8080", RecordRequestRate, RecordActiveRequests),
			`label_replace(timestamp(envoy_cluster:upstream_rq:rate5m{envoy_cluster_name="svc_8080",namespace="edge"}), "record", "envoy_cluster:upstream_rq:rate5m", "__name__", ".*")` +
				` or label_replace(timestamp(envoy_cluster:upstream_rq_active:sum{envoy_cluster_name="svc_8080",namespace="edge"}), "record", "envoy_cluster:upstream_rq_active:sum", "__name__", ".*")`},
	}
	for name, tc := range want {
		text, err := Check(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if text != tc.text {
			t.Errorf("%s:\n got %s\nwant %s", name, text, tc.text)
		}
	}

	// A hostile namespace stays inside its quotes in every query.
	var b bytes.Buffer
	hostile := Namespace(`team"a\`)
	for _, q := range []struct {
		name string
		expr parser.Expr
	}{
		{"probe", RecordedClusters(hostile)},
		{"rps", RecordedRequestRate(hostile)},
		{"responses", RecordedResponseRate(hostile)},
		{"not 5xx", RecordedNot5xxRate(hostile)},
		{"buckets ms", RecordedLatencyBuckets(hostile, RecordLatencyBucketsMs)},
		{"buckets seconds", RecordedLatencyBuckets(hostile, RecordLatencyBucketsSeconds)},
		{"active", RecordedActive(hostile)},
		{"4xx", RecordedClient4xxRate(hostile)},
		{"stamps", RecordedStamps(hostile, `svc"}) or vector(1) #`, RecordRequestRate, RecordLatencyBucketsMs)},
	} {
		text, err := Check(q.expr)
		if err != nil {
			t.Errorf("%s: %v", q.name, err)
		}
		fmt.Fprintf(&b, "# %s\n%s\n\n", q.name, text)
	}
	golden.Assert(t, filepath.Join("testdata", "top-rules.promql"), b.Bytes())
}

// TestSelectorPins tells a selection of one namespace from the others: only an equality pins.
func TestSelectorPins(t *testing.T) {
	for _, tc := range []struct {
		name string
		sel  Selector
		want bool
	}{
		{"namespace", Namespace("edge"), true},
		{"namespace and pod", Namespace("edge").With("pod", "envoy-0"), true},
		{"everything", Everything, false},
		{"pod only", Everything.With("pod", "envoy-0"), false},
		{"namespace pattern", Everything.WithMatcher(mustMatcher(labels.MatchRegexp, LabelNamespace, "edge|shop")), false},
		{"not a namespace", Everything.WithMatcher(Neq(LabelNamespace, "edge")), false},
	} {
		if got := tc.sel.Pins(LabelNamespace); got != tc.want {
			t.Errorf("%s: Pins(namespace) = %v, want %v", tc.name, got, tc.want)
		}
		if v, ok := tc.sel.Pinned(LabelNamespace); ok != tc.want || (ok && v != "edge") {
			t.Errorf("%s: Pinned(namespace) = %q, %v", tc.name, v, ok)
		}
	}
}
