// Package promtest runs a real Prometheus server on loopback for tests.
//
// The binary is the one hack/install-prometheus.sh (`make tools`) installs into the tools directory
// ([tools.Path]); a test that needs it fails, never skips, when it is missing. That is Debian's
// Prometheus 2.42 where apt exists, else Prometheus 3 built from source, so tests must not depend
// on what differs between them (for example, Prometheus 3 stores le="1.0" where 2.42 keeps the
// exposed le="1": compare bounds as numbers). PROMTEAM_PROMETHEUS names another binary, such as
// the current release hack/bench builds.
//
//	srv := promtest.Start(t, []promtest.Target{{URL: envoy.URL + "/stats/prometheus",
//		Labels: map[string]string{"namespace": "edge", "pod": "envoy-0"}}}, promtest.Options{})
//	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total`, 3, 30*time.Second)
//	got := srv.Query(t, `sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_total[30s]))`)
//
// Each target becomes its own scrape job (job="target-<index>" unless its labels set job) with
// honor_labels: false. Prometheus 2.x hands targets to the scrape manager only every 5 seconds, so
// the first scrape happens about 5s after Start returns; [Server.WaitForSeries] covers that.
package promtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/proc"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
)

const (
	// readyTimeout bounds the wait for /-/ready after a start.
	readyTimeout = time.Minute
	// stopTimeout is how long a stopped server may take to exit before it is killed.
	stopTimeout = 15 * time.Second
	// startAttempts bounds how often a start is retried after the port turned out to be taken.
	startAttempts = 3
	// logTailLines is how many lines of the log are printed when a test fails.
	logTailLines = 40
	// pollInterval is how often WaitForSeries asks again.
	pollInterval = 250 * time.Millisecond
)

// Target is one endpoint to scrape.
type Target struct {
	// URL is the full address of the metrics, such as http://127.0.0.1:8080/stats/prometheus; its
	// path becomes metrics_path and its query the scrape params.
	URL string
	// Labels are attached to every series scraped from the target (namespace, pod, ...). A job
	// label replaces the default job name.
	Labels map[string]string
	// SampleLimit fails a scrape of the target that returns more samples (0: no limit).
	SampleLimit int
}

// Options tune the server. The zero value scrapes every second.
type Options struct {
	// ScrapeInterval is the scrape and rule evaluation interval; 0 means 1s.
	ScrapeInterval time.Duration
	// ScrapeTimeout is the scrape timeout; 0 means ScrapeInterval.
	ScrapeTimeout time.Duration
	// RuleFiles are paths of rule files to load.
	RuleFiles []string
	// ExtraArgs are appended to the command line (for example "--web.enable-admin-api").
	ExtraArgs []string
	// Alertmanagers are host:port addresses the server sends alerts to (API v2, http).
	Alertmanagers []string
	// ExternalLabels label every series the server sends out (a Thanos sidecar requires some).
	ExternalLabels map[string]string
	// RemoteWrite are remote_write entries, each a URL with the headers to send.
	RemoteWrite []RemoteWrite
	// Binary is the Prometheus to run; empty means the installed one (or PROMTEAM_PROMETHEUS).
	Binary string
	// History, when set, is written into the storage before Prometheus starts (see History).
	History *History
	// NativeHistograms scrapes native histograms: the protobuf exposition first and
	// scrape_native_histograms, as Prometheus 3.8 or later takes them (Debian's 2.42 does not).
	NativeHistograms bool
}

// RemoteWrite is one remote_write destination.
type RemoteWrite struct {
	URL     string
	Headers map[string]string
}

// Server is a running (or stopped) Prometheus.
type Server struct {
	bin     string
	dir     string
	dataDir string
	logPath string
	addr    string
	args    []string
	client  *http.Client

	mu   sync.Mutex
	proc *process
}

// Sample is one element of a query result.
type Sample struct {
	Metric map[string]string
	Value  float64
	Time   time.Time
}

