package traffic

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// TestRoute reads the routes cluster names encode, as their users wrote them, and refuses the
// names that only look like one: wrong case, a missing or extra part, a rule that is no number,
// controls and quotes.
func TestRoute(t *testing.T) {
	tests := []struct {
		naming  Naming
		cluster string
		route   string // "" when the name encodes none
		gateway bool
		group   string // RouteGroup's answer
	}{
		{NamingAuto, "httproute/team-a/checkout/rule/0", "team-a/checkout rule 0", true, "httproute/team-a/checkout"},
		{NamingAuto, "httproute/team-a/checkout/rule/12", "team-a/checkout rule 12", true, "httproute/team-a/checkout"},
		{NamingAuto, "httproute/team-a/checkout", "team-a/checkout", true, "httproute/team-a/checkout"},
		{NamingAuto, "grpcroute/team-a/echo/rule/1", "GRPCRoute team-a/echo rule 1", true, "grpcroute/team-a/echo"},
		{NamingAuto, "tcproute/db/postgres/rule/-1", "TCPRoute db/postgres rule -1", true, "tcproute/db/postgres"},
		{NamingAuto, "tlsroute/edge/api.example.com/rule/0", "TLSRoute edge/api.example.com rule 0", true, "tlsroute/edge/api.example.com"},
		{NamingAuto, "udproute/dns/coredns", "UDPRoute dns/coredns", true, "udproute/dns/coredns"},
		{NamingAuto, "shop_checkout_8080", "shop/checkout:8080", false, "shop_checkout_8080"},
		{NamingContour, "shop_checkout-canary_8080", "shop/checkout-canary:8080", false, "shop_checkout-canary_8080"},
		{NamingEmissary, "checkout_shop_8080", "checkout.shop:8080", false, "checkout_shop_8080"},
		// Only auto knows Envoy Gateway's names; the other schemes keep their own.
		{NamingContour, "httproute/team-a/checkout/rule/0", "", false, "httproute/team-a/checkout/rule/0"},
		{NamingNone, "shop_checkout_8080", "", false, "shop_checkout_8080"},
		{NamingIstio, "outbound|80||a.b.svc.cluster.local", "", false, "outbound|80||a.b.svc.cluster.local"},
		// Hostile and near misses: no route, each its own group.
		{NamingAuto, "HTTPRoute/team-a/checkout/rule/0", "", false, "HTTPRoute/team-a/checkout/rule/0"},
		{NamingAuto, "httproute/Team-A/checkout/rule/0", "", false, "httproute/Team-A/checkout/rule/0"},
		{NamingAuto, "httproute//checkout/rule/0", "", false, "httproute//checkout/rule/0"},
		{NamingAuto, "httproute/team-a/checkout/rule/x", "", false, "httproute/team-a/checkout/rule/x"},
		{NamingAuto, "httproute/team-a/checkout/rule/0/match/1", "", false, "httproute/team-a/checkout/rule/0/match/1"},
		{NamingAuto, "httproute/team-a/checkout/rule/", "", false, "httproute/team-a/checkout/rule/"},
		{NamingAuto, "httproute/team-a/check\x1b[2Jout/rule/0", "", false, "httproute/team-a/check\x1b[2Jout/rule/0"},
		{NamingAuto, "httproute/team-a/checkout/rule/0\n", "", false, "httproute/team-a/checkout/rule/0\n"},
		{NamingAuto, `httproute/team-a/check"out/rule/0`, "", false, `httproute/team-a/check"out/rule/0`},
		{NamingAuto, "xhttproute/team-a/checkout/rule/0", "", false, "xhttproute/team-a/checkout/rule/0"},
		{NamingAuto, "", "", false, ""},
	}
	for _, tt := range tests {
		r, ok := tt.naming.Route(tt.cluster)
		if ok != (tt.route != "") || (ok && (r.String() != tt.route || r.Gateway() != tt.gateway)) {
			t.Errorf("%s %q: route %q (%v, gateway %v), want %q (gateway %v)", tt.naming, tt.cluster, r.String(), ok, r.Gateway(), tt.route, tt.gateway)
		}
		if g := RouteGroup(tt.naming, tt.cluster); g != tt.group {
			t.Errorf("%s %q: group %q, want %q", tt.naming, tt.cluster, g, tt.group)
		}
		// A route's group is itself a route, the route as a whole, with the route's Service.
		if tt.gateway {
			whole, ok := tt.naming.Route(tt.group)
			if !ok || whole.Rule != "" || whole.Namespace != r.Namespace || whole.Name != r.Name || whole.Kind != r.Kind {
				t.Errorf("%q: group %q reads as %+v (%v)", tt.cluster, tt.group, whole, ok)
			}
			ns, svc, ok := tt.naming.Service(tt.group)
			if !ok || ns != r.Namespace || svc != r.Name {
				t.Errorf("%q: group %q has Service %s/%s (%v)", tt.cluster, tt.group, ns, svc, ok)
			}
		}
	}
}

