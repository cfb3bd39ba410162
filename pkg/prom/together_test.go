package prom

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// paddedAnswer is an empty vector answer of size bytes, padded with white space.
func paddedAnswer(size int) string {
	const head = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	return head + strings.Repeat(" ", size-len(head))
}

// TestAnswersReadAtOnceShareTheLimit sends nine queries at once to a Prometheus whose answers are
// each within the limit, but not together: some fail, saying the answers read at once are over the
// limit. One at a time, the same answers all succeed: what an answer held is given back.
func TestAnswersReadAtOnceShareTheLimit(t *testing.T) {
	const (
		limit   = 4 << 20
		size    = 3 << 20
		queries = 9
	)
	body := paddedAnswer(size)
	var (
		mu      sync.Mutex
		waiting int
		all     = make(chan struct{})
		gate    = false
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body[:size/2]))
		w.(http.Flusher).Flush()
		mu.Lock()
		if gate {
			waiting++
			if waiting == queries {
				close(all)
			}
		}
		wait := gate
		mu.Unlock()
		if wait {
			select {
			case <-all:
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
		_, _ = w.Write([]byte(body[size/2:]))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL, MaxAnswerBytes: limit, Timeout: 20 * time.Second, DisableCompression: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range queries {
		if _, err := c.Query(context.Background(), "up", time.Time{}); err != nil {
			t.Fatalf("query %d of a sequence: %v", i, err)
		}
	}

	mu.Lock()
	gate = true
	mu.Unlock()
	errs := make([]error, queries)
	var wg sync.WaitGroup
	for i := range queries {
		wg.Go(func() { _, errs[i] = c.Query(context.Background(), "up", time.Time{}) })
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		var big *AnswerTooLargeError
		switch {
		case err == nil:
		case errors.As(err, &big) && big.Together &&
			strings.HasSuffix(err.Error(), "the answers read at once are larger than the limit of 4Mi together; raise it with --prometheus-max-answer-size, e.g. 8Mi"):
			failed++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if failed == 0 {
		t.Error("nine answers of 3Mi were read at once within a limit of 4Mi")
	}
	if held := c.limit.held.Load(); held != 0 {
		t.Errorf("%d bytes still held after every query returned", held)
	}
	if _, err := c.Query(context.Background(), "up", time.Time{}); err != nil {
		t.Errorf("a query after the failures: %v", err)
	}
}
