// Package amtest runs a real Alertmanager (the alertmanager that hack/install-alertmanager.sh
// installs) for a test.
package amtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/proc"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
)

// NullConfig routes every alert to a receiver that notifies nobody.
const NullConfig = "route: {receiver: \"null\"}\nreceivers: [{name: \"null\"}]\n"

// Server is a running Alertmanager.
type Server struct {
	Addr    string // host:port of its API
	logPath string
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.Addr }

// Start runs Alertmanager with config (YAML) on a free loopback port, without clustering, and
// waits until it is ready. It stops when the test ends.
func Start(t testing.TB, config string) *Server {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return StartArgs(t, addr, "--config.file="+cfgPath, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=debug")
}

// StartArgs runs Alertmanager with args, which set everything it needs (its configuration,
// storage, --web.listen-address=addr and, for one without peers, an empty
// --cluster.listen-address), and waits until it answers ready on addr. It stops when the test
// ends; when the test failed, the end of its log is logged.
func StartArgs(t testing.TB, addr string, args ...string) *Server {
	t.Helper()
	bin := tools.Path(t, "alertmanager")
	s := &Server{Addr: addr, logPath: filepath.Join(t.TempDir(), "alertmanager.log")}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc.Group(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("amtest: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(done) }()
	t.Cleanup(func() {
		proc.Stop(cmd, done, 5*time.Second)
		if t.Failed() {
			t.Logf("alertmanager %s log:\n%s", addr, s.LogTail())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(s.URL() + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-done:
			t.Fatalf("amtest: alertmanager exited:\n%s", s.LogTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("amtest: alertmanager not ready after 30s: %v\n%s", err, s.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// LogTail is the end of the server's log.
func (s *Server) LogTail() string {
	return proc.Tail(s.logPath, 40)
}

// PostAlert sends one firing alert with labels to the server's API, as Prometheus does.
func (s *Server) PostAlert(t testing.TB, labels map[string]string) {
	t.Helper()
	body, err := json.Marshal([]map[string]any{{"labels": labels, "startsAt": time.Now().UTC().Format(time.RFC3339)}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Post(s.URL()+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("amtest: post alert: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("amtest: post alert: %s: %s", resp.Status, msg)
	}
}
