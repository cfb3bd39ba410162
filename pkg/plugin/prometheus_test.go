package plugin

import (
	"context"
	"net/http"
	"net/http/httptest"
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
	for _, u := range []string{with(srv.URL), with(closed.URL), "http://admin:hunter2@host:port/", "admin:hunter2@localhost:9090"} {
		for _, args := range [][]string{
			{"top", "--prometheus-url", u, "--once", "-o", "json", "--timeout", "2s"},
			{"compare", "--prometheus-url", u, "-n", "shop", "--baseline", "a", "--canary", "b", "-o", "json", "--timeout", "2s"},
		} {
			stdout, stderr, err := run(t, args...)
			if err == nil {
				t.Fatalf("%v: no error", args)
			}
			t.Logf("%s: %v", args[0], err)
			shown = append(shown, target, stdout, stderr, err.Error())
		}
	}
	for _, s := range shown {
		if strings.Contains(s, "hunter2") {
			t.Errorf("shows the password: %s", s)
		}
	}
}
