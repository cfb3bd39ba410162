//go:build e2e

package traffic_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// TestHistoryMatchesTheTruth writes 20 minutes of a simulated fleet's past into a real
// Prometheus (promtool's back-fill), with a known step in one cluster's rate 8 minutes ago, lets
// it scrape the live fleet from then on, and reads the collector's History of the last 15
// minutes: at every step further from the rate step than the window, each cluster's numbers are
// within the issue's tolerances of the truth over that window (RPS 5%, success half a point,
// percentiles 12%), and the step shows: the rate is tripled after it.
func TestHistoryMatchesTheTruth(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	stepAt := now.Add(-8 * time.Minute)
	fleet := &envoysim.Fleet{
		Start: now.Add(-20 * time.Minute),
		Pods:  []string{"envoy-0", "envoy-1"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_frontend_80", RPS: 40, ErrorRatio: 0.05, ClientErrorRatio: 0.02, Active: 4,
				Latency: envoysim.Latency{{Weight: 0.6, LoMs: 10, HiMs: 25}, {Weight: 0.25, LoMs: 25, HiMs: 50}, {Weight: 0.15, LoMs: 100, HiMs: 250}},
				Step:    envoysim.Step{At: stepAt, Factor: 3}},
			{Name: "shop_cart_8080", RPS: 20, ErrorRatio: 0.01, Latency: envoysim.Uniform(50, 100)},
		},
	}
	if err := fleet.Validate(); err != nil {
		t.Fatal(err)
	}
	targets := promtest.ServeFleet(t, fleet, "edge")
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second,
		History: &promtest.History{Fleet: fleet, From: fleet.Start, To: time.Now(), Step: 5 * time.Second}})
	client, err := prom.New(prom.Config{URL: srv.URL(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const window = time.Minute
	c, err := traffic.NewCollector(client, traffic.Config{Dialect: promql.DialectEnvoy, Selector: promql.Namespace("edge"), Window: window})
	if err != nil {
		t.Fatal(err)
	}
	// The history is there at once: no waiting for scrapes.
	begin := time.Now()
	h, err := c.History(context.Background(), now, 15*time.Minute, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("history of %d clusters × %d steps read in %s", len(h.Clusters), h.Steps, time.Since(begin).Round(time.Millisecond))
	if h.Steps != 31 {
		t.Fatalf("%d steps, want 31", h.Steps)
	}
	tol := truth.Issue
	checked := map[string]int{}
	var before, after float64
	for _, cl := range fleet.Clusters {
		tr, ok := h.Clusters[cl.Name]
		if !ok {
			t.Errorf("no history of %s among %d clusters", cl.Name, len(h.Clusters))
			continue
		}
		for i := range h.Steps {
			at := h.At(i)
			// Away from the step by more than the window (and a scrape), and within the past.
			if d := at.Sub(stepAt); d > -5*time.Second && d < window+5*time.Second {
				continue
			}
			checkNumbers(t, fmt.Sprintf("%s at -%s", cl.Name, now.Sub(at)), tr.RPS[i], tr.Success[i], tr.P50[i], tr.P90[i], tr.P99[i],
				fleet.TruthBetween(cl, at.Add(-window), at), tol)
			checked[cl.Name]++
			if cl.Step.Factor != 0 {
				if at.Before(stepAt) {
					before = tr.RPS[i]
				} else if after == 0 {
					after = tr.RPS[i]
				}
			}
		}
	}
	for _, cl := range fleet.Clusters {
		if checked[cl.Name] < 20 {
			t.Errorf("%s: only %d steps checked", cl.Name, checked[cl.Name])
		}
	}
	if !(after > 2.8*before && before > 0) {
		t.Errorf("the step does not show: %v rps before, %v after", before, after)
	}
}
