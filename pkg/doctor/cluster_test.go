//go:build e2e

package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/amtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor/kubecluster"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// pinnedOperator is the operator release whose CRDs the shared cluster carries.
const pinnedOperator = "v0.94.1"

// defaultStorageClass is the cluster's default StorageClass in the shared cluster.
const defaultStorageClass = "standard"

// reconcileWait keeps the "no status" cases short.
const reconcileWait = time.Second

var setup struct {
	sync.Mutex
	done bool
}

// sharedCluster is the package's cluster with the operator's CRDs and a default StorageClass.
func sharedCluster(t *testing.T) *kubetest.Cluster {
	t.Helper()
	c := kubetest.Shared(t)
	setup.Lock()
	defer setup.Unlock()
	if !setup.done {
		c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
		c.KubectlOK(t, kubetest.Admin, []byte(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: `+defaultStorageClass+`
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
`), "apply", "-f", "-")
		setup.done = true
	}
	return c
}

// env is one test's namespace in a cluster, with clients as the admin.
type env struct {
	t    *testing.T
	c    *kubetest.Cluster
	ns   string
	kube kubernetes.Interface
	dyn  dynamic.Interface
}

func newEnv(t *testing.T, c *kubetest.Cluster) *env {
	t.Helper()
	cfg := c.RESTConfig(kubetest.Admin)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, c: c, ns: c.Namespace(t), kube: kube, dyn: dyn}
}

// restricted labels the namespace to enforce Pod Security "restricted".
func (e *env) restricted() *env {
	e.kubectl("label", "namespace", e.ns, "pod-security.kubernetes.io/enforce=restricted")
	return e
}

func (e *env) kubectl(args ...string) string {
	e.t.Helper()
	return e.c.KubectlOK(e.t, kubetest.Admin, nil, args...)
}

func (e *env) applyYAML(doc string) {
	e.t.Helper()
	e.c.KubectlOK(e.t, kubetest.Admin, []byte(doc), "apply", "-n", e.ns, "-f", "-")
}

// spec is the default stack of team in the env's namespace.
func (e *env) spec(team string) manifests.TeamSpec {
	return manifests.DefaultTeamSpec(team, e.ns)
}

// apply applies the stack s builds, as kubectl promteam create --apply would.
func (e *env) apply(s manifests.TeamSpec) {
	e.t.Helper()
	st, err := manifests.Build(s)
	if err != nil {
		e.t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := st.WriteJSON(&buf); err != nil {
		e.t.Fatal(err)
	}
	e.c.KubectlOK(e.t, kubetest.Admin, buf.Bytes(), "apply", "--server-side", "--field-manager=kubectl-promteam", "-f", "-")
}

// mergePatch patches an object of the env's namespace with a JSON merge patch.
func (e *env) mergePatch(resource, name, patch string) {
	e.t.Helper()
	e.kubectl("patch", resource, name, "-n", e.ns, "--type", "merge", "-p", patch)
}

var prometheusGVR = monitoringv1.SchemeGroupVersion.WithResource(monitoringv1.PrometheusName)

// condition is one status condition to write.
type condition struct {
	typ, status, reason, message string
}

// setStatus writes status conditions through the status subresource, as the operator does.
func (e *env) setStatus(name string, conds ...condition) {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.dyn.Resource(prometheusGVR).Namespace(e.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var list []any
	for _, c := range conds {
		m := map[string]any{
			"type": c.typ, "status": c.status, "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			"observedGeneration": u.GetGeneration(),
		}
		if c.reason != "" {
			m["reason"] = c.reason
		}
		if c.message != "" {
			m["message"] = c.message
		}
		list = append(list, m)
	}
	if err := unstructured.SetNestedSlice(u.Object, list, "status", "conditions"); err != nil {
		e.t.Fatal(err)
	}
	if err := unstructured.SetNestedField(u.Object, int64(2), "status", "replicas"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.dyn.Resource(prometheusGVR).Namespace(e.ns).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// reconciled writes the status of a healthy Prometheus.
func (e *env) reconciled(name string) {
	e.t.Helper()
	e.setStatus(name, condition{typ: "Reconciled", status: "True"}, condition{typ: "Available", status: "True"})
}

// pod creates a pod that meets Pod Security "restricted" and declares ports. Nothing runs it.
func (e *env) pod(name string, labels map[string]string, ports ...corev1.ContainerPort) {
	e.t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: labels},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name: "envoy", Image: "envoyproxy/envoy:v1.34.1", Ports: ports,
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	if _, err := e.kube.CoreV1().Pods(e.ns).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// envoyPod is an Envoy pod the default preset finds: app=envoy with the admin port named.
func (e *env) envoyPod(name string) {
	e.t.Helper()
	e.pod(name, map[string]string{"app": "envoy"}, corev1.ContainerPort{Name: "admin", ContainerPort: 9901})
}

// healthy applies team's default stack with an Envoy pod and a reconciled status.
func (e *env) healthy(team string) {
	e.t.Helper()
	e.apply(e.alerting(team))
	e.kubectl("create", "secret", "generic", team+"-hook", "-n", e.ns, "--from-literal=url=http://hooks.example.com/"+team)
	e.envoyPod("envoy-0")
	e.reconciled(team)
}

// alerting is team's default stack with an Alertmanager of its own that notifies a webhook whose
// URL is in Secret <team>-hook, key url.
func (e *env) alerting(team string) manifests.TeamSpec {
	s := e.spec(team)
	s.Alerting.Delivery = manifests.DeliverOwn
	s.Alerting.Receivers = []manifests.Receiver{{Kind: manifests.ReceiverWebhook, Secret: manifests.SecretRef{Name: team + "-hook", Key: "url"},
		Severities: []string{manifests.SeverityCritical, manifests.SeverityWarning}}}
	return s
}

// run runs the doctor as user with p as the live source.
func (e *env) run(user, team string, p doctor.Prometheus) doctor.Report {
	e.t.Helper()
	return runDoctor(e.t, e.c.RESTConfig(user), p, team, e.ns)
}

func runDoctor(t *testing.T, cfg *rest.Config, p doctor.Prometheus, team, ns string) doctor.Report {
	t.Helper()
	cl, err := kubecluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := doctor.Run(ctx, cl, p, team, ns, doctor.Options{ReconcileWait: reconcileWait})
	if len(r.Results) != len(doctor.CheckIDs) {
		t.Fatalf("%d results, want one per check (%d)", len(r.Results), len(doctor.CheckIDs))
	}
	if testing.Verbose() {
		t.Logf("kubectl promteam doctor %s -n %s:\n%s", team, ns, text(t, r))
	}
	for i, res := range r.Results {
		if res.ID != doctor.CheckIDs[i] {
			t.Fatalf("result %d is %s, want %s", i, res.ID, doctor.CheckIDs[i])
		}
	}
	return r
}

// expect checks one result's status and that its reason and fix contain the given texts: each
// text is looked for in the fix when the status is failed, in the reason otherwise.
func expect(t *testing.T, r doctor.Report, id string, status doctor.Status, texts ...string) doctor.Result {
	t.Helper()
	res, ok := r.Result(id)
	if !ok {
		t.Fatalf("no result for %s", id)
	}
	if res.Status != status {
		t.Errorf("%s: %s (reason %q, fix %q), want %s", id, res.Status, res.Reason, res.Fix, status)
		return res
	}
	where, in := "reason", res.Reason
	if status == doctor.StatusFailed {
		where, in = "fix", res.Fix
	}
	for _, text := range texts {
		if !strings.Contains(in, text) {
			t.Errorf("%s: %s %q lacks %q", id, where, in, text)
		}
	}
	return res
}

// expectReason checks that a result's reason contains the given texts.
func expectReason(t *testing.T, r doctor.Report, id string, texts ...string) {
	t.Helper()
	res, _ := r.Result(id)
	for _, text := range texts {
		if !strings.Contains(res.Reason, text) {
			t.Errorf("%s: reason %q lacks %q", id, res.Reason, text)
		}
	}
}

// expectOnly checks that the cluster checks in failing failed and every other cluster check
// passed; the live checks are left to the caller.
func expectOnly(t *testing.T, r doctor.Report, failing ...string) {
	t.Helper()
	for _, res := range r.Results {
		want := doctor.StatusPassed
		for _, f := range failing {
			if f == res.ID {
				want = doctor.StatusFailed
			}
		}
		if res.ID == doctor.CheckTargets || res.ID == doctor.CheckEnvoySeries || res.ID == doctor.CheckCapacity || res.ID == doctor.CheckDiscovered || res.ID == doctor.CheckNotify {
			continue
		}
		// A stack may send its alerts nowhere; the alerting checks then skip and say so.
		optional := res.ID == doctor.CheckDelivery || res.ID == doctor.CheckRouting || res.ID == doctor.CheckSecrets
		if optional && want == doctor.StatusPassed && res.Status == doctor.StatusSkipped {
			continue
		}
		if res.Status != want {
			t.Errorf("%s: %s (reason %q, fix %q), want %s", res.ID, res.Status, res.Reason, res.Fix, want)
		}
	}
}

func text(t *testing.T, r doctor.Report) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// envoyTarget serves one simulated Envoy pod; its /stats/prometheus is up and every other path
// answers 404.
func envoyTarget(t *testing.T) *httptest.Server {
	t.Helper()
	fleet := envoysim.DemoFleet(time.Now().Add(-time.Hour))
	srv := httptest.NewServer(fleet.Handler(fleet.Pods[0], envoysim.Stock, nil))
	t.Cleanup(srv.Close)
	return srv
}

func TestHealthyStackPassesEveryCheck(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	e := newEnv(t, c).restricted()
	e.healthy("web")

	envoy := envoyTarget(t)
	am := amtest.Start(t, amtest.NullConfig)
	srv := promtest.Start(t, []promtest.Target{
		{URL: envoy.URL + "/stats/prometheus", Labels: map[string]string{"namespace": e.ns, "pod": "envoy-0"}},
		// What the Alertmanager's ServiceMonitor has the Prometheus scrape.
		{URL: am.URL() + "/metrics", Labels: map[string]string{"namespace": e.ns, "service": "alertmanager-web"}},
	}, promtest.Options{ScrapeInterval: time.Second, Alertmanagers: []string{am.Addr}})
	srv.WaitForSeries(t, "envoy_cluster_upstream_rq_total", 1, time.Minute)
	srv.WaitForSeries(t, "alertmanager_notifications_total", 1, time.Minute)
	p, err := prom.New(prom.Config{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	waitAlertmanagers(t, p)

	r := e.run(kubetest.Admin, "web", p)
	for _, res := range r.Results {
		if res.Status != doctor.StatusPassed {
			t.Errorf("%s: %s (reason %q, fix %q)", res.ID, res.Status, res.Reason, res.Fix)
		}
		if res.Fix != "" {
			t.Errorf("%s passed with a fix %q", res.ID, res.Fix)
		}
	}
	if r.Failed() {
		t.Error("Failed() is true")
	}
	expect(t, r, doctor.CheckCRDs, doctor.StatusPassed, "operator v0.94.1")
	expect(t, r, doctor.CheckAPI, doctor.StatusPassed, "authenticated as admin")
	expect(t, r, doctor.CheckSelection, doctor.StatusPassed, "selects 1 PodMonitors, 1 ServiceMonitors and 1 PrometheusRules")
	expect(t, r, doctor.CheckStorage, doctor.StatusPassed, "default storage class "+defaultStorageClass, "retention 15d", "retentionSize 16GiB")
	expect(t, r, doctor.CheckPodSecurity, doctor.StatusPassed, "enforces restricted")
	expect(t, r, doctor.CheckTargets, doctor.StatusPassed, "2 targets up")
	expect(t, r, doctor.CheckNotify, doctor.StatusPassed, "no notification failed in the last hour")
	expect(t, r, doctor.CheckDelivery, doctor.StatusPassed, "Alertmanager "+e.ns+"/web (matcher strategy OnNamespace)", "AlertmanagerConfig "+e.ns+"/web")
	expect(t, r, doctor.CheckDiscovered, doctor.StatusPassed, am.Addr)

	out := text(t, r)
	if n := strings.Count(out, "✓ "); n != len(doctor.CheckIDs) {
		t.Errorf("text output has %d ✓ lines, want %d:\n%s", n, len(doctor.CheckIDs), out)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Team      string `json:"team"`
		Namespace string `json:"namespace"`
		Results   []map[string]any
	}
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Team != "web" || back.Namespace != e.ns || len(back.Results) != len(doctor.CheckIDs) || back.Results[0]["status"] != "passed" {
		t.Errorf("JSON %s", raw)
	}
}

func TestAPIUnreachableOrRejectedSkipsEverythingElse(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)

	badToken := c.RESTConfig(kubetest.Admin)
	badToken.BearerToken = "not-a-token"

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String()
	_ = l.Close()
	unreachable := c.RESTConfig(kubetest.Admin)
	unreachable.Host = closed
	unreachable.Timeout = 5 * time.Second

	for _, tc := range []struct {
		name   string
		cfg    *rest.Config
		reason string
		fix    string
	}{
		{"bad token", badToken, "rejected the credentials", "kubectl auth whoami"},
		{"closed port", unreachable, "cannot reach the API server", "check the kubeconfig context, the server address and the credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runDoctor(t, tc.cfg, nil, "web", "default")
			api := expect(t, r, doctor.CheckAPI, doctor.StatusFailed, tc.fix)
			expectReason(t, r, doctor.CheckAPI, tc.reason)
			for _, res := range r.Results[1:] {
				if res.Status != doctor.StatusSkipped || res.Reason != api.Reason {
					t.Errorf("%s: %s %q, want skipped with the api reason", res.ID, res.Status, res.Reason)
				}
			}
			if !strings.Contains(text(t, r), "- "+r.Results[1].Title+": skipped, ") {
				t.Errorf("text output lacks the skipped line:\n%s", text(t, r))
			}
		})
	}
}

// TestCRDs runs on a cluster of its own: it starts without the operator's CRDs, then installs
// the oldest supported ones, ages them and deletes one.
func TestCRDs(t *testing.T) {
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	cfg := c.RESTConfig(kubetest.Admin)

	r := runDoctor(t, cfg, nil, "web", ns)
	expect(t, r, doctor.CheckCRDs, doctor.StatusFailed, "Prometheus Operator CRDs are not installed; ask cluster admins to install the operator.")
	expectReason(t, r, doctor.CheckCRDs, "prometheuses.monitoring.coreos.com")
	crds, _ := r.Result(doctor.CheckCRDs)
	for _, id := range []string{doctor.CheckStack, doctor.CheckReconciled, doctor.CheckRules} {
		if res, _ := r.Result(id); res.Status != doctor.StatusSkipped || res.Reason != crds.Reason {
			t.Errorf("%s: %s %q, want skipped with the crds reason", id, res.Status, res.Reason)
		}
	}

	c.InstallCRDs(t, crdschema.RepoCRDDir("v0.81.0"))
	r = runDoctor(t, cfg, nil, "web", ns)
	expect(t, r, doctor.CheckCRDs, doctor.StatusPassed, "operator v0.81.0")
	expect(t, r, doctor.CheckStack, doctor.StatusFailed, "kubectl promteam create web -n "+ns+" --apply")

	// A user who may not read CRDs still learns that they are served, through discovery.
	r = runDoctor(t, c.RESTConfig(kubetest.Dev), nil, "web", ns)
	expect(t, r, doctor.CheckCRDs, doctor.StatusPassed, "operator version unknown")

	c.KubectlOK(t, kubetest.Admin, nil, "annotate", "--overwrite", "crd", "prometheuses.monitoring.coreos.com", "operator.prometheus.io/version=0.79.0")
	r = runDoctor(t, cfg, nil, "web", ns)
	expect(t, r, doctor.CheckCRDs, doctor.StatusFailed, "upgrade the Prometheus Operator and its CRDs to v0.81.0 or later")

	c.KubectlOK(t, kubetest.Admin, nil, "delete", "crd", "podmonitors.monitoring.coreos.com")
	r = runDoctor(t, cfg, nil, "web", ns)
	expect(t, r, doctor.CheckCRDs, doctor.StatusFailed, "Prometheus Operator CRDs are not installed; ask cluster admins to install the operator.")
	expectReason(t, r, doctor.CheckCRDs, "podmonitors.monitoring.coreos.com")
}

func TestStackMissing(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	elsewhere := newEnv(t, c)
	elsewhere.apply(elsewhere.spec("ghost"))
	e := newEnv(t, c)

	r := e.run(kubetest.Admin, "ghost", nil)
	expect(t, r, doctor.CheckStack, doctor.StatusFailed, "create it with kubectl promteam create ghost -n "+e.ns+" --apply", "kubectl promteam doctor ghost -n "+elsewhere.ns)
	expectReason(t, r, doctor.CheckStack, "no promteam stack named ghost in namespace "+e.ns, "exists in namespace "+elsewhere.ns)
	stack, _ := r.Result(doctor.CheckStack)
	for _, res := range r.Results[3:] {
		if res.Status != doctor.StatusSkipped {
			t.Errorf("%s: %s, want skipped", res.ID, res.Status)
		}
		if res.ID != doctor.CheckTargets && res.ID != doctor.CheckEnvoySeries && res.ID != doctor.CheckCapacity && res.ID != doctor.CheckDiscovered && res.ID != doctor.CheckNotify && res.Reason != stack.Reason {
			t.Errorf("%s: reason %q, want the stack's", res.ID, res.Reason)
		}
	}
	if !r.Failed() {
		t.Error("Failed() is false")
	}
	out := text(t, r)
	if !strings.Contains(out, "✗ "+stack.Title+": no promteam stack") || !strings.Contains(out, "\n    fix: create it with kubectl promteam create ghost") {
		t.Errorf("text output:\n%s", out)
	}
}

func TestReconciled(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	e := newEnv(t, c)
	e.apply(e.spec("web"))
	e.envoyPod("envoy-0")

	t.Run("no status", func(t *testing.T) {
		start := time.Now()
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckReconciled, doctor.StatusFailed,
			"The operator does not watch namespace "+e.ns+" (or needs label/annotation operator.prometheus.io/controller-id)",
			"--namespaces", "--deny-namespaces", "--prometheus-instance-namespaces", "--prometheus-instance-selector")
		if d := time.Since(start); d < reconcileWait {
			t.Errorf("the doctor returned after %s, before the reconcile wait of %s", d, reconcileWait)
		}
		expectOnly(t, r, doctor.CheckReconciled)
	})
	t.Run("controller id", func(t *testing.T) {
		e.kubectl("annotate", "prometheus", "web", "-n", e.ns, "operator.prometheus.io/controller-id=blue")
		defer e.kubectl("annotate", "prometheus", "web", "-n", e.ns, "operator.prometheus.io/controller-id-")
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckReconciled, doctor.StatusFailed, "only an operator started with --controller-id=blue reconciles it")
	})
	t.Run("reconcile failed", func(t *testing.T) {
		e.setStatus("web",
			condition{typ: "Reconciled", status: "False", reason: "ReconciliationFailed", message: `failed to sync StatefulSet: serviceaccount "prometheus-web" not found`},
			condition{typ: "Available", status: "False", reason: "NoPodReady"})
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckReconciled, doctor.StatusFailed, "kubectl describe prometheus web -n "+e.ns)
		expectReason(t, r, doctor.CheckReconciled, "Reconciled=False: ReconciliationFailed: failed to sync StatefulSet")
	})
	t.Run("not available", func(t *testing.T) {
		e.setStatus("web",
			condition{typ: "Reconciled", status: "True"},
			condition{typ: "Available", status: "Degraded", reason: "SomePodsNotReady", message: "shard 0: pod prometheus-web-1: 0/2 nodes are available"})
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckReconciled, doctor.StatusFailed, "kubectl get pods -n "+e.ns+" -l app.kubernetes.io/instance=web")
		expectReason(t, r, doctor.CheckReconciled, "Available=Degraded: SomePodsNotReady: shard 0")
	})
	t.Run("reconciled", func(t *testing.T) {
		e.reconciled("web")
		r := e.run(kubetest.Admin, "web", nil)
		expectOnly(t, r)
	})
	t.Run("stale status", func(t *testing.T) {
		// A spec change the operator has not seen yet: the status is for the previous generation.
		e.mergePatch("prometheus", "web", `{"spec":{"evaluationInterval":"1m"}}`)
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckReconciled, doctor.StatusFailed, "check that the operator runs")
		expectReason(t, r, doctor.CheckReconciled, "the operator has not caught up")
	})
}

func TestNullSelectors(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	e := newEnv(t, c)
	e.healthy("web")
	e.mergePatch("prometheus", "web", `{"spec":{"serviceMonitorSelector":null,"podMonitorSelector":null,"probeSelector":null,"scrapeConfigSelector":null,"ruleSelector":null}}`)
	e.reconciled("web")

	r := e.run(kubetest.Admin, "web", nil)
	expect(t, r, doctor.CheckSelectors, doctor.StatusFailed,
		"null selects nothing, {} selects all: set serviceMonitorSelector, podMonitorSelector, probeSelector, scrapeConfigSelector, ruleSelector: {} or matchLabels promteam.io/team=web",
		`kubectl patch prometheus web -n `+e.ns+` --type merge -p '{"spec":{"podMonitorSelector":{"matchLabels":{"promteam.io/team":"web"}}`)
	expectReason(t, r, doctor.CheckSelectors, "unmanaged config")
	expect(t, r, doctor.CheckRules, doctor.StatusFailed, "Set ruleSelector: {}")
	expect(t, r, doctor.CheckSelection, doctor.StatusFailed, "null selects nothing, {} selects all: set podMonitorSelector: {} or matchLabels promteam.io/team=web")
	expectReason(t, r, doctor.CheckSelection, "PodMonitor "+e.ns+"/web-envoy is not selected: podMonitorSelector of Prometheus web is null")
	expect(t, r, doctor.CheckPorts, doctor.StatusSkipped, "selects none of the team's monitors (see the selection check)")
	for _, res := range r.Results {
		if res.ID == doctor.CheckPorts || res.ID == doctor.CheckTargets || res.ID == doctor.CheckEnvoySeries || res.ID == doctor.CheckCapacity || res.ID == doctor.CheckDiscovered || res.ID == doctor.CheckNotify {
			continue
		}
		if failing := res.ID == doctor.CheckSelectors || res.ID == doctor.CheckSelection || res.ID == doctor.CheckRules; failing != (res.Status == doctor.StatusFailed) {
			t.Errorf("%s: %s (%q)", res.ID, res.Status, res.Reason)
		}
	}

	// Without any monitor the Prometheus scrapes nothing.
	e.kubectl("delete", "podmonitor", "web-envoy", "-n", e.ns)
	r = e.run(kubetest.Admin, "web", nil)
	expect(t, r, doctor.CheckPorts, doctor.StatusFailed, "re-create the stack's monitors with kubectl promteam create web -n "+e.ns+" --apply")
}

func TestMonitorsTheSelectorsMiss(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	e := newEnv(t, c)
	// The team's Envoy runs in another namespace, where team objects are looked for too.
	away := newEnv(t, c)
	s := e.spec("web")
	s.EnvoyNamespace = away.ns
	e.apply(s)
	away.envoyPod("envoy-0")
	e.envoyPod("envoy-0")
	e.reconciled("web")
	monitor := func(name, labels string) string {
		return `apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: ` + name + `
  labels: ` + labels + `
spec:
  selector: {matchLabels: {app: envoy}}
  podMetricsEndpoints: [{port: admin, path: /stats/prometheus}]
`
	}
	// A monitor without the team label, and one of another team, which is none of web's business.
	e.applyYAML(monitor("stray", "{}"))
	e.applyYAML(monitor("theirs", "{promteam.io/team: other}"))
	// A team rule in the Envoy namespace, which the Prometheus does not read.
	away.applyYAML(`apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: lost, labels: {promteam.io/team: web}}
spec: {groups: [{name: g, rules: [{record: "x:y", expr: "vector(1)"}]}]}
`)

	r := e.run(kubetest.Admin, "web", nil)
	res := expect(t, r, doctor.CheckSelection, doctor.StatusFailed,
		"Prometheus web selects {promteam.io/team=web}; label the monitor or widen the selector: kubectl label podmonitors stray -n "+e.ns+" promteam.io/team=web --overwrite",
		"move PrometheusRule lost to namespace "+e.ns)
	expectReason(t, r, doctor.CheckSelection, "PodMonitor "+e.ns+"/stray is not selected", "PrometheusRule "+away.ns+"/lost is not selected: Prometheus web reads PrometheusRules from namespace "+e.ns+" only")
	if strings.Contains(res.Reason, "theirs") {
		t.Errorf("another team's monitor is reported: %q", res.Reason)
	}
	expectOnly(t, r, doctor.CheckSelection, doctor.CheckRules)

	// Labelling the monitor as the fix says selects it.
	e.kubectl("label", "podmonitors", "stray", "-n", e.ns, "promteam.io/team=web", "--overwrite")
	e.kubectl("delete", "prometheusrule", "lost", "-n", away.ns)
	r = e.run(kubetest.Admin, "web", nil)
	expect(t, r, doctor.CheckSelection, doctor.StatusPassed, "selects 2 PodMonitors")
	expectOnly(t, r)
}

func TestSharedGoverningService(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	e := newEnv(t, c)
	e.healthy("team-a")
	e.apply(e.spec("team-b"))
	e.reconciled("team-b")

	r := e.run(kubetest.Admin, "team-a", nil)
	expectOnly(t, r)

	e.mergePatch("prometheus", "team-a", `{"spec":{"serviceName":null}}`)
	e.reconciled("team-a")
	r = e.run(kubetest.Admin, "team-a", nil)
	expect(t, r, doctor.CheckService, doctor.StatusFailed,
		"Set spec.serviceName and create that headless Service (operator ≥ v0.81)", "kubectl promteam create team-a -n "+e.ns+" --apply")
	expectReason(t, r, doctor.CheckService, "spec.serviceName is unset", "also holds Prometheus team-b", "prometheus-operated")
	expectOnly(t, r, doctor.CheckService)

	// team-b's Service selects every Prometheus pod of the namespace.
	e.kubectl("patch", "service", "prometheus-team-b", "-n", e.ns, "--type", "json",
		"-p", `[{"op":"replace","path":"/spec/selector","value":{"app.kubernetes.io/name":"prometheus"}}]`)
	r = e.run(kubetest.Admin, "team-b", nil)
	expect(t, r, doctor.CheckService, doctor.StatusFailed,
		`kubectl patch service prometheus-team-b -n `+e.ns+` --type json -p '[{"op":"replace","path":"/spec/selector","value":{"app.kubernetes.io/instance":"team-b","app.kubernetes.io/name":"prometheus"}}]'`)
	expectReason(t, r, doctor.CheckService, "also selects the pods of Prometheus team-a")

	e.kubectl("delete", "service", "prometheus-team-b", "-n", e.ns)
	r = e.run(kubetest.Admin, "team-b", nil)
	expect(t, r, doctor.CheckService, doctor.StatusFailed, "create the headless Service prometheus-team-b")
	expectReason(t, r, doctor.CheckService, "Service prometheus-team-b named by spec.serviceName does not exist")
}

func TestPorts(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)

	t.Run("no Envoy pods", func(t *testing.T) {
		e := newEnv(t, c)
		e.apply(e.spec("web"))
		e.reconciled("web")
		e.pod("not-envoy", map[string]string{"app": "shop"}, corev1.ContainerPort{Name: "admin", ContainerPort: 9901})
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckPorts, doctor.StatusFailed, "no Envoy pods match app=envoy in namespace "+e.ns+": check the preset or --envoy-selector")
		expectOnly(t, r, doctor.CheckPorts)
	})
	t.Run("port name not declared", func(t *testing.T) {
		e := newEnv(t, c)
		e.apply(e.spec("web"))
		e.reconciled("web")
		e.pod("envoy-0", map[string]string{"app": "envoy"}, corev1.ContainerPort{Name: "http", ContainerPort: 8080}, corev1.ContainerPort{ContainerPort: 9901})
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckPorts, doctor.StatusFailed, "`port` must name a declared container port (PodMonitor)", `declare port "admin"`)
		expectReason(t, r, doctor.CheckPorts, `PodMonitor `+e.ns+`/web-envoy endpoint 0: port "admin" is declared by none of the 1 pods matching app=envoy`, `"http"(8080)`)
		expectOnly(t, r, doctor.CheckPorts)
	})
	t.Run("service port not named", func(t *testing.T) {
		e := newEnv(t, c)
		s := e.spec("edge")
		s.Presets = []manifests.Preset{manifests.PresetEmissary}
		e.apply(s)
		e.reconciled("edge")
		e.pod("ambassador-0", map[string]string{"service": "ambassador"}, corev1.ContainerPort{Name: "admin", ContainerPort: 8877})
		e.applyYAML(`apiVersion: v1
kind: Service
metadata: {name: ambassador-admin, labels: {service: ambassador-admin}}
spec:
  selector: {service: ambassador}
  ports: [{name: admin, port: 8877}]
`)
		r := e.run(kubetest.Admin, "edge", nil)
		expect(t, r, doctor.CheckPorts, doctor.StatusFailed, "`port` must name a Service port (ServiceMonitor)")
		expectReason(t, r, doctor.CheckPorts, `port "ambassador-admin" is on none of the Services`)
		expectOnly(t, r, doctor.CheckPorts)

		e.kubectl("patch", "service", "ambassador-admin", "-n", e.ns, "--type", "json", "-p", `[{"op":"replace","path":"/spec/ports/0/name","value":"ambassador-admin"}]`)
		expectOnly(t, e.run(kubetest.Admin, "edge", nil))
	})
}

