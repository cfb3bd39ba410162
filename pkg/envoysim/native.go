package envoysim

import (
	"io"
	"math"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// Native histograms. Envoy serves its histograms as Prometheus native histograms over the
// protobuf exposition (envoyproxy/envoy#43366): Prometheus asks for it first in its Accept header
// when it scrapes native histograms, and otherwise gets the text format. [Fleet.Handler] does the
// same, and so does [Fleet.Protobuf]: every family of the text output, in the same order, with
// each latency histogram carrying both Envoy's classic buckets and exponential buckets of schema
// [NativeSchema]. A Prometheus that scrapes native histograms keeps the exponential buckets (the
// series is envoy_cluster_upstream_rq_time, without _bucket); one that does not, the classic ones.
//
// The exponential buckets hold count × CDF(upper bound), as the classic ones do. A quantile
// Prometheus estimates from them is within one bucket of the truth: a factor of 2^(2^-3), about
// 9%, at schema 3, whatever the distribution.

// NativeSchema is the schema of the native histograms: each power of two is split into 2^3
// buckets, each 2^(1/8) ≈ 1.09 times as wide as the previous one.
const NativeSchema = 3

// nativeLowestMs is where the exponential buckets start: a latency at or below it, as the
// uniform segments from 0 ms have, is counted in the zero bucket.
const nativeLowestMs = 1.0 / 1024

// ProtobufFormat is the content type of the delimited protobuf exposition.
var ProtobufFormat = expfmt.NewFormat(expfmt.TypeProtoDelim)

// acceptsProtobuf reports whether an Accept header asks for the delimited protobuf exposition.
func acceptsProtobuf(accept string) bool {
	return strings.Contains(accept, "application/vnd.google.protobuf") &&
		strings.Contains(accept, "proto=io.prometheus.client.MetricFamily") &&
		strings.Contains(accept, "encoding=delimited")
}

// Protobuf writes [Fleet.Exposition]'s families for one pod of f at time at as delimited
// protobuf MetricFamily messages, the latency histograms native and classic at once.
func (f *Fleet) Protobuf(w io.Writer, pod string, at time.Time, d Dialect) error {
	r, err := f.newRenderer(pod, at, d)
	if err != nil {
		return err
	}
	p := &protoSink{enc: expfmt.NewEncoder(w, ProtobufFormat)}
	r.walk(p)
	p.flush()
	return p.err
}

// nativeSink is a sink that takes a histogram of the renderer whole rather than bucket by bucket.
type nativeSink interface {
	histogram(fam *family, ls []label, st *state)
}

// protoSink gathers families as MetricFamily messages and encodes each once it is complete.
type protoSink struct {
	enc expfmt.Encoder
	err error
	cur *dto.MetricFamily
	typ string
	// name is the family a pending cur belongs to: cur is created with its first series.
	name string
	// hist is the histogram the classic series of a histogram family (bucket, sum, count) are
	// filling, for families that are not rendered through histogram.
	hist *dto.Histogram
}

func (p *protoSink) family(name, typ string) {
	p.flush()
	p.name, p.typ, p.cur, p.hist = name, typ, nil, nil
}

func (p *protoSink) flush() {
	if p.cur != nil && len(p.cur.Metric) > 0 && p.err == nil {
		p.err = p.enc.Encode(p.cur)
	}
	p.cur = nil
}

// metric starts a series of the current family.
func (p *protoSink) metric(ls []label) *dto.Metric {
	if p.cur == nil {
		t := map[string]dto.MetricType{"counter": dto.MetricType_COUNTER, "gauge": dto.MetricType_GAUGE, "histogram": dto.MetricType_HISTOGRAM}[p.typ]
		p.cur = &dto.MetricFamily{Name: proto.String(p.name), Type: t.Enum()}
	}
	m := &dto.Metric{Label: make([]*dto.LabelPair, 0, len(ls))}
	for _, l := range ls {
		m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(l.name), Value: proto.String(l.value)})
	}
	p.cur.Metric = append(p.cur.Metric, m)
	return m
}

