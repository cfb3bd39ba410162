//go:build e2e

// Package e2e runs kubectl-promteam against the real Prometheus Operator: the stack `create
// --apply` writes is reconciled by the operator, the configuration it generates runs in a real
// Prometheus that discovers the team's Envoy pods through the real API server and scrapes the
// project's Envoy simulator on their pod IPs, and `doctor`, `top` and `compare` read it through
// the port-forward tunnel.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/netns"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/operatortest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// operatorVersion is the operator hack/install-operator.sh builds; its CRDs are vendored.
const operatorVersion = "v0.93.1"

// envBinary carries the plugin binary, built outside the network namespace, into it.
const envBinary = "PROMTEAM_TEST_BINARY"

// chain is one preset's team: its stack, its Envoy pods and the Prometheus that runs the
// operator's configuration for it.
type chain struct {
	preset    string
	team      string
	dialect   envoysim.Dialect
	port      string // the container port the preset's monitor names
	portNum   int32
	labels    map[string]string // what the preset's selector matches
	promPort  int               // where the team's Prometheus listens, on loopback
	checkMore bool              // compare, and the broken cases
}

// monitor is the name of the PodMonitor create writes for the preset.
func (ch chain) monitor() string { return ch.team + "-" + ch.preset }

var chains = []chain{
	{preset: "envoy", team: "team-a", dialect: envoysim.Stock, port: "admin", portNum: 9901,
		labels: map[string]string{"app": "envoy"}, promPort: 19090, checkMore: true},
	{preset: "contour", team: "team-c", dialect: envoysim.Stock, port: "metrics", portNum: 8002,
		labels: map[string]string{"app": "envoy"}, promPort: 19091},
	{preset: "istio", team: "team-i", dialect: envoysim.Istio, port: "http-envoy-prom", portNum: 15090,
		labels: map[string]string{"app": "reviews"}, promPort: 19092},
}

// fleet is what each team's Envoys serve: a canary pair for compare, and the mix of the top
// end-to-end test (errors, client errors, slow, idle).
func fleet(start time.Time) *envoysim.Fleet {
	// Uniform within one of Envoy's default buckets: histogram_quantile's interpolation is exact.
	fast, slow := envoysim.Uniform(10, 25), envoysim.Uniform(250, 500)
	return &envoysim.Fleet{
		Start: start,
		Pods:  []string{"envoy-0", "envoy-1", "envoy-2"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_frontend_80", RPS: 60, ErrorRatio: 0.05, ClientErrorRatio: 0.02, Active: 4,
				// No quantile on a bucket boundary: there, a request more or less in the
				// window moves histogram_quantile across an empty bucket.
				Latency: envoysim.Latency{{Weight: 0.6, LoMs: 10, HiMs: 25}, {Weight: 0.25, LoMs: 25, HiMs: 50}, {Weight: 0.15, LoMs: 100, HiMs: 250}}},
			{Name: "shop_checkout-primary_8080", RPS: 60, ErrorRatio: 0.002, Latency: fast},
			{Name: "shop_checkout-canary_8080", RPS: 20, ErrorRatio: 0.08, Latency: slow},
			{Name: "shop_idle_8080", Latency: envoysim.Uniform(1, 5)},
		},
		Listeners: []envoysim.Listener{{Prefix: "ingress_http", RPS: 140, Latency: envoysim.Uniform(5, 10)}},
	}
}

// setDown makes the Envoy on a pod IP answer every scrape with 503, or answer again.
func (s *sim) setDown(ip string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down == nil {
		s.down = map[string]bool{}
	}
	s.down[ip] = down
}

// sim serves the fleet on every pod IP: each connection is answered as the Envoy of the pod
// whose IP it reached.
type sim struct {
	fleet *envoysim.Fleet
	mu    sync.Mutex
	pods  map[string]http.Handler // pod IP → that Envoy
	next  map[string]int          // team → how many of the fleet's pods it has handed out
	as    map[string]servedAs     // pod IP → which of the fleet's pods it answers as
	down  map[string]bool         // pod IP → answers every scrape with 503
}

