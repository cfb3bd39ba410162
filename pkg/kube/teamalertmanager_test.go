//go:build e2e

package kube_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// FindTeamAlertmanager follows the Prometheus' promteam.io/alertmanager annotation: its own
// Alertmanager, a shared one behind the Service leading to its pods, or none.
func TestFindTeamAlertmanager(t *testing.T) {
	c := cluster(t)
	ns, shared := c.Namespace(t), c.Namespace(t)
	prometheus := func(name, where string) string {
		annotation := ""
		if where != "" {
			annotation = fmt.Sprintf("\n  annotations: {promteam.io/alertmanager: %q}", where)
		}
		return fmt.Sprintf("apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata:\n  name: %s\n  namespace: %s%s\nspec: {}\n---\n", name, ns, annotation)
	}
	objects := prometheus("own", "own") + prometheus("shared", shared+"/platform") + prometheus("none", "") + prometheus("gone", shared+"/missing") +
		fmt.Sprintf(`apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: platform, namespace: %[1]s}
spec: {}
---
apiVersion: v1
kind: Service
metadata: {name: alertmanager-operated, namespace: %[1]s}
spec:
  selector: {app.kubernetes.io/name: alertmanager}
  ports: [{name: web, port: 9093}]
---
apiVersion: v1
kind: Service
metadata: {name: platform-alertmanager, namespace: %[1]s}
spec:
  selector: {app.kubernetes.io/name: alertmanager, alertmanager: platform}
  ports: [{name: web, port: 9093}]
`, shared)
	c.KubectlOK(t, kubetest.Admin, []byte(objects), "apply", "-f", "-")
	client := newClient(t, c.Kubeconfig(kubetest.Admin))

	got, err := client.FindTeamAlertmanager(t.Context(), "own", ns)
	if err != nil || got != (kube.TeamAlertmanager{Namespace: ns, Name: "own", Service: "alertmanager-own", Own: true}) {
		t.Errorf("own: %+v, %v", got, err)
	}
	got, err = client.FindTeamAlertmanager(t.Context(), "shared", ns)
	if err != nil || got != (kube.TeamAlertmanager{Namespace: shared, Name: "platform", Service: "platform-alertmanager"}) {
		t.Errorf("shared: %+v, %v; want its own Service before alertmanager-operated", got, err)
	}
	var none *kube.NoAlertmanagerError
	if _, err = client.FindTeamAlertmanager(t.Context(), "none", ns); !errors.As(err, &none) || !strings.Contains(err.Error(), "--alertmanager own --apply") {
		t.Errorf("none: %v, want a NoAlertmanagerError with the fix", err)
	}
	if _, err = client.FindTeamAlertmanager(t.Context(), "gone", ns); err == nil || !strings.Contains(err.Error(), "no Alertmanager missing in namespace "+shared) {
		t.Errorf("missing shared Alertmanager: %v", err)
	}
	if _, err = client.FindTeamAlertmanager(t.Context(), "nobody", ns); err == nil || !strings.Contains(err.Error(), "no promteam stack named nobody in namespace "+ns) {
		t.Errorf("missing stack: %v", err)
	}
}
