package plugin

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// createCase is one representative create invocation; the golden files and the API-server test
// share them.
type createCase struct {
	name string
	args []string
	// namespaces that must exist besides the team namespace for the stack to apply
	extraNamespaces []string
}

func createCases() []createCase {
	cases := []createCase{
		{name: "default", args: []string{"create", "team-a", "-n", "team-a"}},
		{name: "json", args: []string{"create", "team-a", "-n", "team-a", "-o", "json"}},
		{name: "ha-remote-write", args: []string{"create", "team-a", "-n", "team-a", "--replicas", "3",
			"--remote-write", "https://metrics.example.com/api/v1/write", "--remote-write", "http://thanos-receive.monitoring:19291/api/v1/receive",
			"--external-label", "cluster=prod-eu", "--external-label", "region=eu-west-1"}},
		{name: "remote-write-tenant", args: []string{"create", "team-a", "-n", "team-a", "--remote-write", "https://mimir.example.com/api/v1/push",
			"--remote-write-tenant", "team-a", "--remote-write-basic-auth", "mimir-auth"}},
		{name: "remote-write-bearer", args: []string{"create", "team-a", "-n", "team-a", "--remote-write", "https://vm.example.com/api/v1/write",
			"--remote-write-bearer", "remote-write/token"}},
		{name: "everything", args: []string{"create", "checkout", "-n", "team-a", "--envoy", "envoy,contour", "--envoy", "istio", "--envoy", "statsd",
			"--slo", "99.9", "--grafana-dashboard", "--network-policy", "--envoy-selector", "app=edge,tier in (a,b)",
			"--storage", "50Gi", "--storage-class", "fast-ssd", "--retention", "30d", "--retention-size", "40Gi",
			"--cpu", "500m", "--memory", "1Gi", "--memory-limit", "4Gi", "--prometheus-version", "3.11.1",
			"--scrape-interval", "1m", "--envoy-scrape-interval", "10s", "--evaluation-interval", "1m",
			"--target-limit", "400", "--sample-limit", "500000"}},
		{name: "envoy-namespace", args: []string{"create", "team-a", "-n", "team-a", "--envoy", "envoy-gateway", "--envoy-namespace", "envoy-gateway-system"},
			extraNamespaces: []string{"envoy-gateway-system"}},
		{name: "cluster-scope", args: []string{"create", "team-a", "-n", "team-a", "--cluster-scope"}},
		{name: "single-ephemeral-sharded", args: []string{"create", "team-a", "-n", "team-a", "--replicas", "1", "--shards", "2",
			"--storage", "0", "--memory-limit", "0", "--no-alerts", "--target-limit", "0", "--sample-limit", "0",
			"--remote-write", "http://thanos-receive.monitoring:19291/api/v1/receive"}},
	}
	cases = append(cases,
		createCase{name: "alertmanager-own", args: []string{"create", "team-a", "-n", "team-a", "--slo", "99.9", "--alertmanager", "own",
			"--notify", "pagerduty=pagerduty/routing-key", "--notify", "slack=slack/url,channel=#team-a",
			"--notify", "webhook=hooks/team-a,severity=warning", "--notify", "email=team-a@example.com,smarthost=smtp.example.com:587,from=alerts@example.com,username=alerts,password=smtp/password"}},
		createCase{name: "alertmanager-shared", args: []string{"create", "team-a", "-n", "team-a", "--envoy", "contour", "--envoy-namespace", "projectcontour",
			"--alertmanager", "monitoring/main", "--alertmanager-service", "alertmanager-main", "--alertmanager-config-label", "alertmanagerConfig=main",
			"--notify", "webhook=hooks/team-a", "--runbook-url", "https://wiki.example.com/runbooks/{alert}"},
			extraNamespaces: []string{"projectcontour", "monitoring"}},
	)
	cases = append(cases, createCase{name: "thanos", args: []string{"create", "team-a", "-n", "team-a", "--thanos", "--shards", "2", "--replicas", "2",
		"--thanos-objstore", "objstore/thanos.yaml"}})
	for _, p := range []string{"envoy", "emissary", "contour", "istio", "envoy-gateway", "gloo", "statsd", "none"} {
		cases = append(cases, createCase{name: "preset-" + p, args: []string{"create", "team-a", "-n", "team-a", "--envoy", p}})
	}
	return cases
}

// run executes the command tree in-process with its own streams.
func run(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	err = Execute(context.Background(), streams, args)
	return out.String(), errOut.String(), err
}

func TestCreateGolden(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	for _, tc := range createCases() {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := run(t, tc.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			ext := ".yaml"
			if tc.name == "json" {
				ext = ".json"
			}
			golden.Assert(t, filepath.Join("testdata", "create", tc.name+ext), []byte(out))
			again, _, _ := run(t, tc.args...)
			if again != out {
				t.Error("a second run printed different bytes")
			}
		})
	}
}

