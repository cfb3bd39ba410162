// Package kubetest runs a real etcd and kube-apiserver on loopback for tests.
//
// The binaries (etcd, kube-apiserver and kubectl) are built by hack/install-k8s.sh (`make tools`)
// into $PROMTEAM_BIN, which defaults to
// ${PROMTEAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-promteam}/bin. A test that needs the
// cluster fails, never skips, when they are missing.
//
// A cluster serves the API only: there is no controller manager, scheduler or kubelet, so
// namespaces are not finalized after deletion, no default service accounts are created (the
// ServiceAccount admission plugin is disabled for that reason) and pods never run. Authorization is
// RBAC; two token users exist:
//
//   - [Admin] ("admin"), in group system:masters, may do anything;
//   - [Dev] ("dev"), only in system:authenticated, may do what the bootstrap roles allow until a
//     test grants it more with RBAC.
//
// One cluster per test:
//
//	func TestSomething(t *testing.T) {
//		c := kubetest.Start(t)
//		c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", "demo")
//	}
//
// Starting a cluster takes a few seconds, so the tests of a package can share one instead. The
// shared cluster starts on the first call to [Shared] and stops when [Main] returns; tests that
// share it should work in their own namespaces ([Cluster.Namespace]):
//
//	func TestMain(m *testing.M) { kubetest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		c := kubetest.Shared(t)
//		ns := c.Namespace(t)
//		...
//	}
package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/proc"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
)

// Token users known to every cluster.
const (
	// Admin is in group system:masters.
	Admin = "admin"
	// Dev is an ordinary authenticated user without any role bindings.
	Dev = "dev"
)

// Users lists the token users of every cluster.
var Users = []string{Admin, Dev}

// Binary names looked up in the binary directory.
const (
	etcdBinary      = "etcd"
	apiserverBinary = "kube-apiserver"
	kubectlBinary   = "kubectl"
)

const (
	// startAttempts bounds how often startup is retried after a port turned out to be taken.
	startAttempts = 3
	// readyTimeout bounds the wait for etcd and kube-apiserver to become ready.
	readyTimeout = 2 * time.Minute
	// kubectlTimeout bounds a single kubectl invocation.
	kubectlTimeout = 2 * time.Minute
	// logTailLines is how many lines of each server log are printed when a test fails.
	logTailLines = 40
)

// Cluster is a running etcd and kube-apiserver pair.
type Cluster struct {
	dir        string
	bin        string
	server     string
	caData     []byte
	tokens     map[string]string
	kubeconfig map[string]string
	procs      []*process
	nsCounter  atomic.Int64
	podNet     *podNetwork
	nodeCount  atomic.Int64
}

// checkBinaries reports which of the required binaries are missing from dir.
func checkBinaries(dir string) error {
	var missing []string
	for _, name := range []string{etcdBinary, apiserverBinary, kubectlBinary} {
		if checkBinary(dir, name) != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("kubetest: %s missing from %s; run `make tools` (or hack/install-k8s.sh) to build them",
			strings.Join(missing, ", "), dir)
	}
	return nil
}

// checkBinary reports whether the executable name is missing from dir.
func checkBinary(dir, name string) error {
	info, err := os.Stat(filepath.Join(dir, name))
	if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("kubetest: %s missing from %s; run `make tools` (or hack/install-k8s.sh) to build it", name, dir)
	}
	return nil
}

// Start starts a cluster for the calling test and stops it when the test ends. It fails the test
// when the binaries are missing or the cluster does not become ready.
func Start(t testing.TB) *Cluster {
	t.Helper()
	begin := time.Now()
	c, err := start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kubetest: cluster at %s ready in %s, files in %s", c.server, time.Since(begin).Round(time.Millisecond), c.dir)
	t.Cleanup(func() {
		// The tails are taken first so that they do not end in shutdown noise.
		if t.Failed() {
			t.Log(c.logTails())
		}
		c.stop()
	})
	return c
}

var shared struct {
	mu      sync.Mutex
	inMain  bool
	started bool
	cluster *Cluster
	err     error
}

