//go:build e2e

package plugin

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runBinary runs the real binary with args and returns its stdout, its stderr and its exit code.
func runBinary(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(cmd.Environ(), "KUBECONFIG="+filepath.Join(t.TempDir(), "none"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// assertPrintable fails when s holds a control byte other than a line feed, a bidi control or
// invalid UTF-8.
func assertPrintable(t *testing.T, what, s string) {
	t.Helper()
	for i, r := range s {
		if r != '\n' && (r < 0x20 || r >= 0x7f && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0xfffd) {
			t.Errorf("%s: %U at %d: %q", what, r, i, s)
			return
		}
	}
}

// TestErrorLineShowsControlCharactersAsEscapes checks the error line main prints, with text from
// the command line and from a Prometheus that answers an error full of escape sequences.
func TestErrorLineShowsControlCharactersAsEscapes(t *testing.T) {
	_, stderr, code := runBinary(t, "top", "--demo", "--x\x1b[2J\x1b[31m\r\nforged\u202e\xff")
	assertPrintable(t, "unknown flag", stderr)
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `unknown flag: --x\x1b[2J\x1b[31m\r\nforged\u202e\xff`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}

	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"\u001b[2J\u001b[31mquery failed\r\n\u202eforged\u0007"}`))
	}))
	defer prom.Close()
	stdout, stderr, code := runBinary(t, "top", "--prometheus-url", prom.URL, "--once", "--dialect", "envoy", "--source", "raw")
	assertPrintable(t, "Prometheus error", stderr)
	if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `\x1b[2J\x1b[31mquery failed\r\n\u202eforged\a`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
