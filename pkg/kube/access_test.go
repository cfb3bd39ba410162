//go:build e2e

package kube_test

import (
	"testing"

	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// TestAccessQuestions asks a real API server who the user is and what the user and a
// ServiceAccount may do, before and after a grant: by resource, subresource and object name.
func TestAccessQuestions(t *testing.T) {
	c := cluster(t)
	ctx := t.Context()
	ns := c.Namespace(t)
	clientFor := func(user string) kubernetes.Interface {
		cs, err := kubernetes.NewForConfig(c.RESTConfig(user))
		must(t, err)
		return cs
	}
	dev, admin := clientFor(kubetest.Dev), clientFor(kubetest.Admin)

	if name, err := kube.WhoAmI(ctx, dev); err != nil || name != kubetest.Dev {
		t.Errorf("WhoAmI as dev = %q, %v", name, err)
	}

	getPods := kube.Permission{Verb: "get", Resource: "pods", Namespace: ns}
	forward := kube.Permission{Verb: "create", Resource: "pods/portforward", Namespace: ns}
	getSecret := kube.Permission{Verb: "get", Resource: "secrets", Namespace: ns}
	ask := func(p kube.Permission, name string, want bool) {
		t.Helper()
		if ok, err := kube.CanI(ctx, dev, p, name); err != nil || ok != want {
			t.Errorf("CanI(%s, %q) = %v, %v; want %v", p, name, ok, err, want)
		}
	}
	ask(getPods, "", false)
	ask(forward, "", false)

	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "role", "dev", "--verb=get", "--resource=pods", "--verb=create", "--resource=pods/portforward")
	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "role", "one-secret", "--verb=get", "--resource=secrets", "--resource-name=mine")
	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "rolebinding", "dev", "--role=dev", "--user="+kubetest.Dev)
	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "rolebinding", "one-secret", "--role=one-secret", "--user="+kubetest.Dev)
	ask(getPods, "", true)
	ask(forward, "", true)
	ask(forward, "some-pod", true)
	ask(kube.Permission{Verb: "create", Resource: "pods/exec", Namespace: ns}, "", false)
	ask(getSecret, "mine", true)
	ask(getSecret, "other", false)
	ask(getSecret, "", false)

	list := kube.Permission{Verb: "list", Group: "discovery.k8s.io", Resource: "endpointslices", Namespace: ns}
	if ok, err := kube.CanServiceAccount(ctx, admin, ns, "prometheus", list, ""); err != nil || ok {
		t.Errorf("CanServiceAccount before the grant = %v, %v", ok, err)
	}
	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "role", "discovery", "--verb=list", "--resource=endpointslices.discovery.k8s.io")
	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "rolebinding", "discovery", "--role=discovery", "--serviceaccount="+ns+":prometheus")
	if ok, err := kube.CanServiceAccount(ctx, admin, ns, "prometheus", list, ""); err != nil || !ok {
		t.Errorf("CanServiceAccount after the grant = %v, %v", ok, err)
	}
	if ok, err := kube.CanServiceAccount(ctx, admin, ns, "other", list, ""); err != nil || ok {
		t.Errorf("CanServiceAccount for another account = %v, %v", ok, err)
	}
	// A ServiceAccount review needs create on subjectaccessreviews, which dev lacks.
	if _, err := kube.CanServiceAccount(ctx, dev, ns, "prometheus", list, ""); err == nil {
		t.Error("dev may review a ServiceAccount's permissions")
	}
}
