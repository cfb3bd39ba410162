//go:build e2e

package plugin

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
)

// pinnedOperator is the operator release whose CRDs the API-server tests install.
const pinnedOperator = "v0.94.1"

// TestStacksApplyToARealAPIServer applies every representative stack to a real kube-apiserver
// carrying the operator's CRDs, in a namespace that enforces Pod Security "restricted": first as
// kubectl apply --server-side --dry-run=server --validate=strict (no error, no warning), then for
// real, after which the Prometheus' own selectors, read back from the server, must select every
// monitor and rule of the stack.
func TestStacksApplyToARealAPIServer(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))

	for _, tc := range createCases() {
		t.Run(tc.name, func(t *testing.T) {
			ns := restrictedNamespace(t, c, "stack-"+tc.name)
			for _, extra := range tc.extraNamespaces {
				restrictedNamespace(t, c, extra)
			}
			args := withNamespace(tc.args, ns)
			out, _, err := run(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			_, stderr, err := c.Kubectl(t, kubetest.Admin, []byte(out),
				"apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=kubectl-promteam", "-f", "-")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(stderr, "Warning") {
				t.Errorf("the API server warned: %s", stderr)
			}
			applied := c.KubectlOK(t, kubetest.Admin, []byte(out), "apply", "--server-side", "--field-manager=kubectl-promteam", "-f", "-")
			if tc.name != "preset-none" && !strings.Contains(applied, "prometheusrule.monitoring.coreos.com/") {
				t.Errorf("apply output lacks the PrometheusRule:\n%s", applied)
			}
			checkSelection(t, c, ns, args[1])
		})
	}
}

// TestNamespaceAdminCanApply applies the default stack as a user who is only an admin of the
// namespace (the built-in admin rules, plus the operator's resources), with no cluster rights.
func TestNamespaceAdminCanApply(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	ns := restrictedNamespace(t, c, "team-admin")
	c.KubectlOK(t, kubetest.Admin, []byte(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring-edit}
rules:
- apiGroups: [monitoring.coreos.com]
  resources: [prometheuses, podmonitors, servicemonitors, prometheusrules, probes, scrapeconfigs]
  verbs: ["*"]
`), "apply", "-f", "-")
	// Without the aggregation controller the built-in admin role is empty; bind what it
	// aggregates instead.
	for _, role := range []string{"system:aggregate-to-admin", "system:aggregate-to-edit", "system:aggregate-to-view", "monitoring-edit"} {
		c.KubectlOK(t, kubetest.Admin, nil, "create", "rolebinding", "dev-"+strings.ReplaceAll(role, ":", "-"),
			"-n", ns, "--clusterrole="+role, "--user="+kubetest.Dev)
	}
	// A real apply, not a dry run: the API server checks a RoleBinding against the Role it names,
	// and in a dry run that Role was never stored, so only cluster admins (who may bind any role)
	// get through a dry run of a new stack.
	for i, extra := range [][]string{nil, {"--envoy", "statsd", "--grafana-dashboard", "--network-policy", "--slo", "99.9"},
		{"--thanos", "--shards", "2", "--thanos-query-replicas", "2", "--network-policy", "--thanos-objstore", "objstore/thanos.yaml"}} {
		out, _, err := run(t, append([]string{"create", fmt.Sprintf("team-%d", i), "-n", ns}, extra...)...)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Kubectl(t, kubetest.Dev, []byte(out), "apply", "--server-side", "--validate=strict", "-f", "-"); err != nil {
			t.Errorf("a namespace admin cannot apply %v: %v", extra, err)
		}
	}
	// Cluster scope needs cluster rights, and says so.
	out, _, _ := run(t, "create", "team-a", "-n", ns, "--cluster-scope")
	_, _, err := c.Kubectl(t, kubetest.Dev, []byte(out), "apply", "--server-side", "--dry-run=server", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), "clusterroles") {
		t.Errorf("--cluster-scope as a namespace admin: %v, want forbidden on clusterroles", err)
	}
}

func restrictedNamespace(t *testing.T, c *kubetest.Cluster, name string) string {
	t.Helper()
	c.KubectlOK(t, kubetest.Admin, []byte(`apiVersion: v1
kind: Namespace
metadata:
  name: `+name+`
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/audit: restricted
`), "apply", "-f", "-")
	return name
}

func withNamespace(args []string, ns string) []string {
	out := slices.Clone(args)
	for i := range out {
		if out[i] == "-n" && i+1 < len(out) {
			out[i+1] = ns
		}
	}
	return out
}

// checkSelection reads the Prometheus back and lists monitors and rules with its selectors, as
// the operator does, comparing with every monitor and rule the stack holds.
func checkSelection(t *testing.T, c *kubetest.Cluster, ns, team string) {
	t.Helper()
	var prom struct {
		Spec map[string]json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal([]byte(c.KubectlOK(t, kubetest.Admin, nil, "get", "prometheus", team, "-n", ns, "-o", "json")), &prom); err != nil {
		t.Fatal(err)
	}
	for _, sel := range []struct{ field, kind, nsField string }{
		{"podMonitorSelector", "podmonitors", "podMonitorNamespaceSelector"},
		{"serviceMonitorSelector", "servicemonitors", "serviceMonitorNamespaceSelector"},
		{"ruleSelector", "prometheusrules", "ruleNamespaceSelector"},
	} {
		if _, set := prom.Spec[sel.nsField]; set {
			t.Errorf("%s is set; the stack reads its own namespace only", sel.nsField)
		}
		var ls struct {
			MatchLabels map[string]string `json:"matchLabels"`
		}
		raw, ok := prom.Spec[sel.field]
		if !ok || string(raw) == "null" {
			t.Fatalf("%s is null on the server", sel.field)
		}
		if err := json.Unmarshal(raw, &ls); err != nil || len(ls.MatchLabels) == 0 {
			t.Fatalf("%s = %s", sel.field, raw)
		}
		var parts []string
		for k, v := range ls.MatchLabels {
			parts = append(parts, k+"="+v)
		}
		sort.Strings(parts)
		selected := names(c.KubectlOK(t, kubetest.Admin, nil, "get", sel.kind, "-n", ns, "-l", strings.Join(parts, ","), "-o", "name"))
		all := names(c.KubectlOK(t, kubetest.Admin, nil, "get", sel.kind, "-n", ns, "-l", "app.kubernetes.io/managed-by=kubectl-promteam", "-o", "name"))
		if !slices.Equal(selected, all) {
			t.Errorf("%s selects %v, the stack has %v", sel.field, selected, all)
		}
	}
}

func names(out string) []string {
	var n []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			n = append(n, l)
		}
	}
	sort.Strings(n)
	return n
}
