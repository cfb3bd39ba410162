package promql

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// TestLatencyReadsClassicOrNative: every latency quantile reads the classic buckets, or else the
// native histogram of the same name without _bucket, with the same matchers and grouping.
func TestLatencyReadsClassicOrNative(t *testing.T) {
	sel := Namespace("edge")
	for _, tc := range []struct {
		name string
		expr parser.Expr
		want string
	}{
		{"envoy", UpstreamLatency(DialectEnvoy, sel, 0.99, time.Minute),
			`histogram_quantile(0.99, sum by (envoy_cluster_name, le) (rate(envoy_cluster_upstream_rq_time_bucket{namespace="edge"}[1m]))) or ` +
				`histogram_quantile(0.99, sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_time{namespace="edge"}[1m])))`},
		{"listener", DownstreamLatency(DialectIstio, sel, 0.5, time.Minute),
			`histogram_quantile(0.5, sum by (http_conn_manager_prefix, le) (rate(envoy_http_downstream_rq_time_bucket{namespace="edge"}[1m]))) or ` +
				`histogram_quantile(0.5, sum by (http_conn_manager_prefix) (rate(envoy_http_downstream_rq_time{namespace="edge"}[1m])))`},
		{"compare", TotalLatency(DialectEnvoy, sel, 0.9, 30*time.Second),
			`histogram_quantile(0.9, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{namespace="edge"}[30s]))) or ` +
				`histogram_quantile(0.9, sum(rate(envoy_cluster_upstream_rq_time{namespace="edge"}[30s])))`},
		{"istio", UpstreamLatency(DialectIstioStandard, sel, 0.99, time.Minute),
			`histogram_quantile(0.99, sum by (destination_service, le) (rate(istio_request_duration_milliseconds_bucket{namespace="edge",reporter="source"}[1m]))) or ` +
				`histogram_quantile(0.99, sum by (destination_service) (rate(istio_request_duration_milliseconds{namespace="edge",reporter="source"}[1m])))`},
	} {
		got, err := Check(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}
