package prom

import (
	"context"
	"math"
	"net/url"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Capacity reads what a stack's limits bound: the samples of the largest scrape and the samples
// per second the scrapes bring (PromQL over what Prometheus records of every scrape), and the
// series in the head (HeadSeries), which a Thanos Query does not have and a server that does not
// answer leaves unknown. It implements doctor.Prometheus.
func (c *Client) Capacity(ctx context.Context) (doctor.Capacity, error) {
	out := doctor.Capacity{LargestScrape: math.NaN(), SamplesPerSecond: math.NaN(), HeadSeries: math.NaN()}
	now := time.Now()
	for _, q := range []struct {
		expr  parser.Expr
		to    *float64
		empty float64 // the value of an empty answer: no scrape recorded
	}{
		{promql.LargestScrape(), &out.LargestScrape, math.NaN()},
		{promql.ScrapedSamplesRate(), &out.SamplesPerSecond, 0},
	} {
		v, err := traffic.Scalar(ctx, c, q.expr, now, q.empty)
		if err != nil {
			return out, err
		}
		*q.to = v
	}
	if !c.thanos {
		if n, err := c.HeadSeries(ctx); err == nil {
			out.HeadSeries = n
		}
	}
	return out, nil
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