// TestRouteMembersQuoteTheName: a route group's members are matched by a regular expression in
// which the group's name is quoted (its dots match dots only), and the expression is printed
// quoted into PromQL; the group matches the rules of its route and the route itself, nothing
// else.
func TestRouteMembersQuoteTheName(t *testing.T) {
	m, ok := routeMembers(NamingAuto, "envoy_cluster_name", "tlsroute/edge/api.example.com")
	if !ok {
		t.Fatal("a route group has members")
	}
	for name, want := range map[string]bool{
		"tlsroute/edge/api.example.com":           true,
		"tlsroute/edge/api.example.com/rule/0":    true,
		"tlsroute/edge/api.example.com/rule/-1":   true,
		"tlsroute/edge/apiXexample.com/rule/0":    false,
		"tlsroute/edge/api.example.com/rule/0/x":  false,
		"tlsroute/edge/api.example.com.evil":      false,
		"tlsroute/edge/api.example.com/rule/1/..": false,
	} {
		if m.Matches(name) != want {
			t.Errorf("%q matches %q: %v, want %v", m.Value, name, !want, want)
		}
	}
	text, err := promql.Check(promql.Series("x", m))
	if err != nil || !strings.Contains(text, `envoy_cluster_name=~"tlsroute/edge/api\\.example\\.com(?:/rule/-?[0-9]+)?"`) {
		t.Errorf("printed as %s (%v)", text, err)
	}
	for _, name := range []string{"httproute/team-a/checkout/rule/0", "shop_checkout_8080", `a"b`} {
		if _, ok := routeMembers(NamingAuto, "envoy_cluster_name", name); ok {
			t.Errorf("%q is a cluster, not a group of members", name)
		}
	}
}

