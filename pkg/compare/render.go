package compare

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/common/model"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// RenderText writes both versions side by side, the deltas with their tests, every check and the
// verdict. Cluster names come from Prometheus and are printed through termtext.Sanitize.
func RenderText(w io.Writer, r Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	b, c := r.Baseline, r.Canary
	row := func(name, base, canary, delta string) { fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, base, canary, delta) }
	row("", "BASELINE", "CANARY", "DELTA")
	row("selector", termtext.Sanitize(b.Selector), termtext.Sanitize(c.Selector), "")
	row("clusters", termtext.Sanitize(strings.Join(b.Clusters, ",")), termtext.Sanitize(strings.Join(c.Clusters, ",")), "")
	row("requests ("+model.Duration(r.Window).String()+")", count(b.Requests), count(c.Requests), "")
	row("rps (share)", traffic.FormatRPS(b.RPS)+" ("+pct(b.Share)+")", traffic.FormatRPS(c.RPS)+" ("+pct(c.Share)+")", "")
	row("success (95% CI)", successText(b), successText(c), deltaPoints(r.SuccessDelta)+"  "+r.SuccessTest+" p="+pval(r.SuccessP))
	row("5xx", count(b.Errors), count(c.Errors), "")
	row("p50", traffic.FormatLatency(b.P50), traffic.FormatLatency(c.P50), "")
	row("p90", traffic.FormatLatency(b.P90), traffic.FormatLatency(c.P90), "")
	row("p99", traffic.FormatLatency(b.P99), traffic.FormatLatency(c.P99),
		signedPct(r.P99Increase)+fmt.Sprintf("  Mann-Whitney over %d steps p=%s", r.LatencySteps, pval(r.LatencyP)))
	row("timeouts/s", rate(b.Timeouts), rate(c.Timeouts), "")
	row("retries/s", rate(b.Retries), rate(c.Retries), "")
	if len(b.Invalid)+len(c.Invalid) > 0 {
		row("invalid data", invalidText(b.Invalid), invalidText(c.Invalid), "numbers Prometheus answered that cannot be; not shown")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, ch := range r.Checks {
		mark := map[Verdict]string{Pass: "✓", Fail: "✗", Inconclusive: "?"}[ch.Verdict]
		fmt.Fprintf(w, "%s %s: %s\n", mark, ch.Name, termtext.Sanitize(ch.Reason))
	}
	_, err := fmt.Fprintf(w, "\nverdict: %s\n", r.Verdict)
	return err
}

// invalidText lists the invalid numbers of an arm, or the dash.
func invalidText(names []string) string {
	if len(names) == 0 {
		return traffic.Dash
	}
	return strings.Join(names, ",")
}

func successText(s ArmStats) string {
	if math.IsNaN(s.Success) {
		return traffic.Dash
	}
	return fmt.Sprintf("%s [%s, %s]", pct(s.Success), pct(s.SuccessLo), pct(s.SuccessHi))
}

func count(v float64) string {
	if math.IsNaN(v) {
		return traffic.Dash
	}
	return fmt.Sprintf("%.0f", v)
}

func rate(v float64) string {
	if math.IsNaN(v) {
		return traffic.Dash
	}
	return fmt.Sprintf("%.2f", v)
}

func deltaPoints(v float64) string {
	if math.IsNaN(v) {
		return traffic.Dash
	}
	return fmt.Sprintf("%+.2f pts", v*100)
}

func signedPct(v float64) string {
	if math.IsNaN(v) {
		return traffic.Dash
	}
	return fmt.Sprintf("%+.1f%%", v*100)
}

// The JSON contract of `compare -o json`: every number, null where there is none.
type jsonResult struct {
	At           string     `json:"at"`
	Window       string     `json:"window"`
	Step         string     `json:"step"`
	Backend      string     `json:"backend"`
	Verdict      Verdict    `json:"verdict"`
	Baseline     jsonArm    `json:"baseline"`
	Canary       jsonArm    `json:"canary"`
	SuccessDelta *float64   `json:"success_delta"`
	SuccessTest  string     `json:"success_test"`
	SuccessZ     *float64   `json:"success_z"`
	SuccessP     *float64   `json:"success_p"`
	P99Increase  *float64   `json:"p99_increase"`
	LatencyTest  string     `json:"latency_test"`
	LatencyU     *float64   `json:"latency_u"`
	LatencyZ     *float64   `json:"latency_z"`
	LatencyP     *float64   `json:"latency_p"`
	LatencyShift *float64   `json:"latency_shift_ms"`
	LatencySteps int        `json:"latency_steps"`
	Checks       []Check    `json:"checks"`
	Thresholds   jsonLimits `json:"thresholds"`
	Warnings     []string   `json:"warnings"`
}

