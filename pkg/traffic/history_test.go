package traffic

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// rangeFake answers a range query at every step with what answers gives for the query, every
// value times scale(step), so that step i of a History must equal a Frame over the same scaled
// answers. skip drops the points of a cluster at a step, as Prometheus leaves out a step without
// data.
type rangeFake struct {
	fakeQuerier
	scale func(step int) float64
	skip  func(cluster string, step int) bool
	err   error

	rmu    sync.Mutex
	ranges []string
}

func (r *rangeFake) QueryRange(_ context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, []string, error) {
	r.rmu.Lock()
	r.ranges = append(r.ranges, q)
	r.rmu.Unlock()
	if r.err != nil {
		return nil, nil, r.err
	}
	var out model.Matrix
	for _, s := range r.answers(q) {
		ss := &model.SampleStream{Metric: model.Metric{}}
		s.Metric.Range(func(l labels.Label) { ss.Metric[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
		for i := 0; !start.Add(time.Duration(i) * step).After(end); i++ {
			if r.skip != nil && (r.skip(s.Metric.Get(promql.LabelCluster), i) || r.skip(s.Metric.Get(promql.DialectEnvoy.Cluster), i)) {
				continue
			}
			at := start.Add(time.Duration(i) * step)
			ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(at.UnixNano()), Value: model.SampleValue(s.Value * r.scale(i))})
		}
		out = append(out, ss)
	}
	return out, []string{"range warning"}, nil
}

// scaled answers like answers, every value times k.
func scaled(answers func(string) Vector, k float64) func(string) Vector {
	return func(q string) Vector {
		v := answers(q)
		out := make(Vector, len(v))
		for i, s := range v {
			out[i] = Sample{Metric: s.Metric, Value: s.Value * k}
		}
		return out
	}
}

// TestHistoryAgreesWithRefreshes reads a history of raw and of recorded series and checks every
// step against a refresh over the same answers: the same expressions, the same fold, the same
// success ratio and percentiles derived from the recorded sums.
func TestHistoryAgreesWithRefreshes(t *testing.T) {
	d := promql.DialectEnvoy
	cases := []struct {
		name    string
		source  Source
		answers func(string) Vector
	}{
		{"raw", SourceRaw, clusterAnswers(d, 3)},
		{"rules", SourceRules, ruleAnswers(d, true)},
	}
	scale := func(i int) float64 { return 1 + 0.001*float64(i) }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rf := &rangeFake{fakeQuerier: fakeQuerier{answers: tc.answers}, scale: scale}
			c, err := NewCollector(rf, Config{Dialect: d, Selector: promql.Namespace("team-a"), Window: time.Minute, Source: tc.source})
			if err != nil {
				t.Fatal(err)
			}
			at := time.Unix(100000, 0)
			h, err := c.History(context.Background(), at, 4*time.Minute, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if h.Steps != 5 || !h.At(4).Equal(at) || h.Step != time.Minute || h.Source != tc.source || h.Window != c.cfg.Window {
				t.Errorf("history of %d steps from %v every %v (%s, %v)", h.Steps, h.Start, h.Step, h.Source, h.Window)
			}
			if len(h.Warnings) != 1 || h.Warnings[0] != "range warning" {
				t.Errorf("warnings %q", h.Warnings)
			}
			// One range query per trend number, each the refresh's own expression: raw, rps,
			// success and three percentiles; the rules, the three sums, the classic buckets of
			// each unit and the native histograms' three percentiles.
			want := 5
			if tc.source == SourceRules {
				want = 8
			}
			if len(rf.ranges) != want {
				t.Errorf("%d range queries, want %d: %q", len(rf.ranges), want, rf.ranges)
			}
			for _, q := range rf.ranges {
				if !strings.Contains(strings.Join(c.Queries(), "\n"), q) {
					t.Errorf("range query %q is not one of the refresh's", q)
				}
			}
			compared := 0
			for i := range h.Steps {
				fq := &fakeQuerier{answers: scaled(tc.answers, scale(i))}
				ref, err := NewCollector(fq, Config{Dialect: d, Selector: promql.Namespace("team-a"), Window: time.Minute, Source: tc.source})
				if err != nil {
					t.Fatal(err)
				}
				f, err := ref.Frame(context.Background(), h.At(i))
				if err != nil {
					t.Fatal(err)
				}
				if len(f.Rows) != len(h.Clusters) {
					t.Errorf("step %d: %d rows, %d clusters in the history", i, len(f.Rows), len(h.Clusters))
				}
				for _, r := range f.Rows {
					tr, ok := h.Clusters[r.Name]
					if !ok {
						t.Errorf("step %d: no history of %q", i, r.Name)
						continue
					}
					for _, p := range []struct {
						field     string
						got, want float64
					}{
						{"rps", tr.RPS[i], r.RPS}, {"success", tr.Success[i], r.Success},
						{"p50", tr.P50[i], r.P50}, {"p90", tr.P90[i], r.P90}, {"p99", tr.P99[i], r.P99},
					} {
						if !sameNumber(p.got, p.want) {
							t.Errorf("step %d %s %s = %v, the refresh says %v", i, r.Name, p.field, p.got, p.want)
						}
						if Known(p.want) {
							compared++
						}
					}
				}
			}
			if compared < 5*h.Steps {
				t.Errorf("only %d numbers compared", compared)
			}
		})
	}
}

