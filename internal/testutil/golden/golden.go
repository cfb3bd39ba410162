// Package golden compares test output with files under testdata and rewrites the files from the
// current output when PROMTEAM_UPDATE_GOLDEN=1 is set. Every test that compares against a golden
// file goes through it, so `make golden` (the variable over every package that imports this one,
// unit and e2e) rewrites them all, whatever the tests are called.
//
// The -update flag does the same for a run of packages that all import golden
// (`go test ./pkg/plugin -run CommandDocs -update`); `go test ./... -update` fails in the
// packages that do not define it, which is why make uses the variable.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Env is the environment variable that, set to 1, makes the tests rewrite their golden files.
const Env = "PROMTEAM_UPDATE_GOLDEN"

var update = flag.Bool("update", false, "rewrite golden files from the current output (as "+Env+"=1 does)")

// Updating reports whether the test run rewrites golden files.
func Updating() bool { return *update || os.Getenv(Env) == "1" }

// Assert fails t when got differs from the golden file at path, showing the difference. When
// [Updating], it writes got to path instead.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	if Updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run `make golden`, or the test with %s=1, to create it): %v", Env, err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the output (-golden +got); run `make golden` (or the test with %s=1) if the change is intended:\n%s", path, diff, Env)
	}
}
