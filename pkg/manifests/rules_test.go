package manifests

import (
	"maps"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
)

// TestAlertingRulesAreThePrometheusRules: what AlertingRules exports is, alert by alert and in
// order, what the stack's PrometheusRule holds, for every kind of stack.
func TestAlertingRulesAreThePrometheusRules(t *testing.T) {
	cases := specCases()
	quiet := DefaultTeamSpec("team-a", "team-a")
	quiet.Alerts = false
	cases["no-alerts"] = quiet
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := s.AlertingRules()
			if err != nil {
				t.Fatal(err)
			}
			var want []monitoringv1.Rule
			for _, pr := range find[*monitoringv1.PrometheusRule](build(t, s)) {
				for _, g := range pr.Spec.Groups {
					for _, r := range g.Rules {
						if r.Alert != "" {
							want = append(want, r)
						}
					}
				}
			}
			if len(got) != len(want) {
				t.Fatalf("AlertingRules has %d alerts, the PrometheusRule %d", len(got), len(want))
			}
			if s.Alerts && !s.noEnvoy() && len(got) == 0 {
				t.Fatal("a stack with alerts exports none")
			}
			for i, w := range want {
				g := got[i]
				if g.Alert != w.Alert || g.Expr != w.Expr.String() {
					t.Errorf("alert %d = %s %q, the PrometheusRule has %s %q", i, g.Alert, g.Expr, w.Alert, w.Expr.String())
				}
				var wantFor time.Duration
				if w.For != nil {
					d, err := model.ParseDuration(string(*w.For))
					if err != nil {
						t.Fatalf("%s for %q: %v", w.Alert, *w.For, err)
					}
					wantFor = time.Duration(d)
				}
				if g.For != wantFor || g.For <= 0 {
					t.Errorf("%s for %s, the PrometheusRule has %s", g.Alert, g.For, wantFor)
				}
				if !maps.Equal(g.Labels, w.Labels) || !maps.Equal(g.Annotations, w.Annotations) {
					t.Errorf("%s labels %v annotations %v, the PrometheusRule has %v %v", g.Alert, g.Labels, g.Annotations, w.Labels, w.Annotations)
				}
			}
		})
	}
}

// TestAlertingRulesOfTheDefaultStack pins what top's demo evaluates: the 5xx alert with its
// threshold and `for`, routed like every alert of the stack.
func TestAlertingRulesOfTheDefaultStack(t *testing.T) {
	rules, err := DefaultTeamSpec("demo", "edge").AlertingRules()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]AlertingRule{}
	for _, r := range rules {
		names[r.Alert] = r
	}
	r, ok := names["EnvoyUpstreamHigh5xxRatio"]
	if !ok {
		t.Fatalf("no 5xx alert among %v", rules)
	}
	if r.For != alert5xxFor || r.Labels["severity"] != severityCritical || r.Labels[AlertLabelTeam] != "demo" ||
		r.Labels[AlertLabelNamespace] != "edge" || r.Labels[AlertLabelEnvoyNamespace] != "{{ $labels.namespace }}" {
		t.Errorf("5xx alert = %+v", r)
	}
	if _, ok := names["EnvoyErrorBudgetBurn"]; ok {
		t.Error("a stack without an SLO has burn-rate alerts")
	}
}
