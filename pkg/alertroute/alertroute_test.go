package alertroute

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"go.yaml.in/yaml/v2"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// Matcher strategies of the operator's Alertmanager resource.
const (
	onNamespace       = "OnNamespace"
	exceptAMNamespace = "OnNamespaceExceptForAlertmanagerNamespace"
	none              = "None"
)

// teamStack builds team's stack with one receiver of every kind --notify makes, each taking the
// severities it takes by default, and returns its AlertmanagerConfig.
func teamStack(t *testing.T, team, namespace string) *monitoringv1alpha1.AlertmanagerConfig {
	t.Helper()
	s := manifests.DefaultTeamSpec(team, namespace)
	s.Alerting = manifests.Alerting{Delivery: manifests.DeliverShared, Namespace: "monitoring", Name: "main",
		Service: manifests.DefaultAlertmanagerService, ConfigLabels: map[string]string{"alertmanagerConfig": "teams"}}
	for _, flag := range []string{
		"slack=slack/url,channel=#" + team, "pagerduty=pd/key", "webhook=hook/url,severity=warning",
		"msteams=teams/url,severity=critical", "email=" + team + "@example.com,smarthost=smtp.example.com:587,from=am@example.com",
	} {
		r, err := manifests.ParseReceiver(flag)
		if err != nil {
			t.Fatal(err)
		}
		s.Alerting.Receivers = append(s.Alerting.Receivers, r)
	}
	st, err := manifests.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range st.Objects {
		if amc, ok := o.(*monitoringv1alpha1.AlertmanagerConfig); ok {
			return amc
		}
	}
	t.Fatal("the stack has no AlertmanagerConfig")
	return nil
}

// generated writes the configuration the Prometheus Operator generates for an Alertmanager in
// amNamespace with no configuration of its own (a root route to "null") that selects the
// AlertmanagerConfigs amcs: each one's route under the root with continue: true, its receivers
// and routes prefixed NAMESPACE/NAME/, and under the strategy a namespace matcher on its top route
// and inhibition rules (pkg/alertmanager/amcfg.go: convertRoute, namespaceEnforcer,
// otherNamespaceEnforcer, continueToNextRoute). Secrets hold the values the operator resolves.
func generated(t *testing.T, strategy, amNamespace string, amcs ...*monitoringv1alpha1.AlertmanagerConfig) string {
	t.Helper()
	type m = map[string]any
	var routes, receivers, inhibits []any
	receivers = append(receivers, m{"name": "null"})
	for _, amc := range amcs {
		ns, prefix := amc.Namespace, amc.Namespace+"/"+amc.Name+"/"
		enforce := strategy == onNamespace || (strategy == exceptAMNamespace && ns != amNamespace)
		var convert func(r *monitoringv1alpha1.Route, top bool) m
		convert = func(r *monitoringv1alpha1.Route, top bool) m {
			out := m{"receiver": prefix + r.Receiver}
			if len(r.GroupBy) > 0 {
				out["group_by"] = r.GroupBy
			}
			var matchers []string
			for _, x := range r.Matchers {
				matchers = append(matchers, x.String())
			}
			if top && enforce {
				matchers = append(matchers, fmt.Sprintf("namespace=%q", ns))
			}
			if len(matchers) > 0 {
				out["matchers"] = matchers
			}
			if top || r.Continue {
				out["continue"] = true
			}
			for k, v := range map[string]*string{"group_wait": (*string)(r.GroupWait), "group_interval": (*string)(r.GroupInterval), "repeat_interval": (*string)(r.RepeatInterval)} {
				if v != nil {
					out[k] = *v
				}
			}
			children, err := r.ChildRoutes()
			if err != nil {
				t.Fatal(err)
			}
			var sub []any
			for i := range children {
				sub = append(sub, convert(&children[i], false))
			}
			if len(sub) > 0 {
				out["routes"] = sub
			}
			return out
		}
		routes = append(routes, convert(amc.Spec.Route, true))
		for _, r := range amc.Spec.Receivers {
			out := m{"name": prefix + r.Name}
			resolved := func(c m) m { c["send_resolved"] = true; return c }
			for range r.SlackConfigs {
				out["slack_configs"] = []any{resolved(m{"api_url": "https://hooks.slack.example.com/" + ns, "channel": "#" + amc.Name})}
			}
			for range r.PagerDutyConfigs {
				out["pagerduty_configs"] = []any{resolved(m{"routing_key": "key-" + ns})}
			}
			for range r.WebhookConfigs {
				out["webhook_configs"] = []any{resolved(m{"url": "https://hooks.example.com/" + ns})}
			}
			for range r.MSTeamsV2Configs {
				out["msteamsv2_configs"] = []any{resolved(m{"webhook_url": "https://teams.example.com/" + ns})}
			}
			for _, c := range r.EmailConfigs {
				out["email_configs"] = []any{resolved(m{"to": *c.To, "from": *c.From, "smarthost": *c.Smarthost})}
			}
			receivers = append(receivers, out)
		}
		for _, ir := range amc.Spec.InhibitRules {
			strs := func(ms []monitoringv1alpha1.Matcher) []string {
				var out []string
				for _, x := range ms {
					out = append(out, x.String())
				}
				if enforce {
					out = append(out, fmt.Sprintf("namespace=%q", ns))
				}
				return slices.Compact(out)
			}
			inhibits = append(inhibits, m{"source_matchers": strs(ir.SourceMatch), "target_matchers": strs(ir.TargetMatch), "equal": ir.Equal})
		}
	}
	doc := yaml.MapSlice{
		{Key: "route", Value: m{"receiver": "null", "routes": routes}},
		{Key: "inhibit_rules", Value: inhibits},
		{Key: "receivers", Value: receivers},
		{Key: "templates", Value: []any{}},
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// names returns the display names of the matches.
func names(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.DisplayName())
	}
	return out
}

