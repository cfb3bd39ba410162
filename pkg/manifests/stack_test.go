package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
)

// specCases are representative stacks: the defaults, each preset alone, and the combinations
// whose objects differ the most.
func specCases() map[string]TeamSpec {
	base := DefaultTeamSpec("team-a", "team-a")
	cases := map[string]TeamSpec{"default": base}
	for _, p := range presetOrder {
		s := base
		s.Presets = []Preset{p}
		cases["preset-"+string(p)] = s
	}

	ha := base
	ha.Replicas = 3
	ha.RemoteWrite = []string{"https://metrics.example.com/api/v1/write", "http://thanos-receive.monitoring:19291/api/v1/receive"}
	ha.ExternalLabels = map[string]string{"cluster": "prod-eu", "region": "eu-west-1", "env": "prod"}
	cases["ha-remote-write"] = ha

	tenant := base
	tenant.RemoteWrite = []string{"https://mimir.example.com/api/v1/push"}
	tenant.RemoteWriteTenant = "team-a"
	tenant.RemoteWriteAuth = RemoteWriteAuth{BasicAuth: "mimir-auth"}
	cases["remote-write-tenant-basic-auth"] = tenant

	bearer := base
	bearer.RemoteWrite = []string{"https://vm.example.com/api/v1/write", "http://thanos-receive.monitoring:19291/api/v1/receive"}
	bearer.RemoteWriteTenant = "team-a"
	bearer.RemoteWriteAuth = RemoteWriteAuth{Bearer: SecretRef{"remote-write", "token"}}
	cases["remote-write-bearer"] = bearer

	full := base
	full.Presets = []Preset{PresetEnvoy, PresetContour, PresetIstio, PresetStatsd}
	full.SLO = 99.9
	full.GrafanaDashboard = true
	full.NetworkPolicy = true
	full.EnvoySelector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "edge"}}
	full.StorageClass = "fast-ssd"
	full.RetentionSize = ByteSize{bytes: 10 << 30}
	full.TargetLimit = 400
	full.SampleLimit = 500000
	cases["everything"] = full

	other := base
	other.Presets = []Preset{PresetEnvoyGateway}
	other.EnvoyNamespace = "envoy-gateway-system"
	cases["envoy-namespace"] = other

	wide := base
	wide.ClusterScope = true
	cases["cluster-scope"] = wide

	small := base
	small.Replicas = 1
	small.Shards = 3
	small.Storage = resource.Quantity{}
	small.MemoryLimit = resource.Quantity{}
	small.Alerts = false
	small.TargetLimit = 0
	small.SampleLimit = 0
	small.RemoteWrite = []string{"http://thanos-receive.monitoring:19291/api/v1/receive"}
	cases["single-ephemeral-sharded"] = small

	thanos := base
	thanos.Shards = 2
	thanos.Thanos.Enabled = true
	thanos.Thanos.ObjectStorage = SecretRef{"objstore", "thanos.yaml"}
	thanos.Thanos.QueryReplicas = 2
	thanos.NetworkPolicy = true
	cases["thanos-objstore-sharded"] = thanos

	query := base
	query.Replicas = 1
	query.Thanos.Enabled = true
	query.Thanos.Version = "v0.39.2"
	query.Thanos.Image = "registry.example.com/mirror/thanos:v0.39.2"
	cases["thanos-query-only"] = query

	own := base
	own.Alerting.Delivery = DeliverOwn
	own.Alerting.Receivers = testReceivers()
	own.SLO = 99.5
	own.RunbookURL = "https://wiki.example.com/runbooks/{alert}"
	cases["alertmanager-own"] = own

	shared := base
	shared.Presets = []Preset{PresetContour}
	shared.EnvoyNamespace = "projectcontour"
	shared.Replicas = 1
	shared.Alerting = Alerting{Delivery: DeliverShared, Namespace: "monitoring", Name: "main", Service: "alertmanager-main",
		ConfigLabels: map[string]string{"alertmanagerConfig": "main"},
		Receivers: []Receiver{
			{Kind: ReceiverWebhook, Secret: SecretRef{"hooks", "team-a"}, Severities: []string{SeverityCritical, SeverityWarning}},
			{Kind: ReceiverSlack, Secret: SecretRef{"slack", "url"}, Channel: "#team-a-tickets", Severities: []string{SeverityWarning}},
		}}
	cases["alertmanager-shared"] = shared
	return cases
}

