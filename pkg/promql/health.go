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
// scrape records how many samples it kept, so the window's sum is every sample kept in it.
//
// A Prometheus that holds less than the window would read low by the share it missed, so the
// answer is empty, the number unknown, until its oldest scrape is a window old. The oldest is
// looked for over twice the window by a subquery at a fifth of the window's resolution, which
// can only find it younger than it is, never older. With no scrape at all the answer is 0.
func ScrapedSamplesRate() parser.Expr {
	kept := Series(metricScrapeSamples)
	window := SamplesWindow.Seconds()
	rate := Div(SumBy(call("sum_over_time", &parser.MatrixSelector{VectorSelector: kept, Range: SamplesWindow})), Num(window))
	oldest := &parser.AggregateExpr{Op: parser.MIN, Expr: call("min_over_time",
		&parser.SubqueryExpr{Expr: call("timestamp", kept), Range: 2 * SamplesWindow, Step: SamplesWindow / 5})}
	covered := binary(parser.GTE, binary(parser.SUB, call("time"), oldest, nil), Num(window), nil)
	none := binary(parser.LUNLESS, call("vector", Num(0)), Count(kept), nil)
	return Or(And(rate, covered), none)
}

// LargestScrape is max(scrape_samples_post_metric_relabeling): the samples of the largest
// scrape, which enforcedSampleLimit bounds (a scrape over it fails whole).
func LargestScrape() parser.Expr { return MaxBy(Series(metricScrapeSamples)) }

// FreshWithin is how recent a target's newest scrape must be for StoreFrontier to wait for it. A
// target silent for longer has stopped, or the Prometheus that wrote it has, and is not waited
// for.
const FreshWithin = time.Minute

// StoreFrontier is the latest instant up to which a store holds the scrapes of every target of
// sel that is still written: the oldest of their newest scrapes,
//
//	min(timestamp(up{sel}) > time() - 60) or max(timestamp(up{sel}))
//
// Every scrape records up, success or not, and remote write sends it with the scrape's samples,
// so a store fed late (Mimir, Cortex, a Thanos Receive) answers an instant before the lag. A
// window's rate read there ends where the samples do, instead of reading low by the share of the
// window the store has not received yet. Only targets scraped within FreshWithin count; when none
// is, the answer is the newest scrape of all, the last the store received.
func StoreFrontier(sel Selector) parser.Expr {
	stamps := func() parser.Expr { return call("timestamp", sel.series(metricUp)) }
	fresh := Gt(stamps(), binary(parser.SUB, call("time"), Num(FreshWithin.Seconds()), nil))
	return Or(&parser.AggregateExpr{Op: parser.MIN, Expr: fresh}, MaxBy(stamps()))
}
