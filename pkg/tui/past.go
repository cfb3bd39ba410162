package tui

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// PastReader is a Source that also reads every cluster's numbers at earlier instants
// (traffic.Collector and traffic.Auto do), for the "vs" view: each row against the same time an
// hour, a day and a week ago.
type PastReader interface {
	Past(ctx context.Context, at time.Time, offsets []time.Duration) ([]traffic.Past, error)
}

// errNoPast is the vs view's error when the Source reads no past.
var errNoPast = errors.New("this source reads no past: the vs view needs Prometheus")

// maxVsColumns is the number of offsets the table has room for.
const maxVsColumns = 3

// pastRefresh is how often the vs view reads its pasts again. The instants an hour, a day and a
// week ago move only as fast as now does, so pasts read a few refreshes ago compare the same,
// and a refresh sends their queries (15 from raw series) at most this often.
const pastRefresh = 30 * time.Second

// notableScore is the smallest change the vs view highlights: a quarter more or less (ln 1.25).
var notableScore = math.Log(1.25)

// vsView is the state of the "vs" view: the table's trend columns give way to one column per
// offset, each row's biggest move against that past, and the rows come ordered by their biggest
// move until another sort is chosen.
type vsView struct {
	on bool
	// byChange orders the rows by their biggest move; a sort key turns it off.
	byChange bool
	pasts    []traffic.Past
	at       time.Time // the instant the pasts were read for
	have     bool
	err      error
	// changes and scores are per frame row: its change against each past (by offset) and its
	// biggest score, -1 for none.
	changes [][]traffic.Change
	scores  []float64
}

// due reports whether a refresh at now should read the pasts: none are on hand, the last read
// failed, or they were read pastRefresh or more before now.
func (v *vsView) due(now time.Time) bool {
	return !v.have || v.err != nil || now.Sub(v.at) >= pastRefresh
}

// byChange reports whether the table is in the vs view's order, by the biggest move.
func (m *Model) byChange() bool { return m.vs.on && m.vs.byChange }

// offsets are the pasts the view reads: the options', at most maxVsColumns of them.
func (m *Model) offsets() []time.Duration {
	o := m.opts.Offsets
	if len(o) == 0 {
		o = traffic.Offsets
	}
	return o[:min(len(o), maxVsColumns)]
}

// recompare derives every frame row's changes from the pasts on hand.
func (v *vsView) recompare(rows []traffic.Row) {
	v.changes, v.scores = nil, nil
	if !v.have {
		return
	}
	v.changes = make([][]traffic.Change, len(rows))
	v.scores = make([]float64, len(rows))
	for i, r := range rows {
		v.changes[i] = traffic.Compare(r, v.pasts)
		v.scores[i] = -1
		if b, ok := traffic.Biggest(v.changes[i]); ok {
			v.scores[i] = b.Score
		}
	}
}

// changeAt is row idx's change against the past offset ago.
func (v *vsView) changeAt(idx int, offset time.Duration) (traffic.Change, bool) {
	if idx >= len(v.changes) {
		return traffic.Change{}, false
	}
	for _, c := range v.changes[idx] {
		if c.Offset == offset {
			return c, true
		}
	}
	return traffic.Change{}, false
}

// orderByChange sorts order (indices of frame rows) by their biggest move, largest first; rows
// without a past come last, by name.
func (v *vsView) orderByChange(order []int, rows []traffic.Row) {
	score := func(i int) float64 {
		if i < len(v.scores) {
			return v.scores[i]
		}
		return -1
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(score(b), score(a)); c != 0 {
			return c
		}
		return strings.Compare(rows[a].Name, rows[b].Name)
	})
}

// fmtOffset is an offset as Prometheus writes durations: 1h, 1d, 1w, 90m.
func fmtOffset(d time.Duration) string { return model.Duration(d).String() }

// worse reports whether c is a move for the worse: fewer requests, more errors, slower.
func worse(c traffic.Change) bool {
	if c.Metric == traffic.MetricRPS {
		return c.Now < c.Then
	}
	return c.Now > c.Then
}
