package overview

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Notes are the guardrails a reached team is near or past, each one line with its fix.
func Notes(r Row) []string {
	if !r.Reached() {
		return nil
	}
	var notes []string
	if r.SampleLimit > 0 && traffic.Known(r.LargestScrape) && r.LargestScrape >= NearLimit*float64(r.SampleLimit) {
		notes = append(notes, fmt.Sprintf("largest scrape %s of the %s-sample limit: drop series, or raise --sample-limit",
			FormatCount(r.LargestScrape), FormatCount(float64(r.SampleLimit))))
	}
	if OverMemory(r.Memory, float64(r.MemoryLimit)) {
		notes = append(notes, fmt.Sprintf("the head needs ~%s of the %s memory limit, over half: raise --memory-limit, or shard",
			FormatBytes(r.Memory), FormatBytes(float64(r.MemoryLimit))))
	}
	if traffic.Known(r.Targets) && traffic.Known(r.TargetsUp) && r.Targets > 0 && r.TargetsUp == 0 {
		notes = append(notes, "no target is up: kubectl promteam doctor "+r.Team+" -n "+r.Namespace)
	}
	if traffic.Known(r.Targets) && r.Targets == 0 {
		notes = append(notes, "no targets: kubectl promteam doctor "+r.Team+" -n "+r.Namespace)
	}
	return notes
}

