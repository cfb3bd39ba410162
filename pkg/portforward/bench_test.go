//go:build e2e

package portforward

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/proc"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
)

// benchPayload is the size of the bulk answer, about what /api/v1/series returns for a few
// hundred thousand series.
const benchPayload = 32 << 20

// forwardProcess is a port-forward command running until the benchmark ends.
type forwardProcess struct {
	addr string
}

// startForward runs argv and waits for the line that names its local address.
func startForward(b *testing.B, pattern *regexp.Regexp, argv ...string) forwardProcess {
	b.Helper()
	return forwardProcess{addr: proc.StartWaitLine(b, exec.Command(argv[0], argv[1:]...), pattern)[1]}
}

// firstByte opens a connection, asks for a small answer and returns the time to its first byte.
func firstByte(b *testing.B, addr string) time.Duration {
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /-/ready HTTP/1.1\r\nHost: prometheus\r\nConnection: close\r\n\r\n"); err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReader(c)
	if _, err := r.Peek(1); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	// Read the whole answer by its length: the node agent keeps the stream open after the
	// server closes its side, for kubectl as for us, so EOF never comes.
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return d
}

// bulk opens a connection, reads the large answer and returns how long it took.
func bulk(b *testing.B, addr string) time.Duration {
	start := time.Now()
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}).Get("http://" + addr + "/api/v1/series")
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil || n != benchPayload {
		b.Fatalf("read %d bytes of %d: %v", n, benchPayload, err)
	}
	return time.Since(start)
}

// BenchmarkPortForwardVsKubectl compares `kubectl promteam port-forward TEAM` with
// `kubectl port-forward svc/prometheus-TEAM` (the kubectl the harness builds), both processes
// forwarding to the same pod through the same API server and node agent (kwok, whose
// port-forward reaches a local HTTP server), alternating request by request: time to the first
// byte of a small answer on a new connection, and throughput of a 32 MiB answer. Ratios are ours
// over kubectl's: goal first byte ≤ 1.0, throughput ≥ 0.9.
func BenchmarkPortForwardVsKubectl(b *testing.B) {
	payload := bytes.Repeat([]byte(`{"__name__":"envoy_cluster_upstream_rq_total","envoy_cluster_name":"shop_frontend_80","namespace":"shop","pod":"envoy-0"},`), benchPayload/120+1)[:benchPayload]
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/-/ready" {
			_, _ = io.WriteString(w, "Prometheus Server is Ready.\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close() })

	dir := b.TempDir()
	bin := filepath.Join(dir, "kubectl-promteam")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/kubectl-promteam/kubectl-promteam/cmd/kubectl-promteam")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}

	e := setup(b, map[string]string{"prometheus-team-a-0": l.Addr().String()})
	e.runPod(b, "prometheus-team-a-0")
	c, ns := e.c, e.ns

	kubeconfig := c.Kubeconfig(kubetest.Admin)
	ours := startForward(b, regexp.MustCompile(`: http://(127\.0\.0\.1:\d+)$`),
		bin, "port-forward", "team-a", "-n", ns, "--port", "0", "--kubeconfig", kubeconfig)
	theirs := startForward(b, regexp.MustCompile(`^Forwarding from (127\.0\.0\.1:\d+) -> 9090`),
		tools.Path(b, "kubectl"), "port-forward", "-n", ns, "svc/prometheus-team-a", ":9090", "--kubeconfig", kubeconfig)
	for range 3 { // warm both: connections, TLS sessions, page cache
		firstByte(b, ours.addr)
		firstByte(b, theirs.addr)
		bulk(b, ours.addr)
		bulk(b, theirs.addr)
	}

	var ttfbOurs, ttfbTheirs, bulkOurs, bulkTheirs time.Duration
	b.ResetTimer()
	for i := range b.N {
		// Alternate which goes first, so neither always runs on a machine the other just warmed.
		first, second := ours, theirs
		if i%2 == 1 {
			first, second = theirs, ours
		}
		t1, t2 := firstByte(b, first.addr), firstByte(b, second.addr)
		d1, d2 := bulk(b, first.addr), bulk(b, second.addr)
		if i%2 == 1 {
			t1, t2, d1, d2 = t2, t1, d2, d1
		}
		ttfbOurs += t1
		ttfbTheirs += t2
		bulkOurs += d1
		bulkTheirs += d2
	}
	b.StopTimer()
	n := float64(b.N)
	mibps := func(d time.Duration) float64 { return float64(benchPayload) / (1 << 20) / (d.Seconds() / n) }
	b.ReportMetric(ttfbOurs.Seconds()*1000/n, "promteam-ttfb-ms")
	b.ReportMetric(ttfbTheirs.Seconds()*1000/n, "kubectl-ttfb-ms")
	b.ReportMetric(float64(ttfbOurs)/float64(ttfbTheirs), "ttfb-ratio")
	b.ReportMetric(mibps(bulkOurs), "promteam-MiB/s")
	b.ReportMetric(mibps(bulkTheirs), "kubectl-MiB/s")
	b.ReportMetric(float64(bulkTheirs)/float64(bulkOurs), "throughput-ratio")
}
