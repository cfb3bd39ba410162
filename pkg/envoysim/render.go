package envoysim

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// codeNames are [Codes] as label values and metric name suffixes.
var codeNames = [...]string{"200", "404", "503", "504"}

// Constant server gauges. cdsVersion exceeds int64, as the hash Envoy prints there often does.
const (
	serverConcurrency = 2
	serverVersion     = 10011081
	cdsVersion        = uint64(13237225503670494420)
)

// Exposition writes Envoy's /stats/prometheus text for one pod of f at time at: counters, then
// gauges, then histograms, each family sorted by name with its series sorted by cluster or
// listener, with TYPE lines and no HELP, as Envoy prints them.
func (f *Fleet) Exposition(w io.Writer, pod string, at time.Time, d Dialect) error {
	r, err := f.newRenderer(pod, at, d)
	if err != nil {
		return err
	}
	t := &textSink{w: w, blank: d == Stock, buf: make([]byte, 0, textBufSize)}
	r.walk(t)
	return t.flush()
}

// Samples calls fn with every series of [Fleet.Exposition] for the same arguments, in the same
// order, as Prometheus' text parser returns them: labels sorted with __name__, and the le label of
// histogram buckets in OpenMetrics float form ("1.0", "1.8e+06", "+Inf"), which is how Prometheus 3
// stores them. fn owns the labels it is given.
func (f *Fleet) Samples(pod string, at time.Time, d Dialect, fn func(lbls labels.Labels, v float64)) error {
	return f.TargetSamples(pod, at, d, labels.EmptyLabels(), fn)
}

// TargetSamples is [Fleet.Samples] with the labels a scrape would attach for the target (such as
// job, instance, namespace and pod) added to every series. As with honor_labels: false, a series
// label that a target label shadows is renamed exported_<name>.
func (f *Fleet) TargetSamples(pod string, at time.Time, d Dialect, target labels.Labels, fn func(lbls labels.Labels, v float64)) error {
	r, err := f.newRenderer(pod, at, d)
	if err != nil {
		return err
	}
	s := &labelSink{fn: fn, target: target, b: labels.NewScratchBuilder(8 + target.Len())}
	r.walk(s)
	return nil
}

// state is one flow (cluster or listener) in one pod at one time.
type state struct {
	name    string
	total   uint64
	codes   [len(codeNames)]uint64
	classes [6]uint64 // by class digit, 1..5
	hist    bool
	buckets [numBuckets]uint64
	sum     float64
	// n is the pod's exact number of requests and latency their distribution, from which a
	// native histogram's buckets are drawn (native.go).
	n       float64
	latency Latency
	active  uint64
	// Listeners only.
	conns uint64
	// Clusters only.
	extras [numExtras]uint64
	gauges [numGauges]uint64
}

// numExtras counts the counters of a cluster that grow at a fixed share of its requests:
// timeout, per_try_timeout, retry, retry_overflow, pending_overflow, rx_reset and tx_reset.
const numExtras = 7

// numGauges counts the gauges of a cluster that every pod reports alike: breakers open,
// membership healthy and total, and ejections.
const numGauges = 4

type renderer struct {
	f          *Fleet
	d          Dialect
	tau        float64
	pod, npods int
	clusters   []state
	listeners  []state
	ls         [3]label
	// vhostStates are the virtual clusters and routes (stock Envoy only).
	vhostStates []vhostState
}

