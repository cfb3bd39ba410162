package tui

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/overview"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// TeamsOptions configure the view of every team.
type TeamsOptions struct {
	// Refresh reads a row per team, each within its own bounds.
	Refresh func(ctx context.Context) ([]overview.Row, error)
	// Open reaches a team and builds its dashboard; release frees what the dashboard holds (its
	// tunnel) once it is closed.
	Open func(ctx context.Context, r overview.Row) (m Model, release func(), err error)
	// Interval is the time between refreshes; Timeout bounds one refresh, and one Open.
	Interval, Timeout time.Duration
	// Sort, Reverse and Filter are the order and the selection the view starts with.
	Sort    overview.SortKey
	Reverse bool
	Filter  string
	NoColor bool
	// Title names what the view reads, e.g. "every team stack in context prod".
	Title string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Teams is the platform team's live view of every team stack (top -A): a row per team,
// refreshed every interval, sortable and filterable. Enter opens the selected team's dashboard;
// Esc on that dashboard's table (no filter set) comes back. It implements tea.Model.
type Teams struct {
	opts   TeamsOptions
	styles styles
	keys   keyMap

	width, height int
	clock         time.Time

	all      []overview.Row // as the last refresh answered
	rows     []overview.Row // all, filtered and sorted
	haveRows bool
	at       time.Time     // when the rows on screen were asked for
	took     time.Duration // how long that refresh took
	seq      uint64        // the latest refresh started
	loading  bool
	err      error // the last refresh, or the last open, failed with this

	sort      overview.SortKey
	reverse   bool
	filter    string
	filtering bool
	cursor    int
	offset    int

	// team is the open dashboard and release frees what it holds; gen counts the dashboards
	// opened, so that a message of a closed one is dropped. opening names the team whose
	// dashboard is on its way.
	team    *Model
	release func()
	gen     uint64
	opening string
}

type teamsTickMsg time.Time

type teamsLoadedMsg struct {
	seq  uint64
	at   time.Time
	took time.Duration
	rows []overview.Row
	err  error
}

type teamOpenedMsg struct {
	gen     uint64
	name    string
	model   Model
	release func()
	err     error
}

// teamMsg is a message of the open dashboard, tagged with the dashboard it is for.
type teamMsg struct {
	gen uint64
	msg tea.Msg
}

// NewTeams builds the view; Init starts the first refresh.
func NewTeams(opts TeamsOptions) Teams {
	if opts.Interval <= 0 {
		opts.Interval = defaultInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sort == "" {
		opts.Sort = overview.SortName
	}
	return Teams{opts: opts, styles: newStyles(opts.NoColor), keys: newKeyMap(), clock: opts.Now(),
		sort: opts.Sort, reverse: opts.Reverse, filter: opts.Filter, seq: 1, loading: true}
}

// Init starts the first refresh and the clock. The refresh is number 1, which New counts as
// started.
func (m Teams) Init() tea.Cmd {
	return tea.Batch(m.refresh(1), teamsTick(m.opts.Interval))
}

// startRefresh starts the next refresh.
func (m *Teams) startRefresh() tea.Cmd {
	m.seq++
	m.loading = true
	return m.refresh(m.seq)
}

func teamsTick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return teamsTickMsg(t) })
}

// refresh is the Cmd of refresh number seq.
func (m Teams) refresh(seq uint64) tea.Cmd {
	refresh, timeout, now := m.opts.Refresh, m.opts.Timeout, m.opts.Now
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := now()
		rows, err := refresh(ctx)
		return teamsLoadedMsg{seq: seq, at: start, took: now().Sub(start), rows: rows, err: err}
	}
}

// Update handles one message: the view's own, and those of the open dashboard, which gets every
// key but the Esc that closes it.
func (m Teams) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.fixOffset()
		if m.team != nil {
			return m.toTeam(msg)
		}
		return m, nil
	case teamsTickMsg:
		// While a team's dashboard is open, the others are not read: it refreshes on its own,
		// and the list is read again when it closes.
		m.clock = m.opts.Now()
		cmds := []tea.Cmd{teamsTick(m.opts.Interval)}
		if !m.loading && m.team == nil {
			cmds = append(cmds, m.startRefresh())
		}
		return m, tea.Batch(cmds...)
	case teamsLoadedMsg:
		m.clock = m.opts.Now()
		if msg.seq != m.seq {
			return m, nil
		}
		m.loading = false
		if msg.err != nil {
			m.err = msg.err
			return m, nil
		}
		m.err = nil
		m.all, m.at, m.took, m.haveRows = msg.rows, msg.at, msg.took, true
		m.rebuild()
		return m, nil
	case teamOpenedMsg:
		return m.opened(msg)
	case teamMsg:
		if m.team == nil || msg.gen != m.gen {
			return m, nil // a message of a dashboard since closed
		}
		return m.toTeam(msg.msg)
	case tea.KeyPressMsg:
		if m.team != nil {
			if key.Matches(msg, m.keys.Back) && m.team.mode == modeTable && m.team.table.filter == "" {
				m = m.closeTeam()
				if m.loading {
					return m, nil
				}
				return m, m.startRefresh()
			}
			return m.toTeam(msg)
		}
		return m.key(msg)
	case tea.PasteMsg:
		if m.team != nil {
			return m.toTeam(msg)
		}
		if m.filtering {
			m.filter += oneLine(msg.Content)
			m.rebuild()
		}
		return m, nil
	}
	if m.team != nil {
		return m.toTeam(msg)
	}
	return m, nil
}

