package plugin

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// demoRows runs top --demo --once -o json with args and returns the rows' names and namespaces.
func demoRows(t *testing.T, args ...string) (names, namespaces []string) {
	t.Helper()
	out, stderr, err := run(t, append([]string{"top", "--demo", "--once", "-o", "json"}, args...)...)
	if err != nil {
		t.Fatalf("top %v: %v: %s", args, err, stderr)
	}
	var snap struct {
		Rows []struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			Service   string `json:"service"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatal(err)
	}
	for _, r := range snap.Rows {
		names = append(names, r.Name)
		namespaces = append(namespaces, r.Namespace)
	}
	return names, namespaces
}

// TestTopSelectsServicesAndEnvoys: --service-namespace keeps the rows of the NAMESPACE column
// the table shows, --envoy-namespace the Envoys that report; the demo's Envoys run in edge and
// reach services in shop, auth and others. --filter "namespace/service" finds the row the
// dashboard's / finds.
func TestTopSelectsServicesAndEnvoys(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	all, _ := demoRows(t)
	names, namespaces := demoRows(t, "--service-namespace", "shop")
	if len(names) == 0 || len(names) >= len(all) {
		t.Fatalf("--service-namespace shop kept %d of %d rows", len(names), len(all))
	}
	for i, ns := range namespaces {
		if ns != "shop" {
			t.Errorf("--service-namespace shop kept %s of namespace %q", names[i], ns)
		}
	}
	if edge, _ := demoRows(t, "--envoy-namespace", "edge"); len(edge) != len(all) {
		t.Errorf("--envoy-namespace edge (the demo Envoys' namespace) kept %d of %d rows", len(edge), len(all))
	}
	checkout, _ := demoRows(t, "--filter", "shop/checkout")
	if len(checkout) == 0 {
		t.Error("--filter shop/checkout found no row")
	}
	for _, n := range checkout {
		if !strings.Contains(n, "checkout") {
			t.Errorf("--filter shop/checkout kept %s", n)
		}
	}
}
