package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/demo"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/portforward"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/tui"
)

// PrometheusFlags say how a command reaches a Prometheus: a URL, the in-process demo, or (by
// team name) the team's Prometheus inside the cluster, through a port-forward tunnel that
// reconnects by itself (the default) or through the API server's service proxy (--via-proxy).
// Every command that reads Prometheus (top, compare, doctor) takes these flags, and every one
// reaches it through a prom.Client.
//
// The flags that say how to connect to a --prometheus-url all start with --prometheus-, so that
// none shadows one of kubectl's (--insecure-skip-tls-verify, --certificate-authority, --token),
// which keep applying to the API server.
type PrometheusFlags struct {
	configFlags *genericclioptions.ConfigFlags
	// errOut receives what the tunnel says while it connects (waiting for a ready pod, retries)
	// and the notices of deprecated flags. Once connected, what happens to the tunnel shows in
	// query errors.
	errOut io.Writer

	// endpointFlags are --prometheus-url, its TLS and token flags, and --via-proxy.
	endpointFlags
	// headerFlags are --header and --tenant, for a --prometheus-url.
	headerFlags
	Timeout time.Duration
	Demo    bool
	// Direct queries one Prometheus pod of the team even when its stack has a Thanos Query.
	Direct bool
	// backend is what the last Connect reached: backendPrometheus or backendThanosQuery.
	backend string
	// MaxAnswerSize bounds one answer, decompressed, as a Kubernetes quantity; Validate reads it
	// into maxAnswerBytes.
	MaxAnswerSize  string
	maxAnswerBytes int64
}

// The names of the Prometheus connection flags that endpointFlags does not bind.
const (
	flagPrometheusToken   = "prometheus-bearer-token-file"
	flagPrometheusCA      = "prometheus-ca-file"
	flagPrometheusMaxSize = "prometheus-max-answer-size"
)

