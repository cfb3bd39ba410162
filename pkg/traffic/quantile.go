package traffic

import (
	"cmp"
	"slices"

	promengine "github.com/prometheus/prometheus/promql"
)

// HistogramQuantiles are quantiles qs (0..1) of a cumulative histogram: buckets are upper bounds
// and the rate (or count) of observations at or below each, in any order. Each is what PromQL's
// histogram_quantile answers for the same buckets, computed by the same code (Prometheus'
// BucketQuantile): linear interpolation inside the bucket the rank falls in, from 0 for the lowest
// bucket; the highest finite bound when the rank falls in the +Inf bucket; buckets with the same
// bound added up and decreasing counts evened out first. Where histogram_quantile answers NaN
// (no +Inf bucket, fewer than two buckets, no observations) the quantile is NoData.
//
// Reading the buckets once and computing every quantile here keeps a refresh at one query for all
// of them. buckets is sorted and its counts adjusted in place.
func HistogramQuantiles(buckets promengine.Buckets, qs ...float64) []float64 {
	out := make([]float64, len(qs))
	if len(buckets) == 0 {
		for i := range out {
			out[i] = NoData
		}
		return out
	}
	// BucketQuantile sorts, adds up equal bounds and evens out the counts on the slice it is
	// given but answers from a shorter one when bounds repeat: do the first two here so that
	// every call sees the same buckets.
	slices.SortFunc(buckets, func(a, b promengine.Bucket) int { return cmp.Compare(a.UpperBound, b.UpperBound) })
	n := 0
	for _, b := range buckets {
		if n > 0 && buckets[n-1].UpperBound == b.UpperBound {
			buckets[n-1].Count += b.Count
			continue
		}
		buckets[n] = b
		n++
	}
	for i, q := range qs {
		out[i], _, _, _, _, _ = promengine.BucketQuantile(q, buckets[:n])
	}
	return out
}
