//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/amtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/netns"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/operatortest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// alertmanagerVersion is the Alertmanager hack/install-alertmanager.sh builds: the operator
// generates the configuration for it, and the test runs that configuration in it.
const alertmanagerVersion = "v0.28.1"

// The alert the test raises, on the upstream cluster it breaks.
const (
	spikeAlert   = "EnvoyUpstreamHigh5xxRatio"
	spikeCluster = "shop_checkout_8080"
)

// alertFor is the for of the spiked alert in the rule files the test's Prometheus reads, instead
// of the stack's 5m: only the test shortens it, so that the alert fires within seconds of the
// spike. The rule files in the cluster keep 5m.
const alertFor = "10s"

// silencedCluster is the upstream cluster of team A that fails too, under a silence.
const silencedCluster = "shop_search_8080"

// alertFleet is what every team's Envoys serve: two upstream clusters well within the stack's
// thresholds, except that half of the responses of the failing clusters are 5xx.
func alertFleet(start time.Time, failing ...string) *envoysim.Fleet {
	ratio := func(cluster string, healthy float64) float64 {
		if slices.Contains(failing, cluster) {
			return 0.5
		}
		return healthy
	}
	return &envoysim.Fleet{
		Start: start,
		Pods:  []string{"envoy-0", "envoy-1"},
		Clusters: []envoysim.Cluster{
			{Name: spikeCluster, RPS: 20, ErrorRatio: ratio(spikeCluster, 0.002), Latency: envoysim.Uniform(10, 25)},
			{Name: silencedCluster, RPS: 10, ErrorRatio: ratio(silencedCluster, 0.001), Latency: envoysim.Uniform(5, 10)},
		},
	}
}

// envoyPods answers each connection as the simulated Envoy of the pod whose IP it reached.
type envoyPods struct {
	mu   sync.Mutex
	pods map[string]http.Handler // pod IP → that Envoy
}

func (e *envoyPods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	host, _, _ := net.SplitHostPort(fmt.Sprint(local))
	e.mu.Lock()
	h := e.pods[host]
	e.mu.Unlock()
	if h == nil {
		http.Error(w, "no Envoy on "+host, http.StatusNotFound)
		return
	}
	h.ServeHTTP(w, r)
}

// serve makes pods answer as the fleet's pods, all at once.
func (e *envoyPods) serve(t *testing.T, pods []corev1.Pod, fleet *envoysim.Fleet) {
	t.Helper()
	if len(pods) > len(fleet.Pods) {
		t.Fatalf("%d Envoy pods, and the fleet has %d", len(pods), len(fleet.Pods))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, p := range pods {
		e.pods[p.Status.PodIP] = fleet.Handler(fleet.Pods[i], envoysim.Stock, nil)
	}
}

// notification is what Alertmanager's webhook integration posts.
type notification struct {
	Receiver    string `json:"receiver"`
	Status      string `json:"status"`
	ExternalURL string `json:"externalURL"`
	Alerts      []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
}

// webhook is a team's receiver: it keeps every notification it is sent.
type webhook struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []notification
	bad []string // what could not be read
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification
		err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&n)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err != nil {
			h.bad = append(h.bad, fmt.Sprintf("%s %s: %v", r.Method, r.URL, err))
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.got = append(h.got, n)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// notifications are what the webhook got so far; what it could not read fails t.
func (h *webhook) notifications(t *testing.T) []notification {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.bad) > 0 {
		t.Fatalf("unreadable notifications: %s", strings.Join(h.bad, "; "))
	}
	return slices.Clone(h.got)
}

// alertTeam is one team of the test: its stack, where its Envoys run, and its receiver.
type alertTeam struct {
	name    string // the team, and its namespace
	envoyNS string // where its Envoy pods run
	preset  string
	port    string // the container port the preset's monitor names
	portNum int32
	flags   []string // where create sends the alerts
	hook    *webhook
	// silenced is a cluster that fails with spikeCluster, under a silence, or empty.
	silenced string

	prom   *promtest.Server
	envoys []corev1.Pod
}

// receiver is the name the operator gives the team's webhook receiver in the Alertmanager's
// configuration: namespace/AlertmanagerConfig/receiver.
func (tm *alertTeam) receiver() string { return tm.name + "/" + tm.name + "/webhook" }

