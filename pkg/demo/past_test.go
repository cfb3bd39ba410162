package demo

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// TestDemoComparesWithThePast reads the default demo fleet an hour, a day and a week ago, from
// Envoy's series and from the recording rules: the demo writes the stretches of the past the
// queries read when they are first read, and every busy cluster's rate there is the truth over
// the window that ended then. shop_search_9200's launch two days ago stands out against a week
// ago, and nothing against a day ago (the daily shape repeats).
func TestDemoComparesWithThePast(t *testing.T) {
	f := envoysim.DemoFleet(now.Add(-fleetAge))
	envoysim.DemoHistory(f, now)
	// Without the minutes-long waves, the comparisons are the daily shape's and the launch's alone.
	for i := range f.Clusters {
		f.Clusters[i].Wave = 0
	}
	q, err := NewWithOptions(now, Options{Fleet: f})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, source := range []traffic.Source{traffic.SourceRaw, traffic.SourceRules} {
		t.Run(string(source), func(t *testing.T) {
			window := time.Minute
			if source == traffic.SourceRules {
				window = promql.RuleWindow
			}
			src := traffic.NewAuto(q, traffic.Config{Selector: promql.Namespace(Namespace), Source: source, Window: window})
			at := now.Add(10 * time.Second)
			begin := time.Now()
			pasts, err := src.Past(context.Background(), at, traffic.Offsets)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: three pasts written and read in %s", source, time.Since(begin).Round(time.Millisecond))
			frame, err := src.Frame(context.Background(), at)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, p := range pasts {
				for _, c := range f.Clusters {
					if c.RPS < 10 {
						continue
					}
					r, ok := p.Rows[c.Name]
					want := f.TruthBetween(c, p.At.Add(-window), p.At)
					if !ok || math.Abs(r.RPS-want.RPS) > 0.01*want.RPS {
						t.Errorf("%s ago: %s rps %v (row %v), truth %v", p.Offset, c.Name, r.RPS, ok, want.RPS)
					}
					// A minute of the quieter clusters' errors, floored per pod, is a few requests.
					if !ok || math.Abs(r.Success-want.Success) > 0.01 {
						t.Errorf("%s ago: %s success %v, truth %v", p.Offset, c.Name, r.Success, want.Success)
					}
					checked++
				}
			}
			if checked < 15 {
				t.Errorf("only %d rows checked", checked)
			}
			for _, r := range frame.Rows {
				if r.Name != "shop_search_9200" {
					continue
				}
				changes := traffic.Compare(r, pasts)
				b, ok := traffic.Biggest(changes)
				if !ok || b.Offset != 7*24*time.Hour || b.Metric != traffic.MetricRPS || math.Abs(b.Now/b.Then-2.5) > 0.05 {
					t.Errorf("shop_search_9200's biggest change %+v, want its rps ×2.5 against a week ago", b)
				}
				for _, c := range changes {
					if c.Offset == 24*time.Hour && c.Score > 0.05 {
						t.Errorf("shop_search_9200 moved against a day ago: %+v", c)
					}
				}
			}
			// A second read writes nothing more: the same instants are on hand.
			scraped := len(q.pastScraped)
			if _, err := src.Past(context.Background(), at, traffic.Offsets); err != nil || len(q.pastScraped) != scraped {
				t.Errorf("a second read: %v, %d more scrapes", err, len(q.pastScraped)-scraped)
			}
		})
	}
}

// TestLongRunningDemoKeepsItsMemory runs the demo for four simulated hours: the live scrapes
// older than liveKeep are deleted, so the samples held stay bounded, and an hour ago (live
// data) and three and a half hours ago (written again as the past) still read the truth.
func TestLongRunningDemoKeepsItsMemory(t *testing.T) {
	f := &envoysim.Fleet{
		Start:    now.Add(-time.Hour),
		Pods:     []string{"envoy-a", "envoy-b"},
		Clusters: []envoysim.Cluster{{Name: "steady_8080", RPS: 40, ErrorRatio: 0.02, Latency: envoysim.Uniform(1, 5)}},
	}
	q, err := NewWithOptions(now, Options{Fleet: f})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	series := q.db.Series()
	// At most liveKeep, trimEvery and a refresh's worth of every series' scrapes, with room for the
	// series the rules record on their coarser grid.
	bound := series * int((liveKeep+trimEvery+time.Minute)/ScrapeInterval)
	src := traffic.NewAuto(q, traffic.Config{Selector: promql.Namespace(Namespace), Source: traffic.SourceRaw, Window: time.Minute})
	end := now.Add(4 * time.Hour)
	for at := now; !at.After(end); at = at.Add(time.Minute) {
		if _, err := q.Query(context.Background(), "up", at); err != nil {
			t.Fatal(err)
		}
		if n := q.db.Samples(); n > bound {
			t.Fatalf("at +%s the demo holds %d samples of %d series, more than %d", at.Sub(now), n, series, bound)
		}
	}
	if !q.liveFrom.After(now) {
		t.Fatalf("liveFrom %s: nothing was trimmed", q.liveFrom)
	}
	pasts, err := src.Past(context.Background(), end, []time.Duration{time.Hour, 3*time.Hour + 30*time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pasts {
		r, ok := p.Rows["steady_8080"]
		want := f.TruthBetween(f.Clusters[0], p.At.Add(-time.Minute), p.At)
		if !ok || math.Abs(r.RPS-want.RPS) > 0.01*want.RPS {
			t.Errorf("%s ago: rps %v (row %v), truth %v", p.Offset, r.RPS, ok, want.RPS)
		}
	}
}
