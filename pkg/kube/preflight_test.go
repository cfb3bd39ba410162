//go:build e2e

package kube_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// TestPreflightRemedyAndApplyAsDev checks a stack with its Envoy in a second namespace as the
// restricted user: Preflight lists everything applying needs, including the discovery rules the
// stack's Roles grant (escalation prevention), without creating anything; granting exactly what
// Remedy prints empties it, and the user's dry runs, diff and apply then work.
func TestPreflightRemedyAndApplyAsDev(t *testing.T) {
	c := cluster(t)
	ctx := t.Context()
	ns, envoyNS := c.Namespace(t), c.Namespace(t)
	spec := manifests.DefaultTeamSpec("team-d", ns)
	spec.EnvoyNamespace = envoyNS
	objs := build(t, spec)
	refs := refsOf(t, objs)
	d := adminDynamic(t, c)
	dev := newClient(t, c.Kubeconfig(kubetest.Dev))
	admin := newClient(t, c.Kubeconfig(kubetest.Admin))

	user, err := dev.User(ctx)
	must(t, err)
	if user != kubetest.Dev {
		t.Errorf("User() = %q, want %q", user, kubetest.Dev)
	}

	var want []kube.Permission
	add := func(p kube.Permission) {
		if !slices.Contains(want, p) {
			want = append(want, p)
		}
	}
	for _, r := range refs {
		for _, verb := range []string{"get", "create", "patch"} {
			add(kube.Permission{Verb: verb, Group: r.Group, Resource: r.Resource, Namespace: r.Namespace})
		}
	}
	for _, n := range []string{ns, envoyNS} {
		for _, verb := range []string{"get", "list", "watch"} {
			add(kube.Permission{Verb: verb, Resource: "pods", Namespace: n})
			add(kube.Permission{Verb: verb, Resource: "services", Namespace: n})
			add(kube.Permission{Verb: verb, Group: "discovery.k8s.io", Resource: "endpointslices", Namespace: n})
		}
	}
	missing, err := dev.Preflight(ctx, objs, false)
	must(t, err)
	if diff := cmp.Diff(sorted(want), sorted(missing)); diff != "" {
		t.Errorf("missing permissions (-want +got):\n%s", diff)
	}
	if !slices.IsSortedFunc(missing, func(a, b kube.Permission) int {
		return strings.Compare(a.Namespace+" "+a.Group+" "+a.Resource, b.Namespace+" "+b.Group+" "+b.Resource)
	}) {
		t.Errorf("missing permissions not sorted by namespace, group and resource: %v", missing)
	}
	again, err := dev.Preflight(ctx, objs, false)
	must(t, err)
	if !slices.Equal(missing, again) {
		t.Errorf("Preflight's order is not stable:\n%v\n%v", missing, again)
	}
	assertAbsent(t, d, refs)

	// The admin may do anything, escalation included.
	adminMissing, err := admin.Preflight(ctx, objs, true)
	must(t, err)
	if len(adminMissing) != 0 {
		t.Errorf("the admin misses %v", adminMissing)
	}

	commands := kube.Remedy(missing, user)
	t.Logf("remedy:\n%s", strings.Join(commands, "\n"))
	for _, cmd := range commands {
		args := strings.Fields(cmd)
		if args[0] != "kubectl" {
			t.Fatalf("not a kubectl command: %s", cmd)
		}
		c.KubectlOK(t, kubetest.Admin, nil, args[1:]...)
	}
	missing, err = dev.Preflight(ctx, objs, false)
	must(t, err)
	if len(missing) != 0 {
		t.Fatalf("after the remedy, still missing %v", missing)
	}

	// A server dry run of a new stack cannot check the RoleBindings for a user who may not bind
	// any role: the Roles they name are never stored. Everything else is checked.
	res, err := dev.Apply(ctx, objs, kube.ApplyOptions{DryRun: kube.DryRunServer})
	must(t, err)
	wantActions(t, res, refs, all(kube.ActionCreated))
	for _, r := range res {
		if noted := r.Note != ""; noted != (r.Ref.Kind == "RoleBinding") {
			t.Errorf("%s in %s: note %q", r.Ref, r.Ref.Namespace, r.Note)
		}
	}
	diffs, err := dev.Diff(ctx, objs, "")
	must(t, err)
	if len(diffs) != len(refs) {
		t.Errorf("%d diffs for a new stack of %d objects", len(diffs), len(refs))
	}
	for _, df := range diffs {
		if noted := df.Note != ""; noted != (df.Ref.Kind == "RoleBinding") || !strings.Contains(df.Unified, "+kind: "+df.Ref.Kind+"\n") {
			t.Errorf("diff of new %s in %s: note %q\n%s", df.Ref, df.Ref.Namespace, df.Note, df.Unified)
		}
	}
	assertAbsent(t, d, refs)

	// Applied for real without its Role, a RoleBinding fails with a message that names the Role
	// (the API server's own names the binding as not found).
	binding := objs[slices.IndexFunc(refs, func(r kube.Ref) bool { return r.Kind == "RoleBinding" })]
	_, err = dev.Apply(ctx, []*unstructured.Unstructured{binding}, kube.ApplyOptions{})
	wantErr := "cannot apply rolebinding.rbac.authorization.k8s.io/prometheus-team-d: the Role prometheus-team-d it binds does not exist, and only users who may bind any role can bind a missing one"
	if err == nil || err.Error() != wantErr {
		t.Errorf("applying a RoleBinding without its Role: %v\nwant %s", err, wantErr)
	}

	res, err = dev.Apply(ctx, objs, kube.ApplyOptions{})
	must(t, err)
	wantActions(t, res, refs, all(kube.ActionCreated))
	res, err = dev.Apply(ctx, objs, kube.ApplyOptions{DryRun: kube.DryRunServer})
	must(t, err)
	wantActions(t, res, refs, all(kube.ActionUnchanged))
	diffs, err = dev.Diff(ctx, objs, "")
	must(t, err)
	if len(diffs) != 0 {
		t.Errorf("diff after apply: %+v", diffs)
	}
}

