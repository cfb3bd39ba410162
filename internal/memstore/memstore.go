// Package memstore keeps float samples in memory and serves them to Prometheus' PromQL engine
// as a storage.Queryable: the storage of `top --demo` and of tests that evaluate PromQL over
// samples they write. Samples may arrive in any order (the demo writes the distant past when it
// is first read); a sample at an instant a series already has replaces it.
//
// It stands in for Prometheus' TSDB, whose package brings in the cloud SDKs of Prometheus'
// configuration (several hundred packages) that neither the demo nor its tests use.
package memstore

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// Store is a set of series. It is safe for concurrent use: queries read copies of the samples
// they select, so appends never change what a running query sees.
type Store struct {
	mu     sync.RWMutex
	series map[string]*series
	buf    []byte
}

type series struct {
	lset labels.Labels
	ts   []int64 // ascending, no repeats
	vs   []float64
}

// New returns an empty store.
func New() *Store { return &Store{series: map[string]*series{}} }

// Sample is one sample of a batch.
type Sample struct {
	Labels labels.Labels
	T      int64 // unix milliseconds
	V      float64
}

// Append writes a batch of samples at once: a query sees all of them or none.
func (s *Store) Append(batch []Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, smpl := range batch {
		s.buf = smpl.Labels.Bytes(s.buf)
		sr, ok := s.series[string(s.buf)]
		if !ok {
			sr = &series{lset: smpl.Labels}
			s.series[string(s.buf)] = sr
		}
		sr.add(smpl.T, smpl.V)
	}
}

// add inserts a sample in time order; a later write at the same instant replaces the earlier.
func (sr *series) add(t int64, v float64) {
	n := len(sr.ts)
	if n == 0 || sr.ts[n-1] < t {
		sr.ts = append(sr.ts, t)
		sr.vs = append(sr.vs, v)
		return
	}
	i, found := slices.BinarySearch(sr.ts, t)
	if found {
		sr.vs[i] = v
		return
	}
	sr.ts = slices.Insert(sr.ts, i, t)
	sr.vs = slices.Insert(sr.vs, i, v)
}

// DeleteRange removes the samples from mint (inclusive) to maxt (exclusive), unix
// milliseconds, and every series left without samples.
func (s *Store) DeleteRange(mint, maxt int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, sr := range s.series {
		from, _ := slices.BinarySearch(sr.ts, mint)
		to, _ := slices.BinarySearch(sr.ts, maxt)
		if from >= to {
			continue
		}
		sr.ts = slices.Delete(sr.ts, from, to)
		sr.vs = slices.Delete(sr.vs, from, to)
		if len(sr.ts) == 0 {
			delete(s.series, key)
		}
	}
}

// Samples is the number of samples stored.
func (s *Store) Samples() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, sr := range s.series {
		n += len(sr.ts)
	}
	return n
}

// Series is the number of series stored.
func (s *Store) Series() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.series)
}

// Querier reads the samples from mint to maxt (unix milliseconds, inclusive).
func (s *Store) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{store: s, mint: mint, maxt: maxt}, nil
}

type querier struct {
	store      *Store
	mint, maxt int64
}

// Select returns copies of the matching series' samples in the querier's range, sorted by labels.
func (q *querier) Select(_ context.Context, _ bool, hints *storage.SelectHints, matchers ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	s := q.store
	s.mu.RLock()
	var out []*listSeries
	for _, sr := range s.series {
		if !matches(sr.lset, matchers) {
			continue
		}
		from := sort.Search(len(sr.ts), func(i int) bool { return sr.ts[i] >= mint })
		to := sort.Search(len(sr.ts), func(i int) bool { return sr.ts[i] > maxt })
		if from >= to {
			continue
		}
		out = append(out, &listSeries{lset: sr.lset, ts: slices.Clone(sr.ts[from:to]), vs: slices.Clone(sr.vs[from:to])})
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *listSeries) int { return labels.Compare(a.lset, b.lset) })
	return &seriesSet{list: out, i: -1}
}

func matches(lset labels.Labels, matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// LabelValues returns the sorted values of name among the matching series.
func (q *querier) LabelValues(_ context.Context, name string, _ *storage.LabelHints, matchers ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.labelSet(matchers, func(lset labels.Labels, add func(string)) {
		if v := lset.Get(name); v != "" {
			add(v)
		}
	}), nil, nil
}

// LabelNames returns the sorted label names of the matching series.
func (q *querier) LabelNames(_ context.Context, _ *storage.LabelHints, matchers ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.labelSet(matchers, func(lset labels.Labels, add func(string)) {
		lset.Range(func(l labels.Label) { add(l.Name) })
	}), nil, nil
}

func (q *querier) labelSet(matchers []*labels.Matcher, each func(labels.Labels, func(string))) []string {
	seen := map[string]bool{}
	q.store.mu.RLock()
	for _, sr := range q.store.series {
		if matches(sr.lset, matchers) {
			each(sr.lset, func(v string) { seen[v] = true })
		}
	}
	q.store.mu.RUnlock()
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func (q *querier) Close() error { return nil }

type seriesSet struct {
	list []*listSeries
	i    int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.list) }
func (s *seriesSet) At() storage.Series                { return s.list[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// listSeries is one series' samples, copied out of the store.
type listSeries struct {
	lset labels.Labels
	ts   []int64
	vs   []float64
}

func (s *listSeries) Labels() labels.Labels { return s.lset }

// Iterator walks the samples with storage's list iterator.
func (s *listSeries) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	return storage.NewListSeriesIterator(samples{s})
}

// samples is a listSeries as storage.Samples.
type samples struct{ s *listSeries }

func (l samples) Get(i int) chunks.Sample { return fsample{l.s.ts[i], l.s.vs[i]} }
func (l samples) Len() int                { return len(l.s.ts) }

// fsample is one float sample.
type fsample struct {
	t int64
	v float64
}

func (s fsample) T() int64                      { return s.t }
func (s fsample) ST() int64                     { return 0 }
func (s fsample) F() float64                    { return s.v }
func (s fsample) H() *histogram.Histogram       { return nil }
func (s fsample) FH() *histogram.FloatHistogram { return nil }
func (s fsample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s fsample) Copy() chunks.Sample           { return s }