func (p *protoSink) uint(name string, ls []label, v uint64) {
	if p.typ == "histogram" {
		if p.hist != nil && strings.HasSuffix(name, "_count") {
			p.hist.SampleCount = proto.Uint64(v)
		}
		return
	}
	p.float(name, ls, float64(v))
}

func (p *protoSink) float(name string, ls []label, v float64) {
	switch p.typ {
	case "histogram":
		if p.hist != nil && strings.HasSuffix(name, "_sum") {
			p.hist.SampleSum = proto.Float64(v)
		}
	case "counter":
		p.metric(ls).Counter = &dto.Counter{Value: proto.Float64(v)}
	default:
		p.metric(ls).Gauge = &dto.Gauge{Value: proto.Float64(v)}
	}
}

// bucket adds a classic bucket; the first starts the series. The +Inf bucket is the count.
func (p *protoSink) bucket(_ string, ls []label, i int, v uint64) {
	if i == 0 {
		p.hist = &dto.Histogram{}
		p.metric(ls).Histogram = p.hist
	}
	if i < len(bounds) {
		p.hist.Bucket = append(p.hist.Bucket, &dto.Bucket{CumulativeCount: proto.Uint64(v), UpperBound: proto.Float64(bounds[i])})
	}
}

// histogram adds one of Envoy's latency histograms, classic and native. Both share the message's
// count, which is the native buckets' (nativeBuckets): at most one request per bucket below the
// text exposition's, and the classic buckets are capped at it.
func (p *protoSink) histogram(_ *family, ls []label, st *state) {
	h := &dto.Histogram{SampleSum: proto.Float64(st.sum)}
	count := nativeBuckets(h, st.n, st.latency)
	h.SampleCount = proto.Uint64(count)
	for i, v := range st.buckets[:len(bounds)] {
		h.Bucket = append(h.Bucket, &dto.Bucket{CumulativeCount: proto.Uint64(min(v, count)), UpperBound: proto.Float64(bounds[i])})
	}
	p.metric(ls).Histogram = h
}

// nativeBuckets fills the exponential buckets of h for n requests of latency l, in one span:
// bucket i, with upper bound 2^(i/2^NativeSchema), holds the requests above the previous bound
// and at most its own, and returns their count. Each bucket holds its share of n floored, so
// that no bucket ever shrinks as n grows: Prometheus takes a bucket that shrinks for a counter
// reset, and a rate over it counts the whole histogram again. (Differences of floored
// cumulative counts add up to floor(n) exactly, but a bucket of them shrinks by one now and then.)
func nativeBuckets(h *dto.Histogram, n float64, l Latency) uint64 {
	h.Schema = proto.Int32(NativeSchema)
	h.ZeroThreshold = proto.Float64(nativeLowestMs)
	cdf := func(ms float64) float64 {
		if len(l) == 0 || n <= 0 {
			return 0
		}
		return l.CDF(ms)
	}
	zero := floorU(n * cdf(nativeLowestMs))
	h.ZeroCount = proto.Uint64(zero)
	if len(l) == 0 || n <= 0 || cdf(nativeLowestMs) >= 1 {
		// No request above the zero bucket: an empty span tells a native histogram from a
		// classic one.
		h.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
		return zero
	}
	perOctave := float64(int(1) << NativeSchema)
	index := func(ms float64) int32 { return int32(math.Ceil(math.Log2(ms) * perOctave)) }
	bound := func(i int32) float64 { return math.Exp2(float64(i) / perOctave) }
	lo, hi := l.span()
	first, last := index(max(lo, nativeLowestMs)), index(hi)
	if bound(first-1) <= nativeLowestMs {
		first = index(nativeLowestMs) + 1
	}
	var (
		below = cdf(nativeLowestMs)
		count int64
		total = zero
	)
	for i := first; i <= last; i++ {
		upto := cdf(bound(i))
		if i == last {
			upto = 1
		}
		c := int64(floorU(n * max(0, upto-below)))
		h.PositiveDelta = append(h.PositiveDelta, c-count)
		count, below, total = c, upto, total+uint64(c)
	}
	h.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(first), Length: proto.Uint32(uint32(last - first + 1))}}
	return total
}
