package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/tui"
)

// compareErrorExit is compare's exit status for errors: 0, 1 and 2 are the verdicts.
const compareErrorExit = 3

// CompareOptions holds the compare flags.
type CompareOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	team     string
	prom     *PrometheusFlags
	baseline string
	canary   string
	window   time.Duration
	step     time.Duration
	dialect  string
	output   *outputFlag
	watch    bool
	interval time.Duration
	ns       trafficNamespaces

	maxP99Increase string
	minSuccessRate string
	maxSuccessDrop string
	minRequests    float64
	alpha          float64

	cfg compare.Config
}

const compareLong = `Compare judges a canary against its baseline from the Envoy statistics in Prometheus.

--baseline and --canary name Envoy clusters: an exact name, or a regular expression after ~
(--canary '~shop_checkout-canary_.*'). For both versions it shows requests per second and the
observed traffic share, the success rate with a Wilson 95% interval, 5xx counts, p50/p90/p99,
timeouts and retries, and the deltas. Success is tested on the request and error counts (a
two-proportion z-test, or Fisher's exact test when failures are few); latency with a
Mann-Whitney U test over the p99 of every --step in the window, as Kayenta does.

The verdict is PASS, FAIL or INCONCLUSIVE, with the reason of every check:
  traffic           each version served at least --min-requests in the window, else inconclusive
                    (also when the window holds fewer than two samples of a version)
  min-success-rate  the canary's success rate is at least --min-success-rate (when given)
  success-drop      the canary's success is not more than --max-success-drop points below the
                    baseline's with significance (a drop without significance is inconclusive)
  p99               the canary's p99 is not more than --max-p99-increase above the baseline's
                    with significance (an increase without significance is inconclusive)

Exit status: 0 PASS, 1 FAIL, 2 INCONCLUSIVE, 3 error, so a CI job can gate a rollout. --watch
refreshes the comparison live on a terminal, and exits with the status of the last verdict
shown; in top, mark two rows with m and press c.

On Istio's standard metrics (--dialect istio-standard, found on its own where Envoy's cluster
statistics are trimmed, as on a default Istio installation), --baseline and --canary name
destination services (reviews.default.svc.cluster.local, or ~regex), or one version of a service
after an @ (reviews.default.svc.cluster.local@v2): its destination_version, as an Istio subset
splits one service between the versions. Timeouts and retries are absent there.

-n is kubectl's namespace, the team's: where TEAM's Prometheus runs. --envoy-namespace reads
only the Envoy pods running in one namespace. Without a TEAM, -n is refused.

With --prometheus-url the window ends at the store's frontier, the newest instant for which it
holds a scrape of every Envoy read, not at the clock: a store fed by remote write holds its
newest samples late, and a window ending at the clock would miss them.`

const compareExample = `  # Gate a rollout in CI
  kubectl promteam compare team-a -n team-a --envoy-namespace shop \
    --baseline shop_checkout-primary_8080 --canary shop_checkout-canary_8080 --max-p99-increase 10% -o json

  # Watch it live
  kubectl promteam compare --demo --baseline shop_checkout-primary_8080 --canary shop_checkout-canary_8080 --watch`