// Main runs the tests of a package and then stops the cluster that [Shared] started, printing the
// end of its logs when a test failed. Call it from TestMain:
//
//	func TestMain(m *testing.M) { kubetest.Main(m) }
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	c := shared.cluster
	shared.mu.Unlock()
	if c != nil {
		if code != 0 {
			fmt.Fprintln(os.Stderr, c.logTails())
		}
		c.stop()
		_ = os.RemoveAll(c.dir)
	}
	os.Exit(code)
}

// Shared returns the cluster shared by the tests of the package, starting it on first use. The
// package's TestMain must call [Main], which stops it. It fails the test when the cluster cannot be
// started.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("kubetest: Shared needs `func TestMain(m *testing.M) { kubetest.Main(m) }` in the test package")
	}
	if !shared.started {
		shared.started = true
		begin := time.Now()
		dir, err := os.MkdirTemp("", "kubetest-")
		if err != nil {
			shared.err = err
		} else if shared.cluster, shared.err = start(dir); shared.err != nil {
			_ = os.RemoveAll(dir)
		} else {
			t.Logf("kubetest: shared cluster at %s ready in %s, files in %s",
				shared.cluster.server, time.Since(begin).Round(time.Millisecond), dir)
		}
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.cluster
}

// start generates the credentials in dir and starts etcd and kube-apiserver.
func start(dir string) (*Cluster, error) {
	bin := tools.BinDir()
	if err := checkBinaries(bin); err != nil {
		return nil, err
	}
	c := &Cluster{
		dir:        dir,
		bin:        bin,
		tokens:     map[string]string{},
		kubeconfig: map[string]string{},
	}
	if err := c.writeCredentials(); err != nil {
		return nil, err
	}
	var err error
	if c.podNet, err = startPodNetwork(); err != nil {
		return nil, err
	}
	for attempt := 1; attempt <= startAttempts; attempt++ {
		if err = c.startServers(attempt); err == nil {
			break
		}
		c.stopServers()
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	if err != nil {
		tails := c.logTails()
		c.stop()
		return nil, fmt.Errorf("%w\n%s", err, tails)
	}
	for _, user := range Users {
		if err := c.writeKubeconfig(user); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

// writeCredentials writes the service-account key pair and the token file.
func (c *Cluster) writeCredentials() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	if err := os.WriteFile(filepath.Join(c.dir, "sa.key"), keyPEM, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.dir, "sa.pub"), pubPEM, 0o644); err != nil {
		return err
	}

	groups := map[string]string{Admin: "system:masters"}
	var csv strings.Builder
	for i, user := range Users {
		token, err := randomToken()
		if err != nil {
			return err
		}
		c.tokens[user] = token
		// token,user,uid,"group1,group2"
		fmt.Fprintf(&csv, "%s,%s,uid-%d", token, user, i+1)
		if g := groups[user]; g != "" {
			fmt.Fprintf(&csv, ",%q", g)
		}
		csv.WriteString("\n")
	}
	return os.WriteFile(filepath.Join(c.dir, "tokens.csv"), []byte(csv.String()), 0o600)
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

var errPortTaken = errors.New("port already in use")

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startServers starts etcd and then kube-apiserver and waits until both are ready.
func (c *Cluster) startServers(attempt int) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, securePort := ports[0], ports[1], ports[2]

	etcdDir := filepath.Join(c.dir, "etcd")
	certDir := filepath.Join(c.dir, "certs")
	for _, d := range []string{etcdDir, certDir} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)

	etcd, err := c.spawn(etcdBinary, attempt,
		"--name=default",
		"--data-dir="+etcdDir,
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync",
	)
	if err != nil {
		return err
	}
	if err := waitFor(etcd, &http.Client{Timeout: 5 * time.Second}, nil, clientURL+"/health", ""); err != nil {
		return err
	}

	c.server = "https://127.0.0.1:" + strconv.Itoa(securePort)
	// What the API server sends to nodes and pods goes through the stand-in pod network (see
	// podNetwork), and nothing goes through a proxy of the environment.
	egressConfig := filepath.Join(c.dir, "egress-selector.yaml")
	if err := os.WriteFile(egressConfig, []byte(c.podNet.egressConfig()), 0o644); err != nil {
		return err
	}
	noProxy := []string{"HTTP_PROXY=", "HTTPS_PROXY=", "NO_PROXY=", "http_proxy=", "https_proxy=", "no_proxy="}
	apiserver, err := c.spawnEnv(apiserverBinary, attempt, noProxy,
		"--etcd-servers="+clientURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(securePort),
		"--cert-dir="+certDir,
		"--token-auth-file="+filepath.Join(c.dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+filepath.Join(c.dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(c.dir, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--disable-admission-plugins=ServiceAccount",
		// The endpoint reconciler cannot publish 127.0.0.1 as the kubernetes service's endpoint.
		"--endpoint-reconciler-type=none",
		// Fake nodes (kwok, see StartNodeAgent) are reached at their InternalIP, 127.0.0.1: their
		// host names resolve nowhere.
		"--kubelet-preferred-address-types=InternalIP",
		"--egress-selector-config-file="+egressConfig,
	)
	if err != nil {
		return err
	}
	// The serving certificate is generated at startup; it holds the certificate and its CA.
	certFile := filepath.Join(certDir, "apiserver.crt")
	return waitFor(apiserver, nil, func() (*http.Client, error) {
		data, err := os.ReadFile(certFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("no certificate in %s yet", certFile)
		}
		c.caData = data
		return &http.Client{
			Timeout:   5 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		}, nil
	}, c.server+"/readyz", c.tokens[Admin])
}

// waitFor polls url until it answers 200, the process exits or readyTimeout passes. The client
// comes either from client or, when that is nil, from newClient, which is retried until it works.
func waitFor(p *process, client *http.Client, newClient func() (*http.Client, error), url, token string) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for {
		select {
		case <-p.done:
			if p.portTaken() {
				return fmt.Errorf("%s exited: %w", p.name, errPortTaken)
			}
			return fmt.Errorf("%s exited before it was ready: %w (log: %s)", p.name, p.err, p.logPath)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s after %s: %w (log: %s)", p.name, url, readyTimeout, last, p.logPath)
		}
		if client == nil {
			client, last = newClient()
		}
		if client != nil {
			last = probe(client, url, token)
			if last == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func probe(client *http.Client, url, token string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// process is a server started by the cluster.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func (c *Cluster) spawn(name string, attempt int, args ...string) (*process, error) {
	return c.spawnEnv(name, attempt, nil, args...)
}

// spawnEnv starts a server with env added to the test's environment.
func (c *Cluster) spawnEnv(name string, attempt int, env []string, args ...string) (*process, error) {
	logName := name + ".log"
	if attempt > 1 {
		logName = fmt.Sprintf("%s.%d.log", name, attempt)
	}
	return c.spawnLogged(name, logName, env, args...)
}

// spawnLogged starts the binary name with its output in logName in the cluster's directory.
func (c *Cluster) spawnLogged(name, logName string, env []string, args ...string) (*process, error) {
	logPath := filepath.Join(c.dir, logName)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	proc.Group(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	return p, nil
}

func (p *process) portTaken() bool {
	data, err := os.ReadFile(p.logPath)
	return err == nil && bytes.Contains(data, []byte("address already in use"))
}

// stop terminates the server, gently first, and waits for it to exit.
func (p *process) stop() {
	proc.Stop(p.cmd, p.done, 10*time.Second)
}

func (c *Cluster) stop() {
	c.stopServers()
	if c.podNet != nil {
		c.podNet.stop()
		c.podNet = nil
	}
}

// stopServers stops every process the cluster started, the node agents first.
func (c *Cluster) stopServers() {
	for _, p := range slices.Backward(c.procs) {
		p.stop()
	}
	c.procs = nil
}

// logTails returns the last lines of every server log.
func (c *Cluster) logTails() string {
	logs, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
	var b strings.Builder
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > logTailLines {
			lines = lines[len(lines)-logTailLines:]
		}
		fmt.Fprintf(&b, "==> last %d lines of %s <==\n%s\n", len(lines), path, strings.Join(lines, "\n"))
	}
	return b.String()
}

// writeKubeconfig writes a kubeconfig with a context per user whose current context is user's.
func (c *Cluster) writeKubeconfig(current string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Config\nclusters:\n- name: kubetest\n  cluster:\n")
	fmt.Fprintf(&b, "    server: %s\n    certificate-authority-data: %s\n", c.server, base64.StdEncoding.EncodeToString(c.caData))
	b.WriteString("users:\n")
	for _, user := range Users {
		fmt.Fprintf(&b, "- name: %s\n  user:\n    token: %s\n", user, c.tokens[user])
	}
	b.WriteString("contexts:\n")
	for _, user := range Users {
		fmt.Fprintf(&b, "- name: %s\n  context:\n    cluster: kubetest\n    user: %s\n    namespace: default\n", user, user)
	}
	fmt.Fprintf(&b, "current-context: %s\n", current)
	path := filepath.Join(c.dir, "kubeconfig-"+current+".yaml")
	c.kubeconfig[current] = path
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// Dir returns the directory holding the cluster's logs, credentials and kubeconfigs.
func (c *Cluster) Dir() string { return c.dir }

// Server returns the kube-apiserver URL.
func (c *Cluster) Server() string { return c.server }

// Kubeconfig returns the path of a kubeconfig file whose current context belongs to user. Every
// file also has a context named after each of the other users.
func (c *Cluster) Kubeconfig(user string) string {
	path, ok := c.kubeconfig[user]
	if !ok {
		panic(fmt.Sprintf("kubetest: unknown user %q (known: %s)", user, strings.Join(Users, ", ")))
	}
	return path
}

// RESTConfig returns a client configuration for user.
func (c *Cluster) RESTConfig(user string) *rest.Config {
	token, ok := c.tokens[user]
	if !ok {
		panic(fmt.Sprintf("kubetest: unknown user %q (known: %s)", user, strings.Join(Users, ", ")))
	}
	return &rest.Config{
		Host:            c.server,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: slices.Clone(c.caData)},
		QPS:             100,
		Burst:           200,
	}
}

// Kubectl runs kubectl as user with stdin as its standard input. The error, if any, includes
// the command line and standard error.
func (c *Cluster) Kubectl(t testing.TB, user string, stdin []byte, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	kubeconfig := c.Kubeconfig(user)
	// Not t.Context(): that is canceled before cleanups run, and cleanups may call kubectl.
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	full := append([]string{"--kubeconfig=" + kubeconfig, "--cache-dir=" + filepath.Join(c.dir, "kubectl-cache")}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, kubectlBinary), full...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	if err = cmd.Run(); err != nil {
		err = fmt.Errorf("kubectl %s (as %s): %w: %s", strings.Join(args, " "), user, err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), errOut.String(), err
}

// KubectlOK runs kubectl like [Cluster.Kubectl], fails the test when it fails and returns its
// standard output.
func (c *Cluster) KubectlOK(t testing.TB, user string, stdin []byte, args ...string) string {
	t.Helper()
	stdout, _, err := c.Kubectl(t, user, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return stdout
}

// InstallCRDs applies every *.yaml file in dir with server-side apply as [Admin] and waits until
// all custom resource definitions are established.
func (c *Cluster) InstallCRDs(t testing.TB, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("kubetest: no *.yaml files in %s", dir)
	}
	args := []string{"apply", "--server-side", "--force-conflicts"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	c.KubectlOK(t, Admin, nil, args...)
	c.KubectlOK(t, Admin, nil, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
}

// Namespace creates a namespace named after the test and returns its name. Namespaces are not
// deleted: the cluster has no controller that would finalize them.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	name := namespaceName(t.Name(), c.nsCounter.Add(1))
	c.KubectlOK(t, Admin, nil, "create", "namespace", name)
	return name
}

// namespaceName turns a test name into a valid, unique namespace name.
func namespaceName(testName string, n int64) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	suffix := "-" + strconv.FormatInt(n, 10)
	base := strings.TrimRight(b.String(), "-")
	if limit := 63 - len(suffix); len(base) > limit {
		base = strings.TrimRight(base[:limit], "-")
	}
	if base == "" {
		base = "test"
	}
	return base + suffix
}
