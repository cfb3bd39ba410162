package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/overview"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// teamRows are three teams: two reached, one not.
func teamRows() []overview.Row {
	st := func(team string) overview.Stack {
		return overview.Stack{Namespace: team, Team: team, Status: "Available", Ready: 2, Desired: 2}
	}
	return []overview.Row{
		overview.Fold(st("web"), overview.Health{Backend: traffic.BackendPrometheus, Targets: 2, TargetsUp: 2, HeadSeries: 1000,
			Rows: []traffic.Row{{Name: "web_80", RPS: 10, Success: 1, P99: 20}}}),
		overview.Fold(st("pay"), overview.Health{Backend: traffic.BackendPrometheus, Targets: 3, TargetsUp: 3, HeadSeries: 5000, Firing: 2,
			Rows: []traffic.Row{{Name: "pay_80", RPS: 40, Success: 0.9, P99: 300}}}),
		overview.Unreached(st("ops"), "no permission: create pods/portforward in namespace ops"),
	}
}

// teamsView is the view of teamRows at 200x20, loaded; opened records the teams Open was asked for.
func teamsView(t *testing.T, opened *[]string, released *int) Teams {
	t.Helper()
	m := NewTeams(TeamsOptions{
		Refresh:  func(context.Context) ([]overview.Row, error) { return teamRows(), nil },
		Interval: time.Hour, Timeout: time.Second, NoColor: true, Now: fixedNow,
		Open: func(_ context.Context, r overview.Row) (Model, func(), error) {
			*opened = append(*opened, r.Namespace+"/"+r.Team)
			src := &fakeSource{frames: []traffic.Frame{{At: testNow, Window: time.Minute, Rows: []traffic.Row{row("shop", "checkout", 5, 1, 1, 2, 3, 0)}}}}
			return New(src, Options{Target: r.Team + "'s Prometheus", Interval: time.Hour, NoColor: true, Now: fixedNow}), func() { *released++ }, nil
		},
	})
	m = teamsUpdate(t, m, tea.WindowSizeMsg{Width: 200, Height: 20})
	for _, msg := range runCmd(t, m.refresh(1)) {
		m = teamsUpdate(t, m, msg)
	}
	return m
}

func teamsUpdate(t *testing.T, m Teams, msgs ...tea.Msg) Teams {
	t.Helper()
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		var ok bool
		if m, ok = next.(Teams); !ok {
			t.Fatalf("Update returned %T, want Teams", next)
		}
	}
	return m
}

// teamOrder is the teams on screen, in order.
func teamOrder(m Teams) string {
	var out []string
	for _, r := range m.rows {
		out = append(out, r.Team)
	}
	return strings.Join(out, " ")
}

func TestTeamsSortAndFilter(t *testing.T) {
	var opened []string
	var released int
	m := teamsView(t, &opened, &released)
	if got := teamOrder(m); got != "ops pay web" {
		t.Fatalf("by name: %s", got)
	}
	view := m.render()
	for _, want := range []string{"3 teams · sorted by name", "NAMESPACE", "WORST P99", "no permission: create pods/portforward in namespace ops", "40.0"} {
		if !strings.Contains(view, want) {
			t.Errorf("the view lacks %q:\n%s", want, view)
		}
	}
	if lines := strings.Split(view, "\n"); len(lines) != 20 {
		t.Errorf("%d lines on a 20-line screen", len(lines))
	}
	m = teamsUpdate(t, m, press("2")) // rps
	if got := teamOrder(m); got != "pay web ops" {
		t.Errorf("by rps: %s", got)
	}
	m = teamsUpdate(t, m, press("2")) // again: reversed, the team not reached still last
	if got := teamOrder(m); got != "web pay ops" {
		t.Errorf("by rps, reversed: %s", got)
	}
	m = teamsUpdate(t, m, press("5")) // alerts
	if got := teamOrder(m); got != "pay web ops" {
		t.Errorf("by alerts: %s", got)
	}
	m = teamsUpdate(t, m, press("/"), tea.KeyPressMsg{Code: 'w', Text: "w"}, press("enter"))
	if got := teamOrder(m); got != "web" {
		t.Errorf("filtered on w: %s", got)
	}
	m = teamsUpdate(t, m, press("esc"))
	if got := teamOrder(m); got != "pay web ops" {
		t.Errorf("filter cleared: %s", got)
	}
}