// NewPrometheusFlags returns the flags with their defaults; notices and the tunnel's progress go
// to streams.ErrOut.
func NewPrometheusFlags(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *PrometheusFlags {
	return &PrometheusFlags{
		configFlags: configFlags, errOut: streams.ErrOut,
		endpointFlags: endpointFlags{prefix: "prometheus", server: "Prometheus", example: "http://localhost:9090", proxyVerbs: "get and create"},
		Timeout:       10 * time.Second, MaxAnswerSize: prom.FormatBytes(prom.DefaultMaxAnswerBytes),
	}
}

// AddFlags binds the connection flags, --timeout and, with demo, --demo.
func (p *PrometheusFlags) AddFlags(fs *pflag.FlagSet, demo bool) {
	p.AddConnectionFlags(fs)
	fs.DurationVar(&p.Timeout, "timeout", p.Timeout, "How long one round of queries may take before it counts as failed, and how long to wait for a ready Prometheus pod")
	if demo {
		fs.BoolVar(&p.Demo, "demo", p.Demo, "Use a simulated Envoy fleet, evaluated by the PromQL engine inside the plugin")
	}
}

// AddConnectionFlags binds the flags that say where Prometheus is and how to connect to it, for a
// command (doctor) that has a --timeout of its own.
func (p *PrometheusFlags) AddConnectionFlags(fs *pflag.FlagSet) {
	p.add(fs, "Prometheus to query, e.g. http://localhost:9090; without it TEAM's Prometheus is reached through a port-forward")
	fs.BoolVar(&p.Direct, "direct", p.Direct, "Query one of TEAM's Prometheus pods even when the stack has a Thanos Query (which merges the shards and deduplicates the replicas)")
	fs.StringVar(&p.MaxAnswerSize, flagPrometheusMaxSize, p.MaxAnswerSize, "Largest answer to read from Prometheus, decompressed, and the most the answers read at once may hold together, e.g. 256Mi; more fails the query instead of filling memory")
	p.addAlias(fs, "bearer-token-file", flagPrometheusToken, &p.BearerTokenFile)
	p.addAlias(fs, "ca-file", flagPrometheusCA, &p.CAFile)
	p.addHeaderFlags(fs)
}

// addAlias binds old, a hidden name of the string flag now called current, which says on use
// that it is deprecated. The notice goes to the command's error stream (cobra would print
// pflag's own notice on its output, which is stdout here).
func (p *PrometheusFlags) addAlias(fs *pflag.FlagSet, old, current string, target *string) {
	f := fs.VarPF(&aliasValue{target: target, use: func() {
		fmt.Fprintf(p.errOut, "Flag --%s has been deprecated, use --%s instead\n", old, current)
	}}, old, "", "Deprecated: use --"+current)
	f.Hidden = true
}

// aliasValue sets the string of another flag, and calls use when it is set.
type aliasValue struct {
	target *string
	use    func()
}

func (a *aliasValue) String() string {
	if a.target == nil {
		return ""
	}
	return *a.target
}

func (a *aliasValue) Set(s string) error {
	*a.target = s
	a.use()
	return nil
}

func (a *aliasValue) Type() string { return "string" }

// Validate checks the flags against the team argument.
func (p *PrometheusFlags) Validate(team string) error {
	if err := p.validateConnection(); err != nil {
		return err
	}
	switch {
	case p.Timeout <= 0:
		return flagError("timeout", p.Timeout.String(), errors.New("use a positive duration, e.g. 10s"))
	case p.Demo && p.URL != "":
		return flagError("demo", "true", errors.New("--demo simulates its own Prometheus; drop --prometheus-url"))
	case p.Demo && p.ViaProxy:
		return flagError("via-proxy", "true", errors.New("--demo simulates its own Prometheus; drop --via-proxy"))
	case p.Direct && p.Demo:
		return flagError("direct", "true", errors.New("--demo simulates its own Prometheus; drop --direct"))
	case p.ViaProxy && team == "":
		return flagError("via-proxy", "true", errors.New("name the TEAM whose Prometheus to reach through the service proxy"))
	case !p.Demo && p.URL == "" && team == "":
		return errors.New("name a TEAM to reach its Prometheus in the cluster, or pass --prometheus-url (or --demo for a simulated fleet), e.g. kubectl promteam top team-a -n team-a")
	case team != "":
		return validateTeam(team)
	}
	return nil
}

// validateConnection checks the flags that say where Prometheus is and how to connect to it: the
// answer size, --via-proxy against --prometheus-url, and that the TLS and token flags, which only
// a --prometheus-url uses, come with one.
func (p *PrometheusFlags) validateConnection() error {
	if err := p.parseMaxAnswerSize(); err != nil {
		return err
	}
	if err := p.parseHeaders(p.URL); err != nil {
		return err
	}
	if p.Direct && p.URL != "" {
		return flagError("direct", "true", errors.New("--prometheus-url names the server to query; --direct picks one of TEAM's Prometheus pods in the cluster; use one of the two"))
	}
	return p.validate()
}

// minAnswerSize is the least --prometheus-max-answer-size: a smaller limit fails ordinary answers.
const minAnswerSize = 1 << 20

func (p *PrometheusFlags) parseMaxAnswerSize() error {
	q, err := resource.ParseQuantity(p.MaxAnswerSize)
	if err != nil {
		return flagError(flagPrometheusMaxSize, p.MaxAnswerSize, errors.New("use a size such as 64Mi or 256Mi"))
	}
	if q.Cmp(*resource.NewQuantity(minAnswerSize, resource.BinarySI)) < 0 {
		return flagError(flagPrometheusMaxSize, p.MaxAnswerSize, errors.New("use 1Mi or more, e.g. 64Mi"))
	}
	if q.Cmp(*resource.NewQuantity(math.MaxInt64, resource.BinarySI)) > 0 {
		return flagError(flagPrometheusMaxSize, p.MaxAnswerSize, errors.New("use a size such as 64Mi or 256Mi"))
	}
	p.maxAnswerBytes = q.Value()
	return nil
}

// Backend is what the last Connect reached: "thanos-query" for the team's Thanos Query,
// "prometheus" for one Prometheus (a pod of the team's, --prometheus-url or the demo).
func (p *PrometheusFlags) Backend() string {
	if p.backend == "" {
		return backendPrometheus
	}
	return p.backend
}

// Connect builds the Querier and names it for headers; close releases what it holds (the
// tunnel, for a team's Prometheus). A team whose stack has a Thanos Query is reached through
// it, unless --direct; Backend then says which answered.
func (p *PrometheusFlags) Connect(ctx context.Context, team string) (q traffic.Querier, target string, close func(), err error) {
	p.backend = backendPrometheus
	switch {
	case p.Demo:
		d, err := demo.New(time.Now())
		if err != nil {
			return nil, "", nil, err
		}
		return d, demoTarget, func() { _ = d.Close() }, nil
	case p.URL == "" && team != "":
		return p.connectCluster(ctx, team)
	}
	c, err := p.urlClient()
	if err != nil {
		return nil, "", nil, err
	}
	return c, c.URL(), func() {}, nil
}

// Frontier is how the reads of a --prometheus-url find their instant: at the frontier of the
// samples of sel's targets there (traffic.Frontier), since a store fed by remote write holds its
// newest samples late. It is nil for a team's own Prometheus or Thanos Query and for the demo,
// which read their own scrapes and are read at the clock.
func (p *PrometheusFlags) Frontier(q traffic.Querier, sel promql.Selector) tui.Frontier {
	if p.URL == "" || p.Demo {
		return nil
	}
	return func(ctx context.Context, at time.Time) (time.Time, error) { return traffic.Frontier(ctx, q, sel, at) }
}

// readAt is the instant to read at now: the clock's, or the frontier's when there is one.
func readAt(ctx context.Context, frontier tui.Frontier) (time.Time, error) {
	now := time.Now()
	if frontier == nil {
		return now, nil
	}
	return frontier(ctx, now)
}

// demoTarget names the demo's Prometheus in headers.
const demoTarget = "demo (simulated Envoy fleet)"

// urlClient is the client for --prometheus-url, with the TLS and token flags.
func (p *PrometheusFlags) urlClient() (*prom.Client, error) {
	cfg := p.config()
	cfg.Timeout, cfg.MaxAnswerBytes = p.Timeout, p.maxAnswerBytes
	cfg.DisableCompression = ptr.Deref(p.configFlags.DisableCompression, false)
	cfg.Headers = p.httpHeaders
	c, err := prom.New(cfg)
	if err != nil {
		return nil, p.flagError(err)
	}
	return c, nil
}

// routeClient is the client for the backend r leads to in the cluster, at base (a tunnel's local
// end or the service proxy, whose transport rt carries the API server's credentials): a Thanos
// Query is asked to deduplicate and to fail rather than answer in part.
func (p *PrometheusFlags) routeClient(r route, base string, rt http.RoundTripper, disableCompression bool) (*prom.Client, error) {
	return prom.New(prom.Config{
		URL: base, Transport: rt, Timeout: p.Timeout, MaxAnswerBytes: p.maxAnswerBytes,
		DisableCompression: disableCompression, UserAgent: userAgent(), ThanosQuery: r.backend == backendThanosQuery,
	})
}

func userAgent() string { return "kubectl-promteam/" + currentBuild().Version }

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
	c, err := p.connectTeam(ctx, p.configFlags, team, reach{wait: p.Timeout, log: p.errOut})
	if err != nil {
		return nil, "", nil, err
	}
	p.backend = c.backend
	return c.q, c.target, c.close, nil
}

