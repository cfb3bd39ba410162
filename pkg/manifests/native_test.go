package manifests

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
)

// TestNativeHistogramsScrapeProtobufFirst: --native-histograms has every Envoy monitor ask for
// the protobuf exposition first and keep native histograms beside the classic buckets the rules
// read; the monitors are valid for the operators whose CRDs know the fields (not v0.81.0), and
// the flag is refused on a Prometheus older than v3.8.0 or without an Envoy monitor.
func TestNativeHistogramsScrapeProtobufFirst(t *testing.T) {
	s := DefaultTeamSpec("team-a", "team-a")
	s.Presets = []Preset{PresetEnvoy, PresetEmissary}
	s.PrometheusVersion = "v3.8.0"
	s.NativeHistograms = true
	st := build(t, s)
	pods, services := find[*monitoringv1.PodMonitor](st), find[*monitoringv1.ServiceMonitor](st)
	if len(pods) != 1 || len(services) != 1 {
		t.Fatalf("%d PodMonitors and %d ServiceMonitors", len(pods), len(services))
	}
	check := func(name string, protocols []monitoringv1.ScrapeProtocol, native monitoringv1.NativeHistogramConfig) {
		if len(protocols) == 0 || protocols[0] != monitoringv1.PrometheusProto || !slices.Contains(protocols, monitoringv1.PrometheusText0_0_4) {
			t.Errorf("%s scrape protocols %v", name, protocols)
		}
		if native.ScrapeNativeHistograms == nil || !*native.ScrapeNativeHistograms || native.ScrapeClassicHistograms == nil || !*native.ScrapeClassicHistograms {
			t.Errorf("%s native histograms %+v", name, native)
		}
	}
	check(pods[0].Name, pods[0].Spec.ScrapeProtocols, pods[0].Spec.NativeHistogramConfig)
	check(services[0].Name, services[0].Spec.ScrapeProtocols, services[0].Spec.NativeHistogramConfig)

	maps, err := st.Maps()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range crdschema.Versions() {
		val, err := crdschema.Load(crdschema.RepoCRDDir(v))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range maps {
			if kind := m["kind"]; kind != monitoringv1.PodMonitorsKind && kind != monitoringv1.ServiceMonitorsKind {
				continue
			}
			raw, _ := json.Marshal(m)
			err := val.Validate(raw)
			// scrapeNativeHistograms came after the oldest vendored operator, v0.81.0.
			if old := v == "v0.81.0"; (err != nil) != old {
				t.Errorf("operator %s, %v: validation error %v", v, m["kind"], err)
			}
		}
	}

	// Without the flag the monitors stay as they were.
	plain := DefaultTeamSpec("team-a", "team-a")
	for _, p := range find[*monitoringv1.PodMonitor](build(t, plain)) {
		if p.Spec.ScrapeProtocols != nil || p.Spec.ScrapeNativeHistograms != nil {
			t.Errorf("%s scrapes native histograms without the flag", p.Name)
		}
	}

	for name, edit := range map[string]func(*TeamSpec){
		"prometheus 3.5": func(s *TeamSpec) { s.PrometheusVersion = "v3.5.0" },
		"prometheus 2":   func(s *TeamSpec) { s.PrometheusVersion = "v2.55.0"; s.MemoryLimit = resource.Quantity{} },
		"no envoy":       func(s *TeamSpec) { s.Presets = []Preset{PresetNone} },
	} {
		bad := s
		edit(&bad)
		var fe *FieldError
		if _, err := Build(bad); !errors.As(err, &fe) || fe.Field != "native-histograms" {
			t.Errorf("%s: %v, want a --native-histograms error", name, err)
		}
	}
}
