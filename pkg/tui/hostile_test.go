package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// hostile is text a broken or hostile Prometheus may answer: escape sequences that clear the
// screen, set the window title and colour text, a CR/LF that forges a row, a bidi override, a
// bell, a C1 control and bad UTF-8.
const hostile = "\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b[31mevil\r\nforged 9999.0 100.00%\u202e\u2066\x7f\u009b\xff"

// assertOnlyOwnEscapes fails when the view holds a control character other than a line feed
// and the escape sequences of the dashboard's own styles. The views are drawn without colour,
// so a colour code can only have come from the data.
func assertOnlyOwnEscapes(t *testing.T, what, view string) {
	t.Helper()
	assertNoColour(t, view)
	rest := sgr.ReplaceAllString(view, "")
	for _, r := range rest {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError) {
			t.Errorf("%s: %U reached the screen:\n%q", what, r, view)
			return
		}
	}
}

func TestViewShowsHostileTextAsEscapes(t *testing.T) {
	f := testFrame()
	f.Rows = append(f.Rows, traffic.Row{Name: hostile, Namespace: hostile, Service: hostile, RPS: 5000, Success: 1, P50: 1, P90: 2, P99: 3, Active: 1})
	f.Listeners = append([]traffic.Listener{{Prefix: hostile, RPS: 1, Success: 1, P99: 2}}, f.Listeners...)
	f.Warnings = []string{hostile}
	fn := func(_ context.Context, _ time.Time, b, c string) (compare.Result, error) {
		r := testComparison(b, c)
		r.Checks[0].Reason = "cluster " + hostile + " served"
		return r, nil
	}
	const w, h = 200, 60
	m := loaded(t, Options{NoColor: true, Compare: fn, Target: hostile}, w, h, f)
	if selected(m) != hostile {
		t.Fatalf("the hostile row is not first: %q", selected(m))
	}
	assertOnlyOwnEscapes(t, "table with a warning", m.render())
	if !strings.Contains(plain(m), `\x1b[2J\x1b[H\x1b]0;pwned\a`) {
		t.Errorf("the name is not shown as escapes:\n%s", plain(m))
	}
	for i, l := range strings.Split(m.render(), "\n") {
		if strings.Contains(l, "evil") != strings.Contains(l, "forged") {
			t.Errorf("line %d holds half a name: %q", i, l)
		}
	}

	failed, _ := update(t, m, failAt(m.seq+1, errors.New("bad_data: "+hostile)))
	assertOnlyOwnEscapes(t, "refresh error", failed.render())

	detail, _ := update(t, m, press("enter"))
	d := testDetail()
	d.Classes[0].Label, d.Codes[0].Label, d.Pods[0].Pod = hostile, hostile, hostile
	d.Warnings = []string{hostile}
	detail, _ = update(t, detail, loadedMsg{seq: detail.seq, asked: testNow, at: testNow, cluster: detail.detail.name, detail: d})
	if !detail.detail.have {
		t.Fatal("the drill-down did not load")
	}
	assertOnlyOwnEscapes(t, "drill-down", detail.render())
	detailErr, _ := update(t, detail, loadedMsg{seq: detail.seq + 1, asked: testNow, at: testNow, cluster: detail.detail.name, detailErr: errors.New(hostile)})
	assertOnlyOwnEscapes(t, "drill-down error", detailErr.render())

	cmp, _ := update(t, m, press("m"), press("j"), press("m"))
	cmp, cmd := update(t, cmp, press("c"))
	if cmd == nil {
		t.Fatal("c did not load the comparison")
	}
	cmp, _ = update(t, cmp, cmd())
	if !cmp.comparison.have {
		t.Fatal("the comparison did not load")
	}
	assertOnlyOwnEscapes(t, "comparison", cmp.render())

	pasted, _ := update(t, m, press("/"), tea.PasteMsg{Content: hostile})
	assertOnlyOwnEscapes(t, "filter input", pasted.render())
}

// TestInvalidNumbersAreMarked: numbers the fold found outside their domain show as ✗, in the
// table, the drill-down and the listeners, never as a number or as no data.
func TestInvalidNumbersAreMarked(t *testing.T) {
	f := testFrame()
	f.Rows = append(f.Rows, traffic.Row{Name: "broken", RPS: 9000, Success: nan, P50: 1, P90: 2, P99: nan, Active: nan,
		Err4xx: nan, Err5xx: nan, Invalid: traffic.FieldSuccess | traffic.FieldP99 | traffic.FieldActive | traffic.FieldErr5xx})
	f.Listeners = []traffic.Listener{{Prefix: "bad_listener", RPS: nan, Success: 1, P99: 2, Invalid: traffic.FieldRPS}}
	m := loaded(t, Options{NoColor: true}, 200, 60, f)
	if selected(m) != "broken" {
		t.Fatalf("selected %q", selected(m))
	}
	var row string
	for _, l := range strings.Split(plain(m), "\n") {
		if strings.Contains(l, "broken") {
			row = l
		}
	}
	// NAME NAMESPACE/SERVICE RPS SUCCESS 4XX/S 5XX/S P50 P90 P99 ACTIVE, then the sparklines.
	if got := strings.Fields(strings.TrimPrefix(row, "▸"))[:10]; strings.Join(got, " ") != "broken — 9000.0 ✗ — ✗ 1.0ms 2.0ms ✗ ✗" {
		t.Errorf("row = %q", row)
	}
	if !strings.Contains(plain(m), "bad_listener ✗ rps") {
		t.Errorf("the listener's invalid rate is not marked:\n%s", plain(m))
	}
	m, _ = update(t, m, press("enter"))
	view := plain(m)
	if !strings.Contains(view, "success ✗") || !strings.Contains(view, "invalid data: Prometheus answered success_rate, p99_ms, active_requests") {
		t.Errorf("the drill-down does not say the data was invalid:\n%s", view)
	}
}
