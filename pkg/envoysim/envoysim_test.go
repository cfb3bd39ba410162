package envoysim

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

const (
	weirdName = `we"ird\name` + "\n" + `x`
	istioName = "outbound|9080||reviews.default.svc.cluster.local"
)

// testFleet has a busy cluster with every kind of response, a name that needs escaping, an Istio
// style name, an error-free cluster, an idle one and one without a latency histogram.
func testFleet() *Fleet {
	return &Fleet{
		Start: t0,
		Pods:  []string{"envoy-a", "envoy-b", "envoy-c"},
		Clusters: []Cluster{
			{
				Name: "shop_checkout_8080", RPS: 120, ErrorRatio: 0.05, ClientErrorRatio: 0.1, TimeoutRatio: 0.02,
				Latency: Latency{{Weight: 0.5, LoMs: 10, HiMs: 25}, {Weight: 0.4, LoMs: 25, HiMs: 50}, {Weight: 0.1, LoMs: 100, HiMs: 250}},
				Active:  7, RetryRatio: 0.03, PendingOverflowRatio: 0.01, PerTryTimeoutRatio: 0.02, RetryOverflowRatio: 0.005,
				RxResetRatio: 0.004, TxResetRatio: 0.002, EjectionsActive: 1, MembersHealthy: 2, MembersTotal: 3, BreakersOpen: 1,
			},
			{Name: weirdName, RPS: 30, ErrorRatio: 0.2, Latency: Uniform(1, 5), Active: 2},
			{Name: istioName, RPS: 9, ClientErrorRatio: 0.01, Latency: Uniform(50, 100)},
			{Name: "clean", RPS: 50, Latency: Latency{{Weight: 1, LoMs: 0, HiMs: 0.5}}},
			{Name: "idle", Latency: Uniform(1, 5), MembersHealthy: 1, MembersTotal: 1},
			{Name: "no-histogram", RPS: 6},
		},
		Listeners: []Listener{
			{Prefix: "ingress_http", RPS: 200, ErrorRatio: 0.01, ClientErrorRatio: 0.02, Latency: Uniform(5, 10), Active: 4, Connections: 11},
			{Prefix: "admin", Connections: 1},
		},
	}
}

type sample struct {
	lbls labels.Labels
	v    float64
}

type parsed struct {
	types   map[string]model.MetricType
	samples []sample
	byKey   map[string]float64
}

// parse reads an exposition with Prometheus' scrape parser.
func parse(t testing.TB, b []byte) parsed {
	t.Helper()
	p, err := textparse.New(b, "text/plain; charset=UTF-8", labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := parsed{types: map[string]model.MetricType{}, byKey: map[string]float64{}}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		switch et {
		case textparse.EntryType:
			name, typ := p.Type()
			if _, dup := out.types[string(name)]; dup {
				t.Errorf("second TYPE line for %s", name)
			}
			out.types[string(name)] = typ
		case textparse.EntrySeries:
			_, ts, v := p.Series()
			if ts != nil {
				t.Errorf("series with a timestamp")
			}
			var l labels.Labels
			p.Labels(&l)
			if _, dup := out.byKey[l.String()]; dup {
				t.Errorf("duplicate series %s", l)
			}
			out.samples = append(out.samples, sample{l, v})
			out.byKey[l.String()] = v
		default:
			t.Errorf("unexpected entry %v", et)
		}
	}
	return out
}