// TestTeamsOpenATeamAndComeBack: Enter opens the selected team's dashboard, which then gets the
// keys and draws the screen; Esc on its table closes it, releases what it held and reads the
// teams again. A team not reached cannot be opened, and says why.
func TestTeamsOpenATeamAndComeBack(t *testing.T) {
	var opened []string
	var released int
	m := teamsView(t, &opened, &released)
	m = teamsUpdate(t, m, press("down")) // pay
	next, cmd := m.Update(press("enter"))
	m = next.(Teams)
	if m.opening != "pay/pay" || cmd == nil {
		t.Fatalf("opening %q", m.opening)
	}
	for _, msg := range runCmd(t, cmd) {
		m = teamsUpdate(t, m, msg)
	}
	if m.team == nil || len(opened) != 1 || opened[0] != "pay/pay" {
		t.Fatalf("no dashboard open; opened %v", opened)
	}
	if view := m.team.render(); !strings.Contains(view, "pay's Prometheus") {
		t.Errorf("the dashboard on screen is not pay's:\n%s", view)
	}
	// The dashboard's own keys reach it: ? shows its help, and Esc there closes the help only.
	m = teamsUpdate(t, m, press("?"))
	if m.team == nil || m.team.mode != modeHelp {
		t.Fatal("? did not reach the dashboard")
	}
	m = teamsUpdate(t, m, press("esc"))
	if m.team == nil || m.team.mode != modeTable {
		t.Fatal("Esc on the dashboard's help left the dashboard")
	}
	gen := m.gen
	next, cmd = m.Update(press("esc"))
	m = next.(Teams)
	if m.team != nil || released != 1 || cmd == nil {
		t.Fatalf("Esc on the dashboard's table: open %v, released %d", m.team != nil, released)
	}
	// What the closed dashboard still sends is dropped.
	m = teamsUpdate(t, m, teamMsg{gen: gen, msg: tickMsg(testNow)})
	if m.team != nil {
		t.Error("a message of the closed dashboard reopened it")
	}

	m = teamsUpdate(t, m, press("home")) // ops, not reached
	next, cmd = m.Update(press("enter"))
	m = next.(Teams)
	if cmd != nil || m.team != nil || m.err == nil || !strings.Contains(m.err.Error(), "was not reached: no permission") {
		t.Errorf("opening a team not reached: err %v", m.err)
	}
}

func TestTeamsRefreshFailureKeepsTheRows(t *testing.T) {
	var opened []string
	var released int
	m := teamsView(t, &opened, &released)
	m = teamsUpdate(t, m, teamsLoadedMsg{seq: m.seq, at: testNow, err: errors.New("the API server refused \x1b[31mit")})
	if len(m.rows) != 3 || m.err == nil {
		t.Fatalf("rows %d, err %v", len(m.rows), m.err)
	}
	view := m.render()
	if !strings.Contains(view, `refresh failed: the API server refused \x1b[31mit`) || strings.Contains(view, "\x1b[31m") {
		t.Errorf("the failure is not shown, safely:\n%q", view)
	}
	// An older answer than the latest asked for is not drawn.
	m.seq++
	m = teamsUpdate(t, m, teamsLoadedMsg{seq: m.seq - 1, at: testNow, rows: teamRows()[:1]})
	if len(m.rows) != 3 {
		t.Errorf("a stale refresh replaced the rows: %d", len(m.rows))
	}
}
