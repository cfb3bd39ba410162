package envoysim

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// TestNativeQueriesReadTheSimulatorsBounds: where latency arrives as a native histogram, the
// drill-down's query reads the rates below promql.EnvoyBoundsMs, which must be the classic bounds
// the simulator exposes (Envoy's defaults), or the two kinds of latency would not compare.
func TestNativeQueriesReadTheSimulatorsBounds(t *testing.T) {
	if !slices.Equal(promql.EnvoyBoundsMs, BucketBounds()) {
		t.Errorf("promql.EnvoyBoundsMs %v, the simulator's bounds %v", promql.EnvoyBoundsMs, BucketBounds())
	}
}

// decodeProtobuf reads a delimited protobuf exposition with Prometheus' own decoder.
func decodeProtobuf(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	dec := expfmt.NewDecoder(bytes.NewReader(b), ProtobufFormat)
	out := map[string]*dto.MetricFamily{}
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[mf.GetName()]; dup {
			t.Errorf("family %s twice", mf.GetName())
		}
		out[mf.GetName()] = &mf
	}
}

// nativeBound is the upper bound of native bucket i.
func nativeBound(i int32) float64 { return math.Exp2(float64(i) / float64(int(1)<<NativeSchema)) }

// TestProtobufHasNativeHistograms decodes one pod's protobuf exposition: the same families and
// values as the text, and every latency histogram native as well as classic, its exponential
// buckets adding up to the count and placing each quantile of the truth in the bucket where the
// counts reach it.
func TestProtobufHasNativeHistograms(t *testing.T) {
	f := testFleet()
	at := t0.Add(time.Hour)
	var buf bytes.Buffer
	if err := f.Protobuf(&buf, "envoy-b", at, Stock); err != nil {
		t.Fatal(err)
	}
	fams := decodeProtobuf(t, buf.Bytes())
	text := exposeParsed(t, f, "envoy-b", at, Stock)
	for name, typ := range text.types {
		if fams[name] == nil || fams[name].GetType().String() != map[string]string{"counter": "COUNTER", "gauge": "GAUGE", "histogram": "HISTOGRAM"}[string(typ)] {
			t.Errorf("family %s (%s) is %v in protobuf", name, typ, fams[name].GetType())
		}
	}
	if got := fams["envoy_cluster_upstream_rq_total"].GetMetric()[0].GetCounter().GetValue(); got != text.mustValue(t, "envoy_cluster_upstream_rq_total", "envoy_cluster_name", "clean") {
		t.Errorf("first counter %v differs from the text", got)
	}
	hists := fams["envoy_cluster_upstream_rq_time"].GetMetric()
	if len(hists) == 0 {
		t.Fatal("no latency histograms")
	}
	for _, m := range hists {
		name := m.GetLabel()[0].GetValue()
		c, _ := f.Cluster(name)
		h := m.GetHistogram()
		if h.GetSchema() != NativeSchema || len(h.GetPositiveSpan()) != 1 || len(h.GetBucket()) != len(bounds) {
			t.Errorf("%s: schema %d, spans %v, %d classic buckets", name, h.GetSchema(), h.GetPositiveSpan(), len(h.GetBucket()))
			continue
		}
		// Each native bucket floors its own share: at most one request per bucket fewer.
		if want := text.mustValue(t, "envoy_cluster_upstream_rq_time_count", "envoy_cluster_name", name); float64(h.GetSampleCount()) > want ||
			float64(h.GetSampleCount()) < want-float64(len(h.GetPositiveDelta())+1) {
			t.Errorf("%s: count %d, text %v", name, h.GetSampleCount(), want)
		}
		// Absolute counts from the deltas, with their bounds.
		span := h.GetPositiveSpan()[0]
		var counts []uint64
		var count int64
		total := h.GetZeroCount()
		for _, d := range h.GetPositiveDelta() {
			count += d
			if count < 0 {
				t.Fatalf("%s: negative bucket", name)
			}
			counts = append(counts, uint64(count))
			total += uint64(count)
		}
		if total != h.GetSampleCount() || len(counts) != int(span.GetLength()) {
			t.Errorf("%s: buckets add up to %d of %d", name, total, h.GetSampleCount())
		}
		for _, q := range []float64{0.5, 0.9, 0.99} {
			want := c.Quantile(q)
			rank := q * float64(h.GetSampleCount())
			seen := float64(h.GetZeroCount())
			for i, n := range counts {
				seen += float64(n)
				if seen < rank {
					continue
				}
				lo, hi := nativeBound(span.GetOffset()+int32(i)-1), nativeBound(span.GetOffset()+int32(i))
				// One request either way may move the rank over a bound.
				if want < lo*0.99 || want > hi*1.01 {
					t.Errorf("%s: p%v %v ms is not in the bucket (%v, %v] where the counts reach it", name, q*100, want, lo, hi)
				}
				break
			}
		}
	}
}

// TestHandlerNegotiatesProtobuf: the handler serves protobuf to a scraper that asks for it, as
// Prometheus does when it scrapes native histograms, and the text format otherwise.
func TestHandlerNegotiatesProtobuf(t *testing.T) {
	f := testFleet()
	srv := httptest.NewServer(f.Handler("envoy-a", Stock, func() time.Time { return t0.Add(time.Hour) }))
	defer srv.Close()
	get := func(accept string) (string, []byte) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/stats/prometheus", nil)
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Get("Content-Type"), b
	}
	// Prometheus 3's Accept header with PrometheusProto first.
	ct, b := get("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2")
	if ct != string(ProtobufFormat) || len(decodeProtobuf(t, b)) == 0 {
		t.Errorf("protobuf asked, %q served", ct)
	}
	for _, accept := range []string{"", "text/plain;version=0.0.4;q=1,*/*;q=0.1"} {
		if ct, b := get(accept); ct != "text/plain; charset=UTF-8" || !bytes.HasPrefix(b, []byte("# TYPE")) {
			t.Errorf("Accept %q: %q served", accept, ct)
		}
	}
}

// TestNativeBucketsNeverShrink: from one scrape to the next, no native bucket of any cluster
// holds fewer requests, or Prometheus would take it for a counter reset and a rate would count
// the whole histogram again.
func TestNativeBucketsNeverShrink(t *testing.T) {
	f := testFleet()
	last := map[string][]uint64{}
	for s := 0; s < 120; s++ {
		at := t0.Add(time.Hour + time.Duration(s)*time.Second)
		var buf bytes.Buffer
		if err := f.Protobuf(&buf, "envoy-b", at, Stock); err != nil {
			t.Fatal(err)
		}
		for _, m := range decodeProtobuf(t, buf.Bytes())["envoy_cluster_upstream_rq_time"].GetMetric() {
			h := m.GetHistogram()
			name := m.GetLabel()[0].GetValue()
			counts := []uint64{h.GetZeroCount()}
			var c int64
			for _, d := range h.GetPositiveDelta() {
				c += d
				counts = append(counts, uint64(c))
			}
			if prev, ok := last[name]; ok && len(prev) == len(counts) {
				for i := range counts {
					if counts[i] < prev[i] {
						t.Fatalf("%s at +%ds: bucket %d went from %d to %d", name, s, i, prev[i], counts[i])
					}
				}
			}
			last[name] = counts
		}
	}
	if len(last) == 0 {
		t.Fatal("no native histograms")
	}
}
