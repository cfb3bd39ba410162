package plugin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// frontierStore is a --prometheus-url whose samples reach frontier: it answers the frontier query
// with that instant, every other query with nothing, and records each query with its instant
// (the end of a range).
type frontierStore struct {
	frontier time.Time
	mu       sync.Mutex
	asked    []askedAt
}

type askedAt struct {
	query string
	at    time.Time
}

func (s *frontierStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	param, body := "time", `{"status":"success","data":{"resultType":"vector","result":[]}}`
	if strings.HasSuffix(r.URL.Path, "/query_range") {
		param, body = "end", `{"status":"success","data":{"resultType":"matrix","result":[]}}`
	}
	secs, err := strconv.ParseFloat(r.Form.Get(param), 64)
	if err != nil {
		http.Error(w, "bad "+param, http.StatusBadRequest)
		return
	}
	q := r.Form.Get("query")
	s.mu.Lock()
	s.asked = append(s.asked, askedAt{q, time.UnixMilli(int64(secs * 1000))})
	s.mu.Unlock()
	if strings.Contains(q, "timestamp(up") {
		body = fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%s,"%.3f"]}]}}`,
			r.Form.Get(param), float64(s.frontier.UnixMilli())/1000)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

func (s *frontierStore) queries() []askedAt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]askedAt(nil), s.asked...)
}

// TestPrometheusURLIsReadAtItsFrontier: top and compare with --prometheus-url first ask how far
// the store's samples of the Envoys they read reach, at the clock, and then read everything,
// dialect discovery included, at that instant; top's JSON says so.
func TestPrometheusURLIsReadAtItsFrontier(t *testing.T) {
	for _, args := range [][]string{
		{"top", "--envoy-namespace", "shop", "--dialect", "envoy", "--once", "-o", "json"},
		{"top", "--envoy-namespace", "shop", "--once", "-o", "json"},
		{"compare", "--envoy-namespace", "shop", "--dialect", "envoy", "--baseline", "a", "--canary", "b", "-o", "json"},
		{"compare", "--envoy-namespace", "shop", "--baseline", "a", "--canary", "b", "-o", "json"},
	} {
		store := &frontierStore{frontier: time.Now().Add(-9 * time.Second).Truncate(time.Millisecond)}
		srv := httptest.NewServer(store)
		begin := time.Now().Truncate(time.Millisecond)
		stdout, stderr, err := run(t, append(args, "--prometheus-url", srv.URL)...)
		srv.Close()
		name := strings.Join(args, " ")
		// The store holds no Envoy statistics: discovery says so, and compare finds no cluster to
		// compare; top with a given dialect prints no rows.
		if err != nil && !strings.Contains(err.Error(), "no Envoy cluster statistics") && !strings.Contains(err.Error(), "no Envoy cluster matches") {
			t.Errorf("%s: %v (%s)", name, err, stderr)
		}
		asked := store.queries()
		if len(asked) < 2 || asked[0].query != `min(timestamp(up{namespace="shop"}) > time() - 60) or max(timestamp(up{namespace="shop"}))` || asked[0].at.Before(begin) {
			t.Errorf("%s: asked %v first, want the frontier of namespace shop's targets at the clock", name, asked[:min(len(asked), 1)])
			continue
		}
		for _, a := range asked[1:] {
			if !a.at.Equal(store.frontier) {
				t.Errorf("%s: %q read at %s, want the frontier %s", name, a.query, a.at.Format(time.RFC3339Nano), store.frontier.Format(time.RFC3339Nano))
			}
		}
		if args[0] == "top" && slices.Contains(args, "--dialect") && !strings.Contains(stdout, `"at": "`+store.frontier.UTC().Format(time.RFC3339Nano)+`"`) {
			t.Errorf("%s: the snapshot's instant is not the frontier %s:\n%.300s", name, store.frontier.UTC().Format(time.RFC3339Nano), stdout)
		}
	}
}
