package manifests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
)

func TestGrafanaDashboard(t *testing.T) {
	for _, presets := range [][]Preset{{PresetEnvoy}, {PresetIstio}, {PresetContour, PresetStatsd}} {
		s := DefaultTeamSpec("team-a", "team-a")
		s.Presets = presets
		s.GrafanaDashboard = true
		var cm *corev1.ConfigMap
		for _, c := range find[*corev1.ConfigMap](build(t, s)) {
			if c.Labels[GrafanaDashboardLabel] == "1" {
				cm = c
			}
		}
		if cm == nil {
			t.Fatalf("%v: no ConfigMap labelled %s=1", presets, GrafanaDashboardLabel)
		}
		if len(cm.Data) != 1 {
			t.Fatalf("%d data keys", len(cm.Data))
		}
		for key, body := range cm.Data {
			if !strings.HasSuffix(key, ".json") {
				t.Errorf("data key %q: the sidecar loads *.json", key)
			}
			var d dashboard
			if err := json.Unmarshal([]byte(body), &d); err != nil {
				t.Fatal(err)
			}
			if d.UID == "" || len(d.UID) > 40 {
				t.Errorf("uid %q must be 1..40 characters", d.UID)
			}
			if len(d.Panels) < 6 {
				t.Errorf("%d panels", len(d.Panels))
			}
			for _, p := range d.Panels {
				for _, target := range p.Targets {
					expr, err := parser.NewParser(parser.Options{}).ParseExpr(target.Expr)
					if err != nil {
						t.Errorf("panel %q: %v", p.Title, err)
						continue
					}
					// Panels read recorded series only, so the dashboard stays cheap.
					parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
						if vs, ok := n.(*parser.VectorSelector); ok && !strings.HasPrefix(vs.Name, "envoy_cluster:") {
							t.Errorf("panel %q reads raw series %s", p.Title, vs.Name)
						}
						return nil
					})
				}
			}
			hasActive := strings.Contains(body, "upstream_rq_active")
			if istioOnly := len(presets) == 1 && presets[0] == PresetIstio; hasActive == istioOnly {
				t.Errorf("%v: active-requests panel present = %v", presets, hasActive)
			}
		}
	}
}
