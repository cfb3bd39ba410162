package traffic

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// BenchmarkFold measures what a refresh costs the plugin once Prometheus has answered: folding
// the answers of 2,000 clusters, named as Contour names them, into sorted rows. The answers are
// decoded in advance, so the figure is the fold alone, for both sources; the rules' includes the
// 40,000 recorded bucket rates and the percentiles computed from them.
func BenchmarkFold(b *testing.B) {
	const clusters = 2000
	vector := make(Vector, clusters)
	for i := range vector {
		name := fmt.Sprintf("team-%02d_svc-%05d_8080", i%50, i)
		vector[i] = Sample{Metric: labels.FromStrings(promql.LabelCluster, name), Value: float64(i + 1)}
	}
	// The recorded latency buckets: Envoy's 20 bounds for every cluster.
	bounds := []string{"0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000", "30000", "60000", "300000", "600000", "1800000", "3600000", "+Inf"}
	histogram := make(Vector, 0, clusters*len(bounds))
	for i, s := range vector {
		for j, le := range bounds {
			histogram = append(histogram, Sample{Metric: labels.FromStrings(promql.LabelCluster, s.Metric.Get(promql.LabelCluster), "le", le), Value: float64(i + j)})
		}
	}
	answer := func(q string) Vector {
		switch {
		case strings.HasPrefix(q, "label_replace(timestamp("): // the stamps of lastRead
			return vector
		case strings.Contains(q, promql.RecordLatencyBucketsMs):
			return histogram
		case strings.Contains(q, promql.RecordLatencyBucketsSeconds):
			return nil
		}
		return vector
	}
	for _, source := range []Source{SourceRaw, SourceRules} {
		b.Run(string(source), func(b *testing.B) {
			c, err := NewCollector(&fakeQuerier{answers: answer}, Config{
				Dialect: promql.DialectEnvoy, Selector: promql.Namespace("edge"), Window: time.Minute, Source: source,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				f, err := c.Frame(context.Background(), time.Now())
				if err != nil || len(f.Rows) != clusters {
					b.Fatalf("frame: %v, %d rows", err, len(f.Rows))
				}
			}
		})
	}
}