type jsonArm struct {
	Selector  string     `json:"selector"`
	Clusters  []string   `json:"clusters"`
	Requests  *float64   `json:"requests"`
	Errors    *float64   `json:"errors_5xx"`
	RPS       *float64   `json:"rps"`
	Share     *float64   `json:"share"`
	Success   *float64   `json:"success_rate"`
	SuccessLo *float64   `json:"success_rate_low"`
	SuccessHi *float64   `json:"success_rate_high"`
	P50       *float64   `json:"p50_ms"`
	P90       *float64   `json:"p90_ms"`
	P99       *float64   `json:"p99_ms"`
	Timeouts  *float64   `json:"timeouts_per_second"`
	Retries   *float64   `json:"retries_per_second"`
	P99Steps  []*float64 `json:"p99_steps_ms"`
	RPSSteps  []*float64 `json:"rps_steps"`
	// Invalid names the numbers Prometheus answered outside their domain, now null; absent when
	// there are none.
	Invalid []string `json:"invalid,omitempty"`
}

// jsonLimits are the thresholds. The flags take finite numbers only, so the pointers never hold
// null but where a check is off; they keep a non-finite value from failing the encoding.
type jsonLimits struct {
	MaxP99Increase *float64 `json:"max_p99_increase"`
	MinSuccessRate *float64 `json:"min_success_rate"`
	MaxSuccessDrop *float64 `json:"max_success_drop"`
	MinRequests    *float64 `json:"min_requests"`
	Alpha          *float64 `json:"alpha"`
}

func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func nums(vs []float64) []*float64 {
	out := make([]*float64, len(vs))
	for i, v := range vs {
		out[i] = num(v)
	}
	return out
}

func armJSON(a ArmStats) jsonArm {
	clusters := a.Clusters
	if clusters == nil {
		clusters = []string{}
	}
	return jsonArm{
		Selector: a.Selector, Clusters: clusters, Requests: num(a.Requests), Errors: num(a.Errors), RPS: num(a.RPS),
		Share: num(a.Share), Success: num(a.Success), SuccessLo: num(a.SuccessLo), SuccessHi: num(a.SuccessHi),
		P50: num(a.P50), P90: num(a.P90), P99: num(a.P99), Timeouts: num(a.Timeouts), Retries: num(a.Retries),
		P99Steps: nums(a.P99Steps), RPSSteps: nums(a.RPSSteps), Invalid: a.Invalid,
	}
}

// RenderJSON writes the result as the JSON contract of `compare -o json`.
func RenderJSON(w io.Writer, r Result) error {
	warnings := r.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	backend := r.Backend
	if backend == "" {
		backend = "prometheus"
	}
	out := jsonResult{
		Backend: backend,
		At:      r.At.UTC().Format("2006-01-02T15:04:05Z07:00"), Window: model.Duration(r.Window).String(), Step: model.Duration(r.Step).String(),
		Verdict: r.Verdict, Baseline: armJSON(r.Baseline), Canary: armJSON(r.Canary),
		SuccessDelta: num(r.SuccessDelta), SuccessTest: r.SuccessTest, SuccessZ: num(r.SuccessZ), SuccessP: num(r.SuccessP),
		P99Increase: num(r.P99Increase), LatencyTest: "Mann-Whitney U", LatencyU: num(r.Latency.U1), LatencyZ: num(r.Latency.Z),
		LatencyP: num(r.LatencyP), LatencyShift: num(r.LatencyShift), LatencySteps: r.LatencySteps, Checks: r.Checks,
		Thresholds: jsonLimits{MaxP99Increase: num(r.Thresholds.MaxP99Increase), MinSuccessRate: num(r.Thresholds.MinSuccessRate),
			MaxSuccessDrop: num(r.Thresholds.MaxSuccessDrop), MinRequests: num(r.Thresholds.MinRequests), Alpha: num(r.Thresholds.Alpha)},
		Warnings: warnings,
	}
	return termtext.WriteJSON(w, out)
}
