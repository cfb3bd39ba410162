package tui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// fakeSwitcher lists fixed choices and switches to fixed sources, recording the calls.
type fakeSwitcher struct {
	mu        sync.Mutex
	choices   map[Kind][]Choice
	choiceErr error
	sources   map[string]Source // by Place.String()
	switchErr error
	asked     []string // "kind in", as Choices was called
	switched  []Place
	windows   []time.Duration
	retired   int
}

func (f *fakeSwitcher) Choices(_ context.Context, kind Kind, in Place) ([]Choice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, kind.String()+" "+in.String())
	if f.choiceErr != nil {
		return nil, f.choiceErr
	}
	var out []Choice
	for _, c := range f.choices[kind] {
		if in.Namespace == "" || c.Place.Namespace == in.Namespace {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeSwitcher) Switch(_ context.Context, to Place, window time.Duration, _ traffic.GroupBy) (Switched, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.switched = append(f.switched, to)
	f.windows = append(f.windows, window)
	if f.switchErr != nil {
		return Switched{}, f.switchErr
	}
	src, ok := f.sources[to.String()]
	if !ok {
		return Switched{}, errors.New("no such team")
	}
	return Switched{Source: src, Place: to, Target: to.Namespace + "/prometheus-" + to.Team + " via port-forward 127.0.0.1:40999",
		Backend: traffic.BackendPrometheus, Retire: func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.retired++
		}}, nil
}

var (
	placeA = Place{Context: "prod", Namespace: "team-a", Team: "team-a"}
	placeB = Place{Context: "prod", Namespace: "team-b", Team: "team-b"}
)

// teamBFrame is the frame of team-b: rows no other fixture has.
func teamBFrame() traffic.Frame {
	return traffic.Frame{Window: time.Minute, Dialect: "stock", Rows: []traffic.Row{
		row("billing", "ledger", 42, 0.999, 3, 8, 20, 2),
		row("billing", "invoices", 7, 1, 2, 4, 9, 0),
	}}
}

func testSwitcher() *fakeSwitcher {
	return &fakeSwitcher{
		choices: map[Kind][]Choice{
			KindTeam: {
				{Place: placeA, Label: "team-a/team-a", Note: "Available", Current: true},
				{Place: placeB, Label: "team-b/team-b", Note: "Available"},
				{Place: Place{Context: "prod", Namespace: "shop", Team: "checkout"}, Label: "shop/checkout", Note: "Degraded"},
			},
			KindNamespace: {
				{Place: Place{Context: "prod", Namespace: "shop"}, Label: "shop"},
				{Place: Place{Context: "prod", Namespace: "team-a"}, Label: "team-a", Current: true},
				{Place: Place{Context: "prod", Namespace: "team-b"}, Label: "team-b"},
			},
			KindContext: {
				{Place: Place{Context: "prod"}, Label: "prod", Note: "cluster prod-eu, namespace team-a", Current: true},
				{Place: Place{Context: "staging"}, Label: "staging", Note: "cluster staging-eu"},
			},
		},
		sources: map[string]Source{placeB.String(): &fakeSource{frames: []traffic.Frame{teamBFrame()}}},
	}
}

// failingSwitcher lists testSwitcher's choices and fails every switch.
func failingSwitcher() *fakeSwitcher {
	sw := testSwitcher()
	sw.switchErr = errors.New("no ready pod of prometheus-team-b in namespace team-b after waiting 10s; pass --timeout to wait longer")
	return sw
}

// switchable is a model of team-a showing the test frame, with sw as its Switcher.
func switchable(t *testing.T, sw Switcher) Model {
	t.Helper()
	return loaded(t, Options{NoColor: true, Switcher: sw, Place: placeA, Target: "team-a/prometheus-team-a via port-forward 127.0.0.1:40123"},
		120, 30, testFrame())
}

// deliver runs cmd and hands its messages to m, as the program would.
func deliver(t *testing.T, m Model, cmd tea.Cmd) (Model, []tea.Cmd) {
	t.Helper()
	var next []tea.Cmd
	for _, msg := range runCmd(t, cmd) {
		if msg == nil {
			continue
		}
		var c tea.Cmd
		m, c = update(t, m, msg)
		if c != nil {
			next = append(next, c)
		}
	}
	return m, next
}

// pickerLabels are the entries the picker lists, in order.
func pickerLabels(m Model) []string {
	var out []string
	for _, i := range m.picker.order {
		out = append(out, m.picker.choices[i].Label)
	}
	return out
}

