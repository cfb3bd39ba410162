// Package thanostest runs a real Thanos (the thanos that hack/install-thanos.sh builds) for a
// test: sidecars next to real Prometheus servers, a Query over them, and a Receive that takes
// remote write.
package thanostest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/proc"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
)

// Process is a running Thanos component.
type Process struct {
	Name string // the component and a label for logs, such as "sidecar shard-0"
	HTTP string // host:port of its HTTP server
	GRPC string // host:port of its gRPC Store API server

	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
}

// URL is the base URL of the component's HTTP server.
func (p *Process) URL() string { return "http://" + p.HTTP }

// FreeAddr is a free loopback host:port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return FreeAddrOn(t, "127.0.0.1")
}

// FreeAddrOn is a free host:port on ip.
func FreeAddrOn(t testing.TB, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// Start runs `thanos args...`, whose arguments set its HTTP address to httpAddr (and its gRPC
// address to grpcAddr, empty for a component without one), in a process group of its own, and
// waits until it answers ready. It stops when the test ends; when the test failed, the end of
// its log is logged.
func Start(t testing.TB, name, httpAddr, grpcAddr string, args ...string) *Process {
	t.Helper()
	return StartCommand(t, name, httpAddr, grpcAddr, exec.Command(tools.Path(t, "thanos"), args...))
}

// StartCommand is Start for a command that runs thanos another way (under unshare, say).
func StartCommand(t testing.TB, name, httpAddr, grpcAddr string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Name: name, HTTP: httpAddr, GRPC: grpcAddr, cmd: cmd, done: make(chan struct{}),
		logPath: filepath.Join(t.TempDir(), "thanos.log")}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc.Group(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("thanostest: %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("thanos %s log:\n%s", name, p.LogTail())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(p.URL() + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
			err = fmt.Errorf("/-/ready: %s", resp.Status)
		}
		if !p.Running() {
			t.Fatalf("thanostest: %s exited:\n%s", name, p.LogTail())
		}
		if time.Now().After(deadline) {
			t.Fatalf("thanostest: %s not ready after 60s: %v\n%s", name, err, p.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Running reports whether the process has not exited.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop stops the process (gently first) and waits for it to exit.
func (p *Process) Stop() { proc.Stop(p.cmd, p.done, 5*time.Second) }

// LogTail is the end of the process's log.
func (p *Process) LogTail() string {
	return proc.Tail(p.logPath, 40)
}

// SidecarOptions are the settings of StartSidecar beyond the Prometheus it serves.
type SidecarOptions struct {
	// ObjstoreConfig is an objstore configuration (YAML) for uploading blocks; empty for none.
	ObjstoreConfig string
	// Args are more arguments.
	Args []string
}

// StartSidecar runs a sidecar for the Prometheus at promURL whose TSDB is at tsdbPath, on free
// loopback ports. The Prometheus must have external labels: a sidecar refuses one without.
func StartSidecar(t testing.TB, name, promURL, tsdbPath string, opts SidecarOptions) *Process {
	t.Helper()
	httpAddr, grpcAddr := FreeAddr(t), FreeAddr(t)
	args := []string{"sidecar", "--log.level=info",
		"--http-address=" + httpAddr, "--grpc-address=" + grpcAddr,
		"--prometheus.url=" + promURL, "--tsdb.path=" + tsdbPath}
	if opts.ObjstoreConfig != "" {
		path := filepath.Join(t.TempDir(), "objstore.yaml")
		if err := os.WriteFile(path, []byte(opts.ObjstoreConfig), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--objstore.config-file="+path)
	}
	args = append(args, opts.Args...)
	return Start(t, "sidecar "+name, httpAddr, grpcAddr, args...)
}

// QueryOptions are the settings of StartQuery beyond its store endpoints.
type QueryOptions struct {
	// ReplicaLabels are the labels the Query deduplicates replicas on.
	ReplicaLabels []string
	// TenantHeader, when set, makes the Query enforce tenancy with that header.
	TenantHeader string
	// Args are more arguments.
	Args []string
}

// StartQuery runs a Query over the gRPC store endpoints (host:port), on free loopback ports.
func StartQuery(t testing.TB, endpoints []string, opts QueryOptions) *Process {
	t.Helper()
	httpAddr, grpcAddr := FreeAddr(t), FreeAddr(t)
	args := []string{"query", "--log.level=info",
		"--http-address=" + httpAddr, "--grpc-address=" + grpcAddr,
		"--query.auto-downsampling", "--endpoint.info-timeout=2s"}
	for _, e := range endpoints {
		args = append(args, "--endpoint="+e)
	}
	for _, l := range opts.ReplicaLabels {
		args = append(args, "--query.replica-label="+l)
	}
	if opts.TenantHeader != "" {
		args = append(args, "--query.enforce-tenancy", "--query.tenant-header="+opts.TenantHeader)
	}
	args = append(args, opts.Args...)
	return Start(t, "query", httpAddr, grpcAddr, args...)
}

// Receive is a running Thanos Receive.
type Receive struct {
	*Process
	Write string // host:port of its remote-write server
}

// RemoteWriteURL is the URL Prometheus remote-writes to.
func (r *Receive) RemoteWriteURL() string { return "http://" + r.Write + "/api/v1/receive" }

// StartReceive runs a Receive that keeps each tenant (named by tenantHeader, X-Scope-OrgID for
// example) in a TSDB of its own and labels its series with tenant_id, on free loopback ports.
func StartReceive(t testing.TB, tenantHeader string, args ...string) *Receive {
	t.Helper()
	httpAddr, grpcAddr, writeAddr := FreeAddr(t), FreeAddr(t), FreeAddr(t)
	all := append([]string{"receive", "--log.level=info",
		"--http-address=" + httpAddr, "--grpc-address=" + grpcAddr,
		"--remote-write.address=" + writeAddr,
		"--tsdb.path=" + filepath.Join(t.TempDir(), "receive"),
		"--label=receive=\"r0\"",
		"--receive.tenant-header=" + tenantHeader,
		"--receive.default-tenant-id=unknown"}, args...)
	return &Receive{Process: Start(t, "receive", httpAddr, grpcAddr, all...), Write: writeAddr}
}

// Store is one store a Query reports in /api/v1/stores.
type Store struct {
	Name      string            `json:"name"`
	LastError string            `json:"lastError"`
	Labels    []json.RawMessage `json:"labelSets"`
}

// Stores is what the Query at url reports in /api/v1/stores, by store type ("sidecar", "receive",
// "store", ...).
func Stores(ctx context.Context, url string) (map[string][]Store, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/stores", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/api/v1/stores: %s: %.200s", resp.Status, body)
	}
	var answer struct {
		Data map[string][]Store `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("/api/v1/stores: %w", err)
	}
	return answer.Data, nil
}

// WaitForStores waits until the Query at url reports n healthy stores (of any type).
func WaitForStores(t testing.TB, url string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		stores, err := Stores(ctx, url)
		cancel()
		healthy := 0
		if err == nil {
			var seen []string
			for typ, list := range stores {
				for _, s := range list {
					if s.LastError == "" {
						healthy++
					}
					seen = append(seen, fmt.Sprintf("%s %s %q", typ, s.Name, s.LastError))
				}
			}
			last = strings.Join(seen, "; ")
		} else {
			last = err.Error()
		}
		if healthy >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thanostest: %s has %d healthy stores after %s, want %d: %s", url, healthy, timeout, n, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
