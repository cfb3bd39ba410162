package envoysim

import (
	"fmt"
	"time"
)

// DemoFleet is a small shop behind three Envoy pods with Contour-style cluster names
// (<namespace>_<service>_<port>): busy and quiet services, a canary pair
// (shop_checkout-primary_8080 and shop_checkout-canary_8080, the canary failing more and slower),
// a slow service (shop_recommendations_8080), an erroring one with timeouts, retries and an
// ejected endpoint (payments_gateway_443), an idle one (shop_legacy-reports_8080), and a Wave on
// the busy ones so that a live dashboard moves. The canary pair and payments are virtual clusters
// of the virtual host shop, and the cart a route with stat_prefix (vhost statistics, for
// --group-by vhost). Latency segments are aligned with Envoy's buckets.
func DemoFleet(start time.Time) *Fleet {
	return &Fleet{
		Start: start,
		Pods:  []string{"envoy-6d8f7c9b5-2xkqp", "envoy-6d8f7c9b5-9mzlw", "envoy-6d8f7c9b5-tq5rn"},
		Clusters: []Cluster{
			{
				Name: "shop_frontend_80", RPS: 180, Wave: 0.3, ErrorRatio: 0.001, ClientErrorRatio: 0.02,
				Latency: Latency{{0.6, 5, 10}, {0.35, 10, 25}, {0.05, 25, 100}},
				Active:  6, MembersHealthy: 4, MembersTotal: 4, RetryRatio: 0.001,
			},
			{
				Name: "shop_checkout-primary_8080", RPS: 42, Wave: 0.2, ErrorRatio: 0.002, ClientErrorRatio: 0.005,
				Latency: Latency{{0.5, 10, 25}, {0.45, 25, 50}, {0.05, 50, 250}},
				Active:  3, MembersHealthy: 3, MembersTotal: 3,
				VirtualHost: "shop", VirtualCluster: "checkout",
			},
			{
				Name: "shop_checkout-canary_8080", RPS: 4.5, Wave: 0.2, ErrorRatio: 0.06, ClientErrorRatio: 0.005,
				TimeoutRatio: 0.01, Latency: Latency{{0.3, 10, 25}, {0.5, 25, 100}, {0.2, 100, 500}},
				Active: 1, MembersHealthy: 1, MembersTotal: 1,
				VirtualHost: "shop", VirtualCluster: "checkout",
			},
			{
				Name: "shop_cart_8080", RPS: 65, Wave: 0.25, ErrorRatio: 0.0005,
				Latency: Latency{{0.7, 1, 5}, {0.28, 5, 25}, {0.02, 25, 100}},
				Active:  2, MembersHealthy: 2, MembersTotal: 2,
				VirtualHost: "shop", RouteStat: "cart",
			},
			{
				Name: "shop_catalog_8080", RPS: 120, Wave: 0.35, ClientErrorRatio: 0.03,
				Latency: Latency{{0.8, 1, 5}, {0.19, 5, 10}, {0.01, 10, 50}},
				Active:  3, MembersHealthy: 3, MembersTotal: 3,
			},
			{
				Name: "shop_recommendations_8080", RPS: 18, Wave: 0.15, ErrorRatio: 0.003, TimeoutRatio: 0.001,
				PendingOverflowRatio: 0.002, Latency: Latency{{0.3, 250, 500}, {0.5, 500, 1000}, {0.2, 1000, 2500}},
				Active: 25, MembersHealthy: 2, MembersTotal: 2,
			},
			{
				Name: "payments_gateway_443", RPS: 14, Wave: 0.1, ErrorRatio: 0.12, TimeoutRatio: 0.04,
				PerTryTimeoutRatio: 0.05, RetryRatio: 0.1, RetryOverflowRatio: 0.01, RxResetRatio: 0.02,
				Latency: Latency{{0.6, 25, 100}, {0.3, 100, 500}, {0.1, 1000, 5000}},
				Active:  5, EjectionsActive: 1, MembersHealthy: 2, MembersTotal: 3,
				VirtualHost: "shop", VirtualCluster: "payments",
			},
			{
				Name: "shop_search_9200", RPS: 35, Wave: 0.2, ErrorRatio: 0.001,
				Latency: Latency{{0.5, 5, 25}, {0.5, 25, 100}},
				Active:  2, MembersHealthy: 3, MembersTotal: 3,
			},
			{
				Name: "auth_tokens_8080", RPS: 210, Wave: 0.3, ClientErrorRatio: 0.04,
				Latency: Latency{{0.9, 0.5, 1}, {0.1, 1, 5}},
				Active:  1, MembersHealthy: 2, MembersTotal: 2,
			},
			{
				Name: "shop_legacy-reports_8080", MembersHealthy: 1, MembersTotal: 1,
				Latency: Latency{{1, 100, 250}},
			},
			{
				Name: "default_kuard_80", RPS: 2, Latency: Uniform(1, 5), MembersHealthy: 1, MembersTotal: 1,
			},
		},
		Listeners: []Listener{
			{
				Prefix: "ingress_http", RPS: 190, Wave: 0.3, ErrorRatio: 0.002, ClientErrorRatio: 0.03,
				Latency: Latency{{0.5, 10, 25}, {0.45, 25, 100}, {0.05, 100, 500}},
				Active:  9, Connections: 120,
			},
			{
				Prefix: "ingress_https", RPS: 60, Wave: 0.2, ErrorRatio: 0.01, ClientErrorRatio: 0.01,
				Latency: Latency{{0.6, 10, 50}, {0.4, 50, 250}},
				Active:  4, Connections: 45,
			},
			{
				Prefix: "admin", RPS: 0.2, Latency: Latency{{1, 0.5, 1}}, Connections: 3,
			},
		},
	}
}

