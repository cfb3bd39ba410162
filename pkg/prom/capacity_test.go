package prom

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// capacityServer answers Capacity's reads: the largest scrape, the samples per second and the
// head. A query or endpoint in fail answers 500. Every request waits until together requests are
// in flight at once (or its own ends), so reads sent one after another time out.
func capacityServer(t *testing.T, together int, fail ...string) *httptest.Server {
	t.Helper()
	largest, err := promql.Check(promql.LargestScrape())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	arrived, all := 0, make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The form is read first: the server notices a client that gave up only once the body
		// is read.
		query := r.FormValue("query")
		mu.Lock()
		if arrived++; arrived == together {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-r.Context().Done():
			return
		}
		for _, f := range fail {
			if f == query || f == r.URL.Path {
				http.Error(w, "overloaded", http.StatusInternalServerError)
				return
			}
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/status/tsdb"):
			_, _ = w.Write([]byte(`{"status":"success","data":{"headStats":{"numSeries":50000}}}`))
		case query == largest:
			_, _ = fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"900"]}]}}`, time.Now().Unix())
		default:
			_, _ = fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"1500"]}]}}`, time.Now().Unix())
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCapacityReadsAtOnce: Capacity's two queries and its head read are in flight at once; a
// Thanos Query is not asked for a head.
func TestCapacityReadsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		thanos   bool
		together int
		head     float64
	}{{false, 3, 50000}, {true, 2, math.NaN()}} {
		c, err := New(Config{URL: capacityServer(t, tc.together).URL, Timeout: 10 * time.Second, ThanosQuery: tc.thanos})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Capacity(context.Background())
		if err != nil {
			t.Fatalf("thanos %v: %v", tc.thanos, err)
		}
		if got.LargestScrape != 900 || got.SamplesPerSecond != 1500 || !sameNumber(got.HeadSeries, tc.head) {
			t.Errorf("thanos %v: %+v, want largest scrape 900, 1500/s, head %v", tc.thanos, got, tc.head)
		}
	}
}

// TestCapacityUnknownWhereUnanswered: a head that does not answer is unknown and the rest is
// known; a query that fails fails Capacity.
func TestCapacityUnknownWhereUnanswered(t *testing.T) {
	c, err := New(Config{URL: capacityServer(t, 3, "/api/v1/status/tsdb").URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Capacity(context.Background())
	if err != nil || got.LargestScrape != 900 || got.SamplesPerSecond != 1500 || !math.IsNaN(got.HeadSeries) {
		t.Errorf("head unanswered: %+v, %v; want 900, 1500/s, unknown head", got, err)
	}

	rate, err := promql.Check(promql.ScrapedSamplesRate())
	if err != nil {
		t.Fatal(err)
	}
	c, err = New(Config{URL: capacityServer(t, 3, rate).URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Capacity(context.Background()); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("a query unanswered: %v, want its 500", err)
	}
}

func sameNumber(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
