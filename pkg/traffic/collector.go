package traffic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
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
	Vector   model.Vector
	Warnings []string
	Infos    []string
}

// Config chooses what the collector asks.
type Config struct {
	Dialect  promql.Dialect
	Selector promql.Selector
	// Window is the rate window; at least four scrape intervals.
	Window time.Duration
	// Naming maps cluster names to Services; the zero value means auto.
	Naming Naming
}

// Collector turns refreshes into Frames. It sends the same fixed set of queries whatever the
// number of clusters, all at once; drill-down queries touch the selected cluster only.
type Collector struct {
	q       Querier
	cfg     Config
	frame   []query
	codeStp time.Duration
}

// query is one PromQL expression and the row field its samples fill.
type query struct {
	text string
	into func(r *Row, v float64)
	// listener queries group by the listener label instead of the cluster label.
	listener func(l *Listener, v float64)
}

// NewCollector builds and checks the queries of cfg.
func NewCollector(q Querier, cfg Config) (*Collector, error) {
	if cfg.Window <= 0 {
		return nil, errors.New("the rate window must be positive")
	}
	if cfg.Naming == "" {
		cfg.Naming = NamingAuto
	}
	d, sel, w := cfg.Dialect, cfg.Selector, cfg.Window
	cluster := []struct {
		expr parser.Expr
		into func(*Row, float64)
	}{
		{promql.UpstreamRequestRate(d, sel, w), func(r *Row, v float64) { r.RPS = v }},
		{promql.UpstreamSuccessRatio(d, sel, w), func(r *Row, v float64) { r.Success = v }},
		{promql.UpstreamLatency(d, sel, 0.5, w), func(r *Row, v float64) { r.P50 = v }},
		{promql.UpstreamLatency(d, sel, 0.9, w), func(r *Row, v float64) { r.P90 = v }},
		{promql.UpstreamLatency(d, sel, 0.99, w), func(r *Row, v float64) { r.P99 = v }},
		{promql.UpstreamActive(d, sel), func(r *Row, v float64) { r.Active = v }},
	}
	listener := []struct {
		expr parser.Expr
		into func(*Listener, float64)
	}{
		{promql.DownstreamRequestRate(d, sel, w), func(l *Listener, v float64) { l.RPS = v }},
		{promql.DownstreamSuccessRatio(d, sel, w), func(l *Listener, v float64) { l.Success = v }},
		{promql.DownstreamLatency(d, sel, 0.99, w), func(l *Listener, v float64) { l.P99 = v }},
	}
	c := &Collector{q: q, cfg: cfg, codeStp: max(w/4, time.Second)}
	for _, e := range cluster {
		text, err := promql.Check(e.expr)
		if err != nil {
			return nil, err
		}
		c.frame = append(c.frame, query{text: text, into: e.into})
	}
	for _, e := range listener {
		text, err := promql.Check(e.expr)
		if err != nil {
			return nil, err
		}
		c.frame = append(c.frame, query{text: text, listener: e.into})
	}
	return c, nil
}

// Queries lists the PromQL one refresh sends.
func (c *Collector) Queries() []string {
	out := make([]string, len(c.frame))
	for i, q := range c.frame {
		out[i] = q.text
	}
	return out
}