func TestPickerOpensFiltersAndSwitchesTeam(t *testing.T) {
	sw := testSwitcher()
	m := switchable(t, sw)
	if !strings.Contains(strings.Split(plain(m), "\n")[0], "prod/team-a/team-a") {
		t.Fatalf("the header does not name the place:\n%s", plain(m))
	}
	m, cmd := update(t, m, press("T"))
	if m.mode != modePicker || !m.picker.loading || !strings.Contains(plain(m), "loading the team list") {
		t.Fatalf("T did not open a loading team picker:\n%s", plain(m))
	}
	m, _ = deliver(t, m, cmd)
	if want := []string{"team prod"}; !slices.Equal(sw.asked, want) {
		t.Errorf("Choices asked %q, want %q", sw.asked, want)
	}
	if got, want := pickerLabels(m), []string{"team-a/team-a", "team-b/team-b", "shop/checkout"}; !slices.Equal(got, want) {
		t.Errorf("picker lists %q, want %q", got, want)
	}
	if m.picker.cursor != 0 {
		t.Errorf("the cursor is on %d, not on the current team", m.picker.cursor)
	}
	// Typing filters: T and q are text here, not keys of the dashboard.
	m, cmd = update(t, m, typeKeys("q")...)
	if isQuit(cmd) || m.mode != modePicker || len(pickerLabels(m)) != 0 || !strings.Contains(plain(m), `nothing matches "q"`) {
		t.Fatalf("q in the picker: quit %v, mode %v, %q", isQuit(cmd), m.mode, pickerLabels(m))
	}
	m, _ = update(t, m, press("backspace"))
	m, _ = update(t, m, typeKeys("TEAM-")...)
	if got, want := pickerLabels(m), []string{"team-a/team-a", "team-b/team-b"}; !slices.Equal(got, want) {
		t.Errorf("filtered by TEAM-: %q, want %q", got, want)
	}
	m, _ = update(t, m, typeKeys("b")...)
	if got := pickerLabels(m); !slices.Equal(got, []string{"team-b/team-b"}) {
		t.Errorf("filtered by TEAM-b: %q", got)
	}
	m, cmd = update(t, m, press("enter"))
	if m.mode != modeTable {
		t.Errorf("mode %v after enter, want the table", m.mode)
	}
	// While it connects, team-a stays on screen and the header says where it goes.
	screen := plain(m)
	if !strings.Contains(screen, "connecting to prod/team-b/team-b") || !strings.Contains(screen, "shop/checkout") {
		t.Errorf("while connecting:\n%s", screen)
	}
	m, next := deliver(t, m, cmd)
	if want := []Place{placeB}; !slices.Equal(sw.switched, want) {
		t.Errorf("switched to %v, want %v", sw.switched, want)
	}
	if m.opts.Place != placeB || m.haveFrame || len(m.frame.Rows) != 0 {
		t.Errorf("after the switch: place %v, have frame %v with %d rows", m.opts.Place, m.haveFrame, len(m.frame.Rows))
	}
	screen = plain(m)
	if strings.Contains(screen, "shop/checkout") || !strings.Contains(screen, "prod/team-b/team-b") || !strings.Contains(screen, "prometheus-team-b") {
		t.Errorf("team-a's rows stayed or the header kept team-a:\n%s", screen)
	}
	// The load the switch starts reads team-b's source, back-fill included when it has one.
	for _, c := range next {
		m, _ = deliver(t, m, c)
	}
	if sw.retired != 1 {
		t.Errorf("the previous connection was retired %d times, want once", sw.retired)
	}
	if got, want := names(m), []string{rn("billing", "ledger"), rn("billing", "invoices")}; !slices.Equal(got, want) {
		t.Errorf("rows after the switch %q, want %q", got, want)
	}
	if frames := sw.sources[placeB.String()].(*fakeSource).callsOf("frame"); len(frames) != 1 {
		t.Errorf("team-b's source read %d frames, want 1", len(frames))
	}
}

