package promql

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// parseCapture reads an Envoy /stats/prometheus dump with Prometheus' own scrape parser, which
// tolerates what older Envoy prints (repeated TYPE lines, no final newline).
func parseCapture(t *testing.T, path string) []labels.Labels {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := textparse.NewPromParser(b, labels.NewSymbolTable(), false)
	var out []labels.Labels
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if entry != textparse.EntrySeries {
			continue
		}
		var ls labels.Labels
		p.Labels(&ls)
		out = append(out, ls)
	}
}

func TestDetectDialectOnRealCaptures(t *testing.T) {
	tests := []struct {
		file     string
		dialect  string // "" when the dump holds no cluster statistics
		clusters []string
		series   int
	}{
		{"datadog-envoy-openmetrics.prom", "envoy", []string{"service1", "service2", "xds_cluster"}, 999},
		{"datadog-envoy-grouped-format.prom", "envoy", []string{"service1", "service2", "xds_cluster", "dummy_dynamic_cluster"}, 1050},
		{"datadog-istio-1.11-sidecar-merged.prom", "istio", []string{"xds-grpc"}, 461},
		{"kuma-dp-upstream-cx-connect-histograms.prom", "envoy", []string{"kuma_envoy_admin", "demo-client"}, 264},
		{"datadog-envoy-1.28-local-ratelimit.prom", "", nil, 5},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			series := parseCapture(t, filepath.Join("..", "..", "testdata", "envoy", tt.file))
			if len(series) != tt.series {
				t.Errorf("parsed %d series, want %d", len(series), tt.series)
			}
			d, ok := DetectDialect(series)
			if tt.dialect == "" {
				if ok {
					t.Errorf("detected %s in a dump without cluster statistics", d.Name)
				}
				return
			}
			if !ok || d.Name != tt.dialect {
				t.Fatalf("detected %q (ok=%v), want %s", d.Name, ok, tt.dialect)
			}
			found := map[string]bool{}
			classes := map[string]bool{}
			for _, s := range series {
				if v := s.Get(d.Cluster); v != "" {
					found[v] = true
				}
				if s.Get(model.MetricNameLabel) == d.ClassMetric && s.Get(d.Class) != "" {
					classes[s.Get(d.Class)] = true
				}
			}
			for _, c := range tt.clusters {
				if !found[c] {
					t.Errorf("cluster %q not found under label %s", c, d.Cluster)
				}
			}
			// Where the dump counts responses by class, the classes are spelled as the dialect says.
			for c := range classes {
				if strings.HasSuffix(c, "xx") != strings.HasSuffix(d.Class5xx, "xx") || strings.HasSuffix(c, "xx") != strings.HasSuffix(d.Class4xx, "xx") {
					t.Errorf("%s class %q is not spelled like %q and %q", d.Class, c, d.Class4xx, d.Class5xx)
				}
			}
		})
	}
}