// testReceivers are one receiver of every kind but Microsoft Teams, whose integration the
// oldest vendored operator lacks (TestMSTeamsNeedsARecentOperator).
func testReceivers() []Receiver {
	return []Receiver{
		{Kind: ReceiverPagerDuty, Secret: SecretRef{"pagerduty", "routing-key"}, Severities: []string{SeverityCritical}},
		{Kind: ReceiverSlack, Secret: SecretRef{"slack", "url"}, Channel: "#team-a", Severities: []string{SeverityCritical, SeverityWarning}},
		{Kind: ReceiverWebhook, Secret: SecretRef{"hooks", "team-a"}, Severities: []string{SeverityWarning}},
		{Kind: ReceiverEmail, To: "team-a@example.com", From: "alerts@example.com", Smarthost: "smtp.example.com:587",
			Username: "alerts", Secret: SecretRef{"smtp", "password"}, Severities: []string{SeverityCritical}},
		{Kind: ReceiverSlack, Secret: SecretRef{"slack", "url"}, Channel: "#team-a-tickets", Severities: []string{SeverityWarning}},
	}
}

func build(t *testing.T, s TeamSpec) Stack {
	t.Helper()
	st, err := Build(s)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return st
}

func find[T Object](st Stack) []T {
	var out []T
	for _, o := range st.Objects {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestEveryObjectIsLabelledAndNamedOnce(t *testing.T) {
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, o := range build(t, s).Objects {
				kind := o.GetObjectKind().GroupVersionKind().Kind
				if kind == "" || o.GetObjectKind().GroupVersionKind().Version == "" {
					t.Errorf("%T %s has no TypeMeta", o, o.GetName())
				}
				l := o.GetLabels()
				if l[LabelManagedBy] != ManagedBy || l[LabelTeam] != s.Team {
					t.Errorf("%s %s labels %v lack managed-by or team", kind, o.GetName(), l)
				}
				key := kind + "/" + o.GetNamespace() + "/" + o.GetName()
				if seen[key] {
					t.Errorf("%s appears twice", key)
				}
				seen[key] = true
			}
		})
	}
}

// TestPrometheusSelectsExactlyItsStack evaluates the Prometheus' selectors the way the operator
// does against every monitor and rule of the stack, and against another team's.
func TestPrometheusSelectsExactlyItsStack(t *testing.T) {
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			st := build(t, s)
			proms := find[*monitoringv1.Prometheus](st)
			if len(proms) != 1 {
				t.Fatalf("%d Prometheus objects", len(proms))
			}
			spec := proms[0].Spec
			for field, sel := range map[string]*metav1.LabelSelector{
				"serviceMonitorSelector": spec.ServiceMonitorSelector, "podMonitorSelector": spec.PodMonitorSelector,
				"probeSelector": spec.ProbeSelector, "scrapeConfigSelector": spec.ScrapeConfigSelector, "ruleSelector": spec.RuleSelector,
			} {
				if sel == nil {
					t.Fatalf("%s is null: it would select nothing", field)
				}
				if len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 {
					t.Errorf("%s is empty: it would select other teams' objects too", field)
				}
			}
			selects := func(sel *metav1.LabelSelector, nsSel *metav1.LabelSelector, o Object) bool {
				s, err := metav1.LabelSelectorAsSelector(sel)
				if err != nil {
					t.Fatal(err)
				}
				// A null namespace selector means the Prometheus' own namespace.
				inNamespace := nsSel == nil && o.GetNamespace() == proms[0].Namespace
				return inNamespace && s.Matches(labels.Set(o.GetLabels()))
			}
			var monitors, rules int
			for _, o := range st.Objects {
				switch o.(type) {
				case *monitoringv1.PodMonitor:
					monitors++
					if !selects(spec.PodMonitorSelector, spec.PodMonitorNamespaceSelector, o) {
						t.Errorf("PodMonitor %s/%s is not selected", o.GetNamespace(), o.GetName())
					}
				case *monitoringv1.ServiceMonitor:
					monitors++
					if !selects(spec.ServiceMonitorSelector, spec.ServiceMonitorNamespaceSelector, o) {
						t.Errorf("ServiceMonitor %s/%s is not selected", o.GetNamespace(), o.GetName())
					}
				case *monitoringv1.PrometheusRule:
					rules++
					if !selects(spec.RuleSelector, spec.RuleNamespaceSelector, o) {
						t.Errorf("PrometheusRule %s/%s is not selected", o.GetNamespace(), o.GetName())
					}
				}
			}
			wantMonitors := len(s.Presets)
			if s.noEnvoy() {
				wantMonitors = 0
			}
			if s.Alerting.Delivery == DeliverOwn {
				wantMonitors++ // the Alertmanager's own
			}
			if monitors != wantMonitors {
				t.Errorf("%d monitors for presets %v", monitors, s.Presets)
			}
			if rules != 1 && !s.noEnvoy() {
				t.Errorf("%d PrometheusRules, want 1", rules)
			}
			otherTeam := DefaultTeamSpec("team-b", s.Namespace)
			for _, o := range build(t, otherTeam).Objects {
				if _, ok := o.(*monitoringv1.PodMonitor); ok && selects(spec.PodMonitorSelector, spec.PodMonitorNamespaceSelector, o) {
					t.Errorf("team-a's Prometheus selects team-b's PodMonitor %s", o.GetName())
				}
			}
		})
	}
}

