package promql

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
)

// TestRegroup turns every aggregation by the cluster label of top's cluster queries into one by
// the group label over label_replace, rule after rule, leaves the aggregations by other labels
// (le stays, the pod labels stay) and the queries without the cluster label as they are, and the
// result parses back to itself. The text is kept in a golden file: what a grouped refresh sends
// is a reviewed change.
func TestRegroup(t *testing.T) {
	d, sel, w := DialectEnvoy, Namespace(`team"a\`), time.Minute
	rules := []GroupRule{{Regex: `(httproute/[a-z0-9]+/[a-z0-9]+)/rule/[0-9]+`, Replacement: "$1"}}
	var b strings.Builder
	for _, e := range []parser.Expr{
		UpstreamRequestRate(d, sel, w),
		UpstreamSuccessRatio(d, sel, w),
		UpstreamLatency(d, sel, 0.99, w, "pod"),
		UpstreamClassRates(d, sel, w),
		RecordedLatencyBuckets(sel, RecordLatencyBucketsMs),
		DownstreamRequestRate(d, sel, w),
	} {
		before, err := Check(e)
		if err != nil {
			t.Fatal(err)
		}
		text, err := Check(Regroup(e, d.Cluster, LabelGroup, rules))
		if err != nil {
			t.Fatal(err)
		}
		clusterSums := strings.Count(before, "by ("+d.Cluster)
		if got := strings.Count(text, `label_replace(label_replace(`); got != clusterSums {
			t.Errorf("%s: %d aggregations regrouped, want %d", text, got, clusterSums)
		}
		if clusterSums == 0 && text != before {
			t.Errorf("an aggregation by other labels changed: %s", text)
		}
		if strings.Contains(text, "by ("+d.Cluster) {
			t.Errorf("%s still sums by %s", text, d.Cluster)
		}
		b.WriteString(text + "\n\n")
	}
	golden.Assert(t, filepath.Join("testdata", "regroup.promql"), []byte(b.String()))
}
