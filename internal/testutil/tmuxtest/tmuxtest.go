// Package tmuxtest runs a program in a real pseudo-terminal through tmux, for tests that type keys
// and read the screen. Every session runs on its own tmux server socket.
package tmuxtest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Session is one tmux session with one pane.
type Session struct {
	socket string
	name   string
}

// Start opens a width×height terminal running a login-free bash, so the program can be started,
// quit and followed by more commands. t.Cleanup kills the server.
func Start(t testing.TB, width, height int, env ...string) *Session {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: run `make tools` (hack/install-tmux.sh)")
	}
	s := &Session{socket: filepath.Join(t.TempDir(), "tmux.sock"), name: "test"}
	args := []string{"new-session", "-d", "-s", s.name, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, "env", "PS1=$ ", "TERM=xterm-256color", "bash", "--norc", "--noprofile")
	if out, err := s.tmux(args...); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { _, _ = s.tmux("kill-server") })
	return s
}

func (s *Session) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	return string(out), err
}

// Type sends text followed by Enter.
func (s *Session) Type(t testing.TB, text string) {
	t.Helper()
	if out, err := s.tmux("send-keys", "-t", s.name, "-l", text); err != nil {
		t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
	s.Keys(t, "Enter")
}

// Keys sends tmux key names such as j, Enter, Escape or C-c.
func (s *Session) Keys(t testing.TB, keys ...string) {
	t.Helper()
	if out, err := s.tmux(append([]string{"send-keys", "-t", s.name}, keys...)...); err != nil {
		t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// Resize changes the terminal size.
func (s *Session) Resize(t testing.TB, width, height int) {
	t.Helper()
	if out, err := s.tmux("resize-window", "-t", s.name, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height)); err != nil {
		t.Fatalf("tmux resize-window: %v: %s", err, out)
	}
}

// Screen returns the visible screen, one string per row.
func (s *Session) Screen(t testing.TB) []string {
	t.Helper()
	out, err := s.tmux("capture-pane", "-p", "-t", s.name)
	if err != nil {
		t.Fatalf("tmux capture-pane: %v: %s", err, out)
	}
	return strings.Split(strings.TrimRight(out, "\n"), "\n")
}

// WaitFor waits until the screen satisfies ok, failing with the last screen after timeout.
func (s *Session) WaitFor(t testing.TB, what string, timeout time.Duration, ok func(screen string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lines := s.Screen(t)
		if ok(strings.Join(lines, "\n")) {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; the screen:\n%s", timeout, what, strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitForText waits until the screen contains text.
func (s *Session) WaitForText(t testing.TB, text string, timeout time.Duration) []string {
	t.Helper()
	return s.WaitFor(t, fmt.Sprintf("%q", text), timeout, func(screen string) bool { return strings.Contains(screen, text) })
}

// Title returns the pane's title, which a program sets with an escape sequence.
func (s *Session) Title(t testing.TB) string {
	t.Helper()
	out, err := s.tmux("display-message", "-p", "-t", s.name, "#{pane_title}")
	if err != nil {
		t.Fatalf("tmux display-message: %v: %s", err, out)
	}
	return strings.TrimSuffix(out, "\n")
}
