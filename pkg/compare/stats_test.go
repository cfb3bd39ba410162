package compare

import (
	"math"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6f, want %.6f (±%g)", what, got, want, tol)
	}
}

// Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison of seven
// methods", Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score, no continuity
// correction).
func TestWilsonAgainstNewcombe(t *testing.T) {
	for _, tc := range []struct {
		x, n   float64
		lo, hi float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0.0000, 0.1611},
		{1, 29, 0.0061, 0.1718},
	} {
		lo, hi := Wilson(tc.x, tc.n, Z95)
		near(t, "lower", lo, tc.lo, 0.00006)
		near(t, "upper", hi, tc.hi, 0.00006)
	}
	if lo, hi := Wilson(0, 0, Z95); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Error("no trials must give no interval")
	}
}

// Agresti, Categorical Data Analysis: the Physicians' Health Study (myocardial infarction on
// placebo 189 of 11,034, on aspirin 104 of 11,037) has Pearson X² = 25.01, which is z² of the
// pooled two-proportion test.
func TestTwoProportionAgainstAgresti(t *testing.T) {
	z, p := TwoProportionZ(189, 11034, 104, 11037)
	near(t, "z²", z*z, 25.01, 0.01)
	if p > 1e-6 || p <= 0 {
		t.Errorf("p = %g, want a tiny positive value", p)
	}
	z, p = TwoProportionZ(104, 11037, 189, 11034)
	if z >= 0 || p > 1e-6 {
		t.Errorf("swapped arms: z %g p %g", z, p)
	}
	if z, p := TwoProportionZ(5, 100, 5, 100); z != 0 || math.Abs(p-1) > 1e-12 {
		t.Errorf("equal proportions: z %g p %g", z, p)
	}
}

// Fisher's tea-tasting experiment (Agresti, Categorical Data Analysis): [[3, 1], [1, 3]] has a
// two-sided p-value of 0.486.
func TestFisherExactTeaTasting(t *testing.T) {
	near(t, "p", FisherExact(3, 1, 1, 3), 0.4857, 0.0001)
	near(t, "p of a 4-0 table", FisherExact(4, 0, 0, 4), 2.0/70, 1e-9)
	near(t, "p of equal arms", FisherExact(2, 2, 2, 2), 1, 1e-9)
}

// SciPy's documentation of scipy.stats.mannwhitneyu (from Mann & Whitney's own example):
// males [19, 22, 16, 29, 24] against females [20, 11, 17, 12] give U1 = 17 and, with the normal
// approximation and continuity correction, p = 0.11134688653314041.
func TestMannWhitneyAgainstSciPy(t *testing.T) {
	r := MannWhitneyU([]float64{19, 22, 16, 29, 24}, []float64{20, 11, 17, 12})
	near(t, "U1", r.U1, 17, 0)
	near(t, "U2", r.U2, 3, 0)
	near(t, "p", r.P, 0.11134688653314041, 1e-12)
	if r.Z <= 0 {
		t.Errorf("z = %g, want positive (the first sample is larger)", r.Z)
	}
}

// A worked example with ties, by hand. x = [1, 2, 2, 3], y = [2, 3, 4, 4]. Ranks of the eight
// values: 1→1, the three 2s→3 each, the two 3s→5.5, the two 4s→7.5. R1 = 1+3+3+5.5 = 12.5, so
// U1 = 12.5 - 10 = 2.5 and U2 = 13.5. Ties: groups of 3, 2 and 2, Σ(t³-t) = 24+6+6 = 36.
// Variance = 4·4/12 · (9 - 36/56) = 11.142857; z = -(|2.5-8| - 0.5)/√11.142857 = -1.497862;
// p = 2·Φ(-1.497862) = 0.134169. The 16 differences x-y have the median -1 (Hodges-Lehmann).
func TestMannWhitneyWithTies(t *testing.T) {
	r := MannWhitneyU([]float64{1, 2, 2, 3}, []float64{2, 3, 4, 4})
	near(t, "U1", r.U1, 2.5, 0)
	near(t, "U2", r.U2, 13.5, 0)
	near(t, "z", r.Z, -1.497862, 1e-6)
	near(t, "p", r.P, 0.134169, 1e-6)
	near(t, "Hodges-Lehmann shift", r.Shift, -1, 0)

	// All values equal: nothing to tell apart.
	same := MannWhitneyU([]float64{5, 5, 5}, []float64{5, 5, 5})
	if same.P != 1 || same.Z != 0 {
		t.Errorf("identical samples: %+v", same)
	}
	// NaN (steps without data) are left out, not ranked.
	gap := MannWhitneyU([]float64{1, math.NaN(), 2}, []float64{3, 4})
	near(t, "U1 with a gap", gap.U1, 0, 0)
}
