package prom

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestThanosQueryParameters: in ThanosQuery mode every request asks for deduplicated replicas
// and no partial answers; without it, none does.
func TestThanosQueryParameters(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []map[string]string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		seen = append(seen, map[string]string{"path": r.URL.Path, "dedup": r.Form.Get("dedup"), "partial_response": r.Form.Get("partial_response")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/stores":
			_, _ = w.Write([]byte(`{"status":"success","data":{"sidecar":[{"name":"b:10901","lastError":null,"labelSets":[{"prometheus_replica":"p-1"}]},{"name":"a:10901","lastError":"down","labelSets":[]}]}}`))
		case "/api/v1/query_range":
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
		default:
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
		}
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	for _, thanos := range []bool{true, false} {
		seen = nil
		c, err := New(Config{URL: srv.URL, ThanosQuery: thanos})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Query(ctx, "up", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.QueryRange(ctx, "up", time.Now().Add(-time.Minute), time.Now(), 15*time.Second); err != nil {
			t.Fatal(err)
		}
		stores, err := c.Stores(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(stores) != 2 || stores[0].Name != "a:10901" || stores[0].LastError != "down" || stores[1].LastError != "" || stores[1].LabelSets[0]["prometheus_replica"] != "p-1" {
			t.Errorf("stores %+v", stores)
		}
		if len(seen) != 3 {
			t.Fatalf("%d requests", len(seen))
		}
		for _, s := range seen {
			want := map[bool][2]string{true: {"true", "false"}, false: {"", ""}}[thanos]
			if s["dedup"] != want[0] || s["partial_response"] != want[1] {
				t.Errorf("ThanosQuery %v: %s sent dedup=%q partial_response=%q", thanos, s["path"], s["dedup"], s["partial_response"])
			}
		}
	}
}

// TestThanosPartialAnswers: a Thanos Query may answer success with a warning that a store did
// not answer; in ThanosQuery mode that fails the query (and the alerts), while PromQL's own
// warnings stay warnings. Without ThanosQuery mode the warning is passed on as it was.
func TestThanosPartialAnswers(t *testing.T) {
	const storeDown = `fetch series for {prometheus_replica=\"p-1\"} Addr: 10.0.0.1:10901: rpc error: code = Unavailable desc = connection refused`
	var promqlOnly atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		warning := storeDown
		if promqlOnly.Load() {
			warning = `PromQL info: metric might not be a counter, name does not end in _total: \"x\"`
		}
		switch r.URL.Path {
		case "/api/v1/alerts":
			_, _ = w.Write([]byte(`{"status":"success","data":{"alerts":[]},"warnings":["` + warning + `"]}`))
		default:
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["` + warning + `"]}`))
		}
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	thanos, err := New(Config{URL: srv.URL, ThanosQuery: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = thanos.Query(ctx, "sum(up)", time.Time{})
	var partial *PartialAnswerError
	if !errors.As(err, &partial) || !strings.Contains(err.Error(), "query sum(up)") || !strings.Contains(err.Error(), "partial answers are refused") || !strings.Contains(err.Error(), "10.0.0.1:10901") {
		t.Errorf("a partial answer in ThanosQuery mode: %v", err)
	}
	if _, err := thanos.Alerts(ctx); !errors.As(err, &partial) {
		t.Errorf("partial alerts in ThanosQuery mode: %v", err)
	}
	plain, err := New(Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := plain.Query(ctx, "sum(up)", time.Time{}); err != nil || len(res.Warnings) != 1 {
		t.Errorf("without ThanosQuery mode: %+v %v", res, err)
	}
	// A Thanos Query answers PromQL's infos among its warnings: they are infos again.
	promqlOnly.Store(true)
	if res, err := thanos.Query(ctx, "sum(up)", time.Time{}); err != nil || len(res.Warnings) != 0 || len(res.Infos) != 1 {
		t.Errorf("a PromQL info in ThanosQuery mode: %+v %v", res, err)
	}
}

func TestPartialWarningLeavesTheLimitWarning(t *testing.T) {
	for _, tc := range []struct {
		warnings []string
		partial  bool
	}{
		{[]string{"results truncated due to limit"}, false},
		{[]string{"PromQL warning: encountered a mix of histograms and floats"}, false},
		{[]string{"results truncated due to limit", "receive series from Addr: 10.0.0.1:10901: EOF"}, true},
		{[]string{"fetch series for {a=\"b\"}: rpc error"}, true},
	} {
		if _, got := partialWarning(tc.warnings); got != tc.partial {
			t.Errorf("partialWarning(%q) = %v, want %v", tc.warnings, got, tc.partial)
		}
	}
}
