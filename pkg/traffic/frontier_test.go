package traffic

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// answer is a Querier that answers every query with one result and records what it was asked.
type answer struct {
	r     Result
	err   error
	asked []string
	at    []time.Time
}

func (a *answer) Query(_ context.Context, q string, at time.Time) (Result, error) {
	a.asked, a.at = append(a.asked, q), append(a.at, at)
	return a.r, a.err
}

// TestFrontier: the instant the store's answer names, to the millisecond, asked at the clock; at
// itself when the answer names none, an impossible one or one after at.
func TestFrontier(t *testing.T) {
	at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	one := func(v float64) Vector { return Vector{{Value: v}} }
	for name, tc := range map[string]struct {
		v    Vector
		want time.Time
	}{
		"behind":           {one(float64(at.Add(-4500*time.Millisecond).UnixMilli()) / 1000), at.Add(-4500 * time.Millisecond)},
		"rounded to a ms":  {one(float64(at.Unix()) - 2.0004), at.Add(-2 * time.Second)},
		"none":             {nil, at},
		"after the clock":  {one(float64(at.Unix() + 3)), at},
		"NaN":              {one(math.NaN()), at},
		"infinite":         {one(math.Inf(-1)), at},
		"two, impossible":  {Vector{{Value: 1}, {Value: 2}}, at},
		"exactly at clock": {one(float64(at.Unix())), at},
	} {
		q := &answer{r: Result{Vector: tc.v}}
		got, err := Frontier(context.Background(), q, promql.Namespace("shop"), at)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s: got %s, %v; want %s", name, got.Format(time.RFC3339Nano), err, tc.want.Format(time.RFC3339Nano))
		}
		if len(q.asked) != 1 || !q.at[0].Equal(at) || !strings.Contains(q.asked[0], `timestamp(up{namespace="shop"})`) {
			t.Errorf("%s: asked %q at %v", name, q.asked, q.at)
		}
	}

	q := &answer{err: errors.New("connection refused")}
	if _, err := Frontier(context.Background(), q, promql.Everything, at); err == nil || !strings.Contains(err.Error(), "how far the store's samples reach: connection refused") {
		t.Errorf("a failed query: %v", err)
	}
}
