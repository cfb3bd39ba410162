package kube

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestUnified(t *testing.T) {
	lines := func(n int, prefix string) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "%s%d\n", prefix, i)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, a, b, want string
	}{
		{name: "equal", a: "x\n", b: "x\n", want: ""},
		{
			name: "new", a: "", b: "a\nb\n",
			want: "--- from\n+++ to\n@@ -0,0 +1,2 @@\n+a\n+b\n",
		},
		{
			name: "gone", a: "a\n", b: "",
			want: "--- from\n+++ to\n@@ -1 +0,0 @@\n-a\n",
		},
		{
			name: "one line changed in the middle",
			a:    lines(10, "l"),
			b:    strings.Replace(lines(10, "l"), "l5\n", "L5\n", 1),
			want: "--- from\n+++ to\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n",
		},
		{
			name: "two hunks",
			a:    lines(20, "l"),
			b:    strings.Replace(strings.Replace(lines(20, "l"), "l2\n", "L2\n", 1), "l18\n", "", 1),
			want: "--- from\n+++ to\n@@ -1,5 +1,5 @@\n l1\n-l2\n+L2\n l3\n l4\n l5\n@@ -15,6 +15,5 @@\n l15\n l16\n l17\n-l18\n l19\n l20\n",
		},
		{
			name: "close changes share a hunk",
			a:    lines(12, "l"),
			b:    strings.Replace(strings.Replace(lines(12, "l"), "l3\n", "L3\n", 1), "l9\n", "L9\n", 1),
			want: "--- from\n+++ to\n@@ -1,12 +1,12 @@\n l1\n l2\n-l3\n+L3\n l4\n l5\n l6\n l7\n l8\n-l9\n+L9\n l10\n l11\n l12\n",
		},
		{
			name: "insertion",
			a:    "a\nc\n",
			b:    "a\nb\nc\n",
			want: "--- from\n+++ to\n@@ -1,2 +1,3 @@\n a\n+b\n c\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, unified("from", "to", tc.a, tc.b)); diff != "" {
				t.Errorf("unified (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRemedy(t *testing.T) {
	missing := []Permission{
		{Verb: "get", Resource: "pods", Namespace: "team-a"},
		{Verb: "list", Resource: "pods", Namespace: "team-a"},
		{Verb: "watch", Resource: "pods", Namespace: "team-a"},
		{Verb: "get", Resource: "services", Namespace: "team-a"},
		{Verb: "list", Resource: "services", Namespace: "team-a"},
		{Verb: "watch", Resource: "services", Namespace: "team-a"},
		{Verb: "create", Resource: "services", Namespace: "team-a"},
		{Verb: "patch", Resource: "services", Namespace: "team-a"},
		{Verb: "get", Group: "monitoring.coreos.com", Resource: "prometheuses", Namespace: "team-a"},
		{Verb: "create", Group: "monitoring.coreos.com", Resource: "prometheuses", Namespace: "team-a"},
		{Verb: "patch", Group: "monitoring.coreos.com", Resource: "prometheuses", Namespace: "team-a"},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles", Namespace: "envoy"},
		{Verb: "patch", Group: "rbac.authorization.k8s.io", Resource: "roles", Namespace: "envoy"},
		{Verb: "create", Resource: "namespaces"},
	}
	want := []string{
		"kubectl create role promteam-create-patch --verb=create,patch --resource=roles.rbac.authorization.k8s.io -n envoy",
		"kubectl create rolebinding promteam-create-patch-jane.doe-example.com --role=promteam-create-patch --user=jane.doe@example.com -n envoy",
		"kubectl create role promteam-apply --verb=get,create,patch --resource=prometheuses.monitoring.coreos.com,services -n team-a",
		"kubectl create rolebinding promteam-apply-jane.doe-example.com --role=promteam-apply --user=jane.doe@example.com -n team-a",
		"kubectl create role promteam-read --verb=get,list,watch --resource=pods,services -n team-a",
		"kubectl create rolebinding promteam-read-jane.doe-example.com --role=promteam-read --user=jane.doe@example.com -n team-a",
		"kubectl create clusterrole promteam-create --verb=create --resource=namespaces",
		"kubectl create clusterrolebinding promteam-create-jane.doe-example.com --clusterrole=promteam-create --user=jane.doe@example.com",
	}
	if diff := cmp.Diff(want, Remedy(missing, "jane.doe@example.com")); diff != "" {
		t.Errorf("Remedy (-want +got):\n%s", diff)
	}
	if got := Remedy(nil, "x"); len(got) != 0 {
		t.Errorf("Remedy(nil) = %v", got)
	}
	got := Remedy([]Permission{{Verb: "get", Resource: "pods", Namespace: "a"}}, "Jane Doe")
	if want := "kubectl create rolebinding promteam-get-jane-doe --role=promteam-get --user='Jane Doe' -n a"; got[1] != want {
		t.Errorf("binding for a user with a space:\n%s\nwant\n%s", got[1], want)
	}
}

func TestRefString(t *testing.T) {
	for _, tc := range []struct {
		ref        Ref
		str, path  string
		resourceGR string
	}{
		{Ref{Group: "monitoring.coreos.com", Version: "v1", Kind: "Prometheus", Resource: "prometheuses", Namespace: "ns", Name: "team-a"},
			"prometheus.monitoring.coreos.com/team-a", "prometheus.monitoring.coreos.com/ns/team-a", "prometheuses.monitoring.coreos.com"},
		{Ref{Version: "v1", Kind: "ServiceAccount", Resource: "serviceaccounts", Namespace: "ns", Name: "prometheus-team-a"},
			"serviceaccount/prometheus-team-a", "serviceaccount/ns/prometheus-team-a", "serviceaccounts"},
		{Ref{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Resource: "clusterroles", Name: "promteam:ns:team-a"},
			"clusterrole.rbac.authorization.k8s.io/promteam:ns:team-a", "clusterrole.rbac.authorization.k8s.io/promteam:ns:team-a", "clusterroles.rbac.authorization.k8s.io"},
	} {
		if got := tc.ref.String(); got != tc.str {
			t.Errorf("String() = %q, want %q", got, tc.str)
		}
		if got := tc.ref.path(); got != tc.path {
			t.Errorf("path() = %q, want %q", got, tc.path)
		}
		if got := tc.ref.groupResource(); got != tc.resourceGR {
			t.Errorf("groupResource() = %q, want %q", got, tc.resourceGR)
		}
	}
}

func TestObjects(t *testing.T) {
	in := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "x", "labels": map[string]string{"a": "b"}},
		"spec": map[string]any{
			"replicas": json.Number("2"), "ratio": json.Number("0.5"), "big": json.Number("1e3"),
			"list": []any{json.Number("1"), "s", true, nil}, "names": []string{"n"},
		},
	}
	objs := Objects([]map[string]any{in})
	want := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "x", "labels": map[string]any{"a": "b"}},
		"spec": map[string]any{
			"replicas": int64(2), "ratio": 0.5, "big": float64(1000),
			"list": []any{int64(1), "s", true, nil}, "names": []any{"n"},
		},
	}
	if diff := cmp.Diff(want, objs[0].Object); diff != "" {
		t.Errorf("Objects (-want +got):\n%s", diff)
	}
	// The result is a valid unstructured object: deep copies work.
	_ = objs[0].DeepCopy()
	if in["spec"].(map[string]any)["replicas"] != json.Number("2") {
		t.Error("Objects modified its input")
	}
}

