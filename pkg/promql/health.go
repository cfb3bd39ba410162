package promql

import (
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// The queries of a stack's health in the platform overview (top -A). They read what every
// Prometheus records of its own scrapes (up and scrape_samples_post_metric_relabeling, one series
// per target) and of its alerts (ALERTS), so they need no self-scrape, and a Thanos Query
// deduplicates them like any other series.
const (
	metricUp            = "up"
	metricScrapeSamples = "scrape_samples_post_metric_relabeling"
	metricAlerts        = "ALERTS"
)

// SamplesWindow is the window ScrapedSamplesRate averages over.
const SamplesWindow = 5 * time.Minute

// TargetsUp is sum(up): the targets whose last scrape succeeded.
func TargetsUp() parser.Expr { return SumBy(Series(metricUp)) }

// Targets is count(up): every target Prometheus scrapes.
func Targets() parser.Expr { return Count(Series(metricUp)) }

// FiringAlerts is count(ALERTS{alertstate="firing"}): the alerts firing now, one per label set.
func FiringAlerts() parser.Expr {
	return Count(Series(metricAlerts, Eq("alertstate", "firing")))
}

// ScrapedSamplesRate is the samples per second the scrapes bring after relabelling, over the
// last SamplesWindow: sum(sum_over_time(scrape_samples_post_metric_relabeling[5m])) / 300. Every
// scrape records how many samples it kept, so the window's sum is every sample kept in it. A
// Prometheus younger than the window reads low by the share of the window it missed.
func ScrapedSamplesRate() parser.Expr {
	kept := call("sum_over_time", &parser.MatrixSelector{VectorSelector: Series(metricScrapeSamples), Range: SamplesWindow})
	return Div(SumBy(kept), Num(SamplesWindow.Seconds()))
}

// LargestScrape is max(scrape_samples_post_metric_relabeling): the samples of the largest
// scrape, which enforcedSampleLimit bounds (a scrape over it fails whole).
func LargestScrape() parser.Expr { return MaxBy(Series(metricScrapeSamples)) }
