package promtest

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Secured is an https front to a Prometheus that, as one behind an authenticating proxy does,
// answers 401 to every request without its bearer token.
type Secured struct {
	// URL is the front's https address; its certificate is signed by the CA in CAFile.
	URL string
	// CAFile holds the PEM certificate that verifies the front (for --prometheus-ca-file).
	CAFile string
	// TokenFile holds Token (for --prometheus-bearer-token-file).
	TokenFile string
	Token     string

	mu      sync.Mutex
	paths   []string // the paths of the requests that carried the token
	refused int      // requests without it
}

// Secure starts a Secured front to the Prometheus at target, closed when tb ends.
func Secure(tb testing.TB, target string) *Secured {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	s := &Secured{Token: "front-token-4f1c", TokenFile: filepath.Join(dir, "token"), CAFile: filepath.Join(dir, "ca.pem")}
	if err := os.WriteFile(s.TokenFile, []byte(s.Token+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		ok := r.Header.Get("Authorization") == "Bearer "+s.Token
		if ok {
			s.paths = append(s.paths, r.URL.Path)
		} else {
			s.refused++
		}
		s.mu.Unlock()
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		proxy.ServeHTTP(w, r)
	}))
	// The tests that refuse its certificate make it log every handshake.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(s.CAFile, ca, 0o600); err != nil {
		tb.Fatal(err)
	}
	s.URL = srv.URL
	return s
}

// Authorized returns the paths of the requests that carried the token, in arrival order, and
// how many requests came without it.
func (s *Secured) Authorized() (paths []string, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...), s.refused
}
