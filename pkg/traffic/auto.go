package traffic

import (
	"context"
	"sync"
	"time"
)

// Auto is a collector that finds the label dialect on its first successful refresh, so a
// dashboard can start while Prometheus is still unreachable and catch up once it answers.
type Auto struct {
	q   Querier
	cfg Config

	mu sync.Mutex
	c  *Collector
}

// NewAuto returns a collector for cfg whose Dialect is discovered from the series Prometheus holds.
func NewAuto(q Querier, cfg Config) *Auto { return &Auto{q: q, cfg: cfg} }

func (a *Auto) collector(ctx context.Context, at time.Time) (*Collector, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.c != nil {
		return a.c, nil
	}
	d, err := Discover(ctx, a.q, a.cfg.Selector, at)
	if err != nil {
		return nil, err
	}
	cfg := a.cfg
	cfg.Dialect = d
	c, err := NewCollector(a.q, cfg)
	if err != nil {
		return nil, err
	}
	a.c = c
	return c, nil
}

// Frame discovers the dialect if it is not known yet, then refreshes.
func (a *Auto) Frame(ctx context.Context, at time.Time) (Frame, error) {
	c, err := a.collector(ctx, at)
	if err != nil {
		return Frame{}, err
	}
	return c.Frame(ctx, at)
}

// Detail discovers the dialect if it is not known yet, then drills into one cluster.
func (a *Auto) Detail(ctx context.Context, at time.Time, cluster string) (Detail, error) {
	c, err := a.collector(ctx, at)
	if err != nil {
		return Detail{}, err
	}
	return c.Detail(ctx, at, cluster)
}