func expose(t testing.TB, f *Fleet, pod string, at time.Time, d Dialect) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := f.Exposition(&buf, pod, at, d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func exposeParsed(t testing.TB, f *Fleet, pod string, at time.Time, d Dialect) parsed {
	t.Helper()
	return parse(t, expose(t, f, pod, at, d))
}

// value returns the value of the series name{ls...}, and whether it exists.
func (p parsed) value(name string, ls ...string) (float64, bool) {
	v, ok := p.byKey[labels.FromStrings(append([]string{"__name__", name}, ls...)...).String()]
	return v, ok
}

func (p parsed) mustValue(t testing.TB, name string, ls ...string) float64 {
	t.Helper()
	v, ok := p.value(name, ls...)
	if !ok {
		t.Fatalf("no series %s%v", name, ls)
	}
	return v
}

// sumBy sums the series called name with the label lbl equal to value.
func (p parsed) sumBy(name, lbl, value string, match ...string) float64 {
	var sum float64
	for _, s := range p.samples {
		if s.lbls.Get("__name__") != name || s.lbls.Get(lbl) != value {
			continue
		}
		ok := true
		for i := 0; i+1 < len(match); i += 2 {
			ok = ok && s.lbls.Get(match[i]) == match[i+1]
		}
		if ok {
			sum += s.v
		}
	}
	return sum
}

func TestExpositionNamesAndTypes(t *testing.T) {
	f := testFleet()
	at := t0.Add(time.Hour)
	for _, d := range []Dialect{Stock, Istio} {
		t.Run(d.String(), func(t *testing.T) {
			p := exposeParsed(t, f, "envoy-b", at, d)
			cl, ll := d.ClusterLabel(), d.ListenerLabel()
			wantTypes := map[string]model.MetricType{
				"envoy_cluster_upstream_rq_total":                  model.MetricTypeCounter,
				"envoy_cluster_upstream_rq_timeout":                model.MetricTypeCounter,
				"envoy_cluster_upstream_rq_per_try_timeout":        model.MetricTypeCounter,
				"envoy_cluster_upstream_rq_retry":                  model.MetricTypeCounter,
				"envoy_cluster_upstream_rq_retry_overflow":         model.MetricTypeCounter,
				"envoy_cluster_upstream_rq_pending_overflow":       model.MetricTypeCounter,
				"envoy_cluster_upstream_rq_rx_reset":               model.MetricTypeCounter,
				"envoy_cluster_upstream_rq_tx_reset":               model.MetricTypeCounter,
				"envoy_http_downstream_rq_total":                   model.MetricTypeCounter,
				"envoy_cluster_upstream_rq_active":                 model.MetricTypeGauge,
				"envoy_cluster_outlier_detection_ejections_active": model.MetricTypeGauge,
				"envoy_cluster_membership_healthy":                 model.MetricTypeGauge,
				"envoy_cluster_membership_total":                   model.MetricTypeGauge,
				"envoy_cluster_circuit_breakers_default_rq_open":   model.MetricTypeGauge,
				"envoy_http_downstream_rq_active":                  model.MetricTypeGauge,
				"envoy_http_downstream_cx_active":                  model.MetricTypeGauge,
				"envoy_server_live":                                model.MetricTypeGauge,
				"envoy_server_uptime":                              model.MetricTypeGauge,
				"envoy_cluster_upstream_rq_time":                   model.MetricTypeHistogram,
				"envoy_http_downstream_rq_time":                    model.MetricTypeHistogram,
				"envoy_cluster_upstream_rq":                        model.MetricTypeCounter,
			}
			if d == Stock {
				wantTypes["envoy_cluster_upstream_rq_xx"] = model.MetricTypeCounter
				wantTypes["envoy_http_downstream_rq_xx"] = model.MetricTypeCounter
			} else {
				for _, code := range []string{"200", "404", "503", "504"} {
					wantTypes["envoy_cluster_upstream_rq_"+code] = model.MetricTypeCounter
				}
				wantTypes["envoy_http_downstream_rq"] = model.MetricTypeCounter
			}
			for name, typ := range wantTypes {
				if got, ok := p.types[name]; !ok || got != typ {
					t.Errorf("TYPE of %s = %q, want %q", name, got, typ)
				}
			}
			for name, typ := range p.types {
				if typ == model.MetricTypeCounter && strings.HasSuffix(name, "_total") && name != "envoy_cluster_upstream_rq_total" &&
					name != "envoy_http_downstream_rq_total" {
					t.Errorf("unexpected _total family %s", name)
				}
			}

			// Labels.
			for _, s := range p.samples {
				name := s.lbls.Get("__name__")
				switch {
				case strings.HasPrefix(name, "envoy_cluster_manager_"), strings.HasPrefix(name, "envoy_server_"):
					if s.lbls.Len() != 1 {
						t.Errorf("server series with labels: %s", s.lbls)
					}
				case strings.HasPrefix(name, "envoy_cluster_"):
					if s.lbls.Get(cl) == "" {
						t.Errorf("%s has no %s", s.lbls, cl)
					}
				case strings.HasPrefix(name, "envoy_http_"):
					if s.lbls.Get(ll) == "" {
						t.Errorf("%s has no %s", s.lbls, ll)
					}
				}
				if d == Istio && (s.lbls.Has("envoy_cluster_name") || s.lbls.Has("envoy_response_code_class") ||
					s.lbls.Has("envoy_http_conn_manager_prefix") || s.lbls.Has("envoy_response_code")) {
					t.Errorf("stock label in Istio dialect: %s", s.lbls)
				}
				if d == Stock && (s.lbls.Has("cluster_name") || s.lbls.Has("response_code_class")) {
					t.Errorf("Istio label in stock dialect: %s", s.lbls)
				}
			}

			// Classes and codes of the busy cluster, which has all of them.
			c := "shop_checkout_8080"
			if d == Stock {
				for _, class := range []string{"2", "4", "5"} {
					p.mustValue(t, "envoy_cluster_upstream_rq_xx", "envoy_response_code_class", class, cl, c)
				}
				for _, code := range []string{"200", "404", "503", "504"} {
					p.mustValue(t, "envoy_cluster_upstream_rq", "envoy_response_code", code, cl, c)
				}
				for class := 1; class <= 5; class++ {
					p.mustValue(t, "envoy_http_downstream_rq_xx", "envoy_response_code_class", strconv.Itoa(class), ll, "ingress_http")
				}
			} else {
				for _, class := range []string{"2xx", "4xx", "5xx"} {
					p.mustValue(t, "envoy_cluster_upstream_rq", "response_code_class", class, cl, c)
				}
				for _, code := range []string{"200", "404", "503", "504"} {
					p.mustValue(t, "envoy_cluster_upstream_rq_"+code, cl, c)
				}
				for class := 1; class <= 5; class++ {
					p.mustValue(t, "envoy_http_downstream_rq", "response_code_class", strconv.Itoa(class)+"xx", ll, "ingress_http")
				}
			}
			// Class and code counters add up.
			classes := p.sumBy(d.ClassMetric(), cl, c)
			codes := p.sumBy("envoy_cluster_upstream_rq", cl, c, "envoy_response_code_class", "")
			if d == Istio {
				codes = 0
				for _, code := range []string{"200", "404", "503", "504"} {
					codes += p.mustValue(t, "envoy_cluster_upstream_rq_"+code, cl, c)
				}
			}
			if classes != codes || classes == 0 {
				t.Errorf("classes add up to %v, codes to %v", classes, codes)
			}
			if total := p.mustValue(t, "envoy_cluster_upstream_rq_total", cl, c); classes > total || total-classes > 3 {
				t.Errorf("rq_total %v, classes %v", total, classes)
			}

			if v := p.mustValue(t, "envoy_server_live"); v != 1 {
				t.Errorf("envoy_server_live = %v", v)
			}
			if v := p.mustValue(t, "envoy_server_uptime"); v != 3600 {
				t.Errorf("envoy_server_uptime = %v", v)
			}
			if v := p.mustValue(t, "envoy_cluster_manager_cds_version"); v != float64(cdsVersion) {
				t.Errorf("envoy_cluster_manager_cds_version = %v", v)
			}
			// Cluster gauges are the same in every pod.
			for name, want := range map[string]float64{
				"envoy_cluster_membership_healthy": 2, "envoy_cluster_membership_total": 3,
				"envoy_cluster_outlier_detection_ejections_active": 1, "envoy_cluster_circuit_breakers_default_rq_open": 1,
			} {
				if v := p.mustValue(t, name, cl, c); v != want {
					t.Errorf("%s = %v, want %v", name, v, want)
				}
			}
		})
	}
}

func TestExpositionText(t *testing.T) {
	f := testFleet()
	stock := string(expose(t, f, "envoy-a", t0.Add(time.Minute), Stock))
	istio := string(expose(t, f, "envoy-a", t0.Add(time.Minute), Istio))
	for _, want := range []string{
		"# TYPE envoy_cluster_upstream_rq_xx counter\n",
		`envoy_cluster_upstream_rq_xx{envoy_response_code_class="5",envoy_cluster_name="we\"ird\\name\nx"} `,
		`envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="shop_checkout_8080"} `,
		`envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="shop_checkout_8080",le="0.5"} 0` + "\n",
		`envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="shop_checkout_8080",le="1800000"} `,
		`envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="shop_checkout_8080",le="+Inf"} `,
		"envoy_server_live{} 1\n",
		"envoy_cluster_manager_cds_version{} 13237225503670494420\n",
		"\n\n# TYPE ",
	} {
		if !strings.Contains(stock, want) {
			t.Errorf("stock exposition lacks %q", want)
		}
	}
	for _, want := range []string{
		"# TYPE envoy_cluster_upstream_rq counter\n",
		`envoy_cluster_upstream_rq{response_code_class="5xx",cluster_name="shop_checkout_8080"} `,
		`envoy_cluster_upstream_rq_503{cluster_name="shop_checkout_8080"} `,
		`envoy_cluster_upstream_rq_total{cluster_name="outbound|9080||reviews.default.svc.cluster.local"} `,
		`envoy_http_downstream_rq_time_bucket{http_conn_manager_prefix="ingress_http",le="5"} `,
	} {
		if !strings.Contains(istio, want) {
			t.Errorf("istio exposition lacks %q", want)
		}
	}
	if strings.Contains(istio, "\n\n") {
		t.Error("istio exposition has blank lines")
	}
	if !strings.HasSuffix(stock, "\n") || strings.HasSuffix(stock, "\n\n") {
		t.Error("stock exposition does not end with exactly one newline")
	}
	// TYPE lines precede their families, counters before gauges before histograms.
	var types []string
	for line := range strings.Lines(stock) {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			types = append(types, strings.Fields(rest)[1])
		}
	}
	order := map[string]int{"counter": 0, "gauge": 1, "histogram": 2}
	if !slices.IsSortedFunc(types, func(a, b string) int { return order[a] - order[b] }) {
		t.Errorf("families are not grouped by type: %v", types)
	}
}

