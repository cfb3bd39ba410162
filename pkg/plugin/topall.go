package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/overview"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/portforward"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/tui"
)

// defaultConcurrency is how many teams the overview reaches at once: 20 teams in one round,
// since a refresh in rounds takes about as many times one team's as there are rounds
// (BenchmarkTopAllTeams, docs/benchmarks.md).
const defaultConcurrency = 20

// teamsFlags are top's flags for the overview of every team (top -A, top --teams).
type teamsFlags struct {
	all         bool
	teamsText   string
	concurrency int

	// teams are --teams parsed: NAMESPACE/TEAM, or TEAM in any namespace (namespace "").
	teams []teamRef
	sort  overview.SortKey
}

// teamRef names a team of --teams.
type teamRef struct{ namespace, team string }

func (t *teamsFlags) addFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&t.all, "all-namespaces", "A", t.all, "One row per team stack the user may reach, in every namespace: its traffic, alerts, targets, series and limits")
	fs.StringVar(&t.teamsText, "teams", t.teamsText, "Like -A, for these teams only: comma-separated TEAM (in any namespace) or NAMESPACE/TEAM")
	fs.IntVar(&t.concurrency, "concurrency", defaultConcurrency, "With -A or --teams, how many teams are reached at once, each within --timeout and its answers within --prometheus-max-answer-size")
}

// on reports whether top shows the overview of every team rather than one team's clusters.
func (t *teamsFlags) on() bool { return t.all || t.teamsText != "" }

// complete parses --teams.
func (t *teamsFlags) complete() error {
	t.teams = nil
	if t.teamsText == "" {
		return nil
	}
	for _, item := range strings.Split(t.teamsText, ",") {
		item = strings.TrimSpace(item)
		ns, team, scoped := strings.Cut(item, "/")
		if !scoped {
			ns, team = "", item
		} else if err := manifests.ValidateNamespace(ns); err != nil {
			return flagError("teams", t.teamsText, fmt.Errorf("%q: %w", item, err))
		}
		if err := validateTeam(team); err != nil {
			return flagError("teams", t.teamsText, fmt.Errorf("%q: %w", item, err))
		}
		t.teams = append(t.teams, teamRef{ns, team})
	}
	return nil
}

// validate checks the overview's flags against the rest of top's.
func (o *TopOptions) validateOverview() error {
	t := &o.teamsOpts
	flag, value := "all-namespaces", "true"
	if !t.all {
		flag, value = "teams", t.teamsText
	}
	switch {
	case o.team != "":
		return flagError(flag, value, fmt.Errorf("shows every team; drop the team name %s, or drop -A/--teams to see its clusters", o.team))
	case o.prom.URL != "" || o.prom.Demo:
		return flagError(flag, value, errors.New("reads each team's own Prometheus in the cluster; drop --prometheus-url and --demo"))
	case o.offsetsSet:
		return flagError("offsets", o.offsetsText, errors.New("compares one team's clusters with the past; drop it with -A/--teams"))
	case o.group != traffic.GroupByCluster:
		return flagError("group-by", o.groupBy, errors.New("groups one team's rows; drop it with -A/--teams"))
	case o.ns.envoy != "" || o.ns.service != "":
		return flagError("envoy-namespace", o.ns.envoy+o.ns.service, errors.New("narrows one team's rows; drop --envoy-namespace and --service-namespace with -A/--teams"))
	case t.concurrency < 1 || t.concurrency > 64:
		return flagError("concurrency", fmt.Sprint(t.concurrency), errors.New("use 1 to 64, e.g. 20"))
	}
	return nil
}

