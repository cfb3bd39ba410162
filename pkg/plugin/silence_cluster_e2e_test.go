//go:build e2e

package plugin

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/amtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/am"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
)

// TestSilenceThroughAPortForward reaches a team's own Alertmanager as the commands do in a
// cluster: the plugin reads the Alertmanager its Prometheus names (--alertmanager own), finds
// the pod behind the Service alertmanager-TEAM in a real API server, and port-forwards to it;
// the node agent (kwok) forwards that pod's port 9093 to a real Alertmanager. Then the same
// through the API server's service proxy (--via-proxy).
func TestSilenceThroughAPortForward(t *testing.T) {
	t.Parallel()
	binary(t)
	srv := amtest.Start(t, amtest.NullConfig)
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	ns := "team-a"
	c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", ns)
	agent := c.StartNodeAgent(t, kubetest.Forward{Namespace: ns, Pod: "alertmanager-team-a-0", Port: 9093, Target: srv.Addr})
	admin := []string{"-n", ns, "--kubeconfig", c.Kubeconfig(kubetest.Admin)}
	if _, stderr, code := runPromteam(t, nil, append([]string{"create", "team-a", "--alertmanager", "own", "--notify", "webhook=hook/url", "--apply"}, admin...)...); code != 0 {
		t.Fatalf("create --apply: %s", stderr)
	}

	// Before the Alertmanager has a pod: the wait ends with the Service's name.
	_, stderr, code := runPromteam(t, nil, append([]string{"silence", "list", "team-a", "--timeout", "2s"}, admin...)...)
	if code != 1 || !strings.Contains(stderr, "no pod of Service team-a/alertmanager-team-a") {
		t.Fatalf("list without a pod: exit %d, %s", code, stderr)
	}

	// The pod the operator would run, with the labels the Service selects.
	agent.RunPod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "alertmanager-team-a-0", Namespace: ns,
			Labels: map[string]string{"app.kubernetes.io/name": "alertmanager", "alertmanager": "team-a"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "alertmanager", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9093}}},
		}},
	})

	out, stderr, code := runPromteam(t, nil, append([]string{"silence", "create", "team-a", "-m", "envoy_cluster_name=checkout", "--comment", "migration"}, admin...)...)
	if code != 0 {
		t.Fatalf("create: exit %d, %s", code, stderr)
	}
	id := strings.TrimSpace(out)
	client, err := am.New(prom.Config{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := client.Silence(context.Background(), id)
	if err != nil {
		t.Fatalf("the silence %q printed is not in the Alertmanager: %v", id, err)
	}
	// The author is the kubeconfig's user, as the Alertmanager stores it.
	if !am.ScopedTo(s.Matchers, "team-a", ns) || s.CreatedBy != kubetest.Admin || s.EndsAt.Sub(s.StartsAt).Round(time.Minute) != 2*time.Hour {
		t.Errorf("created %+v", s)
	}
	out, stderr, code = runPromteam(t, nil, append([]string{"silence", "list", "team-a", "-o", "wide"}, admin...)...)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "migration") {
		t.Fatalf("list: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code = runPromteam(t, nil, append([]string{"silence", "expire", "team-a", id}, admin...)...)
	if code != 0 || out != "silence "+id+" expired\n" {
		t.Fatalf("expire: exit %d, %q, %s", code, out, stderr)
	}
	if s, err := client.Silence(context.Background(), id); err != nil || s.Status.State != am.SilenceExpired {
		t.Errorf("after expire: %+v, %v", s.Status, err)
	}

	// Through the API server's service proxy: the EndpointSlice an endpoint controller would
	// write, and the pod network's route to the pod's Alertmanager. Creating is a POST and
	// expiring a DELETE through the proxy.
	routeService(t, c, ns, "alertmanager-team-a", "alertmanager-team-a-0", 9093, srv.Addr)
	proxy := append([]string{"--via-proxy"}, admin...)
	out, stderr, code = runPromteam(t, nil, append([]string{"silence", "create", "team-a", "-m", "severity=warning", "--comment", "by proxy", "--author", "ann"}, proxy...)...)
	if code != 0 {
		t.Fatalf("create --via-proxy: exit %d, %s", code, stderr)
	}
	byProxy := strings.TrimSpace(out)
	out, stderr, code = runPromteam(t, nil, append([]string{"silence", "list", "team-a"}, proxy...)...)
	if code != 0 || !strings.Contains(out, byProxy) || !strings.Contains(out, `severity="warning"`) || strings.Contains(out, id) {
		t.Fatalf("list --via-proxy: exit %d\n%s\n%s", code, out, stderr)
	}
	if _, stderr, code = runPromteam(t, nil, append([]string{"silence", "expire", "team-a", byProxy}, proxy...)...); code != 0 {
		t.Fatalf("expire --via-proxy: exit %d, %s", code, stderr)
	}
	if s, err := client.Silence(context.Background(), byProxy); err != nil || s.Status.State != am.SilenceExpired {
		t.Errorf("after expire --via-proxy: %+v, %v", s.Status, err)
	}
}