func (f *Fleet) newRenderer(pod string, at time.Time, d Dialect) (*renderer, error) {
	if d != Stock && d != Istio && d != IstioStandard {
		return nil, errorf("unknown dialect %v", d)
	}
	if err := f.Validate(); err != nil {
		return nil, errorf("%w", err)
	}
	i, n, err := f.podIndex(pod)
	if err != nil {
		return nil, err
	}
	r := &renderer{f: f, d: d, tau: at.Sub(f.Start).Seconds(), pod: i, npods: n}
	r.clusters = make([]state, len(f.Clusters))
	for i := range f.Clusters {
		c := &f.Clusters[i]
		st := &r.clusters[i]
		fl := c.flow()
		n := r.fill(st, &fl, false)
		extras := [numExtras]float64{c.TimeoutRatio, c.PerTryTimeoutRatio, c.RetryRatio, c.RetryOverflowRatio,
			c.PendingOverflowRatio, c.RxResetRatio, c.TxResetRatio}
		for k, ratio := range extras {
			st.extras[k] = floorU(n * ratio)
		}
		for k, g := range [numGauges]float64{c.BreakersOpen, c.MembersHealthy, c.MembersTotal, c.EjectionsActive} {
			st.gauges[k] = uint64(math.Round(g))
		}
	}
	r.listeners = make([]state, len(f.Listeners))
	for i := range f.Listeners {
		l := &f.Listeners[i]
		fl := l.flow()
		r.fill(&r.listeners[i], &fl, true)
		r.listeners[i].conns = r.split(uint64(math.Round(l.Connections)))
	}
	if d == Stock {
		r.vhostStates = r.vhosts() // while r.clusters[i] is still f.Clusters[i]'s state
	}
	byName := func(a, b state) int { return strings.Compare(a.name, b.name) }
	slices.SortFunc(r.clusters, byName)
	slices.SortFunc(r.listeners, byName)
	return r, nil
}

// fill computes the counters and gauges of fl in the renderer's pod and returns the pod's exact
// number of requests. The latency histogram of a cluster appears with its first request; a
// listener's exists from the start (Envoy creates the connection manager's stats eagerly), unless
// it has traffic but no latency distribution.
func (r *renderer) fill(st *state, fl *flow, listener bool) float64 {
	st.name = fl.name
	n := r.f.requests(fl, r.tau) / float64(r.npods)
	st.n, st.latency = n, fl.latency
	st.total = floorU(n)
	for k, share := range fl.shares() {
		st.codes[k] = floorU(n * share)
	}
	st.classes[2], st.classes[4], st.classes[5] = st.codes[0], st.codes[1], st.codes[2]+st.codes[3]
	switch {
	case len(fl.latency) > 0 && st.total >= 1:
		st.hist = true
		for i, b := range bounds {
			st.buckets[i] = floorU(n * fl.latency.CDF(b))
		}
		st.buckets[len(bounds)] = st.total
		st.sum = n * fl.latency.Mean()
	case listener && (len(fl.latency) > 0 || fl.rps == 0):
		st.hist = true // all zero
	}
	// Requests in flight are split over the pods so that they add up to the fleet's number.
	st.active = r.split(uint64(math.Round(fl.active * r.f.level(fl, r.tau))))
	return n
}

// split returns the renderer's pod's part of a fleet-wide gauge, parts adding up to all.
func (r *renderer) split(all uint64) uint64 {
	pod, pods := uint64(r.pod), uint64(r.npods)
	return all*(pod+1)/pods - all*pod/pods
}

func errorf(format string, a ...any) error { return fmt.Errorf("envoysim: "+format, a...) }

func floorU(v float64) uint64 {
	if !(v > 0) {
		return 0
	}
	return uint64(v)
}

// label is one label of a series before it is printed or turned into labels.Labels.
type label struct{ name, value string }

// sink receives the series of an exposition, family by family.
type sink interface {
	// family starts a family; it is printed only if a series follows.
	family(name, typ string)
	uint(name string, ls []label, v uint64)
	float(name string, ls []label, v float64)
	// bucket is bucket i of a histogram: its upper bound is bounds[i], or +Inf past them.
	bucket(name string, ls []label, i int, v uint64)
}

// family is one metric family and the function that emits its series.
type family struct {
	name, typ string
	emit      func(r *renderer, s sink, fam *family)
	// Histogram series names.
	bucketName, sumName, countName string
}

var familiesOnce = sync.OnceValue(func() [2][]family { return [2][]family{buildFamilies(Stock), buildFamilies(Istio)} })

func (r *renderer) walk(s sink) {
	if r.d == IstioStandard {
		r.walkStandard(s)
		return
	}
	for i := range familiesOnce()[r.d] {
		fam := &familiesOnce()[r.d][i]
		s.family(fam.name, fam.typ)
		fam.emit(r, s, fam)
	}
}