// teamConn is a connection to a team's Prometheus, or to the Thanos Query its stack leads to.
type teamConn struct {
	q      traffic.Querier
	target string
	close  func()
	// backend is what answers: backendPrometheus or backendThanosQuery.
	backend string
}

// reach says how a connection to a team is made: how long it waits for a ready pod (0: not at
// all), how long it may take in all (0: the wait and a few seconds for the tunnel to connect),
// and where its progress lines go.
type reach struct {
	wait  time.Duration
	bound time.Duration
	log   io.Writer
}

// connectTeam reaches team's Prometheus in the cluster and namespace flags name, through the
// service proxy or a tunnel, within r's bound. It changes nothing in p, so that several teams
// can be reached at once (top -A).
func (p *PrometheusFlags) connectTeam(ctx context.Context, flags *genericclioptions.ConfigFlags, team string, r reach) (teamConn, error) {
	bound := r.bound
	if bound == 0 {
		bound = r.wait + connectGrace
	}
	return bounded(ctx, flags, bound, func(ctx context.Context) (teamConn, error) {
		ns, cfg, client, err := cluster(flags)
		if err != nil {
			return teamConn{close: func() {}}, err
		}
		rt, err := findRoute(ctx, cfg, client, ns, team, p.Direct)
		if err != nil {
			return teamConn{close: func() {}}, err
		}
		if rt.warning != "" {
			fmt.Fprintf(r.log, "warning: %s\n", termtext.Sanitize(rt.warning))
		}
		connect := p.connectTunnel
		if p.ViaProxy {
			connect = p.connectProxy
		}
		q, target, closeFn, err := connect(ctx, rt, ns, cfg, client, team, r)
		if closeFn == nil {
			closeFn = func() {}
		}
		return teamConn{q, target, closeFn, rt.backend}, err
	}, func(c teamConn) { c.close() })
}

