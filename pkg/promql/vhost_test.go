package promql

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestVirtualHostsRewritesClusterQueries(t *testing.T) {
	sel := Namespace(`edge"x`)
	for _, tc := range []struct {
		name string
		expr string
		want []string
	}{
		{"rate", mustCheck(t, VirtualHosts(UpstreamRequestRate(DialectEnvoy, sel, time.Minute), DialectEnvoy.Cluster)), []string{
			`sum by (promteam_group) (label_replace(label_replace(label_join(rate({__name__=~"envoy_vhost_(?:vcluster|route)_upstream_rq_total",namespace="edge\"x"}[1m]), "promteam_group", ".", "envoy_virtual_host", "envoy_virtual_cluster", "envoy_route"), "promteam_group", "vhost.$1.vcluster.$2", "promteam_group", "([^.]+)\\.([^.]+)\\."), "promteam_group", "vhost.$1.route.$2", "promteam_group", "([^.]+)\\.\\.([^.]+)"))`,
		}},
		{"latency keeps le", mustCheck(t, VirtualHosts(UpstreamLatency(DialectEnvoy, sel, 0.99, time.Minute), DialectEnvoy.Cluster)), []string{
			`sum by (promteam_group, le)`, `envoy_vhost_(?:vcluster|route)_upstream_rq_time_bucket`,
		}},
		{"listeners stay", mustCheck(t, VirtualHosts(DownstreamRequestRate(DialectEnvoy, sel, time.Minute), DialectEnvoy.Cluster)), []string{
			`envoy_http_downstream_rq_total{namespace="edge\"x"}`, `sum by (envoy_http_conn_manager_prefix)`,
		}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.expr, w) {
				t.Errorf("%s: %s\nlacks %s", tc.name, tc.expr, w)
			}
		}
		if strings.Contains(tc.expr, "envoy_cluster_") {
			t.Errorf("%s: %s still reads a cluster statistic", tc.name, tc.expr)
		}
	}
}

func mustCheck(t *testing.T, e parser.Expr) string {
	t.Helper()
	text, err := Check(e)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestVirtualHostMembers(t *testing.T) {
	for name, want := range map[string]string{
		"vhost.shop.vcluster.checkout": `envoy_virtual_host="shop" envoy_virtual_cluster="checkout"`,
		"vhost.a/b.route.cart":         `envoy_virtual_host="a/b" envoy_route="cart"`,
		// Quoted, never spliced.
		`vhost.shop.vcluster.x"}`: `envoy_virtual_host="shop" envoy_virtual_cluster="x\"}"`,
	} {
		ms, ok := VirtualHostMembers(name)
		var got []string
		for _, m := range ms {
			got = append(got, m.String())
		}
		if !ok || strings.Join(got, " ") != want {
			t.Errorf("VirtualHostMembers(%q) = %v, %v; want %s", name, got, ok, want)
		}
	}
	for _, name := range []string{"checkout_8080", "vhost.shop.vcluster", "vhost.shop.other.x", "vhost.a.b.vcluster.c"} {
		if ms, ok := VirtualHostMembers(name); ok {
			t.Errorf("VirtualHostMembers(%q) = %v, want no match", name, ms)
		}
	}
}
