// Package proc starts the servers tests run (etcd, kube-apiserver, Prometheus) in process groups
// of their own and stops them, gently first.
package proc

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Group makes cmd the leader of a new process group that dies with the test binary, so a test
// that times out leaves no server behind.
func Group(cmd *exec.Cmd) { cmd.SysProcAttr = sysProcAttr() }

// Stop asks cmd's process group to exit, waits up to grace for done to close, then kills the
// group and waits for done. done must close when cmd has exited.
func Stop(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) {
	select {
	case <-done:
		return
	default:
	}
	terminate(cmd)
	select {
	case <-done:
	case <-time.After(grace):
		kill(cmd)
		<-done
	}
}

// StartWaitLine starts cmd in a process group of its own, stopped when tb ends, and reads its
// standard output until a line (without surrounding space) matches pattern; it returns the
// submatches and discards the rest of the output. A command that exits first fails tb with what
// it wrote on standard error.
func StartWaitLine(tb testing.TB, cmd *exec.Cmd, pattern *regexp.Regexp) []string {
	tb.Helper()
	Group(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	tb.Cleanup(func() { Stop(cmd, done, 5*time.Second) })
	lines := bufio.NewReader(stdout)
	for {
		line, err := lines.ReadString('\n')
		if m := pattern.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			go func() { _, _ = io.Copy(io.Discard, lines) }()
			return m
		}
		if err != nil {
			<-done
			tb.Fatalf("%s printed no line matching %s (%v); stderr:\n%s", cmd.Path, pattern, err, stderr.String())
		}
	}
}

// Tail is the last n lines of the log at path, or why there is none.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
