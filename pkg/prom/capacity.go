package prom

import (
	"context"
	"math"
	"net/url"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"golang.org/x/sync/errgroup"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Capacity reads what a stack's limits bound: the samples of the largest scrape and the samples
// per second the scrapes bring (PromQL over what Prometheus records of every scrape; unknown
// while the Prometheus holds less than promql.SamplesWindow), and the series in the head
// (HeadSeries), which a Thanos Query does not have and a server that does not answer leaves
// unknown. The three reads go out at once; a query that fails fails Capacity. It implements
// doctor.Prometheus.
func (c *Client) Capacity(ctx context.Context) (doctor.Capacity, error) {
	out := doctor.Capacity{LargestScrape: math.NaN(), SamplesPerSecond: math.NaN(), HeadSeries: math.NaN()}
	now := time.Now()
	// Each read writes its own field of out.
	g, gctx := errgroup.WithContext(ctx)
	for _, q := range []struct {
		expr  parser.Expr
		to    *float64
		empty float64 // the value of an empty answer
	}{
		{promql.LargestScrape(), &out.LargestScrape, math.NaN()},         // no scrape recorded
		{promql.ScrapedSamplesRate(), &out.SamplesPerSecond, math.NaN()}, // less than a window held
	} {
		g.Go(func() error {
			v, err := traffic.Scalar(gctx, c, q.expr, now, q.empty)
			if err != nil {
				return err
			}
			*q.to = v
			return nil
		})
	}
	if !c.thanos {
		g.Go(func() error {
			if n, err := c.HeadSeries(gctx); err == nil {
				out.HeadSeries = n
			}
			return nil
		})
	}
	err := g.Wait()
	return out, err
}

// HeadSeries reads how many series the TSDB head of the Prometheus holds
// (/api/v1/status/tsdb, headStats.numSeries): the series it keeps in memory now, which its memory
// follows. A Thanos Query has no head of its own; ask one Prometheus.
func (c *Client) HeadSeries(ctx context.Context) (float64, error) {
	const endpoint = "/api/v1/status/tsdb"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var data struct {
		HeadStats struct {
			NumSeries uint64 `json:"numSeries"`
		} `json:"headStats"`
	}
	// limit keeps the answer's top-10 lists (series by metric name, label pairs) to one entry.
	if err := c.fetch(ctx, endpoint, url.Values{"limit": {"1"}}, false, func(code int, body []byte) error {
		return c.decodeData(code, body, &data)
	}); err != nil {
		return 0, c.endpointError(endpoint, err)
	}
	return float64(data.HeadStats.NumSeries), nil
}
