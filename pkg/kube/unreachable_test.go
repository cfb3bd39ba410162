package kube_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

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
