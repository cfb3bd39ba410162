package envoysim

import (
	"math"
	"testing"
	"time"
)

// TestDailyShape pins the daily shape: the rate peaks at 14:00 UTC and bottoms out at 02:00 UTC,
// the counters are its exact integral (a day's requests are RPS × a day, whatever the start), and
// the same time on two days has the same rate.
func TestDailyShape(t *testing.T) {
	start := time.Date(2026, 11, 20, 9, 17, 3, 0, time.UTC)
	f := &Fleet{Start: start, Clusters: []Cluster{{Name: "web", RPS: 100, Daily: 0.5}}}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	c := f.Clusters[0]
	rateAt := func(at time.Time) float64 {
		const h = 30 * time.Second
		return (f.Requests(c, at.Add(h)) - f.Requests(c, at.Add(-h))) / (2 * h).Seconds()
	}
	for _, tc := range []struct {
		at   time.Time
		want float64
	}{
		{time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC), 150},
		{time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC), 50},
		{time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), 100},
		{time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC), 100},
	} {
		if got := rateAt(tc.at); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("rate at %s: %v, want %v", tc.at.Format(time.Kitchen), got, tc.want)
		}
		if got := 100 * DailyLevel(0.5, tc.at); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("DailyLevel at %s: %v, want %v", tc.at.Format(time.Kitchen), got, tc.want/100)
		}
	}
	day := 24 * time.Hour
	from := start.Add(5 * time.Hour)
	if got := f.Requests(c, from.Add(day)) - f.Requests(c, from); math.Abs(got-100*day.Seconds()) > 1e-3 {
		t.Errorf("a day's requests: %v, want %v", got, 100*day.Seconds())
	}
	at := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	if a, b := rateAt(at), rateAt(at.Add(-day)); math.Abs(a-b) > 1e-6 {
		t.Errorf("rate at the same time on two days: %v and %v", a, b)
	}
	if got, want := f.TruthBetween(c, at.Add(-time.Minute), at).RPS, 100*DailyLevel(0.5, at.Add(-30*time.Second)); math.Abs(got-want) > 0.01 {
		t.Errorf("TruthBetween over a minute: %v, want about %v", got, want)
	}
	f.Clusters[0].Wave = 0.6
	if err := f.Validate(); err == nil {
		t.Error("Wave 0.6 + Daily 0.5 validated; the rate could be negative")
	}
}
