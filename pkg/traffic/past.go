package traffic

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"
)

// Offsets are the past instants a row is compared with when none are chosen: the same time an
// hour, a day and a week ago.
var Offsets = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// maxOffsets caps the offsets of one read: each costs a query per trend number.
const maxOffsets = 8

// Past is every cluster's trend numbers at one earlier instant: the trend queries of a refresh
// (HistoryQueries) evaluated Offset before the refresh's instant, which is what the same queries
// read at the refresh's instant with `offset` on every selector.
type Past struct {
	Offset time.Duration
	At     time.Time
	// Rows holds each cluster's RPS, success and percentiles by cluster name; the numbers a
	// refresh reads beside the trend (requests in flight, error rates) are NoData.
	Rows     map[string]Row
	Warnings []string
}

// ParseOffsets reads a comma-separated list of offsets such as "1h,1d,1w": Prometheus durations,
// each positive, at most eight, none twice.
func ParseOffsets(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		md, err := model.ParseDuration(f)
		if err != nil {
			return nil, fmt.Errorf("offset %q is not a duration such as 1h, 1d or 1w", f)
		}
		d := time.Duration(md)
		if d <= 0 {
			return nil, fmt.Errorf("offset %q is not a positive duration", f)
		}
		for _, o := range out {
			if o == d {
				return nil, fmt.Errorf("offset %q is listed twice", f)
			}
		}
		out = append(out, d)
	}
	if len(out) > maxOffsets {
		return nil, fmt.Errorf("%d offsets are more than the %d one refresh may compare with", len(out), maxOffsets)
	}
	return out, nil
}

// PastQueries is the number of instant queries Past sends for n offsets: one per trend number
// and offset, whatever the number of clusters.
func (c *Collector) PastQueries(n int) int { return n * len(c.HistoryQueries()) }

