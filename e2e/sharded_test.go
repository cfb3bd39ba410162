//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubedns"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/netns"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/operatortest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/thanostest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// shardedPods are the Prometheus pods of a stack of two shards of two replicas, as the operator
// names them: shard 0's StatefulSet is prometheus-TEAM, shard N's prometheus-TEAM-shard-N.
func shardedPods(team string) []string {
	return []string{"prometheus-" + team + "-0", "prometheus-" + team + "-1",
		"prometheus-" + team + "-shard-1-0", "prometheus-" + team + "-shard-1-1"}
}

// TestShardedThanosStack runs `create --shards 2 --replicas 2 --thanos` the way the cluster would:
// the real operator reconciles it into two StatefulSets of two pods; for each pod a real
// Prometheus 3 runs the configuration the operator generated for it (its shard's targets, its
// replica's external label) on the pod's IP, and a real Thanos sidecar runs with the arguments
// the operator gave the pod's thanos-sidecar container; the team's Thanos Query runs with the
// arguments `create` wrote, finding the sidecars by the DNS SRV lookup it names (answered from
// the cluster's EndpointSlices). The simulated Envoy fleet is spread over both shards. Through
// the tunnel to the Query, `top` matches the simulator's truth from raw series and from the
// recording rules (each shard holds about half of it, each replica all of its shard's), compare
// gives the verdict it gives on one Prometheus, and doctor passes, then names a stopped sidecar.
func TestShardedThanosStack(t *testing.T) {
	// Mostly waits for rate windows to fill: the other long end-to-end tests wait meanwhile.
	t.Parallel()
	if !netns.Inside() {
		netns.Rerun(t, envBinary+"="+buildBinary(t))
		return
	}
	const team, ns = "team-s", "team-s"
	bin := os.Getenv(envBinary)
	c := kubetest.Start(t)
	c.RoutePodRange(netns.PodRange)
	c.InstallCRDs(t, crdschema.RepoCRDDir(operatorVersion))
	c.StartControllers(t)

	// kwok connects port-forwards to loopback; relays carry them on to the pod IPs where the
	// Prometheus servers and the Query listen.
	relays := map[string]*relay{}
	var forwards []kubetest.Forward
	for _, pod := range shardedPods(team) {
		r := startRelay(t)
		relays[pod] = r
		forwards = append(forwards, kubetest.Forward{Namespace: ns, Pod: pod, Port: 9090, Target: r.addr})
	}
	queryRelay := startRelay(t)
	forwards = append(forwards, kubetest.Forward{Port: 10902, Target: queryRelay.addr})
	c.StartNodeAgent(t, forwards...)
	c.StartOperator(t)
	client, err := kubernetes.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	storage(t, client, 4)
	dns := kubedns.Start(t, client, "127.0.0.1:53")

	start := time.Now().Add(-10 * time.Minute)
	fl := fleet(start)
	fl.Pods = envoyNames(4)
	s := &sim{fleet: fl, pods: map[string]http.Handler{}, next: map[string]int{}}
	l, err := net.Listen("tcp", "0.0.0.0:9901")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	e := &env{t: t, bin: bin, c: c, client: client, dyn: dyn, sim: s}
	ch := chains[0] // the envoy preset
	ch.team = team
	ctx := context.Background()
	begin := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(begin).Seconds(), what) }

	// 1. The stack and four Envoy pods.
	createArgs := []string{"create", team, "-n", ns, "--envoy", ch.preset, "--apply", "--create-namespace",
		"--envoy-scrape-interval", "2s", "--evaluation-interval", "5s", "--storage", "1Gi",
		"--shards", "2", "--replicas", "2", "--thanos"}
	if _, stderr, code := e.promteam(t, createArgs...); code != 0 {
		t.Fatalf("create --apply: exit %d: %s", code, stderr)
	}
	envoyDeployment(t, client, ns, ch, 4)
	envoys := e.readyPods(t, ns, labelSelector(ch.labels), 4)
	s.serve(t, ch, envoys)
	step("stack applied, 4 Envoy pods ready")

	// 2. The operator: two StatefulSets of two pods; the Query's pod.
	e.waitCondition(t, ns, team, "Reconciled")
	promPods := e.readyPods(t, ns, "app.kubernetes.io/name=prometheus,operator.prometheus.io/name="+team, 4)
	queryPod := e.readyPods(t, ns, "app.kubernetes.io/name=thanos-query,app.kubernetes.io/instance="+team, 1)[0]
	step("operator reconciled: 4 Prometheus pods, the Query's pod")

	// 3. Each pod's Prometheus and sidecar, as the operator configured them.
	job := "podMonitor/" + ns + "/" + ch.monitor() + "/0"
	operatortest.WaitForJobs(t, client, ns, team, job)
	operatortest.WaitForRuleGroups(t, client, ns, team, manifests.RuleGroupRED)
	cluster := operatortest.Cluster{Server: c.Server(), CAFile: filepath.Join(c.Dir(), "certs", "apiserver.crt")}
	proms := map[string]*promtest.Server{}
	sidecars := map[string]*thanostest.Process{}
	for i := range promPods {
		pod := &promPods[i]
		dir := t.TempDir()
		cfg := operatortest.WritePodConfig(t, client, cluster, ns, team, pod.Spec, pod.Name, dir)
		prom := promtest.StartConfig(t, cfg, promtest.ConfigOptions{
			Binary:  tools.Path(t, "prometheus3"),
			Address: net.JoinHostPort(pod.Status.PodIP, "9090"),
		})
		proms[pod.Name] = prom
		relays[pod.Name].to(net.JoinHostPort(pod.Status.PodIP, "9090"))
		mounts := operatortest.WriteMounts(t, client, pod, "thanos-sidecar", filepath.Join(dir, "volumes"))
		args, err := operatortest.SidecarArgs(pod, prom.URL(), prom.DataDir(), mounts)
		if err != nil {
			t.Fatal(err)
		}
		sidecars[pod.Name] = thanostest.Start(t, pod.Name, net.JoinHostPort(pod.Status.PodIP, "10902"),
			net.JoinHostPort(pod.Status.PodIP, "10901"), args...)
	}
	if len(proms) != 4 || !slices.ContainsFunc(promPods, func(p corev1.Pod) bool { return p.Name == shardedPods(team)[3] }) {
		t.Fatalf("the operator's pods are not the two shards of two replicas: %v", podNames(promPods))
	}
	step("4 Prometheus servers and sidecars running the operator's configuration")

	// 4. The Envoy fleet spread over both shards: more pods until each shard scrapes some.
	for {
		split := shardTargets(t, proms, job, team)
		if len(split[0]) > 0 && len(split[1]) > 0 && len(split[0])+len(split[1]) == len(envoys) {
			t.Logf("shard 0 scrapes %v, shard 1 %v", split[0], split[1])
			break
		}
		if len(envoys) == 8 {
			t.Fatalf("%d Envoy pods, and the shards scrape %v and %v", len(envoys), split[0], split[1])
		}
		if len(split[0])+len(split[1]) == len(envoys) {
			n := len(envoys) + 1
			if _, err := client.AppsV1().Deployments(ns).Patch(ctx, "envoy", types.MergePatchType,
				[]byte(`{"spec":{"replicas":`+strconv.Itoa(n)+`}}`), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			envoys = e.readyPods(t, ns, labelSelector(ch.labels), n)
			s.resize(envoyNames(n)) // each pod's share of the traffic is 1/n from now on
			s.serve(t, ch, envoys)
		}
		time.Sleep(time.Second)
	}
	truthFleet := s.fleet // every window below starts after the last resize
	scraping := time.Now()
	step(fmt.Sprintf("%d Envoy pods spread over both shards", len(envoys)))

	// 5. The Query, with the arguments create wrote, finds all four sidecars through DNS.
	query := startQuery(t, client, dns, ns, team, &queryPod)
	queryRelay.to(query.HTTP)
	thanostest.WaitForStores(t, query.URL(), 4, 2*time.Minute)
	step("the Query sees the 4 sidecars through the SRV lookup")

	// 6. top through the tunnel to the Query: the whole fleet, once, whatever the shard (over a
	// minute: over 30s, one request more or less per pod moves the canary's success by 0.7 points).
	time.Sleep(time.Until(scraping.Add(62 * time.Second)))
	out, stderr, code := e.promteam(t, "top", team, "-n", ns, "--once", "-o", "json", "--window", "1m", "--source", "raw")
	if code != 0 {
		t.Fatalf("top: exit %d: %s", code, stderr)
	}
	snap := truth.Decode(t, []byte(out))
	truth.Check(t, snap, truthFleet, truth.Issue)
	if b := backend(t, out); b != "thanos-query" {
		t.Errorf("top through a --thanos stack: backend %q, want thanos-query", b)
	}
	step("top through the Query matches the truth")

	// One Prometheus pod holds one shard: --direct shows part of the fleet, and says where from.
	out, stderr, code = e.promteam(t, "top", team, "-n", ns, "--once", "-o", "json", "--window", "1m", "--source", "raw", "--direct")
	if code != 0 {
		t.Fatalf("top --direct: exit %d: %s", code, stderr)
	}
	if b := backend(t, out); b != "prometheus" {
		t.Errorf("top --direct: backend %q, want prometheus", b)
	}
	if direct, all := totalRPS(truth.Decode(t, []byte(out))), totalRPS(snap); direct > 0.9*all {
		t.Errorf("top --direct reads one shard, yet shows %.1f rps of %.1f", direct, all)
	}

	// 7. compare: the same verdict as on one Prometheus.
	e.compareFailsTheCanary(t, ns, team)
	step("compare fails the canary")

	// 8. doctor passes, and why follows a pod and a metric through the Query to green links.
	e.doctorPasses(t, ns, team)
	e.whyHealthy(t, ns, team, "pod/"+envoys[0].Name)
	e.whyHealthy(t, ns, team, "metric/envoy_cluster_upstream_rq_total")
	e.whyHealthy(t, ns, team, "alert/EnvoyUpstreamHigh5xxRatio")
	step("doctor passes; why's links are green through the Query")

	// 9. The recording rules, each shard's over its own targets, add up through the Query.
	time.Sleep(time.Until(scraping.Add(5*time.Minute + 20*time.Second)))
	out, stderr, code = e.promteam(t, "top", team, "-n", ns, "--once", "-o", "json")
	if code != 0 {
		t.Fatalf("top: exit %d: %s", code, stderr)
	}
	snap = truth.Decode(t, []byte(out))
	if snap.Source != "rules" {
		t.Errorf("top with the recording rules loaded: source %q", snap.Source)
	}
	truth.Check(t, snap, truthFleet, truth.Issue)
	step("top from the recording rules matches the truth")

	// 10. A stopped sidecar: doctor names its pod.
	stopped := shardedPods(team)[2]
	sidecars[stopped].Stop()
	deadline := time.Now().Add(time.Minute)
	for {
		r, _, _ := e.doctor(t, ns, team)
		i := slices.IndexFunc(r.Results, func(res struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Reason string `json:"reason"`
			Fix    string `json:"fix"`
		}) bool {
			return res.ID == "thanos-stores"
		})
		if i >= 0 && r.Results[i].Status == "failed" && strings.Contains(r.Results[i].Reason, stopped) && r.Results[i].Fix != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("doctor does not name the stopped sidecar of %s: %+v", stopped, r.Results)
		}
		time.Sleep(2 * time.Second)
	}
	step("doctor names the stopped sidecar")
}

