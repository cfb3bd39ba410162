package plugin

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// hostileText holds what a cluster object may carry and a terminal must not act on: a screen
// clear and colour, a carriage return, a bell, a tab that would shift the columns and a bidi
// override.
const hostileText = "ok\x1b[2J\x1b[31mred\rover\a\tshift\u202eevil"

// assertInert fails when out holds a control character other than a line feed, or the bidi
// override, or more lines than want.
func assertInert(t *testing.T, out string, lines int) {
	t.Helper()
	for _, r := range out {
		if (r < ' ' && r != '\n') || r == 0x7f || r == '\u202e' {
			t.Errorf("output holds %U:\n%q", r, out)
			return
		}
	}
	if got := strings.Count(out, "\n"); got != lines {
		t.Errorf("%d lines, want %d:\n%s", got, lines, out)
	}
}

func TestListShowsClusterTextAsText(t *testing.T) {
	now := time.Now()
	stacks := []kube.StackSummary{{
		Namespace: "team-a", Name: "team-a", Team: "team-a", Version: hostileText, Retention: "15d",
		Replicas: 1, Shards: 1, Created: now.Add(-time.Hour), HasStatus: true,
		Conditions: []kube.Condition{{Type: "Available", Status: "False", Reason: hostileText, Message: hostileText}},
	}}
	var buf bytes.Buffer
	if err := writeStackTable(&buf, stacks, nil, true, true, now); err != nil {
		t.Fatal(err)
	}
	assertInert(t, buf.String(), 2)
	if !strings.Contains(buf.String(), `\x1b[2J`) {
		t.Errorf("the escape is not shown as text:\n%s", buf.String())
	}
}

func TestDiffShowsClusterTextAsText(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	o := NewCreateOptions(streams, nil)
	unified := "--- live\n+++ applied\n-  message: " + hostileText + "\n+  message: fine\n"
	changed, err := o.printDiffs([]kube.ObjectDiff{{Unified: unified}})
	if err != nil || !changed {
		t.Fatalf("printDiffs = %v, %v", changed, err)
	}
	assertInert(t, out.String(), 4)
}

func TestListJSONEscapesWhatATerminalObeys(t *testing.T) {
	now := time.Now()
	stacks := []kube.StackSummary{{Namespace: "team-a", Team: "team-a", Version: "v3\u202e\u009b31m", Replicas: 1, Shards: 1, Created: now}}
	var buf bytes.Buffer
	if err := writeStackList(&buf, "json", stacks, nil, now); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(buf.String(), "\u202e\u009b") || !strings.Contains(buf.String(), `\u202e`) {
		t.Errorf("list -o json passes the controls through:\n%s", buf.String())
	}
}
