package prom

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// apiServer answers every query with body and records the requests it got.
func apiServer(t *testing.T, delay time.Duration, body string, seen *atomic.Value) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Clone())
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWarningsInfosTokenAndTimeout(t *testing.T) {
	const body = `{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["w1"],"infos":["i1"]}`
	var seen atomic.Value
	srv := apiServer(t, 0, body, &seen)
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URL: srv.URL, BearerTokenFile: token, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Query(context.Background(), "up", time.Now())
	if err != nil || len(res.Warnings) != 1 || res.Warnings[0] != "w1" || len(res.Infos) != 1 || res.Infos[0] != "i1" {
		t.Fatalf("warnings/infos = %+v, %v", res, err)
	}
	if got := seen.Load().(http.Header).Get("Authorization"); got != "Bearer first" {
		t.Errorf("Authorization = %q", got)
	}
	// A rotated token is read on the next request.
	if err := os.WriteFile(token, []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Query(context.Background(), "up", time.Now())
	if got := seen.Load().(http.Header).Get("Authorization"); got != "Bearer second" {
		t.Errorf("after rotation Authorization = %q", got)
	}

	slow := apiServer(t, 3*time.Second, body, &seen)
	c, _ = New(Config{URL: slow.URL, Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err = c.Query(context.Background(), "up", time.Now())
	if err == nil || !strings.Contains(err.Error(), "no answer in time") || time.Since(start) > 2*time.Second {
		t.Errorf("slow Prometheus: %v after %s", err, time.Since(start))
	}
}

func TestConfigErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg   Config
		field string
		want  string
	}{
		{Config{URL: "localhost:9090"}, "URL", `Prometheus URL localhost:9090: use an http or https URL, e.g. http://localhost:9090`},
		{Config{URL: "ftp://x"}, "URL", `Prometheus URL ftp://x: use an http or https URL`},
		{Config{URL: "http://x", CAFile: "/nonexistent/ca.pem"}, "CAFile", `CA file /nonexistent/ca.pem: cannot read it: no such file or directory; name the PEM file of the CA`},
		{Config{URL: "http://x", CAFile: empty}, "CAFile", `CA file ` + empty + `: it holds no PEM certificate; name the PEM file of the CA`},
		{Config{URL: "http://x", BearerTokenFile: "/nonexistent/token"}, "BearerTokenFile", `bearer token file /nonexistent/token: cannot read it: no such file or directory; name the file that holds the token`},
		{Config{URL: "http://x", BearerTokenFile: empty}, "BearerTokenFile", `bearer token file ` + empty + `: the file is empty; write the token into it`},
	} {
		_, err := New(tc.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %s: %s", tc.cfg, err, tc.field, tc.want)
		}
	}
}

// TestTokenStaysWithItsOrigin follows Prometheus' redirects: the bearer token goes to
// Prometheus' own origin only, never to the host a redirect points at, and a redirect from https
// to plain http is refused.
func TestTokenStaysWithItsOrigin(t *testing.T) {
	const body = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	var elsewhere atomic.Value
	other := apiServer(t, 0, body, &elsewhere)
	redirect := func(to string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/moved/api/v1/query" {
				_, _ = io.WriteString(w, body)
				return
			}
			if r.Header.Get("Authorization") != "Bearer s3cret" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, to+r.URL.Path, http.StatusTemporaryRedirect)
		}
	}

	plain := httptest.NewServer(redirect(other.URL))
	t.Cleanup(plain.Close)
	c, err := New(Config{URL: plain.URL, BearerTokenFile: token, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query(context.Background(), "up", time.Time{}); err != nil {
		t.Fatalf("redirect to another host: %v", err)
	}
	if h, _ := elsewhere.Load().(http.Header); h == nil || h.Get("Authorization") != "" {
		t.Errorf("the other host got Authorization %q (headers %v)", h.Get("Authorization"), h)
	}

	// A redirect within the origin keeps the token.
	var moved *httptest.Server
	moved = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirect(moved.URL+"/moved")(w, r)
	}))
	t.Cleanup(moved.Close)
	c, _ = New(Config{URL: moved.URL, BearerTokenFile: token, Timeout: 5 * time.Second})
	if _, err := c.Query(context.Background(), "up", time.Time{}); err != nil {
		t.Errorf("redirect within the origin: %v", err)
	}

	elsewhere.Store(http.Header(nil))
	secure := httptest.NewTLSServer(redirect(other.URL))
	t.Cleanup(secure.Close)
	c, err = New(Config{URL: secure.URL, BearerTokenFile: token, InsecureSkipTLSVerify: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Query(context.Background(), "up", time.Time{})
	if err == nil || !strings.Contains(err.Error(), "refused Prometheus' redirect from "+secure.URL) || !strings.Contains(err.Error(), "plain http") {
		t.Errorf("https to http: %v", err)
	}
	if h, _ := elsewhere.Load().(http.Header); h != nil {
		t.Errorf("the plain http host was asked, with Authorization %q", h.Get("Authorization"))
	}

	// A transport of the caller's (the API server's, with the kubeconfig's credentials) does not
	// leave the origin at all.
	c, _ = New(Config{URL: plain.URL, BearerTokenFile: token, Transport: http.DefaultTransport, Timeout: 5 * time.Second})
	_, err = c.Query(context.Background(), "up", time.Time{})
	if err == nil || !strings.Contains(err.Error(), "transport would send its credentials along") {
		t.Errorf("own transport, redirect to another host: %v", err)
	}
	if h, _ := elsewhere.Load().(http.Header); h != nil {
		t.Errorf("the other host was asked through the caller's transport")
	}
}

// TestPasswordsAreNotShown puts a password in the URL: no error, nor the URL the client
// reports, shows it.
func TestPasswordsAreNotShown(t *testing.T) {
	f := &fixed{}
	f.set(http.StatusBadRequest, `{"status":"error","errorType":"bad_data","error":"parse error"}`)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	closed := httptest.NewServer(f)
	closed.Close()
	with := func(base string) string { return strings.Replace(base, "http://", "http://admin:hunter2@", 1) }

	var shown []string
	for _, base := range []string{srv.URL, closed.URL} {
		c, err := New(Config{URL: with(base), Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		shown = append(shown, c.URL())
		_, err = c.Query(context.Background(), "up", time.Time{})
		if err == nil {
			t.Fatalf("%s: no error", base)
		}
		shown = append(shown, err.Error())
		_, _, err = c.QueryRange(context.Background(), "up", time.Unix(0, 0), time.Unix(60, 0), time.Minute)
		shown = append(shown, err.Error())
	}
	for _, bad := range []string{"http://admin:hunter2@host:port/", "admin:hunter2@host:9090", "http://admin:hunter2@[::1"} {
		_, err := New(Config{URL: bad})
		if err == nil {
			t.Fatalf("New(%q) accepted it", bad)
		}
		shown = append(shown, err.Error())
	}
	for _, s := range shown {
		if strings.Contains(s, "hunter2") {
			t.Errorf("shows the password: %s", s)
		}
	}
	if !strings.Contains(shown[1], "query up at http://admin:xxxxx@") || !strings.Contains(shown[4], "cannot reach Prometheus at http://admin:xxxxx@") {
		t.Errorf("the URLs are not shown redacted: %q", shown)
	}
}

// TestAnswerSizeIsBounded streams answers far over the limit, plain and as a gzip bomb, through
// the client's own transport and through a caller's (as the tunnel and the service proxy
// have): each query fails with an error that names the query, the limit and the flag that
// raises it, and the client allocates little more than the limit, not the answer.
func TestAnswerSizeIsBounded(t *testing.T) {
	const (
		limit = 4 << 20
		total = 200 << 20
	)
	junk := bytes.Repeat([]byte(`{"metric":{"a":"b"},"value":[1,"1"]},`), 1<<12)
	stream := func(w io.Writer) {
		_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[`)
		for n := 0; n < total; n += len(junk) {
			if _, err := w.Write(junk); err != nil {
				return
			}
		}
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { stream(w) }))
	t.Cleanup(plain.Close)
	bomb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.WriteHeader(http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		stream(gz)
		_ = gz.Close()
	}))
	t.Cleanup(bomb.Close)

	for _, tc := range []struct {
		name      string
		url       string
		transport http.RoundTripper
	}{
		{"plain", plain.URL, nil},
		{"gzip bomb", bomb.URL, nil},
		{"plain, caller's transport", plain.URL, &http.Transport{}},
		{"gzip bomb, caller's transport", bomb.URL, &http.Transport{}},
	} {
		c, err := New(Config{URL: tc.url, Transport: tc.transport, MaxAnswerBytes: limit, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err = c.Query(context.Background(), "up", time.Time{})
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "query up at ") ||
			!strings.HasSuffix(err.Error(), "the answer is larger than the limit of 4Mi; raise it with --prometheus-max-answer-size, e.g. 8Mi") {
			t.Errorf("%s: %v", tc.name, err)
		}
		// The bound on memory holds for the plain build; -race allocates around every access.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 8*limit && !raceEnabled {
			t.Errorf("%s: allocated %d MiB for a limit of %d MiB", tc.name, grew>>20, limit>>20)
		}
	}

	var bigErr *AnswerTooLargeError
	// 64Mi read under -race beside the other test binaries takes tens of seconds; the bound
	// on time is not what this case checks.
	c, _ := New(Config{URL: plain.URL, Timeout: 3 * time.Minute})
	if _, err := c.Query(context.Background(), "up", time.Time{}); !errors.As(err, &bigErr) || bigErr.Limit != DefaultMaxAnswerBytes || !strings.Contains(err.Error(), "limit of 64Mi") {
		t.Errorf("default limit: %v", err)
	}
}

// TestFilesAreReadWithALimit points the token and the CA file at /dev/zero: New refuses each at
// once, saying how large a file it reads and which setting is wrong, without filling memory.
func TestFilesAreReadWithALimit(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		field string
		want  string
	}{
		{Config{URL: "http://x", BearerTokenFile: "/dev/zero"}, "BearerTokenFile", "bearer token file /dev/zero: the file is over 64Ki, far more than a bearer token; name the file that holds the token"},
		{Config{URL: "https://x", CAFile: "/dev/zero"}, "CAFile", "CA file /dev/zero: the file is over 4Mi, far more than CA certificates; name the PEM file"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := New(tc.cfg)
		runtime.ReadMemStats(&after)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("%+v: allocated %d MiB", tc.cfg, grew>>20)
		}
	}
}

// TestProxyIsNamed reaches Prometheus through an HTTP proxy from the environment that does not
// answer: the error says it went through the proxy, shown without its password.
func TestProxyIsNamed(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	proxy := strings.Replace(closed.URL, "http://", "http://u:pr0xypass@", 1)
	t.Setenv("HTTP_PROXY", proxy)
	t.Setenv("HTTPS_PROXY", proxy)
	t.Setenv("NO_PROXY", "")
	redacted := strings.Replace(closed.URL, "http://", "http://u:xxxxx@", 1)
	for _, target := range []string{"http://prometheus.example:9090", "https://prometheus.example"} {
		c, err := New(Config{URL: target, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Query(context.Background(), "up", time.Time{})
		if err == nil || !strings.Contains(err.Error(), target+" through proxy "+redacted+": ") || strings.Contains(err.Error(), "pr0xypass") {
			t.Errorf("%s: %v", target, err)
		}
	}
}
