package tui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Kind is what a picker chooses: a team, a namespace or a kubeconfig context.
type Kind int

const (
	KindTeam Kind = iota
	KindNamespace
	KindContext
)

func (k Kind) String() string {
	switch k {
	case KindNamespace:
		return "namespace"
	case KindContext:
		return "context"
	}
	return "team"
}

// Place is where the dashboard reads from: a team's Prometheus in a namespace of the cluster a
// kubeconfig context names. An empty Namespace means the context's own (for teams: every
// namespace the user may list); an empty Team means the place is not a team yet.
type Place struct {
	Context, Namespace, Team string
}

// String is the place as the header shows it: context/namespace/team, the parts it has.
func (p Place) String() string {
	var parts []string
	for _, s := range []string{p.Context, p.Namespace, p.Team} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}

// Choice is one entry of a picker.
type Choice struct {
	// Place is what picking the entry means. Without a Team (a namespace, a context), the team
	// picker opens next, listing the teams there.
	Place Place
	// Label is the entry as listed and filtered; Note is shown after it (a stack's status, the
	// context's cluster).
	Label, Note string
	// Current marks the place the dashboard reads from.
	Current bool
}

// Switched is what the dashboard reads from after a switch: the team's Source and what Options
// say about it.
type Switched struct {
	Source  Source
	Place   Place
	Target  string
	Backend string
	// Frontier is Options.Frontier of the new place: nil for a Prometheus or Thanos Query that
	// reads its own scrapes.
	Frontier  Frontier
	Compare   CompareFunc
	SetWindow func(window time.Duration) (Source, error)
	// SetGroupBy rebuilds the Source with its rows grouped another way (Options.SetGroupBy).
	SetGroupBy func(group traffic.GroupBy) (Source, error)
	// Retire releases what the previous place held (its port-forward); the dashboard calls it once
	// the new Source is in place, so no refresh of the new place reads through a closed one.
	Retire func()
}

// Switcher lists the places the dashboard can switch to and connects to one. The dashboard
// owns this interface; top implements it over the kubeconfig and the cluster.
type Switcher interface {
	// Choices lists the entries of a picker of kind, in place in (its Context and Namespace).
	Choices(ctx context.Context, kind Kind, in Place) ([]Choice, error)
	// Switch connects to the team at to, reading over window with its rows grouped by group;
	// on an error nothing changed.
	Switch(ctx context.Context, to Place, window time.Duration, group traffic.GroupBy) (Switched, error)
}

// switchGrace is what a switch may take beyond the refresh timeout: finding the team's pod,
// opening the tunnel, and a demo's simulated history.
const switchGrace = 10 * time.Second

// pickerView is the state of the picker.
type pickerView struct {
	kind    Kind
	in      Place
	seq     uint64 // the Choices call the picker waits for
	loading bool
	err     error
	choices []Choice
	labels  []string // the label per choice, as printed
	input   string   // the filter typed
	order   []int    // the choices that match the filter
	cursor  int      // position in order
	offset  int      // first position on screen
	behind  mode     // the screen Esc returns to
}

// choicesMsg carries the entries of a picker.
type choicesMsg struct {
	seq     uint64
	choices []Choice
	err     error
}

// switchedMsg carries the result of a switch.
type switchedMsg struct {
	to  Place
	sw  Switched
	err error
}

// switchState is a switch in flight, or the last one's failure.
type switchState struct {
	seq     uint64 // of the latest picker opened
	pending *Place // the switch in flight: one at a time, no picker opens meanwhile
	err     error  // the last switch failed with this; cleared when a picker opens
}

// errNoSwitcher is what the switch keys say when the dashboard has nowhere to switch to.
var errNoSwitcher = errors.New("switching needs a TEAM in a cluster; this dashboard reads one Prometheus (--prometheus-url)")

// openPicker opens a picker of kind in place in and asks the Switcher for its entries.
func (m Model) openPicker(kind Kind, in Place) (tea.Model, tea.Cmd) {
	if m.opts.Switcher == nil {
		reason := errNoSwitcher
		if m.opts.NoSwitch != "" {
			reason = errors.New(m.opts.NoSwitch)
		}
		m.switching.err = reason
		return m, nil
	}
	if m.switching.pending != nil {
		return m, nil // one switch at a time; the header says where it goes
	}
	behind := m.mode
	if m.mode == modePicker {
		behind = m.picker.behind
	}
	m.switching.seq++
	m.switching.err = nil
	m.picker = pickerView{kind: kind, in: in, seq: m.switching.seq, loading: true, behind: behind}
	m.mode = modePicker
	sw, seq, timeout := m.opts.Switcher, m.switching.seq, m.opts.Timeout
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		c, err := sw.Choices(ctx, kind, in)
		return choicesMsg{seq: seq, choices: c, err: err}
	}
}