func TestCreateExplainGolden(t *testing.T) {
	out, _, err := run(t, "create", "checkout", "-n", "shop", "--envoy", "contour", "--replicas", "3", "--slo", "99.9",
		"--remote-write", "https://metrics.example.com/api/v1/write", "--remote-write-tenant", "checkout", "--remote-write-basic-auth", "metrics-auth",
		"--external-label", "cluster=prod-eu", "--explain")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "create", "explain.txt"), []byte(out))

	out, _, err = run(t, "create", "team-a", "-n", "team-a", "--thanos", "--shards", "2", "--replicas", "2",
		"--thanos-objstore", "objstore/thanos.yaml", "--thanos-query-replicas", "2", "--network-policy", "--explain")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "create", "explain-thanos.txt"), []byte(out))
}

func TestNamespaceComesFromTheKubeconfigContext(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "config")
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts:
- {name: dev, context: {cluster: c, user: u, namespace: payments}}
- {name: ops, context: {cluster: c, user: u, namespace: platform}}
current-context: dev
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--kubeconfig", kubeconfig}, "payments"},
		{[]string{"--kubeconfig", kubeconfig, "--context", "ops"}, "platform"},
		{[]string{"--kubeconfig", kubeconfig, "-n", "explicit"}, "explicit"},
	} {
		out, _, err := run(t, append([]string{"create", "team-a"}, tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		// Every object's namespace, and the namespace label of every alert.
		found := namespaceLine.FindAllStringSubmatch(out, -1)
		for _, m := range found {
			if m[1] != tc.want {
				t.Errorf("%v: %q, want everything in namespace %s", tc.args, m[0], tc.want)
			}
		}
		if len(found) == 0 {
			t.Errorf("%v: no namespace in the output", tc.args)
		}
	}

	// No kubeconfig at all, as on a fresh machine: the default namespace.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	out, _, err := run(t, "create", "team-a")
	if err != nil || !strings.Contains(out, "namespace: default\n") {
		t.Errorf("without a kubeconfig: %v", err)
	}
	// A kubeconfig named explicitly must exist.
	_, _, err = run(t, "create", "team-a", "--kubeconfig", filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.Contains(err.Error(), "pass -n NAMESPACE") {
		t.Errorf("explicit missing kubeconfig: %v", err)
	}
}

func TestHelpShowsKubectlName(t *testing.T) {
	out, _, err := run(t, "create", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kubectl promteam create TEAM", "--envoy", "--retention-size", "--kubeconfig", "--context", "-n, --namespace", "envoy_cluster:upstream_rq:rate5m"} {
		if !strings.Contains(out, want) {
			t.Errorf("create --help lacks %q", want)
		}
	}
	if strings.Contains(out, "kubectl-promteam create") {
		t.Error("help shows the binary name instead of kubectl promteam")
	}
}

var namespaceLine = regexp.MustCompile(`(?m)^\s+namespace: (.*)$`)

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, _, err := run(t, "completion", shell)
		if err != nil || !strings.Contains(out, "kubectl-promteam") {
			t.Errorf("completion %s: %v (%d bytes)", shell, err, len(out))
		}
	}
	out, _, err := run(t, "__complete", "create", "team-a", "--envoy", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"envoy", "emissary", "contour", "istio", "envoy-gateway", "gloo", "statsd", "none"} {
		if !strings.Contains(out, p+"\n") {
			t.Errorf("--envoy completion lacks %s:\n%s", p, out)
		}
	}
	out, _, _ = run(t, "__complete", "create", "team-a", "-o", "")
	if !strings.Contains(out, "yaml\n") || !strings.Contains(out, "json\n") {
		t.Errorf("-o completion: %s", out)
	}
}

func TestYAMLStreamParses(t *testing.T) {
	out, _, err := run(t, "create", "team-a", "-n", "team-a", "--envoy", "statsd", "--grafana-dashboard")
	if err != nil {
		t.Fatal(err)
	}
	for i, doc := range strings.Split(out, "\n---\n") {
		var m map[string]any
		if err := yaml.UnmarshalStrict([]byte(doc), &m); err != nil || m["kind"] == nil {
			t.Errorf("document %d: %v", i, err)
		}
	}
	if !bytes.HasSuffix([]byte(out), []byte("\n")) {
		t.Error("output does not end with a newline")
	}
}

// binary builds the real kubectl-promteam once per test run, with stamped version fields.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "promteam-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kubectl-promteam")
		pkg := "github.com/kubectl-promteam/kubectl-promteam/pkg/plugin"
		cmd := exec.Command("go", "build", "-o", binPath,
			"-ldflags", "-X "+pkg+".version=v9.8.7 -X "+pkg+".commit=abc1234 -X "+pkg+".date=2026-11-26T00:00:00Z",
			"github.com/kubectl-promteam/kubectl-promteam/cmd/kubectl-promteam")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = &buildError{err: err, out: string(out)}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// TestCreateSaysWhereAlertsGo: without an Alertmanager, one line on stderr says the alerts reach
