//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/operatortest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
)

// whyTrace is why's JSON.
type whyTrace struct {
	Subject string `json:"subject"`
	Backend string `json:"backend"`
	Broken  string `json:"broken"`
	Links   []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
		Fix    string `json:"fix"`
	} `json:"links"`
}

func (tr whyTrace) String() string {
	var b strings.Builder
	for _, l := range tr.Links {
		fmt.Fprintf(&b, "\n  %s %s: %s (fix %q)", l.ID, l.Status, l.Reason, l.Fix)
	}
	return b.String()
}

// why runs `why TEAM SUBJECT -o json` as the admin and returns the trace and the exit status.
func (e *env) why(t *testing.T, ns, team, subject string) (whyTrace, int) {
	t.Helper()
	out, stderr, code := e.promteam(t, "why", team, subject, "-n", ns, "-o", "json", "--wait", "20s")
	var tr whyTrace
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatalf("why %s -o json: exit %d, %v\n%s\n%s", subject, code, err, out, stderr)
	}
	return tr, code
}

// whyHealthy checks that every link of subject's chain passes and why exits 0.
func (e *env) whyHealthy(t *testing.T, ns, team, subject string) {
	t.Helper()
	tr, code := e.why(t, ns, team, subject)
	for _, l := range tr.Links {
		if l.Status != "passed" {
			t.Errorf("why %s: exit %d, link %s %s: %s%s", subject, code, l.ID, l.Status, l.Reason, tr)
			return
		}
	}
	if code != 0 || tr.Broken != "" || len(tr.Links) < 5 {
		t.Errorf("why %s on a healthy chain: exit %d, broken %q, %d links%s", subject, code, tr.Broken, len(tr.Links), tr)
	}
}

// whyBroken checks that why names link id as the first broken one, with a reason and a fix that
// contain the given texts, and exits 1.
func (e *env) whyBroken(t *testing.T, ns, team, subject, id, reason, fix string) {
	t.Helper()
	tr, code := e.why(t, ns, team, subject)
	if code != 1 || tr.Broken != id {
		t.Errorf("why %s: exit %d, broken at %q, want 1 and %s%s", subject, code, tr.Broken, id, tr)
		return
	}
	for _, l := range tr.Links {
		if l.ID == id {
			if !strings.Contains(l.Reason, reason) || !strings.Contains(l.Fix, fix) {
				t.Errorf("why %s, link %s: reason %q, fix %q; want reason with %q and fix with %q", subject, id, l.Reason, l.Fix, reason, fix)
			}
			return
		}
		if l.Status != "passed" {
			t.Errorf("why %s: link %s before the broken one is %s: %s", subject, l.ID, l.Status, l.Reason)
		}
	}
}

