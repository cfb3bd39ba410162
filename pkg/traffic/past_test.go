package traffic

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// instantFake answers every query with answers scaled by scale(at), recording each instant.
type instantFake struct {
	answers func(string) Vector
	scale   func(at time.Time) float64

	mu   sync.Mutex
	seen map[time.Time][]string
}

func (f *instantFake) Query(_ context.Context, q string, at time.Time) (Result, error) {
	f.mu.Lock()
	if f.seen == nil {
		f.seen = map[time.Time][]string{}
	}
	f.seen[at] = append(f.seen[at], q)
	f.mu.Unlock()
	return Result{Vector: scaled(f.answers, f.scale(at))(q), Warnings: []string{"past warning"}}, nil
}

// TestPastAgreesWithRefreshes reads three pasts of raw and of recorded series and checks each
// against a refresh at the past instant over the same answers: the trend queries only, at the
// instants offset before the refresh's, folded and finished as a refresh does.
func TestPastAgreesWithRefreshes(t *testing.T) {
	d := promql.DialectEnvoy
	at := time.Unix(2_000_000, 0)
	scale := func(t time.Time) float64 { return 1 + at.Sub(t).Hours()/100 }
	for _, tc := range []struct {
		name    string
		source  Source
		answers func(string) Vector
		trend   int
	}{
		{"raw", SourceRaw, clusterAnswers(d, 3), 5},
		{"rules", SourceRules, ruleAnswers(d, true), 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &instantFake{answers: tc.answers, scale: scale}
			cfg := Config{Dialect: d, Selector: promql.Namespace("team-a"), Window: time.Minute, Source: tc.source}
			c, err := NewCollector(f, cfg)
			if err != nil {
				t.Fatal(err)
			}
			pasts, err := c.Past(context.Background(), at, Offsets)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.PastQueries(len(Offsets)); got != 3*tc.trend {
				t.Errorf("PastQueries(3) = %d, want %d", got, 3*tc.trend)
			}
			if len(f.seen) != 3 {
				t.Errorf("queries at %d instants, want 3", len(f.seen))
			}
			for when, qs := range f.seen {
				if len(qs) != tc.trend {
					t.Errorf("%d queries at -%s, want %d", len(qs), at.Sub(when), tc.trend)
				}
				for _, q := range qs {
					if !strings.Contains(strings.Join(c.HistoryQueries(), "\n"), q) {
						t.Errorf("past query %q is not a trend query", q)
					}
				}
			}
			if len(pasts) != 3 {
				t.Fatalf("%d pasts, want 3", len(pasts))
			}
			compared := 0
			for i, p := range pasts {
				if p.Offset != Offsets[i] || !p.At.Equal(at.Add(-Offsets[i])) {
					t.Errorf("past %d is %s before, at %v", i, p.Offset, p.At)
				}
				if len(p.Warnings) != 1 || p.Warnings[0] != "past warning" {
					t.Errorf("past %d warnings %q", i, p.Warnings)
				}
				ref, err := NewCollector(&instantFake{answers: tc.answers, scale: scale}, cfg)
				if err != nil {
					t.Fatal(err)
				}
				fr, err := ref.Frame(context.Background(), p.At)
				if err != nil {
					t.Fatal(err)
				}
				if len(fr.Rows) != len(p.Rows) {
					t.Errorf("past %s: %d rows, the refresh has %d", p.Offset, len(p.Rows), len(fr.Rows))
				}
				for _, r := range fr.Rows {
					got, ok := p.Rows[r.Name]
					if !ok {
						t.Errorf("past %s: no row %q", p.Offset, r.Name)
						continue
					}
					for _, n := range []struct {
						field     string
						got, want float64
					}{
						{"rps", got.RPS, r.RPS}, {"success", got.Success, r.Success},
						{"p50", got.P50, r.P50}, {"p90", got.P90, r.P90}, {"p99", got.P99, r.P99},
					} {
						if !sameNumber(n.got, n.want) {
							t.Errorf("past %s %s %s = %v, the refresh at that instant says %v", p.Offset, r.Name, n.field, n.got, n.want)
						}
						if Known(n.want) {
							compared++
						}
					}
					if Known(got.Active) || Known(got.Err4xx) || Known(got.Err5xx) {
						t.Errorf("past %s %s: numbers that were not read: active %v, 4xx %v, 5xx %v", p.Offset, r.Name, got.Active, got.Err4xx, got.Err5xx)
					}
					if got.Namespace != r.Namespace || got.Service != r.Service {
						t.Errorf("past %s %s: service %s/%s, the refresh says %s/%s", p.Offset, r.Name, got.Namespace, got.Service, r.Namespace, r.Service)
					}
				}
			}
			if compared < 3*5 {
				t.Errorf("only %d numbers compared", compared)
			}
		})
	}
}