// Start starts Prometheus scraping targets and waits until it is ready. The server stops when the
// test ends; when the test failed, the end of its log is printed first.
func Start(t testing.TB, targets []Target, opts Options) *Server {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config(targets, opts)
	if err != nil {
		t.Fatalf("promtest: %v", err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if opts.History != nil {
		writeHistory(t, dir, filepath.Join(dir, "data"), targets, *opts.History)
	}
	return run(t, dir, cfgPath, ConfigOptions{ExtraArgs: opts.ExtraArgs, Binary: opts.Binary})
}

// ConfigOptions say how StartConfig runs Prometheus.
type ConfigOptions struct {
	// Binary is the Prometheus to run; empty means the one Start runs.
	Binary string
	// Address is where it listens; empty means a free loopback port.
	Address string
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
}

// StartConfig starts Prometheus with the configuration file at cfgPath, which the caller may
// change and Reload, and waits until it is ready. It stops when the test ends.
func StartConfig(t testing.TB, cfgPath string, opts ConfigOptions) *Server {
	t.Helper()
	opts.ExtraArgs = append([]string{"--web.enable-lifecycle"}, opts.ExtraArgs...)
	return run(t, t.TempDir(), cfgPath, opts)
}

func run(t testing.TB, dir, cfgPath string, opts ConfigOptions) *Server {
	t.Helper()
	bin := opts.Binary
	if bin == "" {
		bin = os.Getenv("PROMTEAM_PROMETHEUS") // another Prometheus, such as the current release for benchmarks
	}
	if bin == "" {
		bin = tools.Path(t, "prometheus")
	}
	s := &Server{
		bin:     bin,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "prometheus.log"),
		client:  &http.Client{Timeout: 30 * time.Second},
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("promtest: config %s\n%s", cfgPath, s.LogTail())
		}
		s.Stop()
	})

	begin := time.Now()
	for attempt := 1; ; attempt++ {
		addr := opts.Address
		if addr == "" {
			port, err := freePort()
			if err != nil {
				t.Fatal(err)
			}
			addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
		s.addr = addr
		s.args = append([]string{
			"--config.file=" + cfgPath,
			"--storage.tsdb.path=" + s.dataDir,
			"--web.listen-address=" + s.addr,
			"--log.level=info",
		}, opts.ExtraArgs...)
		err := s.start()
		if err == nil {
			break
		}
		if opts.Address != "" || !errors.Is(err, errPortTaken) || attempt == startAttempts {
			t.Fatalf("promtest: %v\n%s", err, s.LogTail())
		}
	}
	t.Logf("promtest: %s at %s ready in %s (data in %s)", s.version(), s.URL(), time.Since(begin).Round(time.Millisecond), s.dataDir)
	return s
}

