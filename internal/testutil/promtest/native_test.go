package promtest

import (
	"encoding/json"
	"testing"
)

// TestConfigNativeHistograms: with NativeHistograms every scrape asks for protobuf first and
// keeps native histograms; without, the configuration has neither field, which Prometheus 2.42
// would refuse.
func TestConfigNativeHistograms(t *testing.T) {
	targets := []Target{{URL: "http://127.0.0.1:9901/stats/prometheus"}}
	type scrape struct {
		Protocols []string `json:"scrape_protocols"`
		Native    *bool    `json:"scrape_native_histograms"`
	}
	read := func(opts Options) scrape {
		b, err := config(targets, opts)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			ScrapeConfigs []scrape `json:"scrape_configs"`
		}
		if err := json.Unmarshal(b, &cfg); err != nil || len(cfg.ScrapeConfigs) != 1 {
			t.Fatalf("%v: %s", err, b)
		}
		return cfg.ScrapeConfigs[0]
	}
	if got := read(Options{NativeHistograms: true}); got.Native == nil || !*got.Native || len(got.Protocols) == 0 || got.Protocols[0] != "PrometheusProto" {
		t.Errorf("native histograms: %+v", got)
	}
	if got := read(Options{}); got.Native != nil || got.Protocols != nil {
		t.Errorf("classic: %+v", got)
	}
}