func TestEscapedNamesSurviveParsing(t *testing.T) {
	f := testFleet()
	for _, d := range []Dialect{Stock, Istio} {
		p := exposeParsed(t, f, "envoy-a", t0.Add(time.Hour), d)
		for _, name := range []string{weirdName, istioName} {
			if v := p.mustValue(t, "envoy_cluster_upstream_rq_total", d.ClusterLabel(), name); v <= 0 {
				t.Errorf("%s: rq_total of %q = %v", d, name, v)
			}
		}
	}
}

func TestSeriesAppearOnFirstUse(t *testing.T) {
	f := testFleet()
	for _, d := range []Dialect{Stock, Istio} {
		t.Run(d.String(), func(t *testing.T) {
			cl := d.ClusterLabel()
			p := exposeParsed(t, f, "envoy-a", t0.Add(time.Hour), d)
			has := func(name, cluster string) bool {
				for _, s := range p.samples {
					if s.lbls.Get(cl) == cluster && strings.HasPrefix(s.lbls.Get("__name__"), name) {
						return true
					}
				}
				return false
			}
			count := func(name, cluster string, match ...string) int {
				n := 0
				for _, s := range p.samples {
					if s.lbls.Get("__name__") == name && s.lbls.Get(cl) == cluster {
						ok := true
						for i := 0; i+1 < len(match); i += 2 {
							ok = ok && s.lbls.Get(match[i]) == match[i+1]
						}
						if ok {
							n++
						}
					}
				}
				return n
			}
			// A cluster that never failed has no 5xx (and no 4xx) series.
			if n := count(d.ClassMetric(), "clean", d.ClassLabel(), d.Class(5)); n != 0 {
				t.Errorf("clean cluster has %d 5xx series", n)
			}
			if n := count(d.ClassMetric(), "clean"); n != 1 {
				t.Errorf("clean cluster has %d class series, want 1 (2xx)", n)
			}
			if d == Istio && (has("envoy_cluster_upstream_rq_503", "clean") || has("envoy_cluster_upstream_rq_404", "clean")) {
				t.Error("clean cluster has error code series")
			}
			if d == Stock && count("envoy_cluster_upstream_rq", "clean") != 1 {
				t.Error("clean cluster has error code series")
			}
			// The idle cluster exists with zero requests but has no class, code or latency series.
			if v := p.mustValue(t, "envoy_cluster_upstream_rq_total", cl, "idle"); v != 0 {
				t.Errorf("idle rq_total = %v", v)
			}
			if n := count(d.ClassMetric(), "idle"); n != 0 {
				t.Errorf("idle cluster has %d class series", n)
			}
			for _, name := range []string{"envoy_cluster_upstream_rq_2", "envoy_cluster_upstream_rq_5", "envoy_cluster_upstream_rq_time_"} {
				if has(name, "idle") {
					t.Errorf("idle cluster has %s series", name)
				}
			}
			if v := p.mustValue(t, "envoy_cluster_membership_healthy", cl, "idle"); v != 1 {
				t.Errorf("idle membership_healthy = %v", v)
			}
			// A cluster without a latency distribution has traffic but no histogram.
			if has("envoy_cluster_upstream_rq_time_", "no-histogram") {
				t.Error("no-histogram cluster has a histogram")
			}
			// Downstream classes exist from the start.
			q := exposeParsed(t, f, "envoy-a", t0, d)
			for class := 1; class <= 5; class++ {
				q.mustValue(t, map[Dialect]string{Stock: "envoy_http_downstream_rq_xx", Istio: "envoy_http_downstream_rq"}[d],
					d.ClassLabel(), d.Class(class), d.ListenerLabel(), "admin")
			}
			q.mustValue(t, "envoy_http_downstream_rq_time_count", d.ListenerLabel(), "admin")
			if q.sumBy("envoy_cluster_upstream_rq_total", cl, "shop_checkout_8080") != 0 {
				t.Error("the busy cluster has requests at start")
			}
			p = q
			if n := count(d.ClassMetric(), "shop_checkout_8080"); n != 0 {
				t.Errorf("at start the busy cluster has %d class series", n)
			}
		})
	}
}