// NewCmdCompare builds `compare`.
func NewCmdCompare(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	t := compare.DefaultThresholds()
	o := &CompareOptions{
		configFlags: configFlags, IOStreams: streams, prom: NewPrometheusFlags(configFlags, streams), ns: trafficNamespaces{configFlags: configFlags},
		window: 5 * time.Minute, step: 30 * time.Second, dialect: "auto", interval: 5 * time.Second,
		maxP99Increase: "10%", maxSuccessDrop: "1", minRequests: t.MinRequests, alpha: t.Alpha,
		output: newOutputFlag(formatTable, formatJSON, formatYAML).alias("text", formatTable),
	}
	cmd := &cobra.Command{
		Use:               "compare [TEAM] --baseline CLUSTER --canary CLUSTER [flags]",
		Short:             "Judge a canary against its baseline: live, or as a CI gate",
		Long:              compareLong,
		Example:           compareExample,
		Annotations:       map[string]string{errorExitAnnotation: strconv.Itoa(compareErrorExit)},
		ValidArgsFunction: cobra.NoFileCompletions,
		Args:              atMostOneArg("team name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			code, err := o.Run(cmd.Context())
			if err != nil {
				return err
			}
			if code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	o.AddFlags(cmd.Flags())
	o.output.add(cmd, "table is the verdict and a line per check")
	noFiles := cobra.ShellCompDirectiveNoFileComp
	_ = cmd.RegisterFlagCompletionFunc("dialect", cobra.FixedCompletions(strings.Split(promql.DialectNames(), ", "), noFiles))
	return cmd
}

// AddFlags binds the compare flags.
func (o *CompareOptions) AddFlags(fs *pflag.FlagSet) {
	o.prom.AddFlags(fs, true)
	fs.StringVar(&o.baseline, "baseline", o.baseline, "Envoy cluster of the stable version, or ~regex")
	fs.StringVar(&o.canary, "canary", o.canary, "Envoy cluster of the canary, or ~regex")
	fs.DurationVar(&o.window, "window", o.window, "How far back to compare")
	fs.DurationVar(&o.step, "step", o.step, "Resolution of the latency test: the p99 of every step is one observation (at least two scrape intervals)")
	fs.StringVar(&o.maxP99Increase, "max-p99-increase", o.maxP99Increase, "How much higher the canary's p99 may be, e.g. 10%")
	fs.StringVar(&o.minSuccessRate, "min-success-rate", o.minSuccessRate, "Lowest acceptable success rate of the canary in percent, e.g. 99 (not checked unless given)")
	fs.StringVar(&o.maxSuccessDrop, "max-success-drop", o.maxSuccessDrop, "How many percentage points the canary's success may fall below the baseline's; none turns the check off")
	fs.Float64Var(&o.minRequests, "min-requests", o.minRequests, "Requests each version needs in the window; with fewer the verdict is INCONCLUSIVE")
	fs.Float64Var(&o.alpha, "alpha", o.alpha, "Significance level of the tests")
	fs.StringVar(&o.dialect, "dialect", o.dialect, "Envoy label dialect: "+promql.DialectNames())
	fs.BoolVar(&o.watch, "watch", o.watch, "Refresh the comparison live (on a terminal)")
	fs.DurationVar(&o.interval, "interval", o.interval, "Refresh interval of --watch")
	o.ns.AddFlags(fs, false)
}

// Complete reads the team argument and parses every flag into the comparison's configuration.
func (o *CompareOptions) Complete(cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.team = args[0]
	}
	if o.baseline == "" || o.canary == "" {
		return errors.New("--baseline and --canary are required: name the Envoy clusters of both versions (or ~regex)")
	}
	var err error
	if o.cfg.Baseline, err = compare.ParseArm(o.baseline); err != nil {
		return flagError("baseline", o.baseline, err)
	}
	if o.cfg.Canary, err = compare.ParseArm(o.canary); err != nil {
		return flagError("canary", o.canary, err)
	}
	t := compare.Thresholds{MinRequests: o.minRequests, Alpha: o.alpha, MinSuccessRate: math.NaN(), MaxSuccessDrop: math.NaN()}
	if t.MaxP99Increase, err = percent(o.maxP99Increase, false); err != nil {
		return flagError("max-p99-increase", o.maxP99Increase, err)
	}
	if o.minSuccessRate != "" {
		if t.MinSuccessRate, err = percent(o.minSuccessRate, true); err != nil {
			return flagError("min-success-rate", o.minSuccessRate, err)
		}
	}
	if o.maxSuccessDrop != "" && o.maxSuccessDrop != "none" {
		if t.MaxSuccessDrop, err = percent(o.maxSuccessDrop, true); err != nil {
			return flagError("max-success-drop", o.maxSuccessDrop, err)
		}
	}
	o.cfg.Thresholds, o.cfg.Window, o.cfg.Step = t, o.window, o.step
	if o.dialect != "auto" {
		if o.cfg.Dialect, err = promql.DialectByName(o.dialect); err != nil {
			return flagError("dialect", o.dialect, err)
		}
	}
	o.ns.Complete(cmd)
	o.cfg.Selector = o.ns.selector()
	return nil
}

// Validate checks the options as a whole: arms apart, window and step in range, the namespaces
// and the Prometheus connection.
func (o *CompareOptions) Validate() error {
	if o.baseline == o.canary {
		return flagError("canary", o.canary, errors.New("--baseline names the same; name the canary's cluster (or ~regex), apart from the baseline's"))
	}
	switch {
	case o.window < time.Minute || o.window > 24*time.Hour:
		return flagError("window", o.window.String(), errors.New("use 1m to 24h, e.g. 5m"))
	case o.step < 5*time.Second || o.step > o.window/3:
		return flagError("step", o.step.String(), fmt.Errorf("use 5s or more and at most a third of --window (%s), e.g. 30s", o.window))
	case o.window/o.step > 1000:
		return flagError("step", o.step.String(), errors.New("more than 1000 steps in the window; use a longer step"))
	case !(o.minRequests >= 0) || math.IsInf(o.minRequests, 1):
		return flagError("min-requests", fmt.Sprint(o.minRequests), errors.New("use a finite number, 0 or more, e.g. 100"))
	case !(o.alpha > 0 && o.alpha < 1):
		return flagError("alpha", fmt.Sprint(o.alpha), errors.New("use a probability between 0 and 1, e.g. 0.05"))
	case o.interval < time.Second:
		return flagError("interval", o.interval.String(), errors.New("use 1s or more, e.g. 5s"))
	}
	if err := o.ns.Validate(o.team); err != nil {
		return err
	}
	return o.prom.Validate(o.team)
}

// percent reads 10%, 10 or 0.5 as a share of 1; upTo100 limits it to 100%.
func percent(s string, upTo100 bool) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (upTo100 && v > 100) {
		return 0, errors.New("use a percentage such as 10 or 10%")
	}
	return v / 100, nil
}

