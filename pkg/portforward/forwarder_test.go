//go:build e2e

package portforward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// backend is a stand-in for a pod's Prometheus: it answers /who with its name.
func backend(t testing.TB, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/-/ready" {
			_, _ = io.WriteString(w, "Prometheus Server is Ready.\n")
			return
		}
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// env is a namespace with team-a's Service and a node agent that forwards each named pod's
// port 9090 to its own backend.
type env struct {
	c      *kubetest.Cluster
	ns     string
	agent  *kubetest.NodeAgent
	client kubernetes.Interface
	dialer Dialer
}

func setup(t testing.TB, backends map[string]string) *env {
	t.Helper()
	c := kubetest.Shared(t)
	e := &env{c: c, ns: c.Namespace(t)}
	var forwards []kubetest.Forward
	for pod, target := range backends {
		forwards = append(forwards, kubetest.Forward{Namespace: e.ns, Pod: pod, Port: 9090, Target: target})
	}
	e.agent = c.StartNodeAgent(t, forwards...)
	var err error
	if e.client, err = kubernetes.NewForConfig(c.RESTConfig(kubetest.Admin)); err != nil {
		t.Fatal(err)
	}
	if e.dialer, err = NewKubeDialer(c.RESTConfig(kubetest.Admin)); err != nil {
		t.Fatal(err)
	}
	e.createService(t, e.ns, "team-a")
	return e
}