// choicesLoaded fills the picker, unless it was closed or another opened since.
func (m Model) choicesLoaded(msg choicesMsg) (tea.Model, tea.Cmd) {
	if m.mode != modePicker || msg.seq != m.picker.seq {
		return m, nil
	}
	p := &m.picker
	p.loading, p.err, p.choices, p.order = false, msg.err, msg.choices, nil
	p.labels = make([]string, len(msg.choices))
	for i, c := range msg.choices {
		p.labels[i] = termtext.Sanitize(c.Label)
	}
	p.cursor = 0
	for i, c := range msg.choices {
		if c.Current {
			p.cursor = i
		}
	}
	m.refilter()
	return m, nil
}

// refilter recomputes the entries that match the typed filter, keeping the one under the
// cursor when it still matches.
func (m *Model) refilter() {
	p := &m.picker
	keep := -1
	if p.cursor >= 0 && p.cursor < len(p.order) {
		keep = p.order[p.cursor]
	} else if p.order == nil && p.cursor < len(p.choices) {
		keep = p.cursor // the first fill: the cursor is an index into choices
	}
	needle := strings.ToLower(p.input)
	p.order = make([]int, 0, len(p.choices))
	p.cursor = 0
	for i, c := range p.choices {
		if needle == "" || strings.Contains(strings.ToLower(c.Label), needle) {
			if i == keep {
				p.cursor = len(p.order)
			}
			p.order = append(p.order, i)
		}
	}
	m.fixPickerOffset()
}

// pickerRows is how many entries fit under the picker's title and input lines.
func (m *Model) pickerRows() int { return max(m.bodyHeight()-2, 1) }

func (m *Model) fixPickerOffset() {
	p := &m.picker
	p.cursor = min(max(p.cursor, 0), max(len(p.order)-1, 0))
	h := m.pickerRows()
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if p.cursor >= p.offset+h {
		p.offset = p.cursor - h + 1
	}
	p.offset = min(max(p.offset, 0), max(len(p.order)-h, 0))
}

// pickerKey handles a key in the picker: typing filters, the arrows move, Enter picks, Esc
// cancels.
func (m Model) pickerKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	p := &m.picker
	switch {
	case key.Matches(msg, k.Clear):
		m.mode = p.behind
		return m, nil
	case key.Matches(msg, k.Apply):
		if p.cursor < 0 || p.cursor >= len(p.order) {
			return m, nil
		}
		return m.pick(p.choices[p.order[p.cursor]])
	case msg.String() == "up":
		p.cursor--
	case msg.String() == "down":
		p.cursor++
	case key.Matches(msg, k.PageUp):
		p.cursor -= m.pickerRows()
	case key.Matches(msg, k.PageDown):
		p.cursor += m.pickerRows()
	case key.Matches(msg, k.Erase):
		if r := []rune(p.input); len(r) > 0 {
			p.input = string(r[:len(r)-1])
		}
		m.refilter()
	case key.Matches(msg, k.EraseAll):
		p.input = ""
		m.refilter()
	default:
		if msg.Text != "" {
			p.input += msg.Text
			m.refilter()
		}
	}
	m.fixPickerOffset()
	return m, nil
}

// pick acts on the chosen entry: a namespace or a context opens the team picker there; a team
// starts the switch, and the dashboard goes on showing the current team until it succeeds.
func (m Model) pick(c Choice) (tea.Model, tea.Cmd) {
	if c.Place.Team == "" {
		return m.openPicker(KindTeam, c.Place)
	}
	m.mode = m.picker.behind
	if m.mode == modePicker {
		m.mode = modeTable
	}
	to := c.Place
	m.switching.pending, m.switching.err = &to, nil
	sw, timeout, window, group := m.opts.Switcher, m.opts.Timeout+switchGrace, m.window, m.groupBy
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		s, err := sw.Switch(ctx, to, window, group)
		return switchedMsg{to: to, sw: s, err: err}
	}
}

