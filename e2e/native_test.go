//go:build e2e

package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// TestNativeHistogramsThroughTheOperator: `create --native-histograms` is applied to a real API
// server, where the real operator turns the Envoy monitor into Prometheus' scrape configuration:
// the protobuf exposition first, native histograms on, the classic buckets kept. That scrape
// configuration, as generated (its Kubernetes discovery replaced by the simulated Envoys, which
// are not pods here), runs in a real Prometheus 3, which so keeps both forms of the latency
// histogram; `top` over it matches the simulator's truth.
func TestNativeHistogramsThroughTheOperator(t *testing.T) {
	// Mostly waits for a rate window to fill: the other long end-to-end tests run meanwhile.
	t.Parallel()
	bin := buildBinary(t)
	fleet := &envoysim.Fleet{
		Start: time.Now().Add(-10 * time.Minute),
		Pods:  []string{"envoy-0", "envoy-1"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_frontend_80", RPS: 40, ErrorRatio: 0.05, ClientErrorRatio: 0.02,
				Latency: envoysim.Latency{{Weight: 0.6, LoMs: 10, HiMs: 25}, {Weight: 0.25, LoMs: 25, HiMs: 50}, {Weight: 0.15, LoMs: 100, HiMs: 250}}},
			{Name: "shop_cart_8080", RPS: 20, ErrorRatio: 0.01, Latency: envoysim.Uniform(50, 100)},
		},
	}
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(operatorVersion))
	c.StartOperator(t)
	const ns, team = "native", "team-n"
	c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", ns)
	_, stderr, code := cli.Run(t, bin, nil, "create", team, "-n", ns, "--replicas", "1", "--native-histograms",
		"--prometheus-version", "v3.8.0", "--apply", "--kubeconfig", c.Kubeconfig(kubetest.Admin))
	if code != 0 {
		t.Fatalf("create --native-histograms --apply: exit %d: %s", code, stderr)
	}
	client, err := kubernetes.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	cfg := nativeScrapeConfig(t, client, ns, team, promtest.ServeFleet(t, fleet, ns))
	srv := promtest.StartConfig(t, cfg, promtest.ConfigOptions{Binary: tools.Path(t, "prometheus3")})
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_time{namespace="native"}`, len(fleet.Pods)*len(fleet.Clusters), time.Minute)
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_time_bucket{namespace="native",le="+Inf"}`, len(fleet.Pods)*len(fleet.Clusters), 10*time.Second)
	began := time.Now()
	// A 30s window needs 30s of samples.
	time.Sleep(32*time.Second - time.Since(began))
	out, stderr, code := cli.Run(t, bin, nil, "top", "--prometheus-url", srv.URL(), "--envoy-namespace", ns, "--window", "30s", "--once", "-o", "json")
	if code != 0 {
		t.Fatalf("top: exit %d: %s", code, stderr)
	}
	truth.Check(t, truth.Decode(t, []byte(out)), fleet, truth.Issue)
}

// nativeScrapeConfig is the configuration the operator generated for the team's Prometheus,
// with the Envoy monitor's scrape job checked for native histograms and kept as generated but
// for its discovery: static targets (the simulated Envoys) with the namespace and pod labels its
// relabelling would have set from the pods.
func nativeScrapeConfig(t *testing.T, client kubernetes.Interface, ns, team string, targets []promtest.Target) string {
	t.Helper()
	cfg, text := operatorConfig(t, client, ns, team, "podMonitor/"+ns+"/")
	var envoy map[string]any
	jobs, _ := cfg["scrape_configs"].([]any)
	for _, j := range jobs {
		job, _ := j.(map[string]any)
		if name, _ := job["job_name"].(string); strings.HasPrefix(name, "podMonitor/"+ns+"/") && strings.Contains(name, "envoy") {
			envoy = job
		}
	}
	if envoy == nil {
		t.Fatalf("the operator generated no Envoy scrape job:\n%s", text)
	}
	protocols, _ := envoy["scrape_protocols"].([]any)
	classic := envoy["always_scrape_classic_histograms"] == true || envoy["scrape_classic_histograms"] == true
	if len(protocols) == 0 || protocols[0] != "PrometheusProto" || envoy["scrape_native_histograms"] != true || !classic {
		t.Fatalf("the Envoy job does not scrape native histograms beside the classic ones: protocols %v, native %v, classic %v",
			protocols, envoy["scrape_native_histograms"], classic)
	}
	delete(envoy, "kubernetes_sd_configs")
	delete(envoy, "relabel_configs")
	delete(envoy, "scrape_interval")
	delete(envoy, "scrape_timeout")
	var static []any
	for _, target := range targets {
		u, err := url.Parse(target.URL)
		if err != nil {
			t.Fatal(err)
		}
		if envoy["metrics_path"] != u.Path {
			t.Logf("metrics_path %v, the simulator's %s: the simulator's is used", envoy["metrics_path"], u.Path)
			envoy["metrics_path"] = u.Path
		}
		static = append(static, map[string]any{"targets": []string{u.Host}, "labels": target.Labels})
	}
	envoy["static_configs"] = static
	for _, key := range []string{"rule_files", "alerting", "remote_write"} {
		delete(cfg, key)
	}
	cfg["scrape_configs"] = []any{envoy}
	return writeLocalConfig(t, cfg)
}
