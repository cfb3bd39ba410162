package plugin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
)

// TestPrometheusURLPasswordIsNotShown passes a password in --prometheus-url: neither the target
// the headers show nor any error or output of top and compare contains it.
func TestPrometheusURLPasswordIsNotShown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	with := func(base string) string { return strings.Replace(base, "http://", "http://admin:hunter2@", 1) }

	p := NewPrometheusFlags(genericclioptions.NewConfigFlags(false), genericiooptions.NewTestIOStreamsDiscard())
	p.URL = with(srv.URL)
	_, target, release, err := p.Connect(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if target != with(srv.URL)[:len("http://admin:")]+"xxxxx@"+strings.TrimPrefix(srv.URL, "http://") {
		t.Errorf("target = %q", target)
	}

	var shown []string
	// doctor reads the cluster too: one that refuses connections at once.
	kubeconfig := writeKubeconfig(t, "https://127.0.0.1:1", "token: abc")
	for _, u := range []string{with(srv.URL), with(closed.URL), "http://admin:hunter2@host:port/", "admin:hunter2@localhost:9090"} {
		for _, args := range [][]string{
			{"top", "--prometheus-url", u, "--once", "-o", "json", "--timeout", "2s"},
			{"compare", "--prometheus-url", u, "--envoy-namespace", "shop", "--baseline", "a", "--canary", "b", "-o", "json", "--timeout", "2s"},
			{"doctor", "team-a", "--prometheus-url", u, "--kubeconfig", kubeconfig, "--timeout", "5s"},
		} {
			stdout, stderr, err := run(t, args...)
			if err == nil {
				t.Fatalf("%v: no error", args)
			}
			shown = append(shown, target, stdout, stderr, err.Error())
		}
	}
	for _, s := range shown {
		if strings.Contains(s, "hunter2") {
			t.Errorf("shows the password: %s", s)
		}
	}
}

// TestPrometheusMaxAnswerSize checks --prometheus-max-answer-size: a quantity of at least 1Mi,
// which bounds each answer, and the error when an answer is larger names the flag.
func TestPrometheusMaxAnswerSize(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"lots", `invalid --prometheus-max-answer-size "lots": use a size such as 64Mi or 256Mi`},
		{"512Ki", `invalid --prometheus-max-answer-size "512Ki": use 1Mi or more, e.g. 64Mi`},
		{"-64Mi", `invalid --prometheus-max-answer-size "-64Mi": use 1Mi or more`},
		{"100E", `invalid --prometheus-max-answer-size "100E": use a size such as 64Mi`},
	} {
		stdout, _, err := run(t, "top", "--demo", "--once", "--prometheus-max-answer-size", tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) || stdout != "" {
			t.Errorf("%s: %v, stdout %q", tc.value, err, stdout)
		}
	}

	junk := strings.Repeat("x", 2<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, junk)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		value   string
		tooLong bool
	}{{"1Mi", true}, {"", false}, {"3Mi", false}} {
		args := []string{"top", "--prometheus-url", srv.URL, "--once", "-o", "json"}
		if tc.value != "" {
			args = append(args, "--prometheus-max-answer-size", tc.value)
		}
		_, _, err := run(t, args...)
		limit := "the answer is larger than the limit of 1Mi; raise it with --prometheus-max-answer-size, e.g. 2Mi"
		if err == nil || strings.Contains(err.Error(), limit) != tc.tooLong {
			t.Errorf("%q: %v", tc.value, err)
		}
	}
}

