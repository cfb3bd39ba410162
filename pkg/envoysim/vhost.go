package envoysim

import (
	"cmp"
	"slices"
	"time"
)

// vhostState is the statistics of one virtual cluster or route in one pod: the sums of the
// states of the clusters whose requests it matched (Cluster.VirtualHost).
type vhostState struct {
	host, vcluster, route string
	state
}

// vhostExtras are the counters of a virtual cluster or route among a cluster's extras, by their
// index there and their name in Envoy's virtual cluster statistics.
var vhostExtras = []struct {
	extra int
	name  string
}{{0, "timeout"}, {2, "retry"}, {3, "retry_overflow"}}

// vhosts sums the renderer's clusters into the virtual clusters and routes they belong to, sorted
// by virtual host, then virtual cluster or route. r.clusters must be in the fleet's order.
func (r *renderer) vhosts() []vhostState {
	var out []vhostState
	for i := range r.f.Clusters {
		c := &r.f.Clusters[i]
		if c.VirtualHost == "" {
			continue
		}
		j := slices.IndexFunc(out, func(v vhostState) bool {
			return v.host == c.VirtualHost && v.vcluster == c.VirtualCluster && v.route == c.RouteStat
		})
		if j < 0 {
			out = append(out, vhostState{host: c.VirtualHost, vcluster: c.VirtualCluster, route: c.RouteStat})
			j = len(out) - 1
		}
		out[j].add(&r.clusters[i])
	}
	slices.SortFunc(out, func(a, b vhostState) int {
		return cmp.Or(cmp.Compare(a.host, b.host), cmp.Compare(a.vcluster, b.vcluster), cmp.Compare(a.route, b.route))
	})
	return out
}

// add counts st's requests in v as well.
func (v *vhostState) add(st *state) {
	v.total += st.total
	for k := range st.codes {
		v.codes[k] += st.codes[k]
	}
	for k := range st.classes {
		v.classes[k] += st.classes[k]
	}
	for _, e := range vhostExtras {
		v.extras[e.extra] += st.extras[e.extra]
	}
	if !st.hist {
		return
	}
	v.hist = true
	for k := range st.buckets {
		v.buckets[k] += st.buckets[k]
	}
	v.sum += st.sum
	// The distribution of both clusters' requests, each in proportion to its requests.
	if w := st.latency.weight(); w > 0 && st.n > 0 {
		for _, s := range st.latency {
			v.latency = append(v.latency, Segment{Weight: s.Weight / w * st.n, LoMs: s.LoMs, HiMs: s.HiMs})
		}
	}
	v.n += st.n
}

