package kubetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// kwokBinary is sigs.k8s.io/kwok, built by hack/install-k8s.sh.
const kwokBinary = "kwok"

// nodeReadyTimeout bounds the wait for a fake node, and for a pod on it, to become ready.
const nodeReadyTimeout = time.Minute

// Forward routes the port-forwards of pods on a fake node to a loopback address, the way a
// kubelet would connect them to a port inside the pod.
type Forward struct {
	// Namespace and Pod name the pod; an empty Pod routes every pod that no other Forward names.
	Namespace, Pod string
	// Port is the pod port; 0 routes every port.
	Port int
	// Target is the loopback host:port the forwarded connections go to.
	Target string
}

// NodeAgent is kwok (sigs.k8s.io/kwok) acting as the kubelet of one fake node of the cluster: pods
// bound to the node (spec.nodeName; the cluster has no scheduler) become Running and Ready,
// pods being deleted go away, and `kubectl port-forward` to them (through the API server, as with
// a real kubelet) reaches the Forward targets.
type NodeAgent struct {
	// Node is the name of the fake node.
	Node string

	cluster *Cluster
	client  kubernetes.Interface
	args    []string
	addr    string // kwok's kubelet API
	restart int
	proc    *process
}

// StartNodeAgent registers a fake node and starts kwok for it with forwards, and stops it when
// the test ends. It fails the test when kwok is missing or the node does not become ready.
func (c *Cluster) StartNodeAgent(t testing.TB, forwards ...Forward) *NodeAgent {
	t.Helper()
	bin := filepath.Join(c.bin, kwokBinary)
	if info, err := os.Stat(bin); err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		t.Fatalf("kubetest: %s missing from %s; run `make tools` (or hack/install-k8s.sh) to build it", kwokBinary, c.bin)
	}
	for _, f := range forwards {
		if host, _, err := net.SplitHostPort(f.Target); err != nil || !isLoopback(host) {
			t.Fatalf("kubetest: forward target %q is not a loopback host:port", f.Target)
		}
	}
	n := c.nodeCount.Add(1)
	a := &NodeAgent{Node: "kwok-node-" + strconv.FormatInt(n, 10), cluster: c}
	var err error
	if a.client, err = kubernetes.NewForConfig(c.RESTConfig(Admin)); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(c.dir, a.Node+".yaml")
	if err := os.WriteFile(config, []byte(kwokConfig(forwards)), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        a.Node,
		Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": a.Node},
	}}
	if _, err := a.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("kubetest: register node %s: %v", a.Node, err)
	}

	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ports[0])
	a.addr = "127.0.0.1:" + port
	a.args = []string{
		"--kubeconfig=" + c.Kubeconfig(Admin),
		"--config=" + config,
		"--manage-single-node=" + a.Node,
		"--node-ip=127.0.0.1",
		"--node-port=" + port,
		"--server-address=" + a.addr,
		// The API server reaches pod IPs through the stand-in pod network (RoutePod, or directly
		// with RoutePodRange inside a network namespace); port-forwards go to the Forward targets.
		"--cidr=10.244." + strconv.FormatInt(n%250, 10) + ".0/24",
		"--node-lease-duration-seconds=40",
	}
	if a.proc, err = c.spawnLogged(kwokBinary, a.Node+".log", nil, a.args...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	deadline := time.Now().Add(nodeReadyTimeout)
	for {
		got, err := a.client.CoreV1().Nodes().Get(ctx, a.Node, metav1.GetOptions{})
		if err == nil && nodeReady(got) && got.Status.DaemonEndpoints.KubeletEndpoint.Port != 0 {
			break
		}
		select {
		case <-a.proc.done:
			t.Fatalf("kubetest: kwok exited: %v\n%s", a.proc.err, tail(a.proc.logPath))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubetest: node %s not ready after %s (last error %v)\n%s", a.Node, nodeReadyTimeout, err, tail(a.proc.logPath))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return a
}

// Stop stops kwok; its node stays registered, and its pods stay as they are. Connections
// through it, such as port-forwards, end.
func (a *NodeAgent) Stop() { a.proc.stop() }

// Restart stops kwok and starts it again on the same port, as a kubelet restart would: the
// port-forwards through it end, and new ones work once it is back.
func (a *NodeAgent) Restart(t testing.TB) {
	t.Helper()
	a.Stop()
	a.restart++
	var err error
	if a.proc, err = a.cluster.spawnLogged(kwokBinary, fmt.Sprintf("%s.%d.log", a.Node, a.restart), nil, a.args...); err != nil {
		t.Fatal(err)
	}
	addr := a.addr
	deadline := time.Now().Add(nodeReadyTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		select {
		case <-a.proc.done:
			t.Fatalf("kubetest: kwok exited: %v\n%s", a.proc.err, tail(a.proc.logPath))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubetest: kwok not listening on %s after %s: %v", addr, nodeReadyTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log returns kwok's log so far.
func (a *NodeAgent) Log() string {
	data, _ := os.ReadFile(a.proc.logPath)
	return string(data)
}

// RunPod creates pod on the agent's node and waits until it is Running and Ready; it returns the
// pod as it is then. Containers without an image get one (kwok runs nothing).
func (a *NodeAgent) RunPod(t testing.TB, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	pod = pod.DeepCopy()
	pod.Spec.NodeName = a.Node
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Image == "" {
			pod.Spec.Containers[i].Image = "kwok.invalid/" + pod.Spec.Containers[i].Name
		}
	}
	ctx := context.Background()
	created, err := a.client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubetest: create pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	return a.WaitPodReady(t, created.Namespace, created.Name)
}

// WaitPodReady waits until the pod is Running and Ready and returns it.
func (a *NodeAgent) WaitPodReady(t testing.TB, namespace, name string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(nodeReadyTimeout)
	for {
		got, err := a.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil && got.Status.Phase == corev1.PodRunning && podReady(got) && got.Status.PodIP != "" {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubetest: pod %s/%s not ready after %s (last error %v)\n%s", namespace, name, nodeReadyTimeout, err, tail(a.proc.logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitPodGone waits until the pod no longer exists (kwok deletes pods whose deletion started).
func (a *NodeAgent) WaitPodGone(t testing.TB, namespace, name string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(nodeReadyTimeout)
	for {
		_, err := a.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubetest: pod %s/%s still there after %s (last error %v)", namespace, name, nodeReadyTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return fmt.Sprintf("==> last %d lines of %s <==\n%s", len(lines), path, strings.Join(lines, "\n"))
}

// kwokConfig is kwok's configuration: the stages that make the node and its pods ready and
// delete pods whose deletion started (kwok's defaults, without the ones for Jobs), then the
// forwards: a PortForward per named pod and one ClusterPortForward for the rest.
func kwokConfig(forwards []Forward) string {
	var b strings.Builder
	b.WriteString(kwokStages)
	byPod := map[string][]Forward{}
	var order []string
	var cluster []Forward
	for _, f := range forwards {
		if f.Pod == "" {
			cluster = append(cluster, f)
			continue
		}
		key := f.Namespace + "/" + f.Pod
		if _, seen := byPod[key]; !seen {
			order = append(order, key)
		}
		byPod[key] = append(byPod[key], f)
	}
	writeForwards := func(fs []Forward) {
		b.WriteString("spec:\n  forwards:\n")
		for _, f := range fs {
			host, port, _ := net.SplitHostPort(f.Target)
			b.WriteString("  - ")
			if f.Port != 0 {
				fmt.Fprintf(&b, "ports: [%d]\n    ", f.Port)
			}
			fmt.Fprintf(&b, "target:\n      address: %q\n      port: %s\n", host, port)
		}
	}
	for _, key := range order {
		ns, pod, _ := strings.Cut(key, "/")
		fmt.Fprintf(&b, "---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: PortForward\nmetadata:\n  name: %q\n  namespace: %q\n", pod, ns)
		writeForwards(byPod[key])
	}
	if len(cluster) > 0 {
		b.WriteString("---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: ClusterPortForward\nmetadata:\n  name: every-pod\n")
		writeForwards(cluster)
	}
	return b.String()
}

// kwokStages are kwok's node-initialize, pod-ready and pod-delete stages, and its
// node-heartbeat-with-lease stage: with a node lease (--node-lease-duration-seconds) it keeps the
// node Ready for kube-controller-manager's node lifecycle controller, which would otherwise mark
// it NotReady and taint it so that the scheduler places nothing there.
const kwokStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values:
      - 'True'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $lastTransitionTime := or .metadata.creationTimestamp $now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $lastTransitionTime | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type  | Quote}}
      {{ end }}
      addresses:
      {{ with NodeIP }}
      - address: {{ . | Quote }}
        type: InternalIP
      {{ end }}
      {{ with NodeName }}
      - address: {{ . | Quote }}
        type: Hostname
      {{ end }}
      {{ with NodePort }}
      daemonEndpoints:
        kubeletEndpoint:
          Port: {{ . }}
      {{ end }}
      allocatable:
        cpu: 1k
        memory: 1Ti
        pods: 1M
      capacity:
        cpu: 1k
        memory: 1Ti
        pods: 1M
      {{ $kwokVersion := printf "kwok-%s" Version }}
      nodeInfo:
        architecture: amd64
        bootID: ""
        containerRuntimeVersion: {{ $kwokVersion }}
        kernelVersion: {{ $kwokVersion }}
        kubeProxyVersion: {{ $kwokVersion }}
        kubeletVersion: {{ $kwokVersion }}
        machineID: ""
        operatingSystem: linux
        osImage: ""
        systemUUID: ""
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values:
      - 'True'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      {{ $hostIPs := NodeIPsWith .spec.nodeName }}
      {{ with $hostIPs }}
      hostIP: {{ index . 0 | Quote }}
      hostIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    delete: true
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-heartbeat-with-lease
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values:
      - 'True'
  delay:
    durationMilliseconds: 600000
    jitterDurationMilliseconds: 610000
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $lastTransitionTime := or .metadata.creationTimestamp $now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $lastTransitionTime | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}

      addresses:
      {{ with .status.addresses }}
      {{ YAML . 1 }}
      {{ else }}
      {{ with NodeIP }}
      - address: {{ . | Quote }}
        type: InternalIP
      {{ end }}
      {{ with NodeName }}
      - address: {{ . | Quote }}
        type: Hostname
      {{ end }}
      {{ end }}

      {{ with NodePort }}
      daemonEndpoints:
        kubeletEndpoint:
          Port: {{ . }}
      {{ end }}
`