func TestSeriesAppearWhenCountReachesOne(t *testing.T) {
	f := &Fleet{Start: t0, Pods: []string{"a", "b"}, Clusters: []Cluster{{Name: "c", RPS: 2, ErrorRatio: 0.1}}}
	// 0.1 5xx/s per pod: the first 5xx is counted after 10s.
	p := exposeParsed(t, f, "a", t0.Add(9900*time.Millisecond), Stock)
	if _, ok := p.value("envoy_cluster_upstream_rq_xx", "envoy_response_code_class", "5", "envoy_cluster_name", "c"); ok {
		t.Error("5xx series exists before the first 5xx")
	}
	p = exposeParsed(t, f, "a", t0.Add(10100*time.Millisecond), Stock)
	if v := p.mustValue(t, "envoy_cluster_upstream_rq_xx", "envoy_response_code_class", "5", "envoy_cluster_name", "c"); v != 1 {
		t.Errorf("5xx = %v after the first 5xx", v)
	}
}

func TestSamplesMatchExposition(t *testing.T) {
	f := testFleet()
	for _, d := range []Dialect{Stock, Istio} {
		for _, at := range []time.Time{t0, t0.Add(90 * time.Second), t0.Add(7*time.Hour + 123*time.Millisecond)} {
			p := exposeParsed(t, f, "envoy-c", at, d)
			var got []sample
			if err := f.Samples("envoy-c", at, d, func(l labels.Labels, v float64) { got = append(got, sample{l, v}) }); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(p.samples) {
				t.Fatalf("%s at %s: %d samples, exposition has %d", d, at, len(got), len(p.samples))
			}
			for i := range got {
				if !labels.Equal(got[i].lbls, p.samples[i].lbls) || got[i].v != p.samples[i].v {
					t.Fatalf("%s sample %d: %s %v, exposition has %s %v", d, i, got[i].lbls, got[i].v, p.samples[i].lbls, p.samples[i].v)
				}
			}
		}
	}
}

