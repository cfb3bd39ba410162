// Package tui is the live terminal dashboard of `kubectl promteam top`, built on Bubble Tea. It
// shows one row per upstream Envoy cluster (rate, success, latency quantiles, requests in
// flight, sparklines of recent rate and p99), refreshes on a timer, survives a Prometheus that
// is down or slow by keeping the last good frame and backing off, and drills down into one
// cluster on Enter.
//
// The model follows the Elm architecture: Update is a pure, fast state transition; all IO runs
// in Cmds that capture values, never the model; results carry a sequence number so an older
// result never replaces newer data on screen. The package sees Prometheus only through Source.
package tui

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Source is where frames come from (the collector implements it; tests use a fake).
type Source interface {
	Frame(ctx context.Context, at time.Time) (traffic.Frame, error)
	Detail(ctx context.Context, at time.Time, cluster string) (traffic.Detail, error)
}

// Historian is a Source that also reads the recent past from Prometheus (traffic.Collector and
// traffic.Auto do): the sparklines are back-filled from it when the dashboard starts and when
// the window changes. Without it they fill from the refreshes.
type Historian interface {
	History(ctx context.Context, at time.Time, span, step time.Duration) (traffic.History, error)
}

// ClusterHistorian is a Source that also reads one cluster's recent past (traffic.Collector and
// traffic.Auto do), for the drill-down's charts.
type ClusterHistorian interface {
	ClusterHistory(ctx context.Context, at time.Time, span, step time.Duration, cluster string) (traffic.History, error)
}

// Frontier is the instant to read a store at when the clock says at (Options.Frontier).
type Frontier func(ctx context.Context, at time.Time) (time.Time, error)

// Options configure the dashboard. The zero value of every field has a usable default.
type Options struct {
	Target string // shown in the header, e.g. the Prometheus URL or "demo"
	// Frontier, when set, is the instant to read at when the clock says at: a store that holds
	// its newest samples late, such as one fed by remote write, names how far they reach
	// (traffic.Frontier). Each load asks it first and reads everything at its answer; the header
	// says how far behind the clock that is.
	Frontier Frontier
	// Backend is what answers (traffic.BackendPrometheus or traffic.BackendThanosQuery); a
	// Thanos Query is named in the header before Target.
	Backend  string
	Interval time.Duration // refresh interval (default 2s)
	Timeout  time.Duration // per refresh (default: max(Interval, 5s))
	// MinRPS is the request rate from which colour thresholds apply; slower rows are dimmed.
	// Zero means the default, 1; a negative value colours every row.
	MinRPS  float64
	NoColor bool             // NO_COLOR or a dumb terminal: no colour at all (bold/reverse ok)
	Now     func() time.Time // for tests; default time.Now
	Filter  string           // initial filter
	// Compare judges a canary against a baseline (two cluster names); when set, two rows marked
	// with m open a live comparison with c.
	Compare CompareFunc
	// Window is the rate window the Source reads; SetWindow, when set, returns a Source over
	// another window, and the w key cycles through Windows with it without a restart.
	Window    time.Duration
	SetWindow func(window time.Duration) (Source, error)
	// RulesWindow is the recording rules' window when the Source may read them: on another
	// window the header says the rows come from Envoy's own series.
	RulesWindow time.Duration
	// Offsets are the pasts the v key compares each row with, when the Source is a PastReader:
	// the first three of them; default traffic.Offsets (1h, 1d, 1w).
	Offsets []time.Duration
	// GroupBy is what the Source's rows stand for; SetGroupBy, when set, returns a Source
	// grouping its rows the other way, and the b key switches between a row per cluster and a
	// row per route with it without a restart.
	GroupBy    traffic.GroupBy
	SetGroupBy func(group traffic.GroupBy) (Source, error)
	// Switcher, when set, lets T, N and X switch to another team, namespace or context; Place is
	// where the dashboard reads from, shown in the header. Without a Switcher those keys say
	// NoSwitch (or that switching needs a team in a cluster).
	Switcher Switcher
	Place    Place
	NoSwitch string
}

// Windows are the rate windows the w key cycles through.
var Windows = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}

