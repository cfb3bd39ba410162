//go:build e2e

package kube_test

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// stackVariants are the stacks the apply tests cover, each in its own namespace (and Envoy
// namespace).
var stackVariants = []struct {
	name string
	spec func(team, ns, envoyNS string) manifests.TeamSpec
}{
	{"default", func(team, ns, _ string) manifests.TeamSpec { return manifests.DefaultTeamSpec(team, ns) }},
	{"statsd-dashboard-netpol", func(team, ns, _ string) manifests.TeamSpec {
		s := manifests.DefaultTeamSpec(team, ns)
		s.Presets = []manifests.Preset{manifests.PresetEnvoy, manifests.PresetStatsd}
		s.GrafanaDashboard = true
		s.NetworkPolicy = true
		return s
	}},
	{"envoy-namespace", func(team, ns, envoyNS string) manifests.TeamSpec {
		s := manifests.DefaultTeamSpec(team, ns)
		s.EnvoyNamespace = envoyNS
		return s
	}},
	{"cluster-scope", func(team, ns, _ string) manifests.TeamSpec {
		s := manifests.DefaultTeamSpec(team, ns)
		s.ClusterScope = true
		return s
	}},
}

func TestApply(t *testing.T) {
	c := cluster(t)
	admin := newClient(t, c.Kubeconfig(kubetest.Admin))
	d := adminDynamic(t, c)
	for _, tc := range stackVariants {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			ns, envoyNS := c.Namespace(t), c.Namespace(t)
			spec := tc.spec("team-a", ns, envoyNS)
			objs := build(t, spec)
			refs := refsOf(t, objs)

			for _, dryRun := range []kube.DryRun{kube.DryRunServer, kube.DryRunClient} {
				res, err := admin.Apply(ctx, objs, kube.ApplyOptions{DryRun: dryRun})
				must(t, err)
				wantActions(t, res, refs, all(kube.ActionCreated))
				assertAbsent(t, d, refs)
			}

			res, err := admin.Apply(ctx, objs, kube.ApplyOptions{})
			must(t, err)
			wantActions(t, res, refs, all(kube.ActionCreated))
			for _, r := range refs {
				obj := get(t, d, r)
				if obj == nil {
					t.Fatalf("%s was not created", r)
				}
				if !slices.ContainsFunc(obj.GetManagedFields(), func(m metav1.ManagedFieldsEntry) bool {
					return m.Manager == kube.FieldManager && m.Operation == metav1.ManagedFieldsOperationApply
				}) {
					t.Errorf("%s is not applied by %s: %+v", r, kube.FieldManager, obj.GetManagedFields())
				}
			}

			before := resourceVersions(t, d, refs)
			res, err = admin.Apply(ctx, objs, kube.ApplyOptions{})
			must(t, err)
			wantActions(t, res, refs, all(kube.ActionUnchanged))
			if after := resourceVersions(t, d, refs); !slices.Equal(before, after) {
				t.Errorf("re-applying moved resourceVersions from %v to %v", before, after)
			}

			res, err = admin.Apply(ctx, objs, kube.ApplyOptions{DryRun: kube.DryRunServer})
			must(t, err)
			wantActions(t, res, refs, all(kube.ActionUnchanged))
			res, err = admin.Apply(ctx, objs, kube.ApplyOptions{DryRun: kube.DryRunClient})
			must(t, err)
			wantActions(t, res, refs, all(kube.ActionConfigured))

			spec.Retention = "30d"
			changed := build(t, spec)
			onlyPrometheus := func(r kube.Ref) string {
				if r.Kind == "Prometheus" {
					return kube.ActionConfigured
				}
				return kube.ActionUnchanged
			}
			res, err = admin.Apply(ctx, changed, kube.ApplyOptions{DryRun: kube.DryRunServer})
			must(t, err)
			wantActions(t, res, refs, onlyPrometheus)
			if after := resourceVersions(t, d, refs); !slices.Equal(before, after) {
				t.Errorf("a server dry run moved resourceVersions from %v to %v", before, after)
			}
			res, err = admin.Apply(ctx, changed, kube.ApplyOptions{})
			must(t, err)
			wantActions(t, res, refs, onlyPrometheus)
			prom := get(t, d, refs[slices.IndexFunc(refs, func(r kube.Ref) bool { return r.Kind == "Prometheus" })])
			if got, _, _ := unstructured.NestedString(prom.Object, "spec", "retention"); got != "30d" {
				t.Errorf("retention is %q after applying 30d", got)
			}
		})
	}
}

