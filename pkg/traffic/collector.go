package traffic

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	promengine "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"golang.org/x/sync/errgroup"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// Querier runs one instant PromQL query. It is all the collector needs from Prometheus: pkg/prom
// implements it over HTTP and the demo with the PromQL engine in process.
type Querier interface {
	Query(ctx context.Context, query string, at time.Time) (Result, error)
}

// Result is an instant vector and what Prometheus said about it: warnings mean the answer may
// be incomplete; infos are hints (Prometheus 3 notes that Envoy's counters lack the _total
// suffix, for one) that change nothing about the numbers.
type Result struct {
	Vector   Vector
	Warnings []string
	Infos    []string
}

// Vector is an instant vector: one sample per series, all at the query's instant.
type Vector []Sample

// Sample is one series of an instant vector: its labels and its value. A refresh reads thousands,
// so a sample is one label string and a float, by value.
type Sample struct {
	Metric labels.Labels
	Value  float64
}

// Config chooses what the collector asks.
type Config struct {
	Dialect  promql.Dialect
	Selector promql.Selector
	// Window is the rate window; at least four scrape intervals. With SourceRules it is the
	// rules' window, promql.RuleWindow, whatever is set here.
	Window time.Duration
	// Naming maps cluster names to Services; the zero value means auto.
	Naming Naming
	// Source says where the cluster rows come from; the zero value means SourceRaw. NewCollector
	// takes SourceRaw or SourceRules; NewAuto also takes SourceAuto.
	Source Source
	// Alerts asks every refresh for the pending and firing alerts about the selected clusters
	// (Frame.Alerts). An error answering them leaves the frame without alerts, not failed.
	Alerts bool
	// GroupBy is what a row stands for; the zero value means GroupByCluster. GroupByRoute sums
	// the clusters of one route in every cluster query (promql.Regroup), so the queries are as
	// many as ever and a route's success ratio and percentiles are those of all its requests.
	// Istio's standard metrics name no clusters: their rows stay as they are. GroupByVhost reads
	// the same statistics of virtual clusters and routes instead (promql.VirtualHosts), from
	// stock Envoy's own series only.
	GroupBy GroupBy
}

// Source is where a refresh reads the numbers of the upstream clusters.
type Source string

const (
	// SourceRaw computes every number from Envoy's own series over Config.Window.
	SourceRaw Source = "raw"
	// SourceRules reads the series the team's recording rules keep (docs/recording-rules.md):
	// Prometheus has already computed the sums over its 5m window, so a refresh only reads one
	// series per cluster and sum (per cluster and bucket for the latency histogram) and derives
	// the success ratio and the percentiles from them.
	SourceRules Source = "rules"
	// SourceAuto reads the recording rules when Prometheus holds them for the selection, else
	// Envoy's own series; one probe on the first refresh decides.
	SourceAuto Source = "auto"
)

// SourceNames lists the accepted --source values.
func SourceNames() string { return "auto, rules, raw" }

// ParseSource reads a --source value.
func ParseSource(s string) (Source, error) {
	switch Source(s) {
	case SourceAuto, SourceRules, SourceRaw:
		return Source(s), nil
	}
	return "", fmt.Errorf("unknown source %q; use one of %s", s, SourceNames())
}

// Collector turns refreshes into Frames. It sends the same fixed set of queries whatever the
// number of clusters, all at once; drill-down queries touch the selected cluster only.
type Collector struct {
	q       Querier
	cfg     Config
	frame   []query
	alerts  string // the alerts query, when Config.Alerts
	codeStp time.Duration
	// fromSums says the success ratio and the percentiles are derived from the recorded
	// response rates and latency bucket rates once every answer is in (recordedQueries).
	fromSums bool
	// grouped says the cluster queries sum by route (Config.GroupBy): their rows are named by
	// promql.LabelGroup.
	grouped bool
	// vhosts says the cluster queries read virtual clusters and routes instead (GroupByVhost):
	// their rows are named by promql.LabelGroup too.
	vhosts bool

	// services holds what cfg.Naming made of the cluster names of the last refresh. The names
	// stay from one refresh to the next, and matching a name against the naming schemes costs
	// more than the rest of folding its row. A refresh reads the map and publishes a new one
	// with the names it saw, so it never grows past one refresh's clusters.
	mu       sync.Mutex
	services map[string]service
	// last is the last read of the recorded series (SourceRules), which the next refreshes
	// reuse until the rules are evaluated again (see lastRead). Published whole, never changed.
	last *lastRead
}

// service is the Kubernetes Service a cluster name reveals, if any, and the route it names
// (Row.Route).
type service struct {
	namespace, name string
	ok              bool
	route           string
}

