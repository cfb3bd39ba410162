//go:build e2e

package plugin

import (
	"strings"
	"testing"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
)

// platformAlertmanager is a platform's shared Alertmanager: it reads AlertmanagerConfigs labelled
// alertmanagerConfig=main from namespaces labelled alerts=team, behind Service alertmanager-main;
// another one, closed, reads no AlertmanagerConfig at all.
const platformAlertmanager = `apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: main, namespace: monitoring}
spec:
  replicas: 1
  alertmanagerConfigSelector: {matchLabels: {alertmanagerConfig: main}}
  alertmanagerConfigNamespaceSelector: {matchLabels: {alerts: team}}
  alertmanagerConfigMatcherStrategy: {type: None}
---
apiVersion: v1
kind: Service
metadata: {name: alertmanager-main, namespace: monitoring}
spec:
  selector: {app.kubernetes.io/name: alertmanager, alertmanager: main}
  ports: [{name: web, port: 9093, targetPort: web}]
---
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: closed, namespace: monitoring}
spec:
  replicas: 1
---
apiVersion: v1
kind: Service
metadata: {name: alertmanager-closed, namespace: monitoring}
spec:
  selector: {app.kubernetes.io/name: alertmanager, alertmanager: closed}
  ports: [{name: web, port: 9093, targetPort: web}]
`

// TestSharedAlertmanagerIsReadFromTheCluster: create --apply and diff read the platform's
// Alertmanager: the Service in front of it and the label its selector matches come from the
// cluster, an AlertmanagerConfig it would not read is refused before anything is applied, the
// commands for missing Secrets are printed, and delete finds the Role in its namespace.
func TestSharedAlertmanagerIsReadFromTheCluster(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	restrictedNamespace(t, c, "monitoring")
	c.KubectlOK(t, kubetest.Admin, []byte(platformAlertmanager), "apply", "-f", "-")
	ns := restrictedNamespace(t, c, "team-a")
	create := []string{"create", "team-a", "-n", ns, "--alertmanager", "monitoring/main", "--notify", "webhook=team-a-hook/url", "--apply"}

	// The namespace is not labelled for the Alertmanager: refused, nothing applied.
	out, stderr, err := as(t, c, kubetest.Admin, create...)
	if err == nil || !strings.Contains(err.Error(), "alerts=team") || !strings.Contains(err.Error(), "namespace team-a is not") || out != "" {
		t.Fatalf("unlabelled namespace: %v\nstdout %q\nstderr %q", err, out, stderr)
	}
	if got := c.KubectlOK(t, kubetest.Admin, nil, "get", "prometheus,alertmanagerconfig", "-n", ns, "-o", "name"); got != "" {
		t.Errorf("a refused apply left objects behind:\n%s", got)
	}

	c.KubectlOK(t, kubetest.Admin, nil, "label", "namespace", ns, "alerts=team")
	out, stderr, err = as(t, c, kubetest.Admin, create...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"alertmanagerconfig.monitoring.coreos.com/team-a created", "rolebinding.rbac.authorization.k8s.io/promteam:team-a:team-a created"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	if want := "kubectl create secret generic team-a-hook -n team-a --from-literal=url="; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks the command for the missing Secret %q:\n%s", want, stderr)
	}
	if got := c.KubectlOK(t, kubetest.Admin, nil, "get", "alertmanagerconfig", "team-a", "-n", ns, "-o", "jsonpath={.metadata.labels.alertmanagerConfig}"); got != "main" {
		t.Errorf("the AlertmanagerConfig is labelled alertmanagerConfig=%q, want the selector's main", got)
	}
	if got := c.KubectlOK(t, kubetest.Admin, nil, "get", "prometheus", "team-a", "-n", ns, "-o", "jsonpath={.spec.alerting.alertmanagers[0].namespace}/{.spec.alerting.alertmanagers[0].name}"); got != "monitoring/alertmanager-main" {
		t.Errorf("the Prometheus sends alerts to %q, want monitoring/alertmanager-main (the Service that selects the Alertmanager's pods)", got)
	}

	// With the Secret in place, no command; diff resolves the same way and sees nothing to change.
	c.KubectlOK(t, kubetest.Admin, nil, "create", "secret", "generic", "team-a-hook", "-n", ns, "--from-literal=url=http://hooks.example.com/")
	if _, stderr, err = as(t, c, kubetest.Admin, create...); err != nil || strings.Contains(stderr, "kubectl create secret") {
		t.Errorf("second apply: %v\n%s", err, stderr)
	}
	diff := append([]string{"diff"}, create[1:len(create)-1]...)
	if out, _, err := as(t, c, kubetest.Admin, diff...); exitCode(err) != 0 || out != "" {
		t.Errorf("diff after apply: exit %d\n%s", exitCode(err), out)
	}

	// Labels the selector does not match, and an Alertmanager that reads no AlertmanagerConfig.
	for _, r := range []struct {
		extra []string
		want  string
	}{
		{[]string{"--alertmanager-config-label", "alertmanagerConfig=other"}, "alertmanagerConfig=main"},
		{[]string{"--alertmanager", "monitoring/closed"}, "alertmanagerConfigSelector is unset"},
		{[]string{"--alertmanager", "monitoring/missing"}, "no Alertmanager missing in namespace monitoring"},
	} {
		_, _, err := as(t, c, kubetest.Admin, append(append([]string{}, create...), r.extra...)...)
		if err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%v: %v, want an error containing %q", r.extra, err, r.want)
		}
	}

	out, stderr, err = as(t, c, kubetest.Admin, "delete", "team-a", "-n", ns, "--yes")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out, "rolebinding.rbac.authorization.k8s.io/promteam:team-a:team-a") || !strings.Contains(out, "alertmanagerconfig") {
		t.Errorf("delete did not remove the Role in the Alertmanager's namespace or the AlertmanagerConfig:\n%s", out)
	}
	if got := c.KubectlOK(t, kubetest.Admin, nil, "get", "roles,rolebindings", "-n", "monitoring", "-o", "name"); got != "" {
		t.Errorf("left in namespace monitoring after delete:\n%s", got)
	}
}