// Reload makes a server started by StartConfig read its configuration again, as the
// config-reloader does after the operator rewrote it.
func (s *Server) Reload(t testing.TB) {
	t.Helper()
	resp, err := s.client.Post(s.URL()+"/-/reload", "", nil)
	if err != nil {
		t.Fatalf("promtest: reload: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("promtest: reload: %s: %s\n%s", resp.Status, body, s.LogTail())
	}
}

// config renders prometheus.yml (as JSON, which is YAML) for targets.
func config(targets []Target, opts Options) ([]byte, error) {
	interval := opts.ScrapeInterval
	if interval <= 0 {
		interval = time.Second
	}
	timeout := opts.ScrapeTimeout
	if timeout <= 0 || timeout > interval {
		timeout = interval
	}
	type staticConfig struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels,omitempty"`
	}
	type alertmanagerConfig struct {
		APIVersion    string         `json:"api_version"`
		StaticConfigs []staticConfig `json:"static_configs"`
	}
	type alerting struct {
		Alertmanagers []alertmanagerConfig `json:"alertmanagers"`
	}
	type scrapeConfig struct {
		JobName       string              `json:"job_name"`
		Scheme        string              `json:"scheme"`
		MetricsPath   string              `json:"metrics_path"`
		Params        map[string][]string `json:"params,omitempty"`
		HonorLabels   bool                `json:"honor_labels"`
		SampleLimit   int                 `json:"sample_limit,omitempty"`
		StaticConfigs []staticConfig      `json:"static_configs"`
		// Native histograms (Options.NativeHistograms).
		ScrapeProtocols        []string `json:"scrape_protocols,omitempty"`
		ScrapeNativeHistograms bool     `json:"scrape_native_histograms,omitempty"`
	}
	type remoteWrite struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers,omitempty"`
	}
	cfg := struct {
		Global struct {
			ScrapeInterval     string            `json:"scrape_interval"`
			ScrapeTimeout      string            `json:"scrape_timeout"`
			EvaluationInterval string            `json:"evaluation_interval"`
			ExternalLabels     map[string]string `json:"external_labels,omitempty"`
		} `json:"global"`
		RuleFiles     []string       `json:"rule_files,omitempty"`
		ScrapeConfigs []scrapeConfig `json:"scrape_configs"`
		Alerting      *alerting      `json:"alerting,omitempty"`
		RemoteWrite   []remoteWrite  `json:"remote_write,omitempty"`
	}{RuleFiles: opts.RuleFiles, ScrapeConfigs: []scrapeConfig{}}
	cfg.Global.ExternalLabels = opts.ExternalLabels
	for _, rw := range opts.RemoteWrite {
		cfg.RemoteWrite = append(cfg.RemoteWrite, remoteWrite(rw))
	}
	if len(opts.Alertmanagers) > 0 {
		cfg.Alerting = &alerting{Alertmanagers: []alertmanagerConfig{{APIVersion: "v2", StaticConfigs: []staticConfig{{Targets: opts.Alertmanagers}}}}}
	}
	cfg.Global.ScrapeInterval = model.Duration(interval).String()
	cfg.Global.ScrapeTimeout = model.Duration(timeout).String()
	cfg.Global.EvaluationInterval = model.Duration(interval).String()
	for i, target := range targets {
		u, err := url.Parse(target.URL)
		if err != nil {
			return nil, fmt.Errorf("target %d: %w", i, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("target %d: %q is not an http(s) URL with a host", i, target.URL)
		}
		path := u.Path
		if path == "" {
			path = "/"
		}
		sc := scrapeConfig{
			JobName:       "target-" + strconv.Itoa(i),
			Scheme:        u.Scheme,
			MetricsPath:   path,
			SampleLimit:   target.SampleLimit,
			StaticConfigs: []staticConfig{{Targets: []string{u.Host}, Labels: target.Labels}},
		}
		if len(u.Query()) > 0 {
			sc.Params = u.Query()
		}
		if opts.NativeHistograms {
			sc.ScrapeNativeHistograms = true
			sc.ScrapeProtocols = []string{"PrometheusProto", "OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText0.0.4"}
		}
		cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, sc)
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// URL is the server's base URL, such as http://127.0.0.1:41234.
func (s *Server) URL() string { return "http://" + s.addr }

// DataDir is the TSDB directory, kept across Stop and Restart.
func (s *Server) DataDir() string { return s.dataDir }

// LogPath is the server's log file, appended to across restarts.
func (s *Server) LogPath() string { return s.logPath }

// Running reports whether the server process is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return false
	}
	select {
	case <-s.proc.done:
		return false
	default:
		return true
	}
}

// Stop stops the server (SIGTERM to its process group, SIGKILL after 15s) and waits until it has
// exited. Its port and data stay for Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.stop()
	}
}

// Restart starts a stopped server again on the same port with the same data and waits until it is
// ready. It fails the test if the server is running or does not come back.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if s.Running() {
		t.Fatal("promtest: Restart of a running server; Stop it first")
	}
	begin := time.Now()
	if err := s.start(); err != nil {
		t.Fatalf("promtest: restart: %v\n%s", err, s.LogTail())
	}
	t.Logf("promtest: restarted at %s in %s", s.URL(), time.Since(begin).Round(time.Millisecond))
}

var errPortTaken = errors.New("port already in use")

