//go:build e2e

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
)

// bareRefresh is the baseline of the refresh benchmarks: it sends queries to the Prometheus at
// base for instant at, all at once, with a plain net/http client, and hands each answer's body to
// read.
func bareRefresh(ctx context.Context, client *http.Client, base string, queries []string, at time.Time, read func(io.Reader) error) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, q := range queries {
		g.Go(func() error {
			form := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64)}}
			req, err := http.NewRequestWithContext(gctx, http.MethodGet, base+"/api/v1/query?"+form.Encode(), nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("bare query %s: %s", q, resp.Status)
			}
			if err := read(resp.Body); err != nil {
				return fmt.Errorf("bare query %s: %w", q, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// discard reads an answer without decoding it.
func discard(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
