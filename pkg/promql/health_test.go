package promql

import (
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// TestHealthQueries pins the text of the overview's health queries and that each parses back as
// itself.
func TestHealthQueries(t *testing.T) {
	for _, tc := range []struct {
		expr parser.Expr
		want string
	}{
		{TargetsUp(), `sum(up)`},
		{Targets(), `count(up)`},
		{FiringAlerts(), `count(ALERTS{alertstate="firing"})`},
		{ScrapedSamplesRate(), `sum(sum_over_time(scrape_samples_post_metric_relabeling[5m])) / 300 and time() - min(min_over_time(timestamp(scrape_samples_post_metric_relabeling)[10m:1m])) >= 300 or vector(0) unless count(scrape_samples_post_metric_relabeling)`},
		{LargestScrape(), `max(scrape_samples_post_metric_relabeling)`},
		{StoreFrontier(Everything), `min(timestamp(up) > time() - 60) or max(timestamp(up))`},
		{StoreFrontier(Namespace(`a"b`)), `min(timestamp(up{namespace="a\"b"}) > time() - 60) or max(timestamp(up{namespace="a\"b"}))`},
	} {
		text, err := Check(tc.expr)
		if err != nil {
			t.Error(err)
		}
		if text != tc.want {
			t.Errorf("got %s, want %s", text, tc.want)
		}
	}
}
