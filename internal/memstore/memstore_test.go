package memstore

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

func read(t *testing.T, s *Store, mint, maxt int64, ms ...*labels.Matcher) map[string][][2]float64 {
	t.Helper()
	q, err := s.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	out := map[string][][2]float64{}
	set := q.Select(context.Background(), true, nil, ms...)
	var it chunkenc.Iterator
	for set.Next() {
		sr := set.At()
		it = sr.Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			out[sr.Labels().String()] = append(out[sr.Labels().String()], [2]float64{float64(ts), v})
		}
	}
	if set.Err() != nil {
		t.Fatal(set.Err())
	}
	return out
}

func TestSamplesArriveInAnyOrder(t *testing.T) {
	s := New()
	a := labels.FromStrings("__name__", "m", "pod", "a")
	b := labels.FromStrings("__name__", "m", "pod", "b")
	s.Append([]Sample{{a, 30, 3}, {a, 10, 1}, {b, 5, 50}})
	s.Append([]Sample{{a, 20, 2}, {a, 40, 4}, {a, 10, 1.5}}) // 10 again: replaced
	got := read(t, s, 10, 30, labels.MustNewMatcher(labels.MatchEqual, "pod", "a"))
	want := [][2]float64{{10, 1.5}, {20, 2}, {30, 3}}
	if len(got) != 1 || len(got[a.String()]) != len(want) {
		t.Fatalf("read %v, want only %s: %v", got, a, want)
	}
	for i, p := range want {
		if got[a.String()][i] != p {
			t.Errorf("sample %d = %v, want %v", i, got[a.String()][i], p)
		}
	}
	if n := s.Series(); n != 2 {
		t.Errorf("%d series, want 2", n)
	}
	if got := read(t, s, 0, 100, labels.MustNewMatcher(labels.MatchRegexp, "pod", "a|b")); len(got) != 2 {
		t.Errorf("a regexp matcher selected %d series, want 2", len(got))
	}
	if got := read(t, s, 31, 39); len(got) != 0 {
		t.Errorf("a range without samples read %v", got)
	}
}

func TestSeekStopsAtTheFirstSampleAtOrAfter(t *testing.T) {
	s := &listSeries{lset: labels.EmptyLabels(), ts: []int64{10, 20, 30}, vs: []float64{1, 2, 3}}
	it := s.Iterator(nil)
	if it.Seek(15) != chunkenc.ValFloat || it.AtT() != 20 {
		t.Fatalf("Seek(15) is at %d, want 20", it.AtT())
	}
	if it.Seek(5) != chunkenc.ValFloat || it.AtT() != 20 {
		t.Errorf("Seek backwards moved to %d; it must stay at 20", it.AtT())
	}
	if it.Next() != chunkenc.ValFloat || it.AtT() != 30 {
		t.Errorf("Next after 20 is at %d, want 30", it.AtT())
	}
	if it.Next() != chunkenc.ValNone || it.Seek(40) != chunkenc.ValNone {
		t.Error("the iterator went past its last sample")
	}
}

// TestTheEngineReadsTheStore evaluates PromQL over the store: a rate over a counter written
// backwards, and a staleness marker that ends a series.
func TestTheEngineReadsTheStore(t *testing.T) {
	s := New()
	c := labels.FromStrings("__name__", "c_total", "job", "x")
	g := labels.FromStrings("__name__", "g", "job", "x")
	for i := 60; i >= 0; i-- { // a counter growing by 2 per second, every second, written last to first
		s.Append([]Sample{{c, int64(i) * 1000, float64(2 * i)}})
	}
	s.Append([]Sample{{g, 0, 7}, {g, 30_000, math.Float64frombits(value.StaleNaN)}})
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1 << 20, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	eval := func(expr string, at int64) promql.Vector {
		t.Helper()
		q, err := engine.NewInstantQuery(context.Background(), storage.Queryable(s), nil, expr, time.UnixMilli(at))
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		res := q.Exec(context.Background())
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		v, err := res.Vector()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := eval("rate(c_total[30s])", 60_000); len(v) != 1 || math.Abs(v[0].F-2) > 1e-9 {
		t.Errorf("rate = %v, want 2/s", v)
	}
	if v := eval("g", 20_000); len(v) != 1 || v[0].F != 7 {
		t.Errorf("g before its stale marker = %v, want 7", v)
	}
	if v := eval("g", 40_000); len(v) != 0 {
		t.Errorf("g after its stale marker = %v, want nothing", v)
	}
}

func TestDeleteRange(t *testing.T) {
	s := New()
	a := labels.FromStrings("__name__", "m", "pod", "a")
	b := labels.FromStrings("__name__", "m", "pod", "b")
	s.Append([]Sample{{a, 10, 1}, {a, 20, 2}, {a, 30, 3}, {a, 40, 4}, {b, 20, 20}, {b, 25, 25}})
	s.DeleteRange(20, 40)
	got := read(t, s, 0, 100)
	if want := [][2]float64{{10, 1}, {40, 4}}; len(got) != 1 || len(got[a.String()]) != 2 || got[a.String()][0] != want[0] || got[a.String()][1] != want[1] {
		t.Errorf("after deleting [20, 40): %v, want only %s: %v", got, a, want)
	}
	if n := s.Series(); n != 1 {
		t.Errorf("%d series, want 1: a series without samples is deleted", n)
	}
	if n := s.Samples(); n != 2 {
		t.Errorf("%d samples, want 2", n)
	}
}
