package kube_test

import (
	"errors"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// newClient is a Client for user built the way the plugin builds it: from kubeconfig flags.
func newClient(t *testing.T, kubeconfig string) *kube.Client {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	cacheDir := t.TempDir()
	flags.KubeConfig = &kubeconfig
	flags.CacheDir = &cacheDir
	c, err := kube.NewClient(flags)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// build builds spec's stack as unstructured objects.
func build(t *testing.T, spec manifests.TeamSpec) []*unstructured.Unstructured {
	t.Helper()
	st, err := manifests.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	maps, err := st.Maps()
	if err != nil {
		t.Fatal(err)
	}
	return kube.Objects(maps)
}

// kindOf is the StackKinds entry of kind.
func kindOf(t *testing.T, kind string) manifests.Kind {
	t.Helper()
	i := slices.IndexFunc(manifests.StackKinds, func(k manifests.Kind) bool { return k.Kind == kind })
	if i < 0 {
		t.Fatalf("no kind %s in manifests.StackKinds", kind)
	}
	return manifests.StackKinds[i]
}

// refsOf are the Refs of objs, worked out from manifests.StackKinds rather than discovery.
func refsOf(t *testing.T, objs []*unstructured.Unstructured) []kube.Ref {
	t.Helper()
	refs := make([]kube.Ref, len(objs))
	for i, o := range objs {
		k := kindOf(t, o.GetKind())
		refs[i] = kube.Ref{Group: k.Group, Version: k.Version, Kind: k.Kind, Resource: k.Resource, Namespace: o.GetNamespace(), Name: o.GetName()}
	}
	return refs
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// isKind matches errors of type E.
func isKind[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}
