package operatortest

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// An excerpt of what operator v0.93.1 generates for an Alertmanager with an AlertmanagerConfig
// whose receivers read a TLS key, a template and a password file from the pod's mounts.
const generatedAlertmanager = `global:
  resolve_timeout: 5m
route:
  receiver: team-a/team-a/unrouted
  routes:
  - receiver: team-a/team-a/unrouted
    matchers:
    - namespace="team-a"
    continue: true
receivers:
- name: team-a/team-a/unrouted
- name: team-a/team-a/webhook
  webhook_configs:
  - url: http://hooks.example.com/$(POD_NAME)
    http_config:
      tls_config:
        key_file: /etc/alertmanager/certs/team-a-tls-key
      basic_auth:
        password_file: /etc/alertmanager/secrets/team-a-auth/password
templates:
- /etc/alertmanager/config/team.tmpl
- /etc/alertmanagerx/elsewhere.tmpl
`

var mounts = map[string]string{
	"/etc/alertmanager/config":                     "/tmp/am/config",
	"/etc/alertmanager/config_out":                 "/tmp/am/out",
	"/etc/alertmanager/certs":                      "/tmp/am/certs",
	"/etc/alertmanager/secrets/team-a-auth":        "/tmp/am/auth",
	"/etc/alertmanager/web_config/web-config.yaml": "/tmp/am/web/web-config.yaml",
	"/alertmanager":                                "/tmp/am/data",
}

