package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAPIServerUnreachable(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "config")
	writeFile(t, kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: team-a}}]
current-context: c
`)
	for _, args := range [][]string{{"create", "team-a", "--apply"}, {"list"}, {"delete", "team-a", "--yes"}, {"diff", "team-a"}} {
		_, _, err := run(t, append(args, "--kubeconfig", kubeconfig)...)
		if err == nil || !strings.Contains(err.Error(), "cannot reach the Kubernetes API at https://127.0.0.1:1") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