// query is one PromQL expression and the row field its samples fill.
type query struct {
	text string
	into func(r *rowParts, v float64)
	// label names the cluster in the samples of a cluster query.
	label string
	// listener queries group by the listener label instead of the cluster label.
	listener func(l *Listener, v float64)
	// record is the recording rule a cluster query of SourceRules reads, and bit its flag in
	// rowParts.answered.
	record string
	bit    uint32
	// histogram says the query reads recorded latency bucket rates, labelled le in unit; their
	// samples go to rowParts.buckets rather than through into.
	histogram bool
	unit      promql.LatencyUnit
	// class is the status class label when the query answers responses per second by class
	// (promql.UpstreamClassRates, DownstreamClassRates): its samples go to classSums.
	class string
	// untrended says a trend (History) does not keep the numbers of this cluster query: requests
	// in flight and the error rates.
	untrended bool
	// names says the samples also name the row's Service (Istio's standard metrics).
	names bool
}

// clusterQuery is a cluster query before it is checked, with the recording rule it reads, if any.
// A query of recorded latency buckets has no into (see query.histogram).
type clusterQuery struct {
	expr      parser.Expr
	into      func(*rowParts, float64)
	record    string
	histogram bool
	unit      promql.LatencyUnit
	// classes says the query answers by status class (see query.class).
	classes bool
	// untrended: see query.untrended.
	untrended bool
	names     bool
}

// rowParts is a row while a refresh folds answers into it, with the sums the recording rules'
// success ratio and percentiles are derived from once every answer is in, and which queries
// answered for it.
type rowParts struct {
	Row
	responses, not5xx float64
	// buckets are the recorded cumulative latency bucket rates by unit (promql.LatencyUnits),
	// bounds as recorded.
	buckets  [2]promengine.Buckets
	answered uint32
	// classes are the raw responses by class; client4xx the recorded 4xx rate.
	classes   classSums
	client4xx float64
}

// classSums adds up the responses per second of one cluster or listener by status class.
type classSums struct {
	total, c4xx, c5xx float64
	seen              bool
}

func (c *classSums) add(d promql.Dialect, class string, v float64) {
	c.seen = true
	c.total += v
	switch {
	case d.Class4xx != "" && class == d.Class4xx:
		c.c4xx += v
	case class == d.Class5xx:
		c.c5xx += v
	}
}

// rates are the 4xx and 5xx responses per second. A class without a series counts 0 when there
// were responses: Envoy creates a class's counter on its first response. Without responses (no
// class series, or none answered in the window) both are unknown, as is 4xx in a dialect without
// a 4xx class. Infinite responses make both impossible (invalid), not 0.
func (c *classSums) rates(d promql.Dialect) (c4xx, c5xx float64) {
	if !c.seen || !(c.total > 0) {
		return NoData, NoData
	}
	if math.IsInf(c.total, 1) {
		return c.total, c.total
	}
	c4xx, c5xx = c.c4xx, c.c5xx
	if d.Class4xx == "" {
		c4xx = NoData
	}
	return c4xx, c5xx
}

// success is the non-5xx share of the responses, NoData without responses (0/0).
func (c *classSums) success() float64 {
	if !c.seen || !(c.total > 0) {
		return NoData
	}
	return (c.total - c.c5xx) / c.total
}