func TestHistoryQueriesDoNotGrowWithClusters(t *testing.T) {
	for _, n := range []int{20, 2000} {
		rf := &rangeFake{fakeQuerier: fakeQuerier{answers: clusterAnswers(promql.DialectEnvoy, n)}, scale: func(int) float64 { return 1 }}
		c := newCollector(t, rf, promql.DialectEnvoy)
		h, err := c.History(context.Background(), time.Unix(100000, 0), 15*time.Minute, 90*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(rf.ranges) != 5 || len(c.HistoryQueries()) != 5 || len(rf.seen) != 0 {
			t.Errorf("%d clusters: %d range queries (%d listed) and %d instant ones, want 5, 5 and 0", n, len(rf.ranges), len(c.HistoryQueries()), len(rf.seen))
		}
		if len(h.Clusters) != n+2 || h.Steps != 11 {
			t.Errorf("%d clusters: history of %d clusters and %d steps", n, len(h.Clusters), h.Steps)
		}
	}
}

func TestHistoryGapsAndFailures(t *testing.T) {
	d := promql.DialectEnvoy
	rf := &rangeFake{fakeQuerier: fakeQuerier{answers: clusterAnswers(d, 2)}, scale: func(int) float64 { return 1 },
		skip: func(cluster string, step int) bool { return cluster == "c1" && step == 1 }}
	c := newCollector(t, rf, d)
	h, err := c.History(context.Background(), time.Unix(100000, 0), 2*time.Minute, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c1 := h.Clusters["c1"]
	if !Known(c1.RPS[0]) || Known(c1.RPS[1]) || Known(c1.P99[1]) || !Known(c1.RPS[2]) {
		t.Errorf("c1 without data at step 1: rps %v p99 %v", c1.RPS, c1.P99)
	}
	if c0 := h.Clusters["c0"]; !Known(c0.RPS[1]) {
		t.Errorf("c0 lost step 1: %v", c0.RPS)
	}

	rf.err = errors.New("range queries refused")
	if _, err := c.History(context.Background(), time.Unix(100000, 0), time.Minute, time.Minute); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a failed range query gave %v", err)
	}
	only := newCollector(t, &fakeQuerier{answers: clusterAnswers(d, 2)}, d)
	if _, err := only.History(context.Background(), time.Unix(100000, 0), time.Minute, time.Minute); !errors.Is(err, ErrNoRangeQueries) {
		t.Errorf("a querier without range queries gave %v", err)
	}
	for _, bad := range []struct{ span, step time.Duration }{{time.Minute, 0}, {-time.Minute, time.Second}, {48 * time.Hour, time.Second}} {
		if _, err := c.History(context.Background(), time.Unix(100000, 0), bad.span, bad.step); err == nil {
			t.Errorf("a history of %v every %v was read", bad.span, bad.step)
		}
	}
}

func TestStepOf(t *testing.T) {
	start := time.Unix(1000, 0)
	for _, tt := range []struct {
		at   time.Time
		want int
		ok   bool
	}{
		{start, 0, true},
		{start.Add(2 * time.Minute), 2, true},
		{start.Add(2*time.Minute + time.Millisecond/2), 2, true},
		{start.Add(90 * time.Second), 0, false},
		{start.Add(-time.Minute), 0, false},
		{start.Add(3 * time.Minute), 0, false},
	} {
		j, ok := stepOf(tt.at, start, time.Minute, 3)
		if j != tt.want || ok != tt.ok {
			t.Errorf("stepOf(%v) = %d %v, want %d %v", tt.at.Sub(start), j, ok, tt.want, tt.ok)
		}
	}
}

// BenchmarkHistory reads a 15-minute history at the dashboard's 90s step for 20 and 2,000
// clusters: queries/op is the range queries one back-fill sends, the same for both.
func BenchmarkHistory(b *testing.B) {
	for _, n := range []int{20, 2000} {
		for _, group := range []GroupBy{GroupByCluster, GroupByRoute, GroupByVhost} {
			b.Run(fmt.Sprintf("clusters=%d/group=%s", n, group), func(b *testing.B) {
				rf := &rangeFake{fakeQuerier: fakeQuerier{answers: clusterAnswers(promql.DialectEnvoy, n)}, scale: func(int) float64 { return 1 }}
				c, err := NewCollector(rf, Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("team-a"), Window: time.Minute, GroupBy: group})
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := c.History(context.Background(), time.Unix(100000, 0), 15*time.Minute, 90*time.Second); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(rf.ranges))/float64(b.N), "queries/op")
			})
		}
	}
	// From the recording rules: the records' own fixed answers, so only the count says much.
	b.Run("rules", func(b *testing.B) {
		rf := &rangeFake{fakeQuerier: fakeQuerier{answers: ruleAnswers(promql.DialectEnvoy, false)}, scale: func(int) float64 { return 1 }}
		c, err := NewCollector(rf, Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("team-a"), Source: SourceRules})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := c.History(context.Background(), time.Unix(100000, 0), 15*time.Minute, 90*time.Second); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(rf.ranges))/float64(b.N), "queries/op")
	})
}

// BenchmarkPast reads the pasts of the vs view (1h, 1d and 1w ago) of n clusters from a fake
// that answers every instant query, and counts the queries: one per trend number and offset,
// whatever the number of clusters.
func BenchmarkPast(b *testing.B) {
	for _, n := range []int{20, 2000} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			f := &fakeQuerier{answers: clusterAnswers(promql.DialectEnvoy, n)}
			c, err := NewCollector(f, Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("team-a"), Window: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := c.Past(context.Background(), time.Unix(1000000, 0), Offsets); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(f.seen))/float64(b.N), "queries/op")
		})
	}
}
