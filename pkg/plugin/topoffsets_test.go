package plugin

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestTopSnapshotComparesWithThePast: top --offsets on the demo, whose fleet has run for eight
// days, adds each row's numbers an hour, a day and a week ago and its biggest move to the JSON,
// and the BIGGEST CHANGE column to the table. shop_search_9200, launched two days ago, serves
// about 2.5 times what it served a week ago.
func TestTopSnapshotComparesWithThePast(t *testing.T) {
	out, stderr, err := run(t, "top", "--demo", "--once", "-o", "json", "--offsets", "1h,1d,1w")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	var snap struct {
		Offsets []string `json:"offsets"`
		Rows    []struct {
			Name string   `json:"name"`
			RPS  *float64 `json:"rps"`
			Past []struct {
				Offset string   `json:"offset"`
				RPS    *float64 `json:"rps"`
			} `json:"past"`
			Change *struct {
				Offset string  `json:"offset"`
				Metric string  `json:"metric"`
				Now    float64 `json:"now"`
				Then   float64 `json:"then"`
				Score  float64 `json:"score"`
			} `json:"change"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Join(snap.Offsets, ",") != "1h,1d,1w" {
		t.Errorf("offsets %q", snap.Offsets)
	}
	found := false
	for _, r := range snap.Rows {
		if r.Name != "shop_search_9200" {
			continue
		}
		found = true
		if len(r.Past) != 3 || r.Change == nil {
			t.Fatalf("shop_search_9200: %d pasts, change %+v", len(r.Past), r.Change)
		}
		// The launch multiplied the traffic by 2.5; the demo's minutes-long wave (±20%) moves
		// now and then apart by up to ×1.5 either way.
		week := r.Past[2]
		if week.Offset != "1w" || week.RPS == nil || r.RPS == nil {
			t.Fatalf("shop_search_9200 a week ago: %+v", week)
		}
		if ratio := *r.RPS / *week.RPS; ratio < 1.6 || ratio > 3.9 {
			t.Errorf("shop_search_9200: rps %v now, %v a week ago: not the launch's ×2.5", *r.RPS, *week.RPS)
		}
		if c := r.Change; c.Then <= 0 || math.Abs(c.Score-math.Abs(math.Log(c.Now/c.Then))) > 1e-9 {
			t.Errorf("shop_search_9200's change %+v: the score is not the log of the ratio", c)
		}
	}
	if !found {
		t.Fatalf("no shop_search_9200 row:\n%s", out)
	}

	table, stderr, err := run(t, "top", "--demo", "--once", "--offsets", "1w")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if !strings.Contains(table, "BIGGEST CHANGE") || !strings.Contains(table, " vs 1w") {
		t.Errorf("the table has no comparison:\n%s", table)
	}
	plain, _, err := run(t, "top", "--demo", "--once")
	if err != nil || strings.Contains(plain, "BIGGEST CHANGE") {
		t.Errorf("a snapshot without --offsets compares (%v):\n%s", err, plain)
	}
}