// buildFamilies lists the families of dialect d in Envoy's order: counters, gauges and histograms,
// each sorted by name.
func buildFamilies(d Dialect) []family {
	cl, ll, classL := d.ClusterLabel(), d.ListenerLabel(), d.ClassLabel()
	var fams []family
	add := func(name, typ string, emit func(r *renderer, s sink, fam *family)) {
		fams = append(fams, family{name: name, typ: typ, emit: emit,
			bucketName: name + "_bucket", sumName: name + "_sum", countName: name + "_count"})
	}
	clusterCounter := func(name string, get func(st *state) uint64) {
		add(name, "counter", func(r *renderer, s sink, fam *family) {
			for i := range r.clusters {
				st := &r.clusters[i]
				r.ls[0] = label{cl, st.name}
				s.uint(fam.name, r.ls[:1], get(st))
			}
		})
	}
	clusterGauge := func(name string, get func(st *state) uint64) {
		clusterCounter(name, get)
		fams[len(fams)-1].typ = "gauge"
	}
	serverGauge := func(name string, get func(r *renderer) uint64) {
		add(name, "gauge", func(r *renderer, s sink, fam *family) { s.uint(fam.name, nil, get(r)) })
	}
	histogram := func(name, lbl string, flows func(r *renderer) []state) {
		add(name, "histogram", func(r *renderer, s sink, fam *family) {
			states := flows(r)
			for i := range states {
				st := &states[i]
				if !st.hist {
					continue
				}
				r.ls[0] = label{lbl, st.name}
				if ns, ok := s.(nativeSink); ok {
					ns.histogram(fam, r.ls[:1], st)
					continue
				}
				for b, v := range st.buckets {
					s.bucket(fam.bucketName, r.ls[:1], b, v)
				}
				s.float(fam.sumName, r.ls[:1], st.sum)
				s.uint(fam.countName, r.ls[:1], st.total)
			}
		})
	}
	clusters := func(r *renderer) []state { return r.clusters }
	listeners := func(r *renderer) []state { return r.listeners }
	upstreamClasses := func(r *renderer, s sink, fam *family) {
		for i := range r.clusters {
			st := &r.clusters[i]
			for _, class := range []int{2, 4, 5} {
				if st.classes[class] > 0 {
					r.ls[0], r.ls[1] = label{classL, classValues[d][class]}, label{cl, st.name}
					s.uint(fam.name, r.ls[:2], st.classes[class])
				}
			}
		}
	}
	downstreamClasses := func(r *renderer, s sink, fam *family) {
		for i := range r.listeners {
			st := &r.listeners[i]
			for class := 1; class <= 5; class++ {
				r.ls[0], r.ls[1] = label{classL, classValues[d][class]}, label{ll, st.name}
				s.uint(fam.name, r.ls[:2], st.classes[class])
			}
		}
	}

	// Counters.
	if d == Stock {
		add("envoy_cluster_upstream_rq", "counter", func(r *renderer, s sink, fam *family) {
			for i := range r.clusters {
				st := &r.clusters[i]
				for k, code := range codeNames {
					if st.codes[k] > 0 {
						r.ls[0], r.ls[1] = label{"envoy_response_code", code}, label{cl, st.name}
						s.uint(fam.name, r.ls[:2], st.codes[k])
					}
				}
			}
		})
		add("envoy_cluster_upstream_rq_xx", "counter", upstreamClasses)
		add("envoy_http_downstream_rq_xx", "counter", downstreamClasses)
	} else {
		add("envoy_cluster_upstream_rq", "counter", upstreamClasses)
		for k, code := range codeNames {
			clusterCounter("envoy_cluster_upstream_rq_"+code, func(st *state) uint64 { return st.codes[k] })
			// Per-code counters exist once used.
			emit := fams[len(fams)-1].emit
			fams[len(fams)-1].emit = func(r *renderer, s sink, fam *family) {
				emit(r, sinkIf{sink: s, keep: func(v uint64) bool { return v > 0 }}, fam)
			}
		}
		add("envoy_http_downstream_rq", "counter", downstreamClasses)
	}
	clusterCounter("envoy_cluster_upstream_rq_total", func(st *state) uint64 { return st.total })
	for k, name := range [numExtras]string{"timeout", "per_try_timeout", "retry", "retry_overflow",
		"pending_overflow", "rx_reset", "tx_reset"} {
		clusterCounter("envoy_cluster_upstream_rq_"+name, func(st *state) uint64 { return st.extras[k] })
	}
	add("envoy_http_downstream_rq_total", "counter", func(r *renderer, s sink, fam *family) {
		for i := range r.listeners {
			r.ls[0] = label{ll, r.listeners[i].name}
			s.uint(fam.name, r.ls[:1], r.listeners[i].total)
		}
	})

	// Gauges.
	for k, name := range [numGauges]string{"envoy_cluster_circuit_breakers_default_rq_open",
		"envoy_cluster_membership_healthy", "envoy_cluster_membership_total",
		"envoy_cluster_outlier_detection_ejections_active"} {
		clusterGauge(name, func(st *state) uint64 { return st.gauges[k] })
	}
	clusterGauge("envoy_cluster_upstream_rq_active", func(st *state) uint64 { return st.active })
	serverGauge("envoy_cluster_manager_active_clusters", func(r *renderer) uint64 { return uint64(len(r.clusters)) })
	serverGauge("envoy_cluster_manager_cds_version", func(*renderer) uint64 { return cdsVersion })
	add("envoy_http_downstream_cx_active", "gauge", func(r *renderer, s sink, fam *family) {
		for i := range r.listeners {
			r.ls[0] = label{ll, r.listeners[i].name}
			s.uint(fam.name, r.ls[:1], r.listeners[i].conns)
		}
	})
	add("envoy_http_downstream_rq_active", "gauge", func(r *renderer, s sink, fam *family) {
		for i := range r.listeners {
			r.ls[0] = label{ll, r.listeners[i].name}
			s.uint(fam.name, r.ls[:1], r.listeners[i].active)
		}
	})
	serverGauge("envoy_server_concurrency", func(*renderer) uint64 { return serverConcurrency })
	serverGauge("envoy_server_live", func(*renderer) uint64 { return 1 })
	serverGauge("envoy_server_state", func(*renderer) uint64 { return 0 })
	serverGauge("envoy_server_uptime", func(r *renderer) uint64 { return floorU(r.tau) })
	serverGauge("envoy_server_version", func(*renderer) uint64 { return serverVersion })

	if d == Stock {
		vhostFamilies(add)
	}

	// Histograms.
	histogram("envoy_cluster_upstream_rq_time", cl, clusters)
	histogram("envoy_http_downstream_rq_time", ll, listeners)

	order := map[string]int{"counter": 0, "gauge": 1, "histogram": 2}
	slices.SortStableFunc(fams, func(a, b family) int {
		return cmp.Or(cmp.Compare(order[a.typ], order[b.typ]), strings.Compare(a.name, b.name))
	})
	return fams
}

