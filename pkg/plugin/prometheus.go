package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/demo"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/portforward"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// PrometheusFlags say how a command reaches a Prometheus: a URL, the in-process demo, or (by
// team name) the team's Prometheus inside the cluster, through a port-forward tunnel that
// reconnects by itself (the default) or through the API server's service proxy (--via-proxy).
type PrometheusFlags struct {
	configFlags *genericclioptions.ConfigFlags

	URL                   string
	BearerTokenFile       string
	CAFile                string
	InsecureSkipTLSVerify bool
	Timeout               time.Duration
	Demo                  bool
	ViaProxy              bool
	// MaxAnswerSize bounds one answer, decompressed, as a Kubernetes quantity; Validate reads it
	// into maxAnswerBytes.
	MaxAnswerSize  string
	maxAnswerBytes int64

	// ErrOut receives what the tunnel says while it connects (waiting for a ready pod, retries);
	// nil means os.Stderr. Once connected, what happens to the tunnel shows in query errors.
	ErrOut io.Writer
}

// NewPrometheusFlags returns the flags with their defaults.
func NewPrometheusFlags(configFlags *genericclioptions.ConfigFlags) *PrometheusFlags {
	return &PrometheusFlags{configFlags: configFlags, Timeout: 10 * time.Second, MaxAnswerSize: prom.FormatBytes(prom.DefaultMaxAnswerBytes)}
}

// AddFlags binds the flags; demo adds --demo.
func (p *PrometheusFlags) AddFlags(fs *pflag.FlagSet, demo bool) {
	fs.StringVar(&p.URL, "prometheus-url", p.URL, "Prometheus to query, e.g. http://localhost:9090; without it TEAM's Prometheus is reached through a port-forward")
	fs.BoolVar(&p.ViaProxy, "via-proxy", p.ViaProxy, "Reach TEAM's Prometheus through the API server's service proxy instead of a port-forward (needs get and create on services/proxy)")
	fs.StringVar(&p.BearerTokenFile, "bearer-token-file", p.BearerTokenFile, "File holding a bearer token for Prometheus, read on every request")
	fs.StringVar(&p.CAFile, "ca-file", p.CAFile, "PEM file of the CA that signed Prometheus' certificate")
	fs.BoolVar(&p.InsecureSkipTLSVerify, "insecure-skip-tls-verify", p.InsecureSkipTLSVerify, "Do not verify Prometheus' certificate (here this applies to Prometheus, not the API server)")
	fs.StringVar(&p.MaxAnswerSize, "prometheus-max-answer-size", p.MaxAnswerSize, "Largest answer to read from Prometheus, decompressed, and the most the answers read at once may hold together, e.g. 256Mi; more fails the query instead of filling memory")
	fs.DurationVar(&p.Timeout, "timeout", p.Timeout, "How long one round of queries may take before it counts as failed, and how long to wait for a ready Prometheus pod")
	if demo {
		fs.BoolVar(&p.Demo, "demo", p.Demo, "Use a simulated Envoy fleet, evaluated by the PromQL engine inside the plugin")
	}
}

// Validate checks the flags against the team argument.
func (p *PrometheusFlags) Validate(team string) error {
	if err := p.parseMaxAnswerSize(); err != nil {
		return err
	}
	switch {
	case p.Timeout <= 0:
		return flagError("timeout", p.Timeout.String(), errors.New("use a positive duration, e.g. 10s"))
	case p.Demo && p.URL != "":
		return flagError("demo", "true", errors.New("--demo simulates its own Prometheus; drop --prometheus-url"))
	case p.Demo && p.ViaProxy:
		return flagError("via-proxy", "true", errors.New("--demo simulates its own Prometheus; drop --via-proxy"))
	case p.ViaProxy && p.URL != "":
		return flagError("via-proxy", "true", errors.New("--prometheus-url names Prometheus directly; use one of the two"))
	case p.ViaProxy && team == "":
		return flagError("via-proxy", "true", errors.New("name the TEAM whose Prometheus to reach through the service proxy"))
	case !p.Demo && p.URL == "" && team == "":
		return errors.New("name a TEAM to reach its Prometheus in the cluster, or pass --prometheus-url (or --demo for a simulated fleet), e.g. kubectl promteam top team-a -n team-a")
	case team != "":
		return validateTeam(team)
	}
	return nil
}

// minAnswerSize is the least --prometheus-max-answer-size: a smaller limit fails ordinary answers.
const minAnswerSize = 1 << 20