// servedAs is the fleet's pod a pod IP answers as, in a dialect.
type servedAs struct {
	pod     string
	dialect envoysim.Dialect
}

func (s *sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	host, _, _ := net.SplitHostPort(fmt.Sprint(local))
	s.mu.Lock()
	h, down := s.pods[host], s.down[host]
	s.mu.Unlock()
	if down {
		http.Error(w, "the Envoy on "+host+" is overloaded", http.StatusServiceUnavailable)
		return
	}
	if h == nil {
		http.Error(w, "no Envoy on "+host, http.StatusNotFound)
		return
	}
	h.ServeHTTP(w, r)
}

// serve makes the Envoy pods of ch that are not served yet answer as the next of the fleet's pods.
func (s *sim) serve(t *testing.T, ch chain, pods []corev1.Pod) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range pods {
		if p.Status.PodIP == "" || s.pods[p.Status.PodIP] != nil {
			continue
		}
		i := s.next[ch.team]
		if i >= len(s.fleet.Pods) {
			t.Fatalf("more Envoy pods than the fleet has: %s", p.Name)
		}
		s.next[ch.team]++
		s.pods[p.Status.PodIP] = s.fleet.Handler(s.fleet.Pods[i], ch.dialect, nil)
		if s.as == nil {
			s.as = map[string]servedAs{}
		}
		s.as[p.Status.PodIP] = servedAs{pod: s.fleet.Pods[i], dialect: ch.dialect}
	}
}

// TestOperatorEndToEnd runs create → operator → Prometheus → scrape → doctor, top and compare for
// the envoy, contour and istio presets, and breaks the envoy team's monitoring on purpose to see
// doctor name each fault.
func TestOperatorEndToEnd(t *testing.T) {
	// Mostly waits for rate windows to fill: the other long end-to-end tests wait meanwhile.
	t.Parallel()
	if !netns.Inside() {
		netns.Rerun(t, envBinary+"="+buildBinary(t))
		return
	}
	bin := os.Getenv(envBinary)
	c := kubetest.Start(t)
	c.RoutePodRange(netns.PodRange)
	c.InstallCRDs(t, crdschema.RepoCRDDir(operatorVersion))
	c.StartControllers(t)
	var forwards []kubetest.Forward
	for _, ch := range chains {
		forwards = append(forwards, kubetest.Forward{Namespace: ch.team, Pod: "prometheus-" + ch.team + "-0", Port: 9090,
			Target: net.JoinHostPort("127.0.0.1", strconv.Itoa(ch.promPort))})
	}
	c.StartNodeAgent(t, append(forwards, platformForward())...)
	op := c.StartOperator(t)
	client, err := kubernetes.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	storage(t, client, len(chains))

	s := &sim{fleet: fleet(time.Now().Add(-10 * time.Minute)), pods: map[string]http.Handler{}, next: map[string]int{}}
	for _, port := range []int32{9901, 8002, 15090} {
		l, err := net.Listen("tcp", net.JoinHostPort("0.0.0.0", strconv.Itoa(int(port))))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
	}

	e := &env{t: t, bin: bin, c: c, client: client, dyn: dyn, sim: s, op: op}
	for _, ch := range chains {
		t.Run(ch.preset, func(t *testing.T) {
			t.Parallel() // each in its namespace, with its Prometheus
			e.run(t, ch)
		})
	}
}

// env is what every chain shares.
type env struct {
	t      *testing.T
	bin    string
	c      *kubetest.Cluster
	client kubernetes.Interface
	dyn    dynamic.Interface
	sim    *sim
	op     *kubetest.Operator
}

func (e *env) admin() []string { return []string{"--kubeconfig", e.c.Kubeconfig(kubetest.Admin)} }

// promteam runs the plugin as the admin.
func (e *env) promteam(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return cli.Run(t, e.bin, nil, append(args, e.admin()...)...)
}

