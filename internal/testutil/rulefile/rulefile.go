// Package rulefile writes the rules of a team's stack as a Prometheus rule file, so tests can load
// the very recording rules `create` writes into a real Prometheus (promtest.Options.RuleFiles).
//
//	path := rulefile.Write(t, manifests.DefaultTeamSpec("team-a", "edge"), 0)
//	srv := promtest.Start(t, targets, promtest.Options{RuleFiles: []string{path}})
package rulefile

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// Write builds spec's stack and writes the groups of its PrometheusRule, as the operator hands
// them to Prometheus, into a file in a temporary directory of t, returning its path. A non-zero
// interval sets every group's evaluation interval; zero leaves Prometheus' global one.
func Write(t testing.TB, spec manifests.TeamSpec, interval time.Duration) string {
	t.Helper()
	st, err := manifests.Build(spec)
	if err != nil {
		t.Fatalf("rulefile: build the stack: %v", err)
	}
	var rule *monitoringv1.PrometheusRule
	for _, o := range st.Objects {
		if r, ok := o.(*monitoringv1.PrometheusRule); ok {
			rule = r
		}
	}
	if rule == nil {
		t.Fatalf("rulefile: the stack of team %s has no PrometheusRule", spec.Team)
	}
	groups := rule.Spec.DeepCopy().Groups
	if interval > 0 {
		for i := range groups {
			groups[i].Interval = ptr.To(monitoringv1.Duration(model.Duration(interval).String()))
		}
	}
	b, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), spec.Team+"-rules.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