func (p *PrometheusFlags) parseMaxAnswerSize() error {
	q, err := resource.ParseQuantity(p.MaxAnswerSize)
	if err != nil {
		return flagError("prometheus-max-answer-size", p.MaxAnswerSize, errors.New("use a size such as 64Mi or 256Mi"))
	}
	if q.Cmp(*resource.NewQuantity(minAnswerSize, resource.BinarySI)) < 0 {
		return flagError("prometheus-max-answer-size", p.MaxAnswerSize, errors.New("use 1Mi or more, e.g. 64Mi"))
	}
	if q.Cmp(*resource.NewQuantity(math.MaxInt64, resource.BinarySI)) > 0 {
		return flagError("prometheus-max-answer-size", p.MaxAnswerSize, errors.New("use a size such as 64Mi or 256Mi"))
	}
	p.maxAnswerBytes = q.Value()
	return nil
}

// Connect builds the Querier and names it for headers; close releases what it holds (the
// tunnel, for a team's Prometheus).
func (p *PrometheusFlags) Connect(ctx context.Context, team string) (q traffic.Querier, target string, close func(), err error) {
	switch {
	case p.Demo:
		d, err := demo.New(time.Now())
		if err != nil {
			return nil, "", nil, err
		}
		return d, "demo (simulated Envoy fleet)", func() { _ = d.Close() }, nil
	case p.URL == "" && team != "":
		return p.connectCluster(ctx, team)
	}
	c, err := prom.New(prom.Config{
		URL: p.URL, BearerTokenFile: p.BearerTokenFile, CAFile: p.CAFile,
		InsecureSkipTLSVerify: p.InsecureSkipTLSVerify, Timeout: p.Timeout, MaxAnswerBytes: p.maxAnswerBytes,
		DisableCompression: ptr.Deref(p.configFlags.DisableCompression, false),
		UserAgent:          userAgent(),
	})
	if err != nil {
		return nil, "", nil, connectFlagError(err)
	}
	return c, c.URL(), func() {}, nil
}

// connectFlagError names the flag behind a setting prom.New refused.
func connectFlagError(err error) error {
	var ce *prom.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	flag := map[string]string{"URL": "prometheus-url", "BearerTokenFile": "bearer-token-file", "CAFile": "ca-file"}[ce.Field]
	if flag == "" {
		return err
	}
	return flagError(flag, ce.Value, ce.Err)
}

func userAgent() string { return "kubectl-promteam/" + currentBuild().Version }

func (p *PrometheusFlags) errOut() io.Writer {
	if p.ErrOut != nil {
		return p.ErrOut
	}
	return os.Stderr
}

// cluster reads the namespace, the client configuration and a client from the kubeconfig flags.
func cluster(flags *genericclioptions.ConfigFlags) (string, *rest.Config, kubernetes.Interface, error) {
	ns, err := namespaceOf(flags)
	if err != nil {
		return "", nil, nil, err
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return "", nil, nil, fmt.Errorf("cannot read the kubeconfig: %v", firstLine(err.Error()))
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", nil, nil, err
	}
	return ns, cfg, client, nil
}

// connectCluster reaches team's Prometheus in the cluster through the service proxy or a tunnel,
// within --timeout (and a few seconds for the tunnel to connect once a pod is ready).
func (p *PrometheusFlags) connectCluster(ctx context.Context, team string) (traffic.Querier, string, func(), error) {
	type conn struct {
		q      traffic.Querier
		target string
		close  func()
	}
	c, err := bounded(ctx, p.configFlags, p.Timeout+connectGrace, func(ctx context.Context) (conn, error) {
		connect := p.connectTunnel
		if p.ViaProxy {
			connect = p.connectProxy
		}
		q, target, closeFn, err := connect(ctx, team)
		return conn{q, target, closeFn}, err
	}, func(c conn) { c.close() })
	if err != nil {
		return nil, "", nil, err
	}
	return c.q, c.target, c.close, nil
}

// connectTunnel port-forwards to team's Prometheus on a free loopback port and queries it there.
func (p *PrometheusFlags) connectTunnel(ctx context.Context, team string) (traffic.Querier, string, func(), error) {
	ns, cfg, client, err := cluster(p.configFlags)
	if err != nil {
		return nil, "", nil, err
	}
	fw, err := startTunnel(ctx, tunnelOptions{
		config: cfg, client: client, namespace: ns, team: team, address: "127.0.0.1", ports: []int{0},
		wait: p.Timeout, log: p.errOut(),
	})
	if err != nil {
		return nil, "", nil, err
	}
	// The answers cross the same link as the API server's: the kubeconfig's disable-compression
	// (or the flag) says whether that link is fast enough to skip gzip.
	c, err := prom.New(prom.Config{URL: fw.URL(), Timeout: p.Timeout, MaxAnswerBytes: p.maxAnswerBytes, DisableCompression: cfg.DisableCompression, UserAgent: userAgent()})
	if err != nil {
		_ = fw.Close()
		return nil, "", nil, err
	}
	target := fmt.Sprintf("%s/%s via port-forward %s", ns, manifests.ServiceName(team), fw.Addr())
	return &tunnelQuerier{Client: c, fw: fw, team: team}, target, func() { _ = fw.Close() }, nil
}