// classValues are the class label values by dialect and class digit.
var classValues = [2][6]string{
	{"", "1", "2", "3", "4", "5"},
	{"", "1xx", "2xx", "3xx", "4xx", "5xx"},
}

// sinkIf drops the uint series that keep rejects.
type sinkIf struct {
	sink
	keep func(v uint64) bool
}

func (s sinkIf) uint(name string, ls []label, v uint64) {
	if s.keep(v) {
		s.sink.uint(name, ls, v)
	}
}

// textBufSize is how much text is gathered before it is written out.
const textBufSize = 64 << 10

// boundText are the le values as Envoy prints them (%.32g), +Inf last.
var boundText = func() (out [numBuckets]string) {
	for i, b := range bounds {
		out[i] = strconv.FormatFloat(b, 'g', 32, 64)
	}
	out[len(bounds)] = "+Inf"
	return out
}()

// boundLabel are the le values as Prometheus stores them after parsing text.
var boundLabel = func() (out [numBuckets]string) {
	for i, b := range bounds {
		out[i] = labels.FormatOpenMetricsFloat(b)
	}
	out[len(bounds)] = labels.FormatOpenMetricsFloat(math.Inf(1))
	return out
}()

// textSink prints the text exposition format.
type textSink struct {
	w     io.Writer
	buf   []byte
	err   error
	blank bool // a blank line between families
	wrote bool // a family was printed

	typ, name string
	pending   bool
}

