//go:build e2e

package traffic_test

import (
	"context"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/rulefile"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// TestFrameCarriesTheStacksAlerts loads the stack's rules into a real Prometheus that scrapes the
// demo fleet, whose failing and slow clusters raise alerts, and checks that a frame holds exactly
// the alerts Prometheus holds about the selected Envoys at the same instant, each naming a
// cluster of the frame, the namespace its Envoy runs in and its severity; and that a selection
// of another namespace holds none of them.
func TestFrameCarriesTheStacksAlerts(t *testing.T) {
	t.Parallel()
	fleet := envoysim.DemoFleet(time.Now().Add(-time.Hour))
	targets := promtest.ServeFleet(t, fleet, "edge")
	rules := rulefile.Write(t, manifests.DefaultTeamSpec("team-a", "team-a"), time.Second)
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second, RuleFiles: []string{rules}})
	srv.WaitForSeries(t, `ALERTS{envoy_cluster_name!=""}`, 1, time.Minute)
	// The frame and Prometheus are asked about a settled instant after the first alert appeared.
	time.Sleep(3 * time.Second)

	client, err := prom.New(prom.Config{URL: srv.URL(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	frame := func(sel promql.Selector, at time.Time) traffic.Frame {
		c, err := traffic.NewCollector(client, traffic.Config{Dialect: promql.DialectEnvoy, Selector: sel, Window: time.Minute, Alerts: true})
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.Frame(context.Background(), at)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	at := time.Now().Add(-time.Second)
	f := frame(promql.Namespace("edge"), at)
	held, err := srv.QueryAt(context.Background(), `ALERTS{envoy_cluster_name!=""}`, at)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, h := range held {
		want[h.Metric["alertname"]+"/"+h.Metric["envoy_cluster_name"]+"/"+h.Metric["alertstate"]] = true
	}
	if !f.AlertsKnown || len(f.Alerts) != len(held) || len(held) == 0 {
		t.Fatalf("frame alerts %+v (known %v); Prometheus holds %v", f.Alerts, f.AlertsKnown, want)
	}
	clusters := map[string]bool{}
	for _, r := range f.Rows {
		clusters[r.Name] = true
	}
	for _, a := range f.Alerts {
		if !want[a.Name+"/"+a.Cluster+"/"+a.State] {
			t.Errorf("alert %+v is not one Prometheus holds: %v", a, want)
		}
		if !clusters[a.Cluster] || a.Namespace != "edge" || a.Severity == "" {
			t.Errorf("alert %+v: want a cluster of the frame, Envoy namespace edge and a severity", a)
		}
		if got := f.AlertsOf(a.Cluster); len(got) == 0 {
			t.Errorf("AlertsOf(%q) finds none", a.Cluster)
		}
	}

	if other := frame(promql.Namespace("elsewhere"), at); !other.AlertsKnown || len(other.Alerts) != 0 {
		t.Errorf("a selection of another namespace has alerts %+v (known %v)", other.Alerts, other.AlertsKnown)
	}
}
