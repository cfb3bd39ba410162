// Package operatortest runs the Prometheus configuration that the Prometheus Operator generated
// for a Prometheus resource in a real Prometheus outside the cluster, the way the operator's pod
// would run it: the same scrape and rule configuration, service discovery through the API server
// with the Prometheus ServiceAccount's token, and the rules the operator wrote into ConfigMaps.
package operatortest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// ruleDirInPod is where the operator mounts the rule ConfigMaps in the Prometheus pod.
const ruleDirInPod = "/etc/prometheus/rules/"

// Cluster is what the configuration needs to know of the cluster: its API server and the CA that
// signed its certificate.
type Cluster struct {
	Server string
	CAFile string
}

// WriteConfig reads the configuration the operator generated for Prometheus ns/name (Secret
// prometheus-NAME, key prometheus.yaml.gz), its rule ConfigMaps and the ServiceAccount of its pods,
// and writes into dir a prometheus.yml that Prometheus can run here (see Rewrite), the rule files
// it reads, and a kubeconfig with a token of the ServiceAccount for service discovery. It returns
// the path of prometheus.yml. Call it again after the operator rewrote the configuration.
func WriteConfig(t testing.TB, client kubernetes.Interface, c Cluster, ns, name, dir string) string {
	t.Helper()
	base := "prometheus-" + name
	sts, err := client.AppsV1().StatefulSets(ns).Get(context.Background(), base, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("operatortest: %v", err)
	}
	return WritePodConfig(t, client, c, ns, name, sts.Spec.Template.Spec, base+"-0", dir)
}

// GeneratedConfig returns the configuration the operator generated for Prometheus ns/name (Secret
// prometheus-NAME, key prometheus.yaml.gz), uncompressed, as the config-reloader reads it before
// substituting variables.
func GeneratedConfig(ctx context.Context, client kubernetes.Interface, ns, name string) ([]byte, error) {
	return gzippedKey(ctx, client, ns, "prometheus-"+name, "prometheus.yaml.gz")
}

// gzippedKey is key of Secret ns/name, uncompressed.
func gzippedKey(ctx context.Context, client kubernetes.Interface, ns, name, key string) ([]byte, error) {
	secret, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	gz, ok := secret.Data[key]
	if !ok {
		return nil, fmt.Errorf("the operator's Secret %s/%s has no key %s", ns, name, key)
	}
	return gunzip(gz)
}

