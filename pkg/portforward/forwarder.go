package portforward

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// Defaults of Config.
const (
	DefaultConnectWait   = 30 * time.Second
	DefaultProbeInterval = 5 * time.Second
	DefaultMaxFailures   = 3
	// probeTimeout bounds one readiness probe.
	probeTimeout = 5 * time.Second
	// healthyAfter is how long a connection must have lived for the backoff to start over.
	healthyAfter = 10 * time.Second
)

// DefaultBackoff is the pause between attempts: 250ms doubling up to 10s, each plus up to half
// again at random, so that many clients do not retry in step.
var DefaultBackoff = wait.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.5, Steps: math.MaxInt32, Cap: 10 * time.Second}

// Config configures a Forwarder.
type Config struct {
	Client kubernetes.Interface
	Dialer Dialer
	// Namespace and Team name the team's stack; its Service is prometheus-TEAM.
	Namespace, Team string
	// Service, when set, is the Service in Namespace to forward to instead of the team's
	// Prometheus (such as the team's Alertmanager), and Purpose what the port-forward is for, as a
	// missing permission names it ("a port-forward to team a's Alertmanager").
	Service, Purpose string
	// PortName is the Service port to forward to; empty means the web port (or the only port).
	// The team's Thanos Query serves its HTTP API on its port named http.
	PortName string

	// Address is where to listen: an IP address, or localhost for 127.0.0.1 and ::1 (either may
	// fail, as with kubectl). Empty means 127.0.0.1.
	Address string
	// Ports are the local ports to try, in order; 0 means any free port. Empty means {0}.
	Ports []int

	// OnState receives every change of state; it is called from one goroutine at a time.
	OnState func(State)

	// ConnectWait bounds how long a local connection waits for the tunnel while it reconnects.
	ConnectWait time.Duration
	// ProbeInterval is how often the tunnel asks Prometheus' /-/ready through the tunnel.
	ProbeInterval time.Duration
	// MaxFailures is how many probes or connections in a row may fail in the tunnel (not in
	// Prometheus) before it reconnects.
	MaxFailures int
	// Backoff paces the attempts; the zero value means DefaultBackoff.
	Backoff wait.Backoff
}

// Phase is what a Forwarder is doing.
type Phase int

// Phases.
const (
	// Waiting for a pod of the Service to be running and ready.
	Waiting Phase = iota
	// Ready: connected to a pod; local connections are forwarded.
	Ready
	// Reconnecting after a connection ended or its pod stopped being the right one.
	Reconnecting
	// Retrying after an attempt failed.
	Retrying
	// Stopped for good.
	Stopped
)

// State is a Forwarder's state, as reported to Config.OnState.
type State struct {
	Phase Phase
	// Target is the pod connected to (Ready), or the one the last connection went to.
	Target Target
	// Transport carries the connection (Ready): TransportWebSocket or TransportSPDY.
	Transport string
	// Reason says why the Forwarder waits, reconnects or retries.
	Reason string
	// Retry is the pause before the next attempt (Reconnecting, Retrying).
	Retry time.Duration
	// Err is the error of a failed attempt (Retrying, Stopped).
	Err error
}

// String is one line for a person.
func (s State) String() string {
	switch s.Phase {
	case Waiting:
		return "waiting for a ready pod: " + s.Reason
	case Ready:
		return fmt.Sprintf("connected to pod %s/%s port %d (%s)", s.Target.Namespace, s.Target.Pod, s.Target.Port, s.Transport)
	case Reconnecting:
		return fmt.Sprintf("%s; reconnecting in %s", s.Reason, roundDelay(s.Retry))
	case Retrying:
		return fmt.Sprintf("%s; retrying in %s", s.Reason, roundDelay(s.Retry))
	}
	if s.Err != nil {
		return "stopped: " + s.Err.Error()
	}
	return "stopped"
}

