package kubetest

import (
	"strings"
	"testing"
)

func TestCheckBinariesMissing(t *testing.T) {
	err := checkBinaries(t.TempDir())
	if err == nil {
		t.Fatal("checkBinaries on an empty directory succeeded")
	}
	for _, want := range []string{"etcd", "kube-apiserver", "kubectl", "make tools", "hack/install-k8s.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNamespaceName(t *testing.T) {
	for _, tc := range []struct {
		test string
		n    int64
		want string
	}{
		{"TestFoo", 1, "testfoo-1"},
		{"TestFoo/sub_case#01", 2, "testfoo-sub-case-01-2"},
		{"///", 3, "test-3"},
		{"Test" + strings.Repeat("x", 80), 12, "test" + strings.Repeat("x", 56) + "-12"},
	} {
		if got := namespaceName(tc.test, tc.n); got != tc.want {
			t.Errorf("namespaceName(%q, %d) = %q, want %q", tc.test, tc.n, got, tc.want)
		}
	}
}

func TestKwokConfig(t *testing.T) {
	got := kwokConfig([]Forward{
		{Namespace: "a", Pod: "p-0", Port: 9090, Target: "127.0.0.1:1000"},
		{Target: "127.0.0.1:2000"},
		{Namespace: "a", Pod: "p-0", Target: "127.0.0.1:3000"},
	})
	for _, want := range []string{
		"kind: PortForward\nmetadata:\n  name: \"p-0\"\n  namespace: \"a\"\nspec:\n  forwards:\n  - ports: [9090]\n    target:\n      address: \"127.0.0.1\"\n      port: 1000\n  - target:\n      address: \"127.0.0.1\"\n      port: 3000\n",
		"kind: ClusterPortForward\nmetadata:\n  name: every-pod\nspec:\n  forwards:\n  - target:\n      address: \"127.0.0.1\"\n      port: 2000\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks\n%s\nin\n%s", want, got)
		}
	}
}
