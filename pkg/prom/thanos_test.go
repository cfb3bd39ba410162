package prom

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
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
