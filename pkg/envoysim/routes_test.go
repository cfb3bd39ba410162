package envoysim

import (
	"math"
	"testing"
	"time"
)

// TestGroupTruth: the truth of a group of clusters is that of all their requests. The two rules
// of RoutesFleet's team-a/checkout, worked out by hand: 40 requests/s, of which 30×0.01 + 10×0.1 =
// 1.3 are 5xx and 30×0.02 + 10×0.05 = 1.1 are 4xx; 27 of the 40 take 10–25 ms, 8 take 25–50 ms and
// 5 take 100–250 ms, so the median is at 10 + 15×(20/27) ms, p90 at 100 + 150×(1/5) ms and p99 at
// 100 + 150×(4.6/5) ms. A group of one is its cluster's Truth, an idle group has no ratios, and a
// member without latency adds none.
func TestGroupTruth(t *testing.T) {
	f := RoutesFleet(time.Unix(0, 0))
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	r0, _ := f.Cluster("httproute/team-a/checkout/rule/0")
	r1, _ := f.Cluster("httproute/team-a/checkout/rule/1")
	got := GroupTruth(r0, r1)
	want := Truth{RPS: 40, Success: 1 - 1.3/40, Err4xx: 1.1, Err5xx: 1.3, Active: 5,
		P50: 10 + 15*20.0/27, P90: 100 + 150*1.0/5, P99: 100 + 150*4.6/5}
	same := func(a, b float64) bool { return (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) < 1e-9 }
	check := func(name string, got, want Truth) {
		t.Helper()
		for _, f := range []struct {
			field     string
			got, want float64
		}{
			{"RPS", got.RPS, want.RPS}, {"Success", got.Success, want.Success}, {"Err4xx", got.Err4xx, want.Err4xx},
			{"Err5xx", got.Err5xx, want.Err5xx}, {"Active", got.Active, want.Active},
			{"P50", got.P50, want.P50}, {"P90", got.P90, want.P90}, {"P99", got.P99, want.P99},
		} {
			if !same(f.got, f.want) {
				t.Errorf("%s %s = %v, want %v", name, f.field, f.got, f.want)
			}
		}
	}
	check("checkout", got, want)
	for _, c := range f.Clusters {
		check(c.Name, GroupTruth(c), c.Truth())
	}
	idle := Cluster{Name: "idle", Latency: Uniform(1, 5)}
	check("idle", GroupTruth(idle), idle.Truth())
	bare := Cluster{Name: "bare", RPS: 40}
	mixed := GroupTruth(r0, bare)
	if !same(mixed.P99, r0.Truth().P99) || !same(mixed.RPS, 70) {
		t.Errorf("a member without latency moved the percentiles or dropped its rate: %+v", mixed)
	}
}
