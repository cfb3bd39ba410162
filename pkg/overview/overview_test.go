package overview

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

func stack(ns, team string) Stack {
	return Stack{Namespace: ns, Team: team, Status: "Available", Ready: 2, Desired: 2, Shards: 1,
		SampleLimit: 200000, TargetLimit: 200, MemoryLimit: 2 << 30}
}

func healthy(rows ...traffic.Row) Health {
	return Health{Backend: traffic.BackendPrometheus, Rows: rows, Firing: 1, TargetsUp: 3, Targets: 4,
		SamplesPerSecond: 1500, LargestScrape: 900, HeadSeries: 50000}
}

// TestFoldAddsUpTheTeam: requests add up, success is weighted by requests (not averaged over
// clusters), the worst p99 is the slowest cluster with traffic, and memory follows the head.
func TestFoldAddsUpTheTeam(t *testing.T) {
	nan := traffic.NoData
	r := Fold(stack("team-a", "team-a"), healthy(
		traffic.Row{Name: "big", RPS: 90, Success: 1, P99: 20},
		traffic.Row{Name: "small", RPS: 10, Success: 0.5, P99: 80},
		// Idle: its p99 is a leftover and must not be the worst.
		traffic.Row{Name: "idle", RPS: 0, Success: nan, P99: 900},
		// Unknown numbers count for nothing.
		traffic.Row{Name: "unknown", RPS: nan, Success: nan, P99: nan},
	))
	if r.RPS != 100 {
		t.Errorf("rps %v, want 100", r.RPS)
	}
	if math.Abs(r.Success-0.95) > 1e-12 {
		t.Errorf("success %v, want 0.95 (90 of 90 and 5 of 10 requests), not the clusters' mean 0.75", r.Success)
	}
	if r.WorstP99 != 80 || r.WorstCluster != "small" {
		t.Errorf("worst p99 %v of %q, want 80 of small", r.WorstP99, r.WorstCluster)
	}
	if r.Clusters != 4 || r.Via != traffic.BackendPrometheus || !r.Reached() {
		t.Errorf("clusters %d, via %q, reached %v", r.Clusters, r.Via, r.Reached())
	}
	if want := float64(BaseMemoryBytes) + 1900*50000; r.Memory != want {
		t.Errorf("memory %v, want %v", r.Memory, want)
	}
}

// TestFoldWithoutTraffic: a team without Envoy series has no traffic numbers, one whose clusters
// had no requests has 0 requests and no success; through a Thanos Query the head is unknown and
// so is the memory it implies.
func TestFoldWithoutTraffic(t *testing.T) {
	none := Fold(stack("a", "a"), healthy())
	if traffic.Known(none.RPS) || traffic.Known(none.Success) || traffic.Known(none.WorstP99) {
		t.Errorf("no clusters: rps %v, success %v, p99 %v; want none", none.RPS, none.Success, none.WorstP99)
	}
	idle := Fold(stack("a", "a"), healthy(traffic.Row{Name: "c", RPS: 0, Success: traffic.NoData, P99: traffic.NoData}))
	if idle.RPS != 0 || traffic.Known(idle.Success) || traffic.Known(idle.WorstP99) {
		t.Errorf("idle: rps %v, success %v, p99 %v; want 0 and none", idle.RPS, idle.Success, idle.WorstP99)
	}
	h := healthy()
	h.Backend, h.HeadSeries = traffic.BackendThanosQuery, traffic.NoData
	thanos := Fold(stack("a", "a"), h)
	if thanos.Via != traffic.BackendThanosQuery || traffic.Known(thanos.Memory) {
		t.Errorf("through Thanos Query: via %q, memory %v", thanos.Via, thanos.Memory)
	}
}

func TestUnreachedHasNoNumbers(t *testing.T) {
	r := Unreached(stack("b", "b"), "no ready pod")
	if r.Reached() || r.Via != "" {
		t.Errorf("reached %v, via %q", r.Reached(), r.Via)
	}
	for name, v := range map[string]float64{"rps": r.RPS, "success": r.Success, "p99": r.WorstP99, "firing": r.Firing,
		"targets": r.Targets, "up": r.TargetsUp, "series": r.HeadSeries, "samples": r.SamplesPerSecond, "memory": r.Memory} {
		if traffic.Known(v) {
			t.Errorf("%s = %v for a team not reached", name, v)
		}
	}
	if Unreached(stack("b", "b"), "").Reason == "" {
		t.Error("an unreached row without a reason")
	}
}

func TestNotesNameTheGuardrailAndTheFix(t *testing.T) {
	s := stack("a", "a")
	h := healthy()
	h.LargestScrape = 190000      // 95% of 200k
	h.HeadSeries = 700000         // 100Mi + 1.33 GB: over half of 2Gi
	h.TargetsUp, h.Targets = 0, 3 // every target down
	notes := Notes(Fold(s, h))
	for i, want := range []string{
		"largest scrape 190k of the 200k-sample limit: drop series, or raise --sample-limit",
		"the head needs ~1.3Gi of the 2.0Gi memory limit, over half: raise --memory-limit, or shard",
		"no target is up: kubectl promteam doctor a -n a",
	} {
		if i >= len(notes) || notes[i] != want {
			t.Errorf("note %d: %q, want %q", i, notes, want)
		}
	}
	if n := Notes(Fold(s, healthy())); len(n) != 0 {
		t.Errorf("a healthy team has notes %q", n)
	}
	if n := Notes(Unreached(s, "timeout")); len(n) != 0 {
		t.Errorf("an unreached team has notes %q", n)
	}
}