// whyFollows runs why on the team's real chain: every link green for a Service, a pod, a metric
// and an alert, then one broken link at a time (wrong label, wrong port name, namespace not
// selected, missing RBAC, target down, metric dropped by relabelling, rule not loaded), each
// named first with its fix, and repaired.
func (e *env) whyFollows(t *testing.T, ch chain, prom *promtest.Server, dir string, envoys []corev1.Pod) {
	ctx := context.Background()
	ns, team := ch.team, ch.team
	pod := "pod/" + envoys[0].Name
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "envoy", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: ch.labels, Ports: []corev1.ServicePort{{Name: ch.port, Port: ch.portNum}}},
	}
	if _, err := e.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	repair := func(t *testing.T) {
		t.Helper()
		if _, stderr, code := e.promteam(t, "create", ch.team, "-n", ns, "--envoy", ch.preset, "--apply", "--force-conflicts",
			"--envoy-scrape-interval", "2s", "--evaluation-interval", "5s", "--storage", "1Gi", "--replicas", "1"); code != 0 {
			t.Fatalf("create --apply: exit %d: %s", code, stderr)
		}
	}

	// After the operator's restart in the broken cases, its first status may say Available=False
	// until it has read the StatefulSet again: why would rightly stop at the stack.
	e.waitCondition(t, ns, ch.team, "Available")

	t.Run("why: completion", func(t *testing.T) {
		for typed, want := range map[string]string{
			"":       "service/",
			"pod/":   pod,
			"svc/":   "svc/envoy",
			"alert/": "alert/EnvoyUpstreamHigh5xxRatio",
		} {
			// The word being completed comes last, after the flags.
			out, stderr, code := cli.Run(t, e.bin, nil, append([]string{"__complete", "why", team, "-n", ns}, append(e.admin(), typed)...)...)
			if code != 0 || !slices.Contains(strings.Split(out, "\n"), want) {
				t.Errorf("completing %q: exit %d, want %q among:\n%s%s", typed, code, want, out, stderr)
			}
		}
	})
	t.Run("why: healthy chains", func(t *testing.T) {
		for _, s := range []string{"service/envoy", pod, "metric/envoy_cluster_upstream_rq_total", "alert/EnvoyUpstreamHigh5xxRatio"} {
			e.whyHealthy(t, ns, team, s)
		}
	})
	t.Run("why: wrong label", func(t *testing.T) {
		stray := envoyDeploymentObject(ns, ch, 1)
		stray.Name, stray.Spec.Selector.MatchLabels = "stray", map[string]string{"app": "stray"}
		stray.Spec.Template.Labels = map[string]string{"app": "stray"}
		if _, err := e.client.AppsV1().Deployments(ns).Create(ctx, stray, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := e.readyPods(t, ns, "app=stray", 1)[0]
		e.whyBroken(t, ns, team, "pod/"+p.Name, "monitor",
			"no monitor of team "+team+" selects pod "+ns+"/"+p.Name+": pod "+p.Name+" has labels app=stray",
			"kubectl label pod "+p.Name+" -n "+ns+" app=envoy --overwrite")
		if err := e.client.AppsV1().Deployments(ns).Delete(ctx, "stray", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("why: wrong port name", func(t *testing.T) {
		if _, err := e.dyn.Resource(podMonitors).Namespace(ns).Patch(ctx, ch.monitor(), types.JSONPatchType,
			[]byte(`[{"op":"replace","path":"/spec/podMetricsEndpoints/0/port","value":"stats"}]`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.whyBroken(t, ns, team, "service/envoy", "port",
			`PodMonitor `+ns+"/"+ch.monitor()+` names port "stats", which none of the 3 pods of Service envoy declares`,
			"`port` must name a declared container port")
		repair(t)
	})
	t.Run("why: namespace not selected", func(t *testing.T) {
		if _, err := e.dyn.Resource(prometheuses).Namespace(ns).Patch(ctx, ch.team, types.MergePatchType,
			[]byte(`{"spec":{"podMonitorNamespaceSelector":{"matchLabels":{"monitoring":"central"}}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.whyBroken(t, ns, team, pod, "selected",
			"namespace "+ns+" of PodMonitor "+ns+"/"+ch.monitor()+" is not selected",
			"set podMonitorNamespaceSelector on Prometheus "+ch.team+" to select namespace "+ns)
		if _, err := e.dyn.Resource(prometheuses).Namespace(ns).Patch(ctx, ch.team, types.MergePatchType,
			[]byte(`{"spec":{"podMonitorNamespaceSelector":null}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitCondition(t, ns, ch.team, "Reconciled")
	})
	t.Run("why: missing RBAC", func(t *testing.T) {
		if err := e.client.RbacV1().RoleBindings(ns).Delete(ctx, "prometheus-"+ch.team, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.whyBroken(t, ns, team, pod, "rbac",
			"ServiceAccount "+ns+"/prometheus-"+ch.team+" cannot get/list/watch pods",
			"kubectl promteam create "+ch.team+" -n "+ns+" --apply")
		repair(t)
	})
	t.Run("why: target down", func(t *testing.T) {
		ip := envoys[0].Status.PodIP
		e.sim.setDown(ip, true)
		defer e.sim.setDown(ip, false)
		deadline := time.Now().Add(time.Minute)
		for {
			if tr, _ := e.why(t, ns, team, pod); tr.Broken == "target" || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Second)
		}
		e.whyBroken(t, ns, team, pod, "target", "is down: server returned HTTP status 503 Service Unavailable", "make the target answer the scrape")
		// The text a person reads: a line per link, the fix under the broken one.
		out, stderr, code := e.promteam(t, "why", team, pod, "-n", ns)
		if code != 1 || !strings.Contains(out, "✓ a monitor of team "+team+" selects pod "+envoys[0].Name+" (labels and namespace): PodMonitor "+ns+"/"+ch.monitor()+" (selector app=envoy) selects pod") ||
			!strings.Contains(out, "✗ Prometheus scrapes pod "+envoys[0].Name+" and the scrape succeeds: PodMonitor") ||
			!strings.Contains(out, "    fix: make the target answer the scrape") ||
			!strings.Contains(out, "- series scraped from pod "+envoys[0].Name+" are in Prometheus now: skipped, not followed: the chain breaks at target") {
			t.Errorf("why %s: exit %d\n%s\n%s", pod, code, out, stderr)
		}
		t.Logf("kubectl promteam why %s %s -n %s\n%s", team, pod, ns, out)
	})
	t.Run("why: metric dropped by relabelling", func(t *testing.T) {
		// The simulated Envoys export it; the stack's own metricRelabelings drop it.
		e.whyBroken(t, ns, team, "metric/envoy_cluster_manager_cds_version", "series",
			"metric envoy_cluster_manager_cds_version is dropped by relabelling: metricRelabelings[0] of PodMonitor "+ns+"/"+ch.monitor()+" endpoint 0 (action drop",
			"kubectl edit podmonitor "+ch.monitor()+" -n "+ns)
	})
	t.Run("why: rule not loaded", func(t *testing.T) {
		rule := func(team string) string {
			return fmt.Sprintf(`apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: why-probe, namespace: %s, labels: {promteam.io/team: %s}}
spec:
  groups:
  - name: why-probe
    rules:
    - alert: WhyProbe
      expr: sum(rate(envoy_cluster_upstream_rq_total[1m])) > 1e12
`, ns, team)
		}
		// Labelled for another team: the Prometheus does not select it.
		e.c.KubectlOK(t, kubetest.Admin, []byte(rule("other")), "apply", "-f", "-")
		e.whyBroken(t, ns, team, "alert/WhyProbe", "selected",
			"PrometheusRule "+ns+"/why-probe is not selected, so Prometheus does not load WhyProbe", "kubectl label prometheusrules why-probe -n "+ns)
		// Selected, written into the rule files, but not loaded by Prometheus yet.
		e.c.KubectlOK(t, kubetest.Admin, []byte(rule(team)), "apply", "-f", "-")
		operatortest.WaitForRuleGroups(t, e.client, ns, ch.team, "why-probe")
		e.whyBroken(t, ns, team, "alert/WhyProbe", "loaded",
			"Prometheus has not loaded alert WhyProbe (group why-probe of PrometheusRule "+ns+"/why-probe)", "config reloader")
		// Loaded: the whole chain is green.
		operatortest.WaitForJobs(t, e.client, ns, ch.team, "podMonitor/"+ns+"/"+ch.monitor()+"/0")
		operatortest.WriteConfig(t, e.client, operatortest.Cluster{Server: e.c.Server(), CAFile: filepath.Join(e.c.Dir(), "certs", "apiserver.crt")}, ns, ch.team, dir)
		prom.Reload(t)
		e.whyHealthy(t, ns, team, "alert/WhyProbe")
	})
	t.Run("why: healthy again", func(t *testing.T) {
		e.whyHealthy(t, ns, team, pod)
	})
}
