package doctor

import (
	"fmt"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// duplicateFacts are the other Prometheus objects of the cluster.
type duplicateFacts struct {
	others []monitoringv1.Prometheus
	err    error
}

func (d *doctor) gatherDuplicates(p *monitoringv1.Prometheus) duplicateFacts {
	all, err := d.c.ListPrometheuses(d.ctx, "", nil)
	f := duplicateFacts{err: err}
	for _, other := range all {
		if other.Namespace != p.Namespace || other.Name != p.Name {
			f.others = append(f.others, other)
		}
	}
	return f
}

// evalDuplicates finds other Prometheus servers whose selectors also pick the team's monitors:
// a central Prometheus with {} selectors and namespace selectors scrapes every Envoy a second
// time.
func evalDuplicates(p *monitoringv1.Prometheus, objs objectFacts, f duplicateFacts) Result {
	if f.err != nil {
		return skipped(fmt.Sprintf("cannot list Prometheus objects in every namespace: %v", oneLine(f.err.Error())))
	}
	mine := map[string]bool{}
	var monitors []object
	for _, m := range objs.selectedPodMonitors(p) {
		monitors = append(monitors, object{kindPodMonitor, m.Namespace, m.Name, m.Labels})
	}
	for _, m := range objs.selectedEnvoyServiceMonitors(p) {
		monitors = append(monitors, object{kindServiceMonitor, m.Namespace, m.Name, m.Labels})
	}
	for _, m := range monitors {
		mine[m.namespace+"/"+m.name] = true
	}
	var findings []string
	var fixes []string
	for _, other := range f.others {
		var picked []string
		for _, m := range monitors {
			if selects(&other, m, objs.nsLabels).selected {
				picked = append(picked, m.namespace+"/"+m.name)
			}
		}
		if len(picked) == 0 {
			continue
		}
		sort.Strings(picked)
		findings = append(findings, fmt.Sprintf("Prometheus %s/%s also selects %s", other.Namespace, other.Name, strings.Join(picked, ", ")))
		fixes = append(fixes, fmt.Sprintf("narrow Prometheus %s/%s's monitor selectors (kube-prometheus-stack selects only monitors labelled release=<release>) or its namespace selectors so they skip namespace %s",
			other.Namespace, other.Name, p.Namespace))
	}
	if len(findings) == 0 {
		return passed(fmt.Sprintf("no other Prometheus selects the team's %d monitors", len(mine)))
	}
	return failed(strings.Join(findings, "; ")+": the team's Envoys are scraped twice",
		strings.Join(fixes, "; ")+"; or let the team's Prometheus go and query the central one")
}
