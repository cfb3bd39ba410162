// Package compare judges a canary against its baseline from Envoy's statistics: success rates
// with Wilson intervals and a two-proportion test (Fisher's exact test when failures are few),
// latency with a Mann-Whitney U test over per-step quantiles, as Kayenta does, and a verdict a CI
// job can gate on.
package compare

import (
	"math"
	"sort"
)

// Z95 is the standard normal quantile of a two-sided 95% interval.
const Z95 = 1.959963984540054

// Wilson is the Wilson score interval of successes out of n at normal quantile z. It stays inside
// [0, 1] and behaves at 0 and n successes, unlike the Wald interval.
func Wilson(successes, n, z float64) (lo, hi float64) {
	if n <= 0 {
		return math.NaN(), math.NaN()
	}
	p := successes / n
	z2 := z * z
	centre := p + z2/(2*n)
	margin := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	den := 1 + z2/n
	return math.Max(0, (centre-margin)/den), math.Min(1, (centre+margin)/den)
}

// TwoProportionZ tests whether two proportions differ: x1 of n1 against x2 of n2, with the pooled
// standard error. It returns z (positive when the first proportion is larger) and the two-sided
// p-value. z² is Pearson's chi-squared statistic of the 2×2 table.
func TwoProportionZ(x1, n1, x2, n2 float64) (z, p float64) {
	if n1 <= 0 || n2 <= 0 {
		return math.NaN(), math.NaN()
	}
	pooled := (x1 + x2) / (n1 + n2)
	se := math.Sqrt(pooled * (1 - pooled) * (1/n1 + 1/n2))
	if se == 0 {
		return 0, 1
	}
	z = (x1/n1 - x2/n2) / se
	return z, 2 * normalSF(math.Abs(z))
}

// normalSF is the standard normal survival function, P(Z > z).
func normalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// FisherExact is Fisher's exact test of the 2×2 table [[a, b], [c, d]]: the two-sided p-value
// sums the probabilities of every table with the same margins that is no more likely than the
// observed one. Use it when an expected cell count is below five.
func FisherExact(a, b, c, d int) float64 {
	row1, col1, n := a+b, a+c, a+b+c+d
	lo := max(0, col1-(n-row1))
	hi := min(row1, col1)
	logP := func(x int) float64 {
		return lchoose(row1, x) + lchoose(n-row1, col1-x) - lchoose(n, col1)
	}
	observed := logP(a)
	p := 0.0
	for x := lo; x <= hi; x++ {
		// A relative tolerance keeps tables as likely as the observed one in the sum.
		if lp := logP(x); lp <= observed+1e-7 {
			p += math.Exp(lp)
		}
	}
	return math.Min(1, p)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// MannWhitney is the result of a Mann-Whitney U test of x against y.
type MannWhitney struct {
	U1, U2 float64 // U of x (pairs where x is larger, ties counting half) and of y
	Z      float64 // normal approximation with tie and continuity corrections; positive when x tends larger
	P      float64 // two-sided p-value
	// Shift is the Hodges-Lehmann estimate of how much larger x is than y: the median of all
	// pairwise differences.
	Shift float64
}

// MannWhitneyU tests whether x and y come from the same distribution, ranking ties at their mean
// rank and correcting the variance for them. NaN values are ignored.
func MannWhitneyU(x, y []float64) MannWhitney {
	x, y = finite(x), finite(y)
	n1, n2 := float64(len(x)), float64(len(y))
	if n1 == 0 || n2 == 0 {
		return MannWhitney{U1: math.NaN(), U2: math.NaN(), Z: math.NaN(), P: math.NaN(), Shift: math.NaN()}
	}
	type obs struct {
		v     float64
		first bool
	}
	all := make([]obs, 0, len(x)+len(y))
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := n1 + n2
	r1, tieTerm := 0.0, 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		t := float64(j - i)
		rank := float64(i+j+1) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			if all[k].first {
				r1 += rank
			}
		}
		tieTerm += t*t*t - t
		i = j
	}
	u1 := r1 - n1*(n1+1)/2
	u2 := n1*n2 - u1
	mean := n1 * n2 / 2
	variance := n1 * n2 / 12 * ((n + 1) - tieTerm/(n*(n-1)))
	res := MannWhitney{U1: u1, U2: u2, Shift: hodgesLehmann(x, y)}
	if variance <= 0 {
		res.Z, res.P = 0, 1
		return res
	}
	diff := u1 - mean
	// Continuity correction toward the mean.
	corrected := math.Max(math.Abs(diff)-0.5, 0)
	res.Z = math.Copysign(corrected/math.Sqrt(variance), diff)
	res.P = math.Min(1, 2*normalSF(math.Abs(res.Z)))
	return res
}

func hodgesLehmann(x, y []float64) float64 {
	d := make([]float64, 0, len(x)*len(y))
	for _, a := range x {
		for _, b := range y {
			d = append(d, a-b)
		}
	}
	return median(d)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func finite(v []float64) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}