// TestRoutingOfTheOperatorsConfiguration routes the alerts of two teams through the configuration
// the operator generates from their AlertmanagerConfigs, under each matcher strategy: every
// severity reaches the receivers that take it, and only the team's.
func TestRoutingOfTheOperatorsConfiguration(t *testing.T) {
	a := teamStack(t, "team-a", "team-a")
	b := teamStack(t, "team-b", "team-b")
	// A team in the Alertmanager's own namespace, where OnNamespaceExceptForAlertmanagerNamespace
	// adds no namespace matcher.
	m := teamStack(t, "team-m", "monitoring")
	for _, strategy := range []string{onNamespace, exceptAMNamespace, none} {
		t.Run(strategy, func(t *testing.T) {
			text := generated(t, strategy, "monitoring", a, b, m)
			golden.Assert(t, filepath.Join("testdata", "generated-"+strategy+".yaml"), []byte(text))
			cfg, err := Parse([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			for _, team := range []struct{ name, namespace string }{{"team-a", "team-a"}, {"team-b", "team-b"}, {"team-m", "monitoring"}} {
				scope := Scope{Namespace: team.namespace, Name: team.name}
				alert := func(severity string) map[string]string {
					return map[string]string{"alertname": "EnvoyUpstreamErrorBudgetBurn", "severity": severity, "team": team.name,
						"namespace": team.namespace, "envoy_namespace": "projectcontour", "envoy_cluster_name": "shop_checkout_8080"}
				}
				for severity, want := range map[string][]string{
					manifests.SeverityCritical: {"slack", "pagerduty", "msteams", "email"},
					manifests.SeverityWarning:  {"slack", "webhook", "email"},
					"info":                     {"unrouted"},
				} {
					got := cfg.Route(alert(severity), scope)
					if !slices.Equal(names(got), want) {
						t.Errorf("%s, severity %s: routed to %v, want %v", team.name, severity, names(got), want)
					}
					for _, g := range got {
						if !g.Team || !strings.HasPrefix(g.Receiver, team.namespace+"/"+team.name+"/") {
							t.Errorf("%s, severity %s: receiver %s is not the team's", team.name, severity, g.Receiver)
						}
						if !slices.Equal(g.GroupBy, []string{"alertname", "envoy_cluster_name", "envoy_namespace"}) || g.GroupWaitText != "30s" || g.RepeatIntervalText != "4h" {
							t.Errorf("%s: route options %v %s %s", g.Receiver, g.GroupBy, g.GroupWaitText, g.RepeatIntervalText)
						}
						if depth := map[bool]int{true: 3, false: 2}[severity != "info"]; len(g.Path) != depth || g.Path[0] != "{}" {
							t.Errorf("%s: path %q, want the root, the team's route and its severity route", g.Receiver, g.Path)
						}
					}
					if Delivered(got) != (severity != "info") {
						t.Errorf("%s, severity %s: delivered %v", team.name, severity, Delivered(got))
					}
				}
				// Another team's alert never reaches this team's receivers.
				other := alert(manifests.SeverityCritical)
				other["team"] = "team-x"
				if got := cfg.Route(other, scope); Delivered(got) || !slices.Equal(names(got), []string{"null"}) {
					t.Errorf("%s: another team's alert routed to %v", team.name, names(got))
				}
			}
			// An alert that lost its namespace label reaches no receiver whatever the strategy:
			// the team's own route matches on it.
			lost := map[string]string{"severity": "critical", "team": "team-a"}
			if got := cfg.Route(lost, Scope{"team-a", "team-a"}); Delivered(got) {
				t.Errorf("an alert without a namespace label routed to %v", names(got))
			}
		})
	}
}

// TestStrategyMatchers: the namespace matcher the operator adds shows in the route's path under
// OnNamespace, and not under None.
func TestStrategyMatchers(t *testing.T) {
	a := teamStack(t, "team-a", "team-a")
	for strategy, want := range map[string]int{onNamespace: 2, none: 1} {
		cfg, err := Parse([]byte(generated(t, strategy, "monitoring", a)))
		if err != nil {
			t.Fatal(err)
		}
		got := cfg.Route(map[string]string{"severity": "critical", "team": "team-a", "namespace": "team-a"}, Scope{"team-a", "team-a"})
		if len(got) == 0 {
			t.Fatalf("%s: no route", strategy)
		}
		if n := strings.Count(got[0].Path[1], `namespace="team-a"`); n != want {
			t.Errorf("%s: team route %s has the namespace matcher %d times, want %d", strategy, got[0].Path[1], n, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"empty":             "",
		"no route":          "receivers: [{name: x}]",
		"unknown receiver":  "route: {receiver: nobody}\nreceivers: [{name: x}]",
		"unknown field":     "route: {receiver: x}\nreceivers: [{name: x}]\nroutes: []",
		"bad matcher":       "route: {receiver: x, routes: [{receiver: x, matchers: ['a=~(']}]}\nreceivers: [{name: x}]",
		"not UTF-8":         "route: {receiver: \"\xff\"}",
		"continue at root":  "route: {receiver: x, continue: true}\nreceivers: [{name: x}]",
		"larger than a cap": "#" + strings.Repeat("x", MaxConfigSize),
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestRouteOptions: group_by '...' and a route that is not the team's.
func TestRouteOptions(t *testing.T) {
	cfg, err := Parse([]byte(`route:
  receiver: root
  group_by: ['...']
  routes:
  - receiver: ops
    matchers: ['severity="critical"']
    group_wait: 1m
receivers:
- name: root
- name: ops
  webhook_configs: [{url: 'http://ops.example.com/'}]
`))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Route(map[string]string{"severity": "critical", "ignored": ""}, Scope{"team-a", "team-a"})
	if len(got) != 1 || got[0].Receiver != "ops" || got[0].Team || !got[0].Notifies || got[0].GroupWaitText != "1m" ||
		!slices.Equal(got[0].GroupBy, []string{GroupByAll}) || !slices.Equal(got[0].Path, []string{"{}", `{severity="critical"}`}) {
		t.Fatalf("got %+v", got)
	}
	if Delivered(got) {
		t.Error("a receiver outside the team's AlertmanagerConfig counts as the team's")
	}
	got = cfg.Route(map[string]string{"severity": "warning"}, Scope{})
	if len(got) != 1 || got[0].Receiver != "root" || got[0].Notifies || got[0].DisplayName() != "root" {
		t.Fatalf("got %+v", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("route: {receiver: x}\nreceivers: [{name: x}]"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg, err := Parse(in)
		if err == nil {
			cfg.Route(map[string]string{"a": "b"}, Scope{"n", "m"})
		}
	})
}
