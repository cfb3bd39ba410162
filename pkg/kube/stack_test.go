//go:build e2e

package kube_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

func TestFindStackAndDelete(t *testing.T) {
	c := cluster(t)
	admin := newClient(t, c.Kubeconfig(kubetest.Admin))
	d := adminDynamic(t, c)
	typed, err := kubernetes.NewForConfig(c.RESTConfig(kubetest.Admin))
	must(t, err)
	for _, tc := range stackVariants {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			ns, envoyNS, otherNS, otherEnvoyNS := c.Namespace(t), c.Namespace(t), c.Namespace(t), c.Namespace(t)
			objs := build(t, tc.spec("team-g", ns, envoyNS))
			refs := refsOf(t, objs)
			// Neither the same team in another namespace nor another team in the same
			// namespace may be found.
			same := build(t, tc.spec("team-g", otherNS, otherEnvoyNS))
			neighbour := build(t, tc.spec("team-h", ns, otherEnvoyNS))
			for _, o := range [][]*unstructured.Unstructured{objs, same, neighbour} {
				_, err := admin.Apply(ctx, o, kube.ApplyOptions{})
				must(t, err)
			}
			for _, team := range []string{"team-g", "team-h"} {
				_, err := typed.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc(team, ns), metav1.CreateOptions{})
				must(t, err)
			}

			found, err := admin.FindStack(ctx, "team-g", ns)
			must(t, err)
			if diff := cmp.Diff(sortedRefs(refs), sortedRefs(found)); diff != "" {
				t.Errorf("FindStack (-applied +found):\n%s", diff)
			}
			if !slices.IsSortedFunc(found, func(a, b kube.Ref) int { return kindIndex(a) - kindIndex(b) }) {
				t.Errorf("FindStack's refs are not in StackKinds order: %v", found)
			}
			pvcs, err := admin.PersistentVolumeClaims(ctx, "team-g", ns)
			must(t, err)
			wantPVC := []kube.Ref{{Version: "v1", Kind: "PersistentVolumeClaim", Resource: "persistentvolumeclaims", Namespace: ns, Name: pvc("team-g", ns).Name}}
			if diff := cmp.Diff(wantPVC, pvcs); diff != "" {
				t.Errorf("PersistentVolumeClaims (-want +got):\n%s", diff)
			}

			reversed := slices.Clone(found)
			slices.Reverse(reversed)
			for _, dryRun := range []kube.DryRun{kube.DryRunServer, kube.DryRunClient} {
				deleted, err := admin.Delete(ctx, found, dryRun)
				must(t, err)
				if diff := cmp.Diff(reversed, deleted); diff != "" {
					t.Errorf("Delete with dry run %s (-want +got):\n%s", dryRun, diff)
				}
				for _, r := range found {
					if obj := get(t, d, r); obj == nil || obj.GetDeletionTimestamp() != nil {
						t.Errorf("Delete with dry run %s deleted %s", dryRun, r)
					}
				}
			}

			deleted, err := admin.Delete(ctx, found, kube.DryRunNone)
			must(t, err)
			if diff := cmp.Diff(reversed, deleted); diff != "" {
				t.Errorf("Delete (-want +got):\n%s", diff)
			}
			assertAbsent(t, d, found)
			left, err := admin.FindStack(ctx, "team-g", ns)
			must(t, err)
			if len(left) != 0 {
				t.Errorf("after Delete, FindStack finds %v", left)
			}
			// Deleting what is gone is done already.
			deleted, err = admin.Delete(ctx, found, kube.DryRunNone)
			must(t, err)
			if len(deleted) != 0 {
				t.Errorf("deleting again deleted %v", deleted)
			}

			// The volume claims and the other stacks are untouched.
			pvcs, err = admin.PersistentVolumeClaims(ctx, "team-g", ns)
			must(t, err)
			if len(pvcs) != 1 {
				t.Errorf("volume claims after Delete: %v", pvcs)
			}
			for _, other := range []struct {
				team, ns string
				objs     []*unstructured.Unstructured
			}{{"team-g", otherNS, same}, {"team-h", ns, neighbour}} {
				refs, err := admin.FindStack(ctx, other.team, other.ns)
				must(t, err)
				if diff := cmp.Diff(sortedRefs(refsOf(t, other.objs)), sortedRefs(refs)); diff != "" {
					t.Errorf("stack of %s in %s after deleting team-g in %s (-applied +found):\n%s", other.team, other.ns, ns, diff)
				}
			}
		})
	}
}

