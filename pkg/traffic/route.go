package traffic

import (
	"fmt"
	"regexp"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// GroupBy is what a row stands for: one upstream cluster, or one route and every cluster it
// sends to.
type GroupBy string

// The groupings.
const (
	// GroupByCluster is a row per upstream cluster, the default.
	GroupByCluster GroupBy = "cluster"
	// GroupByRoute is a row per route: the clusters whose names encode one route (the rules of
	// an Envoy Gateway HTTPRoute) are summed into one row; a cluster that encodes no route, or
	// the upstream of one (Contour, Emissary), is a row of its own.
	GroupByRoute GroupBy = "route"
	// GroupByVhost is a row per virtual cluster and per route of Envoy's virtual host
	// statistics (vhost.H.vcluster.VC, and vhost.H.route.R where a route sets stat_prefix),
	// where Envoy exposes them: requests, responses and latency as the clients of that virtual
	// host saw them, whichever clusters served them. They are stock Envoy's own series; the
	// recording rules keep clusters only.
	GroupByVhost GroupBy = "vhost"
)

// GroupByNames lists the accepted --group-by values.
func GroupByNames() string { return "cluster, route, vhost" }

// ParseGroupBy reads a --group-by value; "" is cluster.
func ParseGroupBy(s string) (GroupBy, error) {
	switch g := GroupBy(s); g {
	case "":
		return GroupByCluster, nil
	case GroupByCluster, GroupByRoute, GroupByVhost:
		return g, nil
	}
	return "", fmt.Errorf("unknown grouping %q; use one of %s", s, GroupByNames())
}

// Route is what a cluster name says about the route that sends traffic to it, in the words of the
// resource its user wrote.
//
// Envoy Gateway names the cluster of each rule of a Gateway API route
// KIND/NAMESPACE/NAME/rule/INDEX, the kind in lower case (irRouteDestinationName in its gatewayapi
// translator: "%s/%s/%s/rule/%d" over the route prefix and the rule's index); TCP and UDP routes of
// some releases are KIND/NAMESPACE/NAME alone (irTCPRouteName). The rules of one route are so
// several clusters, and the route without its rule names the group of them all.
//
// Contour and Emissary name a cluster's statistics after its upstream Service, not the route:
// Contour NAMESPACE_SERVICE_PORT (altStatName in internal/envoy/v3/cluster.go, "using format
// ns_name_port"), the Service and port an HTTPProxy's route lists under services; Emissary after a
// Mapping's service with every character that is not alphanumeric turned into '_' (its stats_name
// default since 2.0.1), so service: SERVICE.NAMESPACE:PORT becomes SERVICE_NAMESPACE_PORT. Such a
// route is its upstream, NAMESPACE/SERVICE:PORT for Contour and SERVICE.NAMESPACE:PORT for
// Emissary, as the user wrote it.
type Route struct {
	// Kind is the Gateway API kind as its resources spell it (HTTPRoute, GRPCRoute, TLSRoute,
	// TCPRoute, UDPRoute), "" for a Contour or Emissary upstream.
	Kind string
	// Namespace and Name are the route's for a Gateway API route, the upstream Service's
	// otherwise.
	Namespace, Name string
	// Rule is the index of a Gateway API route's rule, "" for the route as a whole.
	Rule string
	// Port is the upstream Service's port (Contour, Emissary).
	Port string
	// emissary prints the upstream as an Emissary Mapping's service.
	emissary bool
}

// routeKinds are the lower-case Gateway API kinds Envoy Gateway puts first in a cluster name, and
// their spelling.
var routeKinds = map[string]string{
	"httproute": "HTTPRoute", "grpcroute": "GRPCRoute", "tlsroute": "TLSRoute", "tcproute": "TCPRoute", "udproute": "UDPRoute",
}

// gatewayRoutePattern is KIND/NAMESPACE/NAME: a namespace is a DNS label, a route's name a DNS
// subdomain. PromQL's label_replace and Go's regexp are both RE2, so the same text groups rows in
// a query (routeGroupRules) and names them here.
const gatewayRoutePattern = `(?:httproute|grpcroute|tlsroute|tcproute|udproute)/[a-z0-9][-a-z0-9]*/[a-z0-9][-a-z0-9.]*`

// gatewayRuleSuffix is /rule/INDEX; Envoy Gateway has used -1 for routes without rules.
const gatewayRuleSuffix = `/rule/-?[0-9]+`

var gatewayRoute = regexp.MustCompile(`^(httproute|grpcroute|tlsroute|tcproute|udproute)/([a-z0-9][-a-z0-9]*)/([a-z0-9][-a-z0-9.]*)(?:/rule/(-?[0-9]+))?$`)

// Route reads the route a cluster name encodes under the naming scheme: Envoy Gateway's routes
// where the scheme is auto (their names are unambiguous), Contour's upstreams under auto and
// contour, Emissary's under emissary. ok is false for any other name.
func (n Naming) Route(cluster string) (r Route, ok bool) {
	if n == NamingAuto {
		if m := gatewayRoute.FindStringSubmatch(cluster); m != nil {
			return Route{Kind: routeKinds[m[1]], Namespace: m[2], Name: m[3], Rule: m[4]}, true
		}
	}
	switch n {
	case NamingAuto, NamingContour:
		if m := contourName.FindStringSubmatch(cluster); m != nil {
			return Route{Namespace: m[1], Name: m[2], Port: m[3]}, true
		}
	case NamingEmissary:
		if m := contourName.FindStringSubmatch(cluster); m != nil {
			return Route{Namespace: m[2], Name: m[1], Port: m[3], emissary: true}, true
		}
	}
	return Route{}, false
}

// Gateway reports whether r is a Gateway API route (Envoy Gateway's), rather than an upstream.
func (r Route) Gateway() bool { return r.Kind != "" }

// String names the route as its user wrote it: team-a/checkout rule 0 (an HTTPRoute's rule),
// team-a/checkout (the whole route), GRPCRoute team-a/echo rule 1 (other kinds say theirs),
// shop/checkout:8080 (a Contour upstream), checkout.shop:8080 (an Emissary Mapping's service).
func (r Route) String() string {
	switch {
	case r.Gateway():
		s := r.Namespace + "/" + r.Name
		if r.Kind != "HTTPRoute" {
			s = r.Kind + " " + s
		}
		if r.Rule != "" {
			s += " rule " + r.Rule
		}
		return s
	case r.emissary:
		return r.Name + "." + r.Namespace + ":" + r.Port
	}
	return r.Namespace + "/" + r.Name + ":" + r.Port
}

// routeGroupRules are the rules that sum the clusters of one route into a group (see
// promql.Regroup) under a naming scheme: every rule of an Envoy Gateway route into the route,
// named as its clusters are but for the rule (httproute/team-a/checkout). A Contour or Emissary
// upstream, and any other name, stays a group of its own.
func routeGroupRules(n Naming) []promql.GroupRule {
	if n != NamingAuto {
		return nil
	}
	return []promql.GroupRule{{Regex: "(" + gatewayRoutePattern + ")" + gatewayRuleSuffix, Replacement: "$1"}}
}

// RouteGroup is the group a cluster name belongs to when rows are grouped by route under naming
// n: what the grouped queries compute in PromQL, computed in Go.
func RouteGroup(n Naming, cluster string) string {
	if n == NamingAuto {
		if m := gatewayRule.FindStringSubmatch(cluster); m != nil {
			return m[1]
		}
	}
	return cluster
}

// gatewayRule is the rule of routeGroupRules, anchored as label_replace anchors it.
var gatewayRule = regexp.MustCompile("^(" + gatewayRoutePattern + ")" + gatewayRuleSuffix + "$")

// routeMembers matches the clusters of a grouped row name: every rule of a Gateway API route for
// a route's group, the cluster itself for anything else. The name is quoted into the regular
// expression, never spliced.
func routeMembers(n Naming, label, name string) (*labels.Matcher, bool) {
	r, ok := n.Route(name)
	if !ok || !r.Gateway() || r.Rule != "" {
		return nil, false
	}
	m, err := promql.Re(label, regexp.QuoteMeta(name)+"(?:"+gatewayRuleSuffix+")?")
	if err != nil {
		return nil, false
	}
	return m, true
}