func TestConflictErrorText(t *testing.T) {
	ref := Ref{Group: "monitoring.coreos.com", Kind: "Prometheus", Namespace: "ns", Name: "team-a"}
	for _, tc := range []struct {
		err  *ConflictError
		want string
	}{
		{&ConflictError{Ref: ref, Managers: []string{"kubectl-edit"}, Fields: []string{".spec.retention"}},
			`cannot apply prometheus.monitoring.coreos.com/team-a in namespace ns: field .spec.retention is managed by "kubectl-edit"; use --force-conflicts to take it over`},
		{&ConflictError{Ref: ref, Managers: []string{"argocd", "helm"}, Fields: []string{".spec.replicas", ".spec.version"}},
			`cannot apply prometheus.monitoring.coreos.com/team-a in namespace ns: fields .spec.replicas, .spec.version are managed by "argocd" and "helm"; use --force-conflicts to take them over`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestUnreachableReason(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "https://x/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	noHost := &url.Error{Op: "Get", URL: "https://x/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "x"}}}
	c := &Client{server: "https://x"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{refused, "cannot reach the Kubernetes API at https://x: connection refused"},
		{fmt.Errorf("list: %w", noHost), "cannot reach the Kubernetes API at https://x: lookup x: no such host"},
	} {
		got := c.explain(tc.err)
		var u *UnreachableError
		if !errors.As(got, &u) || got.Error() != tc.want {
			t.Errorf("explain(%v) = %v, want %s", tc.err, got, tc.want)
		}
	}
	if other := errors.New("boom"); !errors.Is(c.explain(other), other) || c.explain(other).Error() != "boom" {
		t.Error("explain changed an unrelated error")
	}
}

func TestExplainNamesWhatNoRetryFixes(t *testing.T) {
	unauthorized := apierrors.NewUnauthorized("Unauthorized")
	plugin := &url.Error{Op: "Get", URL: "https://x/api", Err: errors.New("getting credentials: exec: executable login failed with exit code 1")}
	cert := &url.Error{Op: "Get", URL: "https://x/api", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}
	refused := &url.Error{Op: "Get", URL: "https://x/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	for _, tc := range []struct {
		err       error
		want      string
		permanent bool
	}{
		{unauthorized, "the Kubernetes API at https://x refused the credentials (401 Unauthorized); log in again or check the user of the kubeconfig's context", true},
		{plugin, "the kubeconfig's credential plugin failed for https://x: exec: executable login failed with exit code 1; run it by hand or log in again", true},
		{cert, "cannot verify the certificate of the Kubernetes API at https://x: tls: failed to verify certificate: x509: certificate signed by unknown authority; check the kubeconfig's certificate-authority-data", true},
		{refused, "cannot reach the Kubernetes API at https://x: connection refused", false},
		{apierrors.NewNotFound(schema.GroupResource{Resource: "services"}, "s"), `services "s" not found`, false},
	} {
		got := Explain("https://x", tc.err)
		if got.Error() != tc.want {
			t.Errorf("Explain(%v) =\n%s\nwant\n%s", tc.err, got, tc.want)
		}
		if IsPermanent(got) != tc.permanent || IsPermanent(tc.err) != tc.permanent {
			t.Errorf("IsPermanent(%v) = %v, want %v", tc.err, IsPermanent(got), tc.permanent)
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("Explain(%v) lost the error it explains", tc.err)
		}
	}
	if IsPermanent(nil) || Explain("https://x", nil) != nil {
		t.Error("no error is an error")
	}
	if again := Explain("https://y", Explain("https://x", unauthorized)); !strings.Contains(again.Error(), "https://x") {
		t.Errorf("explaining twice changed the server: %v", again)
	}
}