// NewCollector builds and checks the queries of cfg.
func NewCollector(q Querier, cfg Config) (*Collector, error) {
	switch cfg.Source {
	case "", SourceRaw:
		cfg.Source = SourceRaw
	case SourceRules:
		cfg.Window = promql.RuleWindow
	default:
		return nil, fmt.Errorf("a collector reads source %s or %s, not %q; NewAuto resolves %s", SourceRaw, SourceRules, cfg.Source, SourceAuto)
	}
	if cfg.Window <= 0 {
		return nil, errors.New("the rate window must be positive")
	}
	if cfg.Naming == "" {
		cfg.Naming = NamingAuto
	}
	if cfg.GroupBy == "" {
		cfg.GroupBy = GroupByCluster
	}
	d, sel, w := cfg.Dialect, cfg.Selector, cfg.Window
	cluster := []clusterQuery{
		{expr: promql.UpstreamRequestRate(d, sel, w), into: func(r *rowParts, v float64) { r.RPS = v }},
		{expr: promql.UpstreamSuccessRatio(d, sel, w), into: func(r *rowParts, v float64) { r.Success = v }},
		{expr: promql.UpstreamLatency(d, sel, 0.5, w), into: func(r *rowParts, v float64) { r.P50 = v }},
		{expr: promql.UpstreamLatency(d, sel, 0.9, w), into: func(r *rowParts, v float64) { r.P90 = v }},
		{expr: promql.UpstreamLatency(d, sel, 0.99, w), into: func(r *rowParts, v float64) { r.P99 = v }},
		{expr: promql.UpstreamActive(d, sel), into: func(r *rowParts, v float64) { r.Active = v }, untrended: true},
		{expr: promql.UpstreamClassRates(d, sel, w), classes: true},
	}
	if d.Standard {
		cluster = standardQueries(d, sel, w)
	}
	clusterLabel := d.Cluster
	fromSums := false
	if cfg.Source == SourceRules {
		cluster, fromSums = recordedQueries(sel), true
		clusterLabel = promql.LabelCluster
	}
	// The rules record upstream clusters only: the listener rows always come from Envoy's own
	// downstream series, over the same window as the cluster rows. The responses by class give
	// the listeners' success ratio and error rates in one query.
	listener := []struct {
		expr  parser.Expr
		into  func(*Listener, float64)
		class bool
	}{
		{promql.DownstreamRequestRate(d, sel, w), func(l *Listener, v float64) { l.RPS = v }, false},
		{promql.DownstreamClassRates(d, sel, w), byClass, true},
		{promql.DownstreamLatency(d, sel, 0.99, w), func(l *Listener, v float64) { l.P99 = v }, false},
	}
	c := &Collector{q: q, cfg: cfg, codeStp: max(w/4, time.Second), fromSums: fromSums}
	switch {
	case cfg.GroupBy == GroupByRoute && !d.Standard:
		c.grouped = true
		for i := range cluster {
			cluster[i].expr = promql.Regroup(cluster[i].expr, clusterLabel, promql.LabelGroup, routeGroupRules(cfg.Naming))
		}
		clusterLabel = promql.LabelGroup
	case cfg.GroupBy == GroupByVhost:
		if cfg.Source == SourceRules {
			return nil, errors.New("rows by virtual host read Envoy's own series, not the recording rules: use the raw source")
		}
		if d.Name != promql.DialectEnvoy.Name {
			return nil, fmt.Errorf("rows by virtual host read stock Envoy's vhost statistics, which the %s dialect does not tag", d.Name)
		}
		c.vhosts = true
		for i := range cluster {
			cluster[i].expr = promql.VirtualHosts(cluster[i].expr, clusterLabel)
		}
		clusterLabel = promql.LabelGroup
	}
	for i, e := range cluster {
		text, err := promql.Check(e.expr)
		if err != nil {
			return nil, err
		}
		q := query{text: text, into: e.into, label: clusterLabel, record: e.record, bit: 1 << i, histogram: e.histogram, unit: e.unit, untrended: e.untrended || e.classes, names: e.names}
		if e.classes {
			q.class = d.Class
		}
		c.frame = append(c.frame, q)
	}
	for _, e := range listener {
		text, err := promql.Check(e.expr)
		if err != nil {
			return nil, err
		}
		q := query{text: text, listener: e.into}
		if e.class {
			q.class = d.Class
		}
		c.frame = append(c.frame, q)
	}
	if cfg.Alerts {
		text, err := promql.Check(promql.Alerts(sel))
		if err != nil {
			return nil, err
		}
		c.alerts = text
	}
	return c, nil
}

// recordedQueries read the recording rules' sums for sel, one query each whatever the number of
// clusters: requests, responses, non-5xx responses, the latency bucket rates of each unit and
// requests in flight. The rules record sums only, because sums of several namespaces or of
// several Prometheus shards add up (docs/recording-rules.md); the fold derives the success ratio
// and the percentiles from them once every answer is in, in Go rather than with one
// histogram_quantile query per percentile: one read of the buckets gives all three.
func recordedQueries(sel promql.Selector) []clusterQuery {
	queries := []clusterQuery{
		{expr: promql.RecordedRequestRate(sel), into: func(r *rowParts, v float64) { r.RPS = v }, record: promql.RecordRequestRate},
		{expr: promql.RecordedResponseRate(sel), into: func(r *rowParts, v float64) { r.responses = v }, record: promql.RecordResponseRate},
		{expr: promql.RecordedNot5xxRate(sel), into: func(r *rowParts, v float64) { r.not5xx = v }, record: promql.RecordNot5xxRate},
	}
	for _, u := range promql.LatencyUnits {
		queries = append(queries, clusterQuery{expr: promql.RecordedLatencyBuckets(sel, u.Record), record: u.Record, histogram: true, unit: u.Unit})
	}
	// Where latency arrives as native histograms only, the rules record those instead: their
	// percentiles, which recordedLatency keeps unless classic buckets were recorded too.
	queries = append(queries, recordedNativeQueries(sel)...)
	return append(queries,
		clusterQuery{expr: promql.RecordedActive(sel), into: func(r *rowParts, v float64) { r.Active = v }, record: promql.RecordActiveRequests, untrended: true},
		clusterQuery{expr: promql.RecordedClient4xxRate(sel), into: func(r *rowParts, v float64) { r.client4xx = v }, record: promql.Record4xxRate, untrended: true})
}