func TestDiscoveryRBAC(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)

	t.Run("Role missing in the Envoy namespace", func(t *testing.T) {
		e := newEnv(t, c)
		gateways := newEnv(t, c)
		s := e.spec("web")
		s.EnvoyNamespace = gateways.ns
		e.apply(s)
		e.reconciled("web")
		gateways.envoyPod("envoy-0")
		expectOnly(t, e.run(kubetest.Admin, "web", nil))

		gateways.kubectl("delete", "role", manifests.ForeignName(e.ns, "web"), "-n", gateways.ns)
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckRBAC, doctor.StatusFailed,
			"cannot get/list/watch pods, get/list/watch services, get/list/watch endpointslices in namespace "+gateways.ns+
				": keep monitors in the team namespace with ignoreNamespaceSelectors: true, or get a Role in "+gateways.ns+
				" (kubectl promteam create web -n "+e.ns+" --envoy-namespace "+gateways.ns+")")
		expectReason(t, r, doctor.CheckRBAC, "ServiceAccount "+e.ns+"/prometheus-web cannot")
		expectOnly(t, r, doctor.CheckRBAC)
	})
	t.Run("RoleBinding missing in the team namespace", func(t *testing.T) {
		e := newEnv(t, c)
		e.healthy("web")
		e.kubectl("delete", "rolebinding", "prometheus-web", "-n", e.ns)
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckRBAC, doctor.StatusFailed,
			"cannot get/list/watch pods, get/list/watch services, get/list/watch endpointslices in namespace "+e.ns,
			"kubectl promteam create web -n "+e.ns+" --apply")
		expectOnly(t, r, doctor.CheckRBAC)
	})
	t.Run("caller may not review", func(t *testing.T) {
		e := newEnv(t, c)
		e.healthy("web")
		e.applyYAML(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: team-reader}
rules:
- apiGroups: [monitoring.coreos.com]
  resources: ["*"]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [pods, services, events]
  verbs: [get, list, watch]
`)
		e.kubectl("create", "rolebinding", "dev-reader", "-n", e.ns, "--role=team-reader", "--user="+kubetest.Dev)
		r := e.run(kubetest.Dev, "web", nil)
		expect(t, r, doctor.CheckRBAC, doctor.StatusSkipped, "you may not create subjectaccessreviews.authorization.k8s.io", "prometheus-web")
		expect(t, r, doctor.CheckAPI, doctor.StatusPassed, "authenticated as dev")
		expect(t, r, doctor.CheckCRDs, doctor.StatusPassed, "operator version unknown")
		if r.Failed() {
			t.Errorf("a reader of a healthy stack sees failures:\n%s", text(t, r))
		}
	})
}

func TestStorage(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	for _, tc := range []struct {
		name   string
		spec   func(*manifests.TeamSpec)
		patch  string
		reason string
		fix    string
	}{
		{
			name:   "class does not exist",
			spec:   func(s *manifests.TeamSpec) { s.StorageClass = "does-not-exist" },
			reason: "storage class does-not-exist does not exist (the cluster has: ",
			fix:    "set --storage-class to an existing class: ",
		},
		{
			name:   "no volume",
			spec:   func(s *manifests.TeamSpec) { s.Storage = resource.Quantity{} },
			reason: "emptyDir volume: data is lost on restart",
			fix:    "data is lost on restart: set --storage",
		},
		{
			name:   "no retention",
			patch:  `{"spec":{"retention":null,"retentionSize":null}}`,
			reason: "retention is unset: the operator keeps 24h of data",
			fix:    "the operator keeps 24h: set --retention",
		},
		{
			name:   "retention size beyond the volume",
			patch:  `{"spec":{"retentionSize":"30GiB"}}`,
			reason: "retentionSize 30GiB is larger than the 20Gi volume",
			fix:    "set --retention-size to at most 16GiB",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, c)
			s := e.spec("web")
			if tc.spec != nil {
				tc.spec(&s)
			}
			e.apply(s)
			if tc.patch != "" {
				e.mergePatch("prometheus", "web", tc.patch)
			}
			e.envoyPod("envoy-0")
			e.reconciled("web")
			r := e.run(kubetest.Admin, "web", nil)
			expect(t, r, doctor.CheckStorage, doctor.StatusFailed, tc.fix)
			expectReason(t, r, doctor.CheckStorage, tc.reason)
			expectOnly(t, r, doctor.CheckStorage)
		})
	}
}

func TestPodSecurity(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	for _, restricted := range []bool{true, false} {
		t.Run(fmt.Sprintf("restricted=%v", restricted), func(t *testing.T) {
			e := newEnv(t, c)
			if restricted {
				e.restricted()
			}
			e.healthy("web")
			e.mergePatch("prometheus", "web", `{"spec":{"securityContext":null}}`)
			e.reconciled("web")
			r := e.run(kubetest.Admin, "web", nil)
			if !restricted {
				expect(t, r, doctor.CheckPodSecurity, doctor.StatusPassed, "enforces no Pod Security level")
				return
			}
			expect(t, r, doctor.CheckPodSecurity, doctor.StatusFailed,
				"Add runAsNonRoot + seccompProfile RuntimeDefault: kubectl patch prometheus web -n "+e.ns+` --type merge -p '{"spec":{"securityContext":`)
			expectReason(t, r, doctor.CheckPodSecurity, `enforces Pod Security "restricted"`, "runAsNonRoot: true, seccompProfile: RuntimeDefault")
			expectOnly(t, r, doctor.CheckPodSecurity)
		})
	}
}

