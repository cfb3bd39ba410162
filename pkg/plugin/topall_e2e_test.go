//go:build e2e

package plugin

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tmuxtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// TestTopAllTeams runs `top -A` on a real API server with four team stacks, as a user who may
// list every stack but reach only some: team-a's Prometheus (a real one, scraping a simulated
// fleet, with an alert firing) must match the fleet's truth; team-b's Prometheus scrapes nothing,
// as with a monitor whose selector matches no pod, and says so; team-c's namespace denies the
// user port-forwards, and team-d's stack has no pod: each is a row with its reason, and the whole
// command ends within its bounds.
func TestTopAllTeams(t *testing.T) {
	t.Parallel()
	binary(t)
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	teams := []string{"team-a", "team-b", "team-c", "team-d"}
	for _, n := range teams {
		c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", n)
	}

	fleet := e2eFleet()
	rules := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rules, []byte("groups:\n- name: test\n  rules:\n  - alert: AlwaysFiring\n    expr: vector(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	promA := promtest.Start(t, promtest.ServeFleet(t, fleet, "team-a"), promtest.Options{ScrapeInterval: time.Second, RuleFiles: []string{rules}})
	promB := promtest.Start(t, nil, promtest.Options{ScrapeInterval: time.Second})
	scraping := time.Now()
	var forwards []kubetest.Forward
	for team, srv := range map[string]*promtest.Server{"team-a": promA, "team-b": promB, "team-c": promA} {
		forwards = append(forwards, kubetest.Forward{Namespace: team, Pod: "prometheus-" + team + "-0", Port: 9090,
			Target: strings.TrimPrefix(srv.URL(), "http://")})
	}
	agent := c.StartNodeAgent(t, forwards...)

	admin := []string{"--kubeconfig", c.Kubeconfig(kubetest.Admin)}
	for _, team := range teams {
		if _, stderr, code := runPromteam(t, nil, append([]string{"create", team, "-n", team, "--apply"}, admin...)...); code != 0 {
			t.Fatalf("create %s --apply: %s", team, stderr)
		}
	}
	for _, team := range []string{"team-a", "team-b", "team-c"} {
		agent.RunPod(t, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "prometheus-" + team + "-0", Namespace: team,
				Labels: map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": team}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "prometheus", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9090}}},
			}},
		})
		agent.WaitPodReady(t, team, "prometheus-"+team+"-0")
	}

	// dev lists every stack, and may reach the Prometheus of every team but team-c.
	c.KubectlOK(t, kubetest.Admin, nil, "create", "clusterrole", "stacks-reader", "--verb=get,list,watch", "--resource=prometheuses.monitoring.coreos.com")
	c.KubectlOK(t, kubetest.Admin, nil, "create", "clusterrolebinding", "dev-stacks", "--clusterrole=stacks-reader", "--user="+kubetest.Dev)
	c.KubectlOK(t, kubetest.Admin, nil, "create", "clusterrole", "pods-reader", "--verb=get,list,watch", "--resource=services,pods")
	c.KubectlOK(t, kubetest.Admin, nil, "create", "clusterrole", "port-forwarder", "--verb=get,create", "--resource=pods/portforward")
	for _, team := range []string{"team-a", "team-b", "team-d"} {
		for _, role := range []string{"pods-reader", "port-forwarder"} {
			c.KubectlOK(t, kubetest.Admin, nil, "create", "rolebinding", "dev-"+role, "--clusterrole="+role, "--user="+kubetest.Dev, "-n", team)
		}
	}
	dev := []string{"--kubeconfig", c.Kubeconfig(kubetest.Dev)}

	promA.WaitForSeries(t, `envoy_cluster_upstream_rq_total`, len(fleet.Pods)*len(fleet.Clusters), 30*time.Second)
	// A 30s window of samples: a scrape that comes a second late then moves the rates by 3%.
	time.Sleep(time.Until(scraping.Add(32 * time.Second)))

	start := time.Now()
	out, stderr, code := runPromteam(t, nil, append([]string{"top", "-A", "--once", "-o", "json", "--window", "30s", "--timeout", "10s"}, dev...)...)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("top -A: exit %d: %s", code, stderr)
	}
	if took > 30*time.Second {
		t.Errorf("top -A took %s", took.Round(time.Millisecond))
	}
	rows := truth.DecodeOverview(t, []byte(out))
	if len(rows) != len(teams) {
		t.Fatalf("%d teams:\n%s", len(rows), out)
	}
	byTeam := map[string]truth.Team{}
	for i, team := range rows {
		if team.Namespace != teams[i] || team.Team != teams[i] {
			t.Errorf("row %d is %s/%s, want %s/%s (sorted by namespace and team)", i, team.Namespace, team.Team, teams[i], teams[i])
		}
		byTeam[team.Team] = team
	}

	t.Run("healthy team matches the truth", func(t *testing.T) {
		a := byTeam["team-a"]
		rps, success, worst, worstCluster := truth.TeamTotals(fleet)
		switch {
		case a.Via != "prometheus" || a.Reason != "":
			t.Fatalf("team-a: via %q, reason %q", a.Via, a.Reason)
		case a.RPS == nil || math.Abs(*a.RPS-rps)/rps > 0.1:
			t.Errorf("team-a rps %v, want %v", valueOf(a.RPS), rps)
		case a.SuccessRate == nil || math.Abs(*a.SuccessRate-success) > 0.02:
			t.Errorf("team-a success %v, want %v", valueOf(a.SuccessRate), success)
		case a.WorstP99 == nil || math.Abs(*a.WorstP99-worst)/worst > 0.2 || a.WorstCluster != worstCluster:
			t.Errorf("team-a worst p99 %v of %q, want %v of %q", valueOf(a.WorstP99), a.WorstCluster, worst, worstCluster)
		}
		if a.Clusters == nil || *a.Clusters != len(fleet.Clusters) {
			t.Errorf("team-a clusters %v, want %d", a.Clusters, len(fleet.Clusters))
		}
		if valueOf(a.AlertsFiring) != 1 {
			t.Errorf("team-a alerts firing %v, want 1", valueOf(a.AlertsFiring))
		}
		if n := float64(len(fleet.Pods)); valueOf(a.TargetsUp) != n || valueOf(a.Targets) != n {
			t.Errorf("team-a targets %v/%v, want %v/%v", valueOf(a.TargetsUp), valueOf(a.Targets), n, n)
		}
		if a.HeadSeries == nil || *a.HeadSeries < float64(len(fleet.Pods)*len(fleet.Clusters)) || a.MemoryBytes == nil {
			t.Errorf("team-a head series %v, memory %v", valueOf(a.HeadSeries), valueOf(a.MemoryBytes))
		}
		// Its Prometheus holds less than the 5 minutes samples per second average over.
		if a.SamplesPerSecond != nil || valueOf(a.LargestScrape) <= 0 {
			t.Errorf("team-a samples per second %v, want unknown; largest scrape %v", valueOf(a.SamplesPerSecond), valueOf(a.LargestScrape))
		}
		if a.Limits.Samples == 0 || a.Limits.MemoryBytes == 0 || len(a.Notes) != 0 {
			t.Errorf("team-a limits %+v, notes %q", a.Limits, a.Notes)
		}
	})

	t.Run("a Prometheus that scrapes nothing", func(t *testing.T) {
		b := byTeam["team-b"]
		if b.Via != "prometheus" || valueOf(b.Targets) != 0 || valueOf(b.TargetsUp) != 0 || b.RPS != nil {
			t.Errorf("team-b: via %q, targets %v/%v, rps %v", b.Via, valueOf(b.TargetsUp), valueOf(b.Targets), valueOf(b.RPS))
		}
		if want := "no targets: kubectl promteam doctor team-b -n team-b"; len(b.Notes) == 0 || b.Notes[0] != want {
			t.Errorf("team-b notes %q, want %q", b.Notes, want)
		}
	})

	t.Run("teams not reached say why", func(t *testing.T) {
		for team, want := range map[string]string{
			"team-c": "create pods/portforward in namespace team-c",
			"team-d": "no pod of Service team-d/prometheus-team-d exists",
		} {
			r := byTeam[team]
			if r.Via != "" || !strings.Contains(r.Reason, want) || r.RPS != nil || r.Targets != nil {
				t.Errorf("%s: via %q, reason %q (want %q), rps %v, targets %v", team, r.Via, r.Reason, want, valueOf(r.RPS), valueOf(r.Targets))
			}
		}
		if r := byTeam["team-c"].Reason; !strings.HasPrefix(r, "no permission: ") {
			t.Errorf("team-c's reason %q does not start with no permission", r)
		}
	})

	t.Run("table", func(t *testing.T) {
		out, stderr, code := runPromteam(t, nil, append([]string{"top", "-A", "--once", "--window", "30s", "--sort-by", "rps"}, dev...)...)
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if code != 0 || len(lines) != 1+len(teams) {
			t.Fatalf("exit %d, %d lines:\n%s%s", code, len(lines), out, stderr)
		}
		for _, want := range []string{"NAMESPACE", "TEAM", "STATUS", "VIA", "RPS", "SUCCESS", "WORST P99", "ALERTS", "TARGETS", "SERIES", "SAMPLES/S", "MEMORY", "NOTE"} {
			if !strings.Contains(lines[0], want) {
				t.Errorf("the header lacks %s: %s", want, lines[0])
			}
		}
		// Sorted by requests: team-a (the only traffic), then team-b (none), then those not reached.
		for i, team := range []string{"team-a", "team-b"} {
			if !strings.HasPrefix(lines[i+1], team) {
				t.Errorf("line %d: %s, want %s", i+1, lines[i+1], team)
			}
		}
	})

	t.Run("list --live", func(t *testing.T) {
		out, stderr, code := runPromteam(t, nil, append([]string{"list", "-A", "--live", "-o", "json"}, dev...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var doc struct {
			Items []struct {
				Team string `json:"team"`
				Live *struct {
					Reason       string   `json:"reason"`
					TargetsUp    *float64 `json:"targets_up"`
					HeadSeries   *float64 `json:"head_series"`
					AlertsFiring *float64 `json:"alerts_firing"`
				} `json:"live"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Items) != len(teams) {
			t.Fatalf("%d stacks:\n%s", len(doc.Items), out)
		}
		for _, item := range doc.Items {
			switch l := item.Live; {
			case l == nil:
				t.Errorf("%s: no live numbers", item.Team)
			case item.Team == "team-a" && (valueOf(l.TargetsUp) != float64(len(fleet.Pods)) || valueOf(l.AlertsFiring) != 1 || valueOf(l.HeadSeries) <= 0 || l.Reason != ""):
				t.Errorf("team-a: targets up %v, firing %v, head series %v, reason %q", valueOf(l.TargetsUp), valueOf(l.AlertsFiring), valueOf(l.HeadSeries), l.Reason)
			case item.Team == "team-c" && (!strings.Contains(l.Reason, "create pods/portforward in namespace team-c") || l.TargetsUp != nil):
				t.Errorf("team-c: reason %q, targets up %v", l.Reason, valueOf(l.TargetsUp))
			}
		}
	})

	t.Run("live view in a real terminal", func(t *testing.T) {
		s := tmuxtest.Start(t, 200, 30)
		s.Type(t, binary(t)+" top -A --window 20s --interval 2s --timeout 10s "+strings.Join(dev, " ")+"; echo EXITED=$?")
		every := func(sc string) bool {
			return strings.Contains(sc, "4 teams") && strings.Contains(sc, "no permission: get services in namespace team-c")
		}
		s.WaitFor(t, "every team", 30*time.Second, every)
		// Sorted by name, team-a is selected first: open its dashboard.
		s.Keys(t, "Enter")
		s.WaitFor(t, "team-a's dashboard", 30*time.Second, func(sc string) bool { return strings.Contains(sc, "shop_frontend_80") })
		s.Keys(t, "Escape")
		s.WaitFor(t, "every team again", 30*time.Second, func(sc string) bool { return every(sc) && !strings.Contains(sc, "shop_frontend_80") })
		s.Keys(t, "q")
		s.WaitForText(t, "EXITED=0", 10*time.Second)
	})

	t.Run("teams by name", func(t *testing.T) {
		out, stderr, code := runPromteam(t, nil, append([]string{"top", "--teams", "team-b,team-d/team-d", "--once", "-o", "json"}, dev...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var doc struct {
			Teams []truth.Team `json:"teams"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Teams) != 2 || doc.Teams[0].Team != "team-b" || doc.Teams[1].Team != "team-d" {
			t.Errorf("--teams team-b,team-d/team-d: %+v", doc.Teams)
		}
	})

	// The live view's reader, in-process: each refresh reads team-a through the tunnel the first
	// one opened (it outlives the read that opened it), while team-c, not reached, is tried anew.
	t.Run("refreshes keep each team's tunnel", func(t *testing.T) {
		kubeconfig := c.Kubeconfig(kubetest.Dev)
		flags := genericclioptions.NewConfigFlags(true)
		flags.KubeConfig = &kubeconfig
		prom := NewPrometheusFlags(flags, genericiooptions.NewTestIOStreamsDiscard())
		prom.Timeout = 10 * time.Second
		conns := &teamConns{ctx: t.Context()}
		defer conns.close()
		reader := teamsReader{prom: prom, flags: flags, concurrency: defaultConcurrency, conns: conns}
		var mu sync.Mutex
		made := map[string]int{}
		reader.connect = func(ctx context.Context, s kube.StackSummary) (teamConn, error) {
			mu.Lock()
			made[s.Team]++
			mu.Unlock()
			return reader.connectInCluster(ctx, s)
		}
		stacks := []kube.StackSummary{{Namespace: "team-a", Team: "team-a", Shards: 1, Replicas: 1}, {Namespace: "team-c", Team: "team-c", Shards: 1, Replicas: 1}}
		for i := range 3 {
			rows := reader.rows(t.Context(), stacks, time.Now())
			conns.keepOnly(stacks)
			if a := rows[0]; a.Reason != "" || a.TargetsUp != float64(len(fleet.Pods)) {
				t.Errorf("refresh %d: team-a reason %q, targets up %v", i, a.Reason, a.TargetsUp)
			}
			if rows[1].Reason == "" {
				t.Errorf("refresh %d: team-c reached", i)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if made["team-a"] != 1 || made["team-c"] != 3 {
			t.Errorf("connections made in 3 refreshes: %v, want team-a 1, team-c 3", made)
		}
	})
}

func valueOf(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}