func roundDelay(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// Forwarder forwards a fixed local port to a team's Prometheus for as long as it runs, across pod
// restarts, replacements and dropped connections: one goroutine owns the connection to the
// current pod and replaces it when it dies, when the pod is deleted, terminates or stops being
// ready, when another pod becomes the better choice, or when readiness probes through it fail
// several times in a row. Local connections that arrive while it reconnects wait (up to
// Config.ConnectWait) instead of being refused.
type Forwarder struct {
	cfg       Config
	listeners []net.Listener
	addr      *net.TCPAddr

	ctx    context.Context
	cancel context.CancelFunc
	ready  chan struct{}
	done   chan struct{}
	err    error // why run stopped before the first connection, set before done closes
	conns  sync.WaitGroup

	mu        sync.Mutex
	ep        *epoch
	epChanged chan struct{} // closed and replaced whenever ep changes
	state     State
	locals    map[net.Conn]struct{}
}

// Listen binds the local port, which stays the same for the Forwarder's life, and returns a
// Forwarder that has not connected yet; Start connects.
func Listen(cfg Config) (*Forwarder, error) {
	if cfg.Client == nil || cfg.Dialer == nil {
		return nil, errors.New("portforward: Config needs a Client and a Dialer")
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1"
	}
	if len(cfg.Ports) == 0 {
		cfg.Ports = []int{0}
	}
	if cfg.ConnectWait <= 0 {
		cfg.ConnectWait = DefaultConnectWait
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = DefaultProbeInterval
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.Backoff.Duration <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	listeners, err := listen(cfg.Address, cfg.Ports)
	if err != nil {
		return nil, err
	}
	return &Forwarder{
		cfg:       cfg,
		listeners: listeners,
		addr:      listeners[0].Addr().(*net.TCPAddr),
		ready:     make(chan struct{}),
		done:      make(chan struct{}),
		epChanged: make(chan struct{}),
		locals:    map[net.Conn]struct{}{},
	}, nil
}

// listen binds address on the first of ports that works.
func listen(address string, ports []int) ([]net.Listener, error) {
	hosts, anyHost := []string{address}, false
	if address == "localhost" {
		hosts, anyHost = []string{"127.0.0.1", "::1"}, true
	}
	var lastErr error
	for _, port := range ports {
		var ls []net.Listener
		p := port
		for _, h := range hosts {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(p)))
			if err != nil {
				lastErr = err
				if anyHost {
					continue
				}
				for _, l := range ls {
					_ = l.Close()
				}
				ls = nil
				break
			}
			ls = append(ls, l)
			p = l.Addr().(*net.TCPAddr).Port
		}
		if len(ls) > 0 {
			return ls, nil
		}
	}
	return nil, fmt.Errorf("cannot listen on %s: %w", address, lastErr)
}

// Addr is the local address; with localhost, its IPv4 half when that could be bound.
func (f *Forwarder) Addr() *net.TCPAddr { return f.addr }

// URL is http:// and the local address.
func (f *Forwarder) URL() string { return "http://" + f.addr.String() }

// Done is closed when the Forwarder has stopped.
func (f *Forwarder) Done() <-chan struct{} { return f.done }

// State returns the current state.
func (f *Forwarder) State() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

// Start starts forwarding and returns once the first connection to a pod is up. Until then it
// waits up to wait for a ready pod and retries failed connections; it gives up at once when the
// team has no stack in the namespace or the user lacks a permission. After Start succeeded the
// Forwarder never gives up: it runs until ctx ends or Close.
func (f *Forwarder) Start(ctx context.Context, wait time.Duration) error {
	f.ctx, f.cancel = context.WithCancel(ctx)
	for _, l := range f.listeners {
		f.conns.Add(1)
		go f.accept(l)
	}
	go f.run(time.Now().Add(wait))
	select {
	case <-f.ready:
		return nil
	case <-f.done:
		if f.err != nil {
			return f.err
		}
		return ctx.Err()
	}
}

