// Package overview folds what each team's stack and its Prometheus say into one row per team:
// the platform team's view of every team (top -A). It is pure; the plugin lists the stacks and
// reaches each team's Prometheus (or Thanos Query), a few at a time, each within its own timeout.
package overview

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Memory a Prometheus pod needs for its head, as measured on this project's capacity benchmark
// (docs/running-prometheus-per-team.md): about 1.9 KB of resident memory per series in the head,
// on top of about 100 MB.
const (
	BytesPerHeadSeries = 1900
	BaseMemoryBytes    = 100 << 20
)

// NearLimit is the share of a sample or target limit from which a stack is near it: past the
// limit a scrape fails whole, or a scrape pool's targets go unscraped.
const NearLimit = 0.8

// HeadMemory is the memory a Prometheus pod needs for series in its head; NoData when the head
// is not known.
func HeadMemory(series float64) float64 {
	if !traffic.Known(series) {
		return traffic.NoData
	}
	return BaseMemoryBytes + BytesPerHeadSeries*series
}

// OverMemory reports whether memory is more than half of limit (bytes; 0 is no limit):
// compaction, queries and rules need as much again as the head at their peak.
func OverMemory(memory, limit float64) bool {
	return limit > 0 && traffic.Known(memory) && memory > limit/2
}

// Stack is what the cluster says of one team's stack.
type Stack struct {
	Namespace, Team string
	// Status is the operator's conditions in one word, as list shows them.
	Status string
	// Ready and Desired count the stack's Prometheus pods.
	Ready, Desired int32
	Shards         int32
	// SampleLimit and TargetLimit are enforcedSampleLimit and enforcedTargetLimit; 0: none.
	SampleLimit, TargetLimit int64
	// MemoryLimit is a Prometheus pod's memory limit in bytes; 0: none.
	MemoryLimit int64
}

// Health is what the team's Prometheus, or its Thanos Query, answered. A number it could not
// read is traffic.NoData.
type Health struct {
	// Backend is what answered: traffic.BackendPrometheus or traffic.BackendThanosQuery.
	Backend string
	// Rows are the team's upstream clusters over the window, as top shows them.
	Rows []traffic.Row
	// Firing counts the alerts firing now.
	Firing float64
	// TargetsUp and Targets count the scrape targets whose last scrape succeeded, and all of them.
	TargetsUp, Targets float64
	// SamplesPerSecond is what the scrapes bring after relabelling (NaN while the Prometheus holds
	// less than the 5 minutes it averages over).
	SamplesPerSecond float64
	// LargestScrape is the samples of the largest scrape, which SampleLimit bounds.
	LargestScrape float64
	// HeadSeries is the series in one Prometheus pod's head; NoData through a Thanos Query, which
	// has none of its own.
	HeadSeries float64
}

// Row is one team in the overview. Numbers not known are traffic.NoData.
type Row struct {
	Stack
	// Via is what answered (traffic.BackendPrometheus or traffic.BackendThanosQuery); empty when
	// the team was not reached.
	Via string
	// Reason says why the team was not reached: no permission, no ready pod, a timeout. Empty
	// when it was.
	Reason string

	// RPS sums the requests per second of every upstream cluster; Success is the share of them
	// that were not 5xx (each cluster's success weighted by its requests); WorstP99 is the
	// highest p99 of a cluster with traffic, WorstCluster that cluster's name.
	RPS, Success, WorstP99 float64
	WorstCluster           string
	Clusters               int

	Firing, TargetsUp, Targets float64
	HeadSeries                 float64
	SamplesPerSecond           float64
	LargestScrape              float64
	// Memory is what the head series imply a Prometheus pod needs (BaseMemoryBytes and
	// BytesPerHeadSeries for each); NoData when the head is not known.
	Memory float64
}

// Reached reports whether the team's Prometheus answered.
func (r Row) Reached() bool { return r.Reason == "" }

// Unreached is the row of a team whose Prometheus could not be reached, and why.
func Unreached(s Stack, reason string) Row {
	if reason == "" {
		reason = "not reached"
	}
	nan := traffic.NoData
	return Row{Stack: s, Reason: reason, RPS: nan, Success: nan, WorstP99: nan,
		Firing: nan, TargetsUp: nan, Targets: nan, HeadSeries: nan, SamplesPerSecond: nan, LargestScrape: nan, Memory: nan}
}

