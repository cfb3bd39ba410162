package plugin

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/am"
)

func silenceOf(id, state string, matchers []am.Matcher, comment string, ends time.Time) am.Silence {
	s := am.Silence{ID: id, NewSilence: am.NewSilence{Matchers: matchers, StartsAt: ends.Add(-time.Hour), EndsAt: ends, CreatedBy: "ann", Comment: comment}}
	s.Status.State = state
	return s
}

// An Alertmanager that ignores the filter (or a proxy in front of it) still shows no other
// team's silence, and nothing it writes reaches the terminal raw.
func TestSilenceRowsShowOnlyTheTeamsSilencesSanitized(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	checkout := am.Matcher{Name: "envoy_cluster_name", Value: "checkout\x1b]8;;http://evil\x07", IsEqual: true}
	list := []am.Silence{
		silenceOf("b2", am.SilenceActive, append(am.TeamMatchers("team-a", "team-a"), checkout), "deploy\x1b[2J\nnext\u202e", now.Add(2*time.Hour)),
		silenceOf("a1", am.SilencePending, am.TeamMatchers("team-a", "team-a"), "soon", now.Add(time.Hour)),
		silenceOf("c3", am.SilenceExpired, am.TeamMatchers("team-a", "team-a"), "old", now.Add(-time.Hour)),
		silenceOf("x9", am.SilenceActive, am.TeamMatchers("team-b", "team-a"), "another team's", now.Add(time.Hour)),
		silenceOf("y8", am.SilenceActive, []am.Matcher{{Name: "team", Value: "team-a", IsRegex: true, IsEqual: true}, am.TeamMatchers("team-a", "team-a")[1]}, "a regex", now.Add(time.Hour)),
	}
	rows := silenceRows(list, "team-a", "team-a", silenceStateCurrent)
	if len(rows) != 2 || rows[0].ID != "a1" || rows[1].ID != "b2" {
		t.Fatalf("rows %+v, want a1 then b2", rows)
	}
	if got := strings.Join(rows[1].Matchers, ","); got != `envoy_cluster_name="checkout\x1b]8;;http://evil\a"` {
		t.Errorf("matchers %s, want the team's left out", got)
	}
	if all := silenceRows(list, "team-a", "team-a", stateAll); len(all) != 3 {
		t.Errorf("--state all: %d rows, want 3", len(all))
	}
	if expired := silenceRows(list, "team-a", "team-a", am.SilenceExpired); len(expired) != 1 || expired[0].ID != "c3" {
		t.Errorf("--state expired: %+v", expired)
	}

	var buf bytes.Buffer
	writeSilencesTable(&buf, rows, now, true)
	out := buf.String()
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\nnext"} {
		if strings.Contains(out, bad) {
			t.Errorf("table holds %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{`deploy\x1b[2J\nnext\u202e`, "in 60m", "in 120m", "pending", "2026-12-05T14:00:00Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines != 3 {
		t.Errorf("table has %d lines, want a header and 2 rows:\n%s", lines, out)
	}
}

// A hostile or stuck Alertmanager: the command ends within --timeout and says how to wait
// longer; an ID with terminal controls is printed escaped.
func TestSilenceAgainstAHostileAlertmanager(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stuck.Close()
	defer close(release)
	start := time.Now()
	out, _, err := run(t, "silence", "list", "team-a", "-n", "team-a", "--alertmanager-url", stuck.URL, "--timeout", "300ms")
	if err == nil || !strings.Contains(err.Error(), "no answer in time; pass a longer --timeout") || out != "" {
		t.Fatalf("list against a stuck Alertmanager: %q, %v", out, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s with --timeout 300ms", d)
	}

	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"silenceID":"id\u001b[2J\u001b]0;pwned\u0007"}`)
	}))
	defer hostile.Close()
	out, _, err = run(t, "silence", "create", "team-a", "-n", "team-a", "--alertmanager-url", hostile.URL, "-m", "a=b", "--comment", "x", "--author", "ann")
	if err != nil || out != "id\\x1b[2J\\x1b]0;pwned\\a\n" {
		t.Fatalf("create printed %q, %v; want the ID escaped", out, err)
	}
}