func TestTargetSamples(t *testing.T) {
	f := &Fleet{Start: t0, Clusters: []Cluster{{Name: "c", RPS: 1}}}
	target := labels.FromStrings("job", "envoy", "pod", "envoy-0", "envoy_cluster_name", "shadow")
	var got []labels.Labels
	err := f.TargetSamples("any", t0.Add(time.Minute), Stock, target, func(l labels.Labels, _ float64) { got = append(got, l) })
	if err != nil {
		t.Fatal(err)
	}
	want := labels.FromStrings("__name__", "envoy_cluster_upstream_rq_total", "job", "envoy", "pod", "envoy-0",
		"envoy_cluster_name", "shadow", "exported_envoy_cluster_name", "c")
	if !slices.ContainsFunc(got, func(l labels.Labels) bool { return labels.Equal(l, want) }) {
		t.Errorf("no %s among %d samples", want, len(got))
	}
}

func TestCountersNeverDecrease(t *testing.T) {
	f := testFleet()
	// Waves make the rate vary; counters must still only grow.
	for i := range f.Clusters {
		f.Clusters[i].Wave = 1
	}
	f.Listeners[0].Wave = 0.7
	f.WavePeriod = 40 * time.Second
	for _, d := range []Dialect{Stock, Istio} {
		prev := map[string]float64{}
		for step := range 120 {
			at := t0.Add(time.Duration(step) * 1370 * time.Millisecond)
			p := exposeParsed(t, f, "envoy-b", at, d)
			for _, s := range p.samples {
				name := s.lbls.Get("__name__")
				if p.types[name] == model.MetricTypeGauge {
					continue
				}
				key := s.lbls.String()
				if old, ok := prev[key]; ok && s.v < old {
					t.Fatalf("%s: %s went from %v to %v at %s", d, key, old, s.v, at)
				}
				prev[key] = s.v
			}
			for key := range prev {
				if _, ok := p.byKey[key]; !ok {
					t.Fatalf("%s: %s disappeared at %s", d, key, at)
				}
			}
		}
	}
}

// histograms returns the buckets (by le) and counts of each histogram series in p.
func histograms(t *testing.T, p parsed, name string) map[string][]sample {
	out := map[string][]sample{}
	for _, s := range p.samples {
		if s.lbls.Get("__name__") != name+"_bucket" {
			continue
		}
		key := labels.NewBuilder(s.lbls).Del("le", "__name__").Labels().String()
		out[key] = append(out[key], s)
	}
	return out
}

func TestHistogramsAreConsistent(t *testing.T) {
	f := testFleet()
	for _, d := range []Dialect{Stock, Istio} {
		p := exposeParsed(t, f, "envoy-a", t0.Add(5*time.Minute+333*time.Millisecond), d)
		for _, name := range []string{"envoy_cluster_upstream_rq_time", "envoy_http_downstream_rq_time"} {
			hs := histograms(t, p, name)
			if len(hs) == 0 {
				t.Fatalf("no %s", name)
			}
			for key, buckets := range hs {
				if len(buckets) != numBuckets {
					t.Errorf("%s%s has %d buckets", name, key, len(buckets))
				}
				for i, b := range buckets {
					le, err := strconv.ParseFloat(b.lbls.Get("le"), 64)
					if err != nil {
						t.Fatal(err)
					}
					want := math.Inf(1)
					if i < len(bounds) {
						want = bounds[i]
					}
					if le != want {
						t.Errorf("%s%s bucket %d: le %v, want %v", name, key, i, le, want)
					}
					if i > 0 && b.v < buckets[i-1].v {
						t.Errorf("%s%s: bucket le=%v holds %v, less than the one before", name, key, le, b.v)
					}
				}
				lbl := d.ClusterLabel()
				if name == "envoy_http_downstream_rq_time" {
					lbl = d.ListenerLabel()
				}
				count := p.mustValue(t, name+"_count", lbl, buckets[0].lbls.Get(lbl))
				if inf := buckets[len(buckets)-1].v; inf != count {
					t.Errorf("%s%s: +Inf %v != _count %v", name, key, inf, count)
				}
			}
		}
	}
}

// promQuantile is histogram_quantile's interpolation over cumulative bucket rates.
func promQuantile(q float64, les, counts []float64) float64 {
	n := len(counts)
	rank := q * counts[n-1]
	b := 0
	for b < n-1 && counts[b] < rank {
		b++
	}
	if b == n-1 {
		return les[n-2]
	}
	lo, below := 0.0, 0.0
	if b > 0 {
		lo, below = les[b-1], counts[b-1]
	}
	return lo + (les[b]-lo)*(rank-below)/(counts[b]-below)
}

