//go:build e2e

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
)

// BenchmarkCreateColdStart compares a whole `kubectl promteam create` process, start to exit,
// with `kubectl create deployment --dry-run=client -o yaml`, the closest thing kubectl prints
// offline. Runs alternate between the two so both see the same machine; the ratio metric is
// promteam's time over kubectl's (goal: at most 1.0).
func BenchmarkCreateColdStart(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "kubectl-promteam")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	kubectl := tools.Path(b, "kubectl")
	env := append(os.Environ(), "KUBECONFIG="+filepath.Join(dir, "none"))
	promteam := []string{bin, "create", "team-a", "-n", "team-a"}
	baseline := []string{kubectl, "create", "deployment", "x", "--image=y", "--dry-run=client", "-o", "yaml", "-n", "team-a"}

	runOnce := func(argv []string) time.Duration {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", argv, err, out)
		}
		return time.Since(start)
	}
	// Warm the page cache for both binaries so neither pays for the first read from disk.
	runOnce(promteam)
	runOnce(baseline)

	var ours, theirs time.Duration
	b.ResetTimer()
	for range b.N {
		ours += runOnce(promteam)
		theirs += runOnce(baseline)
	}
	b.StopTimer()
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "promteam-ns/op")
	b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N), "kubectl-ns/op")
	b.ReportMetric(float64(ours)/float64(theirs), "ratio")
}
