package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	hostileprom "github.com/kubectl-promteam/kubectl-promteam/internal/testutil/hostile"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// hostileDashboard is the dashboard as top builds it, reading the hostile Prometheus s through
// the Prometheus client and the collector, with the comparison of two marked rows.
func hostileDashboard(t *testing.T, c hostileprom.Case, s *hostileprom.Server) Model {
	t.Helper()
	client, err := prom.New(prom.Config{URL: s.URL, BearerTokenFile: s.TokenFile, CAFile: s.CAFile, Timeout: c.Timeout()})
	if err != nil {
		t.Fatal(err)
	}
	src := traffic.NewAuto(client, traffic.Config{Window: time.Minute, Source: traffic.SourceAuto})
	cmp := func(ctx context.Context, at time.Time, baseline, canary string) (compare.Result, error) {
		d, err := traffic.Discover(ctx, client, promql.Everything, at)
		if err != nil {
			return compare.Result{}, err
		}
		return compare.Run(ctx, client, compare.Config{
			Dialect: d, Selector: promql.Everything, Baseline: compare.Exact(baseline), Canary: compare.Exact(canary),
			Window: 5 * time.Minute, Step: 30 * time.Second, Thresholds: compare.DefaultThresholds(),
		}, at)
	}
	// No tick fires within the test: each load is started by hand.
	m := New(src, Options{Target: s.URL, Interval: time.Hour, Timeout: c.Timeout(), NoColor: true, Compare: cmp})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 160, Height: 50})
	return m
}

// runLoads runs the load Cmds of cmd and feeds their results to m, within the case's timeout.
func runLoads(t *testing.T, c hostileprom.Case, m Model, cmd tea.Cmd) Model {
	t.Helper()
	start := time.Now()
	for _, msg := range runCmd(t, cmd) {
		if _, ok := msg.(loadedMsg); ok {
			m, _ = update(t, m, msg)
		}
	}
	if took := time.Since(start); took > c.Timeout()+time.Second {
		t.Errorf("a load took %s, with a timeout of %s", took.Round(time.Millisecond), c.Timeout())
	}
	return m
}

// assertSafeView is assertOnlyOwnEscapes for views of decoded answers: decoding JSON makes each
// byte of a name that is not UTF-8 the replacement character U+FFFD, which is printable, so it is
// part of the name as Prometheus answered it.
func assertSafeView(t *testing.T, what, view string) {
	t.Helper()
	assertOnlyOwnEscapes(t, what, strings.ReplaceAll(view, "\uFFFD", "?"))
}

// assertRowsIntact fails when a line of the view starts what follows a line break inside a
// name: every such part must stay on the line of its name, after the escape of the break.
func assertRowsIntact(t *testing.T, what, view string, names []string) {
	t.Helper()
	for _, name := range names {
		shown := termtext.Sanitize(hostileprom.Decoded(name))
		i := max(strings.LastIndex(shown, `\n`), strings.LastIndex(shown, `\r`))
		if i < 0 {
			continue
		}
		after := shown[i+2:]
		after = after[:min(len(after), 6)]
		for n, l := range strings.Split(view, "\n") {
			if strings.Contains(l, after) && !strings.Contains(l, shown[i:i+2]+after) {
				t.Errorf("%s: line %d holds %q apart from its name %q: %q", what, n, after, shown, l)
			}
		}
	}
}

// TestDashboardAgainstHostilePrometheus loads the dashboard, a drill-down and a comparison from
// every hostile Prometheus but the big answers (which TestHostilePrometheusMemory in pkg/plugin
// runs through the same client and collector): no panic, a failed refresh shown as one, a row per
// cluster, and on screen no control character but the dashboard's own styles.
func TestDashboardAgainstHostilePrometheus(t *testing.T) {
	for _, c := range hostileprom.Cases() {
		if c.Big {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			s := hostileprom.Start(t, c)
			m := hostileDashboard(t, c, s)
			m = runLoads(t, c, m, m.startLoad(true))
			view := m.render()
			assertSafeView(t, "table", view)
			assertFits(t, view, 160, 50)
			if c.Top.Fails() {
				if m.err == nil || !strings.Contains(plain(m), "refresh failed") {
					t.Fatalf("no failed refresh on screen:\n%s", plain(m))
				}
				for _, text := range c.Top.Err {
					if !strings.Contains(termtext.Sanitize(m.err.Error()), text) {
						t.Errorf("the error does not say %q: %v", text, m.err)
					}
				}
				return
			}
			if m.err != nil || len(m.table.order) != c.Top.Rows {
				t.Fatalf("error %v, %d rows, want %d:\n%s", m.err, len(m.table.order), c.Top.Rows, plain(m))
			}
			assertRowsIntact(t, "table", plain(m), c.Names)
			for _, name := range c.Names {
				shown := []rune(termtext.Sanitize(hostileprom.Decoded(name)))
				if start := string(shown[:min(len(shown), 8)]); !strings.Contains(plain(m), start) {
					t.Errorf("%q is not on screen as %q:\n%s", name, start, plain(m))
				}
			}
			if len(c.Top.Invalid) > 0 && !strings.Contains(plain(m), "✗") {
				t.Errorf("invalid numbers are not marked:\n%s", plain(m))
			}

			detail, cmd := update(t, m, press("enter"))
			detail = runLoads(t, c, detail, cmd)
			if !detail.detail.have {
				t.Fatalf("the drill-down did not load: %v", detail.detail.err)
			}
			assertSafeView(t, "drill-down", detail.render())
			assertFits(t, detail.render(), 160, 50)
			assertRowsIntact(t, "drill-down", plain(detail), c.Names)

			if len(m.table.order) < 2 {
				return
			}
			marked, _ := update(t, m, press("m"), press("j"), press("m"))
			marked, cmd = update(t, marked, press("c"))
			if cmd == nil {
				t.Fatal("c did not load the comparison")
			}
			marked = runLoads(t, c, marked, cmd)
			if !marked.comparison.have {
				t.Fatalf("the comparison did not load: %v", marked.comparison.err)
			}
			assertSafeView(t, "comparison", marked.render())
			assertFits(t, marked.render(), 160, 50)
			assertRowsIntact(t, "comparison", plain(marked), c.Names)
		})
	}
}