// connectTunnel port-forwards to team's Prometheus, or the Thanos Query r leads to, on a free
// loopback port and queries it there.
func (p *PrometheusFlags) connectTunnel(ctx context.Context, r route, ns string, cfg *rest.Config, client kubernetes.Interface, team string, how reach) (traffic.Querier, string, func(), error) {
	fw, err := startTunnel(ctx, r.tunnel(tunnelOptions{
		config: cfg, client: client, namespace: ns, team: team, address: "127.0.0.1", ports: []int{0},
		wait: how.wait, log: how.log,
	}))
	if err != nil {
		return nil, "", nil, err
	}
	// The answers cross the same link as the API server's: the kubeconfig's disable-compression
	// (or the flag) says whether that link is fast enough to skip gzip.
	c, err := p.routeClient(r, fw.URL(), nil, cfg.DisableCompression)
	if err != nil {
		_ = fw.Close()
		return nil, "", nil, err
	}
	target := fmt.Sprintf("%s/%s via port-forward %s", ns, r.serviceName(team), fw.Addr())
	return &tunnelQuerier{Client: c, fw: fw, team: team, what: r.what()}, target, func() { _ = fw.Close() }, nil
}

// connectProxy queries team's Prometheus, or the Thanos Query r leads to, through the API
// server's service proxy.
func (p *PrometheusFlags) connectProxy(ctx context.Context, r route, ns string, cfg *rest.Config, client kubernetes.Interface, team string, _ reach) (traffic.Querier, string, func(), error) {
	base, rt, err := routeProxy(ctx, r, cfg, client, ns, team)
	if err != nil {
		return nil, "", nil, err
	}
	c, err := p.routeClient(r, base, rt, false)
	if err != nil {
		return nil, "", nil, err
	}
	return c, fmt.Sprintf("%s/%s via the API server's service proxy", ns, r.serviceName(team)), func() {}, nil
}