// byClass is the listener field of a query by status class, whose samples the fold adds to the
// listener's classSums instead.
func byClass(*Listener, float64) {}

// recordedSuccess is the non-5xx share of final responses, from the sums of the recorded rates.
// A cluster without responses has no ratio.
func recordedSuccess(responses, not5xx float64) float64 {
	if !Known(responses) || responses <= 0 || !Known(not5xx) {
		return NoData
	}
	return not5xx / responses
}

// recordedErrors are the 4xx and 5xx responses per second from the recorded sums: 5xx is the
// responses that were not non-5xx, 4xx is recorded (0 where there were responses and no 4xx;
// absent, so unknown, where the rules predate it). A cluster without responses has neither.
func recordedErrors(responses, not5xx, client4xx float64) (c4xx, c5xx float64) {
	if !Known(responses) || responses <= 0 {
		return NoData, NoData
	}
	c4xx, c5xx = client4xx, NoData
	if Known(not5xx) {
		c5xx = responses - not5xx
		// Both sums come from one evaluation of the rules: a difference a hair below zero is
		// rounding, not data.
		if c5xx < 0 && c5xx > -1e-9*responses {
			c5xx = 0
		}
	}
	return c4xx, c5xx
}

// recordedLatency sets the percentiles of r from its recorded bucket rates: those of the first
// unit of promql.LatencyUnits that has any, as the rules' or would have chosen.
func recordedLatency(r *rowParts) {
	for _, u := range promql.LatencyUnits {
		b := r.buckets[u.Unit]
		if len(b) == 0 {
			continue
		}
		for i := range b {
			b[i].UpperBound *= u.Ms
		}
		q := HistogramQuantiles(b, 0.5, 0.9, 0.99)
		r.P50, r.P90, r.P99 = q[0], q[1], q[2]
		return
	}
}

// Queries lists the PromQL a refresh that reads everything sends. Between two evaluations of the
// rules, a rules refresh sends the stamps query of lastRead and the listeners' instead.
func (c *Collector) Queries() []string {
	out := make([]string, len(c.frame))
	for i, q := range c.frame {
		out[i] = q.text
	}
	return out
}

