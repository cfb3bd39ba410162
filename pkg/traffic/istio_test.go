package traffic

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// TestDiscoverPicksIstioStandardMetrics: Istio's standard metrics are read where Envoy's cluster
// statistics are absent or name only the sidecars' bootstrap clusters, as on a default Istio
// installation; where the services' clusters have statistics, Envoy's own are kept.
func TestDiscoverPicksIstioStandardMetrics(t *testing.T) {
	for _, tc := range []struct {
		name     string
		clusters []map[string]string
		istio    bool
		want     string
	}{
		{"only istio_requests_total", nil, true, "istio-standard"},
		{"default installation", []map[string]string{{"cluster_name": "xds-grpc"}, {"cluster_name": "prometheus_stats"}}, true, "istio-standard"},
		{"proxyStatsMatcher keeps the services' clusters", []map[string]string{{"cluster_name": "xds-grpc"}, {"cluster_name": "outbound|80||a.b.svc.cluster.local"}}, true, "istio"},
		{"stock Envoy beside Istio", []map[string]string{{"envoy_cluster_name": "shop_a_80"}}, true, "envoy"},
		{"bootstrap clusters only, no Istio metrics", []map[string]string{{"cluster_name": "xds-grpc"}}, false, "istio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fq := &fakeQuerier{answers: func(q string) Vector {
				var v Vector
				switch {
				case strings.HasPrefix(q, "count by"):
					for _, l := range tc.clusters {
						v = append(v, sample(l, 1))
					}
				case q == "count(istio_requests_total)" && tc.istio:
					v = append(v, sample(nil, 12))
				}
				return v
			}}
			d, err := Discover(context.Background(), fq, promql.Everything, time.Unix(0, 0))
			if err != nil || d.Name != tc.want {
				t.Errorf("Discover = %s, %v; want %s", d.Name, err, tc.want)
			}
		})
	}
	fq := &fakeQuerier{answers: func(string) Vector { return nil }}
	_, err := Discover(context.Background(), fq, promql.Everything, time.Unix(0, 0))
	if !errors.Is(err, errNoClusterStats) {
		t.Errorf("Discover without any series = %v", err)
	}
}

// TestIstioStandardFold: the rows of Istio's standard metrics add up the request rates of a
// destination service reported under more than one name, take their Service from Istio's
// labels, and have no requests in flight; the fold sends no query of Envoy's own statistics.
func TestIstioStandardFold(t *testing.T) {
	d := promql.DialectIstioStandard
	row := func(svc, name, ns string) map[string]string {
		return map[string]string{promql.IstioDestinationService: svc, promql.IstioDestinationServiceName: name, promql.IstioDestinationServiceNamespace: ns}
	}
	fq := &fakeQuerier{answers: func(q string) Vector {
		switch {
		case strings.HasPrefix(q, "label_join("):
			return nil
		case strings.HasPrefix(q, "histogram_quantile(0.5,"):
			return Vector{sample(row("reviews.default.svc.cluster.local", "", ""), 12)}
		case strings.HasPrefix(q, "histogram_quantile("):
			return Vector{sample(row("reviews.default.svc.cluster.local", "", ""), 40)}
		case strings.Contains(q, " / "):
			return Vector{sample(row("reviews.default.svc.cluster.local", "", ""), 0.95)}
		case strings.HasPrefix(q, "sum by (destination_service, destination_service_namespace, destination_service_name)"):
			return Vector{
				sample(row("reviews.default.svc.cluster.local", "reviews", "default"), 30),
				sample(row("reviews.default.svc.cluster.local", "unknown", "unknown"), 2),
				sample(row("api.example.com", "api.example.com", "unknown"), 4),
			}
		}
		return nil
	}}
	c, err := NewCollector(fq, Config{Dialect: d, Selector: promql.Namespace("edge"), Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range c.Queries() {
		if strings.Contains(q, "envoy_") {
			t.Errorf("a query of Envoy's own statistics: %s", q)
		}
	}
	f, err := c.Frame(context.Background(), time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]Row{}
	for _, r := range f.Rows {
		rows[r.Name] = r
	}
	r := rows["reviews.default.svc.cluster.local"]
	if len(rows) != 2 || r.RPS != 32 || r.Success != 0.95 || r.P50 != 12 || r.P99 != 40 || r.Namespace != "default" || r.Service != "reviews" || !math.IsNaN(r.Active) {
		t.Errorf("rows %+v", f.Rows)
	}
	if api := rows["api.example.com"]; api.RPS != 4 || api.Service != "" || !math.IsNaN(api.P99) {
		t.Errorf("a host outside Kubernetes: %+v", api)
	}
	if f.Dialect != "istio-standard" {
		t.Errorf("frame dialect %q", f.Dialect)
	}
}