// TestGroupingByRouteKeepsTheQueryCount: grouped by route, a refresh sends as many queries as a
// row per cluster does, in every dialect and source; each cluster query sums by the group label
// (none by the cluster label any more), parses back, and groups the clusters the Go rule
// groups; the listener queries are untouched.
func TestGroupingByRouteKeepsTheQueryCount(t *testing.T) {
	for _, tc := range []struct {
		d   promql.Dialect
		src Source
	}{
		{promql.DialectEnvoy, SourceRaw}, {promql.DialectIstio, SourceRaw}, {promql.DialectEnvoy, SourceRules},
	} {
		cfg := Config{Dialect: tc.d, Selector: promql.Namespace("edge"), Window: time.Minute, Source: tc.src}
		flat, err := NewCollector(&fakeQuerier{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.GroupBy = GroupByRoute
		grouped, err := NewCollector(&fakeQuerier{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		fq, gq := flat.Queries(), grouped.Queries()
		if len(fq) != len(gq) || len(flat.HistoryQueries()) != len(grouped.HistoryQueries()) {
			t.Errorf("%s %s: %d queries grouped, %d not", tc.d.Name, tc.src, len(gq), len(fq))
		}
		for i, q := range grouped.frame {
			e, err := parser.NewParser(parser.Options{}).ParseExpr(q.text)
			if err != nil {
				t.Fatalf("%s: %v", q.text, err)
			}
			if q.listener != nil {
				if q.text != flat.frame[i].text {
					t.Errorf("listener query changed: %s", q.text)
				}
				continue
			}
			if q.label != promql.LabelGroup {
				t.Errorf("%s: rows named by %q", q.text, q.label)
			}
			sums := 0
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if agg, ok := n.(*parser.AggregateExpr); ok {
					for _, l := range agg.Grouping {
						if l == promql.LabelGroup {
							sums++
						}
						if l == tc.d.Cluster || l == promql.LabelCluster {
							t.Errorf("%s still sums by %s", q.text, l)
						}
					}
				}
				return nil
			})
			if sums == 0 || !strings.Contains(q.text, `"(`+gatewayRoutePattern+`)`+gatewayRuleSuffix+`"`) {
				t.Errorf("%s: not grouped by route", q.text)
			}
		}
	}
}

// TestGroupedRowsAreNamedByRoute folds the answers of grouped queries: the rows are the groups
// the answers name, called by their routes, with the Service of the route or upstream; a
// grouped frame says so; a row per cluster names only Gateway API routes by route.
func TestGroupedRowsAreNamedByRoute(t *testing.T) {
	answer := func(label string, names ...string) func(string) Vector {
		return func(q string) Vector {
			var v Vector
			for _, n := range names {
				v = append(v, sample(map[string]string{label: n, "envoy_response_code_class": "2"}, 10))
			}
			return v
		}
	}
	grouped, err := NewCollector(&fakeQuerier{answers: answer(promql.LabelGroup, "httproute/team-a/checkout", "shop_cart_8080", "xds_cluster")},
		Config{Dialect: promql.DialectEnvoy, Window: time.Minute, GroupBy: GroupByRoute})
	if err != nil {
		t.Fatal(err)
	}
	f, err := grouped.Frame(context.Background(), time.Unix(1e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if f.GroupBy != GroupByRoute {
		t.Errorf("frame grouped by %q", f.GroupBy)
	}
	want := map[string][3]string{
		"httproute/team-a/checkout": {"team-a/checkout", "team-a", "checkout"},
		"shop_cart_8080":            {"shop/cart:8080", "shop", "cart"},
		"xds_cluster":               {"", "", ""},
	}
	for _, r := range f.Rows {
		w, ok := want[r.Name]
		if !ok || r.Route != w[0] || r.Namespace != w[1] || r.Service != w[2] {
			t.Errorf("row %q: route %q, service %s/%s; want %v", r.Name, r.Route, r.Namespace, r.Service, w)
		}
		delete(want, r.Name)
	}
	if len(want) > 0 {
		t.Errorf("no rows for %v", want)
	}

	flat, err := NewCollector(&fakeQuerier{answers: answer("envoy_cluster_name", "httproute/team-a/checkout/rule/1", "shop_cart_8080")},
		Config{Dialect: promql.DialectEnvoy, Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	f, err = flat.Frame(context.Background(), time.Unix(1e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Rows {
		want := map[string]string{"httproute/team-a/checkout/rule/1": "team-a/checkout rule 1", "shop_cart_8080": ""}[r.Name]
		if r.Route != want {
			t.Errorf("row per cluster %q: route %q, want %q", r.Name, r.Route, want)
		}
	}
}

// TestParseGroupBy accepts the documented values and refuses others with the list.
func TestParseGroupBy(t *testing.T) {
	for in, want := range map[string]GroupBy{"": GroupByCluster, "cluster": GroupByCluster, "route": GroupByRoute} {
		if g, err := ParseGroupBy(in); err != nil || g != want {
			t.Errorf("%q: %q, %v", in, g, err)
		}
	}
	if _, err := ParseGroupBy("routes"); err == nil || !strings.Contains(err.Error(), GroupByNames()) {
		t.Errorf("routes: %v", err)
	}
}