// nobody and how to fix it; with receivers, stderr lists the commands that create their Secrets.
func TestCreateSaysWhereAlertsGo(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	_, stderr, err := run(t, "create", "team-a", "-n", "team-a")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n"); len(lines) != 1 ||
		!strings.Contains(lines[0], "delivered to nobody") || !strings.Contains(lines[0], "--alertmanager own") {
		t.Errorf("stderr %q, want one line saying the alerts reach nobody and naming --alertmanager", stderr)
	}
	if _, stderr, _ := run(t, "create", "team-a", "-n", "team-a", "--no-alerts"); stderr != "" {
		t.Errorf("--no-alerts: stderr %q, want nothing: there are no alerts to deliver", stderr)
	}
	_, stderr, err = run(t, "create", "team-a", "-n", "team-a", "--alertmanager", "own",
		"--notify", "slack=team-a-slack/url", "--notify", "pagerduty=team-a-pager/key", "--notify", "webhook=team-a-slack/hook")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"kubectl create secret generic team-a-slack -n team-a --from-literal=url='<the Slack incoming-webhook URL>' --from-literal=hook='<the webhook URL>'",
		"kubectl create secret generic team-a-pager -n team-a --from-literal=key=",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "delivered to nobody") {
		t.Errorf("stderr says nobody hears the alerts of a stack with receivers:\n%s", stderr)
	}
}

// TestCreateThanos: the Thanos flags reach the objects, create prints the command that makes the
// objstore Secret, and --explain says where the blocks go.
func TestCreateThanos(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	out, stderr, err := run(t, "create", "team-a", "-n", "team-a", "--no-alerts", "--thanos", "--thanos-version", "0.39.2",
		"--thanos-image", "registry.example.com/mirror/thanos:v0.39.2", "--thanos-query-replicas", "3", "--thanos-objstore", "objstore/thanos.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{
		"    image: registry.example.com/mirror/thanos:v0.39.2\n    objectStorageConfig:\n      key: thanos.yaml\n      name: objstore\n",
		"    version: v0.39.2\n",
		"  name: thanos-query-team-a\n",
		"  replicas: 3\n",
		"- --endpoint=dnssrv+_grpc._tcp.prometheus-team-a.team-a.svc\n",
		"promteam.io/thanos-query: thanos-query-team-a\n",
		"kind: PodDisruptionBudget\nmetadata:\n  labels:\n    app.kubernetes.io/instance: team-a\n    app.kubernetes.io/managed-by: kubectl-promteam\n    app.kubernetes.io/name: thanos-query\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	want := "note: the stack reads these Secret keys in namespace team-a; create them with:\n" +
		"  kubectl create secret generic objstore -n team-a --from-file=thanos.yaml='<path to a Thanos objstore YAML (the bucket's type and config)>'\n"
	if stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}

	explain, _, err := run(t, "create", "team-a", "-n", "team-a", "--thanos", "--shards", "2", "--retention", "7d", "--thanos-objstore", "objstore/thanos.yaml", "--explain")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(explain), " ")
	for _, w := range []string{"--retention 7d is now local retention: blocks go to object storage", "Thanos Query thanos-query-team-a (1 replica(s)", "and the Thanos Query merges them"} {
		if !strings.Contains(text, w) {
			t.Errorf("explain lacks %q:\n%s", w, explain)
		}
	}
	explain, _, err = run(t, "create", "team-a", "-n", "team-a", "--thanos", "--explain")
	if err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(strings.Fields(explain), " "); !strings.Contains(text, "deduplicates replicas and merges shards, but history stays local") {
		t.Errorf("explain without --thanos-objstore:\n%s", explain)
	}

	// Every Thanos flag without --thanos, and sharding without a query layer, is refused.
	for _, args := range [][]string{
		{"--thanos-objstore", "objstore/thanos.yaml"}, {"--thanos-version", "v0.41.0"}, {"--thanos-image", "thanosio/thanos:v0.41.0"},
		{"--thanos-query-replicas", "2"}, {"--shards", "2"},
	} {
		out, stderr, err := run(t, append([]string{"create", "team-a", "-n", "team-a"}, args...)...)
		var fe *manifests.FieldError
		if !errors.As(err, &fe) || fe.Field != strings.TrimPrefix(args[0], "--") || !strings.Contains(err.Error(), "--thanos") || out != "" {
			t.Errorf("%v: err %v, stdout %q, stderr %q", args, err, out, stderr)
		}
	}
}

// TestIstioGetsATargetPerSidecar: with the istio preset, whose monitor finds a target per
// sidecar, the target limit defaults to DefaultIstioTargetLimit; a --target-limit given wins, and
// other presets keep the default.
func TestIstioGetsATargetPerSidecar(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--envoy", "istio"}, "  enforcedTargetLimit: 1000\n"},
		{[]string{"--envoy", "istio", "--target-limit", "50"}, "  enforcedTargetLimit: 50\n"},
		{[]string{"--envoy", "contour"}, "  enforcedTargetLimit: 200\n"},
	} {
		out, stderr, err := run(t, append([]string{"create", "team-a", "-n", "team-a"}, tc.args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr)
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("%v: stdout lacks %q", tc.args, tc.want)
		}
	}
}
