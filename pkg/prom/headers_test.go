package prom

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHeadersStayWithTheirOrigin: the headers of a Config (a tenant's X-Scope-OrgID) reach
// Prometheus' own origin on every request, also after a redirect within it, and never the host a
// redirect to another origin points at.
func TestHeadersStayWithTheirOrigin(t *testing.T) {
	const body = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	var elsewhere atomic.Value
	other := apiServer(t, 0, body, &elsewhere)
	var home atomic.Value
	var moved *httptest.Server
	moved = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Scope-OrgID") != "team-a" || r.Header.Get("X-Extra") != "1" {
			http.Error(w, "no tenant", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/api/v1/query":
			http.Redirect(w, r, moved.URL+"/moved/api/v1/query", http.StatusTemporaryRedirect)
		case "/moved/api/v1/query":
			home.Store(r.Header.Clone())
			http.Redirect(w, r, other.URL+"/api/v1/query", http.StatusTemporaryRedirect)
		}
	}))
	t.Cleanup(moved.Close)
	c, err := New(Config{URL: moved.URL, Timeout: 5 * time.Second,
		Headers: http.Header{"X-Scope-Orgid": {"team-a"}, "X-Extra": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query(context.Background(), "up", time.Time{}); err != nil {
		t.Fatalf("query: %v", err)
	}
	if h, _ := home.Load().(http.Header); h.Get("X-Scope-OrgID") != "team-a" || len(h.Values("X-Scope-OrgID")) != 1 {
		t.Errorf("the redirect within the origin lost the tenant: %v", h)
	}
	h, _ := elsewhere.Load().(http.Header)
	if h == nil {
		t.Fatal("the other origin was not asked")
	}
	if h.Get("X-Scope-OrgID") != "" || h.Get("X-Extra") != "" {
		t.Errorf("the other origin got the headers: %v", h)
	}
}

func TestHeadersThatAreRefused(t *testing.T) {
	for _, tt := range []struct {
		name, value, want string
	}{
		{"Authorization", "Bearer x", "carries credentials"},
		{"authorization", "Bearer x", "carries credentials"},
		{"Proxy-Authorization", "Basic x", "carries credentials"},
		{"Cookie", "session=x", "carries credentials"},
		{"Host", "other.example.com", "comes from the URL"},
		{"Content-Type", "text/plain", "sets Content-Type itself"},
		{"User-Agent", "x", "sets User-Agent itself"},
		{"X Scope", "a", "not a header name"},
		{"", "a", "not a header name"},
		{"X-Scope-OrgID", "a\r\nX-Injected: 1", "cannot carry"},
	} {
		err := CheckHeader(tt.name, tt.value)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckHeader(%q, %q) = %v, want %q", tt.name, tt.value, err, tt.want)
		}
		_, err = New(Config{URL: "http://localhost:9090", Headers: http.Header{tt.name: {tt.value}}})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != "Headers" {
			t.Errorf("New with header %q = %v, want a ConfigError on Headers", tt.name, err)
		}
	}
	if err := CheckHeader("X-Scope-OrgID", "team-a|team-b"); err != nil {
		t.Errorf("a tenant header: %v", err)
	}
	_, err := New(Config{URL: "http://localhost:9090", Headers: http.Header{"X-Big": {strings.Repeat("x", 17<<10)}}})
	if err == nil || !strings.Contains(err.Error(), "of headers") {
		t.Errorf("17 KiB of headers: %v", err)
	}
}
