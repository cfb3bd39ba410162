package compare

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"golang.org/x/sync/errgroup"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Querier runs instant and range queries; pkg/prom implements it over HTTP and pkg/demo with the
// PromQL engine.
type Querier interface {
	traffic.Querier
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, []string, error)
}

// Arm selects the Envoy clusters of one version: an exact cluster name, or a regular expression
// after a leading '~'.
type Arm struct {
	Text    string
	pattern string
	regex   bool
}

// Exact is the arm of one cluster, named exactly.
func Exact(cluster string) Arm { return Arm{Text: cluster, pattern: cluster} }

// ParseArm accepts a cluster name or ~regex.
func ParseArm(s string) (Arm, error) {
	if strings.TrimSpace(s) == "" || s == "~" {
		return Arm{}, errors.New("name an Envoy cluster, or a regular expression after ~, such as ~shop_checkout-canary_.*")
	}
	if rest, ok := strings.CutPrefix(s, "~"); ok {
		if _, err := regexp.Compile("^(?:" + rest + ")$"); err != nil {
			return Arm{}, fmt.Errorf("not a regular expression: %w", err)
		}
		return Arm{Text: s, pattern: rest, regex: true}, nil
	}
	return Arm{Text: s, pattern: s}, nil
}

func (a Arm) matcher(clusterLabel string) *labels.Matcher {
	if a.regex {
		m, _ := promql.Re(clusterLabel, a.pattern) // checked by ParseArm
		return m
	}
	return promql.Eq(clusterLabel, a.pattern)
}

// matchers select the arm's series in dialect d. With Istio's standard metrics an arm is a
// destination service, or one version of it after an @ (reviews.default.svc.cluster.local@v2,
// ~reviews\..*@v2): the version is destination_version, exactly, as Istio's subsets split
// one service between a baseline and a canary. Host names hold no @, so the last one always
// starts the version.
func (a Arm) matchers(d promql.Dialect) []*labels.Matcher {
	service, version := a.version(d)
	ms := []*labels.Matcher{service.matcher(d.Cluster)}
	if version != "" {
		ms = append(ms, promql.Eq(promql.IstioDestinationVersion, version))
	}
	return ms
}

// version splits the version off an arm of Istio's standard metrics; other dialects have none.
func (a Arm) version(d promql.Dialect) (Arm, string) {
	i := strings.LastIndex(a.pattern, "@")
	if !d.Standard || i < 0 || i == len(a.pattern)-1 {
		return a, ""
	}
	service := a
	service.pattern = a.pattern[:i]
	return service, a.pattern[i+1:]
}

// Thresholds decide the verdict.
type Thresholds struct {
	MaxP99Increase float64 // relative: 0.10 allows the canary's p99 10% above the baseline's
	MinSuccessRate float64 // 0..1; NaN: not checked
	MaxSuccessDrop float64 // in ratio points (0.01 = one percentage point); NaN: not checked
	MinRequests    float64 // each arm needs this many requests in the window, or the verdict is inconclusive
	Alpha          float64 // significance level of the tests
}

// DefaultThresholds are the defaults of the compare flags.
func DefaultThresholds() Thresholds {
	return Thresholds{MaxP99Increase: 0.10, MinSuccessRate: math.NaN(), MaxSuccessDrop: 0.01, MinRequests: 100, Alpha: 0.05}
}

// Config is one comparison.
type Config struct {
	Dialect    promql.Dialect
	Selector   promql.Selector // the team's series (a namespace), Everything for all
	Baseline   Arm
	Canary     Arm
	Window     time.Duration
	Step       time.Duration
	Thresholds Thresholds
}

// Verdict is the outcome a CI job gates on.
type Verdict string

// The verdicts.
const (
	Pass         Verdict = "PASS"
	Fail         Verdict = "FAIL"
	Inconclusive Verdict = "INCONCLUSIVE"
)

// ExitCode is the process exit status of a verdict: 0, 1, 2.
func (v Verdict) ExitCode() int {
	switch v {
	case Pass:
		return 0
	case Fail:
		return 1
	}
	return 2
}