func (e *env) run(t *testing.T, ch chain) {
	ctx := context.Background()
	ns := ch.team
	begin := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(begin).Seconds(), what) }

	// 1. The stack, applied by the plugin, and two Envoy pods.
	if _, stderr, code := e.promteam(t, "create", ch.team, "-n", ns, "--envoy", ch.preset, "--apply", "--create-namespace",
		"--envoy-scrape-interval", "2s", "--evaluation-interval", "5s", "--storage", "1Gi", "--replicas", "1"); code != 0 {
		t.Fatalf("create --apply: exit %d: %s", code, stderr)
	}
	deploy := envoyDeploymentObject(ns, ch, 2)
	if _, err := e.client.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	envoys := e.readyPods(t, ns, labelSelector(ch.labels), 2)
	e.sim.serve(t, ch, envoys)
	step("stack applied, 2 Envoy pods ready")

	// 2. The operator reconciles: StatefulSet, pod, configuration Secret, Available.
	e.waitCondition(t, ns, ch.team, "Reconciled")
	e.readyPods(t, ns, "app.kubernetes.io/name=prometheus,operator.prometheus.io/name="+ch.team, 1)
	e.waitCondition(t, ns, ch.team, "Available")
	step("operator reconciled: Reconciled and Available")

	// 3. The operator's configuration in a real Prometheus: every Envoy pod an up target of the
	// generated PodMonitor job, the promteam rules loaded.
	job := "podMonitor/" + ns + "/" + ch.monitor() + "/0"
	operatortest.WaitForJobs(t, e.client, ns, ch.team, job)
	operatortest.WaitForRuleGroups(t, e.client, ns, ch.team, manifests.RuleGroupRED)
	dir := t.TempDir()
	cfg := operatortest.WriteConfig(t, e.client, operatortest.Cluster{Server: e.c.Server(), CAFile: filepath.Join(e.c.Dir(), "certs", "apiserver.crt")}, ns, ch.team, dir)
	prom := promtest.StartConfig(t, cfg, promtest.ConfigOptions{
		Binary:  tools.Path(t, "prometheus3"),
		Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(ch.promPort)),
	})
	waitTargets(t, prom, job, podIPs(envoys))
	step("2 targets up")
	if _, err := e.client.AppsV1().Deployments(ns).Patch(ctx, "envoy", types.MergePatchType, []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	envoys = e.readyPods(t, ns, labelSelector(ch.labels), 3)
	e.sim.serve(t, ch, envoys)
	waitTargets(t, prom, job, podIPs(envoys))
	scraping := time.Now()
	step("scaled to 3: 3 targets up")
	groups := rules(t, prom)
	if !groups[manifests.RuleGroupRED] {
		t.Errorf("rule groups loaded: %v, want %s", groups, manifests.RuleGroupRED)
	}
	if ch.dialect == envoysim.Stock {
		prom.WaitForSeries(t, `envoy_cluster:upstream_rq:rate5m{namespace="`+ns+`"}`, len(e.sim.fleet.Clusters), time.Minute)
		step("recording rules evaluate")
	}

	if ch.checkMore {
		e.startPlatformTeams(t, ch)
		step("the platform view's other teams applied")
	}

	// 4. doctor passes every check, through the tunnel to the pod standing for Prometheus.
	e.doctorPasses(t, ns, ch.team)
	step("doctor passes")

	// 5. top through the tunnel matches the simulator's truth, from Envoy's own series.
	time.Sleep(time.Until(scraping.Add(32 * time.Second)))
	out, stderr, code := e.promteam(t, "top", ch.team, "-n", ns, "--once", "-o", "json", "--window", "30s", "--source", "raw")
	if code != 0 {
		t.Fatalf("top: exit %d: %s", code, stderr)
	}
	snap := truth.Decode(t, []byte(out))
	if snap.Source != "raw" || snap.Window != "30s" {
		t.Errorf("top --source raw: source %q, window %q", snap.Source, snap.Window)
	}
	truth.Check(t, snap, e.sim.fleet, truth.Tolerance{RPS: 0.05, Success: 0.01, Quantile: 0.15})
	step("top matches the truth")
	if ch.checkMore {
		e.platformView(t, ch)
		step("top -A shows every team")
	}

	if !ch.checkMore {
		return
	}
	// compare: the slower, failing canary fails (over a minute of samples of every pod).
	time.Sleep(time.Until(scraping.Add(62 * time.Second)))
	e.compareFailsTheCanary(t, ns, ch.team)
	step("compare fails the canary")

	e.broken(t, ch)
	step("doctor names every fault")
	e.whyFollows(t, ch, prom, dir, envoys)
	step("why names every broken link")

	// 6. top from the recording rules, once their 5m window holds samples of every pod.
	time.Sleep(time.Until(scraping.Add(5*time.Minute + 20*time.Second)))
	out, stderr, code = e.promteam(t, "top", ch.team, "-n", ns, "--once", "-o", "json")
	if code != 0 {
		t.Fatalf("top: exit %d: %s", code, stderr)
	}
	snap = truth.Decode(t, []byte(out))
	if snap.Source != "rules" || snap.Window != "5m" {
		t.Errorf("top with the recording rules loaded: source %q, window %q, want rules over 5m", snap.Source, snap.Window)
	}
	truth.Check(t, snap, e.sim.fleet, truth.Tolerance{RPS: 0.05, Success: 0.01, Quantile: 0.15})
	step("top from the recording rules matches the truth")

	e.envoysGone(t, ch)
}

