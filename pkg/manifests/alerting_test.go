package manifests

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
)

// matches reports whether every matcher matches the label set, as Alertmanager's route does.
func matches(t *testing.T, ms []monitoringv1alpha1.Matcher, set map[string]string) bool {
	t.Helper()
	for _, m := range ms {
		typ := map[monitoringv1alpha1.MatchType]labels.MatchType{
			monitoringv1alpha1.MatchEqual: labels.MatchEqual, monitoringv1alpha1.MatchNotEqual: labels.MatchNotEqual,
			monitoringv1alpha1.MatchRegexp: labels.MatchRegexp, monitoringv1alpha1.MatchNotRegexp: labels.MatchNotRegexp,
		}[m.MatchType]
		lm, err := labels.NewMatcher(typ, m.Name, m.Value)
		if err != nil {
			t.Fatalf("matcher %+v: %v", m, err)
		}
		if !lm.Matches(set[m.Name]) {
			return false
		}
	}
	return true
}

// alertLabels are the labels an alert of rule r carries once Prometheus evaluated it for an
// Envoy cluster in envoyNamespace (label templates expanded as Prometheus does for this one).
func alertLabels(r monitoringv1.Rule, envoyNamespace string) map[string]string {
	out := map[string]string{"alertname": r.Alert, "envoy_cluster_name": "shop_checkout_8080"}
	for k, v := range r.Labels {
		out[k] = strings.ReplaceAll(v, "{{ $labels.namespace }}", envoyNamespace)
	}
	return out
}

func routeOf(t *testing.T, st Stack) (*monitoringv1alpha1.AlertmanagerConfig, []monitoringv1alpha1.Route) {
	t.Helper()
	amcs := find[*monitoringv1alpha1.AlertmanagerConfig](st)
	if len(amcs) != 1 {
		return nil, nil
	}
	children, err := amcs[0].Spec.Route.ChildRoutes()
	if err != nil {
		t.Fatal(err)
	}
	return amcs[0], children
}

func TestEveryAlertCarriesTheLabelsItsRouteMatches(t *testing.T) {
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			st := build(t, s)
			rules := find[*monitoringv1.PrometheusRule](st)
			if len(rules) == 0 || !s.Alerts {
				return
			}
			amc, children := routeOf(t, st)
			envoyNS := s.Namespace
			if s.EnvoyNamespace != "" {
				envoyNS = s.EnvoyNamespace
			}
			alerts := 0
			for _, g := range rules[0].Spec.Groups {
				for _, r := range g.Rules {
					if r.Alert == "" {
						continue
					}
					alerts++
					set := alertLabels(r, envoyNS)
					if set[AlertLabelTeam] != s.Team || set[AlertLabelNamespace] != s.Namespace || set[AlertLabelEnvoyNamespace] != envoyNS {
						t.Errorf("%s carries %v, want team=%s namespace=%s envoy_namespace=%s", r.Alert, set, s.Team, s.Namespace, envoyNS)
					}
					if got, want := r.Annotations[AnnotationRunbook], s.runbookFor(r.Alert); got != want || !strings.HasPrefix(got, "http") {
						t.Errorf("%s runbook_url %q, want %q", r.Alert, got, want)
					}
					if amc == nil {
						continue
					}
					// The operator adds namespace="<the AlertmanagerConfig's namespace>" under
					// OnNamespace: the alert must match that too.
					root := append(slices.Clone(amc.Spec.Route.Matchers), monitoringv1alpha1.Matcher{Name: "namespace", Value: amc.Namespace, MatchType: monitoringv1alpha1.MatchEqual})
					if !matches(t, root, set) {
						t.Errorf("%s (%v) does not match the team's route %v", r.Alert, set, root)
					}
					notified := 0
					for _, c := range children {
						if matches(t, c.Matchers, set) {
							notified++
						}
					}
					if notified == 0 {
						t.Errorf("%s (severity %s) reaches no receiver", r.Alert, set["severity"])
					}
				}
			}
			if alerts == 0 && !s.noEnvoy() {
				t.Error("no alerts")
			}
		})
	}
}

