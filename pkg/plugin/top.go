package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/demo"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/overview"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/tui"
)

// TopOptions holds the top flags.
type TopOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	team        string
	prom        *PrometheusFlags
	window      time.Duration
	interval    time.Duration
	dialectName string
	naming      string
	groupBy     string
	source      string
	once        bool
	output      *outputFlag
	sortBy      string
	reverse     bool
	filter      string
	minRPS      float64
	offsetsText string
	ns          trafficNamespaces
	// teamsOpts are -A and --teams: one row per team instead of one team's clusters.
	teamsOpts teamsFlags

	// isTerminal reports whether out is a terminal; tests replace it.
	isTerminal func(io.Writer) bool

	selector promql.Selector
	// dialect is --dialect parsed; the zero Dialect means auto, found from the series.
	dialect promql.Dialect
	sortKey traffic.SortKey
	scheme  traffic.Naming
	group   traffic.GroupBy
	from    traffic.Source
	// windowSet is whether --window was given, intervalSet whether --interval was.
	windowSet   bool
	intervalSet bool
	// offsets are the pasts the dashboard's v key compares with; a snapshot compares with them
	// when --offsets was given (offsetsSet).
	offsets    []time.Duration
	offsetsSet bool
}

// NewTopOptions returns the options with their defaults.
func NewTopOptions(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *TopOptions {
	return &TopOptions{
		configFlags: configFlags,
		IOStreams:   streams,
		prom:        NewPrometheusFlags(configFlags, streams),
		ns:          trafficNamespaces{configFlags: configFlags},
		window:      time.Minute,
		interval:    2 * time.Second,
		dialectName: "auto",
		naming:      string(traffic.NamingAuto),
		groupBy:     string(traffic.GroupByCluster),
		source:      string(traffic.SourceAuto),
		output:      newOutputFlag(formatTable, formatWide, formatJSON, formatYAML),
		sortBy:      string(traffic.SortRPS),
		minRPS:      1,
		offsetsText: "1h,1d,1w",
		isTerminal:  isTerminal,
		teamsOpts:   teamsFlags{concurrency: defaultConcurrency},
	}
}

const topLong = `Top shows Envoy's upstream traffic live: requests per second, success rate, 4xx and 5xx
responses per second and latency percentiles for every upstream cluster, read from Prometheus.
A cluster above the red thresholds (errors from 10%, or p99 above 1s, with at least --min-rps
requests per second) is marked with ! before its name, in colour or not.

In a terminal it is a dashboard: arrows or j/k move, 1-9 and 0 sort by a column (again to reverse),
/ filters, Enter drills into a cluster (status codes, timeouts, retries, overflows, ejections,
pods, latency buckets), Esc goes back, m marks a baseline and then a canary and c compares the
two live (see compare), b switches between a row per cluster and a row per route, T, N and X
switch to another team, namespace or kubeconfig context (a picker: type to filter, Enter, Esc),
p pauses, ? shows every key, q quits. When the output is not a terminal, or with --once, it
prints one snapshot as a table (-o wide for more columns), as JSON (-o json) or as YAML (-o yaml):

  {"at": "2026-01-02T15:04:05Z", "window": "1m", "source": "raw", "group_by": "cluster",
   "rows": [{"name": ..., "route": ..., "namespace": ...,
   "service": ..., "rps": ..., "success_rate": 0..1, "p50_ms": ..., "p90_ms": ..., "p99_ms": ...,
   "active_requests": ..., "rps_4xx": ..., "rps_5xx": ...}], "listeners": [{"prefix": ..., "rps": ...,
   "success_rate": ..., "p99_ms": ..., "rps_4xx": ..., "rps_5xx": ...}], "alerts": [{"alertname": ...,
   "state": "firing", "severity": ..., "envoy_cluster_name": ..., "envoy_namespace": ...}]}

"at" is the snapshot's instant (RFC 3339, UTC): the clock's, or with --prometheus-url the store's
frontier, the newest instant for which it holds a scrape of every Envoy read, since a store fed by
remote write holds its newest samples late (the dashboard says "data 7s old"). "rps_4xx" and
"rps_5xx" are final 4xx and 5xx responses per second: 0 when the cluster answered and none was of
the class, null when it had no responses. "route" is the route a row stands for as its user wrote
it, only on rows whose name encodes one.

--group-by route shows a row per route. Envoy Gateway names the cluster of each rule of a route
httproute/NAMESPACE/NAME/rule/N (also grpcroute, tlsroute, tcproute, udproute): the rules of one
route become one row, team-a/checkout (a row per cluster names each rule, team-a/checkout rule 0).
Contour's and Emissary's clusters are their routes' upstreams, named as an HTTPProxy or a
Mapping lists them: shop/checkout:8080 (Contour), checkout.shop:8080 (--naming emissary). A name
that encodes no route is a row of its own. A route's rates are the sums of its clusters'; its
success ratio and percentiles are computed over all its requests (the queries sum by route,
buckets before percentiles), never averaged, with as many queries as a row per cluster. -o wide
adds the cluster (or route group) name; "name" in JSON is that name.

v in the dashboard compares every row with the same time an hour, a day and a week ago
(--offsets): each cell is the row's biggest move in RPS, 5xx share or p99 against that past, and
the rows come ordered by their biggest move. With --offsets given, a snapshot compares too: a
BIGGEST CHANGE column in tables; "offsets", and on each row "past" (its numbers then) and
"change" ({"offset": "1w", "metric": "rps", "now": ..., "then": ..., "score": ...}) in JSON/YAML.

The dashboard's header counts the alerts of the team's rules that fire (and how many of them are
critical) and that are pending, and a cluster's drill-down lists its own; kubectl promteam alerts
shows them with their labels and receivers. "alerts" is absent from JSON when Prometheus did not
answer for them. The demo evaluates the stack's alerting rules as a team's Prometheus does, from
six minutes before it starts: the 5xx alert (for 5m) of its failing clusters already fires.

Missing data is a dash (null in JSON), never 0 ms or 100%. A number Prometheus answers outside
what it can be (a negative rate, a success ratio outside 0..1, a latency below 0 or above a day,
infinity) is invalid: tables print invalid and the dashboard ✗ in its place, JSON has null and
the row lists the field in "invalid": ["p99_ms"], a field only such rows have. The label dialect (stock Envoy or
Istio's Envoy tags) is found from the series Prometheus holds unless --dialect names it.

On a default Istio installation, which trims Envoy's cluster statistics, top reads Istio's
standard metrics instead (istio-standard, also found on its own; --dialect istio-standard
prefers them where both exist): a row is a destination service, counted as its callers
reported it (reporter="source"), with the Service Istio names; success is the share of
responses that were not 5xx and latency istio_request_duration_milliseconds. Requests in flight
and the drill-down's timeouts, retries, overflows and ejections have no Istio equivalent and
stay empty. The listeners are the destination workloads (NAMESPACE/WORKLOAD), as their own
sidecars reported what they received (reporter="destination").

--source says where the cluster numbers come from. rules reads the series the recording rules
of the team's stack keep (see create): Prometheus has computed the rates and latency buckets
over 5m already, top derives the success ratio and percentiles from them (their sums add up
across namespaces and --shards), so a refresh stays cheap however many clusters there are; the window is then 5m, JSON says
"source": "rules" and the dashboard's header "recording rules". raw computes them from Envoy's
own series over --window. auto, the default, reads the rules when --window is not given and
Prometheus holds recorded series for the selection, else raw. Listeners and the drill-down
always read Envoy's own series.

Namespaces: -n is kubectl's namespace, the team's: where TEAM's Prometheus runs (top TEAM -n
NAMESPACE). --service-namespace shows the upstream services of one namespace, the NAMESPACE
column; --envoy-namespace reads only the Envoy pods running in one namespace. A selection that
keeps nothing says so and lists the namespaces there are. Without a TEAM, -n would select
nothing and is refused.

A switch reaches the new team's Prometheus with the same flags within --timeout; until it
answers the current team stays on screen, and when it cannot be reached it stays for good and the
header says why.

--demo runs against a simulated Envoy fleet inside the plugin: no cluster, no Prometheus; every
--source works on it, the recording rules included, and T switches between its two simulated
teams, demo and demo-large.

-A shows every team at once, for the platform team: one row per team stack the user may list (as
list -A finds them), with its total requests per second, its success rate (each cluster's
weighted by its requests), its worst p99 (the slowest cluster with traffic), the alerts firing,
its targets up of all, the series in a Prometheus pod's head, the samples per second its scrapes
bring (over the last 5m; - while the Prometheus holds less than that) and the memory the head implies (about 100 MB and 1.9 KB a series)
against the pod's limit. --teams a,shop/b does the same for the teams named. Teams are reached
at once, at most --concurrency together, each within --timeout (through a tunnel, or the service
proxy with --via-proxy, or their Thanos Query when the stack has one: VIA says which); a team
that cannot be reached is a row whose NOTE says why (no permission, no ready pod, no answer in
time). NOTE also names a limit the team is near, with the fix: the largest scrape at 80% of
--sample-limit, a head needing more than half the memory limit, no target up. --sort-by name
(the default), rps, success, p99, alerts or series; --filter keeps the teams whose namespace or
team contains the text. On a terminal it is a live view, read again every 15s (or --interval)
through each team's tunnel kept open between refreshes: arrows move, 1-6 sort by name, rps,
success, p99, alerts or series (again to reverse), / filters, Enter opens the selected team's
dashboard as top TEAM would show it and Esc there comes back, q quits. With --once, -o, or when stdout is not a terminal, it prints one snapshot. JSON:

  {"kind": "TeamOverview", "at": ..., "window": "1m", "teams": [{"namespace": ..., "team": ...,
   "status": "Available", "ready": 2, "desired": 2, "shards": 1, "via": "prometheus",
   "rps": ..., "success_rate": ..., "worst_p99_ms": ..., "worst_cluster": ..., "clusters": ...,
   "alerts_firing": ..., "targets_up": ..., "targets": ..., "head_series": ...,
   "samples_per_second": ..., "largest_scrape": ..., "memory_bytes": ...,
   "limits": {"sample_limit": ..., "target_limit": ..., "memory_bytes": ...}, "notes": [...]}]}

A team not reached has "reason" instead of "via" and null numbers; "head_series" and
"memory_bytes" are null through a Thanos Query, which has no head of its own.`

const topExample = `  # Team team-a's dashboard: its Prometheus in namespace team-a, reached through a built-in tunnel
  kubectl promteam top team-a -n team-a

  # Only the services of namespace shop (the NAMESPACE column), one snapshot as JSON
  kubectl promteam top team-a -n team-a --service-namespace shop --once -o json

  # Only what the Envoys running in namespace edge report, from a Prometheus at a URL
  kubectl promteam top --prometheus-url http://localhost:9090 --envoy-namespace edge

  # The simulated fleet
  kubectl promteam top --demo

  # Every team's stack in one table: traffic, alerts, targets, series and limits
  kubectl promteam top -A --once`

// NewCmdTop builds `top [TEAM]`.
func NewCmdTop(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := NewTopOptions(streams, configFlags)
	cmd := &cobra.Command{
		Use:               "top [TEAM] [flags]",
		Short:             "Live Envoy L7 traffic per upstream service, from Prometheus",
		Long:              topLong,
		Example:           topExample,
		Args:              atMostOneArg("team name"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	o.output.add(cmd, "prints one snapshot (implies --once)")
	noFiles := cobra.ShellCompDirectiveNoFileComp
	_ = cmd.RegisterFlagCompletionFunc("dialect", cobra.FixedCompletions(strings.Split(promql.DialectNames(), ", "), noFiles))
	_ = cmd.RegisterFlagCompletionFunc("naming", cobra.FixedCompletions(strings.Split(traffic.NamingNames(), ", "), noFiles))
	_ = cmd.RegisterFlagCompletionFunc("group-by", cobra.FixedCompletions(strings.Split(traffic.GroupByNames(), ", "), noFiles))
	_ = cmd.RegisterFlagCompletionFunc("source", cobra.FixedCompletions(strings.Split(traffic.SourceNames(), ", "), noFiles))
	var keys []string
	for _, k := range traffic.SortKeys {
		keys = append(keys, string(k))
	}
	_ = cmd.RegisterFlagCompletionFunc("sort-by", cobra.FixedCompletions(keys, noFiles))
	return cmd
}

// AddFlags binds the top flags.
func (o *TopOptions) AddFlags(fs *pflag.FlagSet) {
	o.prom.AddFlags(fs, true)
	fs.DurationVar(&o.window, "window", o.window, "Rate window; at least four Envoy scrape intervals (Envoy's own series only: the recording rules' window is 5m)")
	fs.DurationVar(&o.interval, "interval", o.interval, "Refresh interval of the dashboard")
	fs.StringVar(&o.dialectName, "dialect", o.dialectName, "Envoy label dialect: "+promql.DialectNames())
	fs.StringVar(&o.naming, "naming", o.naming, "How cluster names map to namespace/service: "+traffic.NamingNames())
	fs.StringVar(&o.groupBy, "group-by", o.groupBy, "What a row stands for: "+traffic.GroupByNames()+" (route: the rules of an Envoy Gateway route summed into one row, rows named by their routes; vhost: Envoy's virtual clusters and routes with stat_prefix, from its vhost statistics)")
	fs.StringVar(&o.source, "source", o.source, "Where cluster numbers come from: "+traffic.SourceNames()+" (auto: the recording rules when they exist and --window is not given)")
	fs.BoolVar(&o.once, "once", o.once, "Print one snapshot and exit, even on a terminal")
	fs.StringVar(&o.sortBy, "sort-by", o.sortBy, "Sort column: name, service, rps, success, p50, p90, p99, active, 4xx, 5xx")
	fs.BoolVar(&o.reverse, "reverse", o.reverse, "Reverse the sort order")
	fs.StringVar(&o.filter, "filter", o.filter, "Show only clusters whose name, namespace, service or route contains this text (a leading ! inverts)")
	fs.Float64Var(&o.minRPS, "min-rps", o.minRPS, "Colour success and latency, and mark clusters above the thresholds with !, only from this request rate")
	fs.StringVar(&o.offsetsText, "offsets", o.offsetsText, "The pasts each row is compared with (the dashboard's v key; a snapshot when given): up to three Prometheus durations, e.g. 1h,1d,1w")
	o.ns.AddFlags(fs, true)
	o.teamsOpts.addFlags(fs)
}

// Complete reads the arguments and turns flags into typed values.
func (o *TopOptions) Complete(cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.team = args[0]
	}
	var err error
	if err := o.teamsOpts.complete(); err != nil {
		return err
	}
	switch {
	case o.teamsOpts.on() && !cmd.Flags().Changed("sort-by"):
		o.teamsOpts.sort = overview.SortName
	case o.teamsOpts.on():
		if o.teamsOpts.sort, err = overview.ParseSortKey(o.sortBy); err != nil {
			return flagError("sort-by", o.sortBy, err)
		}
	default:
		if o.sortKey, err = traffic.ParseSortKey(o.sortBy); err != nil {
			return flagError("sort-by", o.sortBy, err)
		}
	}
	if o.scheme, err = traffic.ParseNaming(o.naming); err != nil {
		return flagError("naming", o.naming, err)
	}
	if o.group, err = traffic.ParseGroupBy(o.groupBy); err != nil {
		return flagError("group-by", o.groupBy, err)
	}
	if o.group == traffic.GroupByVhost && o.source == string(traffic.SourceRules) {
		return flagError("group-by", o.groupBy, errors.New("virtual hosts are read from Envoy's own series, which --source rules excludes; use --source raw or auto"))
	}
	if o.dialectName != "auto" {
		if o.dialect, err = promql.DialectByName(o.dialectName); err != nil {
			return flagError("dialect", o.dialectName, err)
		}
	}
	if o.group == traffic.GroupByVhost && o.dialect.Name != "" && o.dialect.Name != promql.DialectEnvoy.Name {
		return flagError("group-by", o.groupBy, fmt.Errorf("virtual hosts are stock Envoy's statistics, which the %s dialect does not have; use --dialect envoy or auto", o.dialect.Name))
	}
	if o.from, err = traffic.ParseSource(o.source); err != nil {
		return flagError("source", o.source, err)
	}
	o.windowSet = cmd.Flags().Changed("window")
	o.intervalSet = cmd.Flags().Changed("interval")
	if o.offsets, err = traffic.ParseOffsets(o.offsetsText); err != nil {
		return flagError("offsets", o.offsetsText, err)
	}
	if len(o.offsets) > 3 {
		return flagError("offsets", o.offsetsText, errors.New("use at most three, e.g. 1h,1d,1w"))
	}
	o.offsetsSet = cmd.Flags().Changed("offsets")
	o.ns.Complete(cmd)
	o.selector = o.ns.selector()
	return nil
}

func flagError(flag, value string, err error) error {
	return fmt.Errorf("invalid --%s %q: %s", flag, value, err.Error())
}

// Validate checks the options as a whole.
func (o *TopOptions) Validate() error {
	if o.window < 10*time.Second || o.window > 24*time.Hour {
		return flagError("window", o.window.String(), errors.New("use 10s to 24h, at least four Envoy scrape intervals, e.g. 1m"))
	}
	if o.from == traffic.SourceRules && o.windowSet && o.window != promql.RuleWindow {
		return flagError("window", o.window.String(), errors.New("--source rules reads the recording rules' 5m window; drop --window, or use --source raw for another window"))
	}
	if o.interval < 500*time.Millisecond {
		return flagError("interval", o.interval.String(), errors.New("use 500ms or more, e.g. 2s"))
	}
	if !(o.minRPS >= 0) || math.IsInf(o.minRPS, 1) {
		return flagError("min-rps", fmt.Sprint(o.minRPS), errors.New("use a finite rate, 0 or more, e.g. 1"))
	}
	if o.teamsOpts.on() {
		if err := o.validateOverview(); err != nil {
			return err
		}
		if o.prom.Timeout <= 0 {
			return flagError("timeout", o.prom.Timeout.String(), errors.New("use a positive duration, e.g. 1m"))
		}
		return o.prom.validateConnection()
	}
	if err := o.ns.Validate(o.team); err != nil {
		return err
	}
	return o.prom.Validate(o.team)
}

// Source is what both the snapshot and the dashboard read frames from.
type source interface {
	Frame(ctx context.Context, at time.Time) (traffic.Frame, error)
	Detail(ctx context.Context, at time.Time, cluster string) (traffic.Detail, error)
	// History back-fills the dashboard's trends; a Querier without range queries answers
	// traffic.ErrNoRangeQueries.
	History(ctx context.Context, at time.Time, span, step time.Duration) (traffic.History, error)
	// ClusterHistory draws the drill-down's charts.
	ClusterHistory(ctx context.Context, at time.Time, span, step time.Duration, cluster string) (traffic.History, error)
	// Past reads every cluster's numbers at earlier instants: the vs view, and --offsets.
	Past(ctx context.Context, at time.Time, offsets []time.Duration) ([]traffic.Past, error)
}

// Run prints a snapshot, or runs the dashboard on a terminal.
func (o *TopOptions) Run(ctx context.Context) error {
	if o.teamsOpts.on() {
		return o.runOverview(ctx)
	}
	// A snapshot's whole run, reaching Prometheus included, ends within --timeout.
	deadline := time.Now().Add(o.prom.Timeout)
	q, target, release, err := o.prom.Connect(ctx, o.team)
	if err != nil {
		return err
	}
	conns := &connections{}
	defer conns.close()
	if _, err := conns.replace(release); err != nil {
		return err
	}
	d, err := o.dashboardParts(q, 0, "")
	if err != nil {
		return err
	}
	frontier := o.prom.Frontier(q, o.selector)
	if o.once || o.output.given || !o.isTerminal(o.Out) {
		return o.snapshot(ctx, d.src, frontier, deadline)
	}
	cfg := o.collectorConfig()
	opts := tui.Options{
		Target: target, Backend: o.prom.Backend(), Frontier: frontier, Interval: o.interval, Timeout: o.prom.Timeout, MinRPS: o.minRPS,
		NoColor: noColor(), Filter: o.filter, Compare: d.cmp,
		Window: cfg.Window, SetWindow: d.setWindow,
		RulesWindow: o.rulesWindow(),
		Offsets:     o.offsets,
		GroupBy:     cfg.GroupBy, SetGroupBy: d.setGroup,
	}
	o.switcher(ctx, conns, &opts)
	_, err = runProgram(ctx, tui.New(d.src, opts), o.In, o.Out)
	return err
}

// switcher sets what the dashboard's T, N and X keys switch between: the kubeconfig's contexts,
// namespaces and teams for a team in a cluster, the simulated teams for --demo, and nothing for
// --prometheus-url.
func (o *TopOptions) switcher(ctx context.Context, conns *connections, opts *tui.Options) {
	switch {
	case o.prom.Demo:
		opts.Switcher = &demoSwitcher{o: o, conns: conns, current: demoTeams[0]}
		opts.Place = tui.Place{Namespace: demo.Namespace, Team: demoTeams[0]}
	case o.team != "" && o.prom.URL == "":
		here := o.startPlace()
		opts.Switcher = &clusterSwitcher{o: o, conns: conns, ctx: ctx, now: time.Now, origin: here.Context, current: here}
		opts.Place = here
	default:
		opts.NoSwitch = "switching needs a TEAM in a cluster: this dashboard reads --prometheus-url"
	}
}

// newSource builds the collector of cfg, for --service-namespace's rows only when it is given.
func (o *TopOptions) newSource(q traffic.Querier, cfg traffic.Config) (source, error) {
	var src source
	if o.dialect.Name == "" || cfg.Source == traffic.SourceAuto || cfg.Source == traffic.SourceRules {
		// The first refresh finds the dialect and probes for the recording rules.
		src = traffic.NewAuto(q, cfg)
	} else {
		c, err := traffic.NewCollector(q, cfg)
		if err != nil {
			return nil, err
		}
		src = c
	}
	if o.ns.service != "" {
		src = inServiceNamespace{src, o.ns.service}
	}
	return src, nil
}

// windowConfig is what the collector asks over window w, as the dashboard's w key chooses it:
// the recording rules know only their 5m, so another window reads Envoy's own series.
func (o *TopOptions) windowConfig(w time.Duration) traffic.Config {
	cfg := o.collectorConfig()
	cfg.Window = w
	if w != promql.RuleWindow {
		cfg.Source = traffic.SourceRaw
	} else if o.from != traffic.SourceRaw {
		cfg.Source = o.from
	}
	return cfg
}

// rulesWindow is the recording rules' window when --source lets top read them, else 0.
func (o *TopOptions) rulesWindow() time.Duration {
	if o.from == traffic.SourceRaw {
		return 0
	}
	return promql.RuleWindow
}

// inServiceNamespace keeps the rows of one service namespace (--service-namespace), for the
// snapshot and the dashboard alike.
type inServiceNamespace struct {
	source
	namespace string
}

func (s inServiceNamespace) Frame(ctx context.Context, at time.Time) (traffic.Frame, error) {
	f, err := s.source.Frame(ctx, at)
	if err != nil {
		return f, err
	}
	return traffic.InServiceNamespace(f, s.namespace)
}

// collectorConfig is what the collector asks, from the flags: a given --window keeps auto on
// Envoy's own series, since the rules know only their 5m.
func (o *TopOptions) collectorConfig() traffic.Config {
	cfg := traffic.Config{Selector: o.selector, Window: o.window, Naming: o.scheme, Source: o.from, Dialect: o.dialect, Alerts: true, GroupBy: o.group}
	if o.from == traffic.SourceAuto && o.windowSet {
		cfg.Source = traffic.SourceRaw
	}
	return cfg
}

func (o *TopOptions) snapshot(ctx context.Context, src source, frontier tui.Frontier, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	at, err := readAt(ctx, frontier)
	if err != nil {
		return err
	}
	f, err := src.Frame(ctx, at)
	if err != nil {
		return err
	}
	f.Backend = o.prom.Backend()
	if o.offsetsSet {
		// Asked for: a comparison that cannot be read fails the snapshot rather than go missing.
		if f.Past, err = src.Past(ctx, f.At, o.offsets); err != nil {
			return fmt.Errorf("reading the past (--offsets): %w", err)
		}
	}
	f.Rows = traffic.FilterRows(f.Rows, traffic.ParseFilter(o.filter))
	traffic.SortRows(f.Rows, o.sortKey, o.reverse)
	var buf bytes.Buffer
	switch o.output.format() {
	case formatJSON:
		err = traffic.RenderJSON(&buf, f)
	case formatYAML:
		err = writeYAML(&buf, func(w io.Writer) error { return traffic.RenderJSON(w, f) })
	default:
		err = traffic.RenderTable(&buf, f, traffic.TableOptions{Wide: o.output.format() == formatWide, MinRPS: o.minRPS})
	}
	if err != nil {
		return err
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", termtext.Sanitize(w))
	}
	_, err = o.Out.Write(buf.Bytes())
	return err
}

// noColor honours NO_COLOR (no-color.org) and dumb terminals.
func noColor() bool {
	return os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb"
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// atMostOneArg accepts an optional positional argument.
func atMostOneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return fmt.Errorf("%s takes at most one %s, got %d (%s): %s", cmd.CommandPath(), what, len(args), strings.Join(args, " "), cmd.UseLine())
		}
		return nil
	}
}