func TestListStacksAndTeamNamespaces(t *testing.T) {
	c := cluster(t)
	ctx := t.Context()
	admin := newClient(t, c.Kubeconfig(kubetest.Admin))
	dev := newClient(t, c.Kubeconfig(kubetest.Dev))
	d := adminDynamic(t, c)
	ns1, ns2, envoyNS := c.Namespace(t), c.Namespace(t), c.Namespace(t)

	a := manifests.DefaultTeamSpec("list-a", ns1)
	a.Presets = []manifests.Preset{manifests.PresetEnvoy, manifests.PresetStatsd}
	a.Retention = "7d"
	b := manifests.DefaultTeamSpec("list-b", ns2)
	b.EnvoyNamespace = envoyNS
	b.Replicas = 1
	b.Shards = 2
	b.Thanos.Enabled = true // a sharded stack needs a query layer
	for _, spec := range []manifests.TeamSpec{b, a} {
		_, err := admin.Apply(ctx, build(t, spec), kube.ApplyOptions{})
		must(t, err)
	}
	// A Prometheus of someone else's in the same namespace is not a stack.
	c.KubectlOK(t, kubetest.Admin, []byte(`apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: central, namespace: `+ns1+`}
spec: {replicas: 1}
`), "apply", "-f", "-")

	// The operator reports on list-a through the status subresource.
	prom := kindOf(t, "Prometheus")
	ri := d.Resource(prom.GroupVersionResource).Namespace(ns1)
	live, err := ri.Get(ctx, "list-a", metav1.GetOptions{})
	must(t, err)
	now := time.Now().UTC().Format(time.RFC3339)
	live.Object["status"] = map[string]any{
		"replicas": int64(2), "availableReplicas": int64(1), "updatedReplicas": int64(2), "unavailableReplicas": int64(1),
		"paused": false,
		"conditions": []any{
			map[string]any{"type": "Available", "status": "Degraded", "reason": "SomePodsNotReady", "message": "1/2 pods ready", "lastTransitionTime": now, "observedGeneration": live.GetGeneration()},
			map[string]any{"type": "Reconciled", "status": "True", "reason": "", "message": "", "lastTransitionTime": now, "observedGeneration": live.GetGeneration()},
		},
	}
	_, err = ri.UpdateStatus(ctx, live, metav1.UpdateOptions{})
	must(t, err)

	stacks, err := admin.ListStacks(ctx, "", true)
	must(t, err)
	var mine []kube.StackSummary
	for _, s := range stacks {
		if s.Namespace == ns1 || s.Namespace == ns2 {
			mine = append(mine, s)
		}
	}
	if !slices.IsSortedFunc(stacks, func(x, y kube.StackSummary) int {
		return strings.Compare(x.Namespace+"/"+x.Team, y.Namespace+"/"+y.Team)
	}) {
		t.Errorf("stacks not sorted by namespace and team")
	}
	want := []kube.StackSummary{
		{
			Namespace: ns1, Name: "list-a", Team: "list-a", Version: manifests.DefaultPrometheusVersion,
			Retention: "7d", RetentionSize: "16GiB", Envoy: "envoy,statsd", Replicas: 2, Shards: 1,
			SampleLimit: manifests.DefaultSampleLimit, TargetLimit: manifests.DefaultTargetLimit, MemoryLimit: 2 << 30,
			HasStatus: true, Ready: 1, Current: 2,
			Conditions: []kube.Condition{
				{Type: "Available", Status: "Degraded", Reason: "SomePodsNotReady", Message: "1/2 pods ready"},
				{Type: "Reconciled", Status: "True"},
			},
		},
		{
			Namespace: ns2, Name: "list-b", Team: "list-b", Version: manifests.DefaultPrometheusVersion,
			Retention: manifests.DefaultRetention, RetentionSize: "16GiB", Envoy: "envoy", EnvoyNamespace: envoyNS,
			Replicas: 1, Shards: 2,
			SampleLimit: manifests.DefaultSampleLimit, TargetLimit: manifests.DefaultTargetLimit, MemoryLimit: 2 << 30,
		},
	}
	for i := range mine {
		if time.Since(mine[i].Created) > time.Hour {
			t.Errorf("%s created at %v", mine[i].Name, mine[i].Created)
		}
		mine[i].Created = time.Time{}
	}
	if diff := cmp.Diff(want, mine); diff != "" {
		t.Errorf("ListStacks (-want +got):\n%s", diff)
	}
	if cond, ok := mine[0].Condition("Reconciled"); !ok || cond.Status != "True" {
		t.Errorf("Condition(Reconciled) = %+v, %v", cond, ok)
	}

	inNS1, err := admin.ListStacks(ctx, ns1, false)
	must(t, err)
	if len(inNS1) != 1 || inNS1[0].Team != "list-a" {
		t.Errorf("ListStacks(%s): %+v", ns1, inNS1)
	}

	namespaces, err := admin.TeamNamespaces(ctx, "list-b")
	must(t, err)
	if !slices.Equal(namespaces, []string{ns2}) {
		t.Errorf("TeamNamespaces(list-b) = %v", namespaces)
	}
	namespaces, err = admin.TeamNamespaces(ctx, "list-none")
	must(t, err)
	if len(namespaces) != 0 {
		t.Errorf("TeamNamespaces(list-none) = %v", namespaces)
	}

	// The restricted user may list nothing: TeamNamespaces has no answer, ListStacks says why.
	namespaces, err = dev.TeamNamespaces(ctx, "list-b")
	if err != nil || namespaces != nil {
		t.Errorf("TeamNamespaces as a user who may not list: %v, %v", namespaces, err)
	}
	_, err = dev.ListStacks(ctx, ns1, false)
	if err == nil || !strings.Contains(err.Error(), `User "dev" cannot list resource "prometheuses" in API group "monitoring.coreos.com" in the namespace "`+ns1+`"`) {
		t.Errorf("ListStacks as a user who may not list: %v", err)
	}
	_, err = dev.FindStack(ctx, "list-a", ns1)
	if err == nil || !strings.Contains(err.Error(), `User "dev" cannot list resource`) {
		t.Errorf("FindStack as a user who may not list: %v", err)
	}
}

// pvc is a volume claim labelled as the operator labels those of team's Prometheus.
func pvc(team, ns string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "prometheus-" + team + "-db-prometheus-" + team + "-0",
			Namespace: ns,
			Labels: map[string]string{
				"operator.prometheus.io/name":  team,
				"operator.prometheus.io/shard": "0",
				"app.kubernetes.io/name":       "prometheus",
				"app.kubernetes.io/instance":   team,
			},
		},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

// kindIndex is the position of ref's kind in manifests.StackKinds.
func kindIndex(ref kube.Ref) int {
	return slices.IndexFunc(manifests.StackKinds, func(k manifests.Kind) bool { return k.Kind == ref.Kind })
}

func sortedRefs(refs []kube.Ref) []kube.Ref {
	out := slices.Clone(refs)
	slices.SortFunc(out, func(a, b kube.Ref) int {
		return strings.Compare(a.Kind+"/"+a.Namespace+"/"+a.Name, b.Kind+"/"+b.Namespace+"/"+b.Name)
	})
	return out
}