// nextWindow is the window after w in Windows: the first longer one, else the first.
func nextWindow(w time.Duration) time.Duration {
	for _, c := range Windows {
		if c > w {
			return c
		}
	}
	return Windows[0]
}

// Defaults.
const (
	defaultInterval = 2 * time.Second
	minTimeout      = 5 * time.Second
	defaultMinRPS   = 1.0
	// maxBackoff caps the delay between attempts while Prometheus fails.
	maxBackoff = 30 * time.Second
	// historyRetry is the delay before a failed back-fill is asked again.
	historyRetry = 30 * time.Second
)

// Default terminal size until the first tea.WindowSizeMsg.
const (
	defaultWidth  = 80
	defaultHeight = 24
)

var _ tea.Model = Model{}

// mode is what the dashboard shows and which keys do what. The screens exclude one another, so
// one value holds them: a filter being typed in a drill-down, or a comparison and a drill-down
// open at once, cannot be represented.
type mode int

const (
	modeTable   mode = iota // the table of clusters
	modeFilter              // the table, with the filter input open
	modeDetail              // the drill-down into detail.name
	modeCompare             // the live comparison of the two marks
	modeHelp                // the help overlay, over the screen in behindHelp
	modePicker              // the team, namespace or context picker, over picker.behind
)

// screen is the screen the data loads are for: the one behind the help while it is shown.
func (m *Model) screen() mode {
	switch m.mode {
	case modeHelp:
		return m.behindHelp
	case modePicker:
		return m.picker.behind
	}
	return m.mode
}

// Model is the dashboard. It implements tea.Model.
type Model struct {
	src    Source
	opts   Options
	keys   keyMap
	styles styles

	mode       mode
	behindHelp mode // the screen the help covers and Esc returns to; only read in modeHelp
	helpScroll int  // the first help line on screen, when the help is taller than the body

	width, height int
	clock         time.Time // the time of the latest message, what ages are measured against

	// The frame on screen and what is derived from it whenever it changes.
	frame     traffic.Frame
	haveFrame bool
	lastGood  time.Time // when the frame on screen was asked for
	// behind is how long before lastGood the frame on screen was read at: a Lagging source's lag.
	behind time.Duration
	hist   history
	// The back-fill of hist: histHave once one arrived for the window in force; histErr when
	// the last one failed, asked again from histNext on; histSeq is the load carrying one, 0
	// when none is in flight.
	histHave bool
	histErr  error
	histNext time.Time
	histSeq  uint64
	// gen counts the window changes; a load for an earlier window is not drawn.
	gen       uint64
	window    time.Duration
	groupBy   traffic.GroupBy
	names     []string // the name per frame row, as it is printed (termtext.Sanitize)
	svc       []string // serviceLabel per frame row, as it is printed
	keysLower []string // searchKey per frame row
	maxName   int
	maxSvc    int

	// The state of each screen; which one is shown is mode's.
	table      tableView
	detail     detailView
	comparison comparisonView
	vs         vsView
	picker     pickerView
	switching  switchState

	paused bool // no timed refresh; orthogonal to the mode: any screen can be paused

	// Refresh state.
	seq      uint64 // sequence number of the latest load started
	shown    uint64 // sequence number of the latest result applied
	loading  bool   // a load is in flight
	err      error  // the last refresh failed with this
	backoff  time.Duration
	nextLoad time.Time // no load starts before this while backing off
}