// Fold is the row of a team whose Prometheus answered h.
func Fold(s Stack, h Health) Row {
	r := Row{Stack: s, Via: h.Backend, Clusters: len(h.Rows),
		Firing: h.Firing, TargetsUp: h.TargetsUp, Targets: h.Targets, HeadSeries: h.HeadSeries,
		SamplesPerSecond: h.SamplesPerSecond, LargestScrape: h.LargestScrape, Memory: HeadMemory(h.HeadSeries)}
	if r.Via == "" {
		r.Via = traffic.BackendPrometheus
	}
	r.RPS, r.Success, r.WorstP99, r.WorstCluster = totals(h.Rows)
	return r
}

// totals folds a team's clusters: requests summed, success weighted by requests, and the worst
// p99 among the clusters with traffic. A team without clusters has no numbers; a team whose
// clusters had no requests has 0 requests and no success or p99.
func totals(rows []traffic.Row) (rps, success, worst float64, worstCluster string) {
	rps, success, worst = traffic.NoData, traffic.NoData, traffic.NoData
	if len(rows) == 0 {
		return rps, success, worst, ""
	}
	rps = 0
	var weighted, weight float64
	for i := range rows {
		row := &rows[i]
		if !traffic.Known(row.RPS) {
			continue
		}
		rps += row.RPS
		if row.RPS <= 0 {
			continue
		}
		if traffic.Known(row.Success) {
			weighted += row.RPS * row.Success
			weight += row.RPS
		}
		if traffic.Known(row.P99) && (!traffic.Known(worst) || row.P99 > worst) {
			worst, worstCluster = row.P99, row.Label()
		}
	}
	if weight > 0 {
		success = weighted / weight
	}
	return rps, success, worst, worstCluster
}

// SortKey orders the overview's rows.
type SortKey string

// The overview's sort keys. Name sorts by namespace and team; the others put the row that needs
// a look first (most traffic, lowest success, slowest p99, most alerts, most series) and the
// unreached teams last.
const (
	SortName    SortKey = "name"
	SortRPS     SortKey = "rps"
	SortSuccess SortKey = "success"
	SortP99     SortKey = "p99"
	SortAlerts  SortKey = "alerts"
	SortSeries  SortKey = "series"
)

// SortKeys are the keys ParseSortKey accepts, in the order the help lists them.
var SortKeys = []SortKey{SortName, SortRPS, SortSuccess, SortP99, SortAlerts, SortSeries}

// ParseSortKey reads a sort key.
func ParseSortKey(s string) (SortKey, error) {
	for _, k := range SortKeys {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(SortKeys))
	for i, k := range SortKeys {
		names[i] = string(k)
	}
	return "", fmt.Errorf("sort the teams by one of %s", strings.Join(names, ", "))
}

// Sort orders rows by key, reversed when reverse is set; ties, and the name key, go by namespace
// and team. Rows without the number sorted on go last either way.
func Sort(rows []Row, key SortKey, reverse bool) {
	value := func(r *Row) float64 {
		switch key {
		case SortRPS:
			return r.RPS
		case SortSuccess:
			return -r.Success // lowest first
		case SortP99:
			return r.WorstP99
		case SortAlerts:
			return r.Firing
		case SortSeries:
			return r.HeadSeries
		}
		return math.NaN()
	}
	byName := func(a, b *Row) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Team, b.Team))
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		if key != SortName {
			va, vb := value(&a), value(&b)
			switch ka, kb := traffic.Known(va), traffic.Known(vb); {
			case ka && !kb:
				return -1
			case !ka && kb:
				return 1
			case ka && kb && va != vb:
				c := cmp.Compare(vb, va) // highest first
				if reverse {
					c = -c
				}
				return c
			}
		}
		c := byName(&a, &b)
		if reverse && key == SortName {
			c = -c
		}
		return c
	})
}

// Filter keeps the rows whose namespace or team contains text; a leading ! keeps the others.
func Filter(rows []Row, text string) []Row {
	if text == "" {
		return rows
	}
	invert := strings.HasPrefix(text, "!")
	text = strings.TrimPrefix(text, "!")
	out := rows[:0:0]
	for _, r := range rows {
		if (strings.Contains(r.Namespace, text) || strings.Contains(r.Team, text)) != invert {
			out = append(out, r)
		}
	}
	return out
}
