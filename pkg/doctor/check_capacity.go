package doctor

import (
	"fmt"
	"math"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/overview"
)

// Capacity is what a stack's limits bound, as its Prometheus reports it. A number not known is
// NaN.
type Capacity struct {
	// LargestScrape is the samples of the largest scrape, after relabelling: enforcedSampleLimit
	// bounds each scrape.
	LargestScrape float64
	// SamplesPerSecond is what the scrapes bring, after relabelling, over the last 5 minutes (NaN
	// while the Prometheus holds less than that: it would read low).
	SamplesPerSecond float64
	// HeadSeries is the series in the head of the Prometheus answering (NaN through a Thanos
	// Query, which has none): its memory follows them.
	HeadSeries float64
}

// evalCapacity compares what the Prometheus holds with the stack's limits: the largest scrape
// with enforcedSampleLimit, the largest scrape pool with enforcedTargetLimit, and the memory the
// head implies with the container's limit (more than half fails: compaction, queries and rules
// need as much again at their peak).
func evalCapacity(p *monitoringv1.Prometheus, targets []Target, c Capacity, err error) Result {
	if err != nil {
		return skipped("cannot query Prometheus: " + err.Error())
	}
	team, ns := "TEAM", "NAMESPACE"
	var sampleLimit, targetLimit, memoryLimit float64
	if p != nil {
		team, ns = teamOf(p), p.Namespace
		if p.Spec.EnforcedSampleLimit != nil {
			sampleLimit = float64(*p.Spec.EnforcedSampleLimit)
		}
		if p.Spec.EnforcedTargetLimit != nil {
			targetLimit = float64(*p.Spec.EnforcedTargetLimit)
		}
		if q, ok := p.Spec.Resources.Limits[corev1.ResourceMemory]; ok {
			memoryLimit = float64(q.Value())
		}
	}
	pool, poolTargets := largestPool(targets)
	memory := overview.HeadMemory(c.HeadSeries)

	var problems, fixes []string
	if sampleLimit > 0 && c.LargestScrape >= overview.NearLimit*sampleLimit {
		problems = append(problems, fmt.Sprintf("the largest scrape brings %.0f samples, %.0f%% of the sample limit %.0f: past it the whole scrape fails", c.LargestScrape, 100*c.LargestScrape/sampleLimit, sampleLimit))
		fixes = append(fixes, fmt.Sprintf("drop series the team does not read (metricRelabelings on the monitor), or raise the limit: kubectl promteam create %s -n %s --sample-limit %.0f --apply", team, ns, 2*sampleLimit))
	}
	if targetLimit > 0 && float64(poolTargets) >= overview.NearLimit*targetLimit {
		problems = append(problems, fmt.Sprintf("scrape pool %s has %d targets, %.0f%% of the target limit %.0f: past it none of its targets are scraped", pool, poolTargets, 100*float64(poolTargets)/targetLimit, targetLimit))
		fixes = append(fixes, fmt.Sprintf("raise the limit: kubectl promteam create %s -n %s --target-limit %.0f --apply, or narrow the monitor's selector", team, ns, 2*targetLimit))
	}
	if overview.OverMemory(memory, memoryLimit) {
		problems = append(problems, fmt.Sprintf("%.0f series in the head need about %s, over half the memory limit %s (compaction, queries and rules need as much again at their peak)", c.HeadSeries, overview.FormatBytes(memory), overview.FormatBytes(memoryLimit)))
		double := resource.NewQuantity(int64(2*memoryLimit), resource.BinarySI)
		fixes = append(fixes, fmt.Sprintf("raise the memory: kubectl promteam create %s -n %s --memory-limit %s --apply, or split the targets: --shards 2 --thanos", team, ns, double))
	}
	if len(problems) > 0 {
		return failed(strings.Join(problems, "\n"), strings.Join(fixes, "\n"))
	}

	var facts []string
	if !math.IsNaN(c.LargestScrape) {
		facts = append(facts, "largest scrape "+ofLimit(c.LargestScrape, sampleLimit, "samples"))
	}
	if poolTargets > 0 {
		facts = append(facts, "largest scrape pool "+ofLimit(float64(poolTargets), targetLimit, "targets"))
	}
	if !math.IsNaN(c.HeadSeries) {
		head := fmt.Sprintf("%.0f series in the head (about %s", c.HeadSeries, overview.FormatBytes(memory))
		if memoryLimit > 0 {
			head += " of the " + overview.FormatBytes(memoryLimit) + " limit"
		}
		facts = append(facts, head+")")
	}
	if !math.IsNaN(c.SamplesPerSecond) {
		facts = append(facts, fmt.Sprintf("%.0f samples/s", c.SamplesPerSecond))
	}
	if len(facts) == 0 {
		return passed("no scrapes yet: nothing near a limit")
	}
	return passed(strings.Join(facts, ", "))
}

// ofLimit prints n and, when there is one, the limit it is counted against.
func ofLimit(n, limit float64, unit string) string {
	if limit <= 0 {
		return fmt.Sprintf("%.0f %s (no limit)", n, unit)
	}
	return fmt.Sprintf("%.0f of %.0f %s", n, limit, unit)
}

// largestPool is the scrape pool with the most targets, and how many it has: enforcedTargetLimit
// counts the targets of each.
func largestPool(targets []Target) (string, int) {
	count := map[string]int{}
	for _, t := range targets {
		count[t.ScrapePool]++
	}
	best, n := "", 0
	for pool, c := range count {
		if c > n || (c == n && pool < best) {
			best, n = pool, c
		}
	}
	return best, n
}