// runOverview prints one row per team stack the user can list, each team reached at once with
// the others (at most --concurrency), each within --timeout: a team not reached in time, or at
// all, is a row that says why. The whole run takes at most --timeout to list the stacks and
// --timeout for every --concurrency teams.
func (o *TopOptions) runOverview(ctx context.Context) error {
	if !o.once && !o.output.given && o.isTerminal(o.Out) {
		return o.runTeamsView(ctx)
	}
	stacks, err := o.listStacks(ctx)
	if err != nil {
		return err
	}
	stacks = o.teamsOpts.selected(stacks)
	now := time.Now()
	reader, window := o.overviewReader()
	rows := reader.rows(ctx, stacks, now)
	rows = overview.Filter(rows, o.filter)
	overview.Sort(rows, o.teamsOpts.sort, o.reverse)

	var buf bytes.Buffer
	switch o.output.format() {
	case formatJSON:
		err = overview.RenderJSON(&buf, now, window, rows)
	case formatYAML:
		err = writeYAML(&buf, func(w io.Writer) error { return overview.RenderJSON(w, now, window, rows) })
	default:
		if len(rows) == 0 {
			fmt.Fprintln(o.ErrOut, "No team stacks found that you may list.")
			return nil
		}
		err = overview.RenderTable(&buf, rows, o.output.format() == formatWide)
	}
	if err != nil {
		return err
	}
	_, err = o.Out.Write(buf.Bytes())
	return err
}

// listStacks lists every stack the user may list, within --timeout.
func (o *TopOptions) listStacks(ctx context.Context) ([]kube.StackSummary, error) {
	return boundCall(ctx, o.configFlags, o.prom.Timeout, func(ctx context.Context) ([]kube.StackSummary, error) {
		client, err := kube.NewClient(o.configFlags)
		if err != nil {
			return nil, err
		}
		return client.ListStacks(ctx, "", true)
	})
}

// overviewReader reads the teams over one window: Envoy's own series over --window, unless
// --source rules asks for the recording rules' 5m (a team without them is then a row that says
// so). It returns that window.
func (o *TopOptions) overviewReader() (teamsReader, time.Duration) {
	cfg := o.collectorConfig()
	cfg.Alerts = false
	window := o.window
	switch o.from {
	case traffic.SourceAuto:
		cfg.Source = traffic.SourceRaw
	case traffic.SourceRules:
		window = promql.RuleWindow
	}
	return teamsReader{
		prom: o.prom, flags: o.configFlags, concurrency: o.teamsOpts.concurrency, traffic: &cfg, dialects: &teamDialects{},
	}, window
}

// overviewInterval is how often the live view reads every team: --interval when given, else
// every 15s, since each refresh asks every team's Prometheus.
const overviewInterval = 15 * time.Second

// runTeamsView runs the live view of every team; Enter opens a team's dashboard, as top TEAM
// -n NAMESPACE would show it, and Esc comes back.
func (o *TopOptions) runTeamsView(ctx context.Context) error {
	reader, _ := o.overviewReader()
	reader.conns = &teamConns{ctx: ctx}
	defer reader.conns.close()
	interval := overviewInterval
	if o.intervalSet {
		interval = o.interval
	}
	// A refresh lists the stacks, then reaches them --concurrency at a time, each within
	// --timeout; the view's own bound only guards against a refresh that would never end.
	opts := tui.TeamsOptions{
		Refresh: func(ctx context.Context) ([]overview.Row, error) {
			stacks, err := o.listStacks(ctx)
			if err != nil {
				return nil, err
			}
			selected := o.teamsOpts.selected(stacks)
			rows := reader.rows(ctx, selected, time.Now())
			reader.conns.keepOnly(selected)
			return rows, nil
		},
		// The tunnel of an opened dashboard lives as long as the program, not as long as the
		// call that opened it; openTeam bounds the opening itself.
		Open:     func(_ context.Context, r overview.Row) (tui.Model, func(), error) { return o.openTeam(ctx, r) },
		Interval: interval, Timeout: time.Hour,
		Sort: o.teamsOpts.sort, Reverse: o.reverse, Filter: o.filter, NoColor: noColor(),
		Title: "every team stack you may list",
	}
	_, err := runProgram(ctx, tui.NewTeams(opts), o.In, o.Out)
	return err
}