// TestDiscoveryIsGrantedWhereMonitorsLook checks that the ServiceAccount may list pods wherever
// a monitor discovers targets, and nowhere else.
func TestDiscoveryIsGrantedWhereMonitorsLook(t *testing.T) {
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			st := build(t, s)
			granted := map[string]bool{} // namespace, or "*" for a ClusterRoleBinding
			for _, rb := range find[*rbacv1.RoleBinding](st) {
				if rb.Subjects[0].Name == s.accountName() && rb.Subjects[0].Namespace == s.Namespace && rb.RoleRef.Kind == "Role" {
					granted[rb.Namespace] = true
				}
			}
			if crbs := find[*rbacv1.ClusterRoleBinding](st); len(crbs) > 0 {
				granted["*"] = true
			}
			if s.ClusterScope != granted["*"] {
				t.Errorf("ClusterRoleBinding present = %v with --cluster-scope = %v", granted["*"], s.ClusterScope)
			}
			for _, r := range find[*rbacv1.Role](st) {
				checkReadOnly(t, r.Rules)
			}
			for _, r := range find[*rbacv1.ClusterRole](st) {
				checkReadOnly(t, r.Rules)
			}
			prom := find[*monitoringv1.Prometheus](st)[0]
			look := func(o Object, sel monitoringv1.NamespaceSelector) {
				var namespaces []string
				switch {
				case prom.Spec.IgnoreNamespaceSelectors:
					namespaces = []string{o.GetNamespace()}
				case sel.Any:
					namespaces = []string{"*"}
				case len(sel.MatchNames) > 0:
					namespaces = sel.MatchNames
				default:
					namespaces = []string{o.GetNamespace()}
				}
				for _, ns := range namespaces {
					if !granted[ns] && !granted["*"] {
						t.Errorf("%s discovers in %q but the ServiceAccount may not list pods there", o.GetName(), ns)
					}
				}
			}
			for _, m := range find[*monitoringv1.PodMonitor](st) {
				look(m, m.Spec.NamespaceSelector)
			}
			for _, m := range find[*monitoringv1.ServiceMonitor](st) {
				look(m, m.Spec.NamespaceSelector)
			}
		})
	}
}

func checkReadOnly(t *testing.T, rules []rbacv1.PolicyRule) {
	t.Helper()
	for _, r := range rules {
		for _, v := range r.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("rule %v grants %q; discovery needs get, list and watch only", r.Resources, v)
			}
		}
		for _, res := range r.Resources {
			if !slices.Contains([]string{"pods", "services", "endpointslices"}, res) {
				t.Errorf("rule grants %q, which discovery does not read", res)
			}
		}
	}
}