// Close stops forwarding, closes the local port and every forwarded connection, and waits for
// them to end.
func (f *Forwarder) Close() error {
	if f.cancel == nil { // never started
		for _, l := range f.listeners {
			_ = l.Close()
		}
		return nil
	}
	f.cancel()
	<-f.done
	f.mu.Lock()
	for c := range f.locals {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.conns.Wait()
	return nil
}

func (f *Forwarder) report(s State) {
	f.mu.Lock()
	f.state = s
	f.mu.Unlock()
	if f.cfg.OnState != nil {
		f.cfg.OnState(s)
	}
}

func (f *Forwarder) setEpoch(ep *epoch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ep = ep
	close(f.epChanged)
	f.epChanged = make(chan struct{})
}

// fatal reports whether err cannot go away by retrying before the first connection: no stack,
// a missing permission, credentials refused or not made, an unverifiable certificate, a request
// the API server calls invalid.
func fatal(err error) bool {
	var noStack *NoStackError
	var perm *PermissionError
	return errors.As(err, &noStack) || errors.As(err, &perm) || IsForbidden(err) || kube.IsPermanent(err)
}

// run is the loop that owns the connection to the pod.
func (f *Forwarder) run(deadline time.Time) {
	var watch *podWatch
	defer func() {
		f.setEpoch(nil)
		if watch != nil {
			watch.stop()
		}
		for _, l := range f.listeners {
			_ = l.Close()
		}
		f.report(State{Phase: Stopped, Err: f.err})
		close(f.done)
	}()
	backoff := f.cfg.Backoff
	connected := false
	var last Target
	lastWaiting := ""

	// failed handles a failed attempt: before the first connection a fatal error or the end of
	// the wait stops the Forwarder; otherwise it reports and pauses.
	failed := func(err error, reason string) bool {
		if !connected && (fatal(err) || time.Now().After(deadline)) {
			f.err = err
			return false
		}
		delay := backoff.Step()
		f.report(State{Phase: Retrying, Target: last, Reason: reason, Retry: delay, Err: err})
		sleep(f.ctx, delay)
		return true
	}

	for f.ctx.Err() == nil {
		svc, err := getService(f.ctx, f.cfg.Client, f.cfg.Namespace, f.cfg.Team, f.cfg.Service)
		if err != nil {
			if f.ctx.Err() != nil || !failed(err, "cannot read the Service: "+err.Error()) {
				return
			}
			continue
		}
		selector := labels.SelectorFromSet(svc.Spec.Selector).String()
		if watch != nil && watch.selector != selector {
			watch.stop()
			watch = nil
		}
		if watch == nil {
			if watch, err = startPodWatch(f.ctx, f.cfg.Client, f.cfg.Namespace, selector); err != nil {
				watch = nil
				if f.ctx.Err() != nil || !failed(err, "cannot list the pods: "+err.Error()) {
					return
				}
				continue
			}
		}

		target, err := ChoosePort(svc, watch.list(), f.cfg.PortName)
		if IsNoReadyPod(err) {
			if !connected && time.Now().After(deadline) {
				f.err = err
				return
			}
			if reason := err.Error(); reason != lastWaiting {
				f.report(State{Phase: Waiting, Target: last, Reason: reason})
				lastWaiting = reason
			}
			// Until the watch says something changed; now and then read the Service again.
			pause := time.NewTimer(min(time.Until(deadline), 30*time.Second))
			if connected {
				pause.Reset(30 * time.Second)
			}
			select {
			case <-f.ctx.Done():
			case <-watch.changed:
			case <-pause.C:
			}
			pause.Stop()
			continue
		}
		lastWaiting = ""
		if err != nil {
			if !failed(err, err.Error()) {
				return
			}
			continue
		}

		conn, transport, err := f.cfg.Dialer.Dial(f.ctx, target.Namespace, target.Pod)
		if err != nil {
			if f.ctx.Err() != nil {
				return
			}
			if IsForbidden(err) {
				err = &PermissionError{User: whoAmI(f.ctx, f.cfg.Client),
					Missing: []Permission{{Verb: "create", Resource: "pods/portforward", Namespace: target.Namespace}},
					Purpose: f.cfg.purpose()}
			}
			if !failed(err, "cannot connect to "+target.String()+": "+err.Error()) {
				return
			}
			continue
		}
		ep := newEpoch(conn, target, transport, f.cfg.MaxFailures)
		last = target
		f.setEpoch(ep)
		f.report(State{Phase: Ready, Target: target, Transport: transport})
		if !connected {
			connected = true
			close(f.ready)
		}
		reason := f.monitor(ep, svc, watch)
		f.setEpoch(nil)
		ep.close()
		if f.ctx.Err() != nil {
			return
		}
		if time.Since(ep.start) > healthyAfter || ep.healthy() {
			backoff = f.cfg.Backoff
		}
		delay := backoff.Step()
		f.report(State{Phase: Reconnecting, Target: target, Reason: reason, Retry: delay})
		sleep(f.ctx, delay)
	}
}

// monitor watches the connection of one epoch and returns why it must be replaced.
func (f *Forwarder) monitor(ep *epoch, svc *corev1.Service, watch *podWatch) string {
	probe := time.NewTicker(f.cfg.ProbeInterval)
	defer probe.Stop()
	probing := false
	probed := make(chan error, 1)
	failures := 0
	check := func() string {
		cur := watch.get(ep.target.Pod)
		if why := Unusable(cur); why != "" {
			return fmt.Sprintf("pod %s %s", ep.target.Pod, why)
		}
		if best, err := ChoosePort(svc, watch.list(), f.cfg.PortName); err == nil && best.Pod != ep.target.Pod {
			if b := watch.get(best.Pod); b != nil && compareRank(b, cur) < 0 {
				return fmt.Sprintf("pod %s is now the better choice than %s", best.Pod, ep.target.Pod)
			}
		}
		return ""
	}
	if why := check(); why != "" {
		return why
	}
	for {
		select {
		case <-f.ctx.Done():
			return ""
		case <-ep.conn.CloseChan():
			return fmt.Sprintf("lost the connection to pod %s", ep.target.Pod)
		case <-ep.failed:
			return ep.failReason()
		case <-watch.changed:
			if why := check(); why != "" {
				return why
			}
		case <-probe.C:
			if !probing {
				probing = true
				go func() { probed <- ep.probe(f.ctx) }()
			}
		case err := <-probed:
			probing = false
			if err == nil {
				failures = 0
				ep.markHealthy()
				continue
			}
			if failures++; failures >= f.cfg.MaxFailures {
				return fmt.Sprintf("pod %s did not answer %d readiness probes through the tunnel (%v)", ep.target.Pod, failures, err)
			}
		}
	}
}

// accept serves one listener until it is closed.
func (f *Forwarder) accept(l net.Listener) {
	defer f.conns.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		f.mu.Lock()
		f.locals[c] = struct{}{}
		f.mu.Unlock()
		f.conns.Add(1)
		go func() {
			defer f.conns.Done()
			f.serve(c)
			f.mu.Lock()
			delete(f.locals, c)
			f.mu.Unlock()
		}()
	}
}

