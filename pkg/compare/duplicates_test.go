package compare

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// repeatingQuerier answers every cluster's series three times.
type repeatingQuerier struct{ armQuerier }

func (q repeatingQuerier) Query(ctx context.Context, query string, at time.Time) (traffic.Result, error) {
	if !strings.HasPrefix(query, "count by") {
		return q.armQuerier.Query(ctx, query, at)
	}
	cluster := "b"
	if strings.Contains(query, `"c"`) {
		cluster = "c"
	}
	smp := traffic.Sample{Metric: labels.FromStrings("envoy_cluster_name", cluster), Value: 1}
	return traffic.Result{Vector: traffic.Vector{smp, smp, smp}}, nil
}

// TestRepeatedSeriesNameAClusterOnce: an answer that repeats a series names its cluster once.
func TestRepeatedSeriesNameAClusterOnce(t *testing.T) {
	r, err := Run(context.Background(), repeatingQuerier{}, Config{Dialect: promql.DialectEnvoy, Selector: promql.Everything,
		Baseline: Exact("b"), Canary: Exact("c"), Window: 5 * time.Minute, Step: 30 * time.Second, Thresholds: DefaultThresholds()}, time.Unix(100000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Baseline.Clusters, []string{"b"}) || !slices.Equal(r.Canary.Clusters, []string{"c"}) {
		t.Errorf("clusters %q and %q, want [b] and [c]", r.Baseline.Clusters, r.Canary.Clusters)
	}
}