func TestOrderAndShape(t *testing.T) {
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			st := build(t, s)
			index := map[string]int{}
			for i, o := range st.Objects {
				index[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName()] = i
			}
			prom := index["Prometheus/"+s.Team]
			for _, before := range []string{"ServiceAccount/", "Service/", "RoleBinding/", "Role/"} {
				key := before + s.accountName()
				if i, ok := index[key]; ok && i > prom {
					t.Errorf("%s comes after the Prometheus that needs it", key)
				}
			}
			if _, ok := index["Service/"+s.accountName()]; !ok {
				t.Error("no governing Service")
			}
			p := find[*monitoringv1.Prometheus](st)[0]
			if p.Spec.ServiceName == nil || *p.Spec.ServiceName != s.accountName() {
				t.Errorf("serviceName = %v, want the team's own Service", p.Spec.ServiceName)
			}
			sc := p.Spec.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("securityContext %+v does not meet Pod Security restricted", sc)
			}
			// One budget per server the stack runs (the Prometheus, the team's own Alertmanager),
			// each selecting its own pods, when there is more than one replica.
			servers := 1
			if s.Alerting.Delivery == DeliverOwn {
				servers = 2
			}
			pdbs := find[*policyv1.PodDisruptionBudget](st)
			want := servers * map[bool]int{true: 1}[s.Replicas > 1]
			if s.Thanos.Enabled && s.Thanos.QueryReplicas > 1 {
				want++ // the Thanos Query's
			}
			if len(pdbs) != want {
				t.Errorf("%d PodDisruptionBudgets with %d replicas and %d servers, want %d", len(pdbs), s.Replicas, servers, want)
			}
			for _, pdb := range pdbs {
				sel := labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels)
				if pdb.Name == s.accountName() != sel.Matches(labels.Set(s.podLabels())) {
					t.Errorf("PodDisruptionBudget %s selects %v", pdb.Name, sel)
				}
			}
			for _, am := range find[*monitoringv1.Alertmanager](st) {
				sc := am.Spec.SecurityContext
				if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("Alertmanager securityContext %+v does not meet Pod Security restricted", sc)
				}
				if am.Spec.Resources.Requests.Memory().IsZero() || am.Spec.Resources.Limits.Memory().IsZero() {
					t.Errorf("Alertmanager resources %v: want memory requests and a limit", am.Spec.Resources)
				}
				if am.Spec.ServiceName == nil || *am.Spec.ServiceName != AlertmanagerServiceName(s.Team) {
					t.Errorf("Alertmanager serviceName %v, want its own Service", am.Spec.ServiceName)
				}
			}
			if p.Spec.Affinity == nil || p.Spec.Affinity.PodAntiAffinity == nil || len(p.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 0 {
				t.Error("want soft (preferred) pod anti-affinity only")
			}
			for _, d := range find[*appsv1.Deployment](st) {
				pod := d.Spec.Template.Spec
				if pod.SecurityContext == nil || !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("Deployment %s pod securityContext is not restricted", d.Name)
				}
				for _, c := range pod.Containers {
					csc := c.SecurityContext
					if csc == nil || *csc.AllowPrivilegeEscalation || len(csc.Capabilities.Drop) != 1 || csc.Capabilities.Drop[0] != "ALL" {
						t.Errorf("container %s securityContext is not restricted", c.Name)
					}
				}
			}
		})
	}
}

func TestOutputIsDeterministicAndQuiet(t *testing.T) {
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			var first, firstJSON bytes.Buffer
			if err := build(t, s).WriteYAML(&first); err != nil {
				t.Fatal(err)
			}
			if err := build(t, s).WriteJSON(&firstJSON); err != nil {
				t.Fatal(err)
			}
			for range 5 {
				var again, againJSON bytes.Buffer
				_ = build(t, s).WriteYAML(&again)
				_ = build(t, s).WriteJSON(&againJSON)
				if !bytes.Equal(first.Bytes(), again.Bytes()) || !bytes.Equal(firstJSON.Bytes(), againJSON.Bytes()) {
					t.Fatal("two builds of the same spec printed different bytes")
				}
			}
			out := first.String()
			for _, noise := range []string{"creationTimestamp", "status:", "alert: {}", "metadata: {}", "strategy: {}", "namespaceSelector: {}"} {
				if strings.Contains(out, noise) {
					t.Errorf("output contains noise %q", noise)
				}
			}
			if strings.Contains(out, "&") || strings.Contains(out, "*id") {
				t.Error("output contains YAML anchors")
			}
			var list struct {
				Kind  string            `json:"kind"`
				Items []json.RawMessage `json:"items"`
			}
			if err := json.Unmarshal(firstJSON.Bytes(), &list); err != nil || list.Kind != "List" {
				t.Fatalf("JSON is not a v1 List: %v", err)
			}
			docs := strings.Split(out, "\n---\n")
			if len(docs) != len(list.Items) {
				t.Errorf("%d YAML documents but %d List items", len(docs), len(list.Items))
			}
			// YAML and JSON carry the same objects.
			for i, doc := range docs {
				var y, j any
				if err := yaml.Unmarshal([]byte(doc), &y); err != nil {
					t.Fatalf("document %d does not parse: %v", i, err)
				}
				_ = json.Unmarshal(list.Items[i], &j)
				yb, _ := json.Marshal(y)
				jb, _ := json.Marshal(j)
				if !bytes.Equal(yb, jb) {
					t.Errorf("document %d differs between YAML and JSON", i)
				}
			}
		})
	}
}