// compareFailsTheCanary checks that compare fails the fleet's slower, failing canary against its
// primary, over the last minute.
func (e *env) compareFailsTheCanary(t *testing.T, ns, team string) {
	t.Helper()
	out, stderr, code := e.promteam(t, "compare", team, "-n", ns, "--baseline", "shop_checkout-primary_8080",
		"--canary", "shop_checkout-canary_8080", "--window", "1m", "--step", "5s", "-o", "json")
	var verdict struct {
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(out), &verdict); code != 1 || err != nil || verdict.Verdict != "FAIL" {
		t.Errorf("compare on the worse canary: exit %d, verdict %q (%v): %s", code, verdict.Verdict, err, stderr)
	}
}

// broken breaks the team's monitoring on purpose, one fault at a time, and checks that doctor
// names it; create --apply repairs each.
func (e *env) broken(t *testing.T, ch chain) {
	ctx := context.Background()
	ns := ch.team
	monitors := e.dyn.Resource(podMonitors).Namespace(ns)
	repair := func(t *testing.T) {
		t.Helper()
		if _, stderr, code := e.promteam(t, "create", ch.team, "-n", ns, "--envoy", ch.preset, "--apply", "--force-conflicts",
			"--envoy-scrape-interval", "2s", "--evaluation-interval", "5s", "--storage", "1Gi", "--replicas", "1"); code != 0 {
			t.Fatalf("create --apply: exit %d: %s", code, stderr)
		}
	}
	patchMonitor := func(t *testing.T, patch string) {
		t.Helper()
		if _, err := monitors.Patch(ctx, ch.monitor(), types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("port name matches nothing", func(t *testing.T) {
		patchMonitor(t, `[{"op":"replace","path":"/spec/podMetricsEndpoints/0/port","value":"stats"}]`)
		e.doctorFails(t, ns, ch.team, "ports", "is declared by none")
		repair(t)
	})
	t.Run("selector selects nothing", func(t *testing.T) {
		patchMonitor(t, `[{"op":"replace","path":"/spec/selector","value":{"matchLabels":{"app":"envoy-gone"}}}]`)
		e.doctorFails(t, ns, ch.team, "ports", "no Envoy pods match")
		repair(t)
	})
	t.Run("operator stopped", func(t *testing.T) {
		e.op.Stop()
		if _, stderr, code := e.promteam(t, "create", ch.team, "-n", ns, "--envoy", ch.preset, "--apply",
			"--envoy-scrape-interval", "2s", "--evaluation-interval", "5s", "--storage", "1Gi", "--replicas", "1", "--retention", "9d"); code != 0 {
			t.Fatalf("create --apply: exit %d: %s", code, stderr)
		}
		e.doctorFails(t, ns, ch.team, "reconciled", "the operator has not caught up")
		e.op.Start(t)
		repair(t)
		e.waitCondition(t, ns, ch.team, "Reconciled")
	})
}

// envoysGone deletes the team's Envoy pods and checks that doctor says so.
func (e *env) envoysGone(t *testing.T, ch chain) {
	ctx := context.Background()
	ns := ch.team
	t.Run("Envoy pods deleted", func(t *testing.T) {
		if _, err := e.client.AppsV1().Deployments(ns).Patch(ctx, "envoy", types.MergePatchType, []byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			pods, err := e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labelSelector(ch.labels)})
			if err == nil && len(pods.Items) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Envoy pods still there: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		e.doctorFails(t, ns, ch.team, "ports", "no Envoy pods match")
	})
}

// doctorReport is doctor's JSON.
type doctorReport struct {
	Results []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
		Fix    string `json:"fix"`
	} `json:"results"`
}