func (t *textSink) family(name, typ string) { t.name, t.typ, t.pending = name, typ, true }

func (t *textSink) start(name string, ls []label) {
	if t.pending {
		if t.blank && t.wrote {
			t.buf = append(t.buf, '\n')
		}
		t.buf = append(t.buf, "# TYPE "...)
		t.buf = append(t.buf, t.name...)
		t.buf = append(t.buf, ' ')
		t.buf = append(t.buf, t.typ...)
		t.buf = append(t.buf, '\n')
		t.pending, t.wrote = false, true
	}
	t.buf = append(t.buf, name...)
	t.buf = append(t.buf, '{')
	for i, l := range ls {
		if i > 0 {
			t.buf = append(t.buf, ',')
		}
		t.buf = append(t.buf, l.name...)
		t.buf = append(t.buf, '=', '"')
		t.buf = appendEscaped(t.buf, l.value)
		t.buf = append(t.buf, '"')
	}
}

func (t *textSink) end() {
	t.buf = append(t.buf, '\n')
	if len(t.buf) >= textBufSize-512 {
		t.write()
	}
}

func (t *textSink) uint(name string, ls []label, v uint64) {
	t.start(name, ls)
	t.buf = append(t.buf, '}', ' ')
	t.buf = strconv.AppendUint(t.buf, v, 10)
	t.end()
}

func (t *textSink) float(name string, ls []label, v float64) {
	t.start(name, ls)
	t.buf = append(t.buf, '}', ' ')
	t.buf = strconv.AppendFloat(t.buf, v, 'g', 32, 64)
	t.end()
}

func (t *textSink) bucket(name string, ls []label, i int, v uint64) {
	t.start(name, ls)
	if len(ls) > 0 {
		t.buf = append(t.buf, ',')
	}
	t.buf = append(t.buf, `le="`...)
	t.buf = append(t.buf, boundText[i]...)
	t.buf = append(t.buf, '"', '}', ' ')
	t.buf = strconv.AppendUint(t.buf, v, 10)
	t.end()
}

func (t *textSink) write() {
	if t.err == nil && len(t.buf) > 0 {
		_, t.err = t.w.Write(t.buf)
	}
	t.buf = t.buf[:0]
}

func (t *textSink) flush() error {
	t.write()
	if bw, ok := t.w.(*bufio.Writer); ok && t.err == nil {
		t.err = bw.Flush()
	}
	return t.err
}

// appendEscaped appends s escaped as a label value of the text format: \\, \" and \n.
func appendEscaped(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "\\\"\n") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

// labelSink turns series into labels.Labels.
type labelSink struct {
	fn     func(labels.Labels, float64)
	target labels.Labels
	b      labels.ScratchBuilder
}

func (*labelSink) family(string, string) {}

func (s *labelSink) emit(name string, ls []label, le string, v float64) {
	s.b.Reset()
	s.b.Add(model.MetricNameLabel, name)
	for _, l := range ls {
		s.add(l.name, l.value)
	}
	if le != "" {
		s.add("le", le)
	}
	s.target.Range(func(l labels.Label) { s.b.Add(l.Name, l.Value) })
	s.b.Sort()
	s.fn(s.b.Labels(), v)
}

// add adds a series label, renamed exported_<name> when a target label of that name exists.
func (s *labelSink) add(name, value string) {
	for s.target.Has(name) {
		name = "exported_" + name
	}
	s.b.Add(name, value)
}

func (s *labelSink) uint(name string, ls []label, v uint64) { s.emit(name, ls, "", float64(v)) }

func (s *labelSink) float(name string, ls []label, v float64) { s.emit(name, ls, "", v) }

func (s *labelSink) bucket(name string, ls []label, i int, v uint64) {
	s.emit(name, ls, boundLabel[i], float64(v))
}
