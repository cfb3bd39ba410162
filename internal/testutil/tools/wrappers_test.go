package tools

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestToolWrappersShareTheProjectVersions pins what keeps a cold CI run short: the Kubernetes
// wrapper module requires the project's version of every module both require, so the packages
// the API server and the project share (client-go, apimachinery, grpc, golang.org/x/...) compile
// once. A version bump on one side alone still builds, only slower; this test says which module
// to bump on the other.
func TestToolWrappersShareTheProjectVersions(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	project := readGoMod(t, filepath.Join(root, "go.mod"))
	wrapper := readGoMod(t, filepath.Join(root, "hack", "tools", "kubernetes", "go.mod"))

	shared := 0
	for path, want := range project {
		got, ok := wrapper[path]
		if !ok {
			continue
		}
		shared++
		if got != want {
			t.Errorf("hack/tools/kubernetes/go.mod has %s %s, the project %s: run `go get %s@%s` in hack/tools/kubernetes (or move the project to %s)",
				path, got, want, path, want, got)
		}
	}
	// client-go alone brings dozens of shared modules; a parser that found none is broken.
	if shared < 20 {
		t.Fatalf("only %d modules found in both go.mod files; the parser missed the require blocks", shared)
	}
}

// readGoMod returns the version of every module a go.mod requires, after its replace directives
// with a version (a local-path replacement leaves the required version).
func readGoMod(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()

	required := map[string]string{}
	replaced := map[string]string{}
	block := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
			continue
		case line == ")":
			block = ""
			continue
		case strings.HasSuffix(line, "("):
			block = strings.TrimSpace(strings.TrimSuffix(line, "("))
			continue
		}
		directive := block
		if directive == "" {
			var rest string
			directive, rest, _ = strings.Cut(line, " ")
			line = strings.TrimSpace(rest)
		}
		switch directive {
		case "require":
			if fields := strings.Fields(line); len(fields) == 2 {
				required[fields[0]] = fields[1]
			}
		case "replace":
			from, to, ok := strings.Cut(line, "=>")
			if !ok {
				t.Fatalf("%s: replace without =>: %q", path, line)
			}
			if fields := strings.Fields(to); len(fields) == 2 {
				replaced[strings.Fields(from)[0]] = fields[1]
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for mod, version := range replaced {
		if _, ok := required[mod]; ok {
			required[mod] = version
		}
	}
	return required
}