func TestRatesMatchTruth(t *testing.T) {
	f := testFleet()
	t1 := t0.Add(3*time.Hour + 417*time.Millisecond)
	t2 := t1.Add(60 * time.Second)
	for _, d := range []Dialect{Stock, Istio} {
		t.Run(d.String(), func(t *testing.T) {
			cl := d.ClusterLabel()
			var p1, p2 []parsed
			for _, pod := range f.Pods {
				p1 = append(p1, exposeParsed(t, f, pod, t1, d))
				p2 = append(p2, exposeParsed(t, f, pod, t2, d))
			}
			// rate sums the per-second increase of the selected series over the pods.
			rate := func(name string, match ...string) float64 {
				var delta float64
				for i := range p1 {
					delta += p2[i].sumBy(name, match[0], match[1], match[2:]...) - p1[i].sumBy(name, match[0], match[1], match[2:]...)
				}
				return delta / t2.Sub(t1).Seconds()
			}
			within := func(what string, got, want, tol float64) {
				t.Helper()
				if math.IsNaN(want) != math.IsNaN(got) || math.Abs(got-want) > tol*math.Abs(want) {
					t.Errorf("%s = %v, want %v (±%v%%)", what, got, want, tol*100)
				}
			}
			for _, c := range f.Clusters {
				truth := c.Truth()
				within(c.Name+" rps", rate("envoy_cluster_upstream_rq_total", cl, c.Name), truth.RPS, 0.01)
				all := rate(d.ClassMetric(), cl, c.Name)
				if c.RPS == 0 {
					if !math.IsNaN(truth.Success) || all != 0 {
						t.Errorf("idle %s: success truth %v, responses %v/s", c.Name, truth.Success, all)
					}
					continue
				}
				within(c.Name+" responses", all, truth.RPS, 0.01)
				fail := rate(d.ClassMetric(), cl, c.Name, d.ClassLabel(), d.Class(5))
				within(c.Name+" success", 1-fail/all, truth.Success, 0.01)
				if len(c.Latency) == 0 {
					continue
				}
				within(c.Name+" mean latency", rate("envoy_cluster_upstream_rq_time_sum", cl, c.Name)/rate("envoy_cluster_upstream_rq_time_count", cl, c.Name),
					c.Latency.Mean(), 0.01)
				les := append(slices.Clone(bounds[:]), math.Inf(1))
				var counts []float64
				for i := range les {
					counts = append(counts, rate("envoy_cluster_upstream_rq_time_bucket", cl, c.Name, "le", boundLabel[i]))
				}
				for _, q := range []struct {
					q    float64
					want float64
				}{{0.5, truth.P50}, {0.9, truth.P90}, {0.99, truth.P99}} {
					within(c.Name+" p"+strconv.FormatFloat(q.q*100, 'f', -1, 64), promQuantile(q.q, les, counts), q.want, 0.01)
				}
			}
			for _, l := range f.Listeners {
				within(l.Prefix+" rps", rate("envoy_http_downstream_rq_total", d.ListenerLabel(), l.Prefix), l.Truth().RPS, 0.01)
			}
			// Requests in flight add up over the pods.
			var active float64
			for i := range p2 {
				active += p2[i].sumBy("envoy_cluster_upstream_rq_active", cl, "shop_checkout_8080")
			}
			if active != 7 {
				t.Errorf("rq_active over the pods = %v, want 7", active)
			}
		})
	}
}

func TestWaveRateMatchesRequests(t *testing.T) {
	f := DemoFleet(t0)
	c, ok := f.Cluster("shop_frontend_80")
	if !ok || c.Wave == 0 {
		t.Fatal("demo fleet lacks a waving shop_frontend_80")
	}
	cl := Stock.ClusterLabel()
	t1 := t0.Add(17 * time.Minute)
	rates := map[float64]bool{}
	for k := range 6 {
		a, b := t1.Add(time.Duration(k)*time.Minute), t1.Add(time.Duration(k+1)*time.Minute)
		var delta float64
		for _, pod := range f.Pods {
			delta += exposeParsed(t, f, pod, b, Stock).mustValue(t, "envoy_cluster_upstream_rq_total", cl, c.Name) -
				exposeParsed(t, f, pod, a, Stock).mustValue(t, "envoy_cluster_upstream_rq_total", cl, c.Name)
		}
		want := (f.Requests(c, b) - f.Requests(c, a)) / 60
		if got := delta / 60; math.Abs(got-want) > 0.01*want {
			t.Errorf("rate over minute %d = %v, want %v", k, got, want)
		}
		rates[math.Round(want)] = true
	}
	if len(rates) < 3 {
		t.Errorf("the wave hardly moves the rate: %v", rates)
	}
	// Over many periods the mean is RPS.
	long := 10 * time.Hour
	if got := f.Requests(c, t0.Add(long)) / long.Seconds(); math.Abs(got-c.RPS) > 0.01*c.RPS {
		t.Errorf("mean rate over 10h = %v, want %v", got, c.RPS)
	}
}