// toTeam hands msg to the open dashboard; what it asks for comes back as its teamMsgs.
func (m Teams) toTeam(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.team.Update(msg)
	team, ok := next.(Model)
	if !ok {
		return m, nil
	}
	m.team = &team
	return m, forTeam(m.gen, cmd)
}

// forTeam tags the messages cmd yields as the dashboard gen's; quitting quits the program.
func forTeam(gen uint64, cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		switch msg := cmd().(type) {
		case nil:
			return nil
		case tea.BatchMsg:
			out := make(tea.BatchMsg, 0, len(msg))
			for _, c := range msg {
				out = append(out, forTeam(gen, c))
			}
			return out
		case tea.QuitMsg, tea.InterruptMsg:
			return msg
		default:
			return teamMsg{gen: gen, msg: msg}
		}
	}
}

// open starts opening the selected team's dashboard.
func (m Teams) open() (tea.Model, tea.Cmd) {
	if m.cursor >= len(m.rows) || m.opening != "" {
		return m, nil
	}
	r := m.rows[m.cursor]
	if !r.Reached() {
		m.err = fmt.Errorf("team %s/%s was not reached: %s", r.Namespace, r.Team, r.Reason)
		return m, nil
	}
	m.gen++
	m.opening = r.Namespace + "/" + r.Team
	gen, openFn, timeout, name := m.gen, m.opts.Open, m.opts.Timeout, m.opening
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		model, release, err := openFn(ctx, r)
		return teamOpenedMsg{gen: gen, name: name, model: model, release: release, err: err}
	}
}

// opened shows the dashboard that was opened, unless another was asked for since.
func (m Teams) opened(msg teamOpenedMsg) (tea.Model, tea.Cmd) {
	if msg.gen != m.gen || m.opening == "" {
		if msg.release != nil {
			msg.release()
		}
		return m, nil
	}
	m.opening = ""
	if msg.err != nil {
		m.err = fmt.Errorf("opening %s: %w", msg.name, msg.err)
		return m, nil
	}
	m.err = nil
	team := msg.model
	m.team, m.release = &team, msg.release
	start := forTeam(m.gen, m.team.Init())
	if m.width > 0 {
		next, cmd := m.toTeam(tea.WindowSizeMsg{Width: m.width, Height: m.height})
		return next, tea.Batch(start, cmd)
	}
	return m, start
}

// closeTeam closes the open dashboard and frees what it holds.
func (m Teams) closeTeam() Teams {
	if m.release != nil {
		m.release()
	}
	m.team, m.release = nil, nil
	m.gen++ // what the closed dashboard still sends is dropped
	return m
}

// key handles a key on the list of teams.
func (m Teams) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	if key.Matches(msg, k.Interrupt) {
		return m, tea.Interrupt
	}
	if m.filtering {
		switch {
		case key.Matches(msg, k.Apply):
			m.filtering = false
		case key.Matches(msg, k.Clear):
			m.filtering, m.filter = false, ""
		case key.Matches(msg, k.EraseAll):
			m.filter = ""
		case key.Matches(msg, k.Erase):
			if r := []rune(m.filter); len(r) > 0 {
				m.filter = string(r[:len(r)-1])
			}
		default:
			if t := msg.Text; t != "" {
				m.filter += oneLine(t)
			}
		}
		m.rebuild()
		return m, nil
	}
	page := max(m.bodyRows()-1, 1)
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Up):
		m.moveTo(m.cursor - 1)
	case key.Matches(msg, k.Down):
		m.moveTo(m.cursor + 1)
	case key.Matches(msg, k.PageUp):
		m.moveTo(m.cursor - page)
	case key.Matches(msg, k.PageDown):
		m.moveTo(m.cursor + page)
	case key.Matches(msg, k.Top):
		m.moveTo(0)
	case key.Matches(msg, k.Bottom):
		m.moveTo(len(m.rows) - 1)
	case key.Matches(msg, k.Open):
		return m.open()
	case key.Matches(msg, k.Back):
		if m.opening != "" {
			m.opening = "" // the dashboard on its way is released when it arrives
			return m, nil
		}
		m.filter = ""
		m.rebuild()
	case key.Matches(msg, k.Filter):
		m.filtering = true
	case key.Matches(msg, k.Reverse):
		m.reverse = !m.reverse
		m.rebuild()
	case key.Matches(msg, k.SortBy):
		if i := int(msg.String()[0] - '1'); i >= 0 && i < len(overview.SortKeys) {
			if s := overview.SortKeys[i]; s == m.sort {
				m.reverse = !m.reverse
			} else {
				m.sort, m.reverse = s, false
			}
			m.rebuild()
		}
	}
	return m, nil
}

