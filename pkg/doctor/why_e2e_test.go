//go:build e2e

package doctor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor/kubecluster"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// traceSource is a team's Prometheus as the trace reads it: its targets, the metrics it has no
// series of (every other has 5), how many series a target's scrapes keep, and its loaded rules.
type traceSource struct {
	targets []doctor.Target
	absent  map[string]bool
	scraped int
	rules   []doctor.Rule
}

func (s *traceSource) Targets(context.Context) ([]doctor.Target, error) { return s.targets, nil }

func (s *traceSource) CountSeries(_ context.Context, sel *parser.VectorSelector) (int, error) {
	if sel.Name == "" {
		return s.scraped, nil
	}
	if s.absent[sel.Name] {
		return 0, nil
	}
	return 5, nil
}

func (s *traceSource) Rules(context.Context) ([]doctor.Rule, error) { return s.rules, nil }

// loadedRules are the rules of spec's PrometheusRules, as Prometheus lists them once loaded.
func loadedRules(t *testing.T, spec manifests.TeamSpec) []doctor.Rule {
	t.Helper()
	st, err := manifests.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	var out []doctor.Rule
	for _, o := range st.Objects {
		pr, ok := o.(*monitoringv1.PrometheusRule)
		if !ok {
			continue
		}
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				name := r.Record
				if r.Alert != "" {
					name = r.Alert
				}
				out = append(out, doctor.Rule{Group: g.Name, File: "/etc/prometheus/rules/" + pr.Name + ".yaml", Name: name,
					Alerting: r.Alert != "", Health: "ok", State: "inactive"})
			}
		}
	}
	return out
}