// WritePodConfig is WriteConfig for the pod named pod, of spec, of Prometheus ns/name: of a
// shard other than the first, or a replica other than the first, whose configuration differs in
// what the config-reloader substitutes ($(SHARD), $(POD_NAME)).
func WritePodConfig(t testing.TB, client kubernetes.Interface, c Cluster, ns, name string, spec corev1.PodSpec, pod, dir string) string {
	t.Helper()
	ctx := context.Background()
	generated, err := GeneratedConfig(ctx, client, ns, name)
	if err != nil {
		t.Fatalf("operatortest: the operator's configuration: %v", err)
	}
	vars := ReloaderEnv(spec, pod)

	sa := spec.ServiceAccountName
	token, err := client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("operatortest: a token of ServiceAccount %s/%s: %v", ns, sa, err)
	}
	kubeconfig := filepath.Join(dir, "sd.kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(sdKubeconfig(c, ns+"/"+sa, token.Status.Token)), 0o600); err != nil {
		t.Fatal(err)
	}

	rules := filepath.Join(dir, "rules")
	if err := os.RemoveAll(rules); err != nil {
		t.Fatal(err)
	}
	cms, err := client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "managed-by=prometheus-operator,prometheus-name=" + name})
	if err != nil {
		t.Fatalf("operatortest: rule ConfigMaps: %v", err)
	}
	for _, cm := range cms.Items {
		d := filepath.Join(rules, cm.Name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for key, content := range cm.Data {
			if err := os.WriteFile(filepath.Join(d, key), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	out, err := Rewrite(generated, vars, kubeconfig, rules)
	if err != nil {
		t.Fatalf("operatortest: %v", err)
	}
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// WaitForJobs waits until the configuration the operator generated for Prometheus ns/name has a
// scrape configuration for every job (a PodMonitor's is podMonitor/NS/NAME/ENDPOINT). The
// operator may report the Prometheus reconciled before its informers saw a monitor created at
// the same time; the configuration it writes then comes one reconciliation later.
func WaitForJobs(t testing.TB, client kubernetes.Interface, ns, name string, jobs ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for {
		have, err := generatedJobs(client, ns, name)
		if err == nil {
			missing := slices.DeleteFunc(slices.Clone(jobs), func(j string) bool { return slices.Contains(have, j) })
			if len(missing) == 0 {
				return
			}
			last = fmt.Sprintf("jobs %v, want %v", have, jobs)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("operatortest: the operator's configuration of %s/%s after 1m: %s", ns, name, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// WaitForRuleGroups waits until the rule ConfigMaps the operator writes for Prometheus ns/name
// hold every rule group named: like a monitor, a PrometheusRule created with the Prometheus may
// reach the ConfigMaps one reconciliation after the configuration, and WriteConfig copies only
// what is there.
func WaitForRuleGroups(t testing.TB, client kubernetes.Interface, ns, name string, groups ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for {
		have, err := ruleGroups(client, ns, name)
		if err == nil {
			missing := slices.DeleteFunc(slices.Clone(groups), func(g string) bool { return slices.Contains(have, g) })
			if len(missing) == 0 {
				return
			}
			last = fmt.Sprintf("rule groups %v, want %v", have, groups)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("operatortest: the operator's rule ConfigMaps of %s/%s after 1m: %s", ns, name, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// ruleGroups lists the names of the rule groups in the rule ConfigMaps of Prometheus ns/name.
func ruleGroups(client kubernetes.Interface, ns, name string) ([]string, error) {
	cms, err := client.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "managed-by=prometheus-operator,prometheus-name=" + name})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, cm := range cms.Items {
		for key, content := range cm.Data {
			var file struct {
				Groups []struct {
					Name string `json:"name"`
				} `json:"groups"`
			}
			if err := yaml.Unmarshal([]byte(content), &file); err != nil {
				return nil, fmt.Errorf("ConfigMap %s/%s, %s: %w", ns, cm.Name, key, err)
			}
			for _, g := range file.Groups {
				names = append(names, g.Name)
			}
		}
	}
	return names, nil
}

func generatedJobs(client kubernetes.Interface, ns, name string) ([]string, error) {
	secret, err := client.CoreV1().Secrets(ns).Get(context.Background(), "prometheus-"+name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	generated, err := gunzip(secret.Data["prometheus.yaml.gz"])
	if err != nil {
		return nil, err
	}
	return JobNames(generated)
}

// JobNames is the job_name of every scrape configuration of a Prometheus configuration.
func JobNames(config []byte) ([]string, error) {
	var cfg struct {
		ScrapeConfigs []struct {
			JobName string `json:"job_name"`
		} `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal(config, &cfg); err != nil {
		return nil, fmt.Errorf("the operator's configuration: %w", err)
	}
	var jobs []string
	for _, sc := range cfg.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
	}
	return jobs, nil
}

// ReloaderEnv is the environment of the config-reloader container of the operator's pod named
// pod: what prometheus-config-reloader --config-envsubst-file substitutes (POD_NAME, SHARD).
func ReloaderEnv(spec corev1.PodSpec, pod string) map[string]string {
	env := map[string]string{}
	for _, c := range spec.Containers {
		if c.Name != "config-reloader" {
			continue
		}
		for _, e := range c.Env {
			switch {
			case e.ValueFrom == nil:
				env[e.Name] = e.Value
			case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
				env[e.Name] = pod
			}
		}
	}
	return env
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// Rewrite makes the operator's configuration runnable outside the pod, and changes nothing else:
//   - $(VAR) is replaced from vars, as the config-reloader does in the pod (without SHARD=0 the
//     sharding relabeling drops every target);
//   - every kubernetes_sd_config, of the scrape configurations and of the Alertmanagers the
//     alerting section discovers, gets kubeconfig_file (in the pod, discovery uses the pod's
//     ServiceAccount token and the in-cluster API server);
//   - rule_files under the pod's rule directory point into rulesDir.
func Rewrite(generated []byte, vars map[string]string, kubeconfig, rulesDir string) ([]byte, error) {
	text, err := substitute(generated, vars)
	if err != nil {
		return nil, fmt.Errorf("the operator's configuration: %w", err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(text, &cfg); err != nil {
		return nil, fmt.Errorf("the operator's configuration: %w", err)
	}
	discovering, _ := cfg["scrape_configs"].([]any)
	if alerting, ok := cfg["alerting"].(map[string]any); ok {
		ams, _ := alerting["alertmanagers"].([]any)
		discovering = append(discovering, ams...)
	}
	for _, s := range discovering {
		sc, _ := s.(map[string]any)
		sds, _ := sc["kubernetes_sd_configs"].([]any)
		for _, sd := range sds {
			if m, ok := sd.(map[string]any); ok {
				m["kubeconfig_file"] = kubeconfig
			}
		}
	}
	if files, ok := cfg["rule_files"].([]any); ok {
		for i, f := range files {
			if s, ok := f.(string); ok && strings.HasPrefix(s, ruleDirInPod) {
				files[i] = filepath.Join(rulesDir, strings.TrimPrefix(s, ruleDirInPod))
			}
		}
	}
	return yaml.Marshal(cfg)
}

func sdKubeconfig(c Cluster, user, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, certificate-authority: %q}
users:
- name: %q
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: %q}
current-context: test
`, c.Server, c.CAFile, user, token, user)
}

func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
