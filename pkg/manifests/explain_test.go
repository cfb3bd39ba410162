package manifests

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestExplainShowsControlCharactersAsEscapes(t *testing.T) {
	s := DefaultTeamSpec("team-a", "team-a")
	s.RemoteWrite = []string{"https://metrics.example.com/api/v1/write"}
	s.ExternalLabels = map[string]string{"cluster": "prod\x1b[2J\x1b[31m\r\n  - forged\u202e\x07\xff"}
	var b bytes.Buffer
	if err := build(t, s).Explain(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, r := range out {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError) {
			t.Fatalf("%U reached the account:\n%q", r, out)
		}
	}
	if !strings.Contains(out, `cluster=prod\x1b[2J\x1b[31m - forged\u202e\a\xff`) {
		t.Errorf("the external label is not shown as escapes:\n%s", out)
	}
}