// switched applies a switch: on failure the current team stays and the header says why; on
// success the dashboard starts over on the new team, keeping its sort, filter and window.
func (m Model) switched(msg switchedMsg) (tea.Model, tea.Cmd) {
	m.switching.pending = nil
	if msg.err != nil {
		m.switching.err = fmt.Errorf("switch to %s: %w", msg.to, msg.err)
		return m, nil
	}
	sw := msg.sw
	m.src = sw.Source
	m.opts.Place, m.opts.Target, m.opts.Backend, m.opts.Frontier = sw.Place, sw.Target, sw.Backend, sw.Frontier
	m.opts.Compare, m.opts.SetWindow, m.opts.SetGroupBy = sw.Compare, sw.SetWindow, sw.SetGroupBy
	m.gen++
	// Nothing of the last team stays on screen: its frame, trends, drill-down and marks go.
	m.frame, m.haveFrame, m.lastGood, m.behind = traffic.Frame{}, false, time.Time{}, 0
	m.names, m.svc, m.keysLower, m.maxName, m.maxSvc = nil, nil, nil, 0, 0
	m.hist = history{}
	m.histHave, m.histErr, m.histNext, m.histSeq = false, nil, time.Time{}, 0
	m.vs.pasts, m.vs.have, m.vs.err, m.vs.changes, m.vs.scores = nil, false, nil, nil, nil
	m.detail = detailView{}
	m.comparison = comparisonView{}
	m.table.cursor, m.table.offset = 0, 0
	m.rebuild()
	m.err, m.backoff, m.nextLoad = nil, 0, time.Time{}
	switch m.mode {
	case modeDetail, modeCompare:
		m.mode = modeTable
	case modeHelp:
		m.behindHelp = modeTable
	case modePicker:
		if m.picker.behind != modeFilter {
			m.picker.behind = modeTable
		}
	}
	cmds := []tea.Cmd{m.startLoad(true)}
	if sw.Retire != nil {
		cmds = append(cmds, func() tea.Msg { sw.Retire(); return nil })
	}
	return m, tea.Batch(cmds...)
}

// switchLine is the header's second line about switching: in progress, or the last failure.
func (m Model) switchLine() string {
	st := m.styles
	switch {
	case m.switching.pending != nil:
		return st.warning.Render("⟳ connecting to " + termtext.Sanitize(m.switching.pending.String()) + "…")
	case m.switching.err != nil:
		return st.err.Render("✗ ") + oneLine(m.switching.err.Error())
	}
	return ""
}

// pickerLines draws the picker: its title, the filter input and the entries.
func (m Model) pickerLines() []string {
	st := m.styles
	p := m.picker
	title := "Switch " + p.kind.String()
	if where := p.in.String(); where != "" {
		title += " in " + termtext.Sanitize(where)
	}
	lines := []string{st.section.Render(title), "> " + termtext.Sanitize(p.input) + "█"}
	switch {
	case p.loading:
		return append(lines, st.muted.Render("  loading the "+p.kind.String()+" list…"))
	case p.err != nil:
		return append(lines, st.err.Render("  ✗ ")+oneLine(p.err.Error()))
	case len(p.choices) == 0:
		return append(lines, st.muted.Render("  no "+p.kind.String()+" to switch to here"))
	case len(p.order) == 0:
		return append(lines, st.muted.Render("  nothing matches "+strconv.Quote(p.input)))
	}
	w := 0
	for _, i := range p.order {
		w = max(w, plainWidth(p.labels[i]))
	}
	w = min(w, max(m.width/2, 20))
	end := min(p.offset+m.pickerRows(), len(p.order))
	for pos := p.offset; pos < end; pos++ {
		i := p.order[pos]
		c := p.choices[i]
		mark := "  "
		if c.Current {
			mark = " *"
		}
		note := ""
		if c.Note != "" {
			note = "  " + oneLine(c.Note)
		}
		label := mark + " " + padRight(p.labels[i], w)
		if pos == p.cursor {
			lines = append(lines, st.cell[rowSelected][levelOK].Render(fit(label+note, m.width)))
		} else {
			lines = append(lines, label+st.muted.Render(note))
		}
	}
	return lines
}

// pickerFooter is the status line under the picker.
func (m Model) pickerFooter() string {
	p := m.picker
	count := fmt.Sprintf("%d/%d", len(p.order), len(p.choices))
	return m.styles.muted.Render("type to filter · ↑↓ move · enter switch · esc cancel · " + count + " · * current")
}