// TestAgainstOperatorCRDs validates every custom resource against each vendored operator
// version's schemas (types, patterns, unknown fields, CEL) and every built-in object with a
// strict decoder.
func TestAgainstOperatorCRDs(t *testing.T) {
	versions := crdschema.Versions()
	if len(versions) < 2 {
		t.Fatalf("vendored CRD versions %v; run go run ./hack/update-crds", versions)
	}
	validators := map[string]*crdschema.Validator{}
	for _, v := range versions {
		val, err := crdschema.Load(crdschema.RepoCRDDir(v))
		if err != nil {
			t.Fatal(err)
		}
		validators[v] = val
	}
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			maps, err := build(t, s).Maps()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range maps {
				api, _ := m["apiVersion"].(string)
				raw, _ := json.Marshal(m)
				if strings.HasPrefix(api, monitoringv1.SchemeGroupVersion.Group+"/") {
					for v, val := range validators {
						if err := val.Validate(raw); err != nil {
							t.Errorf("operator %s: %v", v, err)
						}
					}
					continue
				}
				if err := crdschema.ValidateBuiltin(raw); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestRulesLoadInPrometheus runs the rule groups through Prometheus' own rule-file parser, which
// checks expressions, durations, label names and annotation templates.
func TestRulesLoadInPrometheus(t *testing.T) {
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			rules := find[*monitoringv1.PrometheusRule](build(t, s))
			if s.noEnvoy() {
				if len(rules) != 0 {
					t.Fatal("--envoy=none still made Envoy rules")
				}
				return
			}
			file, err := yaml.Marshal(map[string]any{"groups": rules[0].Spec.Groups})
			if err != nil {
				t.Fatal(err)
			}
			groups, errs := rulefmt.Parse(file, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
			if len(errs) > 0 {
				t.Fatalf("Prometheus rejects the rules: %v\n%s", errs, file)
			}
			var records, alerts []string
			for _, g := range groups.Groups {
				for _, r := range g.Rules {
					if r.Record != "" {
						records = append(records, r.Record)
					} else {
						alerts = append(alerts, r.Alert)
					}
				}
			}
			for _, want := range []string{"envoy_cluster:upstream_rq:rate5m", "envoy_cluster:upstream_rq_xx:rate5m", "envoy_cluster:upstream_rq_not_5xx:rate5m"} {
				if !slices.Contains(records, want) {
					t.Errorf("records %v miss the contract name %s", records, want)
				}
			}
			if !slices.Contains(records, "envoy_cluster:upstream_rq_time_milliseconds_bucket:rate5m") && !slices.Contains(records, "envoy_cluster:upstream_rq_time_seconds_bucket:rate5m") {
				t.Errorf("records %v keep no latency buckets", records)
			}
			// Sums only: shards' sums add up, their ratios and quantiles do not. The error
			// ratios stay for the alerts, which each Prometheus evaluates over its own series.
			for _, r := range records {
				if strings.Contains(r, "ratio") && !strings.HasPrefix(r, "envoy_cluster:upstream_rq_error_ratio:") || strings.Contains(r, ":p") {
					t.Errorf("record %s is neither a sum nor an alert's error ratio", r)
				}
			}
			if s.Alerts != (len(alerts) > 0) {
				t.Errorf("alerts %v with Alerts=%v", alerts, s.Alerts)
			}
			if (s.SLO != 0) != slices.Contains(alerts, "EnvoyErrorBudgetBurn") {
				t.Errorf("burn-rate alerts %v with SLO %v", alerts, s.SLO)
			}
		})
	}
}

