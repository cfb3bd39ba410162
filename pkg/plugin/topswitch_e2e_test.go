//go:build e2e

package plugin

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tmuxtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// switchFleet is a team's fleet of one busy cluster at a steady rate.
func switchFleet(cluster string, rps float64) *envoysim.Fleet {
	return &envoysim.Fleet{
		Start:    time.Now().Add(-10 * time.Minute),
		Pods:     []string{"envoy-0"},
		Clusters: []envoysim.Cluster{{Name: cluster, RPS: rps, Latency: envoysim.Uniform(5, 10)}},
	}
}

// TestTopSwitchesTeamsInARealTerminal runs the real binary's dashboard in tmux against a real
// API server with two teams, each with its own real Prometheus scraping its own simulated fleet:
// T lists both teams, picking team-b shows team-b's cluster at its simulated rate and names
// team-b in the header; a team without a ready pod cannot be reached, and the dashboard keeps
// the team it shows, refreshing, with one line saying why. N picks a namespace, then a team in
// it; X picks a kubeconfig context, then a team there; b cycles the rows through routes and
// virtual hosts back to clusters.
func TestTopSwitchesTeamsInARealTerminal(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	fleets := map[string]*envoysim.Fleet{
		"team-a": switchFleet("alpha_svc_8080", 40),
		"team-b": switchFleet("bravo_svc_8080", 15),
	}
	var forwards []kubetest.Forward
	var servers []*promtest.Server
	for team, fleet := range fleets {
		c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", team)
		srv := promtest.Start(t, promtest.ServeFleet(t, fleet, team), promtest.Options{ScrapeInterval: time.Second})
		servers = append(servers, srv)
		forwards = append(forwards, kubetest.Forward{Namespace: team, Pod: "prometheus-" + team + "-0", Port: 9090,
			Target: strings.TrimPrefix(srv.URL(), "http://")})
	}
	agent := c.StartNodeAgent(t, forwards...)
	admin := []string{"--kubeconfig", c.Kubeconfig(kubetest.Admin)}
	// team-c's stack exists, but no pod of it ever runs.
	for team, ns := range map[string]string{"team-a": "team-a", "team-b": "team-b", "team-c": "team-a"} {
		if _, stderr, code := runPromteam(t, nil, append([]string{"create", team, "-n", ns, "--apply"}, admin...)...); code != 0 {
			t.Fatalf("create %s --apply: %s", team, stderr)
		}
	}
	for team := range fleets {
		agent.RunPod(t, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "prometheus-" + team + "-0", Namespace: team,
				Labels: map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": team}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "prometheus", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9090}}},
			}},
		})
		agent.WaitPodReady(t, team, "prometheus-"+team+"-0")
	}
	for _, srv := range servers {
		srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total`, 1, 30*time.Second)
	}
	// A 20s window needs 20s of samples.
	time.Sleep(22 * time.Second)

	s := tmuxtest.Start(t, 140, 30)
	s.Type(t, bin+" top team-a -n team-a --window 20s --interval 1s --timeout 5s "+strings.Join(admin, " ")+"; echo EXITED=$?")
	waitRPS(t, s, "alpha_svc_8080", 40)

	// T lists the teams of every namespace; typing filters; Enter switches.
	s.Keys(t, "T")
	screen := s.WaitForText(t, "team-b/team-b", 15*time.Second)
	text := strings.Join(screen, "\n")
	for _, want := range []string{"Switch team", "* team-a/team-a", "team-a/team-c"} {
		if !strings.Contains(text, want) {
			t.Errorf("the team picker lacks %q:\n%s", want, text)
		}
	}
	s.Keys(t, "-l", "bravo") // matches nothing: the filter is on the team's name
	s.WaitForText(t, `nothing matches "bravo"`, 5*time.Second)
	s.Keys(t, "C-u")
	s.Keys(t, "-l", "team-b")
	s.Keys(t, "Enter")
	screen = waitRPS(t, s, "bravo_svc_8080", 15)
	text = strings.Join(screen, "\n")
	if strings.Contains(text, "alpha_svc_8080") || !strings.Contains(screen[0], "/team-b/team-b") {
		t.Errorf("after switching to team-b:\n%s", text)
	}
	checkLayout(t, screen, 140, 30)

	// team-c has no ready pod: the switch fails within --timeout, team-b stays and refreshes.
	s.Keys(t, "T")
	s.WaitForText(t, "team-a/team-c", 15*time.Second)
	s.Keys(t, "-l", "team-c")
	s.Keys(t, "Enter")
	s.WaitForText(t, "connecting to", 5*time.Second)
	screen = s.WaitForText(t, "✗ switch to", 20*time.Second)
	text = strings.Join(screen, "\n")
	if !strings.Contains(screen[1], "team-a/team-c") || !strings.Contains(screen[1], "no pod") {
		t.Errorf("the failed switch's line: %q", screen[1])
	}
	if !strings.Contains(text, "bravo_svc_8080") || !strings.Contains(screen[0], "/team-b/team-b") || strings.Contains(text, "stale") {
		t.Errorf("team-b did not stay after the failed switch:\n%s", text)
	}
	waitRPS(t, s, "bravo_svc_8080", 15)

	// N lists the namespaces; picking one lists its teams; picking team-a switches back.
	s.Keys(t, "N")
	s.WaitForText(t, "Switch namespace", 15*time.Second)
	s.WaitForText(t, "team-a", 5*time.Second)
	s.Keys(t, "-l", "team-a")
	s.Keys(t, "Enter")
	s.WaitForText(t, "Switch team in "+kubetest.Admin+"/team-a", 15*time.Second)
	s.WaitForText(t, "team-a/team-c", 5*time.Second)
	s.Keys(t, "-l", "a/team-a")
	s.Keys(t, "Enter")
	screen = waitRPS(t, s, "alpha_svc_8080", 40)
	if !strings.Contains(screen[0], "/team-a/team-a") {
		t.Errorf("after N: the header names %q", screen[0])
	}

	// X lists the kubeconfig's contexts; picking one lists the teams there; team-b again.
	s.Keys(t, "X")
	s.WaitForText(t, "Switch context", 15*time.Second)
	s.WaitForText(t, kubetest.Admin, 5*time.Second)
	s.Keys(t, "-l", kubetest.Admin)
	s.Keys(t, "Enter")
	s.WaitForText(t, "Switch team in "+kubetest.Admin, 15*time.Second)
	s.WaitForText(t, "team-b/team-b", 15*time.Second)
	s.Keys(t, "-l", "b/team-b")
	s.Keys(t, "Enter")
	screen = waitRPS(t, s, "bravo_svc_8080", 15)
	if !strings.Contains(screen[0], kubetest.Admin+"/team-b/team-b") {
		t.Errorf("after X: the header names %q", screen[0])
	}

	// b groups the rows by route (Contour's names: the upstream bravo/svc:8080), then by
	// virtual host (this fleet has none), then by cluster again, each from the real Prometheus;
	// the status line counts what the rows are.
	s.Keys(t, "b")
	s.WaitForText(t, "1/1 routes", 10*time.Second)
	waitRPS(t, s, "bravo/svc:8080", 15)
	s.Keys(t, "b")
	s.WaitForText(t, "0/0 virtual clusters and routes", 10*time.Second)
	s.Keys(t, "b")
	s.WaitForText(t, "1/1 clusters", 10*time.Second)
	waitRPS(t, s, "bravo_svc_8080", 15)

	s.Keys(t, "q")
	s.WaitForText(t, "EXITED=0", 10*time.Second)
}
