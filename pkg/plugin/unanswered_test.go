//go:build e2e

package plugin

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
)

// everyClusterCommand is each command that talks to the API server, as a user runs it, with the
// exit status it documents for an error.
var everyClusterCommand = []struct {
	args []string
	exit int
}{
	{[]string{"list"}, 1},
	{[]string{"list", "-A"}, 1},
	{[]string{"diff", "team-a"}, diffErrorExit},
	{[]string{"create", "team-a", "--apply"}, 1},
	{[]string{"create", "team-a", "--apply", "--dry-run=server"}, 1},
	{[]string{"delete", "team-a", "--yes"}, 1},
	{[]string{"doctor", "team-a"}, doctorErrorExit},
	{[]string{"top", "team-a", "--once"}, 1},
	{[]string{"top", "team-a", "--once", "--via-proxy"}, 1},
	{[]string{"compare", "team-a", "--baseline", "a", "--canary", "b"}, compareErrorExit},
	{[]string{"port-forward", "team-a"}, 1},
}

// The longest a command may run past its --timeout: connectGrace for the commands that open a
// tunnel, and a second for the process.
const overrun = connectGrace + time.Second

// TestSilentAPIServer points every command at an API server that accepts connections and never
// answers (a listener nobody accepts on: the kernel completes the handshake, TLS never starts).
// Each finishes within its --timeout plus overrun, prints one line and exits with its code.
func TestSilentAPIServer(t *testing.T) {
	bin := binary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	kubeconfig := writeKubeconfig(t, "https://"+l.Addr().String(), "token: abc")
	const timeout = 2 * time.Second
	for _, c := range everyClusterCommand {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{}, c.args...), "--timeout", timeout.String())
			start := time.Now()
			stdout, stderr, code := cli.Run(t, bin, []string{"KUBECONFIG=" + kubeconfig}, args...)
			took := time.Since(start)
			if took > timeout+overrun {
				t.Errorf("took %s, want at most %s", took.Round(time.Millisecond), timeout+overrun)
			}
			assertOneErrorLine(t, stdout, stderr, code, c.exit, "did not answer within", "--timeout")
		})
	}
}

// TestCredentialsRefused points every command at an API server that answers 401 to everything,
// through a kubeconfig whose credential plugin fails, and at a certificate the kubeconfig does
// not trust: none can be fixed by trying again, so each command gives up at once (well within a
// long --timeout) and says which it is.
func TestCredentialsRefused(t *testing.T) {
	bin := binary(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
	}))
	t.Cleanup(srv.Close)
	plugin := filepath.Join(t.TempDir(), "credential-plugin")
	runs := filepath.Join(t.TempDir(), "runs")
	script := "#!/bin/sh\necho run >> " + runs + "\necho 'login expired' >&2\nexit 1\n"
	if err := os.WriteFile(plugin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	insecure := fmt.Sprintf("server: %q, insecure-skip-tls-verify: true", srv.URL)
	for _, tc := range []struct {
		name, cluster, user string
		want                []string
	}{
		{"401", insecure, "token: abc", []string{"credentials", "401", "log in again"}},
		{"credential plugin", insecure, "exec: {apiVersion: client.authentication.k8s.io/v1, command: " + plugin + ", interactiveMode: Never}",
			[]string{"credential plugin failed", "exit code 1"}},
		{"untrusted certificate", fmt.Sprintf("server: %q", srv.URL), "token: abc", []string{"certificate", "x509"}},
	} {
		kubeconfig := writeKubeconfigFor(t, tc.cluster, tc.user)
		for _, c := range everyClusterCommand {
			t.Run(tc.name+"/"+strings.Join(c.args, " "), func(t *testing.T) {
				const timeout = 30 * time.Second
				args := append(append([]string{}, c.args...), "--timeout", timeout.String())
				start := time.Now()
				stdout, stderr, code := cli.Run(t, bin, []string{"KUBECONFIG=" + kubeconfig}, args...)
				if took := time.Since(start); took > 10*time.Second {
					t.Errorf("took %s: a refusal is not worth retrying", took.Round(time.Millisecond))
				}
				if c.args[0] == "doctor" {
					// Doctor reports the failed check among the others.
					assertReport(t, stdout, code, tc.want[:1])
					return
				}
				// The plugin's own words come first, once: it is not run again.
				plugined := strings.TrimPrefix(stderr, "login expired\n")
				if strings.Contains(plugined, "login expired") {
					t.Errorf("the credential plugin ran more than once: %q", stderr)
				}
				assertOneErrorLine(t, stdout, plugined, code, c.exit, tc.want...)
			})
		}
	}
}

func assertOneErrorLine(t *testing.T, stdout, stderr string, code, wantCode int, want ...string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit code %d, want %d", code, wantCode)
	}
	if stdout != "" {
		t.Errorf("stdout: %q", stdout)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "error: ") {
		t.Errorf("stderr is not one error line: %q", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q lacks %q", stderr, w)
		}
	}
}

func assertReport(t *testing.T, stdout string, code int, want []string) {
	t.Helper()
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, w := range want {
		if !strings.Contains(stdout, w) {
			t.Errorf("report lacks %q:\n%s", w, stdout)
		}
	}
}
