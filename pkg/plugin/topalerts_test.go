package plugin

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"testing"
)

// TestTopDemoShowsAlerts: the demo evaluates the stack's alerting rules, so a snapshot lists the
// 5xx alert firing for the two failing clusters and the latency alert pending for the two slow
// ones, firing first, with the Envoys' namespace; healthy clusters have none.
func TestTopDemoShowsAlerts(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	out, stderr, err := run(t, "top", "--demo", "--once", "-o", "json")
	if err != nil {
		t.Fatalf("top --demo: %v: %s", err, stderr)
	}
	var snap struct {
		Alerts *[]struct {
			Name      string `json:"alertname"`
			State     string `json:"state"`
			Severity  string `json:"severity"`
			Cluster   string `json:"envoy_cluster_name"`
			Namespace string `json:"envoy_namespace"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Alerts == nil {
		t.Fatalf("the demo's snapshot has no \"alerts\": %s", out)
	}
	got := map[string]string{}
	var states []string
	for _, a := range *snap.Alerts {
		if a.Namespace != "edge" {
			t.Errorf("%s of %s is about envoy_namespace %q, want edge", a.Name, a.Cluster, a.Namespace)
		}
		got[a.Name+"/"+a.Cluster] = a.State + "/" + a.Severity
		states = append(states, a.State)
	}
	want := map[string]string{
		"EnvoyUpstreamHigh5xxRatio/payments_gateway_443":        "firing/critical",
		"EnvoyUpstreamHigh5xxRatio/shop_checkout-canary_8080":   "firing/critical",
		"EnvoyUpstreamHighLatencyP99/payments_gateway_443":      "pending/warning",
		"EnvoyUpstreamHighLatencyP99/shop_recommendations_8080": "pending/warning",
	}
	if !maps.Equal(got, want) {
		t.Errorf("alerts = %v, want %v", got, want)
	}
	if !slices.IsSortedFunc(states, func(a, b string) int { return alertStateRank(a) - alertStateRank(b) }) {
		t.Errorf("alerts are not firing first: %v", states)
	}
}

func alertStateRank(state string) int {
	if state == "firing" {
		return 0
	}
	return 1
}
