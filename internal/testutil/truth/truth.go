// Package truth compares what `top -o json` printed with the simulated fleet's exact numbers.
package truth

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// Snapshot is the JSON contract of `top -o json`.
type Snapshot struct {
	At        string     `json:"at"`
	Window    string     `json:"window"`
	Source    string     `json:"source"`
	GroupBy   string     `json:"group_by"`
	Rows      []Row      `json:"rows"`
	Listeners []Listener `json:"listeners"`
}

// Listener is one downstream listener of the JSON contract.
type Listener struct {
	Prefix      string   `json:"prefix"`
	RPS         *float64 `json:"rps"`
	SuccessRate *float64 `json:"success_rate"`
	P99         *float64 `json:"p99_ms"`
	RPS4xx      *float64 `json:"rps_4xx"`
	RPS5xx      *float64 `json:"rps_5xx"`
}

// Row is one row of the JSON contract.
type Row struct {
	Name           string   `json:"name"`
	Route          string   `json:"route"`
	Namespace      *string  `json:"namespace"`
	Service        *string  `json:"service"`
	RPS            *float64 `json:"rps"`
	SuccessRate    *float64 `json:"success_rate"`
	P50            *float64 `json:"p50_ms"`
	P90            *float64 `json:"p90_ms"`
	P99            *float64 `json:"p99_ms"`
	ActiveRequests *float64 `json:"active_requests"`
	RPS4xx         *float64 `json:"rps_4xx"`
	RPS5xx         *float64 `json:"rps_5xx"`
}

// Tolerance is how far a row may be from the truth: RPS and percentiles relative, success in
// absolute points of a ratio (0.005 is half a percentage point).
type Tolerance struct {
	RPS, Success, Quantile float64
	// Errors is how far the 4xx and 5xx rates may be, relative like RPS, beyond one request per
	// pod over the window: the simulator, like Envoy, counts whole requests, so the rate of a few
	// errors a second over a window is off by up to that. 0 leaves them unchecked.
	Errors float64
}

// Issue is the tolerance `top` promises: RPS and error rates within 5%, success within half a
// point, percentiles within 12%.
var Issue = Tolerance{RPS: 0.05, Success: 0.005, Quantile: 0.12, Errors: 0.05}

// Decode reads a `top -o json` snapshot.
func Decode(t testing.TB, b []byte) Snapshot {
	t.Helper()
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("not the top JSON contract: %v\n%s", err, b)
	}
	return s
}

// Check compares every cluster of fleet with its row: each must be present, within tol of the
// truth, and null wherever the truth has no value (an idle cluster has no success rate or
// latency, never 100% or 0 ms).
func Check(t testing.TB, s Snapshot, fleet *envoysim.Fleet, tol Tolerance) {
	t.Helper()
	rows := map[string]Row{}
	for _, r := range s.Rows {
		rows[r.Name] = r
	}
	for _, c := range fleet.Clusters {
		r, ok := rows[c.Name]
		if !ok {
			t.Errorf("cluster %q has no row", c.Name)
			continue
		}
		want := c.Truth()
		near(t, c.Name, "rps", r.RPS, want.RPS, tol.RPS, true)
		near(t, c.Name, "success_rate", r.SuccessRate, want.Success, tol.Success, false)
		if len(c.Latency) == 0 {
			want.P50, want.P90, want.P99 = math.NaN(), math.NaN(), math.NaN()
		}
		near(t, c.Name, "p50_ms", r.P50, want.P50, tol.Quantile, true)
		near(t, c.Name, "p90_ms", r.P90, want.P90, tol.Quantile, true)
		near(t, c.Name, "p99_ms", r.P99, want.P99, tol.Quantile, true)
		if tol.Errors > 0 {
			slack := wholeRequests(t, s, fleet)
			nearRate(t, c.Name, "rps_4xx", r.RPS4xx, want.Err4xx, tol.Errors, slack)
			nearRate(t, c.Name, "rps_5xx", r.RPS5xx, want.Err5xx, tol.Errors, slack)
		}
	}
}

// CheckGroups compares the snapshot's rows with groups of fleet's clusters: groups maps a row
// name to the names of the clusters the row sums, and the row must be within tol of
// envoysim.GroupTruth of them (a group of one cluster is that cluster's Truth). Every group has a
// row and no other row is there. The error rates may be off by one request per pod and member.
func CheckGroups(t testing.TB, s Snapshot, fleet *envoysim.Fleet, groups map[string][]string, tol Tolerance) {
	t.Helper()
	rows := map[string]Row{}
	for _, r := range s.Rows {
		if _, ok := groups[r.Name]; !ok {
			t.Errorf("row %q is no group of the fleet", r.Name)
		}
		rows[r.Name] = r
	}
	for name, members := range groups {
		var clusters []envoysim.Cluster
		for _, m := range members {
			c, ok := fleet.Cluster(m)
			if !ok {
				t.Fatalf("group %q: the fleet has no cluster %q", name, m)
			}
			clusters = append(clusters, c)
		}
		r, ok := rows[name]
		if !ok {
			t.Errorf("group %q has no row", name)
			continue
		}
		want := envoysim.GroupTruth(clusters...)
		near(t, name, "rps", r.RPS, want.RPS, tol.RPS, true)
		near(t, name, "success_rate", r.SuccessRate, want.Success, tol.Success, false)
		near(t, name, "p50_ms", r.P50, want.P50, tol.Quantile, true)
		near(t, name, "p90_ms", r.P90, want.P90, tol.Quantile, true)
		near(t, name, "p99_ms", r.P99, want.P99, tol.Quantile, true)
		if tol.Errors > 0 {
			slack := wholeRequests(t, s, fleet) * float64(len(members))
			nearRate(t, name, "rps_4xx", r.RPS4xx, want.Err4xx, tol.Errors, slack)
			nearRate(t, name, "rps_5xx", r.RPS5xx, want.Err5xx, tol.Errors, slack)
		}
	}
}

