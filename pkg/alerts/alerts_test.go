package alerts

import (
	"slices"
	"testing"
	"time"
)

type routes map[string][]string

func (r routes) Receivers(labels map[string]string) []string { return r[labels["severity"]] }

func TestRowsOrderAndReceivers(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	in := []Alert{
		{Labels: map[string]string{"alertname": "EnvoyUpstreamHighLatencyP99", "severity": "warning", "envoy_cluster_name": "b"}, State: StateFiring, ActiveAt: now.Add(-time.Hour), Value: "1.2"},
		{Labels: map[string]string{"alertname": "EnvoyUpstreamHigh5xxRatio", "severity": "critical", "envoy_cluster_name": "a"}, State: StatePending, ActiveAt: now.Add(-time.Minute), Value: "0.08"},
		{Labels: map[string]string{"alertname": "EnvoyUpstreamHigh5xxRatio", "severity": "critical", "envoy_cluster_name": "c"}, State: StateFiring, ActiveAt: now.Add(-10 * time.Minute), Value: "0.2"},
		{Labels: map[string]string{"alertname": "Future", "severity": "critical"}, State: StateFiring, ActiveAt: now.Add(time.Minute)},
	}
	rows := Rows(in, routes{"critical": {"pagerduty", "slack"}, "warning": {"slack"}}, now)
	var order []string
	for _, r := range rows {
		order = append(order, r.State+"/"+r.Name+"/"+r.Cluster)
	}
	want := []string{"firing/EnvoyUpstreamHigh5xxRatio/c", "firing/Future/", "firing/EnvoyUpstreamHighLatencyP99/b", "pending/EnvoyUpstreamHigh5xxRatio/a"}
	if !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if rows[0].Age != 10*time.Minute || rows[1].Age != 0 {
		t.Errorf("ages %v and %v: want 10m, and 0 for a clock ahead of ours", rows[0].Age, rows[1].Age)
	}
	if !slices.Equal(rows[0].Receivers, []string{"pagerduty", "slack"}) || !slices.Equal(rows[2].Receivers, []string{"slack"}) {
		t.Errorf("receivers %v, %v", rows[0].Receivers, rows[2].Receivers)
	}
	if Firing(rows) != 3 {
		t.Errorf("Firing = %d, want 3", Firing(rows))
	}
	// The rows own their maps: editing them leaves the input alone.
	rows[0].Labels["x"] = "y"
	if _, ok := in[2].Labels["x"]; ok {
		t.Error("Rows shares the alert's label map")
	}
	if got := Rows(in[:1], nil, now); got[0].Receivers == nil || len(got[0].Receivers) != 0 {
		t.Errorf("without a router receivers are %#v, want an empty list", got[0].Receivers)
	}
}
