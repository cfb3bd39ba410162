//go:build e2e

package kube_test

import (
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// operatorVersion is the prometheus-operator release whose CRDs the shared cluster serves.
const operatorVersion = "v0.94.1"

func TestMain(m *testing.M) { kubetest.Main(m) }

var crds struct {
	mu        sync.Mutex
	installed bool
}

// cluster is the shared cluster, with the operator's CRDs installed.
func cluster(t *testing.T) *kubetest.Cluster {
	t.Helper()
	c := kubetest.Shared(t)
	crds.mu.Lock()
	defer crds.mu.Unlock()
	if !crds.installed {
		c.InstallCRDs(t, crdschema.RepoCRDDir(operatorVersion))
		crds.installed = true
	}
	return c
}

// adminDynamic is a dynamic client acting as the cluster admin, to look behind the client's back.
func adminDynamic(t *testing.T, c *kubetest.Cluster) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// get reads ref as the admin; nil when it does not exist.
func get(t *testing.T, d dynamic.Interface, ref kube.Ref) *unstructured.Unstructured {
	t.Helper()
	ri := dynamic.ResourceInterface(d.Resource(ref.GroupVersionResource()))
	if ref.Namespace != "" {
		ri = d.Resource(ref.GroupVersionResource()).Namespace(ref.Namespace)
	}
	obj, err := ri.Get(t.Context(), ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// resourceVersions reads the resourceVersion of every ref, "" for objects that do not exist.
func resourceVersions(t *testing.T, d dynamic.Interface, refs []kube.Ref) []string {
	t.Helper()
	out := make([]string, len(refs))
	for i, r := range refs {
		if obj := get(t, d, r); obj != nil {
			out[i] = obj.GetResourceVersion()
		}
	}
	return out
}

// assertAbsent fails when any of refs exists.
func assertAbsent(t *testing.T, d dynamic.Interface, refs []kube.Ref) {
	t.Helper()
	for _, r := range refs {
		if get(t, d, r) != nil {
			t.Errorf("%s in namespace %q exists", r, r.Namespace)
		}
	}
}

// wantActions checks that results name refs in order, each with action.
func wantActions(t *testing.T, results []kube.ApplyResult, refs []kube.Ref, action func(kube.Ref) string) {
	t.Helper()
	if len(results) != len(refs) {
		t.Fatalf("%d results for %d objects: %+v", len(results), len(refs), results)
	}
	for i, r := range results {
		if r.Ref != refs[i] {
			t.Errorf("result %d is for %+v, want %+v", i, r.Ref, refs[i])
		}
		if want := action(refs[i]); r.Action != want {
			t.Errorf("%s: %s, want %s", r.Ref, r.Action, want)
		}
	}
}

func all(action string) func(kube.Ref) string { return func(kube.Ref) string { return action } }
