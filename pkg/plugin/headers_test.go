package plugin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// headerRecorder answers every query with an empty vector and records the headers each path got.
type headerRecorder struct {
	mu   sync.Mutex
	seen []http.Header
}

func (h *headerRecorder) handler(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen = append(h.seen, r.Header.Clone())
		h.mu.Unlock()
		if next != nil {
			next(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}
}

func (h *headerRecorder) all() []http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]http.Header(nil), h.seen...)
}

// TestTenantAndHeadersReachOnlyThePrometheusURL: top and compare send --tenant as X-Scope-OrgID
// and every --header with each query to the --prometheus-url, and a store that redirects to
// another origin gets none of them there.
func TestTenantAndHeadersReachOnlyThePrometheusURL(t *testing.T) {
	var home headerRecorder
	srv := httptest.NewServer(home.handler(nil))
	t.Cleanup(srv.Close)
	for _, args := range [][]string{
		{"top", "--prometheus-url", srv.URL, "--tenant", "team-a", "--header", "X-Extra=1", "--once", "-o", "json"},
		{"compare", "--prometheus-url", srv.URL, "--tenant", "team-a", "--header", "X-Extra=1", "--envoy-namespace", "shop", "--baseline", "a", "--canary", "b", "-o", "json"},
	} {
		// An empty Prometheus: the commands say it holds no Envoy statistics, after asking.
		if _, stderr, err := run(t, args...); err != nil && !strings.Contains(err.Error(), "no Envoy cluster statistics") {
			t.Errorf("%s: %v (%s)", args[0], err, stderr)
		}
	}
	seen := home.all()
	if len(seen) == 0 {
		t.Fatal("the Prometheus got no query")
	}
	for _, h := range seen {
		if got := h.Values("X-Scope-OrgID"); len(got) != 1 || got[0] != "team-a" || h.Get("X-Extra") != "1" {
			t.Fatalf("a query carried X-Scope-OrgID %q and X-Extra %q, want team-a and 1", got, h.Get("X-Extra"))
		}
	}

	var elsewhere headerRecorder
	other := httptest.NewServer(elsewhere.handler(nil))
	t.Cleanup(other.Close)
	var redirected headerRecorder
	redirecting := httptest.NewServer(redirected.handler(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirecting.Close)
	_, stderr, err := run(t, "top", "--prometheus-url", redirecting.URL, "--tenant", "team-a", "--header", "X-Extra=1", "--once", "-o", "json")
	if len(elsewhere.all()) == 0 {
		t.Fatalf("the redirect was not followed: %v %s", err, stderr)
	}
	for _, h := range redirected.all() {
		if h.Get("X-Scope-OrgID") != "team-a" {
			t.Errorf("the --prometheus-url got no tenant: %v", h)
		}
	}
	for _, h := range elsewhere.all() {
		if h.Get("X-Scope-OrgID") != "" || h.Get("X-Extra") != "" {
			t.Errorf("the other origin got the tenant or the header: %v", h)
		}
	}
}

func TestHeaderFlagsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--prometheus-url", "http://localhost:9090", "--header", "Authorization=Bearer s3cret"}, []string{`invalid --header "Authorization=…"`, "--prometheus-bearer-token-file"}},
		{[]string{"--prometheus-url", "http://localhost:9090", "--header", "cookie=session=s3cret"}, []string{"invalid --header", "Cookie carries credentials", "--prometheus-bearer-token-file"}},
		{[]string{"--prometheus-url", "http://localhost:9090", "--header", "Host=other"}, []string{`invalid --header "Host=…"`, "--prometheus-url", "--prometheus-bearer-token-file"}},
		{[]string{"--prometheus-url", "http://localhost:9090", "--header", "X-Scope-OrgID"}, []string{`invalid --header "X-Scope-OrgID"`, "NAME=VALUE"}},
		{[]string{"--prometheus-url", "http://localhost:9090", "--header", "X Scope=a"}, []string{"invalid --header", "not a header name"}},
		{[]string{"--prometheus-url", "http://localhost:9090", "--header", "X-A=1", "--header", "x-a=2"}, []string{`invalid --header "x-a=…"`, "given twice"}},
		{[]string{"--prometheus-url", "http://localhost:9090", "--header", "X-Scope-OrgID=a", "--tenant", "b"}, []string{`invalid --tenant "b"`, "use one of the two"}},
		{[]string{"--prometheus-url", "http://localhost:9090", "--tenant", "team/a"}, []string{`invalid --tenant "team/a"`, "not allowed in a tenant ID"}},
		{[]string{"--prometheus-url", "http://localhost:9090", "--tenant", "a||b"}, []string{`invalid --tenant "a||b"`, "name the tenant"}},
		{[]string{"--tenant", "team-a", "--demo"}, []string{`invalid --tenant "team-a"`, "--prometheus-url only"}},
		{[]string{"team-a", "--header", "X-A=1"}, []string{`invalid --header "X-A=…"`, "--prometheus-url only"}},
	} {
		for _, cmd := range [][]string{{"top", "--once"}, {"compare", "--envoy-namespace", "shop", "--baseline", "a", "--canary", "b"}} {
			args := append(append([]string(nil), cmd...), tc.args...)
			stdout, _, err := run(t, args...)
			if err == nil || stdout != "" {
				t.Errorf("%v: err %v, stdout %q", args, err, stdout)
				continue
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%v: %q lacks %q", args, msg, w)
				}
			}
			if strings.Contains(msg, "s3cret") || strings.Contains(msg, "\n") {
				t.Errorf("%v: %q shows the credentials or has several lines", args, msg)
			}
		}
	}
	if _, _, err := run(t, "top", "--once", "--prometheus-url", "http://127.0.0.1:1", "--tenant", "a|b", "--timeout", "1s"); err != nil && strings.Contains(err.Error(), "--tenant") {
		t.Errorf("Mimir's a|b is refused: %v", err)
	}
}
