package plugin

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/tui"
)

// topOptionsFor are top's options for team (--demo when team is empty) as the command line
// completes and validates them, with flags as kubectl's.
func topOptionsFor(t *testing.T, flags *genericclioptions.ConfigFlags, team string, args ...string) *TopOptions {
	t.Helper()
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := NewTopOptions(streams, flags)
	cmd := &cobra.Command{}
	o.AddFlags(cmd.Flags())
	if err := cmd.Flags().Parse(args); err != nil {
		t.Fatal(err)
	}
	var pos []string
	if team != "" {
		pos = []string{team}
	} else {
		o.prom.Demo = true
	}
	if err := o.Complete(cmd, pos); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	return o
}

// counter counts the releases of a connection.
type counter struct{ n int }

func (c *counter) release() { c.n++ }

func TestConnectionsReleaseEachOnce(t *testing.T) {
	var a, b, late counter
	conns := &connections{}
	if _, err := conns.replace(a.release); err != nil {
		t.Fatal(err)
	}
	retireA, err := conns.replace(b.release)
	if err != nil {
		t.Fatal(err)
	}
	if a.n != 0 || b.n != 0 {
		t.Fatalf("released before retiring: a %d, b %d", a.n, b.n)
	}
	retireA()
	retireA()
	if a.n != 1 || b.n != 0 {
		t.Errorf("after retiring a twice: a %d, b %d", a.n, b.n)
	}
	conns.close()
	conns.close()
	if a.n != 1 || b.n != 1 {
		t.Errorf("after closing: a %d, b %d", a.n, b.n)
	}
	// A switch that connects after top ended releases its connection at once.
	if _, err := conns.replace(late.release); err == nil || late.n != 1 {
		t.Errorf("replace after close: %v, released %d", err, late.n)
	}
}

func TestFlagsAtAnotherContextAndNamespace(t *testing.T) {
	base := genericclioptions.NewConfigFlags(true)
	*base.KubeConfig, *base.Context, *base.Namespace, *base.Impersonate = "/k/config", "prod", "team-a", "dev"
	f := flagsAt(base, "prod", "staging", "team-b")
	if *f.Context != "staging" || *f.Namespace != "team-b" || f.KubeConfig != base.KubeConfig || *f.Impersonate != "dev" {
		t.Errorf("flagsAt(staging, team-b): context %q, namespace %q, kubeconfig %q, impersonate %q", *f.Context, *f.Namespace, *f.KubeConfig, *f.Impersonate)
	}
	// The same context, the context's own namespace: not -n's.
	f = flagsAt(base, "prod", "", "")
	if *f.Context != "prod" || *f.Namespace != "" {
		t.Errorf("flagsAt(\"\", \"\"): context %q, namespace %q", *f.Context, *f.Namespace)
	}
	if *base.Context != "prod" || *base.Namespace != "team-a" {
		t.Errorf("flagsAt changed the flags it started from: %q %q", *base.Context, *base.Namespace)
	}
}

// TestFlagsAtKeepsCredentialsWithTheirServer: credentials given as flags were given for the API
// server top started with. Another context gets none of them unless --server or --cluster keeps
// that server; the context of origin, and the same context again, keep them.
func TestFlagsAtKeepsCredentialsWithTheirServer(t *testing.T) {
	creds := func(f *genericclioptions.ConfigFlags) []string {
		return []string{*f.BearerToken, *f.Username, *f.Password, *f.CertFile, *f.KeyFile, *f.AuthInfoName}
	}
	str := func(v string) *string { return &v }
	base := genericclioptions.NewConfigFlags(true)
	*base.Context = "prod"
	base.BearerToken, base.Username, base.Password = str("s3cret"), str("alice"), str("pw")
	base.CertFile, base.KeyFile, base.AuthInfoName = str("/c.crt"), str("/c.key"), str("admin")
	given := creds(base)
	for _, tc := range []struct {
		to   string
		keep bool
	}{{"", true}, {"prod", true}, {"staging", false}} {
		got := creds(flagsAt(base, "prod", tc.to, "team-b"))
		if kept := slices.Equal(got, given); kept != tc.keep {
			t.Errorf("context %q: credentials %q, want kept %v", tc.to, got, tc.keep)
		}
		if !tc.keep && strings.Join(got, "") != "" {
			t.Errorf("context %q: some credentials went along: %q", tc.to, got)
		}
	}
	// --server pins the server: the credentials stay with it in any context.
	*base.APIServer = "https://api.prod:6443"
	if got := creds(flagsAt(base, "prod", "staging", "")); !slices.Equal(got, given) {
		t.Errorf("with --server: credentials %q", got)
	}
	*base.APIServer, *base.ClusterName = "", "prod-cluster"
	if got := creds(flagsAt(base, "prod", "staging", "")); !slices.Equal(got, given) {
		t.Errorf("with --cluster: credentials %q", got)
	}
	if *base.BearerToken != "s3cret" {
		t.Error("flagsAt changed the flags it started from")
	}
}