// TestPrometheusFileFlagErrors names --prometheus-bearer-token-file and --prometheus-ca-file, not --prometheus-url,
// when their files cannot be used, /dev/zero included.
func TestPrometheusFileFlagErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--prometheus-bearer-token-file", "/dev/zero"}, `invalid --prometheus-bearer-token-file "/dev/zero": the file is over 64Ki, far more than a bearer token; name the file that holds the token`},
		{[]string{"--prometheus-bearer-token-file", empty}, `invalid --prometheus-bearer-token-file "` + empty + `": the file is empty; write the token into it`},
		{[]string{"--prometheus-ca-file", "/dev/zero"}, `invalid --prometheus-ca-file "/dev/zero": the file is over 4Mi, far more than CA certificates; name the PEM file of the CA that signed Prometheus' certificate`},
		{[]string{"--prometheus-ca-file", "/nonexistent/ca.pem"}, `invalid --prometheus-ca-file "/nonexistent/ca.pem": cannot read it: no such file or directory; name the PEM file`},
		{[]string{"--prometheus-ca-file", empty}, `invalid --prometheus-ca-file "` + empty + `": it holds no PEM certificate`},
	} {
		args := append([]string{"top", "--prometheus-url", "https://prometheus.example:9090", "--once"}, tc.args...)
		stdout, _, err := run(t, args...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || stdout != "" {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
}

// TestInsecureSkipTLSVerifyIsKubectls: --insecure-skip-tls-verify is kubectl's flag on every
// command, top included, and applies to the API server only; Prometheus' certificate is skipped
// with --prometheus-insecure-skip-tls-verify alone.
func TestInsecureSkipTLSVerifyIsKubectls(t *testing.T) {
	// An API server whose certificate the kubeconfig does not trust, refusing the token.
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
	}))
	t.Cleanup(api.Close)
	kubeconfig := writeKubeconfigFor(t, fmt.Sprintf("server: %q", api.URL), "token: abc")
	// A Prometheus over https whose certificate nothing trusts without the CA file.
	front := promtest.Secure(t, emptyPrometheus(t))

	for _, tc := range []struct {
		name string
		args []string
		want string // in the error
		bad  string // not in the error
	}{
		{"API server verified", []string{"top", "team-a"}, "x509", "401"},
		{"API server not verified", []string{"top", "team-a", "--insecure-skip-tls-verify"}, "401", "x509"},
		{"compare: API server not verified", []string{"compare", "team-a", "--baseline", "a", "--canary", "b", "--insecure-skip-tls-verify"}, "401", "x509"},
		{"Prometheus still verified", []string{"top", "--prometheus-url", front.URL, "--prometheus-bearer-token-file", front.TokenFile, "--insecure-skip-tls-verify"}, "x509", "401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args...), "--kubeconfig", kubeconfig, "--timeout", "5s", "-o", "json")
			if tc.args[0] == "top" {
				args = append(args, "--once")
			}
			stdout, _, err := run(t, args...)
			// Whole words: a port such as 40139 holds "401".
			word := func(w string) bool { return err != nil && regexp.MustCompile(`\b`+w+`\b`).MatchString(err.Error()) }
			if err == nil || !word(tc.want) || word(tc.bad) || stdout != "" {
				t.Errorf("%v: %v (stdout %q), want an error with %q", tc.args, err, stdout, tc.want)
			}
		})
	}

	// Prometheus answers, and holds no Envoy series.
	_, _, err := run(t, "top", "--prometheus-url", front.URL, "--prometheus-bearer-token-file", front.TokenFile,
		"--prometheus-insecure-skip-tls-verify", "--once", "-o", "json", "--timeout", "5s")
	if err == nil || !strings.Contains(err.Error(), noEnvoySeries) {
		t.Errorf("--prometheus-insecure-skip-tls-verify: %v, want %q", err, noEnvoySeries)
	}
	if paths, refused := front.Authorized(); len(paths) == 0 || refused != 0 {
		t.Errorf("Prometheus saw %d requests with the token, %d without", len(paths), refused)
	}
}

// noEnvoySeries is what top says when Prometheus answers and holds no Envoy series.
const noEnvoySeries = "no Envoy cluster statistics (envoy_cluster_upstream_rq_total) in Prometheus yet"

// TestDeprecatedPrometheusFlagNames: --ca-file and --bearer-token-file still work, say once on
// stderr that they are deprecated, and leave stdout to the result.
func TestDeprecatedPrometheusFlagNames(t *testing.T) {
	front := promtest.Secure(t, emptyPrometheus(t))
	stdout, stderr, err := run(t, "top", "--prometheus-url", front.URL, "--ca-file", front.CAFile, "--bearer-token-file", front.TokenFile,
		"--once", "-o", "json", "--timeout", "5s")
	if err == nil || !strings.Contains(err.Error(), noEnvoySeries) || stdout != "" {
		t.Fatalf("%v, want %q\nstdout %q\nstderr %q", err, noEnvoySeries, stdout, stderr)
	}
	want := "Flag --ca-file has been deprecated, use --prometheus-ca-file instead\n" +
		"Flag --bearer-token-file has been deprecated, use --prometheus-bearer-token-file instead\n"
	if stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	if paths, refused := front.Authorized(); len(paths) == 0 || refused != 0 {
		t.Errorf("Prometheus saw %d requests with the token, %d without", len(paths), refused)
	}
	for _, cmd := range []string{"top", "compare", "doctor"} {
		_, stderr, err := run(t, cmd, "--help")
		if err != nil || strings.Contains(stderr, "--ca-file") {
			t.Errorf("%s --help: %v, %q", cmd, err, stderr)
		}
	}
	help, _, _ := run(t, "top", "--help")
	if strings.Contains(help, " --ca-file") || strings.Contains(help, " --bearer-token-file") || !strings.Contains(help, "--prometheus-ca-file") {
		t.Errorf("top --help shows the old names or lacks the new:\n%s", help)
	}
}

// emptyPrometheus serves an API that knows no series: every query answers an empty vector.
func emptyPrometheus(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
