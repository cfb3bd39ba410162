//go:build e2e

package prom

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
)

// TestAgainstARealPrometheus queries a real Prometheus (scraping itself): a vector comes back,
// a scalar answer is refused by type, and a bad query reports Prometheus' error with the query.
func TestAgainstARealPrometheus(t *testing.T) {
	srv := promtest.Start(t, nil, promtest.Options{ScrapeInterval: time.Second})
	c, err := New(Config{URL: srv.URL(), Timeout: 5 * time.Second, UserAgent: "kubectl-promteam/test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.Query(ctx, `vector(42)`, time.Now())
	if err != nil || len(res.Vector) != 1 || res.Vector[0].Value != 42 {
		t.Fatalf("vector(42) = %+v, %v", res, err)
	}
	_, err = c.Query(ctx, `1 + 1`, time.Now())
	if err == nil || !strings.Contains(err.Error(), "not an instant vector") || !strings.Contains(err.Error(), "1 + 1") {
		t.Errorf("scalar answer: %v", err)
	}
	_, err = c.Query(ctx, `sum by (x`, time.Now())
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Query != "sum by (x" || !strings.Contains(err.Error(), "bad_data") {
		t.Errorf("bad query: %v", err)
	}

	srv.Stop()
	_, err = c.Query(ctx, `vector(1)`, time.Now())
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach Prometheus at "+srv.URL()) {
		t.Errorf("stopped Prometheus: %v", err)
	}
}

// TestCompression asks a real Prometheus for gzip answers by default and for plain ones with
// DisableCompression, with the same result either way.
func TestCompression(t *testing.T) {
	srv := promtest.Start(t, nil, promtest.Options{ScrapeInterval: time.Second})
	front := promtest.Front(t, srv.URL())
	for _, tc := range []struct {
		disable bool
		want    string
	}{{false, "gzip"}, {true, ""}} {
		c, err := New(Config{URL: front.URL, Timeout: 5 * time.Second, DisableCompression: tc.disable})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Query(context.Background(), `vector(42)`, time.Now())
		if err != nil || len(res.Vector) != 1 || res.Vector[0].Value != 42 {
			t.Errorf("DisableCompression %v: vector(42) = %+v, %v", tc.disable, res, err)
		}
		if got := front.Take(); !promtest.All(got, tc.want) {
			t.Errorf("DisableCompression %v: asked for %q, want %q", tc.disable, got, tc.want)
		}
	}
}