// twoContexts writes a kubeconfig of two contexts whose API server does not answer.
func twoContexts(t *testing.T) *genericclioptions.ConfigFlags {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	writeFile(t, path, `apiVersion: v1
kind: Config
clusters: [{name: eu, cluster: {server: "https://127.0.0.1:1"}}, {name: us, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts:
- {name: staging, context: {cluster: us, user: u}}
- {name: prod, context: {cluster: eu, user: u, namespace: team-a}}
current-context: prod
`)
	flags := genericclioptions.NewConfigFlags(true)
	*flags.KubeConfig = path
	return flags
}

func TestClusterSwitcherListsTheKubeconfigContexts(t *testing.T) {
	o := topOptionsFor(t, twoContexts(t), "team-a")
	here := o.startPlace()
	if want := (tui.Place{Context: "prod", Namespace: "team-a", Team: "team-a"}); here != want {
		t.Errorf("start place %v, want %v", here, want)
	}
	s := &clusterSwitcher{o: o, conns: &connections{}, ctx: context.Background(), now: time.Now, origin: here.Context, current: here}
	got, err := s.Choices(context.Background(), tui.KindContext, tui.Place{})
	if err != nil {
		t.Fatal(err)
	}
	want := []tui.Choice{
		{Place: tui.Place{Context: "prod"}, Label: "prod", Note: "cluster eu, namespace team-a", Current: true},
		{Place: tui.Place{Context: "staging"}, Label: "staging", Note: "cluster us"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("contexts %+v, want %+v", got, want)
	}
}

// TestClusterSwitcherFailureChangesNothing: a team that cannot be reached is one error line
// within --timeout, and the connection top reads from stays open.
func TestClusterSwitcherFailureChangesNothing(t *testing.T) {
	o := topOptionsFor(t, twoContexts(t), "team-a", "--timeout", "2s")
	var old counter
	conns := &connections{}
	if _, err := conns.replace(old.release); err != nil {
		t.Fatal(err)
	}
	s := &clusterSwitcher{o: o, conns: conns, ctx: context.Background(), now: time.Now, origin: o.startPlace().Context, current: o.startPlace()}
	start := time.Now()
	_, err := s.Switch(context.Background(), tui.Place{Context: "staging", Namespace: "team-b", Team: "team-b"}, time.Minute, "")
	if err == nil || !strings.Contains(err.Error(), "https://127.0.0.1:1") || strings.Contains(err.Error(), "\n") {
		t.Errorf("switch to an unreachable API server: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second+connectGrace+time.Second {
		t.Errorf("the failed switch took %s", took)
	}
	if old.n != 0 || s.here().Team != "team-a" {
		t.Errorf("after a failed switch: the old connection released %d times, here %v", old.n, s.here())
	}
	if _, err := s.Switch(context.Background(), tui.Place{Namespace: "team-b", Team: "Team B"}, time.Minute, ""); err == nil || !strings.Contains(err.Error(), "Team B") {
		t.Errorf("switch to an invalid team name: %v", err)
	}
	for _, kind := range []tui.Kind{tui.KindTeam, tui.KindNamespace} {
		if _, err := s.Choices(context.Background(), kind, tui.Place{Context: "staging"}); err == nil || !strings.Contains(err.Error(), "https://127.0.0.1:1") {
			t.Errorf("%v choices from an unreachable API server: %v", kind, err)
		}
	}
}

func TestDemoSwitchesBetweenItsTeams(t *testing.T) {
	o := topOptionsFor(t, genericclioptions.NewConfigFlags(true), "")
	var first counter
	conns := &connections{}
	if _, err := conns.replace(first.release); err != nil {
		t.Fatal(err)
	}
	s := &demoSwitcher{o: o, conns: conns, current: demoTeams[0]}
	teams, err := s.Choices(context.Background(), tui.KindTeam, tui.Place{})
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, c := range teams {
		labels = append(labels, c.Label)
	}
	if !slices.Equal(labels, []string{"edge/demo", "edge/demo-large"}) || !teams[0].Current || teams[1].Current {
		t.Errorf("demo teams %+v", teams)
	}
	if _, err := s.Choices(context.Background(), tui.KindContext, tui.Place{}); err == nil || !strings.Contains(err.Error(), "no kubeconfig contexts") {
		t.Errorf("demo contexts: %v", err)
	}
	if _, err := s.Switch(context.Background(), tui.Place{Namespace: "edge", Team: "nope"}, time.Minute, ""); err == nil {
		t.Error("switched to a team the demo does not have")
	}

	sw, err := s.Switch(context.Background(), teams[1].Place, time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	if sw.Place != teams[1].Place || sw.Target != demoTarget || sw.SetWindow == nil || sw.Compare == nil {
		t.Errorf("switched: %+v", sw)
	}
	f, err := sw.Source.Frame(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 40 || !strings.HasPrefix(f.Rows[0].Name, "team-") {
		t.Errorf("demo-large has %d rows, the first %q", len(f.Rows), f.Rows[0].Name)
	}
	if first.n != 0 {
		t.Error("the first demo was released before the dashboard retired it")
	}
	sw.Retire()
	if first.n != 1 {
		t.Errorf("retired the first demo %d times", first.n)
	}
	conns.close()
}
