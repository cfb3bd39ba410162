package plugin

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestClientDryRunContactsNoCluster: --apply --dry-run=client names what would be sent and
// sends nothing, so it works with no cluster at all.
func TestClientDryRunContactsNoCluster(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "none")
	out, stderr, err := run(t, "create", "team-a", "-n", "team-a", "--kubeconfig", kubeconfig, "--apply", "--dry-run=client", "--create-namespace")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{
		"namespace/team-a would be created if missing (dry run)\n",
		"prometheus.monitoring.coreos.com/team-a would be applied (dry run)\n",
		"serviceaccount/prometheus-team-a would be applied (dry run)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "sends nothing") {
		t.Errorf("stderr does not say nothing was sent: %q", stderr)
	}
	// A bare --dry-run is a client dry run, as kubectl's.
	bare, _, err := run(t, "create", "team-a", "-n", "team-a", "--kubeconfig", kubeconfig, "--apply", "--dry-run")
	if err != nil || bare != strings.TrimPrefix(out, "namespace/team-a would be created if missing (dry run)\n") {
		t.Errorf("bare --dry-run: %v\n%s", err, bare)
	}
}