// FormatCount prints a count compactly: 950, 12.3k, 1.2M.
func FormatCount(v float64) string {
	switch {
	case !traffic.Known(v):
		return traffic.Dash
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// FormatBytes prints bytes in binary units as Kubernetes quantities read: 310Mi, 1.5Gi.
func FormatBytes(v float64) string {
	switch {
	case !traffic.Known(v):
		return traffic.Dash
	case v >= 1<<30:
		return strconv.FormatFloat(v/(1<<30), 'f', 1, 64) + "Gi"
	}
	return strconv.FormatFloat(v/(1<<20), 'f', 0, 64) + "Mi"
}

// Targets prints the targets up of all: 3/4.
func Targets(r Row) string {
	if !traffic.Known(r.Targets) || !traffic.Known(r.TargetsUp) {
		return traffic.Dash
	}
	return FormatCount(r.TargetsUp) + "/" + FormatCount(r.Targets)
}

// memory prints the head's memory against the limit.
func memory(r Row) string {
	if r.MemoryLimit <= 0 {
		return FormatBytes(r.Memory)
	}
	return FormatBytes(r.Memory) + "/" + FormatBytes(float64(r.MemoryLimit))
}

// Note is a team's note in a table: why it was not reached, else its first guardrail note.
func Note(r Row) string {
	if !r.Reached() {
		return r.Reason
	}
	notes := Notes(r)
	switch len(notes) {
	case 0:
		return traffic.Dash
	case 1:
		return notes[0]
	}
	return fmt.Sprintf("%s (and %d more)", notes[0], len(notes)-1)
}

// RenderTable writes one line per team. Wide adds the stack's pods, the clusters, the largest
// scrape and the sample limit. Names and reasons come from the cluster and Prometheus: they are
// printed through termtext.Sanitize, so each team is one line whatever they hold.
func RenderTable(w io.Writer, rows []Row, wide bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"NAMESPACE", "TEAM", "STATUS", "VIA", "RPS", "SUCCESS", "WORST P99", "ALERTS", "TARGETS", "SERIES", "SAMPLES/S", "MEMORY"}
	if wide {
		head = append(head, "PODS", "CLUSTERS", "LARGEST SCRAPE", "SAMPLE LIMIT", "WORST CLUSTER")
	}
	head = append(head, "NOTE")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		via := r.Via
		if via == "" {
			via = traffic.Dash
		}
		cols := []string{r.Namespace, r.Team, orDash(r.Status), via,
			traffic.FormatRPS(r.RPS), traffic.FormatSuccess(r.Success), traffic.FormatLatency(r.WorstP99),
			traffic.FormatCount(r.Firing), Targets(r), FormatCount(r.HeadSeries), FormatCount(r.SamplesPerSecond), memory(r)}
		if wide {
			limit := traffic.Dash
			if r.SampleLimit > 0 {
				limit = FormatCount(float64(r.SampleLimit))
			}
			clusters := traffic.Dash
			if r.Reached() {
				clusters = strconv.Itoa(r.Clusters)
			}
			cols = append(cols, fmt.Sprintf("%d/%d", r.Ready, r.Desired), clusters, FormatCount(r.LargestScrape), limit, orDash(r.WorstCluster))
		}
		cols = append(cols, Note(r))
		for i := range cols {
			cols[i] = termtext.Sanitize(cols[i])
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return traffic.Dash
	}
	return s
}

// jsonTeam is one team in the JSON contract.
type jsonTeam struct {
	Namespace string `json:"namespace"`
	Team      string `json:"team"`
	Status    string `json:"status"`
	Ready     int32  `json:"ready"`
	Desired   int32  `json:"desired"`
	Shards    int32  `json:"shards"`
	// Via is what answered; absent when the team was not reached, and Reason says why.
	Via    string `json:"via,omitempty"`
	Reason string `json:"reason,omitempty"`

	RPS              *float64   `json:"rps"`
	SuccessRate      *float64   `json:"success_rate"`
	WorstP99         *float64   `json:"worst_p99_ms"`
	WorstCluster     string     `json:"worst_cluster,omitempty"`
	Clusters         *int       `json:"clusters"`
	AlertsFiring     *float64   `json:"alerts_firing"`
	TargetsUp        *float64   `json:"targets_up"`
	Targets          *float64   `json:"targets"`
	HeadSeries       *float64   `json:"head_series"`
	SamplesPerSecond *float64   `json:"samples_per_second"`
	LargestScrape    *float64   `json:"largest_scrape"`
	MemoryBytes      *float64   `json:"memory_bytes"`
	Limits           jsonLimits `json:"limits"`
	Notes            []string   `json:"notes,omitempty"`
}

// jsonLimits are the stack's limits; absent when unset.
type jsonLimits struct {
	Samples     int64 `json:"sample_limit,omitempty"`
	Targets     int64 `json:"target_limit,omitempty"`
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
}

type jsonOverview struct {
	Kind   string     `json:"kind"`
	At     string     `json:"at"`
	Window string     `json:"window"`
	Teams  []jsonTeam `json:"teams"`
}

// Number is v for JSON: null when not known.
func Number(v float64) *float64 {
	if !traffic.Known(v) {
		return nil
	}
	return &v
}

// RenderJSON writes the overview as the JSON contract: {"kind": "TeamOverview", "at":
// "2026-01-02T15:04:05Z", "window": "1m", "teams": [...]}, numbers as numbers and what is not
// known as null; a team not reached has no "via", a "reason", and null numbers.
func RenderJSON(w io.Writer, at time.Time, window time.Duration, rows []Row) error {
	out := jsonOverview{Kind: "TeamOverview", At: at.UTC().Format(time.RFC3339Nano), Window: model.Duration(window).String(),
		Teams: make([]jsonTeam, 0, len(rows))}
	for _, r := range rows {
		t := jsonTeam{
			Namespace: r.Namespace, Team: r.Team, Status: r.Status, Ready: r.Ready, Desired: r.Desired, Shards: r.Shards,
			Via: r.Via, Reason: r.Reason,
			RPS: Number(r.RPS), SuccessRate: Number(r.Success), WorstP99: Number(r.WorstP99), WorstCluster: r.WorstCluster,
			AlertsFiring: Number(r.Firing), TargetsUp: Number(r.TargetsUp), Targets: Number(r.Targets),
			HeadSeries: Number(r.HeadSeries), SamplesPerSecond: Number(r.SamplesPerSecond), LargestScrape: Number(r.LargestScrape),
			MemoryBytes: Number(r.Memory),
			Limits:      jsonLimits{Samples: r.SampleLimit, Targets: r.TargetLimit, MemoryBytes: r.MemoryLimit},
			Notes:       Notes(r),
		}
		if r.Reached() {
			n := r.Clusters
			t.Clusters = &n
		}
		out.Teams = append(out.Teams, t)
	}
	return termtext.WriteJSON(w, out)
}
