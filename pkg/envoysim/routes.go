package envoysim

import (
	"math"
	"time"
)

// RoutesFleet is a gateway in front of team-a and team-b, with the cluster names Envoy Gateway
// gives the rules of Gateway API routes (KIND/NAMESPACE/NAME/rule/INDEX): the HTTPRoute
// team-a/checkout has two rules, the second failing more and slower, so a row per route has
// something to sum; the GRPCRoute team-a/echo has one; team-b_cart_8080 is a Contour upstream,
// which encodes no route of its own. Rates are constant and latency segments are aligned with
// Envoy's buckets, so [GroupTruth] is what a dashboard grouping by route shows.
func RoutesFleet(start time.Time) *Fleet {
	return &Fleet{
		Start: start,
		Pods:  []string{"envoy-gateway-0", "envoy-gateway-1"},
		Clusters: []Cluster{
			{
				Name: "httproute/team-a/checkout/rule/0", RPS: 30, ErrorRatio: 0.01, ClientErrorRatio: 0.02,
				Latency: Latency{{0.9, 10, 25}, {0.1, 25, 50}}, Active: 3, MembersHealthy: 2, MembersTotal: 2,
			},
			{
				Name: "httproute/team-a/checkout/rule/1", RPS: 10, ErrorRatio: 0.1, ClientErrorRatio: 0.05,
				Latency: Latency{{0.5, 25, 50}, {0.5, 100, 250}}, Active: 2, MembersHealthy: 1, MembersTotal: 1,
			},
			{
				Name: "grpcroute/team-a/echo/rule/0", RPS: 8, Latency: Uniform(1, 5), Active: 1, MembersHealthy: 1, MembersTotal: 1,
			},
			{
				Name: "team-b_cart_8080", RPS: 20, ErrorRatio: 0.002, Latency: Latency{{0.8, 5, 10}, {0.2, 10, 25}},
				Active: 1, MembersHealthy: 2, MembersTotal: 2,
			},
		},
		Listeners: []Listener{
			{
				Prefix: "http-80", RPS: 68, ErrorRatio: 0.02, ClientErrorRatio: 0.02,
				Latency: Latency{{0.8, 10, 25}, {0.2, 25, 250}}, Active: 7, Connections: 40,
			},
		},
	}
}

// GroupTruth is what a correct dashboard shows for clusters summed into one row, each at its
// constant rate (Wave 0, no Step): their requests, 4xx, 5xx and requests in flight add up; the
// success ratio is the non-5xx share of all their responses; the percentiles are those of all
// their requests, the latency distributions mixed in proportion to each cluster's rate (a
// cluster without a distribution records no latency, and so adds none). Never the average of the
// members' ratios or percentiles.
func GroupTruth(clusters ...Cluster) Truth {
	t := Truth{Success: math.NaN(), P50: math.NaN(), P90: math.NaN(), P99: math.NaN(), Err4xx: math.NaN(), Err5xx: math.NaN()}
	var not5xx, c4xx, c5xx float64
	var mix Latency
	for _, c := range clusters {
		ct := c.Truth()
		t.RPS += c.RPS
		t.Active += ct.Active
		if c.RPS <= 0 {
			continue
		}
		not5xx += c.RPS * (1 - c.ErrorRatio)
		c4xx += ct.Err4xx
		c5xx += ct.Err5xx
		if w := c.Latency.weight(); w > 0 {
			for _, s := range c.Latency {
				mix = append(mix, Segment{Weight: s.Weight / w * c.RPS, LoMs: s.LoMs, HiMs: s.HiMs})
			}
		}
	}
	if t.RPS > 0 {
		t.Success, t.Err4xx, t.Err5xx = not5xx/t.RPS, c4xx, c5xx
		if len(mix) > 0 {
			t.P50, t.P90, t.P99 = mix.Quantile(0.5), mix.Quantile(0.9), mix.Quantile(0.99)
		}
	}
	return t
}
