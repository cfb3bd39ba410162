package manifests

import (
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// relabel applies replace and drop configs the way Prometheus does: the regex is anchored at both
// ends and the replacement expanded from its groups.
func relabel(t *testing.T, cfgs []monitoringv1.RelabelConfig, lbls map[string]string) (map[string]string, bool) {
	t.Helper()
	out := map[string]string{}
	for k, v := range lbls {
		out[k] = v
	}
	for _, c := range cfgs {
		re, err := regexp.Compile("^(?:" + c.Regex + ")$")
		if err != nil {
			t.Fatalf("regex %q does not compile: %v", c.Regex, err)
		}
		var vals []string
		for _, l := range c.SourceLabels {
			vals = append(vals, out[string(l)])
		}
		src := strings.Join(vals, ";")
		switch c.Action {
		case "drop":
			if re.MatchString(src) {
				return nil, false
			}
		case "replace", "":
			m := re.FindStringSubmatchIndex(src)
			if m == nil {
				continue
			}
			out[c.TargetLabel] = string(re.ExpandString(nil, *c.Replacement, src, m))
		default:
			t.Fatalf("action %q not modelled", c.Action)
		}
	}
	return out, true
}

func TestClusterNamesSplitIntoUpstreamService(t *testing.T) {
	tests := []struct {
		preset  Preset
		cluster string
		want    map[string]string // nil: left alone
	}{
		{PresetContour, "default_kuard_80", map[string]string{"upstream_namespace": "default", "upstream_service": "kuard", "upstream_port": "80"}},
		{PresetContour, "shop_checkout-canary_8080", map[string]string{"upstream_namespace": "shop", "upstream_service": "checkout-canary", "upstream_port": "8080"}},
		{PresetContour, "envoy-admin", nil},
		{PresetGloo, "kube-upstream_default-petstore-8080_gloo-system_default_petstore_8080", map[string]string{"upstream_namespace": "default", "upstream_service": "petstore", "upstream_port": "8080"}},
		{PresetGloo, "default-petstore-8080_gloo-system", nil},
	}
	for _, tt := range tests {
		got, kept := relabel(t, presets[tt.preset].relabel, map[string]string{"__name__": "envoy_cluster_upstream_rq_total", "envoy_cluster_name": tt.cluster})
		if !kept {
			t.Fatalf("%s: series dropped", tt.cluster)
		}
		for _, k := range []string{"upstream_namespace", "upstream_service", "upstream_port"} {
			if want := tt.want[k]; got[k] != want {
				t.Errorf("%s %s: %s = %q, want %q", tt.preset, tt.cluster, k, got[k], want)
			}
		}
	}
}

func TestDropKeepsWhatTheRulesRead(t *testing.T) {
	keep := []string{"envoy_cluster_upstream_rq_total", "envoy_cluster_upstream_rq_xx", "envoy_cluster_upstream_rq_time_bucket",
		"envoy_cluster_upstream_rq_active", "envoy_cluster_circuit_breakers_default_rq_open", "envoy_http_downstream_rq_total"}
	for _, name := range keep {
		if _, kept := relabel(t, []monitoringv1.RelabelConfig{dropUnused}, map[string]string{"__name__": name}); !kept {
			t.Errorf("%s is dropped", name)
		}
	}
	for _, name := range []string{"envoy_listener_manager_total_listeners_active", "envoy_server_worker_0_watchdog_miss", "envoy_runtime_load_success"} {
		if _, kept := relabel(t, []monitoringv1.RelabelConfig{dropUnused}, map[string]string{"__name__": name}); kept {
			t.Errorf("%s is kept", name)
		}
	}
}