func (e *env) createService(t testing.TB, ns, team string) {
	t.Helper()
	svc := service(nil)
	svc.Name, svc.Namespace = manifests.ServiceName(team), ns
	svc.Labels = map[string]string{"promteam.io/team": team, "app.kubernetes.io/name": "prometheus"}
	svc.Spec.Selector["app.kubernetes.io/instance"] = team
	svc.Spec.Ports[0].TargetPort = intstr.FromString("web")
	if _, err := e.client.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// runPod starts a Prometheus pod of team-a.
func (e *env) runPod(t testing.TB, name string) *corev1.Pod {
	t.Helper()
	p := pod(name, nil)
	p.Namespace = e.ns
	p.Spec.NodeName = ""
	p.Status = corev1.PodStatus{}
	p.CreationTimestamp = metav1.Time{}
	return e.agent.RunPod(t, &p)
}

func (e *env) deletePod(t testing.TB, name string) {
	t.Helper()
	if err := e.client.CoreV1().Pods(e.ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// patchStatus changes a pod's status as a kubelet would.
func (e *env) patchStatus(t testing.TB, name, patch string) {
	t.Helper()
	if _, err := e.client.CoreV1().Pods(e.ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
}

// recorder keeps the states a Forwarder reported.
type recorder struct {
	mu     sync.Mutex
	states []State
	t      testing.TB
}

func (r *recorder) add(s State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, s)
	r.t.Logf("state: %s", s)
}

// waitFor waits until a state after the first `from` matches.
func (r *recorder) waitFor(t *testing.T, from int, what string, match func(State) bool) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for i := from; i < len(r.states); i++ {
			if match(r.states[i]) {
				r.mu.Unlock()
				return i + 1
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no state %s", what)
	return 0
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.states)
}

func (e *env) forwarder(t *testing.T, rec *recorder, mutate func(*Config)) *Forwarder {
	t.Helper()
	cfg := Config{Client: e.client, Dialer: e.dialer, Namespace: e.ns, Team: "team-a", ProbeInterval: 200 * time.Millisecond}
	if rec != nil {
		cfg.OnState = rec.add
	}
	if mutate != nil {
		mutate(&cfg)
	}
	fw, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fw.Close() })
	return fw
}

func who(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 40 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url + "/who")
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

func ready(pod string) func(State) bool {
	return func(s State) bool { return s.Phase == Ready && s.Target.Pod == pod }
}

// TestForwarderKeepsItsPort follows the pods of a team's Prometheus on one local port: the pod
// is replaced (a request made meanwhile waits for the new pod), stops being ready and comes back,
// loses to a better pod, and its node agent restarts under it; every time, the same URL answers
// from the right pod.
func TestForwarderKeepsItsPort(t *testing.T) {
	e := setup(t, map[string]string{
		"prometheus-team-a-0": backend(t, "A"),
		"prometheus-team-a-1": backend(t, "B"),
	})
	e.runPod(t, "prometheus-team-a-0")
	rec := &recorder{t: t}
	fw := e.forwarder(t, rec, nil)
	url := fw.URL()
	if err := fw.Start(t.Context(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if s := fw.State(); s.Phase != Ready || s.Target.Pod != "prometheus-team-a-0" || s.Target.Port != 9090 || s.Transport != TransportWebSocket {
		t.Errorf("state after Start: %+v", s)
	}
	if got := who(t, url); got != "A" {
		t.Fatalf("before: %q", got)
	}

	t.Run("pod replaced", func(t *testing.T) {
		from := rec.count()
		e.deletePod(t, "prometheus-team-a-0")
		from = rec.waitFor(t, from, "waiting after the deletion", func(s State) bool { return s.Phase == Waiting })
		answer := make(chan string, 1)
		go func() { answer <- who(t, url) }()
		time.Sleep(300 * time.Millisecond) // the request waits for the tunnel
		e.runPod(t, "prometheus-team-a-1")
		if got := <-answer; got != "B" {
			t.Errorf("a request made while reconnecting: %q", got)
		}
		rec.waitFor(t, from, "ready on the new pod", ready("prometheus-team-a-1"))
		if got := who(t, url); got != "B" {
			t.Errorf("after: %q", got)
		}
		if fw.URL() != url {
			t.Errorf("the URL changed: %s → %s", url, fw.URL())
		}
	})

	t.Run("not ready and back", func(t *testing.T) {
		from := rec.count()
		e.patchStatus(t, "prometheus-team-a-1", `{"status":{"conditions":[{"type":"Ready","status":"False"}]}}`)
		from = rec.waitFor(t, from, "reconnecting", func(s State) bool {
			return s.Phase == Reconnecting && s.Reason == "pod prometheus-team-a-1 not ready"
		})
		e.patchStatus(t, "prometheus-team-a-1", `{"status":{"conditions":[{"type":"Ready","status":"True"}]}}`)
		rec.waitFor(t, from, "ready again", ready("prometheus-team-a-1"))
		if got := who(t, url); got != "B" {
			t.Errorf("after: %q", got)
		}
	})

	t.Run("a better pod", func(t *testing.T) {
		e.patchStatus(t, "prometheus-team-a-1", `{"status":{"containerStatuses":[{"name":"prometheus","image":"x","imageID":"","ready":true,"restartCount":4,"state":{"running":{}}}]}}`)
		from := rec.count()
		p0 := e.runPod(t, "prometheus-team-a-0")
		// Ready as long as pod 1 (ready longer would win first), pod 0 wins on fewer restarts.
		since := readyCondition(p0).LastTransitionTime.UTC().Format(time.RFC3339)
		e.patchStatus(t, "prometheus-team-a-1", `{"status":{"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"`+since+`"}]}}`)
		rec.waitFor(t, from, "ready on the better pod", ready("prometheus-team-a-0"))
		if got := who(t, url); got != "A" {
			t.Errorf("after: %q", got)
		}
	})

	t.Run("connection dropped", func(t *testing.T) {
		from := rec.count()
		e.agent.Restart(t)
		from = rec.waitFor(t, from, "reconnecting", func(s State) bool {
			return s.Phase == Reconnecting && (strings.Contains(s.Reason, "lost the connection") || strings.Contains(s.Reason, "readiness probes"))
		})
		rec.waitFor(t, from, "ready again", ready("prometheus-team-a-0"))
		if got := who(t, url); got != "A" {
			t.Errorf("after: %q", got)
		}
	})

	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fw.Done():
	default:
		t.Error("Done not closed after Close")
	}
	if resp, err := http.Get(url); err == nil {
		_ = resp.Body.Close()
		t.Error("the port still answers after Close")
	}
}

// TestForwarderWaitsForAReadyPod starts with no pod: Start waits (saying so) until one is ready,
// or gives up after its wait.
func TestForwarderWaitsForAReadyPod(t *testing.T) {
	e := setup(t, map[string]string{"prometheus-team-a-0": backend(t, "A")})
	fw := e.forwarder(t, nil, nil)
	start := time.Now()
	err := fw.Start(t.Context(), 0)
	if !IsNoReadyPod(err) || err.Error() != "no pod of Service "+e.ns+"/prometheus-team-a exists" || time.Since(start) > 5*time.Second {
		t.Fatalf("Start without a pod and no wait: %v after %s", err, time.Since(start))
	}

	rec := &recorder{t: t}
	fw = e.forwarder(t, rec, nil)
	started := make(chan error, 1)
	go func() { started <- fw.Start(t.Context(), time.Minute) }()
	rec.waitFor(t, 0, "waiting", func(s State) bool {
		return s.Phase == Waiting && strings.Contains(s.Reason, "no pod of Service "+e.ns+"/prometheus-team-a exists")
	})
	e.runPod(t, "prometheus-team-a-0")
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if got := who(t, fw.URL()); got != "A" {
		t.Errorf("got %q", got)
	}
}

// TestForwarderNoStack names the namespace where the team's stack is.
func TestForwarderNoStack(t *testing.T) {
	e := setup(t, nil)
	other := e.c.Namespace(t)
	e.createService(t, other, "team-b")
	_, err := Resolve(t.Context(), e.client, e.ns, "team-b")
	var noStack *NoStackError
	if !errors.As(err, &noStack) || err.Error() != fmt.Sprintf("no promteam stack named team-b in namespace %s; a stack of team team-b exists in namespace %s (pass -n %s)", e.ns, other, other) {
		t.Errorf("Resolve: %v", err)
	}
	fw := e.forwarder(t, nil, func(c *Config) { c.Team = "team-b" })
	start := time.Now()
	if err := fw.Start(t.Context(), time.Minute); !errors.As(err, &noStack) || time.Since(start) > 5*time.Second {
		t.Errorf("Start: %v after %s", err, time.Since(start))
	}
}

// TestTransportsAndPermissions: the WebSocket is used unless KUBECTL_PORT_FORWARD_WEBSOCKETS is
// false; a user needs create on pods/portforward (SPDY; get as well for the WebSocket, which
// Kubernetes 1.35+ also authorizes for create), and one without it gets an error naming it.
func TestTransportsAndPermissions(t *testing.T) {
	e := setup(t, map[string]string{"prometheus-team-a-0": backend(t, "A")})
	e.runPod(t, "prometheus-team-a-0")

	t.Setenv("KUBECTL_PORT_FORWARD_WEBSOCKETS", "false")
	fw := e.forwarder(t, nil, nil)
	if err := fw.Start(t.Context(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if s := fw.State(); s.Transport != TransportSPDY {
		t.Errorf("with KUBECTL_PORT_FORWARD_WEBSOCKETS=false: %s", s.Transport)
	}
	if got := who(t, fw.URL()); got != "A" {
		t.Errorf("over SPDY: %q", got)
	}
	_ = fw.Close()
	t.Setenv("KUBECTL_PORT_FORWARD_WEBSOCKETS", "")

	// The dev user reads Services and pods, and gets one verb on pods/portforward at a time.
	e.c.KubectlOK(t, kubetest.Admin, nil, "create", "role", "read", "--verb=get,list,watch", "--resource=services,pods", "-n", e.ns)
	e.c.KubectlOK(t, kubetest.Admin, nil, "create", "rolebinding", "dev-read", "--role=read", "--user="+kubetest.Dev, "-n", e.ns)
	devCfg := e.c.RESTConfig(kubetest.Dev)
	dev, err := kubernetes.NewForConfig(devCfg)
	if err != nil {
		t.Fatal(err)
	}
	devDialer, err := NewKubeDialer(devCfg)
	if err != nil {
		t.Fatal(err)
	}
	err = Check(t.Context(), dev, PortForwardRequirement(e.ns, "team-a"))
	var perm *PermissionError
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), `user "dev" lacks permissions that a port-forward to team team-a's Prometheus needs:`+"\n  - create pods/portforward in namespace "+e.ns+"\n") {
		t.Errorf("Check without pods/portforward: %v", err)
	}

	for _, tc := range []struct {
		verbs     string
		transport string // "" when the port-forward is refused
	}{
		{"get", ""},
		{"create", TransportSPDY},
		{"get,create", TransportWebSocket},
	} {
		role := "pf-" + strings.ReplaceAll(tc.verbs, ",", "-")
		e.c.KubectlOK(t, kubetest.Admin, nil, "create", "role", role, "--verb="+tc.verbs, "--resource=pods/portforward", "-n", e.ns)
		e.c.KubectlOK(t, kubetest.Admin, nil, "create", "rolebinding", role, "--role="+role, "--user="+kubetest.Dev, "-n", e.ns)
		// Start does not check permissions first: the API server's refusal is what it reports.
		fw := e.forwarder(t, nil, func(c *Config) { c.Client, c.Dialer = dev, devDialer })
		err := fw.Start(t.Context(), 10*time.Second)
		if tc.transport == "" {
			if !errors.As(err, &perm) || !strings.Contains(err.Error(), "create pods/portforward in namespace "+e.ns) {
				t.Errorf("with %s on pods/portforward: %v", tc.verbs, err)
			}
		} else {
			if err != nil {
				t.Fatalf("with %s on pods/portforward: %v", tc.verbs, err)
			}
			if s := fw.State(); s.Transport != tc.transport {
				t.Errorf("with %s on pods/portforward: transport %s, want %s", tc.verbs, s.Transport, tc.transport)
			}
			if got := who(t, fw.URL()); got != "A" {
				t.Errorf("with %s: %q", tc.verbs, got)
			}
			if err := Check(t.Context(), dev, PortForwardRequirement(e.ns, "team-a")); err != nil {
				t.Errorf("Check with %s: %v", tc.verbs, err)
			}
		}
		_ = fw.Close()
		e.c.KubectlOK(t, kubetest.Admin, nil, "delete", "rolebinding", role, "-n", e.ns)
	}
}
