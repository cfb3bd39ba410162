//go:build e2e

package doctor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/amtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
)

// waitAlertmanagers waits until Prometheus sends to an Alertmanager.
func waitAlertmanagers(t *testing.T, p *prom.Client) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		active, _, err := p.Alertmanagers(context.Background())
		if err == nil && len(active) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus discovered no Alertmanager: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAlertingChecks breaks each link between a team's alerts and its receivers and expects doctor
// to name that link with its fix.
func TestAlertingChecks(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)

	t.Run("nowhere", func(t *testing.T) {
		e := newEnv(t, c)
		e.apply(e.spec("web"))
		e.envoyPod("envoy-0")
		e.reconciled("web")
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckDelivery, doctor.StatusSkipped, "delivered to nobody", "--alertmanager own")
		expect(t, r, doctor.CheckRouting, doctor.StatusSkipped)
		expect(t, r, doctor.CheckSecrets, doctor.StatusSkipped)
		expect(t, r, doctor.CheckDiscovered, doctor.StatusSkipped)
		if r.Failed() {
			t.Error("a stack that sends alerts nowhere fails doctor; it is a choice, said in the reason")
		}
	})

	t.Run("missing secret", func(t *testing.T) {
		e := newEnv(t, c)
		e.apply(e.alerting("web"))
		e.envoyPod("envoy-0")
		e.reconciled("web")
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckSecrets, doctor.StatusFailed, "kubectl create secret generic web-hook -n "+e.ns+" --from-literal=url=")
		expectReason(t, r, doctor.CheckSecrets, "web-hook/url")
		expectOnly(t, r, doctor.CheckSecrets)
	})

	t.Run("rule without the namespace label", func(t *testing.T) {
		e := newEnv(t, c)
		e.healthy("web")
		e.kubectl("patch", "prometheusrule", "web-envoy-red", "-n", e.ns, "--type=json",
			"-p", `[{"op":"remove","path":"/spec/groups/1/rules/0/labels/namespace"}]`)
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckRouting, doctor.StatusFailed, "kubectl promteam create web -n "+e.ns+" --alertmanager own --apply")
		expectReason(t, r, doctor.CheckRouting, "OnNamespace", "web-envoy-red/EnvoyUpstreamHigh5xxRatio", "never delivered")
		expectOnly(t, r, doctor.CheckRouting)
	})

	t.Run("None strategy and a route without the team's matchers", func(t *testing.T) {
		e := newEnv(t, c)
		e.healthy("web")
		e.kubectl("patch", "alertmanager", "web", "-n", e.ns, "--type=merge", "-p", `{"spec":{"alertmanagerConfigMatcherStrategy":{"type":"None"}}}`)
		e.kubectl("patch", "alertmanagerconfig", "web", "-n", e.ns, "--type=json", "-p", `[{"op":"remove","path":"/spec/route/matchers"}]`)
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckRouting, doctor.StatusFailed, "--alertmanager own --apply")
		expectReason(t, r, doctor.CheckRouting, "None", "takes other teams' alerts")
		expectOnly(t, r, doctor.CheckRouting)
	})

	t.Run("selector and namespace selector miss", func(t *testing.T) {
		e := newEnv(t, c)
		e.healthy("web")
		e.kubectl("patch", "alertmanager", "web", "-n", e.ns, "--type=json", "-p",
			`[{"op":"replace","path":"/spec/alertmanagerConfigSelector","value":{"matchLabels":{"alertmanagerConfig":"main"}}}]`)
		r := e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckDelivery, doctor.StatusFailed, "--alertmanager-config-label")
		expectReason(t, r, doctor.CheckDelivery, "alertmanagerConfig=main", "does not match")
		expectOnly(t, r, doctor.CheckDelivery)

		e.kubectl("patch", "alertmanager", "web", "-n", e.ns, "--type=json", "-p",
			`[{"op":"replace","path":"/spec/alertmanagerConfigSelector","value":{"matchLabels":{"promteam.io/team":"web"}}},`+
				`{"op":"add","path":"/spec/alertmanagerConfigNamespaceSelector","value":{"matchLabels":{"alerts":"team"}}}]`)
		r = e.run(kubetest.Admin, "web", nil)
		expect(t, r, doctor.CheckDelivery, doctor.StatusFailed, "kubectl label namespace "+e.ns+" alerts=team")
		expectOnly(t, r, doctor.CheckDelivery)

		e.kubectl("label", "namespace", e.ns, "alerts=team")
		r = e.run(kubetest.Admin, "web", nil)
		expectOnly(t, r)
	})

	t.Run("Alertmanager gone", func(t *testing.T) {
		e := newEnv(t, c)
		e.healthy("web")
		e.kubectl("delete", "alertmanager", "web", "-n", e.ns)
		r := e.run(kubetest.Admin, "web", nil)
		res := expect(t, r, doctor.CheckDelivery, doctor.StatusFailed, "--alertmanager own")
		if !strings.Contains(res.Reason, "does not exist") {
			t.Errorf("reason %q", res.Reason)
		}
		expect(t, r, doctor.CheckRouting, doctor.StatusSkipped)
	})

	t.Run("Prometheus finds no Alertmanager", func(t *testing.T) {
		e := newEnv(t, c)
		e.healthy("web")
		envoy := envoyTarget(t)
		srv := promtest.Start(t, []promtest.Target{{URL: envoy.URL + "/stats/prometheus",
			Labels: map[string]string{"namespace": e.ns, "pod": "envoy-0"}}}, promtest.Options{ScrapeInterval: time.Second})
		srv.WaitForSeries(t, "envoy_cluster_upstream_rq_total", 1, time.Minute)
		p, err := prom.New(prom.Config{URL: srv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		r := e.run(kubetest.Admin, "web", p)
		expect(t, r, doctor.CheckDiscovered, doctor.StatusFailed, "kubectl get endpointslices -n "+e.ns+" -l kubernetes.io/service-name=alertmanager-web")
		// Nor does it scrape the Alertmanager.
		expect(t, r, doctor.CheckNotify, doctor.StatusFailed, "kubectl promteam create web -n "+e.ns+" --alertmanager own --apply restores the ServiceMonitor")
		expectReason(t, r, doctor.CheckNotify, "alertmanager_notifications_total", "ServiceMonitor "+e.ns+"/alertmanager-web")
	})

	t.Run("notifications fail", func(t *testing.T) {
		e := newEnv(t, c)
		e.healthy("web")
		// A real Alertmanager whose only receiver is a webhook nobody answers, notified of one alert.
		am := amtest.Start(t, "route: {receiver: hook, group_wait: 0s, group_interval: 1s}\n"+
			"receivers: [{name: hook, webhook_configs: [{url: 'http://127.0.0.1:9/hook'}]}]\n")
		srv := promtest.Start(t, []promtest.Target{
			{URL: am.URL() + "/metrics", Labels: map[string]string{"namespace": e.ns, "service": "alertmanager-web"}},
		}, promtest.Options{ScrapeInterval: time.Second, Alertmanagers: []string{am.Addr}})
		srv.WaitForSeries(t, "alertmanager_notifications_total", 1, time.Minute)
		am.PostAlert(t, map[string]string{"alertname": "EnvoyUpstreamHigh5xxRatio", "team": "web"})
		srv.WaitForSeries(t, `alertmanager_notifications_failed_total{integration="webhook"} > 0`, 1, time.Minute)
		time.Sleep(2 * time.Second) // a scrape after the first failure, so that increase sees it
		p, err := prom.New(prom.Config{URL: srv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		r := e.run(kubetest.Admin, "web", p)
		expect(t, r, doctor.CheckNotify, doctor.StatusFailed, "kubectl logs -n "+e.ns+" alertmanager-web-0 -c alertmanager")
		expectReason(t, r, doctor.CheckNotify, "notifications failed in the last hour (webhook ")
	})
}