func (e *env) doctor(t *testing.T, ns, team string) (doctorReport, string, int) {
	t.Helper()
	out, stderr, code := e.promteam(t, "doctor", team, "-n", ns, "-o", "json", "--wait", "3s")
	var r doctorReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("doctor -o json: exit %d, %v\n%s\n%s", code, err, out, stderr)
	}
	return r, stderr, code
}

// doctorPasses waits until every check of doctor passes (the targets check needs a scrape or two).
func (e *env) doctorPasses(t *testing.T, ns, team string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r, stderr, code := e.doctor(t, ns, team)
		var failed []string
		for _, res := range r.Results {
			// These stacks send their alerts nowhere: the alerting checks skip and say so.
			if res.Status == "skipped" && alertingChecks[res.ID] {
				continue
			}
			if res.Status != "passed" {
				failed = append(failed, fmt.Sprintf("%s %s: %s", res.ID, res.Status, res.Reason))
			}
		}
		if code == 0 && len(failed) == 0 && len(r.Results) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("doctor: exit %d, not passed:\n%s\n%s", code, strings.Join(failed, "\n"), stderr)
		}
		time.Sleep(2 * time.Second)
	}
}

// alertingChecks are doctor's checks of where alerts go, which skip for a stack without an
// Alertmanager.
var alertingChecks = map[string]bool{"alert-delivery": true, "alert-routing": true, "receiver-secrets": true, "alertmanagers": true, "notifications": true}

// doctorFails checks that doctor fails check id with a reason containing want, and gives a fix.
func (e *env) doctorFails(t *testing.T, ns, team, id, want string) {
	t.Helper()
	r, stderr, code := e.doctor(t, ns, team)
	for _, res := range r.Results {
		if res.ID != id {
			continue
		}
		if code != 1 || res.Status != "failed" || !strings.Contains(res.Reason, want) || res.Fix == "" {
			t.Errorf("doctor's %s check: exit %d, %s: %s (fix %q), want failed with %q\n%s", id, code, res.Status, res.Reason, res.Fix, want, stderr)
		}
		return
	}
	t.Errorf("doctor has no %s check: %+v", id, r.Results)
}

// waitCondition waits until the operator reports condition typ True on Prometheus ns/name for
// its current generation.
func (e *env) waitCondition(t *testing.T, ns, name, typ string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		u, err := e.dyn.Resource(prometheuses).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				gen, _ := m["observedGeneration"].(int64)
				if m["type"] == typ && m["status"] == "True" && (gen == 0 || gen >= u.GetGeneration()) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus %s/%s: no %s=True after 2m (%v)\noperator log:\n%s", ns, name, typ, err, e.op.Log())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// readyPods waits until n pods match selector and are Running and Ready, and returns them.
func (e *env) readyPods(t *testing.T, ns, selector string, n int) []corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pods, err := e.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		var ready []corev1.Pod
		if err == nil {
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && podReady(p) {
					ready = append(ready, p)
				}
			}
			if len(ready) == n && len(pods.Items) == n {
				return ready
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s: %d ready pods after 2m, want %d (%v)", selector, ns, len(ready), n, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podIPs(pods []corev1.Pod) []string {
	var ips []string
	for _, p := range pods {
		ips = append(ips, p.Status.PodIP)
	}
	return ips
}

func labelSelector(m map[string]string) string {
	return metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: m})
}

