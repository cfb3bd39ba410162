package compare

import (
	"fmt"
	"math"
	"slices"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// judge fills the tests, the checks and the verdict of res from its two arms.
func judge(res *Result) {
	b, c, t := &res.Baseline, &res.Canary, res.Thresholds
	if total := b.RPS + c.RPS; total > 0 {
		b.Share, c.Share = b.RPS/total, c.RPS/total
	} else {
		b.Share, c.Share = math.NaN(), math.NaN()
	}

	// Success: counts of both arms. With few failures expected, Fisher's exact test.
	res.SuccessDelta = c.Success - b.Success
	res.SuccessZ, res.SuccessP = math.NaN(), math.NaN()
	if b.Requests > 0 && c.Requests > 0 {
		pooled := (b.Errors + c.Errors) / (b.Requests + c.Requests)
		if pooled*math.Min(b.Requests, c.Requests) < 5 {
			res.SuccessTest = "Fisher exact"
			res.SuccessP = FisherExact(int(c.Requests-c.Errors), int(c.Errors), int(b.Requests-b.Errors), int(b.Errors))
		} else {
			res.SuccessTest = "two-proportion z"
			res.SuccessZ, res.SuccessP = TwoProportionZ(c.Requests-c.Errors, c.Requests, b.Requests-b.Errors, b.Requests)
		}
	}

	// Latency: the per-step p99 of both arms.
	res.Latency = MannWhitneyU(c.P99Steps, b.P99Steps)
	res.LatencyP, res.LatencyShift = res.Latency.P, res.Latency.Shift
	res.LatencySteps = min(len(finite(c.P99Steps)), len(finite(b.P99Steps)))
	res.P99Increase = c.P99/b.P99 - 1

	var checks []Check
	add := func(name string, v Verdict, format string, args ...any) {
		checks = append(checks, Check{Name: name, Verdict: v, Reason: fmt.Sprintf(format, args...)})
	}
	window := res.Window.String()

	switch {
	case !b.Counted || !c.Counted:
		arm := "baseline"
		if b.Counted {
			arm = "canary"
		}
		add("traffic", Inconclusive, "the %s window holds fewer than two samples of the %s's clusters, so nothing can be counted: "+
			"Prometheus has scraped them for less than the window, or stopped; wait, or shorten --window", window, arm)
	case !traffic.Known(b.Requests) || !traffic.Known(c.Requests):
		arm := "baseline"
		if traffic.Known(b.Requests) {
			arm = "canary"
		}
		add("traffic", Inconclusive, "Prometheus answered a request count for the %s that cannot be (negative, NaN or infinite), "+
			"so nothing can be counted: check its Envoy statistics and recording rules", arm)
	case !(b.Requests >= t.MinRequests && c.Requests >= t.MinRequests):
		add("traffic", Inconclusive, "baseline served %.0f and canary %.0f requests in %s; each needs at least %.0f (--min-requests)",
			b.Requests, c.Requests, window, t.MinRequests)
	default:
		add("traffic", Pass, "baseline served %.0f and canary %.0f requests in %s (canary share %s)", b.Requests, c.Requests, window, pct(c.Share))
	}
	enough := checks[0].Verdict == Pass

	if !math.IsNaN(t.MinSuccessRate) {
		switch {
		case !enough || math.IsNaN(c.Success):
			add("min-success-rate", Inconclusive, "too little traffic to judge the canary's success rate")
		case c.Success < t.MinSuccessRate:
			add("min-success-rate", Fail, "canary success %s is below --min-success-rate %s (95%% interval %s to %s)",
				pct(c.Success), pct(t.MinSuccessRate), pct(c.SuccessLo), pct(c.SuccessHi))
		default:
			add("min-success-rate", Pass, "canary success %s is at least %s", pct(c.Success), pct(t.MinSuccessRate))
		}
	}
	if !math.IsNaN(t.MaxSuccessDrop) {
		drop := -res.SuccessDelta
		switch {
		case !enough || math.IsNaN(drop):
			add("success-drop", Inconclusive, "too little traffic to compare success rates")
		case drop > t.MaxSuccessDrop && res.SuccessP < t.Alpha:
			add("success-drop", Fail, "canary success %s is %.2f points below baseline %s (allowed %.2f; %s p=%s)",
				pct(c.Success), drop*100, pct(b.Success), t.MaxSuccessDrop*100, res.SuccessTest, pval(res.SuccessP))
		case drop > t.MaxSuccessDrop:
			add("success-drop", Inconclusive, "canary success %s is %.2f points below baseline %s, but not significantly (%s p=%s)",
				pct(c.Success), drop*100, pct(b.Success), res.SuccessTest, pval(res.SuccessP))
		default:
			add("success-drop", Pass, "canary success %s against baseline %s (%+.2f points, allowed -%.2f)",
				pct(c.Success), pct(b.Success), res.SuccessDelta*100, t.MaxSuccessDrop*100)
		}
	}
	switch {
	case !enough:
		add("p99", Inconclusive, "too little traffic to compare latency")
	case slices.Contains(b.Invalid, "p99_ms") || slices.Contains(c.Invalid, "p99_ms"):
		add("p99", Inconclusive, "Prometheus answered a p99 that cannot be (negative, above a day or infinite) for one of the versions")
	case math.IsNaN(res.P99Increase):
		add("p99", Inconclusive, "no latency histogram for one of the versions")
	case res.P99Increase > t.MaxP99Increase && res.LatencyP < t.Alpha && res.Latency.Z > 0:
		add("p99", Fail, "canary p99 %.0fms is %s above baseline %.0fms (allowed %s; Mann-Whitney over %d steps p=%s)",
			c.P99, pct(res.P99Increase), b.P99, pct(t.MaxP99Increase), res.LatencySteps, pval(res.LatencyP))
	case res.P99Increase > t.MaxP99Increase:
		add("p99", Inconclusive, "canary p99 %.0fms is %s above baseline %.0fms, but not significantly over %d steps (p=%s)",
			c.P99, pct(res.P99Increase), b.P99, res.LatencySteps, pval(res.LatencyP))
	default:
		add("p99", Pass, "canary p99 %.0fms against baseline %.0fms (%+.1f%%, allowed +%s)", c.P99, b.P99, res.P99Increase*100, pct(t.MaxP99Increase))
	}

	res.Checks = checks
	res.Verdict = Pass
	for _, ch := range checks {
		switch {
		case ch.Verdict == Fail:
			res.Verdict = Fail
		case ch.Verdict == Inconclusive && res.Verdict == Pass:
			res.Verdict = Inconclusive
		}
	}
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", v*100)
}

func pval(p float64) string {
	switch {
	case math.IsNaN(p):
		return "-"
	case p < 0.0001:
		return "<0.0001"
	}
	return fmt.Sprintf("%.4f", p)
}
