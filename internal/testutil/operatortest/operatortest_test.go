package operatortest

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// An excerpt of what operator v0.93.1 generates for a PodMonitor, sharding included.
const generated = `global:
  scrape_interval: 30s
  external_labels:
    prometheus: team-a/team-a
    prometheus_replica: $(POD_NAME)
rule_files:
- /etc/prometheus/rules/prometheus-team-a-rulefiles-0/*.yaml
alerting:
  alertmanagers:
  - api_version: v2
    kubernetes_sd_configs:
    - role: endpoints
      namespaces:
        names:
        - monitoring
    relabel_configs:
    - action: keep
      source_labels: [__meta_kubernetes_service_name]
      regex: alertmanager-main
scrape_configs:
- job_name: podMonitor/team-a/team-a-envoy/0
  kubernetes_sd_configs:
  - role: pod
    namespaces:
      names:
      - team-a
  relabel_configs:
  - source_labels: [__tmp_hash]
    regex: $(SHARD)
    action: keep
`

func TestRewrite(t *testing.T) {
	out, err := Rewrite([]byte(generated), map[string]string{"POD_NAME": "prometheus-team-a-0", "SHARD": "0"}, "/tmp/sd.kubeconfig", "/tmp/rules")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global struct {
			ExternalLabels map[string]string `json:"external_labels"`
		} `json:"global"`
		RuleFiles []string `json:"rule_files"`
		Alerting  struct {
			Alertmanagers []struct {
				APIVersion string `json:"api_version"`
				SD         []struct {
					Role           string `json:"role"`
					KubeconfigFile string `json:"kubeconfig_file"`
				} `json:"kubernetes_sd_configs"`
			} `json:"alertmanagers"`
		} `json:"alerting"`
		ScrapeConfigs []struct {
			SD []struct {
				Role           string `json:"role"`
				KubeconfigFile string `json:"kubeconfig_file"`
			} `json:"kubernetes_sd_configs"`
			Relabel []struct {
				Regex string `json:"regex"`
			} `json:"relabel_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Global.ExternalLabels["prometheus_replica"]; got != "prometheus-team-a-0" {
		t.Errorf("prometheus_replica = %q", got)
	}
	if got := cfg.ScrapeConfigs[0].Relabel[0].Regex; got != "0" {
		t.Errorf("shard regex = %q", got)
	}
	if sd := cfg.ScrapeConfigs[0].SD[0]; sd.KubeconfigFile != "/tmp/sd.kubeconfig" || sd.Role != "pod" {
		t.Errorf("kubernetes_sd_config = %+v", sd)
	}
	if ams := cfg.Alerting.Alertmanagers; len(ams) != 1 || ams[0].APIVersion != "v2" || len(ams[0].SD) != 1 ||
		ams[0].SD[0].KubeconfigFile != "/tmp/sd.kubeconfig" || ams[0].SD[0].Role != "endpoints" {
		t.Errorf("alerting.alertmanagers = %+v, want the endpoints discovery kept, with the kubeconfig", ams)
	}
	if len(cfg.RuleFiles) != 1 || cfg.RuleFiles[0] != "/tmp/rules/prometheus-team-a-rulefiles-0/*.yaml" {
		t.Errorf("rule_files = %q", cfg.RuleFiles)
	}
}

func TestRewriteNamesAMissingVariable(t *testing.T) {
	_, err := Rewrite([]byte(generated), map[string]string{"POD_NAME": "p-0"}, "k", "r")
	if err == nil || !strings.Contains(err.Error(), "SHARD") {
		t.Errorf("err = %v, want one naming SHARD", err)
	}
}

func TestReloaderEnv(t *testing.T) {
	spec := corev1.PodSpec{Containers: []corev1.Container{
		{Name: "prometheus", Env: []corev1.EnvVar{{Name: "SHARD", Value: "9"}}},
		{Name: "config-reloader", Env: []corev1.EnvVar{
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "SHARD", Value: "0"},
		}},
	}}
	got := ReloaderEnv(spec, "prometheus-team-a-0")
	if len(got) != 2 || got["POD_NAME"] != "prometheus-team-a-0" || got["SHARD"] != "0" {
		t.Errorf("ReloaderEnv = %v", got)
	}
}

func TestJobNames(t *testing.T) {
	jobs, err := JobNames([]byte(generated))
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0] != "podMonitor/team-a/team-a-envoy/0" {
		t.Errorf("JobNames = %q, want [podMonitor/team-a/team-a-envoy/0]", jobs)
	}
	if _, err := JobNames([]byte("scrape_configs: {")); err == nil {
		t.Error("JobNames of broken YAML: no error")
	}
}