// ArmStats are one version's numbers over the window.
type ArmStats struct {
	Selector  string
	Clusters  []string
	Counted   bool    // the window holds two samples or more of the clusters, so they can be counted
	Requests  float64 // final responses in the window
	Errors    float64 // 5xx among them
	RPS       float64
	Share     float64 // of both arms' requests per second
	Success   float64
	SuccessLo float64 // Wilson 95% interval
	SuccessHi float64
	P50       float64
	P90       float64
	P99       float64
	Timeouts  float64
	Retries   float64
	// Per-step series for the latency test and the sparklines.
	P99Steps []float64
	RPSSteps []float64
	// Invalid names (as in JSON) the numbers Prometheus answered outside their domain: a count
	// or rate that is negative or not finite, a latency below 0 or above a day. They hold NaN.
	Invalid []string
}

// Check is one judged aspect of the canary.
type Check struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
}

// Result is a whole comparison.
type Result struct {
	// Backend is what answered, as the JSON contract names it: "prometheus" (also for "") or
	// "thanos-query". The caller sets it; Run does not know.
	Backend  string
	At       time.Time
	Window   time.Duration
	Step     time.Duration
	Baseline ArmStats
	Canary   ArmStats
	// SuccessDelta is canary minus baseline success, in ratio points.
	SuccessDelta float64
	SuccessTest  string // "two-proportion z" or "Fisher exact"
	SuccessZ     float64
	SuccessP     float64
	P99Increase  float64 // relative, canary over baseline
	Latency      MannWhitney
	LatencyP     float64
	LatencyShift float64 // Hodges-Lehmann, canary minus baseline per-step p99
	LatencySteps int
	Checks       []Check
	Verdict      Verdict
	Thresholds   Thresholds
	Warnings     []string
}

// NoClusterError says an arm matches no cluster, and which names come closest.
type NoClusterError struct {
	Flag    string
	Arm     Arm
	Closest []string
}

func (e *NoClusterError) Error() string {
	msg := fmt.Sprintf("invalid --%s %q: no Envoy cluster matches it", e.Flag, e.Arm.Text)
	if len(e.Closest) > 0 {
		msg += "; the closest are " + strings.Join(e.Closest, ", ")
	}
	return msg
}

// OverlapError says the arms select some of the same clusters: a comparison of a version with
// itself would pass whatever it holds.
type OverlapError struct {
	Baseline, Canary Arm
	// Clusters are the clusters both arms select, sorted.
	Clusters []string
}

func (e *OverlapError) Error() string {
	names := make([]string, len(e.Clusters))
	for i, c := range e.Clusters {
		names[i] = termtext.Sanitize(c)
	}
	const most = 5
	list := strings.Join(names[:min(len(names), most)], ", ")
	if len(names) > most {
		list += fmt.Sprintf(" and %d more", len(names)-most)
	}
	return termtext.Sanitize(fmt.Sprintf("--baseline %q and --canary %q both select %s: a cluster belongs to one version; narrow the canary's ~regex (or the baseline's) so that they select different clusters",
		e.Baseline.Text, e.Canary.Text, list))
}

// overlap is the clusters both sorted lists hold.
func overlap(a, b []string) []string {
	var out []string
	for _, c := range a {
		if _, ok := slices.BinarySearch(b, c); ok {
			out = append(out, c)
		}
	}
	return out
}

