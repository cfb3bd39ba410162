//go:build e2e

package e2e

import (
	"math"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/operatortest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
)

// The teams `top -A` sees beside the chains: brokenTeam's monitor selects no pod, and the dev
// user may not reach hiddenTeam.
const (
	brokenTeam     = "team-b"
	hiddenTeam     = "team-u"
	brokenPromPort = 19093
)

// platformForward is the node agent's forward for brokenTeam's Prometheus pod.
func platformForward() kubetest.Forward {
	return kubetest.Forward{Namespace: brokenTeam, Pod: "prometheus-" + brokenTeam + "-0", Port: 9090,
		Target: net.JoinHostPort("127.0.0.1", strconv.Itoa(brokenPromPort))}
}

// startPlatformTeams applies the stacks of brokenTeam (its PodMonitor selects app=nothing, which
// no pod carries) and hiddenTeam, runs the operator's configuration of brokenTeam in a real
// Prometheus, and lets the dev user list every stack but reach only ch's team and brokenTeam.
func (e *env) startPlatformTeams(t *testing.T, ch chain) {
	t.Helper()
	for _, team := range []string{brokenTeam, hiddenTeam} {
		args := []string{"create", team, "-n", team, "--envoy", "envoy", "--apply", "--create-namespace",
			"--envoy-scrape-interval", "2s", "--evaluation-interval", "5s", "--storage", "0", "--replicas", "1"}
		if team == brokenTeam {
			args = append(args, "--envoy-selector", "app=nothing")
		}
		if _, stderr, code := e.promteam(t, args...); code != 0 {
			t.Fatalf("create %s --apply: exit %d: %s", team, code, stderr)
		}
	}
	e.waitCondition(t, brokenTeam, brokenTeam, "Available")
	e.readyPods(t, brokenTeam, "app.kubernetes.io/name=prometheus,operator.prometheus.io/name="+brokenTeam, 1)
	operatortest.WaitForJobs(t, e.client, brokenTeam, brokenTeam, "podMonitor/"+brokenTeam+"/"+brokenTeam+"-envoy/0")
	cfg := operatortest.WriteConfig(t, e.client, operatortest.Cluster{Server: e.c.Server(), CAFile: filepath.Join(e.c.Dir(), "certs", "apiserver.crt")},
		brokenTeam, brokenTeam, t.TempDir())
	promtest.StartConfig(t, cfg, promtest.ConfigOptions{
		Binary:  tools.Path(t, "prometheus3"),
		Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(brokenPromPort)),
	})

	admin := func(args ...string) { e.c.KubectlOK(t, kubetest.Admin, nil, args...) }
	admin("create", "clusterrole", "stacks-reader", "--verb=get,list,watch", "--resource=prometheuses.monitoring.coreos.com")
	admin("create", "clusterrolebinding", "dev-stacks", "--clusterrole=stacks-reader", "--user="+kubetest.Dev)
	admin("create", "clusterrole", "pods-reader", "--verb=get,list,watch", "--resource=services,pods")
	admin("create", "clusterrole", "port-forwarder", "--verb=get,create", "--resource=pods/portforward")
	for _, ns := range []string{ch.team, brokenTeam} {
		for _, role := range []string{"pods-reader", "port-forwarder"} {
			admin("create", "rolebinding", "dev-"+role, "--clusterrole="+role, "--user="+kubetest.Dev, "-n", ns)
		}
	}
}

// platformView runs `top -A --once -o json` as the dev user while ch's team is scraped: the
// healthy team's row matches the simulator's truth, brokenTeam's says 0 of 0 targets with its
// status and the note that sends to doctor, hiddenTeam's says why it is not reached, and the
// whole command ends within its bounds.
func (e *env) platformView(t *testing.T, ch chain) {
	t.Helper()
	start := time.Now()
	out, stderr, code := cli.Run(t, e.bin, nil, "top", "-A", "--once", "-o", "json", "--window", "30s", "--source", "raw",
		"--timeout", "20s", "--kubeconfig", e.c.Kubeconfig(kubetest.Dev))
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("top -A: exit %d: %s", code, stderr)
	}
	if took > 40*time.Second {
		t.Errorf("top -A took %s", took.Round(time.Millisecond))
	}
	byTeam := map[string]truth.Team{}
	for _, team := range truth.DecodeOverview(t, []byte(out)) {
		byTeam[team.Namespace+"/"+team.Team] = team
	}
	a, okA := byTeam[ch.team+"/"+ch.team]
	b, okB := byTeam[brokenTeam+"/"+brokenTeam]
	u, okU := byTeam[hiddenTeam+"/"+hiddenTeam]
	if !okA || !okB || !okU {
		t.Fatalf("teams %v:\n%s", byTeam, out)
	}

	rps, success, worst, worstCluster := truth.TeamTotals(e.sim.fleet)
	switch {
	case a.Via != "prometheus" || a.Reason != "":
		t.Errorf("%s: via %q, reason %q", ch.team, a.Via, a.Reason)
	case a.RPS == nil || math.Abs(*a.RPS-rps)/rps > 0.1:
		t.Errorf("%s rps %v, want %v", ch.team, valueOf(a.RPS), rps)
	case a.SuccessRate == nil || math.Abs(*a.SuccessRate-success) > 0.02:
		t.Errorf("%s success %v, want %v", ch.team, valueOf(a.SuccessRate), success)
	case a.WorstP99 == nil || math.Abs(*a.WorstP99-worst)/worst > 0.2 || a.WorstCluster != worstCluster:
		t.Errorf("%s worst p99 %v of %q, want %v of %q", ch.team, valueOf(a.WorstP99), a.WorstCluster, worst, worstCluster)
	}
	if n := float64(len(e.sim.fleet.Pods)); valueOf(a.TargetsUp) != n || valueOf(a.Targets) != n {
		t.Errorf("%s targets %v/%v, want %v/%v", ch.team, valueOf(a.TargetsUp), valueOf(a.Targets), n, n)
	}
	if a.HeadSeries == nil || a.MemoryBytes == nil || a.Limits.Samples == 0 {
		t.Errorf("%s head series %v, memory %v, limits %+v", ch.team, valueOf(a.HeadSeries), valueOf(a.MemoryBytes), a.Limits)
	}

	if b.Via != "prometheus" || b.Reason != "" || b.Targets == nil || *b.Targets != 0 || valueOf(b.TargetsUp) != 0 || b.RPS != nil || b.Status == "" {
		t.Errorf("%s: via %q, reason %q, status %q, targets %v/%v, rps %v", brokenTeam, b.Via, b.Reason, b.Status,
			valueOf(b.TargetsUp), valueOf(b.Targets), valueOf(b.RPS))
	}
	if want := "no targets: kubectl promteam doctor " + brokenTeam + " -n " + brokenTeam; len(b.Notes) == 0 || b.Notes[0] != want {
		t.Errorf("%s notes %q, want %q", brokenTeam, b.Notes, want)
	}

	if !strings.Contains(u.Reason, "no permission") || !strings.Contains(u.Reason, "pods/portforward") || u.RPS != nil {
		t.Errorf("%s: reason %q, rps %v", hiddenTeam, u.Reason, valueOf(u.RPS))
	}
}

// valueOf is *v, or NaN for a number that is absent.
func valueOf(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}