// CheckListeners compares every listener of fleet with the snapshot's: present, rate and error
// rates within tol, success within tol.Success.
func CheckListeners(t testing.TB, s Snapshot, fleet *envoysim.Fleet, tol Tolerance) {
	t.Helper()
	got := map[string]Listener{}
	for _, l := range s.Listeners {
		got[l.Prefix] = l
	}
	for _, l := range fleet.Listeners {
		g, ok := got[l.Prefix]
		if !ok {
			t.Errorf("listener %q is not in the snapshot", l.Prefix)
			continue
		}
		want := l.Truth()
		near(t, l.Prefix, "rps", g.RPS, want.RPS, tol.RPS, true)
		near(t, l.Prefix, "success_rate", g.SuccessRate, want.Success, tol.Success, false)
		slack := wholeRequests(t, s, fleet)
		nearRate(t, l.Prefix, "rps_4xx", g.RPS4xx, want.Err4xx, tol.Errors, slack)
		nearRate(t, l.Prefix, "rps_5xx", g.RPS5xx, want.Err5xx, tol.Errors, slack)
	}
}

// wholeRequests is how far counting whole requests moves a rate over the snapshot's window: one
// request per pod.
func wholeRequests(t testing.TB, s Snapshot, fleet *envoysim.Fleet) float64 {
	t.Helper()
	w, err := model.ParseDuration(s.Window)
	if err != nil || time.Duration(w) <= 0 {
		t.Fatalf("snapshot window %q: %v", s.Window, err)
	}
	return float64(max(len(fleet.Pods), 1)) / time.Duration(w).Seconds()
}

// nearRate checks an error rate: null exactly when the truth has none, else within tol of it
// (relative) plus slack (absolute).
func nearRate(t testing.TB, name, field string, got *float64, want, tol, slack float64) {
	t.Helper()
	switch {
	case math.IsNaN(want) && got != nil:
		t.Errorf("%s %s = %v, want null (no responses)", name, field, *got)
	case math.IsNaN(want):
	case got == nil:
		t.Errorf("%s %s = null, want %v", name, field, want)
	case math.Abs(*got-want) > tol*want+slack:
		t.Errorf("%s %s = %v, want %v (tolerance %.0f%% and %.3g/s of whole requests)", name, field, *got, want, tol*100, slack)
	}
}

func near(t testing.TB, cluster, field string, got *float64, want, tol float64, relative bool) {
	t.Helper()
	switch {
	case math.IsNaN(want) && got != nil:
		t.Errorf("%s %s = %v, want null (no data)", cluster, field, *got)
	case math.IsNaN(want):
	case got == nil:
		t.Errorf("%s %s = null, want %v", cluster, field, want)
	default:
		diff := math.Abs(*got - want)
		if relative {
			diff /= math.Max(math.Abs(want), 1e-9)
		}
		if diff > tol {
			t.Errorf("%s %s = %v, want %v (off by %.4f, tolerance %.4f)", cluster, field, *got, want, diff, tol)
		}
	}
}

// Team is one team of the JSON contract of `top -A --once -o json` (a TeamOverview).
type Team struct {
	Namespace        string   `json:"namespace"`
	Team             string   `json:"team"`
	Status           string   `json:"status"`
	Via              string   `json:"via"`
	Reason           string   `json:"reason"`
	RPS              *float64 `json:"rps"`
	SuccessRate      *float64 `json:"success_rate"`
	WorstP99         *float64 `json:"worst_p99_ms"`
	WorstCluster     string   `json:"worst_cluster"`
	Clusters         *int     `json:"clusters"`
	AlertsFiring     *float64 `json:"alerts_firing"`
	TargetsUp        *float64 `json:"targets_up"`
	Targets          *float64 `json:"targets"`
	HeadSeries       *float64 `json:"head_series"`
	SamplesPerSecond *float64 `json:"samples_per_second"`
	LargestScrape    *float64 `json:"largest_scrape"`
	MemoryBytes      *float64 `json:"memory_bytes"`
	Limits           struct {
		Samples     int64 `json:"sample_limit"`
		MemoryBytes int64 `json:"memory_bytes"`
	} `json:"limits"`
	Notes []string `json:"notes"`
}

// TeamTotals is what a team's row must say of fleet: requests summed, success weighted by
// requests, and the slowest p99 of a cluster with traffic.
func TeamTotals(fleet *envoysim.Fleet) (rps, success, worst float64, worstCluster string) {
	var weighted float64
	for _, c := range fleet.Clusters {
		want := c.Truth()
		rps += want.RPS
		if want.RPS == 0 {
			continue
		}
		weighted += want.RPS * want.Success
		if len(c.Latency) > 0 && want.P99 > worst {
			worst, worstCluster = want.P99, c.Name
		}
	}
	return rps, weighted / rps, worst, worstCluster
}

// DecodeOverview decodes what `top -A --once -o json` printed: a TeamOverview's rows.
func DecodeOverview(t testing.TB, out []byte) []Team {
	t.Helper()
	var doc struct {
		Kind  string `json:"kind"`
		Teams []Team `json:"teams"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("top -A -o json: %v:\n%s", err, out)
	}
	if doc.Kind != "TeamOverview" {
		t.Fatalf("top -A -o json: kind %q, want TeamOverview:\n%s", doc.Kind, out)
	}
	return doc.Teams
}