func TestRoutingTreeForEveryReceiverKindAndSeverity(t *testing.T) {
	kinds := map[ReceiverKind]string{
		ReceiverSlack:     "slack=slack-webhook/url,channel=#team-a",
		ReceiverPagerDuty: "pagerduty=pagerduty/routing-key",
		ReceiverWebhook:   "webhook=hooks/team-a",
		ReceiverMSTeams:   "msteams=teams/url",
		ReceiverEmail:     "email=team-a@example.com,smarthost=smtp.example.com:587,from=alerts@example.com,username=alerts,password=smtp/password",
	}
	for kind, flag := range kinds {
		for _, sev := range []string{"", SeverityCritical, SeverityWarning, "all"} {
			value := flag
			if sev != "" {
				value += ",severity=" + sev
			}
			t.Run(value, func(t *testing.T) {
				r, err := ParseReceiver(value)
				if err != nil {
					t.Fatal(err)
				}
				s := DefaultTeamSpec("team-a", "team-a")
				s.Alerting.Delivery = DeliverOwn
				s.Alerting.Receivers = []Receiver{r}
				amc, children := routeOf(t, build(t, s))
				if amc == nil || len(children) != 1 {
					t.Fatalf("want one AlertmanagerConfig with one child route, got %v", children)
				}
				want := map[string]bool{SeverityCritical: true, SeverityWarning: true}
				switch {
				case sev == SeverityCritical || sev == "" && kind == ReceiverPagerDuty:
					want[SeverityWarning] = false
				case sev == SeverityWarning:
					want[SeverityCritical] = false
				}
				for severity, reach := range want {
					set := map[string]string{"severity": severity}
					if got := matches(t, children[0].Matchers, set); got != reach {
						t.Errorf("%s alerts reach %s: %v, want %v", severity, kind, got, reach)
					}
				}
				if !children[0].Continue {
					t.Error("a child route without continue hides the receivers after it")
				}
				var recv *monitoringv1alpha1.Receiver
				for i := range amc.Spec.Receivers {
					if amc.Spec.Receivers[i].Name == children[0].Receiver {
						recv = &amc.Spec.Receivers[i]
					}
				}
				if recv == nil {
					t.Fatalf("child route names receiver %q, which is not defined", children[0].Receiver)
				}
				raw, _ := json.Marshal(recv)
				var configs map[string]json.RawMessage
				_ = json.Unmarshal(raw, &configs)
				delete(configs, "name")
				if len(configs) != 1 {
					t.Errorf("receiver has %d integrations, want 1: %s", len(configs), raw)
				}
				// The secret is referenced by name and key; nothing of its value is in the object.
				if !strings.Contains(string(raw), `"name":"`+r.Secret.Name+`"`) || !strings.Contains(string(raw), `"key":"`+r.Secret.Key+`"`) {
					t.Errorf("receiver %s does not reference secret %s", raw, r.Secret)
				}
			})
		}
	}
}