func TestApplyConflict(t *testing.T) {
	c := cluster(t)
	ctx := t.Context()
	admin := newClient(t, c.Kubeconfig(kubetest.Admin))
	d := adminDynamic(t, c)
	ns := c.Namespace(t)
	objs := build(t, manifests.DefaultTeamSpec("team-c", ns))
	refs := refsOf(t, objs)
	_, err := admin.Apply(ctx, objs, kube.ApplyOptions{})
	must(t, err)

	// Someone else takes spec.retention over.
	prom := kindOf(t, "Prometheus")
	edit := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
		"metadata": map[string]any{"name": "team-c", "namespace": ns},
		"spec":     map[string]any{"retention": "30d"},
	}}
	_, err = d.Resource(prom.GroupVersionResource).Namespace(ns).Apply(ctx, "team-c", edit, metav1.ApplyOptions{FieldManager: "kubectl-edit", Force: true})
	must(t, err)

	res, err := admin.Apply(ctx, objs, kube.ApplyOptions{})
	if !isKind[*kube.ConflictError](err) {
		t.Fatalf("applying over another manager's field: %v, want a ConflictError", err)
	}
	want := `cannot apply prometheus.monitoring.coreos.com/team-c in namespace ` + ns +
		`: field .spec.retention is managed by "kubectl-edit"; use --force-conflicts to take it over`
	if err.Error() != want {
		t.Errorf("conflict error:\n%s\nwant\n%s", err, want)
	}
	// The objects before the Prometheus were applied and are reported.
	i := slices.IndexFunc(refs, func(r kube.Ref) bool { return r.Kind == "Prometheus" })
	wantActions(t, res, refs[:i], all(kube.ActionUnchanged))

	res, err = admin.Apply(ctx, objs, kube.ApplyOptions{ForceConflicts: true})
	must(t, err)
	if res[i].Action != kube.ActionConfigured {
		t.Errorf("forced apply: %s %s", res[i].Ref, res[i].Action)
	}
	live := get(t, d, refs[i])
	if got, _, _ := unstructured.NestedString(live.Object, "spec", "retention"); got != manifests.DefaultRetention {
		t.Errorf("retention %q after the forced apply", got)
	}
}

func TestEnsureNamespace(t *testing.T) {
	c := cluster(t)
	ctx := t.Context()
	admin := newClient(t, c.Kubeconfig(kubetest.Admin))
	name := c.Namespace(t) + "-new"
	for _, dryRun := range []kube.DryRun{kube.DryRunClient, kube.DryRunServer, kube.DryRunNone} {
		res, err := admin.EnsureNamespace(ctx, name, dryRun)
		must(t, err)
		if res.Action != kube.ActionCreated || res.Ref.String() != "namespace/"+name {
			t.Errorf("dry run %s: %+v", dryRun, res)
		}
		_, _, err = c.Kubectl(t, kubetest.Admin, nil, "get", "namespace", name)
		if exists := err == nil; exists != (dryRun == kube.DryRunNone) {
			t.Errorf("after EnsureNamespace with dry run %s, the namespace exists: %v", dryRun, exists)
		}
	}
	res, err := admin.EnsureNamespace(ctx, name, kube.DryRunNone)
	must(t, err)
	if res.Action != kube.ActionUnchanged {
		t.Errorf("second EnsureNamespace: %s", res.Action)
	}

	// Applying into a namespace that does not exist says so; a server dry run notes it.
	objs := build(t, manifests.DefaultTeamSpec("team-n", name+"-missing"))
	_, err = admin.Apply(ctx, objs, kube.ApplyOptions{})
	if !isKind[*kube.NamespaceMissingError](err) || !strings.Contains(err.Error(), `namespace "`+name+`-missing" does not exist`) {
		t.Errorf("apply into a missing namespace: %v", err)
	}
	results, err := admin.Apply(ctx, objs, kube.ApplyOptions{DryRun: kube.DryRunServer})
	must(t, err)
	for _, r := range results {
		if r.Action != kube.ActionCreated || !strings.Contains(r.Note, "does not exist yet") {
			t.Errorf("server dry run into a missing namespace: %+v", r)
		}
	}
}
