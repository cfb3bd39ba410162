package traffic

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// Frontier is the instant to read a store at when asked at instant at: how far the store's
// samples of sel's targets reach (promql.StoreFrontier), to the millisecond, never later than
// at. A store fed by remote write holds its newest samples late; a refresh read at its frontier
// ends every window where the samples do, where one read at the clock reads low by the share of
// the window still on its way. A store with no fresh up of sel (none within Prometheus' lookback)
// says nothing of its lag, and the answer is at.
func Frontier(ctx context.Context, q Querier, sel promql.Selector, at time.Time) (time.Time, error) {
	text, err := promql.Check(promql.StoreFrontier(sel))
	if err != nil {
		return time.Time{}, err
	}
	r, err := q.Query(ctx, text, at)
	if err != nil {
		return time.Time{}, fmt.Errorf("finding how far the store's samples reach: %w", err)
	}
	return frontierOf(r.Vector, at), nil
}

// frontierOf is the instant the answer of promql.StoreFrontier names, in seconds since the
// epoch, or at when it names none or one after at.
func frontierOf(v Vector, at time.Time) time.Time {
	if len(v) != 1 || math.IsNaN(v[0].Value) || math.IsInf(v[0].Value, 0) {
		return at
	}
	t := time.UnixMilli(int64(math.Round(v[0].Value * 1000)))
	if t.After(at) {
		return at
	}
	return t
}