// Run queries both arms at instant at and judges the canary. Every query of both arms goes out at
// once.
func Run(ctx context.Context, q Querier, cfg Config, at time.Time) (Result, error) {
	if cfg.Window <= 0 || cfg.Step <= 0 {
		return Result{}, errors.New("window and step must be positive")
	}
	res := Result{At: at, Window: cfg.Window, Step: cfg.Step, Thresholds: cfg.Thresholds}
	arms := []*ArmStats{&res.Baseline, &res.Canary}
	flags := []string{"baseline", "canary"}
	g, gctx := errgroup.WithContext(ctx)
	var warnings [2][]string
	for i, arm := range []Arm{cfg.Baseline, cfg.Canary} {
		g.Go(func() error {
			w, err := gatherArm(gctx, q, cfg, arm, at, arms[i])
			warnings[i] = w
			if err != nil {
				return err
			}
			if len(arms[i].Clusters) == 0 {
				return &NoClusterError{Flag: flags[i], Arm: arm, Closest: closestClusters(gctx, q, cfg, arm, at)}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Result{}, err
	}
	// Two different exact names cannot select the same cluster (the same name is refused before
	// any query); a regex can match the other arm's clusters, which only the answers tell.
	if cfg.Baseline.regex || cfg.Canary.regex {
		if both := overlap(res.Baseline.Clusters, res.Canary.Clusters); len(both) > 0 {
			return Result{}, &OverlapError{Baseline: cfg.Baseline, Canary: cfg.Canary, Clusters: both}
		}
	}
	res.Warnings = append(warnings[0], warnings[1]...)
	judge(&res)
	return res, nil
}

// gatherArm runs one arm's queries concurrently and fills s.
func gatherArm(ctx context.Context, q Querier, cfg Config, arm Arm, at time.Time, s *ArmStats) ([]string, error) {
	d := cfg.Dialect
	sel := cfg.Selector
	for _, m := range arm.matchers(d) {
		sel = sel.WithMatcher(m)
	}
	_, version := arm.version(d)
	w := cfg.Window
	s.Selector = arm.Text
	instant := []struct {
		expr parser.Expr
		into func(traffic.Vector)
	}{
		{promql.ClusterNames(d, sel), func(v traffic.Vector) {
			for _, smp := range v {
				name := smp.Metric.Get(d.Cluster)
				if version != "" {
					// One version of a service: the other arm may hold another of the same.
					name += "@" + version
				}
				s.Clusters = append(s.Clusters, name)
			}
			// A broken Prometheus may answer a series more than once: each cluster is named once.
			sort.Strings(s.Clusters)
			s.Clusters = slices.Compact(s.Clusters)
		}},
		{promql.ResponseIncrease(d, sel, w), func(v traffic.Vector) {
			s.Counted = len(v) > 0
			valid := true
			for _, smp := range v {
				n, ok := traffic.CheckRate(smp.Value)
				valid = valid && ok && !math.IsNaN(n)
				s.Requests += n
				if smp.Metric.Get(d.Class) == d.Class5xx {
					s.Errors += n
				}
			}
			if !valid {
				// One impossible count spoils the sums: no data, never a verdict from it.
				s.Requests, s.Errors = math.NaN(), math.NaN()
				s.Invalid = append(s.Invalid, "requests", "errors_5xx")
			}
		}},
		{promql.TotalRequestRate(d, sel, w), func(v traffic.Vector) { s.RPS = scalar(v) }},
		{promql.TotalLatency(d, sel, 0.5, w), func(v traffic.Vector) { s.P50 = scalar(v) }},
		{promql.TotalLatency(d, sel, 0.9, w), func(v traffic.Vector) { s.P90 = scalar(v) }},
		{promql.TotalLatency(d, sel, 0.99, w), func(v traffic.Vector) { s.P99 = scalar(v) }},
		{promql.TotalRate(sel, "envoy_cluster_upstream_rq_timeout", w), func(v traffic.Vector) { s.Timeouts = scalar(v) }},
		{promql.TotalRate(sel, "envoy_cluster_upstream_rq_retry", w), func(v traffic.Vector) { s.Retries = scalar(v) }},
	}
	ranged := []struct {
		expr parser.Expr
		into func(model.Matrix)
	}{
		{promql.TotalLatency(d, sel, 0.99, cfg.Step), func(m model.Matrix) { s.P99Steps = steps(m, at, w, cfg.Step) }},
		{promql.TotalRequestRate(d, sel, cfg.Step), func(m model.Matrix) { s.RPSSteps = steps(m, at, w, cfg.Step) }},
	}
	results := make([]traffic.Vector, len(instant))
	matrices := make([]model.Matrix, len(ranged))
	warns := make([][]string, len(instant)+len(ranged))
	g, gctx := errgroup.WithContext(ctx)
	for i, iq := range instant {
		text, err := promql.Check(iq.expr)
		if err != nil {
			return nil, err
		}
		g.Go(func() error {
			r, err := q.Query(gctx, text, at)
			results[i], warns[i] = r.Vector, r.Warnings
			return err
		})
	}
	start := at.Add(-w).Add(cfg.Step)
	for i, rq := range ranged {
		text, err := promql.Check(rq.expr)
		if err != nil {
			return nil, err
		}
		g.Go(func() error {
			m, w, err := q.QueryRange(gctx, text, start, at, cfg.Step)
			matrices[i], warns[len(instant)+i] = m, w
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, iq := range instant {
		iq.into(results[i])
	}
	for i, rq := range ranged {
		rq.into(matrices[i])
	}
	s.checkDomains()
	s.Success, s.SuccessLo, s.SuccessHi = math.NaN(), math.NaN(), math.NaN()
	if s.Requests > 0 {
		s.Success = (s.Requests - s.Errors) / s.Requests
		s.SuccessLo, s.SuccessHi = Wilson(s.Requests-s.Errors, s.Requests, Z95)
	}
	var all []string
	for _, w := range warns {
		all = append(all, w...)
	}
	return all, nil
}

// checkDomains drops the numbers of s outside their domain (traffic.CheckRate) and names them in
// s.Invalid. The counts are checked as they are summed.
func (s *ArmStats) checkDomains() {
	for _, n := range []struct {
		v     *float64
		check func(float64) (float64, bool)
		name  string
	}{
		{&s.RPS, traffic.CheckRate, "rps"}, {&s.P50, traffic.CheckLatency, "p50_ms"}, {&s.P90, traffic.CheckLatency, "p90_ms"},
		{&s.P99, traffic.CheckLatency, "p99_ms"}, {&s.Timeouts, traffic.CheckRate, "timeouts_per_second"},
		{&s.Retries, traffic.CheckRate, "retries_per_second"},
	} {
		var ok bool
		if *n.v, ok = n.check(*n.v); !ok {
			s.Invalid = append(s.Invalid, n.name)
		}
	}
	for _, st := range []struct {
		steps []float64
		check func(float64) (float64, bool)
		name  string
	}{{s.P99Steps, traffic.CheckLatency, "p99_steps_ms"}, {s.RPSSteps, traffic.CheckRate, "rps_steps"}} {
		bad := false
		for i, v := range st.steps {
			var ok bool
			if st.steps[i], ok = st.check(v); !ok {
				bad = true
			}
		}
		if bad {
			s.Invalid = append(s.Invalid, st.name)
		}
	}
	if s.Errors > s.Requests && !slices.Contains(s.Invalid, "requests") {
		s.Requests, s.Errors = math.NaN(), math.NaN()
		s.Invalid = append(s.Invalid, "requests", "errors_5xx")
	}
}

// scalar is the value of a one-sample vector, NaN when empty.
func scalar(v traffic.Vector) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return v[0].Value
}

// steps lays a one-series matrix out on the step grid of the window, NaN where a step has no value.
func steps(m model.Matrix, at time.Time, w, step time.Duration) []float64 {
	n := int(w / step)
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	if len(m) == 0 {
		return out
	}
	start := at.Add(-w).Add(step)
	for _, p := range m[0].Values {
		i := int(math.Round(float64(p.Timestamp.Time().Sub(start)) / float64(step)))
		if i >= 0 && i < n {
			out[i] = float64(p.Value)
		}
	}
	return out
}

// closestClusters names up to three existing clusters nearest to what an arm asked for.
func closestClusters(ctx context.Context, q Querier, cfg Config, arm Arm, at time.Time) []string {
	text, err := promql.Check(promql.ClusterNames(cfg.Dialect, cfg.Selector))
	if err != nil {
		return nil
	}
	r, err := q.Query(ctx, text, at)
	if err != nil {
		return nil
	}
	type scored struct {
		name string
		d    int
	}
	var names []scored
	for _, s := range r.Vector {
		name := s.Metric.Get(cfg.Dialect.Cluster)
		names = append(names, scored{name, levenshtein(strings.TrimPrefix(arm.Text, "~"), name)})
	}
	sort.Slice(names, func(i, j int) bool {
		if names[i].d != names[j].d {
			return names[i].d < names[j].d
		}
		return names[i].name < names[j].name
	})
	var out []string
	for i := 0; i < len(names) && i < 3; i++ {
		out = append(out, names[i].name)
	}
	return out
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
