//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/operatortest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/thanostest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// rwTeam is one team of the remote-write test: the credentials its remote write authenticates
// with and the fleet its Prometheus scrapes.
type rwTeam struct {
	name  string
	route string   // the auth gate's path prefix that checks the team's credentials
	flags []string // create's credential flags
	fleet *envoysim.Fleet
}

// TestRemoteWriteWithTenantsThroughTheOperator: `create --remote-write URL --remote-write-tenant
// TEAM` with basic auth (team-a) and a bearer token (team-b) from Secrets is applied to a real
// API server, where the real operator generates the Prometheus configuration. Its remote_write
// section, as generated (the operator resolves the Secrets), runs in a real Prometheus 3 per team
// that scrapes the team's simulated Envoys; an authenticating gate in front of a real Thanos
// Receive admits only the Secrets' credentials, and the Receive files the samples under the
// tenant header. A real Thanos Query over the Receive enforces tenancy: `top --header
// X-Scope-OrgID=team-a` matches team-a's fleet, and `top --tenant team-b` sees team-b's and none
// of team-a's series, although both fleets carry the same namespace label.
//
// The gate holds every write writeDelay before the Receive has it, and a batch leaves Prometheus
// up to 5s after its samples: top reads the store at the frontier of the tenant's samples, and
// its numbers match although the store is that far behind the clock.
//
// The scrape configuration is replaced by static targets (the Envoys are not pods here);
// everything else of the operator's configuration (external labels, remote_write) is kept.
func TestRemoteWriteWithTenantsThroughTheOperator(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	bin := buildBinary(t)
	gate := newAuthGate(t)

	start := time.Now().Add(-10 * time.Minute)
	teams := []rwTeam{
		{name: "team-a", route: "/basic", flags: []string{"--remote-write-basic-auth", "rw-basic"},
			fleet: &envoysim.Fleet{Start: start, Pods: []string{"envoy-0", "envoy-1"}, Clusters: []envoysim.Cluster{
				{Name: "shop_frontend_80", RPS: 40, ErrorRatio: 0.05, ClientErrorRatio: 0.02, Active: 4,
					Latency: envoysim.Latency{{Weight: 0.6, LoMs: 10, HiMs: 25}, {Weight: 0.25, LoMs: 25, HiMs: 50}, {Weight: 0.15, LoMs: 100, HiMs: 250}}},
				{Name: "shop_checkout_8080", RPS: 20, ErrorRatio: 0.01, Latency: envoysim.Uniform(1, 5)},
				{Name: "shop_idle_8080", Latency: envoysim.Uniform(1, 5)},
			}}},
		{name: "team-b", route: "/bearer", flags: []string{"--remote-write-bearer", "rw-bearer/token"},
			fleet: &envoysim.Fleet{Start: start, Pods: []string{"envoy-0"}, Clusters: []envoysim.Cluster{
				{Name: "pay_api_8080", RPS: 30, ErrorRatio: 0.1, Latency: envoysim.Uniform(50, 100)},
			}}},
	}

	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(operatorVersion))
	c.StartOperator(t)
	const ns = "remote-write"
	c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", ns)
	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "secret", "generic", "rw-basic",
		"--from-literal=username="+gate.user, "--from-literal=password="+gate.password)
	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "secret", "generic", "rw-bearer", "--from-literal=token="+gate.token)
	client, err := kubernetes.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}

	var configs []string
	for _, team := range teams {
		args := append([]string{"create", team.name, "-n", ns, "--replicas", "1",
			"--remote-write", gate.URL() + team.route + "/api/v1/receive", "--remote-write-tenant", team.name,
			"--apply", "--kubeconfig", c.Kubeconfig(kubetest.Admin)}, team.flags...)
		_, stderr, code := cli.Run(t, bin, nil, args...)
		if code != 0 {
			t.Fatalf("create %s --apply: exit %d: %s", team.name, code, stderr)
		}
		if strings.Contains(stderr, "kubectl create secret") {
			t.Errorf("create %s asks for the Secrets that exist:\n%s", team.name, stderr)
		}
		configs = append(configs, remoteWriteConfig(t, client, ns, team, promtest.ServeFleet(t, team.fleet, "shop")))
	}

	receive := thanostest.StartReceive(t, manifests.TenantHeader)
	query := thanostest.StartQuery(t, []string{receive.GRPC}, thanostest.QueryOptions{TenantHeader: manifests.TenantHeader})
	gate.forwardTo(t, receive.RemoteWriteURL())
	prom3 := tools.Path(t, "prometheus3")
	for _, cfg := range configs {
		promtest.StartConfig(t, cfg, promtest.ConfigOptions{Binary: prom3})
	}

	// Both tenants' samples arrive, each only under its own tenant.
	for _, team := range teams {
		want := len(team.fleet.Pods) * len(team.fleet.Clusters)
		waitTenantSeries(t, query.URL(), team.name, `envoy_cluster_upstream_rq_total{namespace="shop"}`, want, 90*time.Second)
	}
	// A 30s window needs 30s of samples in the store, which holds them writeDelay and a batch late.
	time.Sleep(45 * time.Second)

	// top reads the store at the frontier of the tenant's samples: the gate holds every write
	// writeDelay, so read at the clock every rate would lack the window's last seconds and read
	// low by their share (4s of a 30s window is 13%). The snapshot's instant says it was read
	// that far back.
	top := func(tenantFlags ...string) truth.Snapshot {
		t.Helper()
		args := append([]string{"top", "--prometheus-url", query.URL(), "--envoy-namespace", "shop", "--window", "30s", "--once", "-o", "json"}, tenantFlags...)
		asked := time.Now()
		stdout, stderr, code := cli.Run(t, bin, nil, args...)
		if code != 0 {
			t.Fatalf("top %v: exit %d: %s", tenantFlags, code, stderr)
		}
		s := truth.Decode(t, []byte(stdout))
		at, err := time.Parse(time.RFC3339Nano, s.At)
		if behind := asked.Sub(at); err != nil || behind < writeDelay || behind > 30*time.Second {
			t.Errorf("top %v read at %s, %s before it was run (%v); want from %s (the gate's delay) to 30s", tenantFlags, s.At, behind, err, writeDelay)
		} else {
			t.Logf("top %v read the store %s behind the clock", tenantFlags, behind.Round(time.Millisecond))
		}
		return s
	}
	a := top("--header", manifests.TenantHeader+"=team-a")
	truth.Check(t, a, teams[0].fleet, truth.Issue)
	if names := rowNames(a); !slices.Equal(names, clusterNames(teams[0].fleet)) {
		t.Errorf("tenant team-a sees clusters %v, want exactly %v", names, clusterNames(teams[0].fleet))
	}
	b := top("--tenant", "team-b")
	truth.Check(t, b, teams[1].fleet, truth.Issue)
	if names := rowNames(b); !slices.Equal(names, clusterNames(teams[1].fleet)) {
		t.Errorf("tenant team-b sees clusters %v, want exactly %v (none of team-a's)", names, clusterNames(teams[1].fleet))
	}

	// The gate admitted each team's remote write with the credentials from its Secret only, and
	// refused nothing: wrong credentials would have left the store empty.
	for _, team := range teams {
		tenants := gate.admitted(team.route)
		if len(tenants) == 0 || slices.ContainsFunc(tenants, func(s string) bool { return s != team.name }) {
			t.Errorf("%s: the gate admitted remote writes for tenants %v, want only %s", team.route, tenants, team.name)
		}
	}
	if n := gate.refusedCount(); n != 0 {
		t.Errorf("the gate refused %d remote writes", n)
	}
	t.Logf("remote write with tenants end to end in %s", time.Since(begin).Round(time.Second))
}

