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
