//go:build e2e

package plugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// relay is a TCP proxy in front of the real Prometheus that counts the connections through it:
// it stands for one pod's Prometheus, so a test can tell which pod a tunnel reached.
type relay struct {
	addr  string
	conns atomic.Int64
}

func startRelay(t *testing.T, target string) *relay {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r.conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				done := make(chan struct{})
				go func() { _, _ = io.Copy(up, c); _ = up.(*net.TCPConn).CloseWrite(); close(done) }()
				_, _ = io.Copy(c, up)
				<-done
			}()
		}
	}()
	return r
}

// promteamProc is a running kubectl-promteam process whose standard output is read line by line.
type promteamProc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startPromteam(t *testing.T, env []string, args ...string) *promteamProc {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &promteamProc{cmd: cmd, lines: make(chan string, 100), stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *promteamProc) line(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			<-p.done
			t.Fatalf("exited (%v) before printing a line; stderr:\n%s", p.err, p.stderr)
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("no line after %s; stderr:\n%s", timeout, p.stderr)
	}
	return ""
}

// waitStderr waits until standard error contains want after the first from bytes.
func (p *promteamProc) waitStderr(t *testing.T, from int, want string, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s := p.stderr.String()
		if i := strings.Index(s[min(from, len(s)):], want); i >= 0 {
			return from + i + len(want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("stderr lacks %q after %s:\n%s", want, timeout, p.stderr)
	return 0
}

// promQuery runs an instant query and returns how many series answered.
func promQuery(t *testing.T, base, query string) int {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s at %s: %v %+v", query, base, err, body)
	}
	return len(body.Data.Result)
}

// runPromteam runs the binary to completion.
func runPromteam(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return cli.Run(t, binary(t), env, args...)
}

// doctorTargets runs doctor -o json and returns the status and reason of its targets check.
func doctorTargets(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, _ := runPromteam(t, nil, append(args, "-o", "json", "--wait", "1s")...)
	var report struct {
		Results []struct{ ID, Status, Reason string } `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("doctor -o json: %v\n%s\n%s", err, out, stderr)
	}
	for _, r := range report.Results {
		if r.ID == "targets" {
			return r.Status + ": " + r.Reason
		}
	}
	t.Fatalf("no targets check:\n%s", out)
	return ""
}

// TestReachATeamsPrometheus reaches a team's Prometheus by name on a real API server whose node
// agent (kwok) forwards pod ports to a real Prometheus scraping a simulated Envoy fleet:
// port-forward prints a URL that answers PromQL, keeps that URL through a pod replacement and
// stops cleanly on Ctrl-C; top TEAM and doctor TEAM go through the tunnel on their own; the
// service proxy path works; missing permissions, a missing stack and a missing pod are named.
//
// It is the package's one end-to-end test that is not parallel: it checks that port-forward takes
// local port 9090 when that is free, which another test's port-forward could hold for a moment.
func TestReachATeamsPrometheus(t *testing.T) {
	binary(t)
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	ns, other := "team-a", "elsewhere"
	for _, n := range []string{ns, other} {
		c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", n)
	}

	// The fleet and the real Prometheus that scrapes it; its series carry namespace team-a.
	fleet := e2eFleet()
	mux := http.NewServeMux()
	envoys := httptest.NewServer(mux)
	t.Cleanup(envoys.Close)
	var targets []promtest.Target
	for _, pod := range fleet.Pods {
		mux.Handle("/"+pod+"/", http.StripPrefix("/"+pod, fleet.Handler(pod, envoysim.Stock, nil)))
		targets = append(targets, promtest.Target{URL: envoys.URL + "/" + pod + "/stats/prometheus",
			Labels: map[string]string{"namespace": ns, "pod": pod}})
	}
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second})
	// In front of Prometheus, a proxy that notes how the queries ask for their answers.
	enc := promtest.Front(t, srv.URL())
	promAddr := strings.TrimPrefix(enc.URL, "http://")
	pods := map[string]*relay{"prometheus-team-a-0": startRelay(t, promAddr), "prometheus-team-a-1": startRelay(t, promAddr)}
	var forwards []kubetest.Forward
	for name, r := range pods {
		forwards = append(forwards, kubetest.Forward{Namespace: ns, Pod: name, Port: 9090, Target: r.addr})
	}
	agent := c.StartNodeAgent(t, forwards...)

	// The stack, applied by the plugin; its pods, run by the node agent as the operator's would be.
	admin := []string{"--kubeconfig", c.Kubeconfig(kubetest.Admin)}
	if _, stderr, code := runPromteam(t, nil, append([]string{"create", "team-a", "-n", ns, "--apply"}, admin...)...); code != 0 {
		t.Fatalf("create --apply: %s", stderr)
	}
	if _, stderr, code := runPromteam(t, nil, append([]string{"create", "team-a", "-n", other, "--apply"}, admin...)...); code != 0 {
		t.Fatalf("create --apply: %s", stderr)
	}
	runPod := func(name string) *corev1.Pod {
		return agent.RunPod(t, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
				Labels: map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "team-a"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "prometheus", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9090}}},
				{Name: "config-reloader", Ports: []corev1.ContainerPort{{Name: "reloader-web", ContainerPort: 8080}}},
			}},
		})
	}
	runPod("prometheus-team-a-0")
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total`, len(fleet.Pods)*len(fleet.Clusters), 30*time.Second)
	scraping := time.Now()

	t.Run("port-forward survives a pod replacement", func(t *testing.T) {
		pf := startPromteam(t, nil, append([]string{"port-forward", "team-a", "-n", ns}, admin...)...)
		line := pf.line(t, 30*time.Second)
		m := regexp.MustCompile(`^Prometheus of team team-a in namespace team-a: (http://127\.0\.0\.1:(\d+))$`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("port-forward printed %q; stderr:\n%s", line, pf.stderr)
		}
		base := m[1]
		if l, err := net.Listen("tcp", "127.0.0.1:9090"); err == nil {
			_ = l.Close()
			t.Errorf("9090 was free but port-forward took %s", m[2])
		}
		from := pf.waitStderr(t, 0, "connected to pod team-a/prometheus-team-a-0 port 9090 (websocket)", 10*time.Second)
		if n := promQuery(t, base, `envoy_cluster_upstream_rq_total`); n != len(fleet.Pods)*len(fleet.Clusters) {
			t.Errorf("%d series through the tunnel", n)
		}
		before0, before1 := pods["prometheus-team-a-0"].conns.Load(), pods["prometheus-team-a-1"].conns.Load()
		if before0 == 0 || before1 != 0 {
			t.Errorf("connections to pod 0 and 1 before the replacement: %d, %d", before0, before1)
		}

		c.KubectlOK(t, kubetest.Admin, nil, "delete", "pod", "-n", ns, "prometheus-team-a-0", "--wait=false")
		from = pf.waitStderr(t, from, "pod prometheus-team-a-0 terminating; reconnecting in", 30*time.Second)
		agent.WaitPodGone(t, ns, "prometheus-team-a-0")
		runPod("prometheus-team-a-1")
		pf.waitStderr(t, from, "connected to pod team-a/prometheus-team-a-1 port 9090", 30*time.Second)
		if n := promQuery(t, base, `up`); n != len(fleet.Pods) {
			t.Errorf("%d up series after the reconnect", n)
		}
		if got := pods["prometheus-team-a-1"].conns.Load(); got == 0 {
			t.Error("no connection reached the new pod")
		}

		if err := pf.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case <-pf.done:
			if pf.err != nil {
				t.Errorf("after Ctrl-C: %v; stderr:\n%s", pf.err, pf.stderr)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("port-forward did not exit after Ctrl-C")
		}
		if _, err := net.Dial("tcp", strings.TrimPrefix(base, "http://")); err == nil {
			t.Error("the local port still answers after Ctrl-C")
		}
	})

	t.Run("top through the tunnel", func(t *testing.T) {
		// A 20s window of samples: the cluster with 10% errors then counts about 400 requests, enough
		// for its success rate to be within 2 points of the truth.
		time.Sleep(time.Until(scraping.Add(22 * time.Second)))
		out, stderr, code := runPromteam(t, nil, append([]string{"top", "team-a", "-n", ns, "--once", "-o", "json", "--window", "20s"}, admin...)...)
		if code != 0 {
			t.Fatalf("top team-a: exit %d: %s", code, stderr)
		}
		snap := truth.Decode(t, []byte(out))
		if len(snap.Rows) != len(fleet.Clusters) {
			t.Errorf("%d rows for %d clusters", len(snap.Rows), len(fleet.Clusters))
		}
		truth.Check(t, snap, fleet, truth.Tolerance{RPS: 0.1, Success: 0.02, Quantile: 0.2})
		if got := enc.Take(); !promtest.All(got, "gzip") {
			t.Errorf("queries through the tunnel asked for %q, want gzip answers", got)
		}
	})

	t.Run("uncompressed through the tunnel", func(t *testing.T) {
		// --disable-compression, kubectl's flag for a fast link to the cluster, also covers the
		// answers that cross it through the tunnel.
		out, stderr, code := runPromteam(t, nil, append([]string{"top", "team-a", "-n", ns, "--once", "-o", "json", "--window", "20s", "--disable-compression"}, admin...)...)
		if code != 0 {
			t.Fatalf("top team-a --disable-compression: exit %d: %s", code, stderr)
		}
		if snap := truth.Decode(t, []byte(out)); len(snap.Rows) != len(fleet.Clusters) {
			t.Errorf("%d rows for %d clusters", len(snap.Rows), len(fleet.Clusters))
		}
		if got := enc.Take(); !promtest.All(got, "") {
			t.Errorf("queries with --disable-compression asked for %q, want no encoding", got)
		}
	})

	t.Run("doctor through the tunnel", func(t *testing.T) {
		if got, want := doctorTargets(t, append([]string{"doctor", "team-a", "-n", ns}, admin...)...), fmt.Sprintf("passed: %d targets up", len(fleet.Pods)); got != want {
			t.Errorf("doctor's targets check: %s, want %s", got, want)
		}
	})

	t.Run("service proxy", func(t *testing.T) {
		// The EndpointSlice an endpoint controller would write, and the pod network route to the
		// pod's Prometheus.
		routeService(t, c, ns, "prometheus-team-a", "prometheus-team-a-1", 9090, promAddr)
		out, stderr, code := runPromteam(t, nil, append([]string{"top", "team-a", "-n", ns, "--via-proxy", "--once", "-o", "json", "--window", "10s"}, admin...)...)
		if code != 0 {
			t.Fatalf("top --via-proxy: exit %d: %s", code, stderr)
		}
		if snap := truth.Decode(t, []byte(out)); len(snap.Rows) != len(fleet.Clusters) {
			t.Errorf("%d rows through the service proxy", len(snap.Rows))
		}
		if got, want := doctorTargets(t, append([]string{"doctor", "team-a", "-n", ns, "--via-proxy"}, admin...)...), fmt.Sprintf("passed: %d targets up", len(fleet.Pods)); got != want {
			t.Errorf("doctor --via-proxy's targets check: %s, want %s", got, want)
		}
	})

	t.Run("permissions are named", func(t *testing.T) {
		// dev may read the Service and the pods, nothing more.
		c.KubectlOK(t, kubetest.Admin, nil, "create", "role", "read", "--verb=get,list,watch", "--resource=services,pods", "-n", ns)
		c.KubectlOK(t, kubetest.Admin, nil, "create", "rolebinding", "dev-read", "--role=read", "--user="+kubetest.Dev, "-n", ns)
		dev := []string{"--kubeconfig", c.Kubeconfig(kubetest.Dev)}
		for _, args := range [][]string{
			{"port-forward", "team-a", "-n", ns},
			{"top", "team-a", "-n", ns, "--once"},
		} {
			_, stderr, code := runPromteam(t, nil, append(args, dev...)...)
			for _, want := range []string{
				`user "dev" lacks permissions that a port-forward to team team-a's Prometheus needs:`,
				"  - create pods/portforward in namespace team-a\n",
				"kubectl create role promteam-create --verb=create --resource=pods/portforward -n team-a",
			} {
				if code != 1 || !strings.Contains(stderr, want) {
					t.Errorf("%v as dev: exit %d, stderr lacks %q:\n%s", args, code, want, stderr)
				}
			}
		}
		_, stderr, code := runPromteam(t, nil, append([]string{"top", "team-a", "-n", ns, "--once", "--via-proxy"}, dev...)...)
		if code != 1 || !strings.Contains(stderr, "  - get services/proxy in namespace team-a\n  - create services/proxy in namespace team-a\n") {
			t.Errorf("top --via-proxy as dev: exit %d:\n%s", code, stderr)
		}
		if got := doctorTargets(t, append([]string{"doctor", "team-a", "-n", ns}, dev...)...); !strings.HasPrefix(got, `skipped: Prometheus is not reachable: user "dev" lacks permissions that a port-forward`) {
			t.Errorf("doctor as dev: targets %s", got)
		}
	})

	t.Run("no stack, no pod", func(t *testing.T) {
		_, stderr, code := runPromteam(t, nil, append([]string{"port-forward", "team-a", "-n", "default"}, admin...)...)
		if code != 1 || !strings.Contains(stderr, "no promteam stack named team-a in namespace default; a stack of team team-a exists in namespace elsewhere, team-a (pass -n elsewhere)") {
			t.Errorf("port-forward in the wrong namespace: exit %d:\n%s", code, stderr)
		}
		start := time.Now()
		_, stderr, code = runPromteam(t, nil, append([]string{"port-forward", "team-a", "-n", other, "--timeout", "2s"}, admin...)...)
		want := "waiting for a ready pod: no pod of Service elsewhere/prometheus-team-a exists\n" +
			"error: no pod of Service elsewhere/prometheus-team-a exists after waiting 2s; pass --timeout to wait longer"
		if code != 1 || !strings.Contains(stderr, want) || time.Since(start) > 15*time.Second {
			t.Errorf("port-forward without a pod: exit %d after %s:\n%s", code, time.Since(start), stderr)
		}
	})

	t.Run("open and port", func(t *testing.T) {
		dir := t.TempDir()
		opened := filepath.Join(dir, "opened")
		browser := filepath.Join(dir, "browser")
		if err := os.WriteFile(browser, []byte("#!/bin/sh\necho \"$1\" > "+opened+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		pf := startPromteam(t, []string{"BROWSER=" + browser}, append([]string{"port-forward", "team-a", "-n", ns, "--port", "0", "--address", "localhost", "--open"}, admin...)...)
		line := pf.line(t, 30*time.Second)
		m := regexp.MustCompile(`: (http://localhost:\d+)$`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("printed %q", line)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, _ := os.ReadFile(opened)
			if strings.TrimSpace(string(got)) == m[1] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the browser was given %q, want %s", got, m[1])
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n := promQuery(t, m[1], `up`); n != len(fleet.Pods) {
			t.Errorf("%d up series through localhost", n)
		}
	})
}

// routeService writes the EndpointSlice an endpoint controller would write for Service ns/service
// and its pod's web port, and routes the API server's connections to that port to target: what
// the service proxy needs to reach the pod.
func routeService(t *testing.T, c *kubetest.Cluster, ns, service, podName string, port int32, target string) {
	t.Helper()
	client, err := kubernetes.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	pod, err := client.CoreV1().Pods(ns).Get(context.Background(), podName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: podName, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{pod.Status.PodIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name, UID: pod.UID}}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("web"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	if _, err := client.DiscoveryV1().EndpointSlices(ns).Create(context.Background(), slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.RoutePod(pod.Status.PodIP, int(port), target)
}