// connectProxy queries team's Prometheus through the API server's service proxy.
func (p *PrometheusFlags) connectProxy(ctx context.Context, team string) (traffic.Querier, string, func(), error) {
	ns, cfg, client, err := cluster(p.configFlags)
	if err != nil {
		return nil, "", nil, err
	}
	base, rt, err := serviceProxy(ctx, cfg, client, ns, team)
	if err != nil {
		return nil, "", nil, err
	}
	c, err := prom.New(prom.Config{URL: base, Transport: rt, Timeout: p.Timeout, MaxAnswerBytes: p.maxAnswerBytes, UserAgent: userAgent()})
	if err != nil {
		return nil, "", nil, err
	}
	return c, fmt.Sprintf("%s/%s via the API server's service proxy", ns, manifests.ServiceName(team)), func() {}, nil
}

// serviceProxy checks that team's stack exists and that the user may use the service proxy, and
// returns the base URL of team's Prometheus through it and the transport to use.
func serviceProxy(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, ns, team string) (string, http.RoundTripper, error) {
	if _, err := portforward.FindService(ctx, client, ns, team); err != nil {
		return "", nil, explainKube(cfg, err)
	}
	if err := portforward.Check(ctx, client, portforward.ServiceProxyRequirement(ns, team)); err != nil {
		return "", nil, explainKube(cfg, err)
	}
	base, err := portforward.ServiceProxyURL(cfg, ns, team)
	if err != nil {
		return "", nil, err
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return "", nil, err
	}
	return base, rt, nil
}

// tunnelOptions say where a tunnel goes and how it starts.
type tunnelOptions struct {
	config          *rest.Config
	client          kubernetes.Interface
	namespace, team string
	address         string
	ports           []int
	// wait is how long Start waits for a ready pod; 0 gives up at once.
	wait time.Duration
	// log receives the tunnel's state lines while it connects; with logAlways, for its whole life.
	log       io.Writer
	logAlways bool
}

// startTunnel checks the user's permissions, binds the local port and connects to team's
// Prometheus; the tunnel then runs until ctx ends or it is closed.
func startTunnel(ctx context.Context, o tunnelOptions) (*portforward.Forwarder, error) {
	if err := portforward.Check(ctx, o.client, portforward.PortForwardRequirement(o.namespace, o.team)); err != nil {
		return nil, explainKube(o.config, err)
	}
	dialer, err := portforward.NewKubeDialer(o.config)
	if err != nil {
		return nil, err
	}
	started := make(chan struct{})
	fw, err := portforward.Listen(portforward.Config{
		Client: o.client, Dialer: dialer, Namespace: o.namespace, Team: o.team,
		Address: o.address, Ports: o.ports,
		OnState: func(s portforward.State) {
			select {
			case <-started:
				if !o.logAlways {
					return
				}
			default:
				if s.Phase == portforward.Ready || s.Phase == portforward.Stopped {
					return // Start's caller says so
				}
			}
			if s.Phase != portforward.Stopped {
				fmt.Fprintf(o.log, "%s\n", termtext.Sanitize(s.String()))
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if err := fw.Start(ctx, o.wait); err != nil {
		_ = fw.Close()
		if portforward.IsNoReadyPod(err) {
			return nil, fmt.Errorf("%w after waiting %s; pass --timeout to wait longer", err, o.wait)
		}
		return nil, explainKube(o.config, err)
	}
	close(started)
	return fw, nil
}

// explainKube is kube.Explain for the API server of cfg.
func explainKube(cfg *rest.Config, err error) error { return kube.Explain(cfg.Host, err) }

// tunnelQuerier queries through a tunnel and, when a query fails while the tunnel reconnects,
// says so.
type tunnelQuerier struct {
	*prom.Client
	fw   *portforward.Forwarder
	team string
}

// Query implements traffic.Querier.
func (t *tunnelQuerier) Query(ctx context.Context, query string, at time.Time) (traffic.Result, error) {
	r, err := t.Client.Query(ctx, query, at)
	if err != nil {
		if s := t.fw.State(); s.Phase != portforward.Ready {
			return r, &tunnelError{team: t.team, state: s, err: err}
		}
	}
	return r, err
}

// tunnelError is a query that failed while the tunnel was down.
type tunnelError struct {
	team  string
	state portforward.State
	err   error
}

func (e *tunnelError) Error() string {
	return fmt.Sprintf("port-forward to team %s's Prometheus: %s", e.team, e.state)
}

func (e *tunnelError) Unwrap() error { return e.err }
