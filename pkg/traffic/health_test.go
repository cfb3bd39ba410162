package traffic

import "testing"

// TestAboveThresholds pins when a row is marked: a bad success ratio or p99, from the minimum
// rate on; warnings, unknown numbers and slower rows are never marked.
func TestAboveThresholds(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		rps, success, p99, floor float64
		want                     bool
	}{
		{"healthy", 100, 0.9999, 120, 1, false},
		{"warning: 5% errors and a p99 of 800ms", 100, 0.95, 800, 1, false},
		{"10% errors", 100, 0.9, 120, 1, true},
		{"a p99 above 1s", 100, 1, 1000.5, 1, true},
		{"a p99 of exactly 1s", 100, 1, 1000, 1, false},
		{"failing below the minimum rate", 0.5, 0, 9000, 1, false},
		{"failing at the minimum rate", 1, 0, 10, 1, true},
		{"no floor", 0.1, 0, 10, 0, true},
		{"idle", 0, NoData, NoData, 0, false},
		{"no rate", NoData, 0, 9000, 0, false},
		{"unknown numbers", 100, NoData, NoData, 1, false},
	} {
		if got := AboveThresholds(tc.rps, tc.success, tc.p99, tc.floor); got != tc.want {
			t.Errorf("%s: marked %v, want %v", tc.name, got, tc.want)
		}
	}
}