// TestPreflightCreateNamespace checks that creating a namespace is asked for only when the
// namespace is known not to exist.
func TestPreflightCreateNamespace(t *testing.T) {
	c := cluster(t)
	ctx := t.Context()
	dev := newClient(t, c.Kubeconfig(kubetest.Dev))
	createNS := kube.Permission{Verb: "create", Resource: "namespaces"}
	existingNS := c.Namespace(t)
	freshNS := existingNS + "-new"
	existing := build(t, manifests.DefaultTeamSpec("team-e", existingNS))
	fresh := build(t, manifests.DefaultTeamSpec("team-e", freshNS))

	// The user may not read namespaces, so whether one exists is unknown.
	missing, err := dev.Preflight(ctx, fresh, true)
	must(t, err)
	if slices.Contains(missing, createNS) {
		t.Errorf("create namespaces asked for a namespace the user cannot read: %v", missing)
	}
	res, err := dev.EnsureNamespace(ctx, freshNS, kube.DryRunNone)
	must(t, err)
	if res.Action != kube.ActionUnchanged || res.Note == "" {
		t.Errorf("EnsureNamespace of an unreadable namespace: %+v", res)
	}

	c.KubectlOK(t, kubetest.Admin, nil, "create", "clusterrole", "read-"+existingNS, "--verb=get", "--resource=namespaces",
		"--resource-name="+existingNS, "--resource-name="+freshNS)
	c.KubectlOK(t, kubetest.Admin, nil, "create", "clusterrolebinding", "read-"+existingNS, "--clusterrole=read-"+existingNS, "--user="+kubetest.Dev)

	missing, err = dev.Preflight(ctx, existing, true)
	must(t, err)
	if slices.Contains(missing, createNS) {
		t.Errorf("create namespaces asked for an existing namespace: %v", missing)
	}
	missing, err = dev.Preflight(ctx, fresh, true)
	must(t, err)
	if len(missing) == 0 || missing[len(missing)-1] != createNS {
		t.Errorf("create namespaces is not the last missing permission: %v", missing)
	}
	missing, err = dev.Preflight(ctx, fresh, false)
	must(t, err)
	if slices.Contains(missing, createNS) {
		t.Errorf("create namespaces asked for without createNamespace: %v", missing)
	}
}

func sorted(ps []kube.Permission) []kube.Permission {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b kube.Permission) int {
		return strings.Compare(a.String(), b.String())
	})
	return out
}
