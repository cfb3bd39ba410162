package prom

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTargetsThroughAPathPrefix checks that a base URL with a path, such as the API server's
// service proxy, keeps its path, and that a non-API answer becomes an error naming the status.
func TestTargetsThroughAPathPrefix(t *testing.T) {
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
	c, err := New(Config{URL: srv.URL + "/api/v1/namespaces/team/services/prometheus-web:web/proxy/"})
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
}

// TestTargetsOverTheAnswerLimit: a targets or series answer over MaxAnswerBytes fails with the
// limit and the flag that raises it, and so does one that is not an API answer at all.
func TestTargetsOverTheAnswerLimit(t *testing.T) {
	big := `{"status":"success","data":{"activeTargets":[{"scrapeUrl":"` + strings.Repeat("x", 2<<20) + `"}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/series") {
			_, _ = w.Write([]byte("<html>not Prometheus</html>"))
			return
		}
		_, _ = w.Write([]byte(big))
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, MaxAnswerBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Targets(context.Background())
	want := "read /api/v1/targets at " + srv.URL + ": the answer is larger than the limit of 1Mi; raise it with --prometheus-max-answer-size, e.g. 2Mi"
	if err == nil || err.Error() != want {
		t.Errorf("Targets = %v\nwant %s", err, want)
	}
	_, err = c.HasSeries(context.Background(), "up")
	if err == nil || !strings.Contains(err.Error(), "not a Prometheus API answer") {
		t.Errorf("HasSeries of an HTML page: %v", err)
	}
	// The limit is released: a small answer still reads.
	c3, err := New(Config{URL: srv.URL, MaxAnswerBytes: 3 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := c3.Targets(context.Background()); err != nil || len(ts) != 1 {
		t.Errorf("Targets under a 3Mi limit = %d targets, %v", len(ts), err)
	}
}
