package tui

import (
	"context"
	"fmt"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// tickMsg is the refresh clock. Each one re-arms the next.
type tickMsg time.Time

// loadRequest is everything a load Cmd needs, copied out of the model so the Cmd never touches
// the model.
type loadRequest struct {
	seq uint64
	gen uint64 // the window the load is for (Model.gen)
	at  time.Time
	// frontier, when set, moves at to how far the store's samples reach (Options.Frontier).
	frontier Frontier
	timeout  time.Duration
	frame    bool // load the frame
	history  bool // also back-fill the history, when the source is a Historian
	// past, when set, also reads the pasts at these offsets, when the source is a PastReader.
	past    []time.Duration
	cluster string // also load the drill-down of this cluster; "" for none
	// chartSpan is the span of the drill-down's charts, loaded with it from a ClusterHistorian.
	chartSpan time.Duration
	// compare, when set, also judges canary against baseline.
	compare          CompareFunc
	baseline, canary string
}

// loadedMsg is the result of one load, tagged with its sequence number.
type loadedMsg struct {
	seq uint64
	gen uint64
	// asked is the instant the load was asked for; at is the one it read at: asked, or a Lagging
	// source's frontier before it.
	asked, at time.Time

	histLoaded bool
	hist       traffic.History
	histErr    error

	pastLoaded bool
	pasts      []traffic.Past
	pastErr    error

	frameLoaded bool
	frame       traffic.Frame
	frameErr    error

	cluster   string
	detail    traffic.Detail
	detailErr error

	chartLoaded bool
	chartSpan   time.Duration
	chart       traffic.History
	chartErr    error

	compared         bool
	baseline, canary string
	result           compare.Result
	compareErr       error
}

// tick arms one tick after d.
func tick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// load returns the Cmd that runs one refresh against src: the frame and, when a cluster is
// named, its drill-down, concurrently and under one timeout.
func load(src Source, req loadRequest) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), req.timeout)
		defer cancel()

		msg := loadedMsg{seq: req.seq, gen: req.gen, asked: req.at, at: req.at, frameLoaded: req.frame, cluster: req.cluster}
		if req.frontier != nil {
			at, err := req.frontier(ctx, req.at)
			if err != nil {
				msg.fail(src, req, err)
				return msg
			}
			msg.at, req.at = at, at
		}
		var wg sync.WaitGroup
		if h, ok := src.(Historian); ok && req.history {
			msg.histLoaded = true
			wg.Go(func() {
				// One step per glyph, the newest at the request's instant.
				msg.hist, msg.histErr = h.History(ctx, req.at, historySpan-historyStep, historyStep)
			})
		}
		if p, ok := src.(PastReader); ok && len(req.past) > 0 {
			msg.pastLoaded = true
			wg.Go(func() {
				msg.pasts, msg.pastErr = p.Past(ctx, req.at, req.past)
			})
		}
		if req.compare != nil {
			msg.compared, msg.baseline, msg.canary = true, req.baseline, req.canary
			wg.Go(func() {
				msg.result, msg.compareErr = req.compare(ctx, req.at, req.baseline, req.canary)
			})
		}
		if h, ok := src.(ClusterHistorian); ok && req.cluster != "" && req.chartSpan > 0 {
			msg.chartLoaded, msg.chartSpan = true, req.chartSpan
			wg.Go(func() {
				c, err := h.ClusterHistory(ctx, req.at, req.chartSpan, req.chartSpan/chartPoints, req.cluster)
				if err != nil {
					msg.chartErr = fmt.Errorf("history of %s: %w", req.cluster, err)
					return
				}
				msg.chart = c
			})
		}
		if req.cluster != "" {
			wg.Go(func() {
				d, err := src.Detail(ctx, req.at, req.cluster)
				if err != nil {
					msg.detailErr = fmt.Errorf("drill-down %s: %w", req.cluster, err)
					return
				}
				msg.detail = d
			})
		}
		if req.frame {
			start := time.Now()
			f, err := src.Frame(ctx, req.at)
			if err != nil {
				msg.frameErr = err
			} else {
				if f.Took == 0 {
					f.Took = time.Since(start)
				}
				msg.frame = f
			}
		}
		wg.Wait()
		return msg
	}
}

// fail fails every part of the load that req asks of src with err, as when each read failed.
func (msg *loadedMsg) fail(src Source, req loadRequest, err error) {
	if _, ok := src.(Historian); ok && req.history {
		msg.histLoaded, msg.histErr = true, err
	}
	if _, ok := src.(PastReader); ok && len(req.past) > 0 {
		msg.pastLoaded, msg.pastErr = true, err
	}
	if req.compare != nil {
		msg.compared, msg.baseline, msg.canary, msg.compareErr = true, req.baseline, req.canary, err
	}
	if _, ok := src.(ClusterHistorian); ok && req.cluster != "" && req.chartSpan > 0 {
		msg.chartLoaded, msg.chartSpan, msg.chartErr = true, req.chartSpan, err
	}
	if req.cluster != "" {
		msg.detailErr = err
	}
	if req.frame {
		msg.frameErr = err
	}
}
