package traffic

import "math"

// A number Prometheus answers is believed only inside its domain. A broken exporter, a bad
// recording rule or a hostile Prometheus can answer anything: a negative rate, a success ratio of
// 350%, a p99 of 1e100 ms, infinity. Such a number is not shown as if it were data: the fold
// drops it (it becomes no data, a dash or null) and marks the field invalid, so every output can
// say the data was invalid rather than show it or hide that anything was there. NaN stays what it
// is everywhere else: no data (0/0, an empty histogram), not invalid.

// MaxLatencyMs is the longest latency believed: a day. Envoy's histograms end at an hour.
const MaxLatencyMs = 24 * 60 * 60 * 1000

// ratioNoise is how far outside [0, 1] a ratio may stray from floating-point rounding; it is
// clamped back rather than called invalid.
const ratioNoise = 1e-9

// CheckRate checks a rate, count or gauge: finite and not negative. It returns v, or NoData and
// false when v is outside the domain; no data (NaN) is returned as it is, with true.
func CheckRate(v float64) (float64, bool) {
	switch {
	case math.IsNaN(v):
		return v, true
	case math.IsInf(v, 0) || v < 0:
		return NoData, false
	}
	return v, true
}

// CheckRatio checks a ratio such as the success ratio: in [0, 1], clamped there from rounding
// noise, else NoData and false. No data (NaN) is returned as it is, with true.
func CheckRatio(v float64) (float64, bool) {
	switch {
	case math.IsNaN(v):
		return v, true
	case !(v >= -ratioNoise && v <= 1+ratioNoise):
		return NoData, false
	}
	return min(max(v, 0), 1), true
}

// CheckLatency checks a latency in milliseconds: in [0, MaxLatencyMs], else NoData and false. No
// data (NaN) is returned as it is, with true.
func CheckLatency(ms float64) (float64, bool) {
	switch {
	case math.IsNaN(ms):
		return ms, true
	case !(ms >= 0 && ms <= MaxLatencyMs):
		return NoData, false
	}
	return ms, true
}

// Fields is a set of the numbers of a row, listener or pod: the ones found invalid.
type Fields uint8

// The numbers of a row. A listener or pod has only some of them.
const (
	FieldRPS Fields = 1 << iota
	FieldSuccess
	FieldP50
	FieldP90
	FieldP99
	FieldActive
	FieldErr4xx
	FieldErr5xx
)

// Has reports whether f holds every field of g.
func (f Fields) Has(g Fields) bool { return f&g == g && g != 0 }

// fieldNames are the names of the fields in JSON, in the order of a row.
var fieldNames = []struct {
	f    Fields
	name string
}{
	{FieldRPS, "rps"}, {FieldSuccess, "success_rate"}, {FieldP50, "p50_ms"}, {FieldP90, "p90_ms"},
	{FieldP99, "p99_ms"}, {FieldActive, "active_requests"}, {FieldErr4xx, "rps_4xx"}, {FieldErr5xx, "rps_5xx"},
}

// Names lists the fields by their JSON names, in row order; nil when f is empty.
func (f Fields) Names() []string {
	var out []string
	for _, n := range fieldNames {
		if f.Has(n.f) {
			out = append(out, n.name)
		}
	}
	return out
}

// check puts *v through in and adds f to invalid when it was outside its domain.
func check(v *float64, in func(float64) (float64, bool), f Fields, invalid *Fields) {
	var ok bool
	if *v, ok = in(*v); !ok {
		*invalid |= f
	}
}

// checkRow drops every number of r outside its domain and marks it invalid.
func checkRow(r *Row) {
	check(&r.RPS, CheckRate, FieldRPS, &r.Invalid)
	check(&r.Success, CheckRatio, FieldSuccess, &r.Invalid)
	check(&r.P50, CheckLatency, FieldP50, &r.Invalid)
	check(&r.P90, CheckLatency, FieldP90, &r.Invalid)
	check(&r.P99, CheckLatency, FieldP99, &r.Invalid)
	check(&r.Active, CheckRate, FieldActive, &r.Invalid)
	check(&r.Err4xx, CheckRate, FieldErr4xx, &r.Invalid)
	check(&r.Err5xx, CheckRate, FieldErr5xx, &r.Invalid)
}

// checkListener is checkRow for a listener.
func checkListener(l *Listener) {
	check(&l.RPS, CheckRate, FieldRPS, &l.Invalid)
	check(&l.Success, CheckRatio, FieldSuccess, &l.Invalid)
	check(&l.P99, CheckLatency, FieldP99, &l.Invalid)
	check(&l.Err4xx, CheckRate, FieldErr4xx, &l.Invalid)
	check(&l.Err5xx, CheckRate, FieldErr5xx, &l.Invalid)
}

// checkPod is checkRow for a pod of the drill-down.
func checkPod(p *PodRow) {
	check(&p.RPS, CheckRate, FieldRPS, &p.Invalid)
	check(&p.Success, CheckRatio, FieldSuccess, &p.Invalid)
	check(&p.P99, CheckLatency, FieldP99, &p.Invalid)
}

// checkedRate is a rate of the drill-down, no data when outside its domain: the drill-down's
// counters have no row to mark.
func checkedRate(v float64) float64 {
	v, _ = CheckRate(v)
	return v
}
