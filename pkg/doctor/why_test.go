package doctor

import (
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/utils/ptr"
)

func TestParseSubject(t *testing.T) {
	for _, tc := range []struct {
		kind, name string
		want       Subject
		err        string
	}{
		{kind: "service/envoy", want: Subject{Kind: SubjectService, Name: "envoy"}},
		{kind: "svc/envoy", want: Subject{Kind: SubjectService, Name: "envoy"}},
		{kind: "pods", name: "envoy-0", want: Subject{Kind: SubjectPod, Name: "envoy-0"}},
		{kind: "Pod/envoy-0", want: Subject{Kind: SubjectPod, Name: "envoy-0"}},
		{kind: "metric/envoy_cluster_upstream_rq_total", want: Subject{Kind: SubjectMetric, Name: "envoy_cluster_upstream_rq_total"}},
		// A metric name is any UTF-8 text since Prometheus 3; it is matched, never spliced.
		{kind: "metric", name: `a"b{c}`, want: Subject{Kind: SubjectMetric, Name: `a"b{c}`}},
		{kind: "alert/EnvoyUpstreamHigh5xxRatio", want: Subject{Kind: SubjectAlert, Name: "EnvoyUpstreamHigh5xxRatio"}},
		{kind: "envoy", err: "name what to follow as KIND/NAME or KIND NAME"},
		{kind: "deployment/envoy", err: `kind "deployment" is not one why follows; use service, pod, metric or alert`},
		{kind: "service/Envoy_1", err: `service name "Envoy_1": a lowercase RFC 1123 subdomain`},
		{kind: "pod/", err: `pod name ""`},
		{kind: "alert/", err: `alert name "": use a non-empty name`},
		{kind: "metric", name: "a\x1b[31m", err: "printable characters"},
		{kind: "metric", name: strings.Repeat("a", 1025), err: "at most 1024"},
	} {
		got, err := ParseSubject(tc.kind, tc.name)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q %q: %v, want an error with %q", tc.kind, tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q %q: %+v, %v; want %+v", tc.kind, tc.name, got, err, tc.want)
		}
	}
}

func TestDropsMetric(t *testing.T) {
	drop := func(re string) monitoringv1.RelabelConfig {
		return monitoringv1.RelabelConfig{Action: "drop", SourceLabels: []monitoringv1.LabelName{"__name__"}, Regex: re}
	}
	for _, tc := range []struct {
		name   string
		cfgs   []monitoringv1.RelabelConfig
		metric string
		want   int // -1: kept
	}{
		{"no rule", nil, "envoy_x", -1},
		{"dropped by name", []monitoringv1.RelabelConfig{drop("envoy_cluster_upstream_rq_retry|envoy_server_.*")}, "envoy_cluster_upstream_rq_retry", 0},
		// The regex is anchored, as Prometheus anchors it.
		{"a prefix does not match", []monitoringv1.RelabelConfig{drop("envoy_cluster")}, "envoy_cluster_upstream_rq_total", -1},
		{"Drop, as the CRD also spells it", []monitoringv1.RelabelConfig{{Action: "Drop", SourceLabels: []monitoringv1.LabelName{"__name__"}, Regex: "envoy_.*"}}, "envoy_x", 0},
		{"keep drops what it does not match", []monitoringv1.RelabelConfig{
			{Action: "labeldrop", Regex: "pod_template_hash"},
			{Action: "keep", SourceLabels: []monitoringv1.LabelName{"__name__"}, Regex: "envoy_cluster_.*"},
		}, "envoy_server_live", 1},
		{"renamed, then dropped", []monitoringv1.RelabelConfig{
			{Action: "replace", SourceLabels: []monitoringv1.LabelName{"__name__"}, Regex: "old_(.*)", TargetLabel: "__name__", Replacement: ptr.To("new_$1")},
			drop("new_.*"),
		}, "old_requests", 1},
		// A rule on another label decides by values the name does not tell: not a verdict.
		{"another label decides", []monitoringv1.RelabelConfig{
			{Action: "drop", SourceLabels: []monitoringv1.LabelName{"envoy_cluster_name"}, Regex: "admin"},
			drop(".*"),
		}, "envoy_x", -1},
		{"an invalid regex is no verdict", []monitoringv1.RelabelConfig{drop("(")}, "envoy_x", -1},
	} {
		i, ok := dropsMetric(tc.cfgs, tc.metric)
		got := -1
		if ok {
			got = i
		}
		if got != tc.want {
			t.Errorf("%s: rule %d drops it, want %d", tc.name, got, tc.want)
		}
	}
}

func TestMetricsRead(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (namespace) (rate(envoy_cluster_upstream_rq_xx{envoy_response_code_class="5"}[5m])) / sum by (namespace) (rate(envoy_cluster_upstream_rq_total[5m])) > 0.05`: {"envoy_cluster_upstream_rq_xx", "envoy_cluster_upstream_rq_total"},
		`{__name__="a:b"} > 1 and on() up`: {"a:b", "up"},
		`vector(1)`:                        nil,
		`sum(rate(`:                        nil,
		`time() > 0`:                       nil,
	} {
		if got := metricsRead(expr); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", expr, got, want)
		}
	}
}

func TestChains(t *testing.T) {
	for _, k := range SubjectKinds {
		c := Chain(k)
		if len(c) < 5 || c[0] != LinkStack {
			t.Errorf("%s: chain %v", k, c)
		}
	}
	if !slices.Equal(Chain(SubjectPod), []string{LinkStack, LinkObject, LinkMonitor, LinkPort, LinkSelected, LinkRBAC, LinkTarget, LinkSeries, LinkRules}) {
		t.Errorf("pod chain %v", Chain(SubjectPod))
	}
}