// openTeam reaches r's Prometheus, waiting up to --timeout for a ready pod, and builds its
// dashboard with top's flags; the tunnel lives until ctx ends or the release closes it.
func (o *TopOptions) openTeam(ctx context.Context, r overview.Row) (tui.Model, func(), error) {
	flags := flagsAt(o.configFlags, "", "", r.Namespace)
	conn, err := o.prom.connectTeam(ctx, flags, r.Team, reach{wait: o.prom.Timeout, log: io.Discard})
	if err != nil {
		return tui.Model{}, nil, err
	}
	d, err := o.dashboardParts(conn.q, 0, "")
	if err != nil {
		conn.close()
		return tui.Model{}, nil, err
	}
	cfg := o.collectorConfig()
	opts := tui.Options{
		Target: conn.target, Backend: conn.backend, Interval: o.interval, Timeout: o.prom.Timeout, MinRPS: o.minRPS,
		NoColor: noColor(), Compare: d.cmp, Window: cfg.Window, SetWindow: d.setWindow, RulesWindow: o.rulesWindow(),
		Offsets: o.offsets, GroupBy: cfg.GroupBy, SetGroupBy: d.setGroup,
		NoSwitch: "T, N and X switch from a team's own dashboard (top TEAM); here Esc goes back to every team",
	}
	return tui.New(d.src, opts), conn.close, nil
}

