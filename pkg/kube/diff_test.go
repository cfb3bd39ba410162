//go:build e2e

package kube_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

func TestDiff(t *testing.T) {
	c := cluster(t)
	ctx := t.Context()
	admin := newClient(t, c.Kubeconfig(kubetest.Admin))
	d := adminDynamic(t, c)
	ns := c.Namespace(t)
	spec := manifests.DefaultTeamSpec("team-f", ns)
	spec.GrafanaDashboard = true
	objs := build(t, spec)
	refs := refsOf(t, objs)

	// Nothing is live: every object diffs against nothing.
	diffs, err := admin.Diff(ctx, objs, "")
	must(t, err)
	if len(diffs) != len(refs) {
		t.Fatalf("%d diffs for %d new objects", len(diffs), len(refs))
	}
	for i, df := range diffs {
		if df.Ref != refs[i] || df.Note != "" {
			t.Errorf("diff %d: %+v, want one of %s", i, df, refs[i])
		}
		path := strings.TrimSuffix(refs[i].String(), "/"+refs[i].Name) + "/" + ns + "/" + refs[i].Name
		header := "--- live/" + path + "\n+++ merged/" + path + "\n@@ -0,0 +1,"
		if !strings.HasPrefix(df.Unified, header) {
			t.Errorf("diff of new %s does not start with %q:\n%s", refs[i], header, df.Unified)
		}
		for _, line := range strings.Split(strings.TrimSuffix(df.Unified, "\n"), "\n")[3:] {
			if !strings.HasPrefix(line, "+") {
				t.Errorf("diff of new %s has line %q", refs[i], line)
			}
		}
		for _, noise := range []string{"managedFields", "resourceVersion", "uid:", "creationTimestamp", "generation"} {
			if strings.Contains(df.Unified, noise) {
				t.Errorf("diff of %s shows %s:\n%s", refs[i], noise, df.Unified)
			}
		}
	}
	assertAbsent(t, d, refs)

	_, err = admin.Apply(ctx, objs, kube.ApplyOptions{})
	must(t, err)
	diffs, err = admin.Diff(ctx, objs, "")
	must(t, err)
	if len(diffs) != 0 {
		t.Fatalf("diff right after apply:\n%+v", diffs)
	}

	spec.Retention = "30d"
	diffs, err = admin.Diff(ctx, build(t, spec), "")
	must(t, err)
	if len(diffs) != 1 || diffs[0].Ref.Kind != "Prometheus" {
		t.Fatalf("diff after changing the retention: %+v", diffs)
	}
	u := diffs[0].Unified
	for _, want := range []string{
		"--- live/prometheus.monitoring.coreos.com/" + ns + "/team-f\n+++ merged/prometheus.monitoring.coreos.com/" + ns + "/team-f\n@@ ",
		"\n-  retention: 15d\n+  retention: 30d\n",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("diff lacks %q:\n%s", want, u)
		}
	}
	if strings.Contains(u, "generation") || strings.Contains(u, "status") {
		t.Errorf("diff shows noise:\n%s", u)
	}
	t.Logf("diff:\n%s", u)
	prom := get(t, d, diffs[0].Ref)
	if got, _, _ := unstructured.NestedString(prom.Object, "spec", "retention"); got != manifests.DefaultRetention {
		t.Errorf("Diff changed the retention to %q", got)
	}
}
