//go:build e2e

package prom

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/thanostest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// TestThroughThanosQuery runs two real Prometheus 3 servers as two replicas of one stack
// (external labels prometheus_replica r0 and r1) scraping the same simulated Envoy, a real
// Thanos sidecar on each and a real Thanos Query deduplicating on prometheus_replica. The client
// in ThanosQuery mode gets the sums of one replica, not twice them (which the Query does answer
// without dedup); Stores lists both sidecars; and with one sidecar stopped, a query is an error
// naming it, not a number of half the size.
func TestThroughThanosQuery(t *testing.T) {
	fleet := &envoysim.Fleet{
		Start: time.Now().Add(-10 * time.Minute), Pods: []string{"envoy-0"},
		Clusters: []envoysim.Cluster{{Name: "shop_frontend_80", RPS: 40, Latency: envoysim.Uniform(1, 5)}, {Name: "shop_cart_80", RPS: 10, Latency: envoysim.Uniform(1, 5)}},
	}
	targets := promtest.ServeFleet(t, fleet, "team-a")
	bin := tools.Path(t, "prometheus3")
	var endpoints []string
	var sidecars []*thanostest.Process
	var direct *promtest.Server
	for _, replica := range []string{"r0", "r1"} {
		srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second, Binary: bin,
			ExternalLabels: map[string]string{"prometheus": "team-a/team-a", "prometheus_replica": replica}})
		if direct == nil {
			direct = srv
		}
		sc := thanostest.StartSidecar(t, replica, srv.URL(), srv.DataDir(), thanostest.SidecarOptions{})
		sidecars = append(sidecars, sc)
		endpoints = append(endpoints, sc.GRPC)
	}
	// Strict endpoints stay in the Query's set when they stop answering, as the sidecars of a
	// stack's pods stay in its DNS while they run: a query must then fail, not shrink.
	query := thanostest.StartQuery(t, nil, thanostest.QueryOptions{ReplicaLabels: []string{"prometheus_replica"},
		Args: []string{"--endpoint-strict=" + endpoints[0], "--endpoint-strict=" + endpoints[1]}})
	thanostest.WaitForStores(t, query.URL(), 2, 60*time.Second)
	direct.WaitForSeries(t, `envoy_cluster_upstream_rq_total`, len(fleet.Clusters), 30*time.Second)

	c, err := New(Config{URL: query.URL(), Timeout: 10 * time.Second, ThanosQuery: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c.ThanosQuery() {
		t.Fatal("the client is not in ThanosQuery mode")
	}
	ctx := context.Background()
	const series = `count(envoy_cluster_upstream_rq_total)`
	// Both replicas have scraped by now: without dedup the Query counts every series twice.
	deadline := time.Now().Add(30 * time.Second)
	for rawCount(t, query.URL(), series) != float64(2*len(fleet.Clusters)) {
		if time.Now().After(deadline) {
			t.Fatalf("the Query without dedup never counted both replicas' series: %g", rawCount(t, query.URL(), series))
		}
		time.Sleep(500 * time.Millisecond)
	}
	res, err := c.Query(ctx, series, time.Time{})
	if err != nil || len(res.Vector) != 1 || res.Vector[0].Value != float64(len(fleet.Clusters)) {
		t.Fatalf("%s through the Query in ThanosQuery mode: %+v %v, want %d", series, res, err, len(fleet.Clusters))
	}
	// The sum of the counters is one replica's, within the scrapes between the two queries.
	const total = `sum(envoy_cluster_upstream_rq_total)`
	viaQuery, err := c.Query(ctx, total, time.Time{})
	if err != nil || len(viaQuery.Vector) != 1 {
		t.Fatalf("%s: %+v %v", total, viaQuery, err)
	}
	one := direct.Query(t, total)
	if len(one) != 1 {
		t.Fatalf("%s on one replica: %+v", total, one)
	}
	if got, want := viaQuery.Vector[0].Value, one[0].Value; got > want*1.1 || got < want*0.5 {
		t.Errorf("%s through the Query = %g, one replica has %g: not deduplicated", total, got, want)
	}
	m, _, err := c.QueryRange(ctx, total, time.Now().Add(-20*time.Second), time.Now(), 5*time.Second)
	if err != nil || len(m) != 1 {
		t.Errorf("range query through the Query: %v %v", m, err)
	}

	stores, err := c.Stores(ctx)
	if err != nil || len(stores) != 2 {
		t.Fatalf("stores: %+v %v", stores, err)
	}
	replicas := map[string]bool{}
	for _, s := range stores {
		if s.Type != "sidecar" || s.LastError != "" {
			t.Errorf("store %+v", s)
		}
		for _, set := range s.LabelSets {
			replicas[set["prometheus_replica"]] = true
		}
	}
	if !replicas["r0"] || !replicas["r1"] {
		t.Errorf("stores of replicas %v, want r0 and r1", replicas)
	}

	// One sidecar stops: a partial answer is refused.
	sidecars[1].Stop()
	_, err = c.Query(ctx, series, time.Time{})
	if err == nil {
		t.Fatal("a query with a sidecar stopped answered; partial_response=false must make it an error")
	}
	if !strings.Contains(err.Error(), series) {
		t.Errorf("the error does not name the query: %v", err)
	}
	t.Logf("with a sidecar stopped: %v", err)
}

// rawCount runs query on the Query at base without dedup and returns its only value, or -1.
func rawCount(t *testing.T, base, query string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?dedup=false&query=" + url.QueryEscape(query))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Data.Result) != 1 {
		return -1
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	var v float64
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return -1
	}
	return v
}