// New builds the dashboard. The first load is accounted for here and started by Init.
func New(src Source, opts Options) Model {
	if opts.Interval <= 0 {
		opts.Interval = defaultInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = max(opts.Interval, minTimeout)
	}
	switch {
	case opts.MinRPS == 0:
		opts.MinRPS = defaultMinRPS
	case opts.MinRPS < 0:
		opts.MinRPS = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := Model{
		src:     src,
		opts:    opts,
		keys:    newKeyMap(),
		styles:  newStyles(opts.NoColor),
		width:   defaultWidth,
		height:  defaultHeight,
		clock:   opts.Now(),
		table:   tableView{sort: sortBy(colRPS), filter: opts.Filter},
		seq:     1,
		window:  opts.Window,
		groupBy: opts.GroupBy,
	}
	if _, ok := src.(Historian); ok {
		m.histSeq = 1 // Init's load carries the first back-fill
	}
	m.loading = true
	return m
}

// Init loads the first frame and starts the refresh clock.
func (m Model) Init() tea.Cmd {
	req := m.request(true)
	req.history = m.histSeq == m.seq
	return tea.Batch(load(m.src, req), tick(m.opts.Interval))
}

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.fixOffset()
		m.redrawDetail()
		m.detail.scroll = m.clampDetailScroll(m.detail.scroll)
		m.fixPickerOffset()
		return m, nil
	case tickMsg:
		m.clock = m.opts.Now()
		cmds := []tea.Cmd{tick(m.opts.Interval)}
		if m.canLoad() {
			cmds = append(cmds, m.startLoad(true))
		}
		return m, tea.Batch(cmds...)
	case loadedMsg:
		return m.loaded(msg)
	case choicesMsg:
		return m.choicesLoaded(msg)
	case switchedMsg:
		return m.switched(msg)
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.PasteMsg:
		if m.mode == modeFilter {
			m.table.input += oneLine(msg.Content)
			m.rebuild()
		}
		return m, nil
	}
	return m, nil
}

// canLoad reports whether a timed refresh may start now.
func (m *Model) canLoad() bool {
	return !m.paused && !m.loading && !m.clock.Before(m.nextLoad)
}

// startLoad starts one load: the frame when withFrame, plus the drill-down when it is open.
func (m *Model) startLoad(withFrame bool) tea.Cmd {
	m.seq++
	m.loading = true
	return load(m.src, m.request(withFrame))
}

// request is the load of what is on screen: the frame when withFrame (never in compare --watch,
// which has no table), the open drill-down and the open comparison.
func (m *Model) request(withFrame bool) loadRequest {
	req := loadRequest{seq: m.seq, gen: m.gen, at: m.clock, frontier: m.opts.Frontier, timeout: m.opts.Timeout, frame: withFrame && !m.comparison.only}
	if _, ok := m.src.(Historian); ok && req.frame && !m.histHave && m.histSeq == 0 && !m.clock.Before(m.histNext) {
		req.history, m.histSeq = true, m.seq
	}
	if _, ok := m.src.(PastReader); ok && m.vs.on && req.frame && m.vs.due(m.clock) {
		req.past = m.offsets()
	}
	if m.screen() == modeDetail {
		req.cluster, req.chartSpan = m.detail.name, m.detail.chartSpan()
	}
	if m.screen() == modeCompare && len(m.comparison.marks) == 2 {
		req.compare = m.opts.Compare
		req.baseline, req.canary = m.comparison.marks[0], m.comparison.marks[1]
	}
	return req
}

// loaded applies a load result unless it is older than what is on screen.
func (m Model) loaded(msg loadedMsg) (tea.Model, tea.Cmd) {
	m.clock = m.opts.Now()
	if msg.seq == m.seq {
		m.loading = false
	}
	if msg.seq == m.histSeq {
		m.histSeq = 0
	}
	if msg.seq <= m.shown {
		return m, nil // stale: never drawn over newer data
	}
	m.shown = msg.seq
	current := msg.gen == m.gen // not for a window since changed
	if msg.frameLoaded && current {
		if msg.frameErr != nil {
			m.failed(msg.frameErr)
		} else {
			m.succeeded()
			m.applyFrame(msg.frame, msg.at)
			m.lastGood, m.behind = msg.asked, msg.asked.Sub(msg.at)
		}
	}
	if msg.pastLoaded && current {
		if msg.pastErr != nil {
			m.vs.err = msg.pastErr
		} else {
			m.vs.pasts, m.vs.at, m.vs.have, m.vs.err = msg.pasts, msg.at, true, nil
		}
		m.vs.recompare(m.frame.Rows)
		m.rebuild()
	}
	if msg.histLoaded && current {
		if msg.histErr != nil {
			m.histErr, m.histNext = msg.histErr, m.clock.Add(historyRetry)
		} else {
			m.hist, m.histHave, m.histErr = m.hist.backfill(msg.hist), true, nil
		}
	}
	if msg.compared && m.screen() == modeCompare && len(m.comparison.marks) == 2 && msg.baseline == m.comparison.marks[0] && msg.canary == m.comparison.marks[1] {
		if msg.compareErr != nil {
			m.comparison.err = msg.compareErr
			if m.comparison.only {
				m.failed(msg.compareErr)
			}
		} else {
			m.comparison.result, m.comparison.have, m.comparison.err = compareResult{msg.result}, true, nil
			if m.comparison.only {
				m.succeeded()
				m.lastGood, m.behind = msg.asked, msg.asked.Sub(msg.at)
			}
		}
	}
	if msg.cluster != "" && current && m.screen() == modeDetail && msg.cluster == m.detail.name {
		if msg.detailErr != nil {
			m.detail.err = msg.detailErr
		} else {
			m.detail.data, m.detail.have, m.detail.err = msg.detail, true, nil
		}
		if msg.chartLoaded && msg.chartSpan == m.detail.chartSpan() {
			if msg.chartErr != nil {
				m.detail.chartErr = msg.chartErr
			} else {
				m.detail.chart, m.detail.chartHave, m.detail.chartErr = msg.chart, true, nil
			}
		}
	}
	m.redrawDetail()
	m.redrawComparison()
	return m, m.loadMissingDetail()
}

