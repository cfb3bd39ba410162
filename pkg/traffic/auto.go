package traffic

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// Auto is a collector that settles what it could not know up front on its first successful
// refresh: the label dialect, when Config.Dialect is the zero value, and whether to read the
// recording rules, when Config.Source is SourceAuto or SourceRules. A dashboard can so start
// while Prometheus is still unreachable and catch up once it answers. What it settles it keeps:
// later refreshes send no probe.
type Auto struct {
	q   Querier
	cfg Config

	mu sync.Mutex
	c  *Collector
}

// NewAuto returns a collector for cfg whose dialect and source are settled from the series
// Prometheus holds.
func NewAuto(q Querier, cfg Config) *Auto { return &Auto{q: q, cfg: cfg} }

func (a *Auto) collector(ctx context.Context, at time.Time) (*Collector, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.c != nil {
		return a.c, nil
	}
	cfg := a.cfg
	if cfg.GroupBy == GroupByVhost && cfg.Source == SourceAuto {
		// The rules record clusters only; virtual hosts are read from Envoy's own series.
		cfg.Source = SourceRaw
	}
	if cfg.Source == SourceAuto || cfg.Source == SourceRules {
		ok, err := HasRecordingRules(ctx, a.q, cfg.Selector, at)
		switch {
		case err != nil:
			return nil, err
		case ok:
			cfg.Source = SourceRules
		case cfg.Source == SourceRules:
			probe, _ := promql.Check(promql.RecordedClusters(cfg.Selector))
			return nil, &NoRulesError{Probe: probe}
		default:
			cfg.Source = SourceRaw
		}
	}
	if cfg.Dialect.Name == "" {
		d, err := Discover(ctx, a.q, cfg.Selector, at)
		switch {
		case err == nil:
			cfg.Dialect = d
		case cfg.Source == SourceRules && errors.Is(err, errNoClusterStats):
			// The rules hold every cluster number (Istio's standard metrics, for one, have no
			// Envoy cluster statistics); Envoy's own series feed only the listener rows and the
			// drill-down, which stay empty without them.
			cfg.Dialect = promql.DialectEnvoy
		default:
			return nil, err
		}
	}
	c, err := NewCollector(a.q, cfg)
	if err != nil {
		return nil, err
	}
	a.c = c
	return c, nil
}

// Frame settles the dialect and source if they are not known yet, then refreshes.
func (a *Auto) Frame(ctx context.Context, at time.Time) (Frame, error) {
	c, err := a.collector(ctx, at)
	if err != nil {
		return Frame{}, err
	}
	return c.Frame(ctx, at)
}

// Detail settles the dialect and source if they are not known yet, then drills into one cluster.
func (a *Auto) Detail(ctx context.Context, at time.Time, cluster string) (Detail, error) {
	c, err := a.collector(ctx, at)
	if err != nil {
		return Detail{}, err
	}
	return c.Detail(ctx, at, cluster)
}
