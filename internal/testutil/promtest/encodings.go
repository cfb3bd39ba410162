package promtest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Encodings is a reverse proxy in front of a Prometheus that notes how every query (the
// /api/v1/query endpoints) asks for its answer: the Accept-Encoding header, "" for none.
type Encodings struct {
	// URL is the proxy's; queries sent there reach the Prometheus behind it.
	URL string

	mu   sync.Mutex
	seen []string
}

// Front starts an Encodings proxy to the Prometheus at target, closed when tb ends.
func Front(tb testing.TB, target string) *Encodings {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	e := &Encodings{}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v1/query") {
			e.mu.Lock()
			e.seen = append(e.seen, r.Header.Get("Accept-Encoding"))
			e.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

// Take returns the encodings noted since the last Take, in arrival order.
func (e *Encodings) Take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := e.seen
	e.seen = nil
	return seen
}

// All reports whether list is not empty and every element is want.
func All(list []string, want string) bool {
	for _, s := range list {
		if s != want {
			return false
		}
	}
	return len(list) > 0
}