// remoteWriteConfig reads the configuration the operator generated for team's Prometheus, checks
// its remote_write, and writes a configuration for a Prometheus here: the operator's, with its
// $(POD_NAME) and $(SHARD) substituted as the config-reloader does, static scrape targets instead
// of service discovery, and no rules or Alertmanagers. It returns the file's path.
func remoteWriteConfig(t *testing.T, client kubernetes.Interface, ns string, team rwTeam, targets []promtest.Target) string {
	t.Helper()
	cfg, text := operatorConfig(t, client, ns, team.name, "remote_write")
	rws, _ := cfg["remote_write"].([]any)
	if len(rws) != 1 {
		t.Fatalf("%s: the operator generated %d remote writes, want 1:\n%s", team.name, len(rws), text)
	}
	rw, _ := rws[0].(map[string]any)
	headers, _ := rw["headers"].(map[string]any)
	queue, _ := rw["queue_config"].(map[string]any)
	if headers[manifests.TenantHeader] != team.name || rw["follow_redirects"] != false || queue["max_shards"] != float64(10) {
		t.Errorf("%s: the operator's remote_write lacks the tenant, follow_redirects: false or the queue: %v", team.name, rw)
	}
	delete(cfg, "rule_files")
	delete(cfg, "alerting")
	var scrapes []any
	for i, target := range targets {
		u, err := url.Parse(target.URL)
		if err != nil {
			t.Fatal(err)
		}
		scrapes = append(scrapes, map[string]any{
			"job_name": fmt.Sprintf("envoy-%d", i), "metrics_path": u.Path, "fallback_scrape_protocol": "PrometheusText0.0.4",
			"static_configs": []any{map[string]any{"targets": []string{u.Host}, "labels": target.Labels}},
		})
	}
	cfg["scrape_configs"] = scrapes
	return writeLocalConfig(t, cfg)
}