// serve forwards one local connection through the current epoch's connection, waiting for one
// while the Forwarder reconnects.
func (f *Forwarder) serve(local net.Conn) {
	defer local.Close()
	deadline := time.Now().Add(f.cfg.ConnectWait)
	for {
		ep := f.waitEpoch(deadline)
		if ep == nil {
			return
		}
		s, err := ep.open()
		if err != nil {
			ep.fail(fmt.Sprintf("cannot open a stream to pod %s: %v", ep.target.Pod, err))
			continue
		}
		relay(f.ctx, local, s)
		_ = s.Close()
		ep.result(s.RemoteError())
		return
	}
}

// waitEpoch returns the current working epoch, waiting for one until deadline.
func (f *Forwarder) waitEpoch(deadline time.Time) *epoch {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		f.mu.Lock()
		ep, changed := f.ep, f.epChanged
		f.mu.Unlock()
		if ep != nil && !ep.isFailed() {
			return ep
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil
		case <-f.ctx.Done():
			return nil
		case <-f.done:
			return nil
		}
	}
}

// probeURL is what the readiness probe asks.
const probeURL = "http://prometheus/-/ready"

// probe asks Prometheus' /-/ready through the epoch's connection. Only a failure of the tunnel is
// an error: any HTTP answer means the tunnel works.
func (ep *epoch) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		DialContext:       func(context.Context, string, string) (net.Conn, error) { return ep.open() },
		DisableKeepAlives: true,
		Proxy:             nil,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probeURL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	return nil
}

// purpose is what the port-forward is for, as a missing permission names it.
func (c Config) purpose() string {
	if c.Purpose != "" {
		return c.Purpose
	}
	return PortForwardRequirement(c.Namespace, c.Team).Purpose
}
