package tui

import (
	"math"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// historyLen is how many frames the sparklines remember, one glyph per frame.
const historyLen = 10

// series is the recent history of one row, oldest first; n counts the filled slots at the end.
type series struct {
	rps [historyLen]float64
	p99 [historyLen]float64
	n   int
}

func (s series) push(rps, p99 float64) series {
	copy(s.rps[:], s.rps[1:])
	copy(s.p99[:], s.p99[1:])
	s.rps[historyLen-1], s.p99[historyLen-1] = rps, p99
	s.n = min(s.n+1, historyLen)
	return s
}

// empty reports whether every remembered value is a gap.
func (s series) empty() bool {
	for i := historyLen - s.n; i < historyLen; i++ {
		if traffic.Known(s.rps[i]) || traffic.Known(s.p99[i]) {
			return false
		}
	}
	return true
}

func (s series) rpsValues() []float64 { return s.rps[historyLen-s.n:] }
func (s series) p99Values() []float64 { return s.p99[historyLen-s.n:] }

// history maps a row name to its series. It is replaced, never mutated, on every frame, so a
// copy of the model keeps the history it was built with.
type history map[string]series

// next returns the history after frame f: every row of f gets its values appended; a row
// missing from f gets a gap and is forgotten once its whole history is gaps.
func (h history) next(rows []traffic.Row) history {
	out := make(history, max(len(rows), len(h)))
	for _, r := range rows {
		if _, dup := out[r.Name]; dup {
			continue
		}
		out[r.Name] = h[r.Name].push(r.RPS, r.P99)
	}
	for name, s := range h {
		if _, ok := out[name]; ok {
			continue
		}
		if s = s.push(math.NaN(), math.NaN()); !s.empty() {
			out[name] = s
		}
	}
	return out
}
