package plugin

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
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

	p := NewPrometheusFlags(genericclioptions.NewConfigFlags(false))
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

// TestPrometheusFileFlagErrors names --bearer-token-file and --ca-file, not --prometheus-url,
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
		{[]string{"--bearer-token-file", "/dev/zero"}, `invalid --bearer-token-file "/dev/zero": the file is over 64Ki, far more than a bearer token; name the file that holds the token`},
		{[]string{"--bearer-token-file", empty}, `invalid --bearer-token-file "` + empty + `": the file is empty; write the token into it`},
		{[]string{"--ca-file", "/dev/zero"}, `invalid --ca-file "/dev/zero": the file is over 4Mi, far more than CA certificates; name the PEM file of the CA that signed Prometheus' certificate`},
		{[]string{"--ca-file", "/nonexistent/ca.pem"}, `invalid --ca-file "/nonexistent/ca.pem": cannot read it: no such file or directory; name the PEM file`},
		{[]string{"--ca-file", empty}, `invalid --ca-file "` + empty + `": it holds no PEM certificate`},
	} {
		args := append([]string{"top", "--prometheus-url", "https://prometheus.example:9090", "--once"}, tc.args...)
		stdout, _, err := run(t, args...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || stdout != "" {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
}