func TestOneTeamNeverRoutesAnotherTeamsAlerts(t *testing.T) {
	stack := func(team, ns string) TeamSpec {
		s := DefaultTeamSpec(team, ns)
		s.Alerting = Alerting{Delivery: DeliverShared, Namespace: "monitoring", Name: "main", Service: DefaultAlertmanagerService,
			Receivers: []Receiver{{Kind: ReceiverWebhook, Secret: SecretRef{"hook", "url"}, Severities: []string{SeverityCritical, SeverityWarning}}}}
		return s
	}
	teamA := stack("team-a", "team-a")
	others := []TeamSpec{stack("team-b", "team-b"), stack("team-a", "team-b"), stack("team-b", "team-a")}
	envoyElsewhere := stack("team-c", "team-c")
	envoyElsewhere.EnvoyNamespace = "team-a" // its Envoy runs in team A's namespace
	others = append(others, envoyElsewhere)

	amc, _ := routeOf(t, build(t, teamA))
	for _, other := range others {
		st := build(t, other)
		envoyNS := other.Namespace
		if other.EnvoyNamespace != "" {
			envoyNS = other.EnvoyNamespace
		}
		for _, g := range find[*monitoringv1.PrometheusRule](st)[0].Spec.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				// Under the None strategy the operator adds no namespace matcher: the route's own
				// matchers must keep other teams out.
				if set := alertLabels(r, envoyNS); matches(t, amc.Spec.Route.Matchers, set) {
					t.Errorf("team-a/team-a's route takes %s of %s/%s: %v", r.Alert, other.Namespace, other.Team, set)
				}
			}
		}
		for _, ir := range amc.Spec.InhibitRules {
			set := map[string]string{AlertLabelTeam: other.Team, AlertLabelNamespace: other.Namespace, "severity": SeverityWarning}
			if matches(t, ir.TargetMatch, set) {
				t.Errorf("team-a's inhibition mutes %s/%s's warnings", other.Namespace, other.Team)
			}
		}
	}
}

func TestMSTeamsNeedsARecentOperator(t *testing.T) {
	s := DefaultTeamSpec("team-a", "team-a")
	s.Alerting.Delivery = DeliverOwn
	s.Alerting.Receivers = []Receiver{{Kind: ReceiverMSTeams, Secret: SecretRef{"teams", "url"}, Severities: []string{SeverityCritical}}}
	amc, _ := routeOf(t, build(t, s))
	raw, _ := json.Marshal(amc)
	for _, v := range crdschema.Versions() {
		val, err := crdschema.Load(crdschema.RepoCRDDir(v))
		if err != nil {
			t.Fatal(err)
		}
		err = val.Validate(raw)
		// msteamsv2Configs came after the oldest vendored operator, v0.81.0.
		if old := v == "v0.81.0"; (err != nil) != old {
			t.Errorf("operator %s: validation error %v", v, err)
		}
	}
	s.Alerting.AlertmanagerVersion = "v0.27.0"
	var fe *FieldError
	if err := s.Validate(); !errors.As(err, &fe) || fe.Field != "alertmanager-version" {
		t.Errorf("msteams with Alertmanager 0.27: %v, want an --alertmanager-version error", err)
	}
}

