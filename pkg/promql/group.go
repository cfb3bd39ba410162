package promql

import (
	"slices"

	"github.com/prometheus/prometheus/promql/parser"
)

// LabelGroup is the label a regrouped query sums by instead of the cluster label (see Regroup):
// a name no exporter writes, so it never meets a label of the series it is added to.
const LabelGroup = "promteam_group"

// GroupRule rewrites the cluster names that match Regex (RE2, anchored at both ends, as
// label_replace anchors it) into the group named by Replacement, which may refer to Regex's
// capture groups ($1).
type GroupRule struct {
	Regex, Replacement string
}

// Regroup returns e with every aggregation by label from turned into an aggregation by label to:
// the series under it are labelled to with their from label's value (label_replace with "(.*)"),
// then rewritten by each rule in order where it matches (label_replace leaves the series whose
// value does not match as they are). A cluster no rule matches is so a group of its own, named
// after it; clusters a rule maps to one group are summed before anything is computed from the
// sum: a ratio divides the group's sums, a histogram_quantile reads the group's summed buckets,
// so a group's success ratio and percentiles are those of all its requests, never averages of
// its members'. e is changed in place and returned; aggregations by other labels stay as they are.
func Regroup(e parser.Expr, from, to string, rules []GroupRule) parser.Expr {
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		agg, ok := node.(*parser.AggregateExpr)
		if !ok || agg.Without {
			return nil
		}
		i := slices.Index(agg.Grouping, from)
		if i < 0 {
			return nil
		}
		agg.Grouping = slices.Clone(agg.Grouping)
		agg.Grouping[i] = to
		inner := LabelReplace(agg.Expr, to, "$1", from, "(.*)")
		for _, r := range rules {
			inner = LabelReplace(inner, to, r.Replacement, from, r.Regex)
		}
		agg.Expr = inner
		return nil
	})
	return e
}