func TestRewriteAlertmanager(t *testing.T) {
	out, err := RewriteAlertmanager([]byte(generatedAlertmanager), map[string]string{"POD_NAME": "alertmanager-team-a-0"}, mounts)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Route struct {
			Routes []struct {
				Matchers []string `json:"matchers"`
				Continue bool     `json:"continue"`
			} `json:"routes"`
		} `json:"route"`
		Receivers []struct {
			Name     string `json:"name"`
			Webhooks []struct {
				URL        string `json:"url"`
				HTTPConfig struct {
					TLS struct {
						KeyFile string `json:"key_file"`
					} `json:"tls_config"`
					BasicAuth struct {
						PasswordFile string `json:"password_file"`
					} `json:"basic_auth"`
				} `json:"http_config"`
			} `json:"webhook_configs"`
		} `json:"receivers"`
		Templates []string `json:"templates"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if r := cfg.Route.Routes; len(r) != 1 || !slices.Equal(r[0].Matchers, []string{`namespace="team-a"`}) || !r[0].Continue {
		t.Errorf("routes = %+v, want them unchanged", r)
	}
	if len(cfg.Receivers) != 2 || len(cfg.Receivers[1].Webhooks) != 1 {
		t.Fatalf("receivers = %+v", cfg.Receivers)
	}
	wh := cfg.Receivers[1].Webhooks[0]
	if wh.URL != "http://hooks.example.com/alertmanager-team-a-0" {
		t.Errorf("url = %q, want $(POD_NAME) substituted", wh.URL)
	}
	if wh.HTTPConfig.TLS.KeyFile != "/tmp/am/certs/team-a-tls-key" || wh.HTTPConfig.BasicAuth.PasswordFile != "/tmp/am/auth/password" {
		t.Errorf("http_config = %+v, want the files on the local mounts", wh.HTTPConfig)
	}
	if want := []string{"/tmp/am/config/team.tmpl", "/etc/alertmanagerx/elsewhere.tmpl"}; !slices.Equal(cfg.Templates, want) {
		t.Errorf("templates = %q, want %q (a path on no mount kept)", cfg.Templates, want)
	}
}

func TestRewriteAlertmanagerNamesAMissingVariable(t *testing.T) {
	_, err := RewriteAlertmanager([]byte(generatedAlertmanager), nil, mounts)
	if err == nil || !strings.Contains(err.Error(), "$(POD_NAME)") {
		t.Errorf("err = %v, want one naming $(POD_NAME)", err)
	}
}

// The arguments operator v0.93.1 gives the alertmanager container of a clustered Alertmanager.
var alertmanagerArgs = []string{
	"--config.file=/etc/alertmanager/config_out/alertmanager.env.yaml",
	"--storage.path=/alertmanager",
	"--data.retention=120h",
	"--cluster.listen-address=[$(POD_IP)]:9094",
	"--web.listen-address=:9093",
	"--web.external-url=http://alertmanager.example.com/",
	"--web.route-prefix=/",
	"--web.config.file=/etc/alertmanager/web_config/web-config.yaml",
}

func TestAlertmanagerArgs(t *testing.T) {
	got, err := AlertmanagerArgs(alertmanagerArgs, map[string]string{"POD_IP": "10.244.1.7"}, mounts, "10.244.1.7:9093")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"--config.file=/tmp/am/out/alertmanager.env.yaml",
		"--storage.path=/tmp/am/data",
		"--data.retention=120h",
		"--cluster.listen-address=[10.244.1.7]:9094",
		"--web.listen-address=10.244.1.7:9093",
		"--web.external-url=http://alertmanager.example.com/",
		"--web.route-prefix=/",
		"--web.config.file=/tmp/am/web/web-config.yaml",
	}
	if !slices.Equal(got, want) {
		t.Errorf("AlertmanagerArgs =\n%q\nwant\n%q", got, want)
	}
}

func TestAlertmanagerArgsAddTheListenAddress(t *testing.T) {
	got, err := AlertmanagerArgs([]string{"--config.file=/etc/alertmanager/config_out/a.yaml", "--cluster.listen-address="}, nil, mounts, "127.0.0.1:9093")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--config.file=/tmp/am/out/a.yaml", "--cluster.listen-address=", "--web.listen-address=127.0.0.1:9093"}
	if !slices.Equal(got, want) {
		t.Errorf("AlertmanagerArgs = %q, want %q", got, want)
	}
	if _, err := AlertmanagerArgs([]string{"--storage.path=/alertmanager"}, nil, mounts, "127.0.0.1:9093"); err == nil {
		t.Error("no --config.file: no error")
	}
	if _, err := AlertmanagerArgs(alertmanagerArgs, nil, mounts, "127.0.0.1:9093"); err == nil || !strings.Contains(err.Error(), "$(POD_IP)") {
		t.Errorf("POD_IP unset: err = %v, want one naming $(POD_IP)", err)
	}
}

func TestContainerEnv(t *testing.T) {
	field := func(p string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: p}}
	}
	c := corev1.Container{Env: []corev1.EnvVar{
		{Name: "POD_IP", ValueFrom: field("status.podIP")},
		{Name: "POD_NAME", ValueFrom: field("metadata.name")},
		{Name: "NS", ValueFrom: field("metadata.namespace")},
		{Name: "SHARD", Value: "-1"},
		{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}},
	}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "alertmanager-main-0", Namespace: "monitoring"}, Status: corev1.PodStatus{PodIP: "10.244.1.9"}}
	got := ContainerEnv(c, pod)
	want := map[string]string{"POD_IP": "10.244.1.9", "POD_NAME": "alertmanager-main-0", "NS": "monitoring", "SHARD": "-1"}
	if len(got) != len(want) {
		t.Errorf("ContainerEnv = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ContainerEnv[%s] = %q, want %q", k, got[k], v)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"/etc/alertmanager/config/a.tmpl", "/tmp/am/config/a.tmpl", true},
		{"/etc/alertmanager/config_out/x.yaml", "/tmp/am/out/x.yaml", true}, // the longest mount wins
		{"/etc/alertmanager/config", "/tmp/am/config", true},
		{"/etc/alertmanager/configx", "", false},
		{"/etc/alertmanager/config/../certs/k", "/tmp/am/certs/k", true},
		{"relative/config", "", false},
		{"http://example.com/etc/alertmanager/config", "", false},
	} {
		got, ok := localPath(mounts, c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("localPath(%q) = %q, %v, want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