func TestValidateRejectsContradictions(t *testing.T) {
	base := DefaultTeamSpec("team-a", "team-a")
	tests := []struct {
		name  string
		edit  func(*TeamSpec)
		field string
	}{
		{"retention size above storage", func(s *TeamSpec) { s.RetentionSize = ByteSize{bytes: 30 << 30} }, "retention-size"},
		{"limit below request", func(s *TeamSpec) { s.MemoryLimit = resource.MustParse("256Mi") }, "memory-limit"},
		{"none with others", func(s *TeamSpec) { s.Presets = []Preset{PresetNone, PresetEnvoy} }, "envoy"},
		{"no presets", func(s *TeamSpec) { s.Presets = nil }, "envoy"},
		{"slo without alerts", func(s *TeamSpec) { s.SLO = 99.9; s.Alerts = false }, "slo"},
		{"dashboard without envoy", func(s *TeamSpec) { s.Presets = []Preset{PresetNone}; s.GrafanaDashboard = true }, "grafana-dashboard"},
		{"envoy namespace and cluster scope", func(s *TeamSpec) { s.EnvoyNamespace = "edge"; s.ClusterScope = true }, "envoy-namespace"},
		{"storage class without storage", func(s *TeamSpec) { s.Storage = resource.Quantity{}; s.StorageClass = "ssd" }, "storage-class"},
		{"tiny volume", func(s *TeamSpec) { s.Storage = resource.MustParse("100Mi") }, "storage"},
		{"slow envoy scrapes", func(s *TeamSpec) { s.EnvoyScrapeInterval = "90s" }, "envoy-scrape-interval"},
		{"zero replicas", func(s *TeamSpec) { s.Replicas = 0 }, "replicas"},
		{"long name with shards", func(s *TeamSpec) { s.Team = strings.Repeat("a", 35); s.Shards = 20 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			tt.edit(&s)
			_, err := Build(s)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Build = %v, want a FieldError", err)
			}
			if fe.Field != tt.field {
				t.Errorf("error names --%s, want --%s: %v", fe.Field, tt.field, err)
			}
			if strings.Contains(fe.Error(), "\n") {
				t.Errorf("error spans several lines: %q", fe.Error())
			}
		})
	}
}

func TestRetentionSizeDefaultsToAShareOfTheVolume(t *testing.T) {
	s := DefaultTeamSpec("team-a", "team-a")
	s.Storage = resource.MustParse("50Gi")
	p := find[*monitoringv1.Prometheus](build(t, s))[0]
	if p.Spec.RetentionSize != "40GiB" {
		t.Errorf("retentionSize = %q, want 40GiB (80%% of 50Gi, in the unit the CRD accepts)", p.Spec.RetentionSize)
	}
	s.Storage = resource.Quantity{}
	p = find[*monitoringv1.Prometheus](build(t, s))[0]
	if p.Spec.RetentionSize != "" || p.Spec.Storage != nil {
		t.Errorf("without a volume: retentionSize %q, storage %v", p.Spec.RetentionSize, p.Spec.Storage)
	}
}

func TestExplainNamesEveryObject(t *testing.T) {
	for name, s := range specCases() {
		t.Run(name, func(t *testing.T) {
			st := build(t, s)
			var b bytes.Buffer
			if err := st.Explain(&b); err != nil {
				t.Fatal(err)
			}
			for _, o := range st.Objects {
				kind := o.GetObjectKind().GroupVersionKind().Kind
				line := ""
				for _, l := range strings.Split(b.String(), "\n") {
					if strings.Contains(l, kind) && strings.Contains(l, o.GetName()) {
						line = l
					}
				}
				if line == "" {
					t.Errorf("explain does not mention %s %s", kind, o.GetName())
				} else if strings.HasSuffix(strings.TrimSpace(line), o.GetName()) {
					t.Errorf("explain gives no purpose for %s %s", kind, o.GetName())
				}
			}
			if !strings.Contains(b.String(), "When to change them") {
				t.Error("explain has no advice")
			}
		})
	}
}

// TestStackKindsCoverEveryObject keeps StackKinds, which list and delete search, complete.
func TestStackKindsCoverEveryObject(t *testing.T) {
	known := map[string]bool{}
	for _, k := range StackKinds {
		known[k.Kind] = true
	}
	for name, s := range specCases() {
		for _, o := range build(t, s).Objects {
			if kind := o.GetObjectKind().GroupVersionKind().Kind; !known[kind] {
				t.Errorf("%s: %s is missing from StackKinds", name, kind)
			}
		}
	}
}

