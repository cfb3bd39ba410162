package tui

import (
	"math"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// The sparklines cover the last historySpan, one glyph per historyStep: back-filled from
// Prometheus when the dashboard starts and when the window changes, then the newest glyph
// follows every refresh and a new glyph starts when a step elapses.
const (
	historyLen  = 10
	historySpan = 15 * time.Minute
	historyStep = historySpan / historyLen
)

// series is the history of one row, oldest first, one value per step; NaN is a gap.
type series struct {
	rps [historyLen]float64
	p99 [historyLen]float64
}

// gaps is a series without any value.
func gaps() series {
	var s series
	for i := range historyLen {
		s.rps[i], s.p99[i] = math.NaN(), math.NaN()
	}
	return s
}

// shift moves s k steps on: the oldest k values go, k gaps come at the end.
func (s series) shift(k int) series {
	if k <= 0 {
		return s
	}
	if k >= historyLen {
		return gaps()
	}
	copy(s.rps[:], s.rps[k:])
	copy(s.p99[:], s.p99[k:])
	for i := historyLen - k; i < historyLen; i++ {
		s.rps[i], s.p99[i] = math.NaN(), math.NaN()
	}
	return s
}

// empty reports whether every value is a gap.
func (s series) empty() bool {
	for i := range historyLen {
		if traffic.Known(s.rps[i]) || traffic.Known(s.p99[i]) {
			return false
		}
	}
	return true
}

func (s series) rpsValues() []float64 { return s.rps[:] }
func (s series) p99Values() []float64 { return s.p99[:] }

// history maps a row name to its series, all ending at the step that starts at end. It is
// replaced, never mutated, on every frame, so a copy of the model keeps the history it was
// built with.
type history struct {
	end  time.Time // the start of the newest step; zero before the first frame
	rows map[string]series
}

// stepOf is the start of the step instant at falls in.
func stepOf(at time.Time) time.Time { return at.Truncate(historyStep) }

// advance is how many steps the newest step moves on to reach the one at falls in, and that
// step; an instant before the newest step counts as in it.
func (h history) advance(at time.Time) (int, time.Time) {
	slot := stepOf(at)
	switch {
	case h.end.IsZero():
		return historyLen, slot
	case !slot.After(h.end):
		return 0, h.end
	}
	return int(min(slot.Sub(h.end)/historyStep, historyLen)), slot
}

// get is the series of a row, all gaps when it has none.
func (h history) get(name string) series {
	if s, ok := h.rows[name]; ok {
		return s
	}
	return gaps()
}

// next returns the history after the frame of rows read at instant at: the newest value of every
// row of the frame is its numbers, a row missing from it gets a gap there and is forgotten once
// its whole history is gaps.
func (h history) next(rows []traffic.Row, at time.Time) history {
	k, end := h.advance(at)
	out := history{end: end, rows: make(map[string]series, max(len(rows), len(h.rows)))}
	for _, r := range rows {
		if _, dup := out.rows[r.Name]; dup {
			continue
		}
		s := h.get(r.Name).shift(k)
		s.rps[historyLen-1], s.p99[historyLen-1] = r.RPS, r.P99
		out.rows[r.Name] = s
	}
	for name, s := range h.rows {
		if _, ok := out.rows[name]; ok {
			continue
		}
		s = s.shift(k)
		s.rps[historyLen-1], s.p99[historyLen-1] = math.NaN(), math.NaN()
		if !s.empty() {
			out.rows[name] = s
		}
	}
	return out
}

// backfill returns the history with the steps Prometheus answered for filled in: every step
// of fill that falls in the history's span takes fill's numbers, but for the newest step, where
// a refresh's numbers, when known, are newer.
func (h history) backfill(fill traffic.History) history {
	if fill.Steps == 0 {
		return h
	}
	k, end := h.advance(fill.At(fill.Steps - 1))
	out := history{end: end, rows: make(map[string]series, max(len(fill.Clusters), len(h.rows)))}
	for name, s := range h.rows {
		out.rows[name] = s.shift(k)
	}
	for name, t := range fill.Clusters {
		s, ok := out.rows[name]
		if !ok {
			s = gaps()
		}
		for i := range fill.Steps {
			j := historyLen - 1 - int(end.Sub(stepOf(fill.At(i)))/historyStep)
			if j < 0 || j >= historyLen {
				continue
			}
			if j == historyLen-1 && ok && (traffic.Known(s.rps[j]) || traffic.Known(s.p99[j])) {
				continue // a refresh's numbers, newer
			}
			if i < len(t.RPS) {
				s.rps[j] = t.RPS[i]
			}
			if i < len(t.P99) {
				s.p99[j] = t.P99[i]
			}
		}
		if !s.empty() {
			out.rows[name] = s
		}
	}
	return out
}

// flatShare is the relative range under which a sparkline is a flat line: a row whose numbers
// vary by less than this share of their level is steady, and its noise is not magnified into
// full-height bars.
const flatShare = 0.05

// span is the range of the known values of vals: lo and hi, and whether any is known.
func span(vals []float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if traffic.Known(v) {
			lo, hi, ok = min(lo, v), max(hi, v), true
		}
	}
	return lo, hi, ok
}

// isFlat reports whether values from lo to hi are steady by flatShare's rule.
func isFlat(lo, hi float64) bool {
	return hi-lo <= flatShare*max(math.Abs(lo), math.Abs(hi))
}

// trendline draws vals (oldest first) scaled to their own range, lo to hi, right-aligned in width
// cells, so a change shows whatever the row's level; steady values (isFlat) are a flat line at
// mid height, or on the floor when they are all zero. NaN is a gap (a space).
func trendline(vals []float64, width int) string {
	lo, hi, ok := span(vals)
	if !ok {
		return sparklineTo(vals, width, 0)
	}
	if isFlat(lo, hi) {
		level := 3
		if hi == 0 {
			level = 0
		}
		flat := make([]float64, len(vals))
		for i, v := range vals {
			flat[i] = math.NaN()
			if traffic.Known(v) {
				flat[i] = float64(level)
			}
		}
		return sparklineTo(flat, width, float64(len(sparkGlyphs)-1))
	}
	shifted := make([]float64, len(vals))
	for i, v := range vals {
		// The lowest value draws the lowest bar: 1/8 of the range above it rounds to 1.
		shifted[i] = v - lo
		if traffic.Known(v) && shifted[i] <= 0 {
			shifted[i] = 0
		}
	}
	return sparklineTo(shifted, width, hi-lo)
}
