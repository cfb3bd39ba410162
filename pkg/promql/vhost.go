package promql

import (
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Envoy's virtual host statistics: those of a virtual cluster (vhost.H.vcluster.VC.*, for the
// requests that match one of a virtual host's virtual_clusters) and, where a route sets
// stat_prefix, those of a route (vhost.H.route.R.*). Envoy's default tags name them by these
// labels; its tag extraction stops a name at the first dot, so none of the values holds one.
const (
	LabelVirtualHost    = "envoy_virtual_host"
	LabelVirtualCluster = "envoy_virtual_cluster"
	LabelRoute          = "envoy_route"
)

// Prefixes of the metric names of a cluster's statistics and of the same statistics of a virtual
// cluster or a route.
const (
	clusterPrefix = "envoy_cluster_"
	vhostPrefix   = "envoy_vhost_(?:vcluster|route)_"
)

// VirtualHosts returns e reading Envoy's virtual host statistics instead of its cluster ones:
// every selector of an envoy_cluster_ metric selects that statistic of every virtual cluster and
// route instead (envoy_vhost_vcluster_ and envoy_vhost_route_), and every aggregation by label
// from sums by LabelGroup, whose value names the virtual cluster or route as Envoy's own stat
// names do: vhost.H.vcluster.VC, vhost.H.route.R (VirtualHostMembers reads it back). What Envoy
// keeps per cluster only (requests in flight, membership, resets) selects nothing, so it is
// absent rather than wrong. e is changed in place and returned.
func VirtualHosts(e parser.Expr, from string) parser.Expr {
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			renameToVirtualHosts(n)
		case *parser.AggregateExpr:
			if n.Without {
				return nil
			}
			i := slices.Index(n.Grouping, from)
			if i < 0 {
				return nil
			}
			n.Grouping = slices.Clone(n.Grouping)
			n.Grouping[i] = LabelGroup
			// H.VC. for a virtual cluster, H..R for a route: no value holds a dot.
			joined := call("label_join", n.Expr, &parser.StringLiteral{Val: LabelGroup}, &parser.StringLiteral{Val: "."},
				&parser.StringLiteral{Val: LabelVirtualHost}, &parser.StringLiteral{Val: LabelVirtualCluster},
				&parser.StringLiteral{Val: LabelRoute})
			named := LabelReplace(joined, LabelGroup, "vhost.$1.vcluster.$2", LabelGroup, `([^.]+)\.([^.]+)\.`)
			n.Expr = LabelReplace(named, LabelGroup, "vhost.$1.route.$2", LabelGroup, `([^.]+)\.\.([^.]+)`)
		}
		return nil
	})
	return e
}

// renameToVirtualHosts turns a selector of an envoy_cluster_ metric into one of the same
// statistic of virtual clusters and routes.
func renameToVirtualHosts(vs *parser.VectorSelector) {
	for i, m := range vs.LabelMatchers {
		if m.Name != model.MetricNameLabel || m.Type != labels.MatchEqual || !strings.HasPrefix(m.Value, clusterPrefix) {
			continue
		}
		re := mustMatcher(labels.MatchRegexp, model.MetricNameLabel, vhostPrefix+regexp.QuoteMeta(strings.TrimPrefix(m.Value, clusterPrefix)))
		vs.LabelMatchers = slices.Clone(vs.LabelMatchers)
		vs.LabelMatchers[i] = re
		vs.Name = ""
		return
	}
}

// vhostName reads a name VirtualHosts gives a row.
var vhostName = regexp.MustCompile(`^vhost\.([^.]+)\.(vcluster|route)\.([^.]+)$`)

// VirtualHostMembers are the matchers that select the series of the virtual cluster or route a
// row name of VirtualHosts names; ok is false for any other name. The values are matched
// exactly, never spliced into a pattern.
func VirtualHostMembers(name string) (ms []*labels.Matcher, ok bool) {
	m := vhostName.FindStringSubmatch(name)
	if m == nil {
		return nil, false
	}
	if m[2] == "vcluster" {
		return []*labels.Matcher{Eq(LabelVirtualHost, m[1]), Eq(LabelVirtualCluster, m[3])}, true
	}
	return []*labels.Matcher{Eq(LabelVirtualHost, m[1]), Eq(LabelRoute, m[3])}, true
}
