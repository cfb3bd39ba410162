// Package truth compares what `top -o json` printed with the simulated fleet's exact numbers.
package truth

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// Snapshot is the JSON contract of `top -o json`.
type Snapshot struct {
	Window string `json:"window"`
	Source string `json:"source"`
	Rows   []Row  `json:"rows"`
}

// Row is one row of the JSON contract.
type Row struct {
	Name           string   `json:"name"`
	Namespace      *string  `json:"namespace"`
	Service        *string  `json:"service"`
	RPS            *float64 `json:"rps"`
	SuccessRate    *float64 `json:"success_rate"`
	P50            *float64 `json:"p50_ms"`
	P90            *float64 `json:"p90_ms"`
	P99            *float64 `json:"p99_ms"`
	ActiveRequests *float64 `json:"active_requests"`
}

// Tolerance is how far a row may be from the truth: RPS and percentiles relative, success in
// absolute points of a ratio (0.005 is half a percentage point).
type Tolerance struct {
	RPS, Success, Quantile float64
}

// Issue is the tolerance `top` promises: RPS within 5%, success within half a point,
// percentiles within 12%.
var Issue = Tolerance{RPS: 0.05, Success: 0.005, Quantile: 0.12}

// Decode reads a `top -o json` snapshot.
func Decode(t testing.TB, b []byte) Snapshot {
	t.Helper()
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("not the top JSON contract: %v\n%s", err, b)
	}
	return s
}

// Check compares every cluster of fleet with its row: each must be present, within tol of the
// truth, and null wherever the truth has no value (an idle cluster has no success rate or
// latency, never 100% or 0 ms).
func Check(t testing.TB, s Snapshot, fleet *envoysim.Fleet, tol Tolerance) {
	t.Helper()
	rows := map[string]Row{}
	for _, r := range s.Rows {
		rows[r.Name] = r
	}
	for _, c := range fleet.Clusters {
		r, ok := rows[c.Name]
		if !ok {
			t.Errorf("cluster %q has no row", c.Name)
			continue
		}
		want := c.Truth()
		near(t, c.Name, "rps", r.RPS, want.RPS, tol.RPS, true)
		near(t, c.Name, "success_rate", r.SuccessRate, want.Success, tol.Success, false)
		if len(c.Latency) == 0 {
			want.P50, want.P90, want.P99 = math.NaN(), math.NaN(), math.NaN()
		}
		near(t, c.Name, "p50_ms", r.P50, want.P50, tol.Quantile, true)
		near(t, c.Name, "p90_ms", r.P90, want.P90, tol.Quantile, true)
		near(t, c.Name, "p99_ms", r.P99, want.P99, tol.Quantile, true)
	}
}

func near(t testing.TB, cluster, field string, got *float64, want, tol float64, relative bool) {
	t.Helper()
	switch {
	case math.IsNaN(want) && got != nil:
		t.Errorf("%s %s = %v, want null (no data)", cluster, field, *got)
	case math.IsNaN(want):
	case got == nil:
		t.Errorf("%s %s = null, want %v", cluster, field, want)
	default:
		diff := math.Abs(*got - want)
		if relative {
			diff /= math.Max(math.Abs(want), 1e-9)
		}
		if diff > tol {
			t.Errorf("%s %s = %v, want %v (off by %.4f, tolerance %.4f)", cluster, field, *got, want, diff, tol)
		}
	}
}
