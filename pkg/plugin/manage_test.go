//go:build e2e

package plugin

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/overview"
)

// as runs the command tree in-process as a kubetest user.
func as(t *testing.T, c *kubetest.Cluster, user string, args ...string) (string, string, error) {
	t.Helper()
	return run(t, append(args, "--kubeconfig", c.Kubeconfig(user))...)
}

func lines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// TestApplyDiffListDelete is the round trip on a real API server with the operator's CRDs:
// apply creates, a second apply changes nothing, diff is empty after an apply and shows a flag's
// change, list shows the stack, delete removes every object and keeps the data volumes.
func TestApplyDiffListDelete(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	ns := restrictedNamespace(t, c, "round-trip")
	create := []string{"create", "team-a", "-n", ns, "--envoy", "statsd", "--grafana-dashboard", "--network-policy", "--slo", "99.9",
		"--thanos", "--thanos-query-replicas", "2"}

	out, stderr, err := as(t, c, kubetest.Admin, append(create, "--apply")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	first := lines(out)
	for _, l := range first {
		if !strings.HasSuffix(l, " created") {
			t.Errorf("first apply: %q", l)
		}
	}
	if len(first) < 12 {
		t.Errorf("first apply printed %d objects:\n%s", len(first), out)
	}
	thanosQuery := []string{"deployment.apps/thanos-query-team-a", "service/thanos-query-team-a",
		"poddisruptionbudget.policy/thanos-query-team-a", "networkpolicy.networking.k8s.io/thanos-query-team-a"}
	for _, ref := range thanosQuery {
		if !slices.Contains(first, ref+" created") {
			t.Errorf("first apply lacks %s:\n%s", ref, out)
		}
	}

	out, _, err = as(t, c, kubetest.Admin, append(create, "--apply")...)
	if err != nil {
		t.Fatal(err)
	}
	if again := lines(out); len(again) != len(first) {
		t.Errorf("second apply printed %d lines, the first %d", len(again), len(first))
	}
	for _, l := range lines(out) {
		if !strings.HasSuffix(l, " unchanged") {
			t.Errorf("second apply changed something: %q", l)
		}
	}

	diffArgs := append([]string{"diff"}, create[1:]...)
	out, _, err = as(t, c, kubetest.Admin, diffArgs...)
	if exitCode(err) != 0 || out != "" {
		t.Errorf("diff right after apply: exit %d, output:\n%s", exitCode(err), out)
	}
	out, _, err = as(t, c, kubetest.Admin, append(diffArgs, "--retention", "30d")...)
	if exitCode(err) != 1 || !strings.Contains(out, "-  retention: 15d") || !strings.Contains(out, "+  retention: 30d") {
		t.Errorf("diff with --retention 30d: exit %d, output:\n%s", exitCode(err), out)
	}
	out, _, err = as(t, c, kubetest.Admin, append(create, "--apply", "--retention", "30d", "--dry-run=server")...)
	if err != nil || !strings.Contains(out, "prometheus.monitoring.coreos.com/team-a configured (server dry run)") {
		t.Errorf("server dry run of a change: %v\n%s", err, out)
	}
	out, _, _ = as(t, c, kubetest.Admin, diffArgs...)
	if out != "" {
		t.Errorf("the server dry run changed the stack:\n%s", out)
	}

	// A data volume like the operator's.
	c.KubectlOK(t, kubetest.Admin, []byte(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: prometheus-team-a-db-prometheus-team-a-0
  namespace: `+ns+`
  labels: {operator.prometheus.io/name: team-a, app.kubernetes.io/name: prometheus, app.kubernetes.io/instance: team-a}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`), "apply", "-f", "-")

	out, _, err = as(t, c, kubetest.Admin, "list", "-n", ns)
	if err != nil || !strings.HasPrefix(out, "TEAM") || !strings.Contains(out, "team-a") || !strings.Contains(out, "statsd") {
		t.Errorf("list: %v\n%s", err, out)
	}

	out, _, err = as(t, c, kubetest.Admin, "delete", "team-a", "-n", ns, "--dry-run")
	if err != nil || !strings.Contains(out, "prometheus.monitoring.coreos.com/team-a deleted (dry run)") {
		t.Errorf("delete --dry-run: %v\n%s", err, out)
	}
	if out, _, _ := as(t, c, kubetest.Admin, diffArgs...); out != "" {
		t.Errorf("delete --dry-run deleted something:\n%s", out)
	}
	// A server dry run asks the API server to admit each deletion, and deletes nothing.
	out, _, err = as(t, c, kubetest.Admin, "delete", "team-a", "-n", ns, "--dry-run=server")
	if err != nil || !strings.Contains(out, "prometheus.monitoring.coreos.com/team-a deleted (server dry run)") {
		t.Errorf("delete --dry-run=server: %v\n%s", err, out)
	}
	if out, _, _ := as(t, c, kubetest.Admin, diffArgs...); out != "" {
		t.Errorf("delete --dry-run=server deleted something:\n%s", out)
	}
	// Without a terminal or --yes, delete refuses.
	if _, _, err := as(t, c, kubetest.Admin, "delete", "team-a", "-n", ns); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("delete without --yes: %v", err)
	}
	out, _, err = as(t, c, kubetest.Admin, "delete", "team-a", "-n", ns, "--yes")
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, l := range lines(out) {
		switch {
		case strings.HasSuffix(l, " deleted"):
			deleted++
		case strings.HasPrefix(l, "persistentvolumeclaim/prometheus-team-a-db-prometheus-team-a-0 kept"):
		default:
			t.Errorf("delete: %q", l)
		}
	}
	if deleted != len(first) {
		t.Errorf("deleted %d objects, applied %d", deleted, len(first))
	}
	for _, ref := range thanosQuery {
		if !slices.Contains(lines(out), ref+" deleted") {
			t.Errorf("delete left %s:\n%s", ref, out)
		}
	}
	left := c.KubectlOK(t, kubetest.Admin, nil, "get", "all,configmaps,roles,rolebindings,serviceaccounts,networkpolicies,poddisruptionbudgets,prometheuses,podmonitors,servicemonitors,prometheusrules",
		"-n", ns, "-l", "promteam.io/team=team-a", "-o", "name")
	if strings.TrimSpace(left) != "" {
		t.Errorf("left after delete:\n%s", left)
	}
	if got := c.KubectlOK(t, kubetest.Admin, nil, "get", "pvc", "-n", ns, "-o", "name"); !strings.Contains(got, "prometheus-team-a-db") {
		t.Error("delete removed the data volume without --purge-data")
	}
	_, _, err = as(t, c, kubetest.Admin, "delete", "team-a", "-n", ns, "--yes")
	if err == nil || !strings.Contains(err.Error(), "no promteam stack named team-a in namespace "+ns) {
		t.Errorf("deleting a deleted stack: %v", err)
	}
}

// TestRestrictedUserIsRefusedBeforeAnyWrite: a user without the rights gets every missing
// permission with the commands that grant them, and nothing is created.
func TestRestrictedUserIsRefusedBeforeAnyWrite(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	ns := restrictedNamespace(t, c, "refused")
	_, _, err := as(t, c, kubetest.Dev, "create", "team-a", "-n", ns, "--apply")
	if exitCode(err) != 1 || err == nil {
		t.Fatalf("apply as dev: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"dev may not apply this stack; nothing was applied", "create prometheuses.monitoring.coreos.com in namespace " + ns,
		"kubectl create role promteam-apply", "--user=dev -n " + ns} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal lacks %q:\n%s", want, msg)
		}
	}
	left := c.KubectlOK(t, kubetest.Admin, nil, "get", "serviceaccounts,roles,rolebindings,services,prometheuses,podmonitors,prometheusrules",
		"-n", ns, "-l", "app.kubernetes.io/managed-by=kubectl-promteam", "-o", "name")
	if strings.TrimSpace(left) != "" {
		t.Errorf("objects exist after the refusal:\n%s", left)
	}
	// Granting what the refusal printed lets the same command through.
	for _, l := range strings.Split(msg, "\n") {
		if cmd := strings.TrimSpace(l); strings.HasPrefix(cmd, "kubectl create ") {
			c.KubectlOK(t, kubetest.Admin, nil, strings.Fields(strings.TrimPrefix(cmd, "kubectl "))...)
		}
	}
	if out, _, err := as(t, c, kubetest.Dev, "create", "team-a", "-n", ns, "--apply"); err != nil || !strings.Contains(out, "prometheus.monitoring.coreos.com/team-a created") {
		t.Errorf("apply after the grants: %v\n%s", err, out)
	}
}

func TestCreateNamespaceAndFaults(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	// No operator CRDs yet: one clear line, nothing written.
	_, _, err := as(t, c, kubetest.Admin, "create", "team-a", "-n", "default", "--apply")
	if err == nil || !strings.Contains(err.Error(), "Prometheus Operator CRDs are not installed") || strings.Contains(err.Error(), "\n") {
		t.Errorf("without CRDs: %v", err)
	}
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	out, _, err := as(t, c, kubetest.Admin, "create", "team-b", "-n", "brand-new", "--apply", "--create-namespace")
	if err != nil || !strings.HasPrefix(out, "namespace/brand-new created\n") {
		t.Errorf("--create-namespace: %v\n%s", err, out)
	}
	// A stack of that name lives elsewhere: say where.
	_, _, err = as(t, c, kubetest.Admin, "delete", "team-b", "-n", "default", "--yes")
	if err == nil || err.Error() != "no promteam stack named team-b in namespace default (found in: brand-new; pass -n)" {
		t.Errorf("delete in the wrong namespace: %v", err)
	}
	// Flags that only make sense with --apply.
	if _, _, err := as(t, c, kubetest.Admin, "create", "team-b", "--create-namespace"); err == nil || !strings.Contains(err.Error(), "only applies with --apply") {
		t.Errorf("--create-namespace without --apply: %v", err)
	}
}

// liveRows are what list --live read of TestListGolden's stacks, pay/payments and shop/checkout:
// one not reached, one reached with an alert firing.
func liveRows() []overview.Row {
	return []overview.Row{
		overview.Unreached(overview.Stack{Namespace: "pay", Team: "payments"}, "no pod of Service pay/prometheus-payments exists"),
		overview.Fold(overview.Stack{Namespace: "shop", Team: "checkout"}, overview.Health{
			Backend: "prometheus", TargetsUp: 2, Targets: 3, HeadSeries: 12345, Firing: 1, SamplesPerSecond: 400, LargestScrape: 800}),
	}
}

// TestListGolden lists two stacks in two namespaces, one reconciled and available with an
// Alertmanager of its own, one the operator never reported on that sends its alerts nowhere, as
// table, wide table and JSON.
func TestListGolden(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	for _, stack := range []struct {
		team, ns string
		extra    []string
	}{{"checkout", "shop", []string{"--alertmanager", "own", "--notify", "webhook=checkout-hook/url"}}, {"payments", "pay", nil}} {
		args := append([]string{"create", stack.team, "-n", stack.ns, "--apply", "--create-namespace", "--envoy", "contour,statsd"}, stack.extra...)
		if _, _, err := as(t, c, kubetest.Admin, args...); err != nil {
			t.Fatal(err)
		}
	}
	c.KubectlOK(t, kubetest.Admin, []byte(`{"status":{"paused":false,"replicas":2,"updatedReplicas":2,"availableReplicas":2,"unavailableReplicas":0,
 "conditions":[{"type":"Available","status":"True","lastTransitionTime":"2026-11-26T10:00:00Z"},{"type":"Reconciled","status":"True","lastTransitionTime":"2026-11-26T10:00:00Z"}]}}`),
		"patch", "prometheus", "checkout", "-n", "shop", "--subresource=status", "--type=merge", "--patch-file=/dev/stdin")
	client, err := kube.NewClient(kubeFlags(c.Kubeconfig(kubetest.Admin)))
	if err != nil {
		t.Fatal(err)
	}
	stacks, err := client.ListStacks(t.Context(), "", true)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for i := range stacks {
		stacks[i].Created = created
	}
	now := created.Add(3 * time.Hour)
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"list.txt", func(b *bytes.Buffer) error { return writeStackTable(b, stacks, nil, true, false, now) }},
		{"list-wide.txt", func(b *bytes.Buffer) error { return writeStackTable(b, stacks, nil, true, true, now) }},
		{"list.json", func(b *bytes.Buffer) error { return writeStackList(b, "json", stacks, nil, now) }},
		{"list-live-wide.txt", func(b *bytes.Buffer) error { return writeStackTable(b, stacks, liveRows(), true, true, now) }},
		{"list-live.json", func(b *bytes.Buffer) error { return writeStackList(b, "json", stacks, liveRows(), now) }},
	} {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, filepath.Join("testdata", "list", tc.name), b.Bytes())
	}
	var parsed struct {
		Items []struct {
			Team, Status string
		} `json:"items"`
	}
	var b bytes.Buffer
	_ = writeStackList(&b, "json", stacks, nil, now)
	if err := json.Unmarshal(b.Bytes(), &parsed); err != nil || len(parsed.Items) != 2 || parsed.Items[1].Status != "Available" || parsed.Items[0].Status != "NoOperator" {
		t.Errorf("list JSON: %v %+v", err, parsed)
	}
}

// kubeFlags are kubectl's flags pointing at one kubeconfig.
func kubeFlags(kubeconfig string) *genericclioptions.ConfigFlags {
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kubeconfig
	return flags
}

// TestDoctorCommand runs doctor through the command: a stack the operator never reconciled and
// whose Envoy pods do not exist fails with the fixes, as text and as JSON, and exit status 1.
func TestDoctorCommand(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	ns := restrictedNamespace(t, c, "doctor")
	if _, _, err := as(t, c, kubetest.Admin, "create", "team-a", "-n", ns, "--apply"); err != nil {
		t.Fatal(err)
	}
	out, _, err := as(t, c, kubetest.Admin, "doctor", "team-a", "-n", ns, "--wait", "1s")
	if exitCode(err) != 1 {
		t.Fatalf("doctor: exit %d (%v)\n%s", exitCode(err), err, out)
	}
	for _, want := range []string{"does not watch namespace " + ns, "no Envoy pods match"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = as(t, c, kubetest.Admin, "doctor", "team-a", "-n", ns, "--wait", "1s", "-o", "json")
	var report struct {
		Team    string `json:"team"`
		Results []struct {
			ID, Status, Fix string
		} `json:"results"`
	}
	if jerr := json.Unmarshal([]byte(out), &report); jerr != nil || exitCode(err) != 1 || report.Team != "team-a" {
		t.Fatalf("doctor -o json: %v %v\n%s", jerr, err, out)
	}
	statuses := map[string]string{}
	for _, r := range report.Results {
		statuses[r.ID] = r.Status
		if r.Status == "failed" && r.Fix == "" {
			t.Errorf("check %s failed without a fix", r.ID)
		}
	}
	if statuses["api"] != "passed" || statuses["crds"] != "passed" || statuses["stack"] != "passed" || statuses["reconciled"] != "failed" {
		t.Errorf("statuses = %v", statuses)
	}

	out, _, err = as(t, c, kubetest.Admin, "doctor", "nobody", "-n", ns, "--wait", "0s")
	if exitCode(err) != 1 || !strings.Contains(out, "no promteam stack named nobody in namespace "+ns) {
		t.Errorf("doctor on a missing stack: %v\n%s", err, out)
	}
}

// TestDeleteAsksAndPurges answers delete's question on a terminal, no then yes, and deletes the
// data volumes too with --purge-data.
func TestDeleteAsksAndPurges(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	ns := restrictedNamespace(t, c, "purge")
	if _, _, err := as(t, c, kubetest.Admin, "create", "team-a", "-n", ns, "--apply"); err != nil {
		t.Fatal(err)
	}
	c.KubectlOK(t, kubetest.Admin, []byte(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: prometheus-team-a-db-prometheus-team-a-0
  namespace: `+ns+`
  labels: {operator.prometheus.io/name: team-a}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`), "apply", "-f", "-")
	deleteWith := func(answer string, purge bool) (string, string) {
		streams, in, out, errOut := genericiooptions.NewTestIOStreams()
		in.WriteString(answer)
		flags := kubeFlags(c.Kubeconfig(kubetest.Admin))
		flags.Namespace = &ns
		o := NewDeleteOptions(streams, flags)
		o.team, o.purgeData = "team-a", purge
		o.isTerminal = func(io.Reader) bool { return true }
		if err := o.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String()
	}
	out, prompt := deleteWith("n\n", true)
	if out != "" || !strings.Contains(prompt, "Delete 8 objects and 1 data volumes of team team-a in namespace "+ns+"? [y/N]") || !strings.Contains(prompt, "Nothing deleted.") {
		t.Errorf("answering no: stdout %q, stderr %q", out, prompt)
	}
	out, _ = deleteWith("y\n", true)
	if !strings.Contains(out, "persistentvolumeclaim/prometheus-team-a-db-prometheus-team-a-0 deleted") || strings.Contains(out, "kept") {
		t.Errorf("--purge-data:\n%s", out)
	}
	// The claim's pvc-protection finalizer is the controller manager's to remove, and the test
	// cluster runs none: the claim is being deleted, which is all delete can do.
	if got := c.KubectlOK(t, kubetest.Admin, nil, "get", "pvc", "-n", ns, "-o", "jsonpath={.items[*].metadata.deletionTimestamp}"); strings.TrimSpace(got) == "" {
		t.Error("the volume claim is not being deleted")
	}
}
