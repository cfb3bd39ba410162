package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/am"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/portforward"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
)

// AlertmanagerFlags say how a command reaches the Alertmanager a team's alerts go to: by team,
// the one its Prometheus names (promteam.io/alertmanager: its own, or a shared one), through a
// port-forward to one of its ready pods (the default) or the API server's service proxy
// (--via-proxy); or --alertmanager-url with its TLS and token flags. Every command that speaks
// to Alertmanager takes these flags and reaches it through an am.Client.
type AlertmanagerFlags struct {
	configFlags *genericclioptions.ConfigFlags
	// errOut receives what the tunnel says while it connects.
	errOut io.Writer

	// endpointFlags are --alertmanager-url, its TLS and token flags, and --via-proxy.
	endpointFlags
	Timeout time.Duration
}

// NewAlertmanagerFlags returns the flags with their defaults.
func NewAlertmanagerFlags(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *AlertmanagerFlags {
	return &AlertmanagerFlags{
		configFlags: configFlags, errOut: streams.ErrOut,
		endpointFlags: endpointFlags{prefix: "alertmanager", server: "Alertmanager", example: "http://localhost:9093", proxyVerbs: "get, create and delete"},
		Timeout:       10 * time.Second,
	}
}

// AddFlags binds the connection flags and --timeout.
func (a *AlertmanagerFlags) AddFlags(fs *pflag.FlagSet) {
	a.add(fs, "Alertmanager to use, e.g. http://localhost:9093; without it the Alertmanager TEAM's Prometheus sends alerts to is reached through a port-forward")
	fs.DurationVar(&a.Timeout, "timeout", a.Timeout, "How long the command may take, waiting for a ready Alertmanager pod included")
}

// Validate checks the flags.
func (a *AlertmanagerFlags) Validate() error {
	if a.Timeout <= 0 {
		return flagError("timeout", a.Timeout.String(), errors.New("use a positive duration, e.g. 10s"))
	}
	return a.validate()
}

// Connect builds the client of team's Alertmanager (namespace is the team's) and names it for
// messages; close releases what it holds (the tunnel).
func (a *AlertmanagerFlags) Connect(ctx context.Context, team, namespace string) (c *am.Client, target string, close func(), err error) {
	if a.URL != "" {
		cfg := a.config()
		cfg.Timeout = a.Timeout
		c, err := am.New(cfg)
		if err != nil {
			return nil, "", nil, a.flagError(err)
		}
		return c, c.URL(), func() {}, nil
	}
	type conn struct {
		c      *am.Client
		target string
		close  func()
	}
	r, err := bounded(ctx, a.configFlags, a.Timeout+connectGrace, func(ctx context.Context) (conn, error) {
		c, target, closeFn, err := a.connectCluster(ctx, team, namespace)
		return conn{c, target, closeFn}, err
	}, func(c conn) { c.close() })
	if err != nil {
		return nil, "", nil, err
	}
	return r.c, r.target, r.close, nil
}

// connectCluster finds team's Alertmanager and reaches it by tunnel or service proxy.
func (a *AlertmanagerFlags) connectCluster(ctx context.Context, team, namespace string) (*am.Client, string, func(), error) {
	_, cfg, client, err := cluster(a.configFlags)
	if err != nil {
		return nil, "", nil, err
	}
	kc, err := kube.NewClient(a.configFlags)
	if err != nil {
		return nil, "", nil, err
	}
	where, err := kc.FindTeamAlertmanager(ctx, team, namespace)
	if err != nil {
		return nil, "", nil, err
	}
	svc := where.Namespace + "/" + where.Service
	if a.ViaProxy {
		purpose := fmt.Sprintf("reaching team %s's Alertmanager through the API server's service proxy", team)
		base, rt, err := alertmanagerProxy(ctx, cfg, client, where, purpose)
		if err != nil {
			return nil, "", nil, err
		}
		c, err := am.New(prom.Config{URL: base, Transport: rt, Timeout: a.Timeout, UserAgent: userAgent()})
		if err != nil {
			return nil, "", nil, err
		}
		return c, svc + " via the API server's service proxy", func() {}, nil
	}
	fw, err := startTunnel(ctx, tunnelOptions{
		config: cfg, client: client, namespace: where.Namespace, team: team,
		service: where.Service, purpose: fmt.Sprintf("a port-forward to team %s's Alertmanager", team),
		address: "127.0.0.1", ports: []int{0}, wait: a.Timeout, log: a.errOut,
	})
	if err != nil {
		return nil, "", nil, err
	}
	c, err := am.New(prom.Config{URL: fw.URL(), Timeout: a.Timeout, UserAgent: userAgent(), DisableCompression: cfg.DisableCompression})
	if err != nil {
		_ = fw.Close()
		return nil, "", nil, err
	}
	return c, fmt.Sprintf("%s via port-forward %s", svc, fw.Addr()), func() { _ = fw.Close() }, nil
}

// alertmanagerProxy checks that the Alertmanager's Service exists and that the user may use the
// service proxy (get, create and delete: silences are created with POST and expired with
// DELETE), and returns the base URL through it and the transport to use.
func alertmanagerProxy(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, where kube.TeamAlertmanager, purpose string) (string, http.RoundTripper, error) {
	if _, err := portforward.FindNamedService(ctx, client, where.Namespace, where.Service); err != nil {
		return "", nil, explainKube(cfg, err)
	}
	req := portforward.ServiceProxyTo(where.Namespace, purpose)
	req.Permissions = append(req.Permissions, portforward.Permission{Verb: "delete", Resource: "services/proxy", Namespace: where.Namespace})
	return proxyThrough(ctx, cfg, client, req, where.Namespace, where.Service)
}
