//go:build e2e

package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/thanostest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
)

// TestThroughTheTeamsThanosQuery: a stack created with --shards 2 --replicas 1 --thanos on a real
// API server
// whose node agent (kwok) forwards the pods' ports to real processes: each shard's pod to a real
// Prometheus 3 scraping half of a simulated Envoy fleet, with a real Thanos sidecar, and the
// Thanos Query pod to a real Thanos Query over both sidecars. top reaches the Query on its own
// and reports the whole fleet ("backend": "thanos-query"); --direct reaches one shard and reports
// half of it ("backend": "prometheus"); doctor reads the Query and its thanos-stores check names
// a sidecar that stopped, after which top fails rather than show half the numbers.
func TestThroughTheTeamsThanosQuery(t *testing.T) {
	t.Parallel()
	binary(t)
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	const ns = "team-a"
	c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", ns)

	// Two Envoys, one per shard; the truth is their sum.
	fleet := e2eFleet()
	targets := promtest.ServeFleet(t, fleet, ns)
	shardPods := []string{"prometheus-team-a-0", "prometheus-team-a-shard-1-0"}
	bin := tools.Path(t, "prometheus3")
	var servers []*promtest.Server
	var sidecars []*thanostest.Process
	var strict []string
	// Every shard evaluates the same alert, as each shard of an operator's stack evaluates the
	// team's rules: the Query's /api/v1/alerts (the sidecars' Rules API) shows it once.
	rules := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rules, []byte("groups:\n- name: g\n  rules:\n  - alert: ShardsAgree\n    expr: vector(1)\n    labels: {severity: warning}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, pod := range shardPods {
		// A sidecar that uploads needs local compaction off, as the operator sets it.
		srv := promtest.Start(t, targets[i:i+1], promtest.Options{ScrapeInterval: time.Second, Binary: bin, RuleFiles: []string{rules},
			ExtraArgs:      []string{"--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h"},
			ExternalLabels: map[string]string{"prometheus": ns + "/team-a", "prometheus_replica": pod}})
		// Each sidecar ships to a bucket on disk: its shipper counters are there from the start.
		bucket := fmt.Sprintf("type: FILESYSTEM\nconfig:\n  directory: %s\n", t.TempDir())
		sc := thanostest.StartSidecar(t, pod, srv.URL(), srv.DataDir(), thanostest.SidecarOptions{ObjstoreConfig: bucket})
		servers, sidecars = append(servers, srv), append(sidecars, sc)
		strict = append(strict, "--endpoint-strict="+sc.GRPC)
	}
	query := thanostest.StartQuery(t, nil, thanostest.QueryOptions{ReplicaLabels: []string{"prometheus_replica"}, Args: strict})
	thanostest.WaitForStores(t, query.URL(), 2, 60*time.Second)

	agent := c.StartNodeAgent(t,
		kubetest.Forward{Namespace: ns, Pod: shardPods[0], Port: 9090, Target: strings.TrimPrefix(servers[0].URL(), "http://")},
		kubetest.Forward{Namespace: ns, Pod: shardPods[1], Port: 9090, Target: strings.TrimPrefix(servers[1].URL(), "http://")},
		kubetest.Forward{Namespace: ns, Pod: "thanos-query-team-a-0", Port: 10902, Target: query.HTTP},
	)
	admin := []string{"--kubeconfig", c.Kubeconfig(kubetest.Admin)}
	if _, stderr, code := runPromteam(t, nil, append([]string{"create", "team-a", "-n", ns, "--shards", "2", "--replicas", "1", "--thanos", "--apply"}, admin...)...); code != 0 {
		t.Fatalf("create --shards 2 --replicas 1 --thanos --apply: %s", stderr)
	}
	for shard, name := range shardPods {
		pod := agent.RunPod(t, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
				"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "team-a",
				"operator.prometheus.io/shard": fmt.Sprint(shard)}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "prometheus", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9090}}},
				{Name: "thanos-sidecar", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 10902}, {Name: "grpc", ContainerPort: 10901}}},
			}},
		})
		// The API server's pods/proxy to the sidecar's metrics.
		c.RoutePod(pod.Status.PodIP, 10902, sidecars[shard].HTTP)
	}
	agent.RunPod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "thanos-query-team-a-0", Namespace: ns, Labels: map[string]string{
			"app.kubernetes.io/name": "thanos-query", "app.kubernetes.io/instance": "team-a", "promteam.io/team": "team-a"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "thanos-query",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 10902}, {Name: "grpc", ContainerPort: 10901}}}}},
	})
	for _, srv := range servers {
		srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total`, len(fleet.Clusters), 30*time.Second)
	}
	// A 20s window of samples on both shards.
	time.Sleep(22 * time.Second)

	top := func(extra ...string) (truth.Snapshot, string) {
		t.Helper()
		out, stderr, code := runPromteam(t, nil, append(append([]string{"top", "team-a", "-n", ns, "--once", "-o", "json", "--window", "20s"}, extra...), admin...)...)
		if code != 0 {
			t.Fatalf("top %v: exit %d: %s", extra, code, stderr)
		}
		var doc struct {
			Backend string `json:"backend"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("top %v: %v\n%s", extra, err, out)
		}
		if stderr != "" {
			t.Errorf("top %v said on stderr: %s", extra, stderr)
		}
		return truth.Decode(t, []byte(out)), doc.Backend
	}

	t.Run("top through the Thanos Query sees both shards", func(t *testing.T) {
		snap, backend := top()
		if backend != "thanos-query" {
			t.Errorf("backend %q, want thanos-query", backend)
		}
		if len(snap.Rows) != len(fleet.Clusters) {
			t.Errorf("%d rows for %d clusters", len(snap.Rows), len(fleet.Clusters))
		}
		truth.Check(t, snap, fleet, truth.Tolerance{RPS: 0.1, Success: 0.02, Quantile: 0.2})
	})

	t.Run("top --direct sees one shard", func(t *testing.T) {
		snap, backend := top("--direct")
		if backend != "prometheus" {
			t.Errorf("backend %q, want prometheus", backend)
		}
		for _, cl := range fleet.Clusters {
			if cl.RPS == 0 {
				continue
			}
			var row *truth.Row
			for i := range snap.Rows {
				if snap.Rows[i].Name == cl.Name {
					row = &snap.Rows[i]
				}
			}
			// Each shard scrapes one of the two Envoys: half of the fleet's rate.
			if row == nil || row.RPS == nil || *row.RPS < cl.RPS*0.4 || *row.RPS > cl.RPS*0.6 {
				t.Errorf("%s through one shard: %+v, want about %g rps", cl.Name, row, cl.RPS/2)
			}
		}
	})

	t.Run("port-forward leads to the Thanos Query", func(t *testing.T) {
		pf := startPromteam(t, nil, append([]string{"port-forward", "team-a", "-n", ns, "--port", "0"}, admin...)...)
		line := pf.line(t, 30*time.Second)
		m := regexp.MustCompile(`^Thanos Query of team team-a in namespace team-a: (http://127\.0\.0\.1:\d+)$`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("port-forward printed %q; stderr:\n%s", line, pf.stderr)
		}
		pf.waitStderr(t, 0, "connected to pod team-a/thanos-query-team-a-0 port 10902", 10*time.Second)
		// Both shards' series, through the one port.
		if n := promQuery(t, m[1], `envoy_cluster_upstream_rq_total`); n != len(fleet.Pods)*len(fleet.Clusters) {
			t.Errorf("%d series through the Thanos Query, want %d", n, len(fleet.Pods)*len(fleet.Clusters))
		}
		direct := startPromteam(t, nil, append([]string{"port-forward", "team-a", "-n", ns, "--port", "0", "--direct"}, admin...)...)
		if line := direct.line(t, 30*time.Second); !strings.HasPrefix(line, "Prometheus of team team-a in namespace team-a: http://127.0.0.1:") {
			t.Errorf("port-forward --direct printed %q", line)
		}
	})

	t.Run("alerts through the Thanos Query", func(t *testing.T) {
		out, stderr, code := runPromteam(t, nil, append([]string{"alerts", "team-a", "-n", ns, "-o", "json"}, admin...)...)
		if code != 0 {
			t.Fatalf("alerts: exit %d: %s", code, stderr)
		}
		var doc struct {
			Via     string `json:"via"`
			Backend string `json:"backend"`
			Alerts  []struct {
				Name string `json:"alertname"`
			} `json:"alerts"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("alerts -o json: %v\n%s", err, out)
		}
		if doc.Backend != "thanos-query" || !strings.Contains(doc.Via, "thanos-query-team-a") {
			t.Errorf("alerts answered by %q via %q", doc.Backend, doc.Via)
		}
		if len(doc.Alerts) != 1 || doc.Alerts[0].Name != "ShardsAgree" {
			t.Errorf("alerts %+v, want ShardsAgree once", doc.Alerts)
		}
	})

	doctor := func() map[string]string {
		t.Helper()
		out, stderr, _ := runPromteam(t, nil, append([]string{"doctor", "team-a", "-n", ns, "-o", "json", "--wait", "1s"}, admin...)...)
		var report struct {
			Backend string                                `json:"backend"`
			Results []struct{ ID, Status, Reason string } `json:"results"`
		}
		if err := json.Unmarshal([]byte(out), &report); err != nil {
			t.Fatalf("doctor -o json: %v\n%s\n%s", err, out, stderr)
		}
		got := map[string]string{"backend": report.Backend}
		for _, r := range report.Results {
			got[r.ID] = r.Status + ": " + r.Reason
		}
		return got
	}

	t.Run("doctor reads the Thanos Query", func(t *testing.T) {
		got := doctor()
		if got["backend"] != "thanos-query" {
			t.Errorf("doctor's backend %q", got["backend"])
		}
		if want := "passed: the Thanos Query sees the sidecars of all 2 pods (2 shard(s) × 1 replica(s))"; got["thanos-stores"] != want {
			t.Errorf("thanos-stores: %s, want %s", got["thanos-stores"], want)
		}
		if want := fmt.Sprintf("passed: %d targets up", len(fleet.Pods)); got["targets"] != want {
			t.Errorf("targets through the Query: %s, want %s", got["targets"], want)
		}
		if !strings.HasPrefix(got["sharding"], "passed: 2 shards, seen as one through the Thanos sidecars") {
			t.Errorf("sharding: %s", got["sharding"])
		}
		if !strings.HasPrefix(got["thanos-uploads"], "passed: no object storage configured") {
			t.Errorf("thanos-uploads: %s", got["thanos-uploads"])
		}
		// With object storage, the sidecars' shipper counters, read through pods/proxy: young
		// pods have uploaded nothing yet, and that is no failure.
		c.KubectlOK(t, kubetest.Admin, nil, "patch", "prometheus", "team-a", "-n", ns, "--type=merge",
			"-p", `{"spec":{"thanos":{"objectStorageConfig":{"name":"objstore","key":"thanos.yaml"}}}}`)
		got = doctor()
		if want := "passed: 0 block(s) uploaded, 2 of 2 sidecar(s) ship blocks, none failed"; !strings.HasPrefix(got["thanos-uploads"], want) {
			t.Errorf("thanos-uploads with object storage: %s, want %s…", got["thanos-uploads"], want)
		}
	})

	t.Run("a stopped sidecar is named, and top refuses half the numbers", func(t *testing.T) {
		sidecars[1].Stop()
		// The Query notices at its next health check of the store.
		deadline := time.Now().Add(30 * time.Second)
		for noticed := false; !noticed; {
			stores, err := thanostest.Stores(context.Background(), query.URL())
			for _, s := range stores["sidecar"] {
				noticed = noticed || (err == nil && s.Name == sidecars[1].GRPC && s.LastError != "")
			}
			if !noticed && time.Now().After(deadline) {
				t.Fatalf("the Query did not notice the stopped sidecar: %+v %v", stores, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
		got := doctor()
		if s := got["thanos-stores"]; !strings.HasPrefix(s, "failed: ") || !strings.Contains(s, "prometheus-team-a-shard-1-0") || strings.Contains(s, "prometheus-team-a-0,") {
			t.Errorf("thanos-stores with shard 1's sidecar stopped: %s", s)
		}
		out, stderr, code := runPromteam(t, nil, append([]string{"top", "team-a", "-n", ns, "--once", "-o", "json", "--window", "20s"}, admin...)...)
		if code != 1 || out != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("top with a sidecar stopped: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
	})
}