func TestQuantile(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		l    Latency
		q    float64
		want float64
	}{
		{"uniform median", Uniform(10, 20), 0.5, 15},
		{"uniform top", Uniform(10, 20), 1, 20},
		{"aligned p50 at a bound", Latency{{0.5, 10, 25}, {0.4, 25, 50}, {0.1, 100, 250}}, 0.5, 25},
		{"aligned p90", Latency{{0.5, 10, 25}, {0.4, 25, 50}, {0.1, 100, 250}}, 0.9, 50},
		{"aligned p99", Latency{{0.5, 10, 25}, {0.4, 25, 50}, {0.1, 100, 250}}, 0.99, 235},
		{"unnormalised weights", Latency{{5, 10, 25}, {4, 25, 50}, {1, 100, 250}}, 0.99, 235},
		{"gap takes its lower end", Latency{{0.5, 0, 10}, {0.5, 100, 200}}, 0.5, 10},
		{"overlap", Latency{{0.5, 0, 10}, {0.5, 5, 15}}, 0.5, 7.5},
		{"point mass", Latency{{0.5, 7, 7}, {0.5, 10, 20}}, 0.3, 7},
		{"after point mass", Latency{{0.5, 7, 7}, {0.5, 10, 20}}, 0.75, 15},
		{"empty", nil, 0.5, nan},
	} {
		got := tc.l.Quantile(tc.q)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-9) {
			t.Errorf("%s: Quantile(%v) = %v, want %v", tc.name, tc.q, got, tc.want)
		}
		if !math.IsNaN(got) && tc.q < 1 {
			if c := tc.l.CDF(got); c < tc.q-1e-9 {
				t.Errorf("%s: CDF(Quantile(%v)) = %v", tc.name, tc.q, c)
			}
		}
	}
	truth := Cluster{RPS: 1, ErrorRatio: 0.25, Latency: Latency{{0.5, 10, 25}, {0.4, 25, 50}, {0.1, 100, 250}}, Active: 2.4}.Truth()
	if truth.P50 != 25 || truth.P90 != 50 || math.Abs(truth.P99-235) > 1e-9 || truth.Success != 0.75 || truth.RPS != 1 || truth.Active != 2 {
		t.Errorf("Truth() = %+v", truth)
	}
	idle := Cluster{Latency: Uniform(1, 2)}.Truth()
	if !math.IsNaN(idle.Success) || !math.IsNaN(idle.P99) || idle.RPS != 0 {
		t.Errorf("idle Truth() = %+v", idle)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Fleet
		want string
	}{
		{"ratios above 1", Fleet{Clusters: []Cluster{{Name: "a", ErrorRatio: 0.7, ClientErrorRatio: 0.4}}}, "exceed 1"},
		{"negative rps", Fleet{Clusters: []Cluster{{Name: "a", RPS: -1}}}, "RPS"},
		{"wave", Fleet{Clusters: []Cluster{{Name: "a", Wave: 2}}}, "Wave"},
		{"duplicate", Fleet{Clusters: []Cluster{{Name: "a"}, {Name: "a"}}}, "twice"},
		{"segment", Fleet{Clusters: []Cluster{{Name: "a", Latency: Latency{{1, 5, 1}}}}}, "HiMs"},
		{"no weight", Fleet{Clusters: []Cluster{{Name: "a", Latency: Latency{{0, 1, 5}}}}}, "no weight"},
		{"nan gauge", Fleet{Clusters: []Cluster{{Name: "a", MembersTotal: math.NaN()}}}, "MembersTotal"},
		{"pods", Fleet{Pods: []string{"p", "p"}}, "twice"},
		{"listener", Fleet{Listeners: []Listener{{Prefix: "x", ErrorRatio: 2}}}, "ErrorRatio"},
		{"no start", Fleet{Clusters: []Cluster{{Name: "a", RPS: 1}}}, "Start"},
	} {
		err := tc.f.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error about %s", tc.name, err, tc.want)
		}
		if err := tc.f.Exposition(io.Discard, "p", t0, Stock); err == nil {
			t.Errorf("%s: Exposition of an invalid fleet succeeded", tc.name)
		}
	}
	if err := DemoFleet(t0).Validate(); err != nil {
		t.Errorf("DemoFleet: %v", err)
	}
	if err := ScaleFleet(t0, 100, 2).Validate(); err != nil {
		t.Errorf("ScaleFleet: %v", err)
	}
	if err := testFleet().Exposition(io.Discard, "stranger", t0, Stock); err == nil {
		t.Error("Exposition for a pod outside the fleet succeeded")
	}
	if err := testFleet().Exposition(io.Discard, "envoy-a", t0, Dialect(7)); err == nil {
		t.Error("Exposition in an unknown dialect succeeded")
	}
}