// selected keeps the stacks --teams names, all of them without it.
func (t *teamsFlags) selected(stacks []kube.StackSummary) []kube.StackSummary {
	if len(t.teams) == 0 {
		return stacks
	}
	var out []kube.StackSummary
	for _, s := range stacks {
		for _, ref := range t.teams {
			if s.Team == ref.team && (ref.namespace == "" || ref.namespace == s.Namespace) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// teamsReader reaches the Prometheus of many team stacks at once: top -A reads each team's
// clusters and health, list --live its health only.
type teamsReader struct {
	prom  *PrometheusFlags
	flags *genericclioptions.ConfigFlags
	// concurrency is how many teams are reached at once.
	concurrency int
	// traffic is what each team's clusters are read with; nil reads only the stacks' health.
	traffic *traffic.Config
	// connect reaches a team's Prometheus; nil reaches it in the cluster, through a tunnel or the
	// service proxy (PrometheusFlags.connectTeam).
	connect func(ctx context.Context, s kube.StackSummary) (teamConn, error)
	// dialects keeps each team's dialect from one refresh to the next, so that a refresh does
	// not ask for it again; nil settles it on every refresh.
	dialects *teamDialects
	// conns keeps each team's connection from one refresh to the next; nil connects on every
	// read and closes the connection after it.
	conns *teamConns
}

// teamConns keeps the live view's connection to each team's Prometheus from one refresh to the
// next, so that a refresh sends its queries through a tunnel already open instead of finding the
// route, checking access and dialling again for every team. A read checks its team's connection
// out and back in, so a connection serves one read at a time. A connection is closed when a read
// through it fails (the next refresh connects anew), when the stack's shards or replicas change
// (its route may lead elsewhere now, to a Thanos Query say), when it is connKept old, when its
// team is no longer listed, and when the view ends.
type teamConns struct {
	// ctx is the view's: a kept tunnel lives as long as the view, not as long as one read.
	ctx    context.Context
	mu     sync.Mutex
	m      map[teamRef]keptConn
	closed bool
}

type keptConn struct {
	conn teamConn
	// shape is the stack's shards and replicas when the connection was made.
	shape [2]int32
	since time.Time
}

// connKept is how long a connection is kept: what the route depends on beyond the stack's shape
// (the Thanos Query annotation, a Service renamed) shows within this time.
const connKept = 5 * time.Minute

// checkOut returns s's kept connection if it is still good at now, and otherwise connects with
// connect; checkIn takes it back when the read is done.
func (c *teamConns) checkOut(s kube.StackSummary, now time.Time, connect func(context.Context, kube.StackSummary) (teamConn, error)) (keptConn, error) {
	ref, shape := teamRef{s.Namespace, s.Team}, [2]int32{s.Shards, s.Replicas}
	c.mu.Lock()
	k, ok := c.m[ref]
	delete(c.m, ref)
	c.mu.Unlock()
	if ok && k.shape == shape && now.Sub(k.since) < connKept && !now.Before(k.since) {
		return k, nil
	}
	if ok {
		k.conn.close()
	}
	conn, err := connect(c.ctx, s)
	if err != nil {
		return keptConn{}, err
	}
	return keptConn{conn: conn, shape: shape, since: now}, nil
}

// checkIn keeps k as s's connection for the next read, unless the read through it failed or the
// view has ended: then it is closed.
func (c *teamConns) checkIn(s kube.StackSummary, k keptConn, failed bool) {
	ref := teamRef{s.Namespace, s.Team}
	c.mu.Lock()
	_, taken := c.m[ref]
	keep := !failed && !c.closed && !taken
	if keep {
		if c.m == nil {
			c.m = map[teamRef]keptConn{}
		}
		c.m[ref] = k
	}
	c.mu.Unlock()
	if !keep {
		k.conn.close()
	}
}

// keepOnly closes the connections of teams that are not among stacks.
func (c *teamConns) keepOnly(stacks []kube.StackSummary) {
	listed := map[teamRef]bool{}
	for _, s := range stacks {
		listed[teamRef{s.Namespace, s.Team}] = true
	}
	var gone []keptConn
	c.mu.Lock()
	for ref, k := range c.m {
		if !listed[ref] {
			gone = append(gone, k)
			delete(c.m, ref)
		}
	}
	c.mu.Unlock()
	for _, k := range gone {
		k.conn.close()
	}
}

// close closes every kept connection; a connection checked in later is closed then.
func (c *teamConns) close() {
	c.mu.Lock()
	kept := c.m
	c.m, c.closed = nil, true
	c.mu.Unlock()
	for _, k := range kept {
		k.conn.close()
	}
}

// teamDialects are the dialects of the teams' Envoy series, as the last read of each team's
// clusters from Envoy's own series settled them, by namespace and team, each kept for
// dialectKept.
type teamDialects struct {
	mu sync.Mutex
	m  map[teamRef]keptDialect
}

type keptDialect struct {
	d       promql.Dialect
	settled time.Time
}

// dialectKept is how long a team's dialect is kept: a change a read cannot see (say Istio's
// sidecars that stop exposing their services' clusters, so that Istio's standard metrics say
// more) shows within this time.
const dialectKept = 5 * time.Minute

// get returns s's dialect, if one was settled less than dialectKept before now.
func (d *teamDialects) get(s kube.StackSummary, now time.Time) (promql.Dialect, bool) {
	if d == nil {
		return promql.Dialect{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	k, ok := d.m[teamRef{s.Namespace, s.Team}]
	if !ok || now.Sub(k.settled) >= dialectKept || now.Before(k.settled) {
		return promql.Dialect{}, false
	}
	return k.d, true
}

// set keeps v as s's dialect, settled at now; the zero Dialect forgets it.
func (d *teamDialects) set(s kube.StackSummary, v promql.Dialect, now time.Time) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if v.Name == "" {
		delete(d.m, teamRef{s.Namespace, s.Team})
		return
	}
	if d.m == nil {
		d.m = map[teamRef]keptDialect{}
	}
	d.m[teamRef{s.Namespace, s.Team}] = keptDialect{d: v, settled: now}
}

// rows reaches every stack's Prometheus, at most r.concurrency at once and each within
// --timeout, and returns a row for each, in the order of stacks.
func (r teamsReader) rows(ctx context.Context, stacks []kube.StackSummary, now time.Time) []overview.Row {
	rows := make([]overview.Row, len(stacks))
	slots := make(chan struct{}, max(r.concurrency, 1))
	var wg sync.WaitGroup
	for i, s := range stacks {
		wg.Go(func() {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				rows[i] = r.teamRow(ctx, s, now)
			case <-ctx.Done():
				rows[i] = overview.Unreached(overviewStack(s, now), "interrupted")
			}
		})
	}
	wg.Wait()
	return rows
}

// overviewStack is what the overview shows of a stack from the cluster.
func overviewStack(s kube.StackSummary, now time.Time) overview.Stack {
	return overview.Stack{
		Namespace: s.Namespace, Team: s.Team, Status: stackStatus(s, now), Ready: s.Ready, Desired: s.Desired(),
		Shards: s.Shards, SampleLimit: s.SampleLimit, TargetLimit: s.TargetLimit, MemoryLimit: s.MemoryLimit,
	}
}

// teamRow reaches one team within --timeout and folds what it answered.
func (r teamsReader) teamRow(ctx context.Context, s kube.StackSummary, now time.Time) overview.Row {
	st := overviewStack(s, now)
	ctx, cancel := context.WithTimeout(ctx, r.prom.Timeout)
	defer cancel()
	h, err := r.teamHealth(ctx, s, now)
	if err != nil {
		return overview.Unreached(st, r.unreachedReason(err))
	}
	return overview.Fold(st, h)
}

// connectInCluster reaches s's Prometheus, or its Thanos Query, in the cluster. It does not wait
// for a pod: a team whose Prometheus has no ready pod now is a row that says so.
func (r teamsReader) connectInCluster(ctx context.Context, s kube.StackSummary) (teamConn, error) {
	flags := flagsAt(r.flags, "", "", s.Namespace)
	return r.prom.connectTeam(ctx, flags, s.Team, reach{bound: r.prom.Timeout, log: io.Discard})
}

// capacityReader reads what a stack's limits bound; prom.Client does.
type capacityReader interface {
	Capacity(ctx context.Context) (doctor.Capacity, error)
}

// teamHealth reads a team's clusters, as top TEAM would over the same window and source (unless
// r reads health only), and its stack's health: alerts firing, targets, and what its limits
// bound (the largest scrape, samples per second and, from a Prometheus rather than a Thanos
// Query, the series in its head). The reads go out at once, so a tunnel's round trips overlap
// rather than add up. A number Prometheus did not answer stays unknown; clusters that could not
// be read make the team unreached.
func (r teamsReader) teamHealth(ctx context.Context, s kube.StackSummary, now time.Time) (overview.Health, error) {
	conn, done, err := r.reach(ctx, s, now)
	if err != nil {
		return overview.Health{}, err
	}
	var failed atomic.Bool
	defer func() { done(failed.Load()) }()

	nan := traffic.NoData
	h := overview.Health{Backend: conn.backend, SamplesPerSecond: nan, LargestScrape: nan, HeadSeries: nan}
	// Each read writes fields of h no other read writes; only the clusters' read fails the
	// group, which stops the others, whose numbers are then not shown.
	g, gctx := errgroup.WithContext(ctx)
	if r.traffic != nil {
		g.Go(func() error {
			frame, err := r.clusters(gctx, conn.q, s, now)
			// A Prometheus without Envoy series answered: the team has no traffic to show, and
			// the targets say why.
			if err != nil && !traffic.IsNoClusterStats(err) {
				failed.Store(true)
				return err
			}
			h.Rows = frame.Rows
			return nil
		})
	}
	for _, q := range []struct {
		expr parser.Expr
		to   *float64
	}{
		{promql.FiringAlerts(), &h.Firing},
		{promql.TargetsUp(), &h.TargetsUp},
		{promql.Targets(), &h.Targets},
	} {
		g.Go(func() error {
			// An empty answer is none of what is counted.
			v, err := traffic.Scalar(gctx, conn.q, q.expr, now, 0)
			if err != nil {
				failed.Store(true)
				v = nan
			}
			*q.to = v
			return nil
		})
	}
	if cr, ok := conn.q.(capacityReader); ok {
		g.Go(func() error {
			c, err := cr.Capacity(gctx)
			if err != nil {
				failed.Store(true)
				return nil
			}
			h.SamplesPerSecond, h.LargestScrape, h.HeadSeries = c.SamplesPerSecond, c.LargestScrape, c.HeadSeries
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return overview.Health{}, err
	}
	return h, nil
}

// reach connects to s's Prometheus, or takes the connection r.conns kept from an earlier read,
// and returns what to call when the reads are done, saying whether one of them failed.
func (r teamsReader) reach(ctx context.Context, s kube.StackSummary, now time.Time) (teamConn, func(failed bool), error) {
	connect := r.connect
	if connect == nil {
		connect = r.connectInCluster
	}
	if r.conns == nil {
		conn, err := connect(ctx, s)
		if err != nil {
			return teamConn{}, nil, err
		}
		return conn, func(bool) { conn.close() }, nil
	}
	k, err := r.conns.checkOut(s, now, connect)
	if err != nil {
		return teamConn{}, nil, err
	}
	return k.conn, func(failed bool) { r.conns.checkIn(s, k, failed) }, nil
}

// clusters reads s's clusters with r.traffic. Unless --dialect names the dialect, the first read
// settles it from the series Prometheus holds, which costs a round trip before the clusters'
// queries; r.dialects keeps it for later refreshes, up to dialectKept. A read in a kept dialect
// that finds no cluster, or series without a cluster name (Envoy statistics that the kept
// dialect does not label: the team's Envoys are now another kind, say Istio's sidecars in place
// of stock Envoys), forgets it and reads again with the dialect settled anew. A dialect is kept
// only from a read of Envoy's own series that named every cluster: the recording rules' series
// name every cluster in any dialect, so an outdated dialect would not show there.
func (r teamsReader) clusters(ctx context.Context, q traffic.Querier, s kube.StackSummary, now time.Time) (traffic.Frame, error) {
	cfg := *r.traffic
	if cfg.Dialect.Name != "" {
		return traffic.NewAuto(q, cfg).Frame(ctx, now)
	}
	kept, ok := r.dialects.get(s, now)
	if ok {
		cfg.Dialect = kept
	}
	frame, err := traffic.NewAuto(q, cfg).Frame(ctx, now)
	if ok && (err == nil || traffic.IsNoClusterStats(err)) && !namesClusters(frame) {
		r.dialects.set(s, promql.Dialect{}, now)
		cfg.Dialect = promql.Dialect{}
		frame, err = traffic.NewAuto(q, cfg).Frame(ctx, now)
		ok = false
	}
	if err != nil || frame.Source == traffic.SourceRules {
		return frame, err
	}
	// A team with no clusters, or a fleet of mixed kinds, settles its dialect on every read, as
	// it would without r.dialects, rather than read twice.
	if d, derr := promql.DialectByName(frame.Dialect); derr == nil && !ok && namesClusters(frame) {
		r.dialects.set(s, d, now)
	}
	return frame, nil
}

// namesClusters reports whether f has clusters, each with a name.
func namesClusters(f traffic.Frame) bool {
	for _, row := range f.Rows {
		if row.Name == "" {
			return false
		}
	}
	return len(f.Rows) > 0
}

// unreachedReason says in one line why a team was not reached.
func (r teamsReader) unreachedReason(err error) string {
	var perm *portforward.PermissionError
	var noPod *portforward.NoReadyPodError
	switch {
	case errors.As(err, &perm):
		missing := make([]string, len(perm.Missing))
		for i, p := range perm.Missing {
			missing[i] = p.String()
		}
		return "no permission: " + strings.Join(missing, ", ")
	case errors.As(err, &noPod):
		return noPod.Error()
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errTimedOut):
		return fmt.Sprintf("no answer within --timeout %s", r.prom.Timeout)
	}
	return termtext.Sanitize(firstLine(err.Error()))
}
