package plugin

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestTopGroupsByRoute: --group-by route reaches the collector. The demo's Contour clusters are
// their routes' upstreams: each is a row of its own, named in JSON as an HTTPProxy lists it
// ("route": "shop/frontend:80") with its cluster name kept in "name", and "group_by" says
// "route"; the table names the rows so and -o wide keeps the cluster names in a CLUSTER column.
// Without the flag, "group_by" is "cluster" and the rows have no "route". --group-by vhost reads
// the demo's virtual clusters and route instead.
func TestTopGroupsByRoute(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	snapshot := func(args ...string) (groupBy string, routes map[string]string) {
		t.Helper()
		out, stderr, err := run(t, append([]string{"top", "--demo", "--once", "-o", "json"}, args...)...)
		if err != nil {
			t.Fatalf("top %v: %v: %s", args, err, stderr)
		}
		var snap struct {
			GroupBy string `json:"group_by"`
			Rows    []struct {
				Name  string  `json:"name"`
				Route *string `json:"route"`
			} `json:"rows"`
		}
		if err := json.Unmarshal([]byte(out), &snap); err != nil {
			t.Fatal(err)
		}
		routes = map[string]string{}
		for _, r := range snap.Rows {
			routes[r.Name] = "<absent>"
			if r.Route != nil {
				routes[r.Name] = *r.Route
			}
		}
		return snap.GroupBy, routes
	}
	group, routes := snapshot("--group-by", "route")
	if group != "route" || routes["shop_frontend_80"] != "shop/frontend:80" || routes["payments_gateway_443"] != "payments/gateway:443" {
		t.Errorf("--group-by route: group_by %q, routes %v", group, routes)
	}
	group, routes = snapshot()
	if group != "cluster" || routes["shop_frontend_80"] != "<absent>" {
		t.Errorf("by cluster: group_by %q, routes %v", group, routes)
	}
	group, routes = snapshot("--group-by", "vhost")
	if group != "vhost" || len(routes) != 3 || routes["vhost.shop.vcluster.checkout"] != "<absent>" || routes["vhost.shop.route.cart"] != "<absent>" {
		t.Errorf("--group-by vhost: group_by %q, rows %v; want the demo's two virtual clusters and its route", group, routes)
	}
	wide, stderr, err := run(t, "top", "--demo", "--once", "--group-by", "route", "-o", "wide")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	lines := strings.Split(wide, "\n")
	if !strings.HasSuffix(strings.TrimSpace(lines[0]), "ACTIVE  CLUSTER") {
		t.Errorf("wide header: %q", lines[0])
	}
	found := false
	for _, l := range lines[1:] {
		f := strings.Fields(strings.TrimPrefix(l, "! "))
		if len(f) > 0 && f[0] == "shop/frontend:80" {
			found = f[len(f)-1] == "shop_frontend_80"
		}
	}
	if !found {
		t.Errorf("no row named shop/frontend:80 with its cluster name last:\n%s", wide)
	}
}
