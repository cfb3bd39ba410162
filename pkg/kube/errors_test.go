package kube_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// TestNoOperatorCRDs runs against a cluster of its own that never had the operator's CRDs.
func TestNoOperatorCRDs(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()
	ns := c.Namespace(t)
	admin := newClient(t, c.Kubeconfig(kubetest.Admin))
	objs := build(t, manifests.DefaultTeamSpec("team-x", ns))
	d := adminDynamic(t, c)

	want := "the Prometheus Operator CRDs are not installed in the cluster at " + c.Server() +
		" (it does not serve monitoring.coreos.com/v1 Prometheus); ask cluster admins to install the operator"
	_, err := admin.Apply(ctx, objs, kube.ApplyOptions{})
	if !kube.IsNoOperatorCRDs(err) || err.Error() != want {
		t.Errorf("Apply without CRDs:\n%v\nwant\n%s", err, want)
	}
	// Nothing was applied, not even the kinds the cluster serves.
	assertAbsent(t, d, refsOf(t, objs))

	for name, call := range map[string]func() error{
		"Preflight": func() error { _, err := admin.Preflight(ctx, objs, false); return err },
		"Diff":      func() error { _, err := admin.Diff(ctx, objs, ""); return err },
		"DryRun": func() error {
			_, err := admin.Apply(ctx, objs, kube.ApplyOptions{DryRun: kube.DryRunServer})
			return err
		},
	} {
		if err := call(); !kube.IsNoOperatorCRDs(err) || err.Error() != want {
			t.Errorf("%s without CRDs: %v", name, err)
		}
	}
	listWant := "the Prometheus Operator CRDs are not installed in the cluster at " + c.Server() +
		" (it does not serve prometheuses.monitoring.coreos.com); ask cluster admins to install the operator"
	for name, call := range map[string]func() error{
		"ListStacks":     func() error { _, err := admin.ListStacks(ctx, "", true); return err },
		"TeamNamespaces": func() error { _, err := admin.TeamNamespaces(ctx, "team-x"); return err },
	} {
		if err := call(); !kube.IsNoOperatorCRDs(err) || err.Error() != listWant {
			t.Errorf("%s without CRDs: %v", name, err)
		}
	}

	// FindStack skips the kinds the cluster does not serve and finds the others.
	builtin := slices.DeleteFunc(slices.Clone(objs), func(o *unstructured.Unstructured) bool {
		return strings.HasPrefix(o.GetAPIVersion(), "monitoring.coreos.com/")
	})
	_, err = admin.Apply(ctx, builtin, kube.ApplyOptions{})
	must(t, err)
	found, err := admin.FindStack(ctx, "team-x", ns)
	must(t, err)
	if len(found) != len(builtin) {
		t.Errorf("FindStack without CRDs found %v, want the %d built-in objects", found, len(builtin))
	}
}

// TestUnreachable points the client at a port nobody listens on.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	server := "https://" + l.Addr().String()
	must(t, l.Close())
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: {server: "`+server+`", insecure-skip-tls-verify: true}
users:
- name: someone
  user: {token: abc}
contexts:
- name: gone
  context: {cluster: gone, user: someone, namespace: default}
current-context: gone
`), 0o600))
	cl := newClient(t, kubeconfig)
	if cl.Server() != server {
		t.Errorf("Server() = %q, want %q", cl.Server(), server)
	}
	ctx := context.Background()
	objs := build(t, manifests.DefaultTeamSpec("team-u", "somewhere"))
	refs := refsOf(t, objs)
	want := "cannot reach the Kubernetes API at " + server + ": connection refused"
	for name, call := range map[string]func() error{
		"Apply":                  func() error { _, err := cl.Apply(ctx, objs, kube.ApplyOptions{}); return err },
		"Preflight":              func() error { _, err := cl.Preflight(ctx, objs, true); return err },
		"Diff":                   func() error { _, err := cl.Diff(ctx, objs, ""); return err },
		"EnsureNamespace":        func() error { _, err := cl.EnsureNamespace(ctx, "somewhere", kube.DryRunNone); return err },
		"FindStack":              func() error { _, err := cl.FindStack(ctx, "team-u", "somewhere"); return err },
		"PersistentVolumeClaims": func() error { _, err := cl.PersistentVolumeClaims(ctx, "team-u", "somewhere"); return err },
		"Delete":                 func() error { _, err := cl.Delete(ctx, refs, kube.DryRunNone); return err },
		"ListStacks":             func() error { _, err := cl.ListStacks(ctx, "", true); return err },
		"TeamNamespaces":         func() error { _, err := cl.TeamNamespaces(ctx, "team-u"); return err },
		"User":                   func() error { _, err := cl.User(ctx); return err },
	} {
		err := call()
		if !kube.IsUnreachable(err) || err.Error() != want {
			t.Errorf("%s: %v\nwant %s", name, err, want)
		}
	}
}
