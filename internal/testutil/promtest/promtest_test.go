package promtest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

const quotedName = `team"a\b_svc_8080`

func TestConfig(t *testing.T) {
	b, err := config([]Target{
		{URL: "http://127.0.0.1:9901/stats/prometheus", Labels: map[string]string{"pod": "a"}},
		{URL: "https://10.0.0.1:8443/stats?format=prometheus&usedonly", Labels: map[string]string{"job": "envoy"}},
	}, Options{ScrapeInterval: 2 * time.Second, RuleFiles: []string{"/r.yml"}})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global        map[string]string `json:"global"`
		RuleFiles     []string          `json:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string              `json:"job_name"`
			Scheme        string              `json:"scheme"`
			MetricsPath   string              `json:"metrics_path"`
			Params        map[string][]string `json:"params"`
			HonorLabels   bool                `json:"honor_labels"`
			StaticConfigs []struct {
				Targets []string          `json:"targets"`
				Labels  map[string]string `json:"labels"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Global["scrape_interval"] != "2s" || cfg.Global["scrape_timeout"] != "2s" || cfg.Global["evaluation_interval"] != "2s" {
		t.Errorf("global = %v", cfg.Global)
	}
	if !slices.Equal(cfg.RuleFiles, []string{"/r.yml"}) || len(cfg.ScrapeConfigs) != 2 {
		t.Fatalf("config = %s", b)
	}
	a, h := cfg.ScrapeConfigs[0], cfg.ScrapeConfigs[1]
	if a.JobName != "target-0" || a.Scheme != "http" || a.MetricsPath != "/stats/prometheus" || a.HonorLabels ||
		a.StaticConfigs[0].Targets[0] != "127.0.0.1:9901" || a.StaticConfigs[0].Labels["pod"] != "a" {
		t.Errorf("first job = %+v", a)
	}
	if h.Scheme != "https" || h.MetricsPath != "/stats" || h.Params["format"][0] != "prometheus" ||
		h.StaticConfigs[0].Labels["job"] != "envoy" {
		t.Errorf("second job = %+v", h)
	}
	if _, err := config([]Target{{URL: "127.0.0.1:9901/metrics"}}, Options{}); err == nil {
		t.Error("a URL without a scheme was accepted")
	}
}