// running gives a pod the status of a running pod with an IP, as a kubelet would.
func (e *env) running(name, ip string) {
	e.t.Helper()
	ctx := context.Background()
	pod, err := e.kube.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	if _, err := e.kube.CoreV1().Pods(e.ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) why(p doctor.TraceSource, subject string) doctor.Trace {
	e.t.Helper()
	cl, err := kubecluster.New(e.c.RESTConfig(kubetest.Admin))
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := doctor.ParseSubject(subject, "")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr := doctor.Why(ctx, cl, p, "web", e.ns, s, doctor.Options{ReconcileWait: reconcileWait})
	if want := doctor.Chain(s.Kind); len(tr.Links) != len(want) {
		e.t.Fatalf("%s: %d links, want %d: %+v", subject, len(tr.Links), len(want), tr.Links)
	}
	return tr
}

// healthyTrace checks that every link of the trace passed.
func healthyTrace(t *testing.T, tr doctor.Trace) {
	t.Helper()
	for _, l := range tr.Links {
		if l.Status != doctor.StatusPassed {
			t.Errorf("%s %s: %s (reason %q, fix %q)", tr.Subject, l.ID, l.Status, l.Reason, l.Fix)
		}
	}
	if tr.Broken != "" {
		t.Errorf("%s: broken at %s", tr.Subject, tr.Broken)
	}
}

// brokenAt checks that the trace broke at link id, with the reason and fix given, and followed
// no link after it.
func brokenAt(t *testing.T, tr doctor.Trace, id, reason, fix string) {
	t.Helper()
	if tr.Broken != id {
		t.Errorf("%s: broken at %q, want %s: %+v", tr.Subject, tr.Broken, id, tr.Links)
		return
	}
	after := false
	for _, l := range tr.Links {
		switch {
		case l.ID == id:
			if l.Status != doctor.StatusFailed || !strings.Contains(l.Reason, reason) || !strings.Contains(l.Fix, fix) {
				t.Errorf("%s %s: %s, reason %q, fix %q; want reason with %q, fix with %q", tr.Subject, id, l.Status, l.Reason, l.Fix, reason, fix)
			}
			after = true
		case after:
			if l.Status != doctor.StatusSkipped || !strings.Contains(l.Reason, "not followed") {
				t.Errorf("%s %s after the broken link: %s %q", tr.Subject, l.ID, l.Status, l.Reason)
			}
		case l.Status != doctor.StatusPassed:
			t.Errorf("%s %s before the broken link: %s %q", tr.Subject, l.ID, l.Status, l.Reason)
		}
	}
}

// TestWhy follows a Service, a pod, a metric and an alert through a healthy stack on the real API
// server, then breaks one link at a time and checks that why names that link first, with its fix.
// Prometheus stands in as the trace source; the operator end-to-end test runs the real one.
func TestWhy(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	e := newEnv(t, c)
	spec := e.alerting("web")
	e.healthy("web")
	e.running("envoy-0", "10.0.0.7")
	e.applyYAML(`apiVersion: v1
kind: Service
metadata: {name: envoy}
spec:
  selector: {app: envoy}
  ports: [{name: admin, port: 9901}]
`)
	pool := "podMonitor/" + e.ns + "/web-envoy/0"
	target := doctor.Target{ScrapePool: pool, ScrapeURL: "http://10.0.0.7:9901/stats/prometheus", Health: doctor.HealthUp,
		Labels: map[string]string{"namespace": e.ns, "pod": "envoy-0", "job": e.ns + "/web-envoy", "instance": "10.0.0.7:9901"}}
	healthy := func() *traceSource {
		return &traceSource{
			targets: []doctor.Target{target},
			absent:  map[string]bool{"envoy_cluster_manager_cds_version": true, "envoy_cluster_upstream_rq_totl": true},
			scraped: 400,
			rules:   loadedRules(t, spec),
		}
	}

	t.Run("healthy", func(t *testing.T) {
		for _, s := range []string{"service/envoy", "pod/envoy-0", "metric/envoy_cluster_upstream_rq_total", "alert/EnvoyUpstreamHigh5xxRatio"} {
			healthyTrace(t, e.why(healthy(), s))
		}
		tr := e.why(healthy(), "service/envoy")
		if l, _ := tr.Link(doctor.LinkMonitor); !strings.Contains(l.Reason, "PodMonitor "+e.ns+"/web-envoy") {
			t.Errorf("monitor link: %q", l.Reason)
		}
		if l, _ := tr.Link(doctor.LinkTarget); !strings.Contains(l.Reason, "1 of 1 targets up: http://10.0.0.7:9901/stats/prometheus") {
			t.Errorf("target link: %q", l.Reason)
		}
	})
	t.Run("wrong label", func(t *testing.T) {
		e.pod("stray", map[string]string{"app": "stray"}, corev1.ContainerPort{Name: "admin", ContainerPort: 9901})
		e.running("stray", "10.0.0.8")
		brokenAt(t, e.why(healthy(), "pod/stray"), doctor.LinkMonitor,
			"no monitor of team web selects pod "+e.ns+"/stray: pod stray has labels app=stray; PodMonitor "+e.ns+"/web-envoy selects app=envoy",
			"kubectl label pod stray -n "+e.ns+" app=envoy --overwrite")
	})
	t.Run("wrong port name", func(t *testing.T) {
		e.kubectl("patch", "podmonitor", "web-envoy", "-n", e.ns, "--type", "json", "-p", `[{"op":"replace","path":"/spec/podMetricsEndpoints/0/port","value":"stats"}]`)
		brokenAt(t, e.why(healthy(), "service/envoy"), doctor.LinkPort,
			`names port "stats", which none of the 1 pods of Service envoy declares (they declare: "admin"(9901))`, `declare port "stats"`)
		e.kubectl("patch", "podmonitor", "web-envoy", "-n", e.ns, "--type", "json", "-p", `[{"op":"replace","path":"/spec/podMetricsEndpoints/0/port","value":"admin"}]`)
	})
	t.Run("namespace not selected", func(t *testing.T) {
		e.mergePatch("prometheus", "web", `{"spec":{"podMonitorNamespaceSelector":{"matchLabels":{"monitoring":"web"}}}}`)
		e.reconciled("web")
		brokenAt(t, e.why(healthy(), "pod/envoy-0"), doctor.LinkSelected,
			"namespace "+e.ns+" of PodMonitor "+e.ns+"/web-envoy is not selected", "set podMonitorNamespaceSelector on Prometheus web to select namespace "+e.ns)
		e.mergePatch("prometheus", "web", `{"spec":{"podMonitorNamespaceSelector":null}}`)
		e.reconciled("web")
	})
	t.Run("missing RBAC", func(t *testing.T) {
		e.kubectl("delete", "rolebinding", "prometheus-web", "-n", e.ns)
		brokenAt(t, e.why(healthy(), "pod/envoy-0"), doctor.LinkRBAC,
			"ServiceAccount "+e.ns+"/prometheus-web cannot get/list/watch pods", "kubectl promteam create web -n "+e.ns+" --apply")
		e.apply(spec)
	})
	t.Run("target down", func(t *testing.T) {
		src := healthy()
		src.targets[0].Health, src.targets[0].LastError = doctor.HealthDown, `server returned HTTP status 503 Service Unavailable`
		brokenAt(t, e.why(src, "service/envoy"), doctor.LinkTarget,
			"PodMonitor "+e.ns+"/web-envoy endpoint 0 target http://10.0.0.7:9901/stats/prometheus is down: server returned HTTP status 503",
			"make the target answer the scrape")
	})
	t.Run("no target", func(t *testing.T) {
		src := healthy()
		src.targets = nil
		brokenAt(t, e.why(src, "pod/envoy-0"), doctor.LinkTarget, "Prometheus has no target for pod "+e.ns+"/envoy-0 in scrape pool podMonitor/"+e.ns+"/web-envoy/*", "run why again")
	})
	t.Run("every series dropped", func(t *testing.T) {
		src := healthy()
		src.scraped = 0
		brokenAt(t, e.why(src, "pod/envoy-0"), doctor.LinkSeries, "keep no series", "the metricRelabelings of PodMonitor "+e.ns+"/web-envoy drop everything")
	})
	t.Run("metric dropped by relabelling", func(t *testing.T) {
		brokenAt(t, e.why(healthy(), "metric/envoy_cluster_manager_cds_version"), doctor.LinkSeries,
			"metric envoy_cluster_manager_cds_version is dropped by relabelling: metricRelabelings[0] of PodMonitor "+e.ns+"/web-envoy endpoint 0 (action drop, sourceLabels [__name__]",
			"kubectl edit podmonitor web-envoy -n "+e.ns)
	})
	t.Run("metric nobody exposes", func(t *testing.T) {
		brokenAt(t, e.why(healthy(), "metric/envoy_cluster_upstream_rq_totl"), doctor.LinkSeries,
			"no target of the team exposes envoy_cluster_upstream_rq_totl", "check the name")
	})
	t.Run("rule not loaded", func(t *testing.T) {
		src := healthy()
		src.rules = nil
		brokenAt(t, e.why(src, "alert/EnvoyUpstreamHigh5xxRatio"), doctor.LinkLoaded,
			"Prometheus has not loaded alert EnvoyUpstreamHigh5xxRatio (group "+manifests.RuleGroupAlerts, "kubectl logs prometheus-web-0 -c config-reloader -n "+e.ns)
		brokenAt(t, e.why(src, "metric/envoy_cluster_upstream_rq_total"), doctor.LinkRules, "not loaded by Prometheus", "config reloader")
	})
	t.Run("rule not selected", func(t *testing.T) {
		e.kubectl("label", "prometheusrule", "web-envoy-red", "-n", e.ns, manifests.LabelTeam+"=other", "--overwrite")
		brokenAt(t, e.why(healthy(), "alert/EnvoyUpstreamHigh5xxRatio"), doctor.LinkSelected,
			"PrometheusRule "+e.ns+"/web-envoy-red is not selected, so Prometheus does not load EnvoyUpstreamHigh5xxRatio", "kubectl label prometheusrules web-envoy-red")
		e.kubectl("label", "prometheusrule", "web-envoy-red", "-n", e.ns, manifests.LabelTeam+"=web", "--overwrite")
	})
	t.Run("alert nobody defines", func(t *testing.T) {
		brokenAt(t, e.why(healthy(), "alert/NoSuchAlert"), doctor.LinkRule, "its alerts are EnvoyCircuitBreakerOpen", "check the alert's name")
	})
	t.Run("alert reads a metric Prometheus lacks", func(t *testing.T) {
		src := healthy()
		recorded := promql.RecordErrorRatio(promql.RuleWindow)
		src.absent[recorded] = true
		brokenAt(t, e.why(src, "alert/EnvoyUpstreamHigh5xxRatio"), doctor.LinkSeries, "reads "+recorded+", of which Prometheus has no series now", "kubectl promteam why web -n "+e.ns+" metric/"+recorded)
		// That recorded metric's own trace names its recording rule.
		brokenAt(t, e.why(src, "metric/"+recorded), doctor.LinkSeries, "which rule group", "is not loaded")
	})
	t.Run("Prometheus not connected", func(t *testing.T) {
		tr := e.why(nil, "pod/envoy-0")
		if tr.Broken != "" {
			t.Errorf("broken at %s without Prometheus", tr.Broken)
		}
		if l, _ := tr.Link(doctor.LinkTarget); l.Status != doctor.StatusSkipped || l.Reason != "not connected to the team's Prometheus" {
			t.Errorf("target link: %+v", l)
		}
	})
	t.Run("no such Service", func(t *testing.T) {
		brokenAt(t, e.why(healthy(), "svc/envoi"), doctor.LinkObject, "no Service envoi in namespace "+e.ns, "kubectl get services -n "+e.ns)
	})
}