// routeProxy is serviceProxy for the backend r leads to.
func routeProxy(ctx context.Context, r route, cfg *rest.Config, client kubernetes.Interface, ns, team string) (string, http.RoundTripper, error) {
	if r.backend != backendThanosQuery {
		return serviceProxy(ctx, cfg, client, ns, team)
	}
	if _, err := portforward.FindNamedService(ctx, client, ns, r.service); err != nil {
		return "", nil, explainKube(cfg, err)
	}
	if err := portforward.Check(ctx, client, r.proxyRequirement(ns, team)); err != nil {
		return "", nil, explainKube(cfg, err)
	}
	base, err := portforward.ServiceProxyURLOfPort(cfg, ns, r.service, manifests.ThanosHTTPPortName)
	if err != nil {
		return "", nil, err
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return "", nil, err
	}
	return base, rt, nil
}

// serviceProxy checks that team's stack exists and that the user may use the service proxy, and
// returns the base URL of team's Prometheus through it and the transport to use.
func serviceProxy(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, ns, team string) (string, http.RoundTripper, error) {
	if _, err := portforward.FindService(ctx, client, ns, team); err != nil {
		return "", nil, explainKube(cfg, err)
	}
	return proxyThrough(ctx, cfg, client, portforward.ServiceProxyRequirement(ns, team), ns, manifests.ServiceName(team))
}

// proxyThrough checks that the user holds what req needs and returns the base URL of the web
// port of Service ns/service through the API server's service proxy and the transport to use.
func proxyThrough(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, req portforward.Requirement, ns, service string) (string, http.RoundTripper, error) {
	if err := portforward.Check(ctx, client, req); err != nil {
		return "", nil, explainKube(cfg, err)
	}
	base, err := portforward.ServiceProxyURLOf(cfg, ns, service)
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
	// service and purpose, when set, name another Service of the stack than the team's
	// Prometheus (its Alertmanager) and what the tunnel is for.
	service, purpose string
	// portName is the Service port to forward to; empty means the web port.
	portName string
	address  string
	ports    []int
	// wait is how long Start waits for a ready pod; 0 gives up at once.
	wait time.Duration
	// log receives the tunnel's state lines while it connects; with logAlways, for its whole life.
	log       io.Writer
	logAlways bool
}

// startTunnel checks the user's permissions, binds the local port and connects to team's
// Prometheus; the tunnel then runs until ctx ends or it is closed.
func startTunnel(ctx context.Context, o tunnelOptions) (*portforward.Forwarder, error) {
	req := portforward.PortForwardRequirement(o.namespace, o.team)
	if o.service != "" {
		req = portforward.PortForwardTo(o.namespace, o.purpose)
	}
	if err := portforward.Check(ctx, o.client, req); err != nil {
		return nil, explainKube(o.config, err)
	}
	dialer, err := portforward.NewKubeDialer(o.config)
	if err != nil {
		return nil, err
	}
	started := make(chan struct{})
	fw, err := portforward.Listen(portforward.Config{
		Client: o.client, Dialer: dialer, Namespace: o.namespace, Team: o.team, Service: o.service, Purpose: o.purpose, PortName: o.portName,
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
	// what is what the tunnel reaches: Prometheus or Thanos Query.
	what string
}

// Query implements traffic.Querier.
func (t *tunnelQuerier) Query(ctx context.Context, query string, at time.Time) (traffic.Result, error) {
	r, err := t.Client.Query(ctx, query, at)
	if err != nil {
		if s := t.fw.State(); s.Phase != portforward.Ready {
			return r, &tunnelError{team: t.team, what: t.what, state: s, err: err}
		}
	}
	return r, err
}

// tunnelError is a query that failed while the tunnel was down.
type tunnelError struct {
	team  string
	what  string
	state portforward.State
	err   error
}

func (e *tunnelError) Error() string {
	what := e.what
	if what == "" {
		what = "Prometheus"
	}
	return fmt.Sprintf("port-forward to team %s's %s: %s", e.team, what, e.state)
}

func (e *tunnelError) Unwrap() error { return e.err }
