package traffic

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// BenchmarkFold measures what a refresh costs the plugin once Prometheus has answered: folding
// the answers of 2,000 clusters, named as Contour names them, into sorted rows. The answers are
// decoded in advance, so the figure is the fold alone, for both sources.
func BenchmarkFold(b *testing.B) {
	const clusters = 2000
	vector := make(Vector, clusters)
	for i := range vector {
		name := fmt.Sprintf("team-%02d_svc-%05d_8080", i%50, i)
		vector[i] = Sample{Metric: labels.FromStrings(promql.LabelCluster, name), Value: float64(i + 1)}
	}
	answer := func(string) Vector { return vector }
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