func TestPickerCancelChangesNothing(t *testing.T) {
	sw := testSwitcher()
	m := switchable(t, sw)
	m, _ = update(t, m, press("down"))
	before := selected(m)
	m, cmd := update(t, m, press("T"))
	m, _ = deliver(t, m, cmd)
	m, _ = update(t, m, append(typeKeys("shop"), press("esc"))...)
	if m.mode != modeTable || selected(m) != before || m.opts.Place != placeA || len(sw.switched) != 0 {
		t.Errorf("esc: mode %v, selection %q (was %q), place %v, switches %v", m.mode, selected(m), before, m.opts.Place, sw.switched)
	}
	// A picker opened from the drill-down goes back to it.
	m, _ = update(t, m, press("enter"))
	m, _ = update(t, m, press("N"), press("esc"))
	if m.mode != modeDetail {
		t.Errorf("esc from a picker over the drill-down: mode %v", m.mode)
	}
	// Choices arriving for a picker closed meanwhile are not drawn.
	m, cmd = update(t, m, press("X"))
	m, _ = update(t, m, press("esc"))
	m, _ = deliver(t, m, cmd)
	if m.mode != modeDetail || len(m.picker.choices) != 0 {
		t.Errorf("late choices: mode %v, %d choices", m.mode, len(m.picker.choices))
	}
}

func TestSwitchFailureKeepsTheOldTeam(t *testing.T) {
	sw := testSwitcher()
	sw.switchErr = errors.New("no ready pod of prometheus-team-b\x1b[2J in namespace team-b")
	m := switchable(t, sw)
	before := names(m)
	m, cmd := update(t, m, press("T"))
	m, _ = deliver(t, m, cmd)
	m, cmd = update(t, m, press("down"), press("enter"))
	m, next := deliver(t, m, cmd)
	if len(next) != 0 {
		t.Errorf("a failed switch started %d Cmds", len(next))
	}
	if m.opts.Place != placeA || !slices.Equal(names(m), before) || !m.haveFrame || sw.retired != 0 {
		t.Errorf("after a failed switch: place %v, rows %q, retired %d", m.opts.Place, names(m), sw.retired)
	}
	line := strings.Split(plain(m), "\n")[1]
	if want := `✗ switch to prod/team-b/team-b: no ready pod of prometheus-team-b\x1b[2J in namespace team-b`; line != want {
		t.Errorf("line 2 = %q, want %q", line, want)
	}
	// The old team goes on refreshing from its own source.
	src := m.src.(*fakeSource)
	calls := len(src.callsOf("frame"))
	m, cmd = update(t, m, press("p"), press("p")) // resuming refreshes at once
	m, _ = deliver(t, m, cmd)
	if got := len(src.callsOf("frame")); got != calls+1 {
		t.Errorf("team-a's source read %d frames after a tick, want %d", got, calls+1)
	}
	// Opening a picker again clears the failure.
	m, _ = update(t, m, press("T"))
	if m.switching.err != nil {
		t.Errorf("the failure stayed: %v", m.switching.err)
	}
}

func TestSwitchByNamespaceAndContext(t *testing.T) {
	sw := testSwitcher()
	m := switchable(t, sw)
	m, cmd := update(t, m, press("N"))
	m, _ = deliver(t, m, cmd)
	if got := pickerLabels(m); !slices.Equal(got, []string{"shop", "team-a", "team-b"}) || m.picker.order[m.picker.cursor] != 1 {
		t.Errorf("namespaces %q, cursor %d", got, m.picker.cursor)
	}
	// A namespace opens the team picker there.
	m, cmd = update(t, m, press("down"), press("enter"))
	if m.mode != modePicker || m.picker.kind != KindTeam || m.picker.in != (Place{Context: "prod", Namespace: "team-b"}) {
		t.Fatalf("after picking a namespace: mode %v kind %v in %v", m.mode, m.picker.kind, m.picker.in)
	}
	m, _ = deliver(t, m, cmd)
	if got := pickerLabels(m); !slices.Equal(got, []string{"team-b/team-b"}) {
		t.Errorf("teams of namespace team-b: %q", got)
	}
	if !strings.Contains(plain(m), "Switch team in prod/team-b") {
		t.Errorf("the picker's title:\n%s", plain(m))
	}
	// Esc there goes back to the table, not to the namespace picker.
	m, _ = update(t, m, press("esc"))
	if m.mode != modeTable {
		t.Errorf("esc from the chained team picker: mode %v", m.mode)
	}
	// A context opens the team picker in it, over every namespace.
	m, cmd = update(t, m, press("X"))
	m, _ = deliver(t, m, cmd)
	m, cmd = update(t, m, press("down"), press("enter"))
	if m.picker.kind != KindTeam || m.picker.in != (Place{Context: "staging"}) {
		t.Errorf("after picking a context: kind %v in %v", m.picker.kind, m.picker.in)
	}
	m, _ = deliver(t, m, cmd)
	want := []string{"namespace prod", "team prod/team-b", "context ", "team staging"}
	if got := sw.asked; !slices.Equal(got, want) {
		t.Errorf("Choices asked %q, want %q", got, want)
	}
}