func TestRejectedRule(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	e := newEnv(t, c)
	e.healthy("web")
	rule, err := e.dyn.Resource(monitoringv1.SchemeGroupVersion.WithResource(monitoringv1.PrometheusRuleName)).Namespace(e.ns).
		Get(context.Background(), "web-envoy-red", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The operator rejects an invalid rule with a Warning event on the PrometheusRule.
	msg := `PrometheusRule web-envoy-red was rejected due to invalid configuration: group "promteam-envoy-red.rules", rule 1: could not parse expression: 1:5: parse error: unexpected right parenthesis ')'`
	now := metav1.NewTime(time.Now())
	_, err = e.kube.CoreV1().Events(e.ns).Create(context.Background(), &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "web-envoy-red.rejected", Namespace: e.ns},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PrometheusRuleKind,
			Namespace: e.ns, Name: "web-envoy-red", UID: rule.GetUID(),
		},
		Type: corev1.EventTypeWarning, Reason: "InvalidConfiguration", Message: msg,
		Source:         corev1.EventSource{Component: "prometheus-operator"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := e.run(kubetest.Admin, "web", nil)
	expect(t, r, doctor.CheckRules, doctor.StatusFailed, "fix PrometheusRule web-envoy-red and re-apply it; the operator reports: "+msg)
	expectReason(t, r, doctor.CheckRules, "PrometheusRule "+e.ns+"/web-envoy-red: Warning InvalidConfiguration: "+msg)
	expectOnly(t, r, doctor.CheckRules)
}

func TestLiveChecks(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	e := newEnv(t, c)
	e.healthy("web")

	// One target answers 404 on the scraped path; the other exposes only Istio's standard metric.
	envoy := envoyTarget(t)
	istio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("# TYPE istio_requests_total counter\nistio_requests_total{response_code=\"200\",destination_service=\"shop\"} 42\n"))
	}))
	t.Cleanup(istio.Close)
	srv := promtest.Start(t, []promtest.Target{
		{URL: envoy.URL + "/metrics", Labels: map[string]string{"namespace": e.ns, "pod": "envoy-0"}},
		{URL: istio.URL + "/stats/prometheus", Labels: map[string]string{"namespace": e.ns, "pod": "shop-0"}},
		// A whole Envoy, but the scrape allows ten samples.
		{URL: envoy.URL + "/stats/prometheus", Labels: map[string]string{"namespace": e.ns, "pod": "envoy-1"}, SampleLimit: 10},
	}, promtest.Options{ScrapeInterval: time.Second})
	srv.WaitForSeries(t, "up", 3, time.Minute)
	srv.WaitForSeries(t, "istio_requests_total", 1, time.Minute)
	p, err := prom.New(prom.Config{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}

	r := e.run(kubetest.Admin, "web", p)
	expect(t, r, doctor.CheckTargets, doctor.StatusFailed, "Envoy serves /stats/prometheus")
	expectReason(t, r, doctor.CheckTargets, envoy.URL+"/metrics", "404")
	res, _ := r.Result(doctor.CheckTargets)
	if !strings.Contains(res.Reason, "sample limit") || !strings.Contains(res.Fix, "raise sampleLimit") {
		t.Errorf("the target over its sample limit is not reported: reason %q, fix %q", res.Reason, res.Fix)
	}
	expect(t, r, doctor.CheckEnvoySeries, doctor.StatusFailed, "have the rules read Istio's standard metrics",
		"kubectl promteam create web -n "+e.ns+" --envoy istio --apply")
	expectReason(t, r, doctor.CheckEnvoySeries, "which top and compare read", "recording rules, alerts and dashboard")
	expectOnly(t, r)

	t.Run("istio preset", func(t *testing.T) {
		e.mergePatch("prometheus", "web", `{"metadata":{"annotations":{"promteam.io/envoy":"istio"}}}`)
		e.reconciled("web")
		r := e.run(kubetest.Admin, "web", p)
		expect(t, r, doctor.CheckEnvoySeries, doctor.StatusPassed, "istio_requests_total present", "top, compare and the stack's rules read")
	})
	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + l.Addr().String()
		_ = l.Close()
		gone, err := prom.New(prom.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		r := e.run(kubetest.Admin, "web", gone)
		expect(t, r, doctor.CheckTargets, doctor.StatusSkipped, "Prometheus is not reachable", "connection refused")
		expect(t, r, doctor.CheckEnvoySeries, doctor.StatusSkipped, "Prometheus is not reachable")
	})
	t.Run("not connected", func(t *testing.T) {
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckTargets, doctor.StatusSkipped, "not connected to the team's Prometheus")
		expect(t, r, doctor.CheckEnvoySeries, doctor.StatusSkipped, "not connected to the team's Prometheus")
	})
}

