// Package tools finds the programs the tests run (promtool, prometheus, kube-apiserver, etcd,
// kubectl). `make tools` installs or builds them into one cache directory; a test that needs a
// missing one fails and says how to get it, it never skips.
package tools

import (
	"os"
	"path/filepath"
	"testing"
)

// BinDir is $PROMTEAM_BIN, or ${PROMTEAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-promteam}/bin,
// the directory hack/lib.sh installs into.
func BinDir() string {
	if dir := os.Getenv("PROMTEAM_BIN"); dir != "" {
		return dir
	}
	cache := os.Getenv("PROMTEAM_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "kubectl-promteam")
	}
	return filepath.Join(cache, "bin")
}

// Path returns the path of an installed tool, failing t when it is missing.
func Path(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(BinDir(), name)
	if info, err := os.Stat(p); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		t.Fatalf("%s is not installed in %s: run `make tools` (or the hack/install-*.sh script that provides it)", name, BinDir())
	}
	return p
}