// vhostFamilies adds the virtual host statistics of stock Envoy: for each kind (vcluster, route)
// the code and class counters, the total, timeouts, retries and retry overflows, and the latency
// histogram, labelled as Envoy's default tags label them.
func vhostFamilies(add func(name, typ string, emit func(r *renderer, s sink, fam *family))) {
	for _, kind := range []struct {
		prefix, label string
		of            func(v *vhostState) string
	}{
		{"envoy_vhost_vcluster_", "envoy_virtual_cluster", func(v *vhostState) string { return v.vcluster }},
		{"envoy_vhost_route_", "envoy_route", func(v *vhostState) string { return v.route }},
	} {
		// each calls fn for every virtual cluster (or route) of the pod with its labels in
		// r.ls[1:3]; fn puts its own label, if any, in r.ls[0].
		each := func(r *renderer, fn func(v *vhostState)) {
			for i := range r.vhostStates {
				v := &r.vhostStates[i]
				if name := kind.of(v); name != "" {
					r.ls[1], r.ls[2] = label{kind.label, name}, label{"envoy_virtual_host", v.host}
					fn(v)
				}
			}
		}
		add(kind.prefix+"upstream_rq", "counter", func(r *renderer, s sink, fam *family) {
			each(r, func(v *vhostState) {
				for k, code := range codeNames {
					if v.codes[k] > 0 {
						r.ls[0] = label{"envoy_response_code", code}
						s.uint(fam.name, r.ls[:3], v.codes[k])
					}
				}
			})
		})
		add(kind.prefix+"upstream_rq_xx", "counter", func(r *renderer, s sink, fam *family) {
			each(r, func(v *vhostState) {
				for _, class := range []int{2, 4, 5} {
					if v.classes[class] > 0 {
						r.ls[0] = label{"envoy_response_code_class", classValues[Stock][class]}
						s.uint(fam.name, r.ls[:3], v.classes[class])
					}
				}
			})
		})
		add(kind.prefix+"upstream_rq_total", "counter", func(r *renderer, s sink, fam *family) {
			each(r, func(v *vhostState) { s.uint(fam.name, r.ls[1:3], v.total) })
		})
		for _, e := range vhostExtras {
			add(kind.prefix+"upstream_rq_"+e.name, "counter", func(r *renderer, s sink, fam *family) {
				each(r, func(v *vhostState) { s.uint(fam.name, r.ls[1:3], v.extras[e.extra]) })
			})
		}
		add(kind.prefix+"upstream_rq_time", "histogram", func(r *renderer, s sink, fam *family) {
			each(r, func(v *vhostState) {
				if !v.hist {
					return
				}
				ls := r.ls[1:3]
				if ns, ok := s.(nativeSink); ok {
					ns.histogram(fam, ls, &v.state)
					return
				}
				for b, n := range v.buckets {
					s.bucket(fam.bucketName, ls, b, n)
				}
				s.float(fam.sumName, ls, v.sum)
				s.uint(fam.countName, ls, v.total)
			})
		})
	}
}

// VirtualHostsFleet is a gateway whose virtual host shop has two virtual clusters and a route
// with stat_prefix: checkout's requests go to two clusters (the second failing more and
// slower, so a row of the virtual cluster has something to sum), search's to one, and the route
// cart's to one; static_8080 serves no virtual cluster or counted route. Rates are constant and
// latency segments are aligned with Envoy's buckets, so [GroupTruth] of a virtual cluster's
// clusters is what a dashboard of virtual hosts shows (VirtualHostGroups).
func VirtualHostsFleet(start time.Time) *Fleet {
	return &Fleet{
		Start: start,
		Pods:  []string{"envoy-0", "envoy-1"},
		Clusters: []Cluster{
			{
				Name: "checkout_v1_8080", RPS: 30, ErrorRatio: 0.01, ClientErrorRatio: 0.02, TimeoutRatio: 0.005,
				Latency: Latency{{0.9, 10, 25}, {0.1, 25, 50}}, Active: 3, MembersHealthy: 2, MembersTotal: 2,
				VirtualHost: "shop", VirtualCluster: "checkout",
			},
			{
				Name: "checkout_v2_8080", RPS: 10, ErrorRatio: 0.1, ClientErrorRatio: 0.05, RetryRatio: 0.05,
				Latency: Latency{{0.5, 25, 50}, {0.5, 100, 250}}, Active: 2, MembersHealthy: 1, MembersTotal: 1,
				VirtualHost: "shop", VirtualCluster: "checkout",
			},
			{
				Name: "search_9200", RPS: 20, ErrorRatio: 0.002, Latency: Latency{{0.8, 5, 10}, {0.2, 10, 25}},
				VirtualHost: "shop", VirtualCluster: "search",
			},
			{Name: "cart_8080", RPS: 8, Latency: Uniform(1, 5), VirtualHost: "shop", RouteStat: "cart"},
			{Name: "static_8080", RPS: 5, Latency: Uniform(1, 5)},
		},
	}
}

// VirtualHostGroups are the rows of VirtualHostsFleet by virtual host, named as Envoy names the
// statistics, and the clusters each sums.
func VirtualHostGroups() map[string][]string {
	return map[string][]string{
		"vhost.shop.vcluster.checkout": {"checkout_v1_8080", "checkout_v2_8080"},
		"vhost.shop.vcluster.search":   {"search_9200"},
		"vhost.shop.route.cart":        {"cart_8080"},
	}
}