func TestSwitchResetsTheDrillDownAndKeepsTheWindow(t *testing.T) {
	sw := testSwitcher()
	m := loaded(t, Options{NoColor: true, Switcher: sw, Place: placeA, Window: time.Minute,
		SetWindow: func(time.Duration) (Source, error) { return &fakeSource{}, nil }}, 120, 30, testFrame())
	m, _ = update(t, m, press("w")) // 5m
	m.loading = false
	m, _ = update(t, m, press("m"), press("down"), press("m"), press("enter"))
	if m.mode != modeDetail {
		t.Fatalf("mode %v, want the drill-down", m.mode)
	}
	gen := m.gen
	m, cmd := update(t, m, press("T"))
	m, _ = deliver(t, m, cmd)
	m, cmd = update(t, m, press("down"), press("enter"))
	if m.mode != modeDetail {
		t.Errorf("the drill-down closed before the switch succeeded: mode %v", m.mode)
	}
	m, _ = deliver(t, m, cmd)
	if m.mode != modeTable || m.detail.name != "" || len(m.comparison.marks) != 0 || m.gen != gen+1 {
		t.Errorf("after the switch: mode %v, detail %q, marks %v, gen %d (was %d)", m.mode, m.detail.name, m.comparison.marks, m.gen, gen)
	}
	if want := []time.Duration{5 * time.Minute}; !slices.Equal(sw.windows, want) {
		t.Errorf("switched over windows %v, want %v", sw.windows, want)
	}
	if m.table.sort != sortBy(colRPS) {
		t.Errorf("the sort changed: %+v", m.table.sort)
	}
	// A result of the last team still in flight is not drawn.
	m, _ = update(t, m, loadedMsg{seq: m.seq + 1, gen: gen, asked: testNow, at: testNow, frameLoaded: true, frame: testFrame()})
	if m.haveFrame {
		t.Error("a frame of the previous team was drawn after the switch")
	}
}

func TestSwitchKeysWithoutASwitcher(t *testing.T) {
	m := loaded(t, Options{NoColor: true, NoSwitch: "switching needs a TEAM in a cluster: this dashboard reads --prometheus-url"}, 120, 30, testFrame())
	m, cmd := update(t, m, press("T"))
	if cmd != nil || m.mode != modeTable {
		t.Errorf("T without a switcher: mode %v, cmd %v", m.mode, cmd != nil)
	}
	if line := strings.Split(plain(m), "\n")[1]; line != "✗ switching needs a TEAM in a cluster: this dashboard reads --prometheus-url" {
		t.Errorf("line 2 = %q", line)
	}
}

func TestPickerSaysWhyItIsEmpty(t *testing.T) {
	sw := testSwitcher()
	sw.choiceErr = errors.New("namespaces is forbidden: User \"dev\" cannot list resource \"namespaces\"")
	m := switchable(t, sw)
	m, cmd := update(t, m, press("N"))
	m, _ = deliver(t, m, cmd)
	if !strings.Contains(plain(m), `✗ namespaces is forbidden: User "dev" cannot list resource "namespaces"`) {
		t.Errorf("no error in the picker:\n%s", plain(m))
	}
	m, _ = update(t, m, press("enter")) // nothing to pick
	if m.mode != modePicker || len(sw.switched) != 0 {
		t.Errorf("enter on an empty picker: mode %v, switches %v", m.mode, sw.switched)
	}
	// Labels from the cluster are shown as text.
	sw.choiceErr = nil
	sw.choices[KindTeam] = []Choice{{Place: Place{Namespace: "x", Team: "evil"}, Label: "x/evil\x1b]0;owned\a", Note: "Avail\u202eable"}}
	m, _ = update(t, m, press("esc"))
	m, cmd = update(t, m, press("T"))
	m, _ = deliver(t, m, cmd)
	if screen := m.render(); strings.Contains(screen, "\x1b]") || strings.Contains(screen, "\u202e") || !strings.Contains(plain(m), `x/evil\x1b]0;owned\a`) {
		t.Errorf("terminal controls reached the screen:\n%q", screen)
	}
}