// alerting is what the test's teams share.
type alerting struct {
	*env
	envoys *envoyPods
	begin  time.Time
}

func (a *alerting) step(t *testing.T, what string) {
	t.Logf("%6.1fs %s", time.Since(a.begin).Seconds(), what)
}

// TestAlertsReachTheTeam proves the alert path of a stack end to end, with real parts: the
// operator reconciles the team's own Alertmanager and three shared ones (one per
// alertmanagerConfigMatcherStrategy) with the teams' AlertmanagerConfigs, a real Alertmanager runs
// each configuration the operator generated, each team's real Prometheus discovers its
// Alertmanagers from the operator's configuration, the simulated Envoys of a team turn an upstream
// cluster's 5xx ratio up, and the team's webhook gets the alert with its labels and runbook, from
// every Alertmanager it goes through, while no team's receiver ever gets another team's alert.
func TestAlertsReachTheTeam(t *testing.T) {
	t.Parallel()
	if !netns.Inside() {
		// Each subtest mostly waits for servers: run them all at once.
		netns.RerunParallel(t, 8, envBinary+"="+buildBinary(t))
		return
	}
	a := &alerting{begin: time.Now(), envoys: &envoyPods{pods: map[string]http.Handler{}}}
	c := kubetest.Start(t)
	c.RoutePodRange(netns.PodRange)
	c.InstallCRDs(t, crdschema.RepoCRDDir(operatorVersion))
	c.StartControllers(t)
	c.StartNodeAgent(t)
	op := c.StartOperator(t)
	client, err := kubernetes.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	a.env = &env{t: t, bin: os.Getenv(envBinary), c: c, client: client, dyn: dyn, op: op}
	for _, port := range []int{9901, 8002} {
		l, err := net.Listen("tcp", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: a.envoys, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
	}
	a.step(t, "cluster, controllers, node and operator up")

	t.Run("own Alertmanager", func(t *testing.T) {
		t.Parallel()
		a.own(t)
	})
	t.Run("shared Alertmanagers", func(t *testing.T) {
		t.Parallel()
		a.shared(t)
	})
}

// own: team A's stack brings its own Alertmanager.
func (a *alerting) own(t *testing.T) {
	tm := &alertTeam{name: "team-a", envoyNS: "team-a", preset: "envoy", port: "admin", portNum: 9901, hook: newWebhook(t),
		flags:    []string{"--alertmanager", "own", "--alertmanager-version", alertmanagerVersion, "--notify", "webhook=team-a-hook/url"},
		silenced: silencedCluster}
	a.stack(t, tm, nil)
	ams := a.runAlertmanagers(t, tm.name, []string{tm.name}, []string{tm.receiver()})
	a.prometheus(t, tm, ams)
	id := a.silence(t, tm)
	a.spike(t, tm)
	a.delivered(t, tm, ams)
	a.alertsListed(t, tm)
	groupWait := a.routesTested(t, tm)
	a.notDelivered(t, tm, ams[tm.name], id, groupWait)
	a.routedOnly(t, ams, []*alertTeam{tm})
	a.nothingForeign(t, tm)
}

// sharedAlertmanagers are the platform's: one per matcher strategy, each reading the
// AlertmanagerConfigs labelled alertmanagerConfig=teams from namespaces labelled alerts=team.
var sharedAlertmanagers = []struct{ name, strategy string }{
	{"on-namespace", "OnNamespace"},
	{"except-own-namespace", "OnNamespaceExceptForAlertmanagerNamespace"},
	{"none", "None"},
}

// shared: teams B and C send to the platform's Alertmanagers. Team B's Envoys run in namespace
// projectcontour, so its alerts are about pods outside the team's namespace. Both name
// alertmanager-operated, the operator's Service in front of every Alertmanager of namespace
// monitoring: each team's Prometheus sends each alert to all three, and each routes it under its
// own strategy.
func (a *alerting) shared(t *testing.T) {
	const ns = "monitoring"
	a.namespace(t, ns, nil)
	var manifest strings.Builder
	for _, am := range sharedAlertmanagers {
		fmt.Fprintf(&manifest, `---
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  version: %[3]s
  replicas: 1
  externalUrl: http://%[1]s.alertmanager.test/
  alertmanagerConfigSelector: {matchLabels: {alertmanagerConfig: teams}}
  alertmanagerConfigNamespaceSelector: {matchLabels: {alerts: team}}
  alertmanagerConfigMatcherStrategy: {type: %[4]s}
`, am.name, ns, alertmanagerVersion, am.strategy)
	}
	a.c.KubectlOK(t, kubetest.Admin, []byte(manifest.String()), "apply", "-f", "-")
	names := make([]string, len(sharedAlertmanagers))
	for i, am := range sharedAlertmanagers {
		names[i] = am.name
		a.readyPods(t, ns, "app.kubernetes.io/name=alertmanager,alertmanager="+am.name, 1)
	}
	a.waitService(t, ns, "alertmanager-operated")
	a.step(t, "three shared Alertmanagers reconciled")

	teams := []*alertTeam{
		{name: "team-b", envoyNS: "projectcontour", preset: "contour", port: "metrics", portNum: 8002, hook: newWebhook(t),
			flags: []string{"--alertmanager", ns + "/on-namespace", "--alertmanager-service", "alertmanager-operated", "--notify", "webhook=team-b-hook/url"}},
		{name: "team-c", envoyNS: "team-c", preset: "envoy", port: "admin", portNum: 9901, hook: newWebhook(t),
			flags: []string{"--alertmanager", ns + "/none", "--alertmanager-service", "alertmanager-operated", "--notify", "webhook=team-c-hook/url"}},
	}
	receivers := make([]string, len(teams))
	for i, tm := range teams {
		receivers[i] = tm.receiver()
	}
	t.Run("stacks", func(t *testing.T) {
		for _, tm := range teams {
			t.Run(tm.name, func(t *testing.T) {
				t.Parallel()
				a.stack(t, tm, map[string]string{"alerts": "team"})
			})
		}
	})
	if t.Failed() {
		return
	}
	ams := a.runAlertmanagers(t, ns, names, receivers)
	t.Run("alerts", func(t *testing.T) {
		for _, tm := range teams {
			t.Run(tm.name, func(t *testing.T) {
				t.Parallel()
				a.prometheus(t, tm, ams)
				a.spike(t, tm)
				a.delivered(t, tm, ams)
				a.alertsListed(t, tm)
				a.routesTested(t, tm)
			})
		}
	})
	if t.Failed() {
		return
	}
	a.routedOnly(t, ams, teams)
	for _, tm := range teams {
		a.nothingForeign(t, tm)
	}
}

// namespace creates namespace ns with labels.
func (a *alerting) namespace(t *testing.T, ns string, labels map[string]string) {
	t.Helper()
	_, err := a.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// stack applies the team's stack with create, its webhook's Secret first, and runs its Envoys.
func (a *alerting) stack(t *testing.T, tm *alertTeam, nsLabels map[string]string) {
	ctx := context.Background()
	a.namespace(t, tm.name, nsLabels)
	if tm.envoyNS != tm.name {
		a.namespace(t, tm.envoyNS, nil)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: tm.name + "-hook", Namespace: tm.name},
		StringData: map[string]string{"url": tm.hook.srv.URL + "/" + tm.name}}
	if _, err := a.client.CoreV1().Secrets(tm.name).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	args := []string{"create", tm.name, "-n", tm.name, "--envoy", tm.preset, "--apply",
		"--envoy-scrape-interval", "2s", "--evaluation-interval", "5s", "--storage", "0", "--replicas", "1"}
	if tm.envoyNS != tm.name {
		args = append(args, "--envoy-namespace", tm.envoyNS)
	}
	if _, stderr, code := a.promteam(t, append(args, tm.flags...)...); code != 0 {
		t.Fatalf("create --apply: exit %d: %s", code, stderr)
	}
	labels := map[string]string{"app": "envoy"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "envoy", Namespace: tm.envoyNS},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "envoy", Image: "envoy.invalid/envoy",
					Ports: []corev1.ContainerPort{{Name: tm.port, ContainerPort: tm.portNum}},
				}}},
			},
		},
	}
	if _, err := a.client.AppsV1().Deployments(tm.envoyNS).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tm.envoys = a.readyPods(t, tm.envoyNS, labelSelector(labels), 2)
	a.envoys.serve(t, tm.envoys, alertFleet(time.Now().Add(-10*time.Minute)))
	a.waitCondition(t, tm.name, tm.name, "Reconciled")
	a.step(t, tm.name+": stack applied and reconciled, 2 Envoy pods in "+tm.envoyNS)
}