func TestParseReceiver(t *testing.T) {
	good := map[string]Receiver{
		"slack=slack-webhook/url":                 {Kind: ReceiverSlack, Secret: SecretRef{"slack-webhook", "url"}, Severities: []string{SeverityCritical, SeverityWarning}},
		"slack=s/url,channel=#a,severity=warning": {Kind: ReceiverSlack, Secret: SecretRef{"s", "url"}, Channel: "#a", Severities: []string{SeverityWarning}},
		"pagerduty=pd/key":                        {Kind: ReceiverPagerDuty, Secret: SecretRef{"pd", "key"}, Severities: []string{SeverityCritical}},
		"pagerduty=pd/key,severity=all":           {Kind: ReceiverPagerDuty, Secret: SecretRef{"pd", "key"}, Severities: []string{SeverityCritical, SeverityWarning}},
		"webhook=hooks/team.a_url":                {Kind: ReceiverWebhook, Secret: SecretRef{"hooks", "team.a_url"}, Severities: []string{SeverityCritical, SeverityWarning}},
		"email=a@example.com,smarthost=smtp.example.com:25,from=b@example.com": {Kind: ReceiverEmail, To: "a@example.com", From: "b@example.com",
			Smarthost: "smtp.example.com:25", Severities: []string{SeverityCritical, SeverityWarning}},
	}
	for in, want := range good {
		got, err := ParseReceiver(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
			t.Errorf("%s: %s, want %s", in, g, w)
		}
	}
	bad := map[string]string{
		"":        "KIND=SECRET/KEY",
		"slack":   "KIND=SECRET/KEY",
		"sms=a/b": "unknown kind",
		"slack=https://hooks.slack.com/services/T0/B0/x": "secret name",
		"slack=url":                       "SECRET/KEY",
		"slack=s/":                        "SECRET/KEY",
		"slack=S_ECRET/url":               "secret name",
		"slack=s/k,channel=#a b":          "channel",
		"slack=s/k,channel={{ .x }}":      "channel",
		"slack=s/k,severity=info":         "severity",
		"slack=s/k,severity=":             "option",
		"slack=s/k,colour=red":            "does not apply",
		"webhook=h/u,channel=#a":          "does not apply",
		"slack=s/k,channel=#a,channel=#b": "twice",
		"email=a@example.com":             "smarthost",
		"email=Team <a@example.com>,smarthost=s:25,from=b@example.com":     "plain address",
		"email=a@example.com,smarthost=smtp:port,from=b@example.com":       "HOST:PORT",
		"email=a@example.com,smarthost=s:25,from=b@example.com,username=u": "both",
		"email={{.x}}@example.com,smarthost=s:25,from=b@example.com":       "plain address",
	}
	for in, want := range bad {
		if _, err := ParseReceiver(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseReceiver(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseAlertmanagerAndRunbook(t *testing.T) {
	if d, _, _, err := ParseAlertmanager("own"); err != nil || d != DeliverOwn {
		t.Errorf("own: %v %v", d, err)
	}
	if d, ns, name, err := ParseAlertmanager("monitoring/main"); err != nil || d != DeliverShared || ns != "monitoring" || name != "main" {
		t.Errorf("monitoring/main: %v %s %s %v", d, ns, name, err)
	}
	for _, bad := range []string{"", "main", "monitoring/", "/main", "a/b/c", "Monitoring/main", "monitoring/Main"} {
		if _, _, _, err := ParseAlertmanager(bad); err == nil {
			t.Errorf("ParseAlertmanager(%q) accepted", bad)
		}
	}
	for in, want := range map[string]string{"v0.35.0": "v0.35.0", "0.28.1": "v0.28.1"} {
		if got, err := ParseAlertmanagerVersion(in); err != nil || got != want {
			t.Errorf("ParseAlertmanagerVersion(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "latest", "v0.24.0", "v1.0.0", "0.35"} {
		if _, err := ParseAlertmanagerVersion(bad); err == nil {
			t.Errorf("ParseAlertmanagerVersion(%q) accepted", bad)
		}
	}
	for _, good := range []string{"https://wiki.example.com/runbooks", "http://wiki/{alert}.html"} {
		if _, err := ParseRunbookURL(good); err != nil {
			t.Errorf("ParseRunbookURL(%q): %v", good, err)
		}
	}
	for _, bad := range []string{"", "wiki.example.com", "ftp://x/", "https://x/{{ .Labels }}", "https://x/{other}", "https://x/a b", "https://x/\x1b[31m"} {
		if _, err := ParseRunbookURL(bad); err == nil {
			t.Errorf("ParseRunbookURL(%q) accepted", bad)
		}
	}
	s := DefaultTeamSpec("team-a", "team-a")
	if got := s.runbookFor("EnvoyUpstreamHigh5xxRatio"); got != DefaultRunbookURL+"#envoyupstreamhigh5xxratio" {
		t.Errorf("default runbook %q", got)
	}
	s.RunbookURL = "https://wiki.example.com/runbooks/{alert}"
	if got := s.runbookFor("EnvoyUpstreamHigh5xxRatio"); got != "https://wiki.example.com/runbooks/EnvoyUpstreamHigh5xxRatio" {
		t.Errorf("templated runbook %q", got)
	}
}

func TestValidateRejectsContradictoryDelivery(t *testing.T) {
	webhook := []Receiver{{Kind: ReceiverWebhook, Secret: SecretRef{"h", "u"}, Severities: []string{SeverityCritical}}}
	cases := map[string]struct {
		edit  func(*TeamSpec)
		field string
	}{
		"notify without an Alertmanager": {func(s *TeamSpec) { s.Alerting.Receivers = webhook }, "notify"},
		"own without receivers":          {func(s *TeamSpec) { s.Alerting.Delivery = DeliverOwn }, "alertmanager"},
		"own without alerts": {func(s *TeamSpec) {
			s.Alerting.Delivery, s.Alerting.Receivers, s.Alerts = DeliverOwn, webhook, false
		}, "alertmanager"},
		"shared without a Service": {func(s *TeamSpec) {
			s.Alerting = Alerting{Delivery: DeliverShared, Namespace: "monitoring", Name: "main"}
		}, "alertmanager-service"},
		"shared with a bad selector label": {func(s *TeamSpec) {
			s.Alerting = Alerting{Delivery: DeliverShared, Namespace: "monitoring", Name: "main", Service: "am", ConfigLabels: map[string]string{"bad key": "x"}}
		}, "alertmanager-config-label"},
		"bad runbook": {func(s *TeamSpec) { s.RunbookURL = "runbooks" }, "runbook-url"},
	}
	for name, c := range cases {
		s := DefaultTeamSpec("team-a", "team-a")
		c.edit(&s)
		var fe *FieldError
		if err := s.Validate(); !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want an error on --%s", name, err, c.field)
		}
	}
}

func TestSharedAlertmanagerIsDiscoverable(t *testing.T) {
	s := specCases()["alertmanager-shared"]
	st := build(t, s)
	p := find[*monitoringv1.Prometheus](st)[0]
	if p.Spec.Alerting == nil || len(p.Spec.Alerting.Alertmanagers) != 1 {
		t.Fatalf("alerting %+v, want the shared Alertmanager", p.Spec.Alerting)
	}
	am := p.Spec.Alerting.Alertmanagers[0]
	if *am.Namespace != "monitoring" || am.Name != "alertmanager-main" || am.Port.String() != WebPortName {
		t.Errorf("alertmanagers %+v", am)
	}
	granted := false
	for _, o := range st.Objects {
		if o.GetObjectKind().GroupVersionKind().Kind == "RoleBinding" && o.GetNamespace() == "monitoring" {
			granted = o.GetLabels()[LabelNamespace] == s.Namespace
		}
	}
	if !granted {
		t.Error("no RoleBinding, labelled with the team namespace, lets the Prometheus discover the Alertmanager in namespace monitoring")
	}
	if amc, _ := routeOf(t, st); amc == nil || amc.Labels["alertmanagerConfig"] != "main" || amc.Namespace != s.Namespace {
		t.Errorf("AlertmanagerConfig %v: want it in the team namespace with the selector's label", amc)
	}
	if len(find[*monitoringv1.Alertmanager](st)) != 0 {
		t.Error("a shared Alertmanager must not make an Alertmanager of the team's own")
	}
}

// TestEveryAlertHasItsRunbookSection: the default runbook_url of each alert is a section of
// docs/alerts.md.
func TestEveryAlertHasItsRunbookSection(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "alerts.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := specCases()["everything"]
	seen := 0
	for _, g := range find[*monitoringv1.PrometheusRule](build(t, s))[0].Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			seen++
			if !strings.Contains(string(doc), "\n## "+r.Alert+"\n") {
				t.Errorf("docs/alerts.md has no section %q for %s", "## "+r.Alert, r.Annotations[AnnotationRunbook])
			}
			if !strings.HasSuffix(r.Annotations[AnnotationRunbook], "docs/alerts.md#"+strings.ToLower(r.Alert)) {
				t.Errorf("%s links to %s", r.Alert, r.Annotations[AnnotationRunbook])
			}
		}
	}
	if seen < 5 {
		t.Errorf("%d alerts in the stack with --slo, want every kind", seen)
	}
}
