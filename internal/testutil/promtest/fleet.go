package promtest

import (
	"net/http/httptest"
	"testing"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// ServeFleet serves each pod of fleet as a stock Envoy's /stats/prometheus on a server of its
// own, closed when tb ends, and returns them as targets labelled with namespace and the pod.
func ServeFleet(tb testing.TB, fleet *envoysim.Fleet, namespace string) []Target {
	tb.Helper()
	var targets []Target
	for _, pod := range fleet.Pods {
		envoy := httptest.NewServer(fleet.Handler(pod, envoysim.Stock, nil))
		tb.Cleanup(envoy.Close)
		targets = append(targets, Target{URL: envoy.URL + "/stats/prometheus", Labels: map[string]string{"namespace": namespace, "pod": pod}})
	}
	return targets
}
