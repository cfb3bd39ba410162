package envoysim

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// bounds are Envoy's default histogram bucket upper bounds in milliseconds
// (source/common/stats/histogram_impl.cc); a last bucket, +Inf, follows them.
var bounds = [...]float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
	300000, 600000, 1800000, 3600000}

// numBuckets counts the buckets of a histogram, +Inf included.
const numBuckets = len(bounds) + 1

// BucketBounds returns Envoy's default histogram bucket upper bounds in milliseconds, without the
// last bucket, +Inf.
func BucketBounds() []float64 { return slices.Clone(bounds[:]) }

// Segment is a share of requests whose latency is uniform between LoMs and HiMs milliseconds
// (a point when they are equal). Weights are relative: they need not add up to 1.
type Segment struct {
	Weight, LoMs, HiMs float64
}

// Latency is a piecewise uniform distribution of latency, the sum of its segments.
type Latency []Segment

// Uniform is the latency distribution uniform between loMs and hiMs.
func Uniform(loMs, hiMs float64) Latency { return Latency{{Weight: 1, LoMs: loMs, HiMs: hiMs}} }

// Validate reports segments with negative or non-finite bounds or weights, HiMs below LoMs, or no
// weight at all.
func (l Latency) Validate() error {
	if len(l) == 0 {
		return nil
	}
	var total float64
	for i, s := range l {
		for _, v := range []float64{s.Weight, s.LoMs, s.HiMs} {
			if !(v >= 0) || math.IsInf(v, 0) {
				return fmt.Errorf("latency segment %d %+v: values must be finite and ≥ 0", i, s)
			}
		}
		if s.HiMs < s.LoMs {
			return fmt.Errorf("latency segment %d %+v: HiMs is below LoMs", i, s)
		}
		total += s.Weight
	}
	if total <= 0 {
		return errors.New("latency segments have no weight")
	}
	return nil
}

func (l Latency) weight() float64 {
	var total float64
	for _, s := range l {
		total += s.Weight
	}
	return total
}

// span returns the lowest and highest latency with a weight.
func (l Latency) span() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range l {
		if s.Weight > 0 {
			lo, hi = min(lo, s.LoMs), max(hi, s.HiMs)
		}
	}
	return lo, hi
}

// CDF returns the share of requests that took at most ms milliseconds.
func (l Latency) CDF(ms float64) float64 {
	total := l.weight()
	if total <= 0 {
		return math.NaN()
	}
	lo, hi := l.span()
	switch {
	case ms >= hi:
		return 1
	case ms < lo:
		return 0
	}
	var acc float64
	for _, s := range l {
		acc += s.Weight * s.fraction(ms, false)
	}
	return min(1, acc/total)
}

// below is the share of requests that took less than ms milliseconds (the CDF's left limit).
func (l Latency) below(ms float64) float64 {
	var acc float64
	for _, s := range l {
		acc += s.Weight * s.fraction(ms, true)
	}
	return min(1, acc/l.weight())
}

// fraction is the share of s at or below ms (strictly below when strict and s is a point).
func (s Segment) fraction(ms float64, strict bool) float64 {
	switch {
	case s.HiMs == s.LoMs:
		if ms > s.LoMs || (ms == s.LoMs && !strict) {
			return 1
		}
		return 0
	case ms <= s.LoMs:
		return 0
	case ms >= s.HiMs:
		return 1
	}
	return (ms - s.LoMs) / (s.HiMs - s.LoMs)
}

// Mean returns the mean latency in milliseconds, NaN for an empty distribution.
func (l Latency) Mean() float64 {
	total := l.weight()
	if total <= 0 {
		return math.NaN()
	}
	var acc float64
	for _, s := range l {
		acc += s.Weight * (s.LoMs + s.HiMs) / 2
	}
	return acc / total
}

// Quantile returns the smallest latency x in milliseconds with CDF(x) ≥ q, for 0 < q ≤ 1; NaN for
// an empty distribution.
func (l Latency) Quantile(q float64) float64 {
	if l.weight() <= 0 || math.IsNaN(q) {
		return math.NaN()
	}
	var points []float64
	for _, s := range l {
		if s.Weight > 0 {
			points = append(points, s.LoMs, s.HiMs)
		}
	}
	slices.Sort(points)
	points = slices.Compact(points)
	if q <= 0 {
		return points[0]
	}
	// Between two neighbouring points the CDF is linear; at a point it may jump (a point segment).
	prev, prevCDF := points[0], l.CDF(points[0])
	if prevCDF >= q {
		return prev
	}
	for _, p := range points[1:] {
		left := l.below(p)
		if q <= left && left > prevCDF {
			return prev + (p-prev)*(q-prevCDF)/(left-prevCDF)
		}
		cdf := l.CDF(p)
		if q <= cdf {
			return p
		}
		prev, prevCDF = p, cdf
	}
	return points[len(points)-1]
}