func TestPastQueriesDoNotGrowWithClusters(t *testing.T) {
	for _, n := range []int{20, 2000} {
		f := &instantFake{answers: clusterAnswers(promql.DialectEnvoy, n), scale: func(time.Time) float64 { return 1 }}
		c := newCollector(t, f, promql.DialectEnvoy)
		pasts, err := c.Past(context.Background(), time.Unix(2_000_000, 0), Offsets)
		if err != nil {
			t.Fatal(err)
		}
		sent := 0
		for _, qs := range f.seen {
			sent += len(qs)
		}
		fr, err := c.Frame(context.Background(), time.Unix(2_000_000, 0))
		if err != nil {
			t.Fatal(err)
		}
		if sent != 15 || len(pasts[2].Rows) != len(fr.Rows) || len(fr.Rows) < n {
			t.Errorf("%d clusters: %d queries (want 15), %d rows a week ago, %d now", n, sent, len(pasts[2].Rows), len(fr.Rows))
		}
	}
}

func TestPastRejectsBadOffsets(t *testing.T) {
	c := newCollector(t, &instantFake{answers: clusterAnswers(promql.DialectEnvoy, 1), scale: func(time.Time) float64 { return 1 }}, promql.DialectEnvoy)
	for _, offsets := range [][]time.Duration{{0}, {time.Hour, -time.Minute}, make([]time.Duration, 9)} {
		if _, err := c.Past(context.Background(), time.Unix(2_000_000, 0), offsets); err == nil {
			t.Errorf("offsets %v: no error", offsets)
		}
	}
}

func TestParseOffsets(t *testing.T) {
	got, err := ParseOffsets("1h, 1d,1w,90m")
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 90 * time.Minute}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("offset %d: %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "1h,", "0s", "-1h", "1h,60m", "1x", "1h,2h,3h,4h,5h,6h,7h,8h,9h", "\x1b[31m1h"} {
		if _, err := ParseOffsets(bad); err == nil {
			t.Errorf("%q: no error", bad)
		} else if strings.ContainsRune(err.Error(), '\x1b') {
			t.Errorf("%q: the error carries the escape: %v", bad, err)
		}
	}
}

func TestCompare(t *testing.T) {
	row := Row{Name: "web", RPS: 200, Success: 0.95, P99: 120}
	pasts := []Past{
		{Offset: time.Hour, Rows: map[string]Row{"web": {Name: "web", RPS: 180, Success: 0.999, P99: 110}}},
		{Offset: 24 * time.Hour, Rows: map[string]Row{"web": {Name: "web", RPS: 50, Success: 0.95, P99: 118}}},
		{Offset: 7 * 24 * time.Hour, Rows: map[string]Row{"other": {Name: "other", RPS: 1}}},
		{Offset: 2 * time.Hour, Rows: map[string]Row{"web": {Name: "web", RPS: NoData, Success: NoData, P99: NoData}}},
	}
	got := Compare(row, pasts)
	if len(got) != 2 {
		t.Fatalf("%d changes, want 2 (one past has no web, one has no numbers): %+v", len(got), got)
	}
	// An hour ago: errors went from 0.1% (floored to 1%) to 5%, ln 5 = 1.61, more than the
	// RPS (ln 200/180 = 0.105) and p99 moves.
	if c := got[0]; c.Offset != time.Hour || c.Metric != MetricErrors || math.Abs(c.Score-math.Log(5)) > 1e-9 || math.Abs(c.Now-0.05) > 1e-12 {
		t.Errorf("an hour ago: %+v, want errors scored ln 5", c)
	}
	// A day ago: four times the traffic, ln 4 = 1.39.
	if c := got[1]; c.Offset != 24*time.Hour || c.Metric != MetricRPS || math.Abs(c.Score-math.Log(4)) > 1e-9 || c.Then != 50 {
		t.Errorf("a day ago: %+v, want rps scored ln 4", c)
	}
	if b, ok := Biggest(got); !ok || b.Offset != time.Hour {
		t.Errorf("biggest %+v, want the hour's", b)
	}
	if _, ok := Biggest(nil); ok {
		t.Error("a biggest change of none")
	}
	// A cluster that was idle and now serves scores as a thousandfold rise.
	woke := Compare(Row{Name: "web", RPS: 5, Success: NoData, P99: NoData}, []Past{{Offset: time.Hour, Rows: map[string]Row{"web": {Name: "web", RPS: 0, Success: NoData, P99: NoData}}}})
	if len(woke) != 1 || woke[0].Metric != MetricRPS || math.Abs(woke[0].Score-math.Log(1000)) > 1e-9 {
		t.Errorf("woken cluster: %+v", woke)
	}
}