// envoyDeployment creates the Deployment of n Envoy pods that ch's monitor selects.
func envoyDeployment(t *testing.T, client kubernetes.Interface, ns string, ch chain, n int32) {
	t.Helper()
	deploy := envoyDeploymentObject(ns, ch, n)
	if _, err := client.AppsV1().Deployments(ns).Create(context.Background(), deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// shardTargets is the Envoy pod IPs each shard scrapes (both replicas of a shard must agree),
// from each Prometheus' active targets of job.
func shardTargets(t *testing.T, proms map[string]*promtest.Server, job, team string) [2][]string {
	t.Helper()
	var split [2][]string
	for pod, prom := range proms {
		shard := 0
		if strings.HasPrefix(pod, "prometheus-"+team+"-shard-1-") {
			shard = 1
		}
		var a targetsAnswer
		if err := getJSON(prom.URL()+"/api/v1/targets?state=active", &a); err != nil {
			continue
		}
		var up []string
		for _, tg := range a.Data.ActiveTargets {
			if tg.ScrapePool == job && tg.Health == "up" {
				up = append(up, tg.Labels["instance"])
			}
		}
		slices.Sort(up)
		if !strings.HasSuffix(pod, "-0") {
			if !slices.Equal(up, split[shard]) {
				return [2][]string{} // the replicas do not agree yet
			}
			continue
		}
		split[shard] = up
	}
	return split
}

// startQuery runs the Query with the arguments of the container create wrote, listening on its
// pod's IP, with a resolv.conf (bound over /etc/resolv.conf in a mount namespace of its own) that
// sends its DNS lookups to dns, as a pod's would go to the cluster's DNS.
func startQuery(t *testing.T, client kubernetes.Interface, dns *kubedns.Server, ns, team string, pod *corev1.Pod) *thanostest.Process {
	t.Helper()
	deploy, err := client.AppsV1().Deployments(ns).Get(context.Background(), manifests.ThanosQueryName(team), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	containers := deploy.Spec.Template.Spec.Containers
	if len(containers) != 1 {
		t.Fatalf("the Query's Deployment has %d containers", len(containers))
	}
	args, err := operatortest.ListenOnPod(containers[0], pod)
	if err != nil {
		t.Fatal(err)
	}
	var httpAddr, grpcAddr string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--http-address="); ok {
			httpAddr = v
		}
		if v, ok := strings.CutPrefix(a, "--grpc-address="); ok {
			grpcAddr = v
		}
	}
	if httpAddr == "" {
		t.Fatalf("the Query's arguments set no --http-address: %v", args)
	}
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte(dns.ResolvConf(ns)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$0" /etc/resolv.conf && exec "$@"`, resolv, tools.Path(t, "thanos")}, args...)...)
	return thanostest.StartCommand(t, "query", httpAddr, grpcAddr, cmd)
}

// backend is the "backend" field of a command's JSON.
func backend(t *testing.T, out string) string {
	t.Helper()
	var v struct {
		Backend string `json:"backend"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return v.Backend
}

func totalRPS(s truth.Snapshot) float64 {
	sum := 0.0
	for _, r := range s.Rows {
		if r.RPS != nil {
			sum += *r.RPS
		}
	}
	return sum
}

func podNames(pods []corev1.Pod) []string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return names
}

// envoyNames are the names of a fleet of n Envoy pods.
func envoyNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = "envoy-" + strconv.Itoa(i)
	}
	return names
}

// resize makes the fleet pods, and every pod IP served so far answer as the same pod of it: each
// pod's share of every cluster's traffic becomes 1/len(pods).
func (s *sim) resize(pods []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := *s.fleet
	f.Pods = pods
	s.fleet = &f
	for ip, as := range s.as {
		s.pods[ip] = s.fleet.Handler(as.pod, as.dialect, nil)
	}
}

// relay accepts connections on a loopback address and carries each to where it was last told.
type relay struct {
	addr string
	mu   sync.Mutex
	dest string
}

func startRelay(t *testing.T) *relay {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{addr: l.Addr().String()}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go r.carry(in)
		}
	}()
	return r
}

func (r *relay) to(dest string) {
	r.mu.Lock()
	r.dest = dest
	r.mu.Unlock()
}

func (r *relay) carry(in net.Conn) {
	defer func() { _ = in.Close() }()
	r.mu.Lock()
	dest := r.dest
	r.mu.Unlock()
	if dest == "" {
		return
	}
	out, err := net.DialTimeout("tcp", dest, 5*time.Second)
	if err != nil {
		return
	}
	defer func() { _ = out.Close() }()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(out, in); close(done) }()
	_, _ = io.Copy(in, out)
	_ = in.Close() // ends the other direction too
	<-done
}