// DemoHistory gives f, a DemoFleet, a past worth comparing the present with: a daily shape on
// every busy cluster and listener (Daily up to 0.4, so that Wave + Daily stays within 1; the
// traffic peaks at 14:00 UTC), and shop_search_9200 at 2.5 times its traffic since a launch two
// days before now, so that against a week ago it stands out.
func DemoHistory(f *Fleet, now time.Time) {
	for i := range f.Clusters {
		c := &f.Clusters[i]
		if c.RPS >= 10 {
			c.Daily = min(0.4, 1-c.Wave)
		}
		if c.Name == "shop_search_9200" {
			c.Step = Step{At: now.Add(-48 * time.Hour), Factor: 2.5}
		}
	}
	for i := range f.Listeners {
		if l := &f.Listeners[i]; l.RPS >= 10 {
			l.Daily = min(0.4, 1-l.Wave)
		}
	}
}

// ScaleFleet is a fleet of n clusters (named team-NN_svc-NNNNN_8080) for load tests: most busy,
// every tenth failing more, every twentieth idle, latency from a handful of bucket-aligned
// shapes. It is deterministic: the same arguments give the same fleet. Its series count per pod
// is about 40 per cluster.
func ScaleFleet(start time.Time, n int, pods int) *Fleet {
	shapes := []Latency{
		{{0.9, 1, 5}, {0.1, 5, 25}},
		{{0.5, 5, 25}, {0.5, 25, 100}},
		{{0.6, 10, 50}, {0.35, 50, 250}, {0.05, 250, 1000}},
		{{0.3, 100, 250}, {0.6, 250, 1000}, {0.1, 1000, 5000}},
	}
	f := &Fleet{Start: start}
	for i := range pods {
		f.Pods = append(f.Pods, fmt.Sprintf("envoy-%d", i))
	}
	seed := uint64(0x9e3779b97f4a7c15)
	next := func() float64 { // splitmix64 → [0, 1)
		seed += 0x9e3779b97f4a7c15
		z := seed
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return float64((z^(z>>31))>>11) / (1 << 53)
	}
	for i := range n {
		c := Cluster{
			Name:             fmt.Sprintf("team-%02d_svc-%05d_8080", i%50, i),
			RPS:              float64(1 + int(next()*200)),
			ErrorRatio:       float64(int(next()*5)) / 1000,
			ClientErrorRatio: float64(int(next()*20)) / 1000,
			Latency:          shapes[i%len(shapes)],
			Active:           float64(int(next() * 10)),
			MembersHealthy:   3,
			MembersTotal:     3,
		}
		switch {
		case i%20 == 19:
			c.RPS, c.ErrorRatio, c.ClientErrorRatio, c.Active = 0, 0, 0, 0
		case i%10 == 9:
			c.ErrorRatio, c.TimeoutRatio, c.RetryRatio = 0.05+next()*0.1, 0.01, 0.05
		}
		f.Clusters = append(f.Clusters, c)
	}
	f.Listeners = []Listener{{Prefix: "ingress_http", RPS: 1000, ErrorRatio: 0.001,
		Latency: Latency{{0.5, 5, 25}, {0.5, 25, 100}}, Active: 50, Connections: 400}}
	return f
}