func TestCentralPrometheusScrapesTwice(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	e := newEnv(t, c)
	e.healthy("team-a")
	r := e.run(kubetest.Admin, "team-a", nil)
	expect(t, r, doctor.CheckDuplicates, doctor.StatusPassed, "no other Prometheus selects the team's 1 monitors")

	// A central Prometheus elsewhere with {} selectors whose namespace selector takes the team's
	// namespace (and, so that parallel tests are not affected, only that one).
	central := e.ns + "-central"
	e.kubectl("create", "namespace", central)
	manifest := `apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: central, namespace: ` + central + `}
spec:
  serviceMonitorSelector: {}
  podMonitorSelector: {}
  serviceMonitorNamespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ` + e.ns + `}}
  podMonitorNamespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ` + e.ns + `}}
`
	if _, stderr, err := c.Kubectl(t, kubetest.Admin, []byte(manifest), "apply", "-f", "-"); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	r = e.run(kubetest.Admin, "team-a", nil)
	expect(t, r, doctor.CheckDuplicates, doctor.StatusFailed, "narrow Prometheus "+central+"/central's monitor selectors")
	expectReason(t, r, doctor.CheckDuplicates, "Prometheus "+central+"/central also selects "+e.ns+"/team-a-envoy", "scraped twice")
	expectOnly(t, r, doctor.CheckDuplicates)

	// A user who may not list across namespaces gets the check skipped, not failed.
	r = e.run(kubetest.Dev, "team-a", nil)
	if res, _ := r.Result(doctor.CheckDuplicates); res.Status == doctor.StatusFailed {
		t.Errorf("duplicates as dev: %+v", res)
	}
}