// operatorConfig is the configuration the operator generated for team's Prometheus once it holds
// want, parsed, with $(POD_NAME) and $(SHARD) substituted for the first pod as the
// config-reloader does; text is it as YAML, for messages.
func operatorConfig(t *testing.T, client kubernetes.Interface, ns, team, want string) (cfg map[string]any, text string) {
	t.Helper()
	generated := generatedConfig(t, client, ns, team, want)
	text = strings.NewReplacer("$(POD_NAME)", "prometheus-"+team+"-0", "$(SHARD)", "0").Replace(string(generated))
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg, text
}

// writeLocalConfig writes cfg, an operator's configuration adapted to a Prometheus here, with
// scrapes and evaluations every second, and returns the file's path.
func writeLocalConfig(t *testing.T, cfg map[string]any) string {
	t.Helper()
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
		cfg["global"] = global
	}
	global["scrape_interval"], global["evaluation_interval"] = "1s", "1s"
	delete(global, "scrape_timeout")
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// generatedConfig waits for the configuration the operator writes for team's Prometheus in ns,
// once it holds want (the part of the stack the test is about: the operator may write a first
// configuration before it has read every object).
func generatedConfig(t *testing.T, client kubernetes.Interface, ns, team, want string) []byte {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := operatortest.GeneratedConfig(context.Background(), client, ns, team)
		if err == nil && bytes.Contains(b, []byte(want)) {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("the operator wrote no configuration with %s for Prometheus %s/%s in 1m: %v", want, ns, team, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitTenantSeries waits until the Query at base, asked as tenant, counts want series of expr.
func waitTenantSeries(t *testing.T, base, tenant, expr string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		n, err := tenantCount(base, tenant, expr)
		if err == nil && n == want {
			return
		}
		last = fmt.Sprintf("%d series, %v", n, err)
		if time.Now().After(deadline) {
			t.Fatalf("tenant %s: %s after %s, want %d", tenant, last, timeout, want)
		}
		time.Sleep(time.Second)
	}
}

// tenantSample is one sample of a query's answer: [time, "value"].
type tenantSample struct {
	Value [2]json.RawMessage `json:"value"`
}

// tenantCount is how many series of expr the Query at base answers for tenant.
func tenantCount(base, tenant, expr string) (int, error) {
	samples, err := tenantQuery(base, tenant, expr)
	return len(samples), err
}

// tenantQuery is the Query at base's answer to expr for tenant.
func tenantQuery(base, tenant, expr string) ([]tenantSample, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/query?"+url.Values{"query": {expr}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(manifests.TenantHeader, tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var answer struct {
		Status string `json:"status"`
		Data   struct {
			Result []tenantSample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&answer); err != nil {
		return nil, err
	}
	if answer.Status != "success" {
		return nil, fmt.Errorf("status %q", answer.Status)
	}
	return answer.Data.Result, nil
}

func rowNames(s truth.Snapshot) []string {
	var out []string
	for _, r := range s.Rows {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

func clusterNames(f *envoysim.Fleet) []string {
	var out []string
	for _, c := range f.Clusters {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}

// writeDelay is how long the gate holds every remote write before the Receive has it: a store
// that receives samples late, as Mimir or a Receive behind a queue does.
const writeDelay = 4 * time.Second

// authGate stands in front of a remote-write endpoint: /basic/... admits only the basic-auth
// user and password, /bearer/... only the bearer token, each forwarded to the endpoint with the
// prefix removed after writeDelay; everything else is refused with 401 and counted.
type authGate struct {
	srv                   *httptest.Server
	user, password, token string
	proxy                 atomic.Pointer[httputil.ReverseProxy]

	mu      sync.Mutex
	tenants map[string][]string // route → the tenant header of each admitted request
	refused int
}

func newAuthGate(t *testing.T) *authGate {
	t.Helper()
	g := &authGate{user: "team-writer", password: "pw-" + fmt.Sprint(time.Now().UnixNano()), token: "tok-" + fmt.Sprint(time.Now().UnixNano()),
		tenants: map[string][]string{}}
	equal := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		route = "/" + route
		ok := false
		switch route {
		case "/basic":
			user, password, given := r.BasicAuth()
			ok = given && equal(user, g.user) && equal(password, g.password)
		case "/bearer":
			ok = equal(r.Header.Get("Authorization"), "Bearer "+g.token)
		}
		g.mu.Lock()
		if ok {
			g.tenants[route] = append(g.tenants[route], r.Header.Get(manifests.TenantHeader))
		} else {
			g.refused++
		}
		g.mu.Unlock()
		proxy := g.proxy.Load()
		if !ok || proxy == nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		select {
		case <-time.After(writeDelay):
		case <-r.Context().Done():
			return
		}
		r.URL.Path = "/" + rest
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			g.mu.Lock()
			defer g.mu.Unlock()
			summary := map[string]map[string]int{}
			for route, tenants := range g.tenants {
				summary[route] = map[string]int{}
				for _, tenant := range tenants {
					summary[route][tenant]++
				}
			}
			t.Logf("the gate admitted remote writes (route → tenant → count) %v and refused %d", summary, g.refused)
		}
	})
	// The gate refuses a remote write without the credentials.
	resp, err := http.Post(g.URL()+"/basic/api/v1/receive", "application/x-protobuf", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the gate admitted a remote write without credentials: %s", resp.Status)
	}
	g.mu.Lock()
	g.refused = 0
	g.mu.Unlock()
	return g
}

// forwardTo sends what the gate admits to target.
func (g *authGate) forwardTo(t *testing.T, target string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g.proxy.Store(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.Out.URL.Scheme, r.Out.URL.Host = u.Scheme, u.Host
		r.Out.Host = u.Host
		r.Out.Header.Del("Authorization")
	}})
}

func (g *authGate) URL() string { return g.srv.URL }

func (g *authGate) admitted(route string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.tenants[route]...)
}

func (g *authGate) refusedCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused
}
