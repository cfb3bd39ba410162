package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
)

// TestReadmeFlagsMatchCreate keeps the README's flag list in step with `create --help`; run with
// -update to rewrite it.
func TestReadmeFlagsMatchCreate(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- create-flags -->\n", "<!-- /create-flags -->\n"
	text := string(readme)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", begin, end)
	}
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	cmd := NewCmdCreate(streams, nil)
	block := "```text\n" + cmd.LocalFlags().FlagUsagesWrapped(110) + "```\n"
	golden.Assert(t, path, []byte(text[:i+len(begin)]+block+text[j:]))
}