// rebuild filters and sorts the rows, and keeps the selection on the same team.
func (m *Teams) rebuild() {
	selected := ""
	if m.cursor < len(m.rows) {
		selected = m.rows[m.cursor].Namespace + "/" + m.rows[m.cursor].Team
	}
	m.rows = overview.Filter(append([]overview.Row(nil), m.all...), m.filter)
	overview.Sort(m.rows, m.sort, m.reverse)
	m.cursor = 0
	for i, r := range m.rows {
		if r.Namespace+"/"+r.Team == selected {
			m.cursor = i
		}
	}
	m.fixOffset()
}

func (m *Teams) moveTo(i int) {
	m.cursor = max(min(i, len(m.rows)-1), 0)
	m.fixOffset()
}

// bodyRows is how many teams fit: the screen less the title, the status line, the column heads
// and the keys line.
func (m *Teams) bodyRows() int { return max(m.height-4, 1) }

func (m *Teams) fixOffset() {
	h := m.bodyRows()
	switch {
	case m.cursor < m.offset:
		m.offset = m.cursor
	case m.cursor >= m.offset+h:
		m.offset = m.cursor - h + 1
	}
	m.offset = max(min(m.offset, len(m.rows)-h), 0)
}

// View draws the view, or the open dashboard.
func (m Teams) View() tea.View {
	if m.team != nil {
		return m.team.View()
	}
	v := tea.NewView(m.render())
	v.AltScreen = true
	return v
}

// render draws the list of teams: title, status line, the table overview.RenderTable prints
// (the selected team in reverse video), and the keys.
func (m Teams) render() string {
	w := m.width
	if w <= 0 {
		w = 80
	}
	var lines []string
	title := "every team"
	if m.opts.Title != "" {
		title = termtext.Sanitize(m.opts.Title)
	}
	head := fmt.Sprintf("kubectl promteam top -A · %s · %d teams · sorted by %s", title, len(m.rows), m.sort)
	if m.reverse {
		head += " (reversed)"
	}
	lines = append(lines, clipLine(m.styles.title.Render(fit(head, w)), w))

	var status string
	switch {
	case m.opening != "":
		status = "opening " + termtext.Sanitize(m.opening) + "…  (esc: stay here)"
	case m.err != nil:
		status = m.styles.err.Render(fit("refresh failed: "+termtext.Sanitize(oneLine(m.err.Error())), w))
	case !m.haveRows:
		status = "reaching every team…"
	default:
		status = m.styles.muted.Render(fmt.Sprintf("read %s ago in %s", fmtAge(m.clock.Sub(m.at)), fmtTook(m.took)))
	}
	lines = append(lines, clipLine(status, w))

	var table bytes.Buffer
	_ = overview.RenderTable(&table, m.rows, false)
	tableLines := strings.Split(strings.TrimRight(table.String(), "\n"), "\n")
	lines = append(lines, clipLine(m.styles.colHead.Render(fit(tableLines[0], w)), w))
	body := tableLines[1:]
	h := m.bodyRows()
	for i := m.offset; i < len(body) && i < m.offset+h; i++ {
		line := fit(body[i], w)
		if i == m.cursor {
			line = m.styles.cell[rowSelected][levelOK].Render(padRight(line, w))
		} else if !m.rows[i].Reached() {
			line = m.styles.muted.Render(line)
		}
		lines = append(lines, line)
	}
	if m.haveRows && len(body) == 0 {
		lines = append(lines, m.styles.muted.Render("no team stacks to show"))
	}
	for len(lines) < m.height-1 {
		lines = append(lines, "")
	}
	foot := "↑↓ move · enter open the team (esc comes back) · 1-6 sort · r reverse · / filter · q quit"
	if m.filtering {
		foot = "/" + termtext.Sanitize(m.filter) + "▏  (enter keep · esc clear)"
	} else if m.filter != "" {
		foot = "filter " + termtext.Sanitize(m.filter) + " · " + foot
	}
	lines = append(lines, clipLine(m.styles.muted.Render(fit(foot, w)), w))
	return strings.Join(lines, "\n")
}
