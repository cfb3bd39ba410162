//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/alertroute"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// TestAlertsTestAgainstTheOperator: the real operator reconciles a team's own Alertmanager and
// three shared ones, one per matcher strategy, each selecting the AlertmanagerConfig that
// `create --apply` wrote with a receiver of every kind; `alerts test` and the routing package then
// read the configuration the operator generated (Secret alertmanager-NAME-generated) and route
// every severity to the receivers that take it, and another team's alerts to none of them.
func TestAlertsTestAgainstTheOperator(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(operatorVersion))
	c.StartOperator(t)
	admin := []string{"--kubeconfig", c.Kubeconfig(kubetest.Admin)}
	promteam := func(t *testing.T, args ...string) (string, string, int) {
		t.Helper()
		return cli.Run(t, bin, nil, append(args, admin...)...)
	}

	c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", "monitoring")
	strategies := map[string]string{"am-on": "OnNamespace", "am-except": "OnNamespaceExceptForAlertmanagerNamespace", "am-none": "None"}
	for name, strategy := range strategies {
		c.KubectlOK(t, kubetest.Admin, []byte(`apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: `+name+`, namespace: monitoring}
spec:
  version: v0.28.1
  replicas: 1
  alertmanagerConfigSelector: {matchLabels: {alertmanagerConfig: teams}}
  alertmanagerConfigNamespaceSelector: {}
  alertmanagerConfigMatcherStrategy: {type: `+strategy+`}
`), "apply", "-f", "-")
	}
	notify := []string{"--notify", "slack=slack/url,channel=#alerts", "--notify", "pagerduty=pd/key", "--notify", "webhook=hook/url,severity=warning",
		"--notify", "msteams=teams/url,severity=critical", "--notify", "email=oncall@example.com,smarthost=smtp.example.com:587,from=am@example.com"}
	teams := map[string][]string{
		"team-a":   {"--alertmanager", "monitoring/am-on", "--alertmanager-service", "alertmanager-operated"},
		"team-own": {"--alertmanager", "own", "--alertmanager-version", "v0.28.1"},
	}
	for team, where := range teams {
		c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", team)
		for _, s := range []string{"slack", "pd", "hook", "teams"} {
			key := map[string]string{"pd": "key"}[s]
			if key == "" {
				key = "url"
			}
			c.KubectlOK(t, kubetest.Admin, nil, "-n", team, "create", "secret", "generic", s, "--from-literal="+key+"=https://hooks.example.com/"+team+"/"+s)
		}
		args := append([]string{"create", team, "-n", team, "--apply"}, where...)
		if _, stderr, code := promteam(t, append(args, notify...)...); code != 0 {
			t.Fatalf("create %s --apply: exit %d: %s", team, code, stderr)
		}
	}

	client := newKubeClient(t, c.Kubeconfig(kubetest.Admin))
	// The generated configuration of Alertmanager ns/name once it holds team's receivers.
	generated := func(t *testing.T, ns, name, team string) *alertroute.Config {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			data, err := client.GeneratedAlertmanagerConfig(context.Background(), ns, name, alertroute.MaxConfigSize)
			if err == nil && strings.Contains(string(data), team+"/"+team+"/slack") {
				cfg, err := alertroute.Parse(data)
				if err != nil {
					t.Fatalf("the operator's configuration for %s/%s: %v\n%s", ns, name, err, data)
				}
				return cfg
			}
			if time.Now().After(deadline) {
				t.Fatalf("the operator generated no configuration with %s's receivers for Alertmanager %s/%s: %v\n%s", team, ns, name, err, data)
			}
			time.Sleep(time.Second)
		}
	}
	want := map[string][]string{
		"critical": {"slack", "pagerduty", "msteams", "email"},
		"warning":  {"slack", "webhook", "email"},
		"info":     {"unrouted"},
	}
	check := func(t *testing.T, cfg *alertroute.Config, team string) {
		t.Helper()
		scope := alertroute.Scope{Namespace: team, Name: team}
		for severity, receivers := range want {
			var got []string
			for _, m := range cfg.Route(map[string]string{"severity": severity, "team": team, "namespace": team, "envoy_namespace": "projectcontour"}, scope) {
				got = append(got, m.DisplayName())
			}
			if !slices.Equal(got, receivers) {
				t.Errorf("%s, severity %s: %v, want %v", team, severity, got, receivers)
			}
		}
		other := cfg.Route(map[string]string{"severity": "critical", "team": "team-x", "namespace": team}, scope)
		if alertroute.Delivered(other) {
			t.Errorf("%s: another team's alert reaches %+v", team, other)
		}
	}
	for name, strategy := range strategies {
		t.Run(strategy, func(t *testing.T) { check(t, generated(t, "monitoring", name, "team-a"), "team-a") })
	}
	t.Run("own", func(t *testing.T) { check(t, generated(t, "team-own", "team-own", "team-own"), "team-own") })

	// The command, reading the Secret of the Alertmanager each stack names.
	for team := range teams {
		out, stderr, code := promteam(t, "alerts", "test", team, "-n", team, "--labels", "severity=critical,envoy_cluster_name=checkout", "-o", "json")
		var doc struct {
			Config    string             `json:"config"`
			Delivered bool               `json:"delivered"`
			Receivers []alertroute.Match `json:"receivers"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || !doc.Delivered || len(doc.Receivers) != 4 || doc.Receivers[0].Receiver != team+"/"+team+"/slack" {
			t.Errorf("alerts test %s: exit %d\n%s\n%s", team, code, out, stderr)
		}
		if !strings.HasPrefix(doc.Config, "secret ") || !strings.HasSuffix(doc.Config, "-generated") {
			t.Errorf("alerts test %s read %q", team, doc.Config)
		}
		if _, stderr, code := promteam(t, "alerts", "test", team, "-n", team, "--labels", "severity=info"); code != 1 || !strings.Contains(stderr, "reach no receiver") {
			t.Errorf("alerts test %s, severity info: exit %d, %s", team, code, stderr)
		}
	}
	// A user who may not read Secrets in the shared Alertmanager's namespace hears which permission
	// is missing.
	c.KubectlOK(t, kubetest.Admin, nil, "-n", "team-a", "create", "role", "read-stack", "--verb=get,list", "--resource=prometheuses.monitoring.coreos.com")
	c.KubectlOK(t, kubetest.Admin, nil, "-n", "team-a", "create", "rolebinding", "dev", "--role=read-stack", "--user="+kubetest.Dev)
	_, stderr, code := cli.Run(t, bin, nil, "alerts", "test", "team-a", "-n", "team-a", "--labels", "severity=critical", "--kubeconfig", c.Kubeconfig(kubetest.Dev))
	if code != 2 || !strings.Contains(stderr, "get secrets in namespace monitoring") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("alerts test as a user without Secrets: exit %d, %q", code, stderr)
	}
}

// newKubeClient is the plugin's client for a kubeconfig.
func newKubeClient(t *testing.T, kubeconfig string) *kube.Client {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	cacheDir := t.TempDir()
	flags.KubeConfig, flags.CacheDir = &kubeconfig, &cacheDir
	c, err := kube.NewClient(flags)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
