package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The test binary doubles as the plugin: with PROMTEAM_AS_PLUGIN set it runs main with the
// arguments after "--" and records its peak resident set size, read from the kernel's own
// high-water mark of this process (a parent's rusage would count the parent's memory too).
func TestMain(m *testing.M) {
	if out := os.Getenv("PROMTEAM_AS_PLUGIN"); out != "" {
		os.Args = append([]string{"kubectl-promteam"}, os.Args[len(os.Args)-countAfterDashes():]...)
		defer recordHWM(out)
		main()
		return
	}
	os.Exit(m.Run())
}

func countAfterDashes() int {
	for i, a := range os.Args {
		if a == "--" {
			return len(os.Args) - i - 1
		}
	}
	return 0
}

func recordHWM(path string) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			_ = os.WriteFile(path, []byte(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))), 0o600)
		}
	}
}

// peakRSS runs the plugin with args in a process of its own and returns its peak RSS in MiB.
func peakRSS(tb testing.TB, args ...string) float64 {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "hwm")
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "PROMTEAM_AS_PLUGIN="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%v: %v\n%s", args, err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		tb.Fatalf("no peak RSS recorded for %v: %v", args, err)
	}
	kb, err := strconv.ParseFloat(strings.TrimSuffix(string(raw), " kB"), 64)
	if err != nil {
		tb.Fatalf("VmHWM %q: %v", raw, err)
	}
	return kb / 1024
}

func TestPeakRSSIsMeasured(t *testing.T) {
	mib := peakRSS(t, "version")
	if mib <= 1 || mib > 1024 {
		t.Errorf("version peak RSS %.1f MiB", mib)
	}
	t.Logf("version peak RSS %.1f MiB", mib)
}
