package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
)

// TestCommandDocsAreCurrent generates the command reference in docs/commands from the cobra tree
// and fails when the committed files differ; `go test ./pkg/plugin -run CommandDocs -update`
// (make docs) rewrites them.
func TestCommandDocsAreCurrent(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	root := NewCmdRoot(streams)
	root.DisableAutoGenTag = true
	dir := t.TempDir()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// Defaults that depend on the machine would make the files differ between machines.
	if f := root.PersistentFlags().Lookup("cache-dir"); f != nil {
		f.DefValue = "$HOME/.kube/cache"
	}
	if err := doc.GenMarkdownTree(root, dir); err != nil {
		t.Fatal(err)
	}
	generated, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(generated) == 0 {
		t.Fatalf("no docs generated: %v", err)
	}
	want := filepath.Join("..", "..", "docs", "commands")
	seen := map[string]bool{}
	for _, g := range generated {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		seen[filepath.Base(g)] = true
		golden.Assert(t, filepath.Join(want, filepath.Base(g)), b)
	}
	committed, _ := filepath.Glob(filepath.Join(want, "*.md"))
	for _, c := range committed {
		if !seen[filepath.Base(c)] {
			if golden.Updating() {
				_ = os.Remove(c)
				continue
			}
			t.Errorf("%s documents a command that no longer exists", c)
		}
	}
	for name := range seen {
		if strings.Contains(name, "__complete") {
			t.Errorf("hidden command %s was documented", name)
		}
	}
}