// succeeded records a successful refresh: the error is gone and the backoff starts over.
func (m *Model) succeeded() {
	m.err, m.backoff, m.nextLoad = nil, 0, time.Time{}
}

// failed records a failed refresh and backs off: the delay doubles from twice the interval up
// to maxBackoff (or the interval, when that is longer).
func (m *Model) failed(err error) {
	m.err = err
	m.backoff = min(max(2*m.backoff, 2*m.opts.Interval), max(maxBackoff, m.opts.Interval))
	m.nextLoad = m.clock.Add(m.backoff)
}

// loadMissingDetail starts a drill-down-only load when the drill-down is open for a cluster
// whose detail has not arrived (it was opened while another load was in flight). A failed
// drill-down is not retried here but on the next tick.
func (m *Model) loadMissingDetail() tea.Cmd {
	_, charts := m.src.(ClusterHistorian)
	missing := (!m.detail.have && m.detail.err == nil) || (charts && !m.detail.chartHave && m.detail.chartErr == nil)
	if m.screen() != modeDetail || !missing || m.loading {
		return nil
	}
	return m.startLoad(false)
}

// applyFrame puts a new frame on screen and rebuilds what derives from it.
func (m *Model) applyFrame(f traffic.Frame, at time.Time) {
	m.frame, m.haveFrame, m.lastGood = f, true, at
	m.hist = m.hist.next(f.Rows, at)
	m.names = make([]string, len(f.Rows))
	m.svc = make([]string, len(f.Rows))
	m.keysLower = make([]string, len(f.Rows))
	m.maxName, m.maxSvc = 0, 0
	for i, r := range f.Rows {
		m.names[i] = termtext.Sanitize(r.Label())
		m.svc[i] = termtext.Sanitize(serviceLabel(r))
		m.keysLower[i] = traffic.SearchKey(&f.Rows[i])
		m.maxName = max(m.maxName, plainWidth(m.names[i]))
		m.maxSvc = max(m.maxSvc, plainWidth(m.svc[i]))
	}
	m.vs.recompare(f.Rows)
	m.rebuild()
}

// rebuild recomputes the table's order from the frame and the filter in force: by the sort
// column, or in the vs view by the biggest move until a sort key is pressed.
func (m *Model) rebuild() {
	var reorder func(order []int)
	if m.byChange() {
		reorder = func(order []int) { m.vs.orderByChange(order, m.frame.Rows) }
	}
	m.table.rebuild(m.frame.Rows, m.keysLower, m.activeFilter(), m.tableHeight(), reorder)
}

// moveTo moves the table's selection to position i of the order, clamped.
func (m *Model) moveTo(i int) { m.table.moveTo(i, m.frame.Rows, m.tableHeight()) }

// fixOffset scrolls the table so the selection is on screen.
func (m *Model) fixOffset() { m.table.fixOffset(m.tableHeight()) }

// Fixed layout: header lines above the table, the column titles, the status line below.
const (
	headerLines = 3
	chromeLines = headerLines + 2
)

// bodyHeight is the number of lines between the header and the status line.
func (m *Model) bodyHeight() int { return max(m.height-headerLines-1, 1) }

