package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// Series the envoy-series check looks for.
const (
	envoyRequests = "envoy_cluster_upstream_rq_total"
	istioRequests = "istio_requests_total"
)

type liveFacts struct {
	targets    []Target
	targetsErr error
	envoy      bool
	istio      bool
	seriesErr  error
	// The Alertmanagers Prometheus sends alerts to.
	alertmanagers    []string
	alertmanagersErr error
	// What the stack's limits bound.
	capacity    Capacity
	capacityErr error
}

func (d *doctor) gatherLive() liveFacts {
	var f liveFacts
	ctx, cancel := context.WithTimeout(d.ctx, liveTimeout)
	defer cancel()
	f.targets, f.targetsErr = d.p.Targets(ctx)
	if f.targetsErr != nil {
		return f
	}
	f.envoy, f.seriesErr = d.p.HasSeries(ctx, envoyRequests)
	if f.seriesErr == nil && !f.envoy {
		f.istio, f.seriesErr = d.p.HasSeries(ctx, istioRequests)
	}
	f.alertmanagers, _, f.alertmanagersErr = d.p.Alertmanagers(ctx)
	f.capacity, f.capacityErr = d.p.Capacity(ctx)
	return f
}

// targetName names a target by the monitor the operator made its scrape pool from
// (podMonitor/<namespace>/<name>/<endpoint>), else by its pool, followed by its URL.
func targetName(t Target) string {
	parts := strings.Split(t.ScrapePool, "/")
	if len(parts) == 4 {
		switch parts[0] {
		case "podMonitor":
			return fmt.Sprintf("PodMonitor %s/%s endpoint %s target %s", parts[1], parts[2], parts[3], t.ScrapeURL)
		case "serviceMonitor":
			return fmt.Sprintf("ServiceMonitor %s/%s endpoint %s target %s", parts[1], parts[2], parts[3], t.ScrapeURL)
		}
	}
	return fmt.Sprintf("target %s (scrape pool %s)", t.ScrapeURL, t.ScrapePool)
}

// scrapeFix is the remedy for a scrape error, by what Prometheus reported.
func scrapeFix(lastError string) string {
	e := strings.ToLower(lastError)
	switch {
	case strings.Contains(e, "404"):
		return "Envoy serves /stats/prometheus: set path: /stats/prometheus on the monitor's endpoint (metrics are not at the scraped path)"
	case strings.Contains(e, "content-type"):
		return "set fallbackScrapeProtocol: PrometheusText0.0.4 on the monitor: Prometheus 3 rejects a scrape without a valid Content-Type"
	case strings.Contains(e, "sample limit"):
		return "the target exposes more samples than the sample limit: drop series with metricRelabelings on the monitor, or raise sampleLimit on the monitor and the Prometheus' enforcedSampleLimit (kubectl promteam create --sample-limit N --apply)"
	case strings.Contains(e, "body size limit"):
		return "the response is larger than the body size limit: drop series (Envoy's /stats/prometheus?usedonly) or raise bodySizeLimit"
	case strings.Contains(e, "deadline exceeded") || strings.Contains(e, "timeout"):
		return "the scrape timed out: raise scrapeTimeout on the monitor, or use /stats/prometheus?usedonly to make the response smaller"
	case strings.Contains(e, "401") || strings.Contains(e, "403"):
		return "the target refused the scrape: configure authorization on the monitor's endpoint"
	case strings.Contains(e, "connection refused") || strings.Contains(e, "no route to host") || strings.Contains(e, "i/o timeout"):
		return "Prometheus cannot connect: check that the pod runs, listens on that port, and that no NetworkPolicy blocks the Prometheus pods"
	}
	return "make the target answer the scrape: " + lastError
}

// targetHealth counts the targets up and those not scraped yet, and gives a reason for every
// target down and the fixes for them, each fix once.
func targetHealth(targets []Target) (up, pending int, down, fixes []string) {
	for _, t := range targets {
		switch t.Health {
		case HealthUp:
			up++
		case HealthDown:
			down = append(down, fmt.Sprintf("%s is down: %s", targetName(t), t.LastError))
			if fix := scrapeFix(t.LastError); !slices.Contains(fixes, fix) {
				fixes = append(fixes, fix)
			}
		default:
			pending++
		}
	}
	return up, pending, down, fixes
}

func evalTargets(f liveFacts) Result {
	if len(f.targets) == 0 {
		return failed("Prometheus has no active scrape targets",
			"Prometheus found no targets for the team's monitors: see the selection, ports and rbac checks")
	}
	up, pending, reasons, fixes := targetHealth(f.targets)
	if len(reasons) > 0 {
		return failed(strings.Join(reasons, "\n"), strings.Join(fixes, "\n"))
	}
	if up == 0 {
		return skipped(fmt.Sprintf("none of the %d targets has been scraped yet", pending))
	}
	reason := fmt.Sprintf("%d targets up", up)
	if pending > 0 {
		reason += fmt.Sprintf(", %d not scraped yet", pending)
	}
	return passed(reason)
}

func evalEnvoySeries(p *monitoringv1.Prometheus, f liveFacts) Result {
	if f.seriesErr != nil {
		return skipped("cannot query Prometheus: " + f.seriesErr.Error())
	}
	if f.envoy {
		return passed(envoyRequests + " present")
	}
	if f.istio {
		// Istio's sidecars keep Envoy's cluster statistics out unless proxyStatsMatcher asks for
		// them: top and compare read Istio's standard metrics instead, the rules only with the
		// istio preset.
		if p != nil && slices.Contains(strings.Split(p.Annotations[manifests.AnnotationEnvoy], ","), string(manifests.PresetIstio)) {
			return passed(istioRequests + " present (Istio's standard metrics, which top, compare and the stack's rules read; Istio keeps Envoy's cluster statistics out by default)")
		}
		team, ns := "TEAM", "NAMESPACE"
		if p != nil {
			team, ns = teamOf(p), p.Namespace
		}
		return failed("only "+istioRequests+" (Istio's standard metrics, which top and compare read): the stack's recording rules, alerts and dashboard read "+envoyRequests+", which Istio keeps out by default",
			fmt.Sprintf("have the rules read Istio's standard metrics: kubectl promteam create %s -n %s --envoy istio --apply\n"+
				"or have the sidecars keep Envoy's cluster statistics: annotation proxy.istio.io/config: '{\"proxyStatsMatcher\":{\"inclusionPrefixes\":[\"cluster.outbound\"]}}'",
				team, ns))
	}
	return failed("Prometheus has no "+envoyRequests+" series: nothing is scraped from Envoy",
		"see the targets check: the Envoy targets must be up and serve /stats/prometheus (with Envoy's statsd sink use --envoy statsd)")
}