// Frame runs one refresh at instant at.
func (c *Collector) Frame(ctx context.Context, at time.Time) (Frame, error) {
	start := time.Now()
	results := make([]Result, len(c.frame))
	g, gctx := errgroup.WithContext(ctx)
	for i, q := range c.frame {
		g.Go(func() error {
			r, err := c.q.Query(gctx, q.text, at)
			results[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Frame{}, err
	}
	f := Frame{At: at, Window: c.cfg.Window, Dialect: c.cfg.Dialect.Name, Took: time.Since(start)}
	rows := map[string]*Row{}
	listeners := map[string]*Listener{}
	for i, q := range c.frame {
		f.Warnings = appendNew(f.Warnings, results[i].Warnings...)
		f.Infos = appendNew(f.Infos, results[i].Infos...)
		for _, s := range results[i].Vector {
			v := float64(s.Value)
			if q.listener != nil {
				name := string(s.Metric[model.LabelName(c.cfg.Dialect.Listener)])
				l, ok := listeners[name]
				if !ok {
					l = &Listener{Prefix: name, RPS: NoData, Success: NoData, P99: NoData}
					listeners[name] = l
				}
				q.listener(l, v)
				continue
			}
			name := string(s.Metric[model.LabelName(c.cfg.Dialect.Cluster)])
			r, ok := rows[name]
			if !ok {
				r = c.newRow(name)
				rows[name] = r
			}
			q.into(r, v)
		}
	}
	for _, r := range rows {
		f.Rows = append(f.Rows, *r)
	}
	SortRows(f.Rows, SortRPS, false)
	for _, l := range listeners {
		f.Listeners = append(f.Listeners, *l)
	}
	sort.Slice(f.Listeners, func(i, j int) bool { return f.Listeners[i].Prefix < f.Listeners[j].Prefix })
	return f, nil
}

func (c *Collector) newRow(name string) *Row {
	r := &Row{Name: name, RPS: NoData, Success: NoData, P50: NoData, P90: NoData, P99: NoData, Active: NoData}
	if ns, svc, ok := c.cfg.Naming.Service(name); ok {
		r.Namespace, r.Service = ns, svc
	}
	return r
}

// Detail runs the drill-down queries of one cluster at instant at.
func (c *Collector) Detail(ctx context.Context, at time.Time, cluster string) (Detail, error) {
	d, w := c.cfg.Dialect, c.cfg.Window
	one := c.cfg.Selector.With(d.Cluster, cluster)
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
	results := make([]Result, len(exprs))
	g, gctx := errgroup.WithContext(ctx)
	for i, e := range exprs {
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
		stat, v := string(s.Metric[promql.StatLabel]), float64(s.Value)
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
			name := string(s.Metric["pod"])
			if name == "" {
				name = string(s.Metric["instance"])
			}
			p, ok := pods[name]
			if !ok {
				p = &PodRow{Pod: name, RPS: NoData, Success: NoData, P99: NoData}
				pods[name] = p
			}
			into(p, float64(s.Value))
		}
	}
	for _, p := range pods {
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
func shares(v model.Vector, label string, rename func(string) string) []Share {
	var out []Share
	for _, s := range v {
		name := string(s.Metric[model.LabelName(label)])
		if rename != nil {
			name = rename(name)
		}
		out = append(out, Share{Label: name, RPS: float64(s.Value)})
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
func buckets(v model.Vector) []Bucket {
	var out []Bucket
	for _, s := range v {
		le, err := strconv.ParseFloat(string(s.Metric["le"]), 64)
		if err != nil {
			continue
		}
		out = append(out, Bucket{UpperMs: le, RPS: float64(s.Value)})
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

// Discover finds the label dialect of the Envoy series sel holds, and explains an empty result.
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
		m := make(map[string]string, len(s.Metric))
		for k, v := range s.Metric {
			m[string(k)] = string(v)
		}
		series = append(series, labels.FromMap(m))
	}
	if d, ok := promql.DetectDialect(series); ok {
		return d, nil
	}
	istio, _ := promql.Check(promql.IstioStandard(sel))
	if r, err := q.Query(ctx, istio, at); err == nil && len(r.Vector) > 0 {
		return promql.Dialect{}, errors.New("no Envoy cluster statistics (envoy_cluster_upstream_rq_total), only Istio's standard istio_requests_total: Istio keeps just istio_* metrics by default; extend the sidecars' stats inclusion (proxyStatsMatcher: inclusionPrefixes [cluster.]) to see upstream clusters")
	}
	return promql.Dialect{}, fmt.Errorf("no Envoy cluster statistics (envoy_cluster_upstream_rq_total) in Prometheus yet: check that the Envoy monitors have targets up")
}
