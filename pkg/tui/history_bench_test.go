package tui

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// todaySeries and todayHistory are the sparklines' history as it was before it followed the
// clock (the last historyLen refreshes in memory), kept here so that the steady refresh is
// measured against it in the same run.
type todaySeries struct {
	rps [historyLen]float64
	p99 [historyLen]float64
	n   int
}

func (s todaySeries) push(rps, p99 float64) todaySeries {
	copy(s.rps[:], s.rps[1:])
	copy(s.p99[:], s.p99[1:])
	s.rps[historyLen-1], s.p99[historyLen-1] = rps, p99
	s.n = min(s.n+1, historyLen)
	return s
}

func (s todaySeries) empty() bool {
	for i := historyLen - s.n; i < historyLen; i++ {
		if traffic.Known(s.rps[i]) || traffic.Known(s.p99[i]) {
			return false
		}
	}
	return true
}

type todayHistory map[string]todaySeries

func (h todayHistory) next(rows []traffic.Row) todayHistory {
	out := make(todayHistory, max(len(rows), len(h)))
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

// BenchmarkSteadyRefreshHistory updates the history of 2,000 rows once per refresh, every 2s,
// alternating with the history as it was: metric ratio is the time of the new over the old one
// (goal ≤ 1), history-µs and today-µs the time of each per refresh.
func BenchmarkSteadyRefreshHistory(b *testing.B) {
	rows := make([]traffic.Row, 2000)
	for i := range rows {
		rows[i] = traffic.Row{Name: fmt.Sprintf("team-%02d/service-%05d/80/abcdef", i%97, i), RPS: float64(i%100) + 0.5, P99: float64(10 + i%300)}
	}
	h, today := history{}.backfill(stepHistory(testNow, rows[0].Name)), todayHistory{}
	for i := range historyLen {
		h, today = h.next(rows, testNow.Add(time.Duration(i)*historyStep)), today.next(rows)
	}
	var ours, theirs time.Duration
	for i := 0; b.Loop(); i++ {
		at := testNow.Add(historyLen*historyStep + time.Duration(i)*2*time.Second)
		start := time.Now()
		h = h.next(rows, at)
		ours += time.Since(start)
		start = time.Now()
		today = today.next(rows)
		theirs += time.Since(start)
	}
	b.ReportMetric(float64(ours.Microseconds())/float64(b.N), "history-µs")
	b.ReportMetric(float64(theirs.Microseconds())/float64(b.N), "today-µs")
	b.ReportMetric(float64(ours)/float64(theirs), "ratio")
}