// start spawns the server and waits until it is ready.
func (s *Server) start() error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	var logStart int64
	if info, err := logFile.Stat(); err == nil {
		logStart = info.Size()
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc.Group(cmd)
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()

	deadline := time.Now().Add(readyTimeout)
	last := errors.New("no answer yet")
	for {
		select {
		case <-p.done:
			s.Stop()
			if log, err := os.ReadFile(s.logPath); err == nil && int64(len(log)) >= logStart &&
				strings.Contains(string(log[logStart:]), "address already in use") {
				return fmt.Errorf("prometheus exited: %w", errPortTaken)
			}
			exit := p.err
			if exit == nil {
				exit = errors.New("exit status 0")
			}
			return fmt.Errorf("prometheus exited before it was ready (log %s): %w", s.logPath, exit)
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("prometheus not ready at %s after %s (log %s): %w", s.URL(), readyTimeout, s.logPath, last)
		}
		if last = s.ready(); last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) ready() error {
	resp, err := s.client.Get(s.URL() + "/-/ready")
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/-/ready: %s", resp.Status)
	}
	return nil
}

// version returns the first line of `prometheus --version`.
func (s *Server) version() string {
	out, err := exec.Command(s.bin, "--version").CombinedOutput()
	if err != nil {
		return "prometheus"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(strings.TrimPrefix(line, "prometheus, "))
}

// LogTail returns the last lines of the server's log.
func (s *Server) LogTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return fmt.Sprintf("==> last %d lines of %s <==\n%s", len(lines), s.logPath, strings.Join(lines, "\n"))
}

// WaitForSeries waits until the instant vector selector matches at least n series with a recent
// sample (count(selector) ≥ n), failing the test after timeout.
func (s *Server) WaitForSeries(t testing.TB, selector string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var (
		got  float64
		last error
	)
	for {
		res, err := s.QueryAt(context.Background(), "count("+selector+")", time.Time{})
		switch {
		case err != nil:
			last = err
		case len(res) == 1:
			got, last = res[0].Value, nil
		default:
			got, last = 0, nil
		}
		if last == nil && got >= float64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("promtest: %s matched %v series after %s, want %d (last error: %v)\n%s",
				selector, got, timeout, n, last, s.LogTail())
		}
		time.Sleep(pollInterval)
	}
}

// Query evaluates expr now and returns its result, failing the test on error. A scalar result is
// one sample without labels.
func (s *Server) Query(t testing.TB, expr string) []Sample {
	t.Helper()
	res, err := s.QueryAt(context.Background(), expr, time.Time{})
	if err != nil {
		t.Fatalf("promtest: %v", err)
	}
	return res
}

// QueryAt evaluates expr at the time at (now when zero) through /api/v1/query.
func (s *Server) QueryAt(ctx context.Context, expr string, at time.Time) ([]Sample, error) {
	form := url.Values{"query": {expr}}
	if !at.IsZero() {
		form.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/api/v1/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %s: %s: %w", expr, resp.Status, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s: %s: %s", expr, resp.Status, body.ErrorType, body.Error)
	}
	switch body.Data.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  point             `json:"value"`
		}
		if err := json.Unmarshal(body.Data.Result, &vec); err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		out := make([]Sample, 0, len(vec))
		for _, v := range vec {
			out = append(out, Sample{Metric: v.Metric, Value: v.Value.v, Time: v.Value.t})
		}
		return out, nil
	case "scalar":
		var p point
		if err := json.Unmarshal(body.Data.Result, &p); err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		return []Sample{{Metric: map[string]string{}, Value: p.v, Time: p.t}}, nil
	}
	return nil, fmt.Errorf("query %s: unsupported result type %q (use an instant vector or scalar)", expr, body.Data.ResultType)
}

// point is a [unix seconds, "value"] pair of the HTTP API.
type point struct {
	t time.Time
	v float64
}

func (p *point) UnmarshalJSON(b []byte) error {
	var raw [2]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var ts float64
	if err := json.Unmarshal(raw[0], &ts); err != nil {
		return err
	}
	var vs string
	if err := json.Unmarshal(raw[1], &vs); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return err
	}
	p.t, p.v = time.UnixMilli(int64(ts*1000+0.5)), v
	return nil
}

// process is one run of the server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (p *process) stop() {
	proc.Stop(p.cmd, p.done, stopTimeout)
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