func TestEvaluationIntervalFollowsTheRules(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*TeamSpec)
		ok, long monitoringv1.Duration
		want     []string // in the error for long
	}{
		{"recording rules and alerts", func(*TeamSpec) {}, "2m30s", "2m31s", []string{"half the 5m window of the recording rules", "use 2m30s or less"}},
		{"recording rules only", func(s *TeamSpec) { s.Alerts = false }, "150s", "3m", []string{"5m window", "use 2m30s or less"}},
		{"burn-rate alerts", func(s *TeamSpec) { s.SLO = 99.9 }, "1m", "61s", []string{"half the 2m `for` of alert EnvoyErrorBudgetBurn", "--slo", "use 1m or less"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultTeamSpec("team-a", "team-a")
			tt.edit(&s)
			s.EvaluationInterval = tt.ok
			if err := s.Validate(); err != nil {
				t.Errorf("%s: %v", tt.ok, err)
			}
			s.EvaluationInterval = tt.long
			var fe *FieldError
			if err := s.Validate(); !errors.As(err, &fe) || fe.Field != "evaluation-interval" {
				t.Fatalf("%s = %v, want a --evaluation-interval error", tt.long, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(fe.Error(), w) {
					t.Errorf("%q lacks %q", fe.Error(), w)
				}
			}
		})
	}
	// Every alert of the stack is seen twice within its `for` at the longest interval allowed.
	s := DefaultTeamSpec("team-a", "team-a")
	s.SLO = 99.9
	s.Presets = []Preset{PresetEnvoy, PresetStatsd}
	limit, _, _ := s.maxEvaluationInterval()
	for _, r := range s.alertingRules(s.sources()) {
		if r.forDuration < 2*limit {
			t.Errorf("alert %s: for %s is shorter than two evaluations of %s", r.alert, r.forDuration, limit)
		}
	}
	// Without rules of its own the stack sets no limit: the team's own rules are its business.
	s = DefaultTeamSpec("team-a", "team-a")
	s.Presets = []Preset{PresetNone}
	s.EvaluationInterval = "10m"
	if err := s.Validate(); err != nil {
		t.Errorf("--envoy=none with a 10m interval: %v", err)
	}
}

func TestTargetAndSampleLimitsFollowTheSpec(t *testing.T) {
	tests := []struct {
		name                 string
		target, sample       int64
		wantTarget, wantSamp *int64
		explain              []string
	}{
		{"defaults", DefaultTargetLimit, DefaultSampleLimit, ptr.To[int64](200), ptr.To[int64](200000),
			[]string{"at most 200 targets (--target-limit), one per Envoy pod or sidecar", "at most 200000 samples", "--target-limit 400"}},
		{"an Istio mesh", 400, 500000, ptr.To[int64](400), ptr.To[int64](500000), []string{"at most 400 targets", "at most 500000 samples"}},
		{"no limits", 0, 0, nil, nil, []string{"No target limit (--target-limit 0)", "No sample limit (--sample-limit 0)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultTeamSpec("team-a", "team-a")
			s.TargetLimit, s.SampleLimit = tt.target, tt.sample
			st := build(t, s)
			p := find[*monitoringv1.Prometheus](st)[0]
			if !equalPtr(p.Spec.EnforcedTargetLimit, tt.wantTarget) || !equalPtr(p.Spec.EnforcedSampleLimit, tt.wantSamp) {
				t.Errorf("enforcedTargetLimit %v, enforcedSampleLimit %v; want %v, %v",
					p.Spec.EnforcedTargetLimit, p.Spec.EnforcedSampleLimit, tt.wantTarget, tt.wantSamp)
			}
			var b bytes.Buffer
			if err := st.Explain(&b); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(strings.Fields(b.String()), " ")
			for _, w := range tt.explain {
				if !strings.Contains(text, w) {
					t.Errorf("explain lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
	for field, edit := range map[string]func(*TeamSpec){
		"target-limit": func(s *TeamSpec) { s.TargetLimit = -1 },
		"sample-limit": func(s *TeamSpec) { s.SampleLimit = -5 },
	} {
		s := DefaultTeamSpec("team-a", "team-a")
		edit(&s)
		var fe *FieldError
		if _, err := Build(s); !errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Reason, "0 for no limit") {
			t.Errorf("negative --%s = %v", field, err)
		}
	}
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
