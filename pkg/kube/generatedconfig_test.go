//go:build e2e

package kube_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// TestGeneratedAlertmanagerConfig reads the Alertmanager a stack sends to from its Prometheus, and
// the configuration the operator generated for it from the Secret it writes: gunzipped for the
// admin, an error naming the permission for a user who may not read Secrets there.
func TestGeneratedAlertmanagerConfig(t *testing.T) {
	c := cluster(t)
	ctx := t.Context()
	admin := newClient(t, c.Kubeconfig(kubetest.Admin))
	dev := newClient(t, c.Kubeconfig(kubetest.Dev))
	ns := c.Namespace(t)

	plain := manifests.DefaultTeamSpec("plain", ns)
	own := manifests.DefaultTeamSpec("owner", ns)
	own.Alerting = manifests.Alerting{Delivery: manifests.DeliverOwn, AlertmanagerVersion: manifests.DefaultAlertmanagerVersion,
		Receivers: []manifests.Receiver{{Kind: manifests.ReceiverWebhook, Secret: manifests.SecretRef{Name: "hook", Key: "url"}, Severities: []string{manifests.SeverityCritical}}}}
	for _, spec := range []manifests.TeamSpec{plain, own} {
		_, err := admin.Apply(ctx, build(t, spec), kube.ApplyOptions{})
		must(t, err)
	}
	if amNS, amName, err := admin.TeamAlertmanagerRef(ctx, "owner", ns); err != nil || amNS != ns || amName != "owner" {
		t.Errorf("TeamAlertmanager(owner) = %s/%s, %v; want its own", amNS, amName, err)
	}
	if _, _, err := admin.TeamAlertmanagerRef(ctx, "plain", ns); !errors.Is(err, kube.ErrNoAlertmanager) {
		t.Errorf("TeamAlertmanager(plain) = %v, want ErrNoAlertmanager", err)
	}
	if _, _, err := admin.TeamAlertmanagerRef(ctx, "nobody", ns); err == nil || !strings.Contains(err.Error(), "no stack for team nobody") {
		t.Errorf("TeamAlertmanager(nobody) = %v", err)
	}

	config, err := os.ReadFile(filepath.Join("..", "alertroute", "testdata", "generated-OnNamespace.yaml"))
	must(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err = zw.Write(config)
	must(t, err)
	must(t, zw.Close())
	file := filepath.Join(t.TempDir(), "alertmanager.yaml.gz")
	must(t, os.WriteFile(file, gz.Bytes(), 0o600))
	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "secret", "generic", kube.GeneratedConfigSecret("owner"), "--from-file=alertmanager.yaml.gz="+file)

	got, err := admin.GeneratedAlertmanagerConfig(ctx, ns, "owner", 1<<20)
	if err != nil || !bytes.Equal(got, config) {
		t.Errorf("GeneratedAlertmanagerConfig = %d bytes, %v; want the %d bytes written", len(got), err, len(config))
	}
	if _, err := admin.GeneratedAlertmanagerConfig(ctx, ns, "owner", 100); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a configuration above the cap: %v", err)
	}
	if _, err := dev.GeneratedAlertmanagerConfig(ctx, ns, "owner", 1<<20); err == nil ||
		!strings.Contains(err.Error(), "get secrets in namespace "+ns) || !strings.Contains(err.Error(), "--config-file") {
		t.Errorf("as a user who may not read Secrets: %v", err)
	}
	if _, err := admin.GeneratedAlertmanagerConfig(ctx, ns, "missing", 1<<20); err == nil || !strings.Contains(err.Error(), "has generated no configuration") {
		t.Errorf("no generated Secret: %v", err)
	}
	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "secret", "generic", kube.GeneratedConfigSecret("garbled"), "--from-literal=alertmanager.yaml.gz=not gzip")
	if _, err := admin.GeneratedAlertmanagerConfig(ctx, ns, "garbled", 1<<20); err == nil || !strings.Contains(err.Error(), "not gzip") {
		t.Errorf("a Secret that is not gzip: %v", err)
	}
}
