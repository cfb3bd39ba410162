package plugin

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeKubeconfig writes a kubeconfig for server, whose certificate it does not verify, with user
// as its user entry (YAML flow syntax).
func writeKubeconfig(t *testing.T, server, user string) string {
	t.Helper()
	return writeKubeconfigFor(t, fmt.Sprintf("server: %q, insecure-skip-tls-verify: true", server), user)
}

// writeKubeconfigFor writes a kubeconfig whose cluster and user entries are cluster and user.
func writeKubeconfigFor(t *testing.T, cluster, user string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {%s}}]
users: [{name: u, user: {%s}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: team-a}}]
current-context: c
`, cluster, user)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
