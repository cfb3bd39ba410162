package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// fakeQuerier answers each query with the samples whose key (a metric-name fragment) the query
// text contains, recording every query it saw.
type fakeQuerier struct {
	mu      sync.Mutex
	seen    []string
	answers func(query string) Vector
	barrier *sync.WaitGroup // when set, every query waits until all have arrived
}

func (f *fakeQuerier) Query(ctx context.Context, q string, _ time.Time) (Result, error) {
	f.mu.Lock()
	f.seen = append(f.seen, q)
	f.mu.Unlock()
	if f.barrier != nil {
		f.barrier.Done()
		done := make(chan struct{})
		go func() { f.barrier.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			return Result{}, fmt.Errorf("query %q was not sent together with the others", q)
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	return Result{Vector: f.answers(q), Warnings: []string{"some warning"}}, nil
}

// frameJSON renders f as -o json does and reads it back.
func frameJSON(t *testing.T, f Frame) (out struct {
	At        string           `json:"at"`
	Window    string           `json:"window"`
	Source    string           `json:"source"`
	Rows      []map[string]any `json:"rows"`
	Listeners []map[string]any `json:"listeners"`
}) {
	t.Helper()
	var b bytes.Buffer
	if err := RenderJSON(&b, f); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sample(ls map[string]string, v float64) Sample {
	return Sample{Metric: labels.FromMap(ls), Value: v}
}

// clusterAnswers answers the frame queries for n clusters named c0..c(n-1), each with known
// numbers, plus an idle cluster and one with traffic but no histogram.
func clusterAnswers(d promql.Dialect, n int) func(string) Vector {
	return func(q string) Vector {
		var v Vector
		add := func(name string, val float64) { v = append(v, sample(map[string]string{d.Cluster: name}, val)) }
		class := func(label, name, class string, val float64) {
			v = append(v, sample(map[string]string{label: name, d.Class: class}, val))
		}
		switch {
		case strings.HasPrefix(q, "sum by ("+d.Listener+", "+d.Class+")"):
			// 99 of 100 responses not 5xx: success 0.99.
			class(d.Listener, "ingress_http", dialectClass(d, "2"), 95)
			class(d.Listener, "ingress_http", d.Class4xx, 4)
			class(d.Listener, "ingress_http", d.Class5xx, 1)
		case strings.HasPrefix(q, "sum by ("+d.Cluster+", "+d.Class+")"):
			for i := range n {
				class(d.Cluster, fmt.Sprintf("c%d", i), dialectClass(d, "2"), float64(i+1)*0.9)
				class(d.Cluster, fmt.Sprintf("c%d", i), d.Class4xx, float64(i+1)*0.095)
				class(d.Cluster, fmt.Sprintf("c%d", i), d.Class5xx, float64(i+1)*0.005)
			}
			// Responses, none of them 4xx or 5xx: Envoy has no series for those classes.
			class(d.Cluster, "nohist", dialectClass(d, "2"), 3)
			// Counters that saw responses once, none in the window.
			class(d.Cluster, "idle", dialectClass(d, "2"), 0)
			class(d.Cluster, "idle", d.Class5xx, 0)
		case strings.HasPrefix(q, "histogram_quantile(0.99") && strings.Contains(q, "downstream"):
			v = append(v, sample(map[string]string{d.Listener: "ingress_http"}, 42))
		case strings.Contains(q, "envoy_http_downstream_rq_total"):
			v = append(v, sample(map[string]string{d.Listener: "ingress_http"}, 30))
		case strings.Contains(q, "downstream") && strings.Contains(q, " / "):
			v = append(v, sample(map[string]string{d.Listener: "ingress_http"}, 0.99))
		case strings.HasPrefix(q, "histogram_quantile(0.5,"):
			for i := range n {
				add(fmt.Sprintf("c%d", i), 10)
			}
			add("idle", math.NaN())
		case strings.HasPrefix(q, "histogram_quantile(0.9,"):
			for i := range n {
				add(fmt.Sprintf("c%d", i), 20)
			}
			add("idle", math.NaN())
		case strings.HasPrefix(q, "histogram_quantile(0.99,"):
			for i := range n {
				add(fmt.Sprintf("c%d", i), 90)
			}
			add("idle", math.NaN())
		case strings.Contains(q, " / "):
			for i := range n {
				add(fmt.Sprintf("c%d", i), 0.995)
			}
			add("idle", math.NaN())
			add("nohist", 1)
		case strings.Contains(q, "envoy_cluster_upstream_rq_total"):
			for i := range n {
				add(fmt.Sprintf("c%d", i), float64(i+1))
			}
			add("idle", 0)
			add("nohist", 3)
		case strings.Contains(q, "envoy_cluster_upstream_rq_active"):
			for i := range n {
				add(fmt.Sprintf("c%d", i), 2)
			}
			add("idle", 0)
		}
		return v
	}
}

// dialectClass is the status class of digit ("2" for 2xx) as dialect d labels it.
func dialectClass(d promql.Dialect, digit string) string {
	if len(d.Class5xx) == 1 {
		return digit
	}
	return digit + "xx"
}

func newCollector(t *testing.T, q Querier, d promql.Dialect) *Collector {
	t.Helper()
	c, err := NewCollector(q, Config{Dialect: d, Selector: promql.Namespace("team-a"), Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestQueriesPerRefreshDoNotGrowWithClusters(t *testing.T) {
	var counts []int
	for _, n := range []int{1, 100, 5000} {
		fq := &fakeQuerier{answers: clusterAnswers(promql.DialectEnvoy, n)}
		c := newCollector(t, fq, promql.DialectEnvoy)
		f, err := c.Frame(context.Background(), time.Unix(1000, 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Rows) != n+2 {
			t.Errorf("%d clusters gave %d rows", n, len(f.Rows))
		}
		counts = append(counts, len(fq.seen))
	}
	// The 4xx and 5xx rates of every cluster cost one query; the listeners' come with their
	// success ratio.
	if counts[0] != counts[1] || counts[1] != counts[2] || counts[0] != 10 {
		t.Errorf("queries per refresh for 1, 100, 5000 clusters: %v, want 10 each", counts)
	}
}

func TestQueriesGoOutTogether(t *testing.T) {
	fq := &fakeQuerier{answers: clusterAnswers(promql.DialectEnvoy, 3), barrier: &sync.WaitGroup{}}
	c := newCollector(t, fq, promql.DialectEnvoy)
	fq.barrier.Add(len(c.Queries()))
	if _, err := c.Frame(context.Background(), time.Unix(1000, 0)); err != nil {
		t.Fatalf("the refresh's queries did not run concurrently: %v", err)
	}
}

func TestFoldKeepsNoDataApartFromZero(t *testing.T) {
	fq := &fakeQuerier{answers: clusterAnswers(promql.DialectEnvoy, 2)}
	f, err := newCollector(t, fq, promql.DialectEnvoy).Frame(context.Background(), time.Unix(1000, 0))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]Row{}
	for _, r := range f.Rows {
		rows[r.Name] = r
	}
	idle := rows["idle"]
	if idle.RPS != 0 || Known(idle.Success) || Known(idle.P50) || Known(idle.P99) {
		t.Errorf("idle cluster = %+v: want 0 rps and no success or latency", idle)
	}
	nohist := rows["nohist"]
	if nohist.RPS != 3 || nohist.Success != 1 || Known(nohist.P99) || Known(nohist.Active) {
		t.Errorf("cluster without histogram = %+v", nohist)
	}
	SortRows(f.Rows, SortRPS, false)
	if f.Rows[0].Name != "nohist" || f.Rows[1].Name != "c1" || f.Rows[len(f.Rows)-1].Name != "idle" {
		t.Errorf("rows not sorted by rps: first %s, last %s", f.Rows[0].Name, f.Rows[len(f.Rows)-1].Name)
	}
	if len(f.Warnings) != 1 {
		t.Errorf("warnings not deduplicated: %v", f.Warnings)
	}
	if len(f.Listeners) != 1 || f.Listeners[0].RPS != 30 || f.Listeners[0].P99 != 42 || f.Listeners[0].Success != 0.99 ||
		f.Listeners[0].Err4xx != 4 || f.Listeners[0].Err5xx != 1 {
		t.Errorf("listeners = %+v", f.Listeners)
	}
	// Error rates: a cluster with responses and no 4xx or 5xx series had none, 0; an idle one
	// (no responses in the window) has no rates, whatever series exist.
	if nohist.Err4xx != 0 || nohist.Err5xx != 0 {
		t.Errorf("cluster with responses and no error series: 4xx %v/s, 5xx %v/s, want 0 and 0", nohist.Err4xx, nohist.Err5xx)
	}
	if Known(idle.Err4xx) || Known(idle.Err5xx) {
		t.Errorf("idle cluster: 4xx %v/s, 5xx %v/s, want no data", idle.Err4xx, idle.Err5xx)
	}
	if c1 := rows["c1"]; math.Abs(c1.Err4xx-0.19) > 1e-12 || math.Abs(c1.Err5xx-0.01) > 1e-12 {
		t.Errorf("c1: 4xx %v/s, 5xx %v/s, want 0.19 and 0.01", c1.Err4xx, c1.Err5xx)
	}

	out := frameJSON(t, f)
	for _, r := range out.Rows {
		if r["name"] == "idle" {
			if r["success_rate"] != nil || r["p50_ms"] != nil || r["p99_ms"] != nil || r["rps"] != 0.0 {
				t.Errorf("idle row in JSON = %v: want rps 0 and nulls", r)
			}
			if r["rps_4xx"] != nil || r["rps_5xx"] != nil {
				t.Errorf("idle row in JSON = %v: want null error rates", r)
			}
			for _, key := range []string{"name", "namespace", "service", "rps", "success_rate", "p50_ms", "p90_ms", "p99_ms", "active_requests", "rps_4xx", "rps_5xx"} {
				if _, ok := r[key]; !ok {
					t.Errorf("JSON row lacks %q", key)
				}
			}
		}
		if r["name"] == "nohist" && (r["rps_4xx"] != 0.0 || r["rps_5xx"] != 0.0) {
			t.Errorf("row with responses and no errors in JSON = %v: want error rates 0", r)
		}
	}
	if out.At != "1970-01-01T00:16:40Z" {
		t.Errorf("at = %q, want the refresh's instant in RFC 3339, UTC", out.At)
	}
	if len(out.Listeners) != 1 || out.Listeners[0]["rps_5xx"] != 1.0 || out.Listeners[0]["success_rate"] != 0.99 {
		t.Errorf("JSON listeners = %v", out.Listeners)
	}
	if out.Window != "1m" {
		t.Errorf("window = %q", out.Window)
	}
}

func TestRenderGolden(t *testing.T) {
	f := Frame{
		// Printed in UTC: 15:04:05Z.
		At:     time.Date(2026, 1, 2, 16, 4, 5, 0, time.FixedZone("CET", 3600)),
		Window: time.Minute,
		Rows: []Row{
			{Name: "shop_checkout_8080", Namespace: "shop", Service: "checkout", RPS: 120.25, Success: 0.9987, P50: 4.2, P90: 35, P99: 1250, Active: 7, Err4xx: 2.5, Err5xx: 0.15625},
			{Name: `odd "name" \ here`, RPS: 0.5, Success: 1, P50: 100, P90: 200, P99: 245, Active: 0, Err4xx: 0, Err5xx: 0},
			{Name: "idle", RPS: 0, Success: NoData, P50: NoData, P90: NoData, P99: NoData, Active: NoData, Err4xx: NoData, Err5xx: NoData},
			{Name: "failing", RPS: 20, Success: 0.75, P50: 3, P90: 8, P99: 40, Active: 1, Err4xx: 0, Err5xx: 5},
		},
		Listeners: []Listener{{Prefix: "ingress_http", RPS: 121, Success: 0.998, P99: 1300, Err4xx: 2.5, Err5xx: 0.25}},
	}
	for _, tc := range []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"table.txt", func(b *bytes.Buffer) error { return RenderTable(b, f, TableOptions{MinRPS: 1}) }},
		{"wide.txt", func(b *bytes.Buffer) error { return RenderTable(b, f, TableOptions{Wide: true, MinRPS: 1}) }},
		{"frame.json", func(b *bytes.Buffer) error { return RenderJSON(b, f) }},
	} {
		var b bytes.Buffer
		if err := tc.render(&b); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, filepath.Join("testdata", tc.name), b.Bytes())
	}
}

func TestDetailFolds(t *testing.T) {
	d := promql.DialectEnvoy
	fq := &fakeQuerier{answers: func(q string) Vector {
		switch {
		case strings.Contains(q, "stat"):
			return Vector{
				sample(map[string]string{"stat": "timeouts"}, 0.5),
				sample(map[string]string{"stat": "members_total"}, 3),
				sample(map[string]string{"stat": "breakers_open"}, 0),
			}
		case strings.Contains(q, `sum by (code)`):
			return Vector{sample(map[string]string{"code": "200"}, 9), sample(map[string]string{"code": "503"}, 1)}
		case strings.Contains(q, "sum by (envoy_response_code_class)"):
			return Vector{sample(map[string]string{d.Class: "2"}, 9), sample(map[string]string{d.Class: "5"}, 1)}
		case strings.HasPrefix(q, "sum by (le)"):
			return Vector{
				sample(map[string]string{"le": "100"}, 2), sample(map[string]string{"le": "250"}, 9),
				sample(map[string]string{"le": "+Inf"}, 10),
			}
		case strings.HasPrefix(q, "histogram_quantile"):
			return Vector{sample(map[string]string{"pod": "envoy-0"}, 240)}
		case strings.Contains(q, " / "):
			return Vector{sample(map[string]string{"pod": "envoy-0"}, 0.9), sample(map[string]string{"instance": "10.0.0.9:9901"}, 1)}
		default:
			return Vector{sample(map[string]string{"pod": "envoy-0"}, 6), sample(map[string]string{"instance": "10.0.0.9:9901"}, 4)}
		}
	}}
	det, err := newCollector(t, fq, d).Detail(context.Background(), time.Unix(1000, 0), `shop"_x`)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range fq.seen {
		if !strings.Contains(q, `envoy_cluster_name="shop\"_x"`) {
			t.Errorf("drill-down query not narrowed to the selected cluster: %s", q)
		}
	}
	if len(det.Classes) != 2 || det.Classes[0].Label != "2xx" || det.Classes[1].Label != "5xx" {
		t.Errorf("classes = %+v", det.Classes)
	}
	if len(det.Codes) != 2 || det.Codes[1].Label != "503" {
		t.Errorf("codes = %+v", det.Codes)
	}
	if det.Timeouts != 0.5 || det.MembersTotal != 3 || det.BreakersOpen != 0 || Known(det.Retries) {
		t.Errorf("stats = %+v", det)
	}
	if len(det.Pods) != 2 || det.Pods[0].Pod != "10.0.0.9:9901" || det.Pods[1].P99 != 240 {
		t.Errorf("pods = %+v", det.Pods)
	}
	want := []Bucket{{100, 2}, {250, 7}, {math.Inf(1), 1}}
	if len(det.Latency) != 3 {
		t.Fatalf("latency = %+v", det.Latency)
	}
	for i, b := range det.Latency {
		if b != want[i] {
			t.Errorf("bucket %d = %+v, want %+v", i, b, want[i])
		}
	}
}

func TestDiscoverPicksTheDialectWithMoreSeries(t *testing.T) {
	for _, tc := range []struct {
		labels []map[string]string
		want   string
		err    string
	}{
		{[]map[string]string{{"envoy_cluster_name": "a"}, {"envoy_cluster_name": "b"}}, "envoy", ""},
		{[]map[string]string{{"cluster_name": "outbound|80||a.b.svc.cluster.local"}}, "istio", ""},
		{[]map[string]string{{"cluster_name": "x"}, {"envoy_cluster_name": "a"}, {"envoy_cluster_name": "b"}}, "envoy", ""},
		{nil, "", "no Envoy cluster statistics"},
	} {
		fq := &fakeQuerier{answers: func(q string) Vector {
			var v Vector
			if strings.HasPrefix(q, "count by") {
				for _, l := range tc.labels {
					v = append(v, sample(l, 1))
				}
			}
			return v
		}}
		d, err := Discover(context.Background(), fq, promql.Everything, time.Unix(0, 0))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Discover = %v, want error %q", err, tc.err)
			}
			continue
		}
		if err != nil || d.Name != tc.want {
			t.Errorf("Discover(%v) = %s, %v; want %s", tc.labels, d.Name, err, tc.want)
		}
	}
}

func TestSortKeepsNoDataLast(t *testing.T) {
	rows := []Row{
		{Name: "b", RPS: 5, P99: NoData},
		{Name: "a", RPS: NoData, P99: 10},
		{Name: "c", RPS: 1, P99: 30},
	}
	for _, reverse := range []bool{false, true} {
		SortRows(rows, SortRPS, reverse)
		if rows[2].Name != "a" {
			t.Errorf("reverse=%v: no-data row at %v", reverse, rows)
		}
		SortRows(rows, SortP99, reverse)
		if rows[2].Name != "b" {
			t.Errorf("p99 reverse=%v: no-data row at %v", reverse, rows)
		}
	}
	SortRows(rows, SortRPS, false)
	if rows[0].Name != "b" {
		t.Errorf("rps descending by default: %v", rows)
	}
	if got := FilterRows(rows, ParseFilter("!B")); len(got) != 2 {
		t.Errorf("inverse filter kept %v", got)
	}
}

func TestNaming(t *testing.T) {
	tests := []struct {
		naming      Naming
		cluster     string
		ns, service string
	}{
		{NamingAuto, "outbound|9080|v1|reviews.default.svc.cluster.local", "default", "reviews"},
		{NamingAuto, "reviews.default.svc.cluster.local", "default", "reviews"},
		{NamingAuto, "shop_checkout_8080", "shop", "checkout"},
		{NamingAuto, "shop_checkout-canary_8080", "shop", "checkout-canary"},
		{NamingAuto, "kube-upstream_default-petstore-8080_gloo-system_default_petstore_8080", "default", "petstore"},
		{NamingAuto, "echo-server_kuma-test_svc_8080-d8f1a2b3c4d5e6f7", "kuma-test", "echo-server"},
		{NamingAuto, "httproute/default/backend/rule/0", "default", "backend"},
		{NamingAuto, "xds_cluster", "", ""},
		{NamingAuto, "service1", "", ""},
		{NamingEmissary, "checkout_shop_8080", "shop", "checkout"},
		{NamingContour, "outbound|80||a.b.svc.cluster.local", "", ""},
		{NamingNone, "shop_checkout_8080", "", ""},
	}
	for _, tt := range tests {
		ns, svc, _ := tt.naming.Service(tt.cluster)
		if ns != tt.ns || svc != tt.service {
			t.Errorf("%s %q = %q/%q, want %q/%q", tt.naming, tt.cluster, ns, svc, tt.ns, tt.service)
		}
	}
}

// ruleAnswers answers a refresh that reads the recording rules: the recorded series a refresh
// reads, by envoy_cluster_name, with latency buckets in milliseconds (and, for the busy cluster,
// buckets in seconds too, which the milliseconds must win over, as the rules' or does); an idle
// cluster (rates 0, empty buckets), one that never failed and has no histogram (no bucket
// series), and a recorded series without a cluster name. Raw listener queries and the probe
// answer too; rawClusters says whether Envoy's own cluster series exist (for dialect discovery).
func ruleAnswers(d promql.Dialect, rawClusters bool) func(string) Vector {
	return func(q string) Vector {
		var v Vector
		add := func(name string, val float64) {
			v = append(v, sample(map[string]string{promql.LabelCluster: name}, val))
		}
		bucket := func(name, le string, val float64) {
			v = append(v, sample(map[string]string{promql.LabelCluster: name, "le": le}, val))
		}
		switch {
		case strings.HasPrefix(q, "count by"): // dialect discovery
			if rawClusters {
				v = append(v, sample(map[string]string{d.Cluster: "shop_checkout_8080"}, 1))
			}
		case strings.HasPrefix(q, "count("):
			v = append(v, sample(nil, 3))
		case strings.Contains(q, "downstream"):
			v = append(v, sample(map[string]string{d.Listener: "ingress_http"}, 7))
		case strings.Contains(q, promql.RecordLatencyBucketsMs):
			// Out of order, as Prometheus may answer.
			for _, b := range []struct {
				le  string
				val float64
			}{{"+Inf", 40}, {"10", 8}, {"250", 39.8}, {"25", 24}, {"50", 36}, {"100", 38}} {
				bucket("shop_checkout_8080", b.le, b.val)
				bucket("idle", b.le, 0)
			}
		case strings.Contains(q, promql.RecordLatencyBucketsSeconds):
			bucket("shop_checkout_8080", "1", 1)
			bucket("shop_checkout_8080", "+Inf", 1)
		case strings.Contains(q, promql.Record4xxRate):
			// The rule records 0 where there were responses and no 4xx.
			add("shop_checkout_8080", 0.5)
			add("nohist", 0)
			add("idle", 0)
		case strings.Contains(q, promql.RecordNot5xxRate):
			add("shop_checkout_8080", 40-0.06)
			add("nohist", 3)
			add("idle", 0)
		case strings.Contains(q, promql.RecordResponseRate):
			add("shop_checkout_8080", 40)
			add("nohist", 3)
			add("idle", 0)
		case strings.Contains(q, promql.RecordRequestRate):
			add("shop_checkout_8080", 41.2)
			add("nohist", 3)
			add("idle", 0)
			add("", 5)
		case strings.Contains(q, promql.RecordActiveRequests):
			add("shop_checkout_8080", 3)
			add("nohist", 0)
			add("idle", 0)
		}
		return v
	}
}

// TestRulesFoldIntoTheSameRows reads the rules for one namespace and for every namespace: both
// read the same recorded sums, derive the success ratio and the percentiles from them, and give
// the rows of the raw queries.
func TestRulesFoldIntoTheSameRows(t *testing.T) {
	recorded := []string{promql.RecordRequestRate, promql.RecordResponseRate, promql.RecordNot5xxRate,
		promql.RecordLatencyBucketsMs, promql.RecordLatencyBucketsSeconds,
		// The three percentiles of the native histograms, where only those were recorded.
		promql.RecordLatencyNativeMs, promql.RecordLatencyNativeMs, promql.RecordLatencyNativeMs,
		promql.RecordActiveRequests, promql.Record4xxRate}
	selections := []struct {
		name   string
		sel    promql.Selector
		narrow string
	}{
		{"one namespace", promql.Namespace("team-a"), `namespace="team-a"`},
		{"every namespace", promql.Everything, ""},
	}
	// The Istio dialect names clusters cluster_name in Envoy's own series; the rules always
	// record envoy_cluster_name, and the rows must still be found.
	for _, d := range promql.Dialects {
		for _, s := range selections {
			t.Run(d.Name+"/"+s.name, func(t *testing.T) { testRulesFold(t, d, s.sel, s.narrow, recorded) })
		}
	}
}

func testRulesFold(t *testing.T, d promql.Dialect, sel promql.Selector, narrow string, recorded []string) {
	fq := &fakeQuerier{answers: ruleAnswers(d, true)}
	c, err := NewCollector(fq, Config{Dialect: d, Selector: sel, Window: time.Minute, Source: SourceRules})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.Window != promql.RuleWindow || c.cfg.Source != SourceRules {
		t.Errorf("window %s, source %s: want the rules' 5m", c.cfg.Window, c.cfg.Source)
	}
	f, err := c.Frame(context.Background(), time.Unix(1000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := len(recorded) + 3; len(fq.seen) != want {
		t.Errorf("%d queries, want %d: %q", len(fq.seen), want, fq.seen)
	}
	var read []string
	for _, q := range fq.seen {
		switch {
		case strings.Contains(q, "envoy_cluster:"):
			if !strings.Contains(q, narrow) || strings.Contains(q, "rate(") {
				t.Errorf("rule query not narrowed, or computing rates itself: %s", q)
			}
			for _, name := range slices.Compact(slices.Sorted(slices.Values(recorded))) {
				if strings.Contains(q, name+"{") || strings.Contains(q, name+")") {
					read = append(read, name)
				}
			}
		case !strings.Contains(q, "downstream") || !strings.Contains(q, "[5m]"):
			t.Errorf("raw query besides the listeners', or not over the rules' window: %s", q)
		}
	}
	slices.Sort(read)
	if wantRead := slices.Sorted(slices.Values(recorded)); !slices.Equal(read, wantRead) {
		t.Errorf("the rule queries read %q, want %q", read, wantRead)
	}
	if f.Source != SourceRules || f.Window != 5*time.Minute {
		t.Errorf("frame source %q window %s", f.Source, f.Window)
	}
	rows := map[string]Row{}
	for _, r := range f.Rows {
		rows[r.Name] = r
	}
	if len(rows) != 3 {
		t.Fatalf("rows = %+v: want three, none without a name", f.Rows)
	}
	got := rows["shop_checkout_8080"]
	// From the buckets by hand: p50 has rank 20 in (10, 25] holding 16 from 8, 10 + 15*12/16;
	// p90 rank 36 ends (25, 50]; p99 rank 39.6 in (100, 250] holding 1.8 from 38.
	want := Row{Name: "shop_checkout_8080", Namespace: "shop", Service: "checkout", RPS: 41.2, Success: (40 - 0.06) / 40,
		P50: 21.25, P90: 50, P99: 100 + 150*1.6/1.8, Active: 3, Err4xx: 0.5, Err5xx: 0.06}
	for _, field := range []struct {
		name      string
		got, want float64
	}{
		{"rps", got.RPS, want.RPS}, {"success", got.Success, want.Success},
		{"p50 ms", got.P50, want.P50}, {"p90 ms", got.P90, want.P90}, {"p99 ms", got.P99, want.P99},
		{"active", got.Active, want.Active}, {"4xx/s", got.Err4xx, want.Err4xx}, {"5xx/s", got.Err5xx, want.Err5xx},
	} {
		if math.Abs(field.got-field.want) > 1e-9*field.want {
			t.Errorf("%s = %v, want %v", field.name, field.got, field.want)
		}
	}
	if got.Namespace != want.Namespace || got.Service != want.Service {
		t.Errorf("service = %s/%s", got.Namespace, got.Service)
	}
	idle := rows["idle"]
	if idle.RPS != 0 || Known(idle.Success) || Known(idle.P50) || Known(idle.P90) || Known(idle.P99) || idle.Active != 0 ||
		Known(idle.Err4xx) || Known(idle.Err5xx) {
		t.Errorf("idle cluster = %+v: want 0 rps and no success, latency or error rates", idle)
	}
	nohist := rows["nohist"]
	if nohist.RPS != 3 || nohist.Success != 1 || Known(nohist.P50) || Known(nohist.P99) || nohist.Err4xx != 0 || nohist.Err5xx != 0 {
		t.Errorf("cluster without histogram = %+v: want no 4xx or 5xx, 0 each", nohist)
	}
	SortRows(f.Rows, SortRPS, false)
	if f.Rows[0].Name != "shop_checkout_8080" || f.Rows[2].Name != "idle" {
		t.Errorf("rows not sorted by rps: %+v", f.Rows)
	}
	if len(f.Listeners) != 1 || f.Listeners[0].Prefix != "ingress_http" {
		t.Errorf("listeners = %+v", f.Listeners)
	}

	out := frameJSON(t, f)
	if out.Window != "5m" || out.Source != "rules" {
		t.Errorf("JSON window %q source %q", out.Window, out.Source)
	}
	for _, r := range out.Rows {
		if r["name"] == "idle" && (r["rps"] != 0.0 || r["success_rate"] != nil || r["p99_ms"] != nil) {
			t.Errorf("idle row in JSON = %v: want rps 0 and nulls", r)
		}
	}
}

func TestAutoSettlesTheSourceOnce(t *testing.T) {
	d := promql.DialectEnvoy
	noRules := func(q string) Vector {
		if strings.HasPrefix(q, "count(") {
			return nil
		}
		return ruleAnswers(d, true)(q)
	}
	for _, tc := range []struct {
		name    string
		source  Source
		answers func(string) Vector
		want    Source
		err     string
	}{
		{"auto with rules", SourceAuto, ruleAnswers(d, true), SourceRules, ""},
		{"auto without rules", SourceAuto, noRules, SourceRaw, ""},
		{"rules", SourceRules, ruleAnswers(d, true), SourceRules, ""},
		// The rules alone are enough: without Envoy's cluster series the dialect stays stock.
		{"rules without raw series", SourceRules, ruleAnswers(d, false), SourceRules, ""},
		{"rules without rules", SourceRules, noRules, "", "kubectl promteam create"},
		{"raw", SourceRaw, ruleAnswers(d, true), SourceRaw, ""},
		{"auto without anything", SourceAuto, func(string) Vector { return nil }, "", "no Envoy cluster statistics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fq := &fakeQuerier{answers: tc.answers}
			a := NewAuto(fq, Config{Selector: promql.Namespace("team-a"), Window: time.Minute, Source: tc.source})
			var probes int
			for range 2 {
				f, err := a.Frame(context.Background(), time.Unix(1000, 0))
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("err = %v, want %q", err, tc.err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if f.Source != tc.want {
					t.Errorf("source %q, want %q", f.Source, tc.want)
				}
				if want := map[Source]time.Duration{SourceRules: 5 * time.Minute, SourceRaw: time.Minute}[tc.want]; f.Window != want {
					t.Errorf("window %s, want %s", f.Window, want)
				}
			}
			for _, q := range fq.seen {
				if strings.HasPrefix(q, "count(envoy_cluster:") {
					probes++
				}
			}
			switch {
			case tc.source == SourceRaw && probes != 0:
				t.Errorf("--source raw probed the rules %d times", probes)
			case tc.source != SourceRaw && tc.err == "" && probes != 1:
				t.Errorf("%d probes over two refreshes, want 1", probes)
			}
		})
	}
	var nr *NoRulesError
	_, err := NewAuto(&fakeQuerier{answers: noRules}, Config{Selector: promql.Namespace(`x"y`), Window: time.Minute, Source: SourceRules}).
		Frame(context.Background(), time.Unix(1000, 0))
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), "--source raw") || !strings.Contains(nr.Probe, `namespace="x\"y"`) {
		t.Errorf("no rules: %v", err)
	}
}

func TestParseSource(t *testing.T) {
	for _, s := range strings.Split(SourceNames(), ", ") {
		if got, err := ParseSource(s); err != nil || string(got) != s {
			t.Errorf("ParseSource(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseSource("recorded"); err == nil || !strings.Contains(err.Error(), "auto, rules, raw") {
		t.Errorf("ParseSource(recorded) = %v", err)
	}
	if _, err := NewCollector(&fakeQuerier{}, Config{Dialect: promql.DialectEnvoy, Window: time.Minute, Source: SourceAuto}); err == nil {
		t.Error("NewCollector took auto, which only NewAuto resolves")
	}
}

// TestServicesFollowTheClusters refreshes while clusters come and go: every row keeps the Service
// its name reveals, whether the name is new or known from the refresh before.
func TestServicesFollowTheClusters(t *testing.T) {
	var names []string
	fq := &fakeQuerier{answers: func(q string) Vector {
		if !strings.Contains(q, "envoy_cluster_upstream_rq_total") {
			return nil
		}
		var v Vector
		for _, n := range names {
			v = append(v, sample(map[string]string{promql.DialectEnvoy.Cluster: n}, 1))
		}
		return v
	}}
	c := newCollector(t, fq, promql.DialectEnvoy)
	for _, round := range [][]string{
		{"shop_checkout_8080", "shop_cart_8080"},
		{"shop_checkout_8080", "shop_cart_8080"},
		{"shop_checkout_8080", "pay_ledger_9000", "raw-cluster"},
		{"pay_ledger_9000"},
		{"shop_cart_8080", "pay_ledger_9000"},
	} {
		names = round
		f, err := c.Frame(context.Background(), time.Unix(1000, 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Rows) != len(round) {
			t.Fatalf("clusters %q: rows %+v", round, f.Rows)
		}
		for _, r := range f.Rows {
			ns, svc, _ := NamingAuto.Service(r.Name)
			if r.Namespace != ns || r.Service != svc {
				t.Errorf("clusters %q: row %s shows %s/%s, want %s/%s", round, r.Name, r.Namespace, r.Service, ns, svc)
			}
		}
	}
}

// failingAlerts answers the frame queries with clusterAnswers and fails the alerts query.
type failingAlerts struct{ fakeQuerier }

func (f *failingAlerts) Query(ctx context.Context, q string, at time.Time) (Result, error) {
	if strings.HasPrefix(q, promql.MetricAlerts+"{") {
		return Result{}, errors.New("alerts unavailable")
	}
	return f.fakeQuerier.Query(ctx, q, at)
}

// TestAlertsComeWithTheFrame checks that a collector told to ask for alerts reads them with every
// refresh, firing ones first, keeps only pending and firing ones, and renders them in JSON; that
// a failed alerts query leaves the frame whole but without alerts; and that a collector not told
// to ask sends no alerts query.
func TestAlertsComeWithTheFrame(t *testing.T) {
	d := promql.DialectEnvoy
	answers := clusterAnswers(d, 2)
	fq := &fakeQuerier{answers: func(q string) Vector {
		if !strings.HasPrefix(q, promql.MetricAlerts+"{") {
			return answers(q)
		}
		alert := func(name, state, cluster string) Sample {
			return sample(map[string]string{"__name__": "ALERTS", "alertname": name, "alertstate": state, "severity": "warning",
				"envoy_cluster_name": cluster, "envoy_namespace": "team-a"}, 1)
		}
		return Vector{alert("B", "pending", "c0"), alert("A", "firing", "c1"), alert("C", "resolved", "c0"), alert("D", "firing", "c0")}
	}}
	c, err := NewCollector(fq, Config{Dialect: d, Selector: promql.Namespace("team-a"), Window: time.Minute, Alerts: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Frame(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range f.Alerts {
		got = append(got, a.Name+" "+a.State+" "+a.Cluster+" "+a.Namespace)
	}
	want := []string{"D firing c0 team-a", "A firing c1 team-a", "B pending c0 team-a"}
	if !f.AlertsKnown || !slices.Equal(got, want) {
		t.Errorf("alerts %q (known %v), want %q", got, f.AlertsKnown, want)
	}
	if firing, pending, critical := f.AlertCount(); firing != 2 || pending != 1 || critical != 0 {
		t.Errorf("AlertCount = %d, %d, %d", firing, pending, critical)
	}
	var out struct {
		Alerts []map[string]string `json:"alerts"`
	}
	var b bytes.Buffer
	if err := RenderJSON(&b, f); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil || len(out.Alerts) != 3 || out.Alerts[0]["alertname"] != "D" || out.Alerts[0]["envoy_namespace"] != "team-a" {
		t.Errorf("JSON alerts %v (%v):\n%s", out.Alerts, err, b.String())
	}

	fail := &failingAlerts{fakeQuerier{answers: answers}}
	c, err = NewCollector(fail, Config{Dialect: d, Selector: promql.Namespace("team-a"), Window: time.Minute, Alerts: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err = c.Frame(context.Background(), time.Now())
	if err != nil || f.AlertsKnown || len(f.Rows) == 0 {
		t.Errorf("with the alerts query failing: %d rows, alerts known %v, error %v", len(f.Rows), f.AlertsKnown, err)
	}
	b.Reset()
	if err := RenderJSON(&b, f); err != nil || strings.Contains(b.String(), `"alerts"`) {
		t.Errorf("JSON of a frame without known alerts has them (%v):\n%s", err, b.String())
	}

	quiet := &fakeQuerier{answers: answers}
	if _, err := newCollector(t, quiet, d).Frame(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, q := range quiet.seen {
		if strings.Contains(q, promql.MetricAlerts) {
			t.Errorf("a collector without Alerts asked %q", q)
		}
	}
}

// TestErrorRatesFold pins how the 4xx and 5xx rates are folded from both sources: a class
// without a series is 0 when the cluster had responses, and both are unknown without responses;
// from the rules, 5xx is responses less non-5xx, and an absent 4xx record (rules that predate
// it) is unknown, never 0.
func TestErrorRatesFold(t *testing.T) {
	envoy, istio := promql.DialectEnvoy, promql.DialectIstio
	noClass4xx := envoy
	noClass4xx.Class4xx = ""
	type class struct {
		label string
		rps   float64
	}
	for _, tc := range []struct {
		name         string
		d            promql.Dialect
		classes      []class
		want4, want5 float64
		success      float64
	}{
		{"envoy, every class", envoy, []class{{"2", 90}, {"4", 8}, {"5", 2}}, 8, 2, 0.98},
		{"istio, every class", istio, []class{{"2xx", 90}, {"4xx", 8}, {"5xx", 2}}, 8, 2, 0.98},
		{"responses and no error series", envoy, []class{{"2", 5}}, 0, 0, 1},
		{"only 5xx", envoy, []class{{"5", 3}}, 0, 3, 0},
		{"a class Istio does not call 4xx", istio, []class{{"2xx", 1}, {"4", 1}}, 0, 0, 1},
		{"idle: counters, no responses in the window", envoy, []class{{"2", 0}, {"5", 0}}, NoData, NoData, NoData},
		{"no class series at all", envoy, nil, NoData, NoData, NoData},
		{"NaN from Prometheus", envoy, []class{{"2", math.NaN()}, {"5", 1}}, NoData, NoData, NoData},
		{"a dialect without a 4xx class", noClass4xx, []class{{"2", 9}, {"4", 1}}, NoData, 0, 1},
		{"infinite responses", envoy, []class{{"2", math.Inf(1)}}, math.Inf(1), math.Inf(1), NoData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cs classSums
			for _, c := range tc.classes {
				cs.add(tc.d, c.label, c.rps)
			}
			got4, got5 := cs.rates(tc.d)
			if !sameNumber(got4, tc.want4) || !sameNumber(got5, tc.want5) || !sameNumber(cs.success(), tc.success) {
				t.Errorf("4xx %v/s, 5xx %v/s, success %v; want %v, %v, %v", got4, got5, cs.success(), tc.want4, tc.want5, tc.success)
			}
		})
	}
	for _, tc := range []struct {
		name                      string
		responses, not5xx, client float64
		want4, want5              float64
	}{
		{"errors of both classes", 40, 39.94, 0.5, 0.5, 0.06},
		{"no errors: the 4xx rule recorded 0", 3, 3, 0, 0, 0},
		{"rules that predate the 4xx record", 10, 9, NoData, NoData, 1},
		{"idle", 0, 0, 0, NoData, NoData},
		{"no responses recorded", NoData, NoData, NoData, NoData, NoData},
		{"rounding a hair below zero is none", 0.3, 0.30000000000000004, 0, 0, 0},
		{"more non-5xx than responses is not hidden", 1, 2, 0, 0, -1},
	} {
		t.Run("rules/"+tc.name, func(t *testing.T) {
			got4, got5 := recordedErrors(tc.responses, tc.not5xx, tc.client)
			if !sameNumber(got4, tc.want4) || !sameNumber(got5, tc.want5) {
				t.Errorf("4xx %v/s, 5xx %v/s; want %v, %v", got4, got5, tc.want4, tc.want5)
			}
		})
	}
	// A difference below zero beyond rounding is invalid data, not a rate.
	r := Row{RPS: 1, Success: 1, P50: 1, P90: 1, P99: 1, Active: 0, Err4xx: 0, Err5xx: -1}
	checkRow(&r)
	if Known(r.Err5xx) || !r.Invalid.Has(FieldErr5xx) || !slices.Equal(r.Invalid.Names(), []string{"rps_5xx"}) {
		t.Errorf("negative 5xx rate: %v, invalid %v", r.Err5xx, r.Invalid.Names())
	}
}

// sameNumber compares two numbers where no data equals no data.
func sameNumber(a, b float64) bool {
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	if !Known(a) || !Known(b) {
		return !Known(a) && !Known(b)
	}
	return math.Abs(a-b) <= 1e-12*max(1, math.Abs(b))
}