// Frame runs one refresh at instant at. Each answer is folded into the rows as it arrives, so
// only the last one's fold waits for every query. A rules collector reads the recorded series
// again only when the rules were evaluated since its last read (see lastRead); the listener rows,
// from Envoy's own series, are read every time.
func (c *Collector) Frame(ctx context.Context, at time.Time) (Frame, error) {
	start := time.Now()
	c.mu.Lock()
	known, last := c.services, c.last
	c.mu.Unlock()
	fl := &fold{c: c, known: known, rows: make(map[string]*rowParts, len(known)), listeners: map[string]*Listener{}, listenerClasses: map[string]*classSums{}}
	notes := make([]Result, len(c.frame))
	g, gctx := errgroup.WithContext(ctx)
	ask := func(q query, i int) {
		g.Go(func() error {
			r, err := c.q.Query(gctx, q.text, at)
			if err != nil {
				return err
			}
			notes[i] = Result{Warnings: r.Warnings, Infos: r.Infos}
			fl.add(q, r.Vector)
			return nil
		})
	}
	// stamps is what the last read's stamps query answered now, before the recorded series are
	// read again; reused says they need not be.
	var stamps string
	reused := false
	var alerts []Alert
	var alertsErr error
	if c.alerts != "" {
		g.Go(func() error {
			alerts, alertsErr = c.askAlerts(gctx, at)
			return nil
		})
	}
	if last == nil || at.Before(last.at) {
		for i, q := range c.frame {
			ask(q, i)
		}
	} else {
		for i, q := range c.frame {
			if q.listener != nil {
				ask(q, i)
			}
		}
		g.Go(func() (err error) {
			stamps, reused, err = c.askUnlessReusable(gctx, last, at, ask)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Frame{}, err
	}
	f := Frame{At: at, Window: c.cfg.Window, Dialect: c.cfg.Dialect.Name, Source: c.cfg.Source, GroupBy: c.groupBy(), Took: time.Since(start)}
	if c.alerts != "" && alertsErr == nil {
		f.Alerts, f.AlertsKnown = alerts, true
	}
	if reused {
		for i, q := range c.frame {
			if q.listener == nil {
				notes[i] = last.notes[i]
			}
		}
		f.Rows = slices.Clone(last.rows)
	} else {
		f.Rows = c.rows(fl)
	}
	// Notes in query order, whatever order the answers came in.
	for _, n := range notes {
		f.Warnings = appendNew(f.Warnings, n.Warnings...)
		f.Infos = appendNew(f.Infos, n.Infos...)
	}
	if c.cfg.Source == SourceRules && !reused {
		read := c.remember(fl, f.Rows, notes, at, last, stamps)
		c.mu.Lock()
		c.last = read
		c.mu.Unlock()
	}
	for name, l := range fl.listeners {
		if cs, ok := fl.listenerClasses[name]; ok {
			l.Success = cs.success()
			l.Err4xx, l.Err5xx = cs.rates(c.cfg.Dialect)
		}
		checkListener(l)
		f.Listeners = append(f.Listeners, *l)
	}
	sort.Slice(f.Listeners, func(i, j int) bool { return f.Listeners[i].Prefix < f.Listeners[j].Prefix })
	return f, nil
}

// askAlerts reads the alerts about the selected clusters: one ALERTS series per alert, firing
// before pending, then by cluster and name.
func (c *Collector) askAlerts(ctx context.Context, at time.Time) ([]Alert, error) {
	r, err := c.q.Query(ctx, c.alerts, at)
	if err != nil {
		return nil, err
	}
	out := make([]Alert, 0, len(r.Vector))
	for _, s := range r.Vector {
		a := Alert{
			Name: s.Metric.Get(promql.LabelAlertName), State: s.Metric.Get(promql.LabelAlertState),
			Severity: s.Metric.Get(promql.LabelSeverity), Cluster: s.Metric.Get(promql.LabelCluster),
			Namespace: s.Metric.Get(promql.LabelEnvoyNamespace),
		}
		if a.State != AlertFiring && a.State != AlertPending {
			continue
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(alertRank(a), alertRank(b)),
			strings.Compare(a.Cluster, b.Cluster), strings.Compare(a.Name, b.Name), strings.Compare(a.Namespace, b.Namespace))
	})
	return out, nil
}

func alertRank(a Alert) int {
	if a.State == AlertFiring {
		return 0
	}
	return 1
}

// rows finishes the rows a refresh folded and keeps their Services for the next refresh.
func (c *Collector) rows(fl *fold) []Row {
	rows := c.finish(fl)
	// The names of the last refresh stay known as they are when this one brought the same.
	if fl.unknown > 0 || len(fl.rows) != len(fl.known) {
		services := make(map[string]service, len(rows))
		for _, r := range rows {
			services[r.Name] = service{namespace: r.Namespace, name: r.Service, ok: r.Service != "", route: r.Route}
		}
		c.mu.Lock()
		c.services = services
		c.mu.Unlock()
	}
	return rows
}

// finish derives what a fold's rows need every answer for (the recorded success ratio, error
// rates and percentiles, the raw error rates) and checks every number.
func (c *Collector) finish(fl *fold) []Row {
	rows := make([]Row, 0, len(fl.rows))
	for _, r := range fl.rows {
		if c.fromSums {
			r.Success = recordedSuccess(r.responses, r.not5xx)
			r.Err4xx, r.Err5xx = recordedErrors(r.responses, r.not5xx, r.client4xx)
			recordedLatency(r)
		} else {
			r.Err4xx, r.Err5xx = r.classes.rates(c.cfg.Dialect)
		}
		checkRow(&r.Row)
		rows = append(rows, r.Row)
	}
	return rows
}

// fold gathers one refresh's answers into rows and listeners, one answer at a time.
type fold struct {
	c *Collector
	// known is what the naming scheme made of the last refresh's cluster names.
	known map[string]service

	mu        sync.Mutex
	rows      map[string]*rowParts
	listeners map[string]*Listener
	// listenerClasses are the listeners' responses by class.
	listenerClasses map[string]*classSums
	// unknown counts the rows whose names known did not hold.
	unknown int
}

// add folds the answer to q.
func (fl *fold) add(q query, v Vector) {
	c := fl.c
	rules := c.cfg.Source == SourceRules
	listener := c.cfg.Dialect.Listener
	fl.mu.Lock()
	defer fl.mu.Unlock()
	for _, s := range v {
		value := s.Value
		if q.listener != nil {
			name := s.Metric.Get(listener)
			l, ok := fl.listeners[name]
			if !ok {
				l = &Listener{Prefix: name, RPS: NoData, Success: NoData, P99: NoData, Err4xx: NoData, Err5xx: NoData}
				fl.listeners[name] = l
			}
			if q.class != "" {
				cs, ok := fl.listenerClasses[name]
				if !ok {
					cs = &classSums{}
					fl.listenerClasses[name] = cs
				}
				cs.add(c.cfg.Dialect, s.Metric.Get(q.class), value)
				continue
			}
			q.listener(l, value)
			continue
		}
		name := s.Metric.Get(q.label)
		if rules && name == "" {
			// A recorded series without a cluster name (Envoy statistics in a dialect the
			// rules do not label) belongs to no cluster.
			continue
		}
		r, ok := fl.rows[name]
		if !ok {
			r = fl.newRow(name)
			fl.rows[name] = r
		}
		r.answered |= q.bit
		if q.histogram {
			le, err := strconv.ParseFloat(s.Metric.Get("le"), 64)
			if err != nil || math.IsNaN(le) {
				// Not a bucket: a rule nobody wrote, or a hostile answer.
				continue
			}
			r.buckets[q.unit] = append(r.buckets[q.unit], promengine.Bucket{UpperBound: le, Count: value})
			continue
		}
		if q.class != "" {
			r.classes.add(c.cfg.Dialect, s.Metric.Get(q.class), value)
			continue
		}
		q.into(r, value)
		if q.names {
			istioService(r, s.Metric)
		}
	}
}

// newRow starts the row of a cluster, with the Service its name reveals: from known, the
// names of the last refresh, or else from the naming scheme.
func (fl *fold) newRow(name string) *rowParts {
	r := &rowParts{
		Row: Row{Name: name, RPS: NoData, Success: NoData, P50: NoData, P90: NoData, P99: NoData, Active: NoData,
			Err4xx: NoData, Err5xx: NoData},
		responses: NoData, not5xx: NoData, client4xx: NoData,
	}
	s, ok := fl.known[name]
	if !ok {
		fl.unknown++
		if !fl.c.vhosts {
			// A virtual cluster's or route's name is Envoy's, not a cluster's: it names no Service.
			s.namespace, s.name, s.ok = fl.c.cfg.Naming.Service(name)
		}
		s.route = fl.c.routeName(name)
	}
	if s.ok {
		r.Namespace, r.Service = s.namespace, s.name
	}
	r.Route = s.route
	return r
}

// groupBy is what the rows stand for: routes only where the queries are grouped (not on Istio's
// standard metrics, whatever was asked).
func (c *Collector) groupBy() GroupBy {
	switch {
	case c.grouped:
		return GroupByRoute
	case c.vhosts:
		return GroupByVhost
	}
	return GroupByCluster
}

// routeName is Row.Route for a row name: an Envoy Gateway route's always, a Contour or Emissary
// upstream's when rows are grouped by route.
func (c *Collector) routeName(name string) string {
	if c.vhosts {
		return ""
	}
	r, ok := c.cfg.Naming.Route(name)
	if !ok || (!r.Gateway() && !c.grouped) {
		return ""
	}
	return r.String()
}

// narrow is sel narrowed to the clusters of one row name, read under label: a route's clusters
// when the row is a route's group, else the cluster of that name.
func (c *Collector) narrow(sel promql.Selector, label, name string) promql.Selector {
	if c.vhosts {
		ms, ok := promql.VirtualHostMembers(name)
		if !ok {
			// No virtual cluster or route is named so, and every virtual host statistic has a
			// virtual host: select nothing rather than a cluster.
			ms = []*labels.Matcher{promql.Eq(promql.LabelVirtualHost, "")}
		}
		for _, m := range ms {
			sel = sel.WithMatcher(m)
		}
		return sel
	}
	if c.grouped {
		if m, ok := routeMembers(c.cfg.Naming, label, name); ok {
			return sel.WithMatcher(m)
		}
	}
	return sel.With(label, name)
}

// Detail runs the drill-down queries of one cluster at instant at. They always read Envoy's own
// series, over the collector's window: the recording rules keep no status codes, reliability
// counters, pods or buckets.
func (c *Collector) Detail(ctx context.Context, at time.Time, cluster string) (Detail, error) {
	d, w := c.cfg.Dialect, c.cfg.Window
	one := c.narrow(c.cfg.Selector, d.Cluster, cluster)
	podLabels := []string{"pod", "instance"}
	exprs := []parser.Expr{
		promql.ClassRate(d, one, w),
		promql.CodeRate(d, one, w, c.codeStp),
		promql.ClusterStats(one, w),
		promql.UpstreamRequestRate(d, one, w, podLabels...),
		promql.UpstreamSuccessRatio(d, one, w, podLabels...),
		promql.UpstreamLatency(d, one, 0.99, w, podLabels...),
		promql.LatencyBuckets(one, w),
	}
	if d.Standard {
		// Istio's standard metrics have none of Envoy's reliability statistics, and their own
		// latency histogram.
		exprs[2], exprs[6] = nil, promql.IstioLatencyBuckets(one, w)
	}
	results := make([]Result, len(exprs))
	g, gctx := errgroup.WithContext(ctx)
	for i, e := range exprs {
		if e == nil {
			continue
		}
		switch {
		case c.grouped:
			// A route's pods: the clusters of its rules summed per pod, as its row sums them.
			e = promql.Regroup(e, d.Cluster, promql.LabelGroup, routeGroupRules(c.cfg.Naming))
		case c.vhosts:
			e = promql.VirtualHosts(e, d.Cluster)
		}
		text, err := promql.Check(e)
		if err != nil {
			return Detail{}, err
		}
		g.Go(func() error {
			r, err := c.q.Query(gctx, text, at)
			results[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Detail{}, err
	}
	out := Detail{
		Cluster: cluster, At: at, Window: w,
		Timeouts: NoData, PerTryTimeouts: NoData, Retries: NoData, RetryOverflow: NoData, PendingOverflow: NoData,
		Resets: NoData, EjectionsActive: NoData, MembersHealthy: NoData, MembersTotal: NoData, BreakersOpen: NoData,
	}
	for _, r := range results {
		out.Warnings = appendNew(out.Warnings, r.Warnings...)
	}
	out.Classes = shares(results[0].Vector, d.Class, className)
	out.Codes = shares(results[1].Vector, promql.CodeLabel, nil)
	stats := map[string]*float64{
		promql.StatTimeouts: &out.Timeouts, promql.StatPerTryTimeouts: &out.PerTryTimeouts,
		promql.StatRetries: &out.Retries, promql.StatRetryOverflow: &out.RetryOverflow,
		promql.StatPendingOverflow: &out.PendingOverflow,
		promql.StatEjections:       &out.EjectionsActive, promql.StatHealthy: &out.MembersHealthy,
		promql.StatMembers: &out.MembersTotal, promql.StatBreakersOpen: &out.BreakersOpen,
	}
	for _, s := range results[2].Vector {
		stat, v := s.Metric.Get(promql.StatLabel), checkedRate(s.Value)
		if p, ok := stats[stat]; ok {
			*p = v
		}
		// Resets either way add up; no data stays no data.
		if stat == promql.StatRxResets || stat == promql.StatTxResets {
			if Known(out.Resets) {
				v += out.Resets
			}
			out.Resets = v
		}
	}
	pods := map[string]*PodRow{}
	for i, into := range []func(*PodRow, float64){
		func(p *PodRow, v float64) { p.RPS = v },
		func(p *PodRow, v float64) { p.Success = v },
		func(p *PodRow, v float64) { p.P99 = v },
	} {
		for _, s := range results[3+i].Vector {
			name := s.Metric.Get("pod")
			if name == "" {
				name = s.Metric.Get("instance")
			}
			p, ok := pods[name]
			if !ok {
				p = &PodRow{Pod: name, RPS: NoData, Success: NoData, P99: NoData}
				pods[name] = p
			}
			into(p, s.Value)
		}
	}
	for _, p := range pods {
		checkPod(p)
		out.Pods = append(out.Pods, *p)
	}
	sort.Slice(out.Pods, func(i, j int) bool { return out.Pods[i].Pod < out.Pods[j].Pod })
	out.Latency = buckets(results[6].Vector)
	return out, nil
}

// className prints a status class the way people say it, 5xx, whatever the dialect stores.
func className(v string) string {
	if len(v) == 1 {
		return v + "xx"
	}
	return v
}

// shares reads one label's values and rates, highest first.
func shares(v Vector, label string, rename func(string) string) []Share {
	var out []Share
	for _, s := range v {
		name := s.Metric.Get(label)
		if rename != nil {
			name = rename(name)
		}
		out = append(out, Share{Label: name, RPS: checkedRate(s.Value)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].RPS != out[j].RPS {
			return out[i].RPS > out[j].RPS
		}
		return out[i].Label < out[j].Label
	})
	return out
}

// buckets turns the cumulative histogram into per-bucket rates, in bound order.
func buckets(v Vector) []Bucket {
	var out []Bucket
	for _, s := range v {
		le, err := strconv.ParseFloat(s.Metric.Get("le"), 64)
		if err != nil {
			continue
		}
		out = append(out, Bucket{UpperMs: le, RPS: checkedRate(s.Value)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpperMs < out[j].UpperMs })
	for i := len(out) - 1; i > 0; i-- {
		out[i].RPS -= out[i-1].RPS
		if out[i].RPS < 0 || math.IsNaN(out[i].RPS) {
			out[i].RPS = 0
		}
	}
	return out
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// Scalar queries e at at and returns the value of its one series: empty when the answer has
// none, an error when it has more.
func Scalar(ctx context.Context, q Querier, e parser.Expr, at time.Time, empty float64) (float64, error) {
	text, err := promql.Check(e)
	if err != nil {
		return NoData, err
	}
	res, err := q.Query(ctx, text, at)
	if err != nil {
		return NoData, err
	}
	switch len(res.Vector) {
	case 0:
		return empty, nil
	case 1:
		return res.Vector[0].Value, nil
	}
	return NoData, fmt.Errorf("%s answered %d series, want at most one", text, len(res.Vector))
}

// errNoClusterStats is the start of Discover's errors when Prometheus holds no Envoy cluster
// statistics for the selection, as opposed to a query that failed.
var errNoClusterStats = errors.New("no Envoy cluster statistics")

// IsNoClusterStats reports whether err says that Prometheus holds no Envoy cluster statistics
// for the selection, rather than that a query failed.
func IsNoClusterStats(err error) bool { return errors.Is(err, errNoClusterStats) }

// Discover finds the label dialect of the Envoy series sel holds, Istio's standard metrics where
// they are all there is, and explains an empty result.
func Discover(ctx context.Context, q Querier, sel promql.Selector, at time.Time) (promql.Dialect, error) {
	text, err := promql.Check(promql.ClusterLabels(sel))
	if err != nil {
		return promql.Dialect{}, err
	}
	res, err := q.Query(ctx, text, at)
	if err != nil {
		return promql.Dialect{}, err
	}
	series := make([]labels.Labels, 0, len(res.Vector))
	for _, s := range res.Vector {
		series = append(series, s.Metric)
	}
	d, ok := promql.DetectDialect(series)
	if ok && (d.Name != promql.DialectIstio.Name || istioServiceClusters(series)) {
		return d, nil
	}
	// A default Istio installation keeps Istio's standard metrics and, of Envoy's own cluster
	// statistics, only those of the sidecars' bootstrap clusters: read Istio's. Where Envoy's
	// statistics of the services' clusters exist too, they won above: they say more (requests
	// in flight, timeouts, retries, ejections), and --dialect istio-standard picks Istio's.
	istio, err := promql.Check(promql.IstioStandard(sel))
	if err != nil {
		return promql.Dialect{}, err
	}
	r, err := q.Query(ctx, istio, at)
	if err != nil {
		return promql.Dialect{}, err
	}
	switch {
	case len(r.Vector) > 0:
		return promql.DialectIstioStandard, nil
	case ok:
		return d, nil
	}
	if ns, ok := sel.Pinned(promql.LabelNamespace); ok {
		// Say which namespaces do hold Envoys, when that query answers.
		if have, err := envoyNamespaces(ctx, q, at); err == nil {
			return promql.Dialect{}, &EmptySelectionError{Kind: SelectEnvoyNamespace, Selected: ns, Have: have}
		}
	}
	return promql.Dialect{}, fmt.Errorf("%w (envoy_cluster_upstream_rq_total) in Prometheus yet: check that the Envoy monitors have targets up", errNoClusterStats)
}

// NoRulesError is the answer to SourceRules when Prometheus holds no recorded series for the
// selection.
type NoRulesError struct {
	// Probe is the query that found none.
	Probe string
}

func (e *NoRulesError) Error() string {
	return fmt.Sprintf("no recording-rule series in Prometheus (%s is empty): the recording rules of the team's stack "+
		"(kubectl promteam create, PrometheusRule TEAM-envoy-red) write them; apply the stack and wait for the rules' first "+
		"evaluation, or read Envoy's own series with --source raw", e.Probe)
}

// HasRecordingRules reports whether Prometheus holds the recording rules' series for sel: one
// count over one recorded series per cluster.
func HasRecordingRules(ctx context.Context, q Querier, sel promql.Selector, at time.Time) (bool, error) {
	text, err := promql.Check(promql.RecordedClusters(sel))
	if err != nil {
		return false, err
	}
	res, err := q.Query(ctx, text, at)
	if err != nil {
		return false, err
	}
	return len(res.Vector) > 0 && res.Vector[0].Value > 0, nil
}