// Past reads every cluster's trend numbers offset before at, for each of offsets, all at once:
// one instant query per trend number and offset (PastQueries), whatever the number of clusters.
// The answers are folded and finished as a refresh's are, so a past row's numbers are the ones a
// refresh at that instant would have shown.
func (c *Collector) Past(ctx context.Context, at time.Time, offsets []time.Duration) ([]Past, error) {
	if len(offsets) > maxOffsets {
		return nil, fmt.Errorf("%d offsets are more than the %d one refresh may compare with", len(offsets), maxOffsets)
	}
	c.mu.Lock()
	known := c.services
	c.mu.Unlock()
	folds := make([]*fold, len(offsets))
	notes := make([][]Result, len(offsets))
	g, gctx := errgroup.WithContext(ctx)
	for i, off := range offsets {
		if off <= 0 {
			return nil, fmt.Errorf("offset %s is not a positive duration", off)
		}
		fl := &fold{c: c, known: known, rows: map[string]*rowParts{}, listeners: map[string]*Listener{}, listenerClasses: map[string]*classSums{}}
		folds[i] = fl
		notes[i] = make([]Result, len(c.frame))
		for j, q := range c.frame {
			if !q.trend() {
				continue
			}
			g.Go(func() error {
				r, err := c.q.Query(gctx, q.text, at.Add(-off))
				if err != nil {
					return err
				}
				notes[i][j] = Result{Warnings: r.Warnings, Infos: r.Infos}
				fl.add(q, r.Vector)
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]Past, len(offsets))
	for i, off := range offsets {
		p := Past{Offset: off, At: at.Add(-off), Rows: make(map[string]Row, len(folds[i].rows))}
		for _, r := range c.finish(folds[i]) {
			r.Active, r.Err4xx, r.Err5xx = NoData, NoData, NoData
			r.Invalid &^= FieldActive | FieldErr4xx | FieldErr5xx
			p.Rows[r.Name] = r
		}
		for _, n := range notes[i] {
			p.Warnings = appendNew(p.Warnings, n.Warnings...)
		}
		out[i] = p
	}
	return out, nil
}

// Past settles the dialect and source if they are not known yet, then reads the past.
func (a *Auto) Past(ctx context.Context, at time.Time, offsets []time.Duration) ([]Past, error) {
	c, err := a.collector(ctx, at)
	if err != nil {
		return nil, err
	}
	return c.Past(ctx, at, offsets)
}

// Metric names a number a Change compares.
type Metric string

// The numbers a Change compares: the ones an on-call engineer reads first.
const (
	MetricRPS     Metric = "rps"
	MetricErrors  Metric = "errors" // the share of responses that were 5xx: 1 - success
	MetricLatency Metric = "p99"
)

// Change is how one number of a row moved against a past instant.
type Change struct {
	Offset    time.Duration
	Metric    Metric
	Now, Then float64
	// Score is the size of the move, the same scale for every metric: the absolute natural
	// logarithm of the ratio now/then (0.69 is twice or half as much). The error share is taken
	// with a floor of ErrorFloor on both sides, so 0.01% to 0.02% is not a doubling that matters.
	Score float64
}

// ErrorFloor is the error share below which a change in errors does not count: 1%.
const ErrorFloor = 0.01

// Compare is how row moved against the same cluster's numbers in each past, one Change per past
// in which the row had a number: its biggest move among RPS, errors and p99. A past without the
// cluster, or with NoData on both sides of every metric, has no Change.
func Compare(row Row, pasts []Past) []Change {
	var out []Change
	for _, p := range pasts {
		then, ok := p.Rows[row.Name]
		if !ok {
			continue
		}
		best := Change{Score: -1}
		for _, c := range []Change{
			ratioChange(MetricRPS, row.RPS, then.RPS, 0),
			ratioChange(MetricErrors, errShare(row.Success), errShare(then.Success), ErrorFloor),
			ratioChange(MetricLatency, row.P99, then.P99, 0),
		} {
			if c.Score > best.Score {
				best = c
			}
		}
		if best.Score < 0 {
			continue
		}
		best.Offset = p.Offset
		out = append(out, best)
	}
	return out
}

// Biggest is the change with the highest score, and whether there is one.
func Biggest(changes []Change) (Change, bool) {
	var best Change
	found := false
	for _, c := range changes {
		if !found || c.Score > best.Score {
			best, found = c, true
		}
	}
	return best, found
}

// errShare is the 5xx share of a success ratio, NoData without one.
func errShare(success float64) float64 {
	if !Known(success) {
		return NoData
	}
	return 1 - success
}

// ratioChange scores a move from then to now; Score -1 says there is nothing to compare (a side
// unknown, or both zero). A rise from zero, with no floor, scores as a thousandfold rise.
func ratioChange(m Metric, now, then, floor float64) Change {
	c := Change{Metric: m, Now: now, Then: then, Score: -1}
	if !Known(now) || !Known(then) || now < 0 || then < 0 {
		return c
	}
	a, b := max(now, floor), max(then, floor)
	switch {
	case a == 0 && b == 0:
		return c
	case a == 0 || b == 0:
		c.Score = math.Log(1000)
	default:
		c.Score = math.Abs(math.Log(a / b))
	}
	return c
}

// FormatChange prints a change: the metric, then the move. RPS and p99 move by a percentage
// below ×2 and by a factor from there; the 5xx share by percentage points.
func FormatChange(c Change) string {
	switch c.Metric {
	case MetricErrors:
		pts := 100 * (c.Now - c.Then)
		if math.Abs(pts) >= 9.95 {
			return fmt.Sprintf("5xx %+.0fpt", pts)
		}
		return fmt.Sprintf("5xx %+.1fpt", pts)
	case MetricLatency, MetricRPS:
		name := string(c.Metric)
		switch {
		case c.Then == 0:
			return name + " new"
		case c.Now == 0:
			return name + " −100%"
		}
		r := c.Now / c.Then
		switch {
		case r >= 9.95:
			return fmt.Sprintf("%s ×%.0f", name, r)
		case r >= 2:
			return fmt.Sprintf("%s ×%.1f", name, r)
		case r < 1:
			return fmt.Sprintf("%s −%.0f%%", name, 100*(1-r))
		}
		return fmt.Sprintf("%s +%.0f%%", name, 100*(r-1))
	}
	return Dash
}
