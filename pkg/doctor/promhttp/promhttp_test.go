package promhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor/promhttp"
)

// TestPathPrefix checks that a base URL with a path, such as the API server's service proxy,
// keeps its path, and that a non-API answer becomes an error naming the status.
func TestPathPrefix(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		if strings.HasSuffix(r.URL.Path, "/targets") {
			http.Error(w, "no endpoints available for service", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":[]}`))
	}))
	defer srv.Close()
	c, err := promhttp.New(srv.URL+"/api/v1/namespaces/team/services/prometheus-web:web/proxy/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := c.HasSeries(context.Background(), "up"); err != nil || ok {
		t.Errorf("HasSeries = %v, %v", ok, err)
	}
	if want := "/api/v1/namespaces/team/services/prometheus-web:web/proxy/api/v1/series"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
	_, err = c.Targets(context.Background())
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "no endpoints available") {
		t.Errorf("Targets: %v, want the 503 and its body", err)
	}
	if _, err := promhttp.New("127.0.0.1:9090", nil); err == nil {
		t.Error("New accepted a URL without a scheme")
	}
}