// Run compares once (or live with --watch) and returns the verdict's exit status.
func (o *CompareOptions) Run(ctx context.Context) (int, error) {
	// A one-off comparison's whole run, reaching Prometheus included, ends within --timeout.
	deadline := time.Now().Add(o.prom.Timeout)
	q, target, release, err := o.prom.Connect(ctx, o.team)
	if err != nil {
		return 0, err
	}
	defer release()
	cq, ok := q.(compare.Querier)
	if !ok {
		return 0, errors.New("this Prometheus connection cannot run range queries")
	}
	if o.watch && isTerminal(o.Out) {
		fn := liveCompare(cq, o.cfg)
		model := tui.NewCompare(fn, o.baseline, o.canary, tui.Options{Target: target, Backend: o.prom.Backend(), Frontier: o.prom.Frontier(q, o.cfg.Selector),
			Interval: o.interval, Timeout: o.prom.Timeout, NoColor: noColor()})
		final, err := runProgram(ctx, model, o.In, o.Out)
		if err != nil {
			return 0, err
		}
		return watchExit(final)
	}
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	at, err := readAt(rctx, o.prom.Frontier(q, o.cfg.Selector))
	if err != nil {
		return 0, err
	}
	if o.cfg.Dialect.Name == "" {
		if o.cfg.Dialect, err = traffic.Discover(rctx, q, o.cfg.Selector, at); err != nil {
			return 0, err
		}
	}
	res, err := compare.Run(rctx, cq, o.cfg, at)
	if err != nil {
		return 0, err
	}
	res.Backend = o.prom.Backend()
	var buf bytes.Buffer
	switch o.output.format() {
	case formatJSON:
		err = compare.RenderJSON(&buf, res)
	case formatYAML:
		err = writeYAML(&buf, func(w io.Writer) error { return compare.RenderJSON(w, res) })
	default:
		err = compare.RenderText(&buf, res)
	}
	if err != nil {
		return 0, err
	}
	if _, err := o.Out.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return res.Verdict.ExitCode(), nil
}

// watchExit is compare --watch's exit status: the verdict on screen when it ended, as a one-off
// comparison's; without one, an error when the latest refresh failed, else INCONCLUSIVE.
func watchExit(final tea.Model) (int, error) {
	m, ok := final.(tui.Model)
	if !ok {
		return 0, fmt.Errorf("compare --watch ended with a %T", final)
	}
	res, ok, err := m.LastComparison()
	switch {
	case ok:
		return res.Verdict.ExitCode(), nil
	case err != nil:
		return 0, err
	}
	return compare.Inconclusive.ExitCode(), nil
}

// The comparison top opens on two marked rows uses compare's default window and step.
const (
	compareWindow = 5 * time.Minute
	compareStep   = 30 * time.Second
)

// liveCompare is the comparison behind compare --watch and top's c key. The arms are exact
// cluster names from top's rows, or cfg's own arms when the names are the flags' text (which may
// be a ~regex). Without a dialect it finds the one Prometheus holds on the first refresh.
func liveCompare(q compare.Querier, cfg compare.Config) tui.CompareFunc {
	var mu sync.Mutex
	return func(ctx context.Context, at time.Time, baseline, canary string) (compare.Result, error) {
		mu.Lock()
		c := cfg
		mu.Unlock()
		if c.Dialect.Name == "" {
			d, err := traffic.Discover(ctx, q, c.Selector, at)
			if err != nil {
				return compare.Result{}, err
			}
			c.Dialect = d
			mu.Lock()
			cfg.Dialect = d
			mu.Unlock()
		}
		if baseline != c.Baseline.Text || canary != c.Canary.Text {
			c.Baseline, c.Canary = compare.Exact(baseline), compare.Exact(canary)
		}
		return compare.Run(ctx, q, c, at)
	}
}
