//go:build e2e

package kubetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/proc"
)

// TestNodeAgent runs kwok as the node agent: a pod bound to its node becomes ready,
// `kubectl port-forward` to it reaches the forward's target through the API server, and the API
// server's service proxy reaches the pod through the stand-in pod network.
func TestNodeAgent(t *testing.T) {
	c := Shared(t)
	ns := c.Namespace(t)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "hello from %s", r.URL.Path)
	}))
	t.Cleanup(web.Close)
	target := strings.TrimPrefix(web.URL, "http://")
	agent := c.StartNodeAgent(t, Forward{Target: target})

	pod := agent.RunPod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
	})
	if pod.Spec.NodeName != agent.Node || pod.Status.PodIP == "" {
		t.Fatalf("pod %s on node %q with IP %q", pod.Name, pod.Spec.NodeName, pod.Status.PodIP)
	}

	// kubectl port-forward, as a user would run it.
	kubeconfig := c.Kubeconfig(Admin)
	cmd := exec.Command(filepath.Join(c.bin, kubectlBinary), "--kubeconfig="+kubeconfig, "port-forward", "-n", ns, "pod/web-0", ":8080")
	m := proc.StartWaitLine(t, cmd, regexp.MustCompile(`Forwarding from (127\.0\.0\.1:\d+) -> 8080`))
	if body := get(t, http.DefaultClient, "http://"+m[1]+"/through-kubectl"); body != "hello from /through-kubectl" {
		t.Errorf("through kubectl port-forward: %q", body)
	}

	// The service proxy: a Service, the EndpointSlice no controller makes here, a route.
	client, err := kubernetes.NewForConfig(c.RESTConfig(Admin))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{pod.Status.PodIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name, UID: pod.UID}}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	if _, err := client.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, _, err := c.Kubectl(t, Admin, nil, "get", "--raw", "/api/v1/namespaces/"+ns+"/services/web:http/proxy/before-route")
	if err == nil || !strings.Contains(err.Error(), "while dialing "+pod.Status.PodIP+":8080, code 502") {
		t.Errorf("the service proxy without a route: %v %q", err, out)
	}
	c.RoutePod(pod.Status.PodIP, 8080, target)
	if out := c.KubectlOK(t, Admin, nil, "get", "--raw", "/api/v1/namespaces/"+ns+"/services/web:http/proxy/through-proxy"); out != "hello from /through-proxy" {
		t.Errorf("through the service proxy: %q", out)
	}

	// kwok deletes a pod whose deletion started.
	c.KubectlOK(t, Admin, nil, "delete", "pod", "-n", ns, "web-0", "--wait=false")
	agent.WaitPodGone(t, ns, "web-0")
}

func get(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