func TestSortPutsWhatNeedsALookFirst(t *testing.T) {
	row := func(team string, rps, success, p99, firing float64) Row {
		return Row{Stack: Stack{Namespace: team, Team: team}, RPS: rps, Success: success, WorstP99: p99, Firing: firing, HeadSeries: rps}
	}
	rows := func() []Row {
		return []Row{row("c", 10, 0.99, 50, 0), row("a", 30, 0.90, 20, 2), Unreached(Stack{Namespace: "0", Team: "0"}, "timeout"), row("b", 20, 1, 90, 1)}
	}
	for _, tc := range []struct {
		key     SortKey
		reverse bool
		want    string
	}{
		{SortName, false, "0 a b c"},
		{SortName, true, "c b a 0"},
		{SortRPS, false, "a b c 0"},
		{SortRPS, true, "c b a 0"},
		{SortSuccess, false, "a c b 0"},
		{SortP99, false, "b c a 0"},
		{SortAlerts, false, "a b c 0"},
		{SortSeries, false, "a b c 0"},
	} {
		r := rows()
		Sort(r, tc.key, tc.reverse)
		var got []string
		for _, x := range r {
			got = append(got, x.Team)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("sort by %s (reverse %v): %v, want %s", tc.key, tc.reverse, got, tc.want)
		}
	}
	if _, err := ParseSortKey("p50"); err == nil || !strings.Contains(err.Error(), "name, rps, success, p99, alerts, series") {
		t.Errorf("ParseSortKey(p50): %v", err)
	}
}

func TestFilter(t *testing.T) {
	rows := []Row{{Stack: Stack{Namespace: "shop", Team: "web"}}, {Stack: Stack{Namespace: "pay", Team: "api"}}}
	if got := Filter(rows, "sho"); len(got) != 1 || got[0].Team != "web" {
		t.Errorf("filter sho: %v", got)
	}
	if got := Filter(rows, "!sho"); len(got) != 1 || got[0].Team != "api" {
		t.Errorf("filter !sho: %v", got)
	}
	if got := Filter(rows, ""); len(got) != 2 {
		t.Errorf("no filter: %v", got)
	}
}

// TestRenderIsSafeAndComplete: a hostile name stays on its line in the table and cannot drive a
// terminal in the JSON; an unreached team says why, with null numbers.
func TestRenderIsSafeAndComplete(t *testing.T) {
	rows := []Row{
		Fold(stack("team-a", "team-a"), healthy(traffic.Row{Name: "x\x1b[2J\ny", RPS: 5, Success: 1, P99: 12})),
		Unreached(stack("team-c", "team-c"), "no permission: create pods/portforward in namespace team-c"),
	}
	var table bytes.Buffer
	if err := RenderTable(&table, rows, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(table.String(), "\n"), "\n")
	if len(lines) != 3 || strings.ContainsRune(table.String(), '\x1b') {
		t.Fatalf("table:\n%s", table.String())
	}
	for _, want := range []string{"team-a", "prometheus", "5.0", "100.00%", "12ms", "3/4", "50k", "1.5k", `x\x1b[2J\ny`} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("team-a's line lacks %q: %s", want, lines[1])
		}
	}
	if !strings.Contains(lines[2], "no permission: create pods/portforward in namespace team-c") {
		t.Errorf("the unreached line does not say why: %s", lines[2])
	}

	var out bytes.Buffer
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	if err := RenderJSON(&out, at, time.Minute, rows); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(out.String(), '\x1b') {
		t.Errorf("the JSON holds an escape: %s", out.String())
	}
	var doc struct {
		Kind   string           `json:"kind"`
		At     string           `json:"at"`
		Window string           `json:"window"`
		Teams  []map[string]any `json:"teams"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Kind != "TeamOverview" || doc.At != "2026-12-06T12:00:00Z" || doc.Window != "1m" || len(doc.Teams) != 2 {
		t.Fatalf("document: %+v", doc)
	}
	a, c := doc.Teams[0], doc.Teams[1]
	if a["via"] != "prometheus" || a["rps"] != 5.0 || a["targets_up"] != 3.0 || a["clusters"] != 1.0 || a["worst_cluster"] != "x\x1b[2J\ny" {
		t.Errorf("team-a: %v", a)
	}
	if _, ok := c["via"]; ok || c["reason"] == nil || c["rps"] != nil || c["clusters"] != nil {
		t.Errorf("team-c: %v", c)
	}
	limits, _ := c["limits"].(map[string]any)
	if limits["sample_limit"] != 200000.0 || limits["memory_bytes"] != float64(2<<30) {
		t.Errorf("team-c's limits: %v", limits)
	}
}