// storage gives the cluster a default StorageClass and n volumes for it, so that the operator's
// volume claims bind and its pods can be scheduled.
func storage(t *testing.T, client kubernetes.Interface, n int) {
	t.Helper()
	ctx := context.Background()
	class := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "local", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}
	if _, err := client.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "local-" + strconv.Itoa(i)},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName:              "local",
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/nonexistent/local-" + strconv.Itoa(i)}},
			},
		}
		if _, err := client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// buildBinary builds the plugin for the test, outside the network namespace.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kubectl-promteam")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/kubectl-promteam/kubectl-promteam/cmd/kubectl-promteam")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var (
	prometheuses = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheuses"}
	podMonitors  = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "podmonitors"}
)

// targetsAnswer is Prometheus' /api/v1/targets.
type targetsAnswer struct {
	Data struct {
		ActiveTargets []struct {
			ScrapePool string            `json:"scrapePool"`
			ScrapeURL  string            `json:"scrapeUrl"`
			Health     string            `json:"health"`
			LastError  string            `json:"lastError"`
			Labels     map[string]string `json:"labels"`
		} `json:"activeTargets"`
	} `json:"data"`
}

// waitTargets waits until the targets of job are exactly the pod IPs, all up.
func waitTargets(t *testing.T, prom *promtest.Server, job string, ips []string) {
	t.Helper()
	want := map[string]bool{}
	for _, ip := range ips {
		want[ip] = true
	}
	deadline := time.Now().Add(time.Minute)
	var last string
	for {
		var a targetsAnswer
		if err := getJSON(prom.URL()+"/api/v1/targets?state=active", &a); err == nil {
			up, all := map[string]bool{}, []string{}
			for _, tg := range a.Data.ActiveTargets {
				if tg.ScrapePool != job {
					continue
				}
				host := strings.TrimPrefix(tg.ScrapeURL, "http://")
				host, _, _ = strings.Cut(host, ":")
				all = append(all, fmt.Sprintf("%s %s %s", tg.ScrapeURL, tg.Health, tg.LastError))
				if tg.Health == "up" {
					up[host] = true
				}
			}
			if len(up) == len(want) && len(all) == len(want) {
				ok := true
				for ip := range want {
					ok = ok && up[ip]
				}
				if ok {
					return
				}
			}
			last = strings.Join(all, "; ")
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("targets of %s: %s, want %v up\n%s", job, last, ips, prom.LogTail())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// rules returns the names of the rule groups Prometheus loaded whose rules are all healthy.
func rules(t *testing.T, prom *promtest.Server) map[string]bool {
	t.Helper()
	var a struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Health string `json:"health"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := getJSON(prom.URL()+"/api/v1/rules", &a); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, g := range a.Data.Groups {
		healthy := len(g.Rules) > 0
		for _, r := range g.Rules {
			healthy = healthy && r.Health != "err"
		}
		out[g.Name] = healthy
	}
	return out
}

func getJSON(url string, v any) error {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// envoyDeploymentObject is a Deployment of replicas Envoy pods that ch's monitor selects, each
// declaring the port it names and meeting Pod Security's restricted level.
func envoyDeploymentObject(ns string, ch chain, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "envoy", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: ch.labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: ch.labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "envoy", Image: "envoy.invalid/envoy",
					Ports: []corev1.ContainerPort{{Name: ch.port, ContainerPort: ch.portNum}},
					// What Pod Security's restricted level asks of every container.
					SecurityContext: &corev1.SecurityContext{
						RunAsNonRoot: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
						Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
				}}},
			},
		},
	}
}
