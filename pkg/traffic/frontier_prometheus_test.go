//go:build e2e

package traffic_test

import (
	"context"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// TestFrontierOfARealPrometheus evaluates the frontier in a real Prometheus over eight minutes of
// scrapes every 10s that ended twelve minutes ago, the storage of a store that stopped receiving
// then. Asked inside those minutes, the frontier is the last scrape before; asked 30s after their
// end (a target still fresh) and 90s after (none fresh, the newest of all), their end; asked 6m
// after, past Prometheus' 5m lookback, and for a namespace without targets, the instant asked.
func TestFrontierOfARealPrometheus(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	fleet := &envoysim.Fleet{Start: now.Add(-time.Hour), Pods: []string{"envoy-0", "envoy-1"},
		Clusters: []envoysim.Cluster{{Name: "shop_cart_8080", RPS: 10, Latency: envoysim.Uniform(5, 10)}}}
	if err := fleet.Validate(); err != nil {
		t.Fatal(err)
	}
	from, to := now.Add(-20*time.Minute), now.Add(-12*time.Minute)
	targets := promtest.ServeFleet(t, fleet, "shop")
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second,
		History: &promtest.History{Fleet: fleet, From: from, To: to, Step: 10 * time.Second}})
	client, err := prom.New(prom.Config{URL: srv.URL(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		sel      promql.Selector
		at, want time.Time
	}{
		{"inside the history", promql.Namespace("shop"), from.Add(5*time.Minute + 3*time.Second), from.Add(5 * time.Minute)},
		{"30s after its end", promql.Namespace("shop"), to.Add(30 * time.Second), to},
		{"90s after its end", promql.Namespace("shop"), to.Add(90 * time.Second), to},
		{"past the lookback", promql.Namespace("shop"), to.Add(6 * time.Minute), to.Add(6 * time.Minute)},
		{"another namespace", promql.Namespace("edge"), to.Add(30 * time.Second), to.Add(30 * time.Second)},
		{"every target", promql.Everything, to.Add(30 * time.Second), to},
	} {
		got, err := traffic.Frontier(context.Background(), client, tc.sel, tc.at)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s: frontier %s, %v; want %s", tc.name, got.Format(time.RFC3339Nano), err, tc.want.Format(time.RFC3339Nano))
		}
	}
}
