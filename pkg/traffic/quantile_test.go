package traffic

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	promengine "github.com/prometheus/prometheus/promql"

	"github.com/kubectl-promteam/kubectl-promteam/internal/memstore"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

func hist(pairs ...float64) promengine.Buckets {
	var out promengine.Buckets
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, promengine.Bucket{UpperBound: pairs[i], Count: pairs[i+1]})
	}
	return out
}

// TestHistogramQuantilesByHand checks the quantiles of small histograms worked out by hand,
// with every special case of histogram_quantile.
func TestHistogramQuantilesByHand(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		name    string
		buckets promengine.Buckets
		q, want float64
	}{
		// rank 5 of 10 in (10, 20], which holds 4 from 4: 10 + 10*1/4.
		{"interpolated", hist(10, 4, 20, 8, 50, 9, inf, 10), 0.5, 12.5},
		// rank 1 of 10 in the lowest bucket, from 0.
		{"lowest bucket from zero", hist(10, 4, 20, 8, inf, 10), 0.1, 2.5},
		// rank 9.9 falls in +Inf: the highest finite bound.
		{"+Inf bucket", hist(10, 4, 20, 8, 50, 9, inf, 10), 0.99, 50},
		{"exactly on a bound", hist(10, 4, 20, 8, inf, 10), 0.4, 10},
		{"out of order", hist(inf, 10, 20, 8, 10, 4, 50, 9), 0.5, 12.5},
		// Two series with the same bound (two units' worth, say) add up: (10, 8) (20, 16) (+Inf, 20).
		{"repeated bounds", hist(10, 4, 20, 8, inf, 10, 10, 4, 20, 8, inf, 10), 0.5, 12.5},
		// A count that decreases is raised to the one before it: (20, 8) becomes (20, 9).
		{"not monotonic", hist(10, 9, 20, 8, inf, 10), 0.5, 50.0 / 9},
		{"no +Inf bucket", hist(10, 4, 20, 8), 0.5, NoData},
		{"only +Inf", hist(inf, 10), 0.5, NoData},
		{"no observations", hist(10, 0, inf, 0), 0.5, NoData},
		{"no buckets", nil, 0.5, NoData},
		{"negative lowest bound", hist(-1, 5, 10, 8, inf, 10), 0.2, -1},
	} {
		got := HistogramQuantiles(tc.buckets, tc.q)[0]
		if !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want) || math.Abs(got-tc.want) < 1e-12) {
			t.Errorf("%s: quantile %g = %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}
	// Several quantiles of one histogram, from one sort.
	got := HistogramQuantiles(hist(inf, 10, 20, 8, 10, 4, 50, 9), 0.1, 0.5, 0.99)
	if want := []float64{2.5, 12.5, 50}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("quantiles 0.1, 0.5, 0.99 = %v, want %v", got, want)
	}
}

// TestHistogramQuantilesAgreeWithPromQL evaluates histogram_quantile with Prometheus' PromQL
// engine over random histograms (Envoy's default bounds, a sparse few, +Inf always; some with
// repeated buckets or counts that decrease, as rounding leaves them) and checks that
// HistogramQuantiles answers the same, to the last bit.
func TestHistogramQuantilesAgreeWithPromQL(t *testing.T) {
	envoyBounds := []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}
	rng := rand.New(rand.NewPCG(17, 4))
	const histograms = 60
	qs := []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 1}
	var load []memstore.Sample
	want := make([]promengine.Buckets, histograms)
	for h := range histograms {
		var bounds []float64
		for _, b := range envoyBounds {
			if h%3 != 0 || rng.IntN(3) == 0 {
				bounds = append(bounds, b)
			}
		}
		bounds = append(bounds, math.Inf(1))
		count := 0.0
		for i, b := range bounds {
			switch {
			case h%5 == 4 && i > 0 && rng.IntN(4) == 0:
				count -= rng.Float64() // a decrease, evened out by both
			case h%7 != 6: // every seventh has no observations
				count += math.Floor(rng.ExpFloat64()*20) / 7
			}
			le := strconv.FormatFloat(b, 'g', -1, 64)
			if math.IsInf(b, 1) {
				le = "+Inf"
			}
			load = append(load, memstore.Sample{Labels: labels.FromStrings("__name__", "h_bucket", "h", strconv.Itoa(h), "le", le), V: count})
			want[h] = append(want[h], promengine.Bucket{UpperBound: b, Count: count})
		}
	}
	storage := memstore.New()
	storage.Append(load)
	engine := promengine.NewEngine(promengine.EngineOpts{MaxSamples: 1 << 20, Timeout: time.Minute})
	ctx := context.Background()
	compared := 0
	for _, q := range qs {
		query, err := engine.NewInstantQuery(ctx, storage, nil, fmt.Sprintf("histogram_quantile(%g, h_bucket)", q), time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		res := query.Exec(ctx)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		vec, err := res.Vector()
		if err != nil {
			t.Fatal(err)
		}
		if len(vec) != histograms {
			t.Fatalf("histogram_quantile(%g) answered %d series, want %d", q, len(vec), histograms)
		}
		for _, s := range vec {
			h, _ := strconv.Atoi(s.Metric.Get("h"))
			in := append(promengine.Buckets(nil), want[h]...)
			rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
			got := HistogramQuantiles(in, q)[0]
			if math.Float64bits(got) != math.Float64bits(s.F) && !(math.IsNaN(got) && math.IsNaN(s.F)) {
				t.Errorf("histogram %d, q %g: %v, PromQL %v (buckets %v)", h, q, got, s.F, want[h])
			}
			compared++
		}
		query.Close()
	}
	t.Logf("%d quantiles agree with PromQL's histogram_quantile", compared)
}

// TestRecordedLatencyUnits converts the recorded buckets to milliseconds by their unit, and
// prefers milliseconds when a cluster has both, as the rules' or does.
func TestRecordedLatencyUnits(t *testing.T) {
	inf := math.Inf(1)
	seconds := &rowParts{Row: Row{P50: NoData, P90: NoData, P99: NoData}}
	seconds.buckets[promql.Seconds] = hist(0.1, 5, 1, 10, inf, 10)
	recordedLatency(seconds)
	// p50: rank 5 ends (0, 0.1]: 100 ms; p90: rank 9 in (0.1, 1] holding 5 from 5: 100 + 900*4/5.
	if seconds.P50 != 100 || math.Abs(seconds.P90-820) > 1e-9 || math.Abs(seconds.P99-982) > 1e-9 {
		t.Errorf("seconds: p50 %v p90 %v p99 %v", seconds.P50, seconds.P90, seconds.P99)
	}
	both := &rowParts{}
	both.buckets[promql.Seconds] = hist(0.1, 5, 1, 10, inf, 10)
	both.buckets[promql.Milliseconds] = hist(10, 10, inf, 10)
	recordedLatency(both)
	if both.P50 != 5 || both.P99 != 9.9 {
		t.Errorf("both units: p50 %v p99 %v, want the milliseconds' 5 and 9.9", both.P50, both.P99)
	}
	none := &rowParts{Row: Row{P50: NoData, P90: NoData, P99: NoData}}
	recordedLatency(none)
	if Known(none.P50) || Known(none.P90) || Known(none.P99) {
		t.Errorf("no buckets: %+v", none.Row)
	}
}