// runAlertmanagers waits until the operator's configuration of each Alertmanager ns/name has
// the receivers, and runs it in a real Alertmanager listening on the IP of the Alertmanager's pod
// (where the Prometheus discovers it). It returns the Alertmanagers by name.
func (a *alerting) runAlertmanagers(t *testing.T, ns string, names, receivers []string) map[string]*amtest.Server {
	t.Helper()
	out := map[string]*amtest.Server{}
	for _, name := range names {
		pod := a.readyPods(t, ns, "app.kubernetes.io/name=alertmanager,alertmanager="+name, 1)[0]
		a.waitReceivers(t, ns, name, receivers)
		addr := net.JoinHostPort(pod.Status.PodIP, "9093")
		args := operatortest.WriteAlertmanager(t, a.client, ns, name, t.TempDir(), addr)
		out[name] = amtest.StartArgs(t, addr, args...)
	}
	a.step(t, fmt.Sprintf("Alertmanagers %s/%s run the operator's configuration", ns, strings.Join(names, ",")))
	return out
}

// waitReceivers waits until the operator's configuration of Alertmanager ns/name has the
// receivers.
func (a *alerting) waitReceivers(t *testing.T, ns, name string, want []string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var have []string
		cfg, err := operatortest.GeneratedAlertmanagerConfig(context.Background(), a.client, ns, name)
		if err == nil {
			var parsed struct {
				Receivers []struct {
					Name string `json:"name"`
				} `json:"receivers"`
			}
			if err = yaml.Unmarshal(cfg, &parsed); err == nil {
				for _, r := range parsed.Receivers {
					have = append(have, r.Name)
				}
				missing := slices.DeleteFunc(slices.Clone(want), func(r string) bool { return slices.Contains(have, r) })
				if len(missing) == 0 {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager %s/%s: receivers %q after 2m, want %q (%v)\noperator log:\n%s", ns, name, have, want, err, a.op.Log())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitService waits until Service ns/name exists.
func (a *alerting) waitService(t *testing.T, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := a.client.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Service %s/%s: %v after 1m", ns, name, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// prometheus runs the operator's configuration of the team's Prometheus, with the alert's for
// shortened (see alertFor), in place of the stack's Prometheus pod, and waits until it scrapes the team's Envoys, evaluates the 5xx ratio
// below the threshold with no alert, and has discovered exactly the Alertmanagers ams.
func (a *alerting) prometheus(t *testing.T, tm *alertTeam, ams map[string]*amtest.Server) {
	t.Helper()
	job := "podMonitor/" + tm.name + "/" + tm.name + "-" + tm.preset + "/0"
	operatortest.WaitForJobs(t, a.client, tm.name, tm.name, job)
	operatortest.WaitForRuleGroups(t, a.client, tm.name, tm.name, manifests.RuleGroupAlerts)
	dir := t.TempDir()
	cfg := operatortest.WriteConfig(t, a.client, operatortest.Cluster{Server: a.c.Server(), CAFile: filepath.Join(a.c.Dir(), "certs", "apiserver.crt")}, tm.name, tm.name, dir)
	shortenFor(t, filepath.Join(dir, "rules"), spikeAlert, alertFor)
	// It listens on the IP of the stack's Prometheus pod, where the API server's service proxy
	// reaches it for the commands run with --via-proxy.
	pod := a.readyPods(t, tm.name, "app.kubernetes.io/name=prometheus,operator.prometheus.io/name="+tm.name, 1)[0]
	tm.prom = promtest.StartConfig(t, cfg, promtest.ConfigOptions{Binary: tools.Path(t, "prometheus3"), Address: net.JoinHostPort(pod.Status.PodIP, "9090")})
	waitTargets(t, tm.prom, job, podIPs(tm.envoys))

	var want []string
	for _, am := range ams {
		want = append(want, "http://"+am.Addr+"/api/v2/alerts")
	}
	sort.Strings(want)
	waitAlertmanagers(t, tm.prom, want)

	ratio := `envoy_cluster:upstream_rq_error_ratio:rate5m{envoy_cluster_name="` + spikeCluster + `"}`
	tm.prom.WaitForSeries(t, ratio, 1, time.Minute)
	if got := tm.prom.Query(t, ratio); len(got) != 1 || got[0].Value >= 0.05 || got[0].Metric["namespace"] != tm.envoyNS {
		t.Fatalf("before the spike, %s = %+v, want one series of namespace %s below 0.05", ratio, got, tm.envoyNS)
	}
	if got := tm.prom.Query(t, "ALERTS"); len(got) != 0 {
		t.Fatalf("alerts before the spike: %+v", got)
	}
	a.step(t, tm.name+": Prometheus scrapes the Envoys, finds its Alertmanagers, 5xx ratio below the threshold")
}

// spike turns the 5xx ratio of the team's spikeCluster up to a half: its Envoys restart failing
// (counters start again from zero, which rate() handles as Envoy restarts).
func (a *alerting) spike(t *testing.T, tm *alertTeam) {
	t.Helper()
	if got := tm.hook.notifications(t); len(got) != 0 {
		t.Fatalf("%s's receiver was notified before the spike: %+v", tm.name, got)
	}
	failing := []string{spikeCluster}
	if tm.silenced != "" {
		failing = append(failing, tm.silenced)
	}
	a.envoys.serve(t, tm.envoys, alertFleet(time.Now(), failing...))
	a.step(t, tm.name+": 5xx ratio of "+strings.Join(failing, " and ")+" turned up")
}

// delivered waits until the team's webhook got the firing alert from each of the Alertmanagers
// ams, and checks its labels and runbook.
func (a *alerting) delivered(t *testing.T, tm *alertTeam, ams map[string]*amtest.Server) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		from := map[string]bool{}
		for _, n := range tm.hook.notifications(t) {
			for _, al := range n.Alerts {
				if al.Labels["team"] != tm.name || al.Labels["namespace"] != tm.name {
					t.Fatalf("%s's webhook got another team's alert from Alertmanager %s, as receiver %s: %v", tm.name, n.ExternalURL, n.Receiver, al.Labels)
				}
				if n.Status == "firing" && al.Labels["alertname"] == spikeAlert && al.Labels["envoy_cluster_name"] == spikeCluster {
					from[n.ExternalURL] = true
					a.checkAlert(t, tm, n.Receiver, al.Labels, al.Annotations)
				}
			}
		}
		if len(from) == len(ams) {
			a.step(t, fmt.Sprintf("%s: %s delivered to the team's webhook by %d Alertmanager(s)", tm.name, spikeAlert, len(from)))
			return
		}
		if time.Now().After(deadline) {
			var logs []string
			for name, am := range ams {
				logs = append(logs, name+":\n"+am.LogTail())
			}
			t.Fatalf("%s: %s from %d Alertmanagers after 3m (%v), want %d\nALERTS: %+v\nPrometheus log:\n%s\n%s",
				tm.name, spikeAlert, len(from), from, len(ams), tm.prom.Query(t, "ALERTS"), tm.prom.LogTail(), strings.Join(logs, "\n"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// checkAlert checks what the team's receiver got for the spiked cluster.
func (a *alerting) checkAlert(t *testing.T, tm *alertTeam, receiver string, labels, annotations map[string]string) {
	t.Helper()
	want := map[string]string{
		"alertname":          spikeAlert,
		"severity":           "critical",
		"team":               tm.name,
		"namespace":          tm.name,
		"envoy_namespace":    tm.envoyNS,
		"envoy_cluster_name": spikeCluster,
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("%s: the alert's label %s = %q, want %q (labels %v)", tm.name, k, labels[k], v, labels)
		}
	}
	if want := manifests.DefaultRunbookURL + "#" + strings.ToLower(spikeAlert); annotations["runbook_url"] != want {
		t.Errorf("%s: runbook_url = %q, want %q", tm.name, annotations["runbook_url"], want)
	}
	if receiver != tm.receiver() {
		t.Errorf("%s: notified as receiver %q, want %q", tm.name, receiver, tm.receiver())
	}
}

// routedOnly checks, in each Alertmanager's own account (/api/v2/alerts), that it holds the
// spiked alert of every team and routes each team's alerts to that team's receiver and no other.
func (a *alerting) routedOnly(t *testing.T, ams map[string]*amtest.Server, teams []*alertTeam) {
	t.Helper()
	for name, am := range ams {
		var alerts []struct {
			Labels    map[string]string `json:"labels"`
			Receivers []struct {
				Name string `json:"name"`
			} `json:"receivers"`
		}
		if err := getJSON(am.URL()+"/api/v2/alerts", &alerts); err != nil {
			t.Fatal(err)
		}
		held := map[string]bool{}
		for _, al := range alerts {
			var got []string
			for _, r := range al.Receivers {
				got = append(got, r.Name)
			}
			i := slices.IndexFunc(teams, func(tm *alertTeam) bool { return tm.name == al.Labels["team"] })
			if i < 0 || al.Labels["namespace"] != teams[i].name {
				t.Errorf("Alertmanager %s holds an alert of no team of its own: %v, routed to %q", name, al.Labels, got)
				continue
			}
			if want := []string{teams[i].receiver()}; !slices.Equal(got, want) {
				t.Errorf("Alertmanager %s routes %s's alert %v to %q, want %q", name, teams[i].name, al.Labels, got, want)
			}
			if al.Labels["alertname"] == spikeAlert {
				held[teams[i].name] = true
			}
		}
		for _, tm := range teams {
			if !held[tm.name] {
				t.Errorf("Alertmanager %s does not hold %s's %s: %+v", name, tm.name, spikeAlert, alerts)
			}
		}
	}
}

// nothingForeign checks that every notification the team's receiver got, after every team's
// alert was delivered, was for the team's own alerts.
func (a *alerting) nothingForeign(t *testing.T, tm *alertTeam) {
	t.Helper()
	got := tm.hook.notifications(t)
	for _, n := range got {
		if n.Receiver != tm.receiver() {
			t.Errorf("%s's webhook was notified as receiver %q", tm.name, n.Receiver)
		}
		for _, al := range n.Alerts {
			if al.Labels["team"] != tm.name || al.Labels["namespace"] != tm.name {
				t.Errorf("%s's webhook got another team's alert: %v", tm.name, al.Labels)
			}
		}
	}
	if len(got) == 0 {
		t.Errorf("%s's webhook got nothing", tm.name)
	}
}

// silence mutes the team's alerts of its silenced cluster with `silence create`, before they
// fire, through the API server's service proxy to the team's Alertmanager, checks that
// `silence list` shows it, and returns its ID.
func (a *alerting) silence(t *testing.T, tm *alertTeam) string {
	t.Helper()
	out, stderr, code := a.promteam(t, "silence", "create", tm.name, "-n", tm.name, "--via-proxy",
		"-m", "envoy_cluster_name="+tm.silenced, "--duration", "1h", "--author", "oncall", "--comment", "upstream migration")
	if code != 0 {
		t.Fatalf("silence create: exit %d: %s", code, stderr)
	}
	id := strings.TrimSpace(out)
	out, stderr, code = a.promteam(t, "silence", "list", tm.name, "-n", tm.name, "--via-proxy", "-o", "json")
	var doc struct {
		Via      string `json:"via"`
		Silences []struct {
			ID        string   `json:"id"`
			State     string   `json:"state"`
			Matchers  []string `json:"matchers"`
			CreatedBy string   `json:"createdBy"`
			Comment   string   `json:"comment"`
		} `json:"silences"`
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil {
		t.Fatalf("silence list: exit %d (%v): %s\n%s", code, err, out, stderr)
	}
	if len(doc.Silences) != 1 || doc.Silences[0].ID != id || doc.Silences[0].State != "active" ||
		!slices.Equal(doc.Silences[0].Matchers, []string{`envoy_cluster_name="` + tm.silenced + `"`}) ||
		doc.Silences[0].CreatedBy != "oncall" || doc.Silences[0].Comment != "upstream migration" {
		t.Fatalf("silence list after creating %s: %s", id, out)
	}
	if want := tm.name + "/" + manifests.AlertmanagerServiceName(tm.name) + " via the API server's service proxy"; doc.Via != want {
		t.Errorf("silence list via %q, want %q", doc.Via, want)
	}
	a.step(t, fmt.Sprintf("%s: silence %s mutes %s", tm.name, id, tm.silenced))
	return id
}

// notDelivered checks that the Alertmanager holds the silenced cluster's alert as suppressed by
// the silence id, and that the team's webhook gets nothing of it until well past the route's
// group_wait after it started firing (the other cluster's alert, which fired with it, was
// delivered after group_wait); then `silence expire` makes it active again.
func (a *alerting) notDelivered(t *testing.T, tm *alertTeam, am *amtest.Server, id string, groupWait time.Duration) {
	t.Helper()
	type held struct {
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"startsAt"`
		Status   struct {
			State      string   `json:"state"`
			SilencedBy []string `json:"silencedBy"`
		} `json:"status"`
	}
	find := func() (held, bool) {
		var alerts []held
		if err := getJSON(am.URL()+"/api/v2/alerts", &alerts); err != nil {
			t.Fatal(err)
		}
		for _, al := range alerts {
			if al.Labels["alertname"] == spikeAlert && al.Labels["envoy_cluster_name"] == tm.silenced {
				return al, true
			}
		}
		return held{}, false
	}
	deadline := time.Now().Add(time.Minute)
	var started time.Time
	for {
		al, ok := find()
		if ok {
			if al.Status.State != "suppressed" || !slices.Equal(al.Status.SilencedBy, []string{id}) {
				t.Fatalf("the Alertmanager holds %s's alert as %+v, want suppressed by %s", tm.silenced, al.Status, id)
			}
			started = al.StartsAt
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Alertmanager does not hold %s's alert after 1m", tm.silenced)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The alert reaches the Alertmanager within an evaluation interval (5s) of starting to fire.
	for time.Since(started) < groupWait+15*time.Second {
		for _, n := range tm.hook.notifications(t) {
			for _, al := range n.Alerts {
				if al.Labels["envoy_cluster_name"] == tm.silenced {
					t.Fatalf("%s's webhook got the silenced alert: %v", tm.name, al.Labels)
				}
			}
		}
		time.Sleep(time.Second)
	}
	a.step(t, fmt.Sprintf("%s: the silenced alert was not delivered in the %s since it fired", tm.name, time.Since(started).Round(time.Second)))

	out, stderr, code := a.promteam(t, "silence", "expire", tm.name, "-n", tm.name, "--via-proxy", id)
	if code != 0 || out != "silence "+id+" expired\n" {
		t.Fatalf("silence expire: exit %d, %q: %s", code, out, stderr)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		al, ok := find()
		if ok && al.Status.State == "active" && len(al.Status.SilencedBy) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after silence expire, the Alertmanager holds %s's alert as %+v (%v)", tm.silenced, al.Status, ok)
		}
		time.Sleep(250 * time.Millisecond)
	}
	a.step(t, tm.name+": silence expired, the alert is active again")
}

// alertsListed checks what `alerts TEAM` shows, reaching the team's Prometheus through the API
// server's service proxy: the spiked alert firing, with its labels, and the receiver the
// configuration the operator generated for the team's Alertmanager routes it to.
func (a *alerting) alertsListed(t *testing.T, tm *alertTeam) {
	t.Helper()
	out, stderr, code := a.promteam(t, "alerts", tm.name, "-n", tm.name, "--via-proxy", "-o", "json")
	var doc struct {
		Via    string `json:"via"`
		Alerts []struct {
			Name      string            `json:"alertname"`
			State     string            `json:"state"`
			Severity  string            `json:"severity"`
			Cluster   string            `json:"envoy_cluster_name"`
			Since     time.Time         `json:"active_since"`
			Value     string            `json:"value"`
			Receivers []string          `json:"receivers"`
			Labels    map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil {
		t.Fatalf("alerts: exit %d (%v): %s\n%s", code, err, out, stderr)
	}
	if stderr != "" {
		t.Errorf("alerts: stderr %q", stderr)
	}
	if !strings.Contains(doc.Via, "service proxy") {
		t.Errorf("alerts via %q, want the service proxy", doc.Via)
	}
	clusters := map[string]bool{}
	for _, al := range doc.Alerts {
		if al.Name != spikeAlert || al.State != "firing" || al.Severity != "critical" || al.Since.IsZero() ||
			al.Labels["team"] != tm.name || al.Labels["envoy_namespace"] != tm.envoyNS {
			t.Errorf("alerts: %+v, want %s firing for team %s, Envoys in %s", al, spikeAlert, tm.name, tm.envoyNS)
		}
		if v, err := strconv.ParseFloat(al.Value, 64); err != nil || v < 0.05 {
			t.Errorf("alerts: %s's value %q, want a 5xx ratio above the threshold", al.Cluster, al.Value)
		}
		if !slices.Equal(al.Receivers, []string{"webhook"}) {
			t.Errorf("alerts: %s's receivers %q, want the team's webhook", al.Cluster, al.Receivers)
		}
		clusters[al.Cluster] = true
	}
	want := map[string]bool{spikeCluster: true}
	if tm.silenced != "" {
		// Prometheus knows nothing of silences: the alert fires there.
		want[tm.silenced] = true
	}
	if !maps.Equal(clusters, want) {
		t.Errorf("alerts: clusters %v, want %v\n%s", clusters, want, out)
	}
	a.step(t, tm.name+": alerts lists the firing alerts with the team's receiver")
}

// routesTested checks `alerts test` on the configuration the operator generated for the team's
// Alertmanager: the labels of the spiked alert reach the team's webhook; another team's do not.
// It returns the group_wait of the webhook's route.
func (a *alerting) routesTested(t *testing.T, tm *alertTeam) time.Duration {
	t.Helper()
	labels := "alertname=" + spikeAlert + ",severity=critical,envoy_cluster_name=" + spikeCluster + ",envoy_namespace=" + tm.envoyNS
	out, stderr, code := a.promteam(t, "alerts", "test", tm.name, "-n", tm.name, "--labels", labels, "-o", "json")
	var doc struct {
		Delivered bool `json:"delivered"`
		Receivers []struct {
			Receiver  string `json:"receiver"`
			GroupWait string `json:"group_wait"`
		} `json:"receivers"`
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || !doc.Delivered ||
		len(doc.Receivers) != 1 || doc.Receivers[0].Receiver != tm.receiver() {
		t.Fatalf("alerts test %s: exit %d (%v)\n%s\n%s", tm.name, code, err, out, stderr)
	}
	groupWait, err := time.ParseDuration(doc.Receivers[0].GroupWait)
	if err != nil || groupWait <= 0 {
		t.Fatalf("alerts test %s: group_wait %q (%v)", tm.name, doc.Receivers[0].GroupWait, err)
	}
	_, stderr, code = a.promteam(t, "alerts", "test", tm.name, "-n", tm.name, "--labels", labels+",team=team-x,namespace=team-x")
	if code != 1 || !strings.Contains(stderr, "reach no receiver") {
		t.Errorf("alerts test %s with another team's labels: exit %d, %s", tm.name, code, stderr)
	}
	a.step(t, tm.name+": alerts test routes the alert to the team's webhook only")
	return groupWait
}

// shortenFor sets the for of alert in every rule file under dir, as the operator wrote them for
// the test's Prometheus, failing when no file has the alert.
func shortenFor(t *testing.T, dir, alert, d string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		groups, _ := doc["groups"].([]any)
		for _, g := range groups {
			gm, _ := g.(map[string]any)
			rules, _ := gm["rules"].([]any)
			for _, r := range rules {
				if rm, ok := r.(map[string]any); ok && rm["alert"] == alert {
					rm["for"], found = d, true
				}
			}
		}
		out, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !found {
		t.Fatalf("no rule file under %s has alert %s", dir, alert)
	}
}

// waitAlertmanagers waits until Prometheus' active Alertmanagers are exactly want (sorted URLs).
func waitAlertmanagers(t *testing.T, prom *promtest.Server, want []string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var got []string
	for {
		var a struct {
			Data struct {
				Active []struct {
					URL string `json:"url"`
				} `json:"activeAlertmanagers"`
			} `json:"data"`
		}
		err := getJSON(prom.URL()+"/api/v1/alertmanagers", &a)
		if err == nil {
			got = got[:0]
			for _, am := range a.Data.Active {
				got = append(got, am.URL)
			}
			sort.Strings(got)
			if slices.Equal(got, want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus' Alertmanagers: %q (%v) after 1m, want %q\n%s", got, err, want, prom.LogTail())
		}
		time.Sleep(250 * time.Millisecond)
	}
}