// tableHeight is the number of table rows on screen.
func (m *Model) tableHeight() int { return max(m.height-chromeLines, 1) }

// key handles a key press.
func (m Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if key.Matches(msg, m.keys.Interrupt) {
		return m, tea.Interrupt
	}
	switch m.mode {
	case modeFilter:
		return m.filterKey(msg)
	case modePicker:
		return m.pickerKey(msg)
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		if m.mode == modeHelp {
			m.mode = m.behindHelp
		} else {
			m.mode, m.behindHelp, m.helpScroll = modeHelp, m.mode, 0
		}
		return m, nil
	case m.mode == modeHelp:
		switch {
		case key.Matches(msg, k.Back):
			m.mode = m.behindHelp
		case key.Matches(msg, k.Up):
			m.helpScroll = m.clampHelpScroll(m.helpScroll - 1)
		case key.Matches(msg, k.Down):
			m.helpScroll = m.clampHelpScroll(m.helpScroll + 1)
		}
		return m, nil
	case key.Matches(msg, k.SwitchTeam) && !m.comparison.only:
		return m.openPicker(KindTeam, Place{Context: m.opts.Place.Context})
	case key.Matches(msg, k.SwitchNamespace) && !m.comparison.only:
		return m.openPicker(KindNamespace, Place{Context: m.opts.Place.Context})
	case key.Matches(msg, k.SwitchContext) && !m.comparison.only:
		return m.openPicker(KindContext, Place{})
	case key.Matches(msg, k.Window) && m.opts.SetWindow != nil && !m.comparison.only:
		return m.changeWindow(nextWindow(m.window))
	case key.Matches(msg, k.Group) && m.opts.SetGroupBy != nil && m.mode == modeTable:
		return m.changeGroup(nextGroup(m.groupBy))
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		if m.canLoad() {
			return m, m.startLoad(true)
		}
		return m, nil
	case m.mode == modeCompare:
		return m.compareKey(msg)
	case m.mode == modeDetail:
		return m.detailKey(msg)
	}
	return m.tableKey(msg)
}

// changeWindow rebuilds the source over window w and loads at once: a frame and a new back-fill
// of the history, which starts over since its numbers were over the last window. Results still
// on their way for the last window are not drawn.
func (m Model) changeWindow(w time.Duration) (tea.Model, tea.Cmd) {
	src, err := m.opts.SetWindow(w)
	if err != nil {
		m.err = fmt.Errorf("window %s: %w", fmtWindow(w), err)
		return m, nil
	}
	m.src, m.window = src, w
	return m.restart()
}

// nextGroup is the grouping the b key switches to from g: cluster, route, virtual host, and
// round again.
func nextGroup(g traffic.GroupBy) traffic.GroupBy {
	switch g {
	case traffic.GroupByRoute:
		return traffic.GroupByVhost
	case traffic.GroupByVhost:
		return traffic.GroupByCluster
	}
	return traffic.GroupByRoute
}

// changeGroup rebuilds the source with its rows grouped by g and loads at once, as changeWindow
// does: the rows have other names, so their history starts over.
func (m Model) changeGroup(g traffic.GroupBy) (tea.Model, tea.Cmd) {
	src, err := m.opts.SetGroupBy(g)
	if err != nil {
		m.err = fmt.Errorf("rows by %s: %w", g, err)
		return m, nil
	}
	m.src, m.groupBy = src, g
	// The marks name rows of the other grouping.
	m.comparison.marks, m.comparison.have = nil, false
	return m.restart()
}

// restart loads a frame and a new back-fill from a source just swapped in. Results still on
// their way from the last one are not drawn.
func (m Model) restart() (tea.Model, tea.Cmd) {
	m.gen++
	m.hist = history{}
	m.histHave, m.histErr, m.histNext, m.histSeq = false, nil, time.Time{}, 0
	m.vs.pasts, m.vs.have, m.vs.err, m.vs.changes, m.vs.scores = nil, false, nil, nil, nil
	m.detail.have, m.detail.err, m.detail.chartHave, m.detail.chartErr = false, nil, false, nil
	m.backoff, m.nextLoad = 0, time.Time{}
	m.redrawDetail()
	return m, m.startLoad(true)
}