func TestHandler(t *testing.T) {
	f := testFleet()
	now := t0.Add(10 * time.Minute)
	mux := http.NewServeMux()
	mux.Handle("/envoy-a/", http.StripPrefix("/envoy-a", f.Handler("envoy-a", Istio, func() time.Time { return now })))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	code, ctype, body := get("/envoy-a/stats/prometheus")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("GET /stats/prometheus: %d %q", code, ctype)
	}
	if want := string(expose(t, f, "envoy-a", now, Istio)); body != want {
		t.Error("served text differs from Exposition")
	}
	if code, _, body2 := get("/envoy-a/stats?format=prometheus"); code != http.StatusOK || body2 != body {
		t.Errorf("GET /stats?format=prometheus: %d", code)
	}
	if code, _, body := get("/envoy-a/ready"); code != http.StatusOK || body != "LIVE\n" {
		t.Errorf("GET /ready: %d %q", code, body)
	}
	if code, _, _ := get("/envoy-a/stats"); code != http.StatusNotFound {
		t.Errorf("GET /stats: %d", code)
	}
	resp, err := http.Post(srv.URL+"/envoy-a/stats/prometheus", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func TestDemoFleet(t *testing.T) {
	f := DemoFleet(t0)
	primary, ok1 := f.Cluster("shop_checkout-primary_8080")
	canary, ok2 := f.Cluster("shop_checkout-canary_8080")
	if !ok1 || !ok2 || canary.ErrorRatio <= primary.ErrorRatio {
		t.Error("the demo canary does not fail more than its primary")
	}
	var idle, erroring, slow bool
	for _, c := range f.Clusters {
		tr := c.Truth()
		idle = idle || c.RPS == 0
		erroring = erroring || tr.Success < 0.95
		slow = slow || tr.P99 >= 1000
	}
	if !idle || !erroring || !slow {
		t.Errorf("demo fleet: idle %v, erroring %v, slow %v", idle, erroring, slow)
	}
	p := exposeParsed(t, f, f.Pods[1], t0.Add(time.Hour), Stock)
	if len(p.samples) < 100 {
		t.Errorf("demo exposition has only %d series", len(p.samples))
	}
}

func TestScaleFleetRendersQuickly(t *testing.T) {
	f := ScaleFleet(t0, 5000, 1)
	at := t0.Add(time.Hour)
	var buf bytes.Buffer
	begin := time.Now()
	if err := f.Exposition(&buf, "envoy-0", at, Stock); err != nil {
		t.Fatal(err)
	}
	took := time.Since(begin)
	lines := bytes.Count(buf.Bytes(), []byte("\n"))
	t.Logf("5000 clusters: %d lines, %d bytes in %s", lines, buf.Len(), took)
	p := parse(t, buf.Bytes())
	if len(p.samples) < 100_000 {
		t.Errorf("5000 clusters make only %d series", len(p.samples))
	}
}

func BenchmarkExposition5000(b *testing.B) {
	f := ScaleFleet(t0, 5000, 2)
	at := t0.Add(time.Hour)
	var n int64
	for b.Loop() {
		w := &countingWriter{}
		if err := f.Exposition(w, "envoy-1", at, Stock); err != nil {
			b.Fatal(err)
		}
		n = w.n
	}
	b.SetBytes(n)
}

func BenchmarkSamples5000(b *testing.B) {
	f := ScaleFleet(t0, 5000, 2)
	at := t0.Add(time.Hour)
	var series int
	for b.Loop() {
		series = 0
		if err := f.Samples("envoy-1", at, Istio, func(labels.Labels, float64) { series++ }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(series), "series/op")
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func TestStepIsInTheIntegral(t *testing.T) {
	step := t0.Add(10 * time.Minute)
	c := Cluster{Name: "c", RPS: 10, Latency: Uniform(10, 100), Active: 4, Step: Step{At: step, Factor: 2}}
	f := &Fleet{Start: t0, Clusters: []Cluster{c}, Pods: []string{"envoy-0", "envoy-1"}}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at   time.Duration
		want float64
	}{{5 * time.Minute, 3000}, {10 * time.Minute, 6000}, {20 * time.Minute, 6000 + 20*600}} {
		if got := f.Requests(c, t0.Add(tt.at)); math.Abs(got-tt.want) > 1e-9*tt.want {
			t.Errorf("requests until %v = %v, want %v", tt.at, got, tt.want)
		}
	}
	for _, tt := range []struct {
		from, to time.Duration
		rps      float64
	}{{2 * time.Minute, 5 * time.Minute, 10}, {12 * time.Minute, 15 * time.Minute, 20}, {8 * time.Minute, 12 * time.Minute, 15}} {
		got := f.TruthBetween(c, t0.Add(tt.from), t0.Add(tt.to))
		if math.Abs(got.RPS-tt.rps) > 1e-9*tt.rps || got.Success != 1 || math.IsNaN(got.P99) {
			t.Errorf("truth over %v..%v = %+v, want %v rps", tt.from, tt.to, got, tt.rps)
		}
	}
	if got := f.TruthBetween(c, t0.Add(11*time.Minute), t0.Add(12*time.Minute)).Active; got != 8 {
		t.Errorf("requests in flight after the step = %v, want 8", got)
	}
	// The counters Prometheus scrapes are that integral.
	cl := Stock.ClusterLabel()
	a, b := t0.Add(12*time.Minute), t0.Add(15*time.Minute)
	var delta float64
	for _, pod := range f.Pods {
		delta += exposeParsed(t, f, pod, b, Stock).mustValue(t, "envoy_cluster_upstream_rq_total", cl, c.Name) -
			exposeParsed(t, f, pod, a, Stock).mustValue(t, "envoy_cluster_upstream_rq_total", cl, c.Name)
	}
	if got := delta / b.Sub(a).Seconds(); math.Abs(got-20) > 0.01*20 {
		t.Errorf("scraped rate after the step = %v, want 20", got)
	}
	// A step with a wave keeps the rate the derivative of the requests.
	c.Wave = 0.3
	for _, at := range []time.Duration{9 * time.Minute, 11 * time.Minute} {
		x := t0.Add(at)
		fl := c.flow()
		want := c.RPS * f.level(&fl, x.Sub(t0).Seconds())
		got := (f.Requests(c, x.Add(time.Millisecond)) - f.Requests(c, x.Add(-time.Millisecond))) / 0.002
		if math.Abs(got-want) > 1e-3*want {
			t.Errorf("rate at %v = %v, the level says %v", at, got, want)
		}
	}
	bad := &Fleet{Start: t0, Clusters: []Cluster{{Name: "c", RPS: 1, Step: Step{At: step, Factor: -1}}}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "Step.Factor") {
		t.Errorf("a negative step factor: %v", err)
	}
}
