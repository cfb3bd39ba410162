//go:build e2e

package kube_test

import (
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
