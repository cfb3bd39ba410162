//go:build e2e

package kubetest

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
)

// operatorVersion is the prometheus-operator release whose example CRDs the tests install.
const operatorVersion = "v0.94.1"

func TestMain(m *testing.M) { Main(m) }

// operatorCRDDir is the vendored CRD directory of operatorVersion.
func operatorCRDDir(*testing.T) string { return crdschema.RepoCRDDir(operatorVersion) }

const podMonitor = `apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: web
  namespace: NAMESPACE
spec:
  selector:
    matchLabels:
      app: web
  podMetricsEndpoints:
  - port: metrics
    interval: 30s
`

// serviceMonitorIntPort has an integer where the schema wants a port name.
const serviceMonitorIntPort = `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: web
  namespace: NAMESPACE
spec:
  selector:
    matchLabels:
      app: web
  endpoints:
  - port: 8080
`

// podMonitorUnknownField has a field the schema does not know.
const podMonitorUnknownField = `apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: web
  namespace: NAMESPACE
spec:
  selector:
    matchLabels:
      app: web
  podMetricsEndpoints:
  - port: metrics
    scrapeEvery: 30s
`

func manifest(tmpl, ns string) []byte {
	return []byte(strings.ReplaceAll(tmpl, "NAMESPACE", ns))
}

func TestSharedCluster(t *testing.T) {
	c := Shared(t)
	// The namespace exists before the CRDs, so kubectl has cached discovery without them.
	ns := c.Namespace(t)
	c.InstallCRDs(t, operatorCRDDir(t))

	dryRun := []string{"apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", "-"}

	t.Run("valid PodMonitor", func(t *testing.T) {
		out := c.KubectlOK(t, Admin, manifest(podMonitor, ns), dryRun...)
		if !strings.Contains(out, "podmonitor.monitoring.coreos.com/web serverside-applied (server dry run)") {
			t.Errorf("unexpected output: %q", out)
		}
		// A dry run creates nothing.
		if _, _, err := c.Kubectl(t, Admin, nil, "get", "-n", ns, "podmonitor", "web"); err == nil {
			t.Error("the dry run created the PodMonitor")
		}
	})

	t.Run("integer port rejected", func(t *testing.T) {
		_, stderr, err := c.Kubectl(t, Admin, manifest(serviceMonitorIntPort, ns), dryRun...)
		if err == nil {
			t.Fatal("ServiceMonitor with endpoints[0].port: 8080 was accepted")
		}
		if !strings.Contains(stderr, "spec.endpoints[0].port") {
			t.Errorf("error does not name spec.endpoints[0].port: %s", stderr)
		}
	})

	t.Run("unknown field rejected", func(t *testing.T) {
		_, stderr, err := c.Kubectl(t, Admin, manifest(podMonitorUnknownField, ns), dryRun...)
		if err == nil {
			t.Fatal("PodMonitor with an unknown field was accepted")
		}
		if !strings.Contains(stderr, "scrapeEvery") {
			t.Errorf("error does not name the unknown field: %s", stderr)
		}
	})

	t.Run("restricted user", func(t *testing.T) {
		out := c.KubectlOK(t, Dev, nil, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		if out != Dev {
			t.Errorf("whoami = %q, want %q", out, Dev)
		}
		_, stderr, err := c.Kubectl(t, Dev, nil, "create", "namespace", "not-allowed")
		if err == nil {
			t.Fatal("the restricted user created a namespace")
		}
		if !strings.Contains(stderr, "Forbidden") {
			t.Errorf("expected a Forbidden error, got: %s", stderr)
		}
		if _, _, err := c.Kubectl(t, Dev, manifest(podMonitor, ns), dryRun...); err == nil {
			t.Fatal("the restricted user applied a PodMonitor without a role")
		}

		// Granting a role lets the same request through.
		c.KubectlOK(t, Admin, nil, "create", "role", "podmonitors", "-n", ns,
			"--verb=get,list,create,patch", "--resource=podmonitors.monitoring.coreos.com")
		c.KubectlOK(t, Admin, nil, "create", "rolebinding", "dev-podmonitors", "-n", ns,
			"--role=podmonitors", "--user="+Dev)
		c.KubectlOK(t, Dev, manifest(podMonitor, ns), dryRun...)
	})

	t.Run("REST config", func(t *testing.T) {
		for user, want := range map[string]int{Admin: http.StatusOK, Dev: http.StatusForbidden} {
			client, err := rest.HTTPClientFor(c.RESTConfig(user))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Get(c.Server() + "/api/v1/namespaces")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET /api/v1/namespaces as %s: %s, want %d", user, resp.Status, want)
			}
		}
	})
}

func TestStartStopsWithTest(t *testing.T) {
	var c *Cluster
	if !t.Run("cluster", func(t *testing.T) {
		c = Start(t)
		out := c.KubectlOK(t, Admin, nil, "version", "-o", "json")
		var v struct {
			ClientVersion struct{ GitVersion string }
			ServerVersion struct{ GitVersion string }
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		if v.ServerVersion.GitVersion == "" || v.ClientVersion.GitVersion != v.ServerVersion.GitVersion {
			t.Errorf("client %q, server %q", v.ClientVersion.GitVersion, v.ServerVersion.GitVersion)
		}
		if _, err := os.Stat(c.Kubeconfig(Dev)); err != nil {
			t.Error(err)
		}
	}) || c == nil {
		return
	}
	// The subtest's cleanup stopped the servers.
	client, err := rest.HTTPClientFor(c.RESTConfig(Admin))
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := client.Get(c.Server() + "/readyz"); err == nil {
		resp.Body.Close()
		t.Fatalf("kube-apiserver still answers after the test ended: %s", resp.Status)
	}
}
