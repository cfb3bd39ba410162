package plugin

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/demo"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// PrometheusFlags say how a command reaches a Prometheus: a URL, the in-process demo, or (by
// team name) the team's Prometheus inside the cluster.
type PrometheusFlags struct {
	configFlags *genericclioptions.ConfigFlags

	URL                   string
	BearerTokenFile       string
	CAFile                string
	InsecureSkipTLSVerify bool
	Timeout               time.Duration
	Demo                  bool
}

// NewPrometheusFlags returns the flags with their defaults.
func NewPrometheusFlags(configFlags *genericclioptions.ConfigFlags) *PrometheusFlags {
	return &PrometheusFlags{configFlags: configFlags, Timeout: 10 * time.Second}
}

// AddFlags binds the flags; demo adds --demo.
func (p *PrometheusFlags) AddFlags(fs *pflag.FlagSet, demo bool) {
	fs.StringVar(&p.URL, "prometheus-url", p.URL, "Prometheus to query, e.g. http://localhost:9090 after kubectl port-forward")
	fs.StringVar(&p.BearerTokenFile, "bearer-token-file", p.BearerTokenFile, "File holding a bearer token for Prometheus, read on every request")
	fs.StringVar(&p.CAFile, "ca-file", p.CAFile, "PEM file of the CA that signed Prometheus' certificate")
	fs.BoolVar(&p.InsecureSkipTLSVerify, "insecure-skip-tls-verify", p.InsecureSkipTLSVerify, "Do not verify Prometheus' certificate (here this applies to Prometheus, not the API server)")
	fs.DurationVar(&p.Timeout, "timeout", p.Timeout, "How long one round of queries may take before it counts as failed")
	if demo {
		fs.BoolVar(&p.Demo, "demo", p.Demo, "Use a simulated Envoy fleet, evaluated by the PromQL engine inside the plugin")
	}
}

// Validate checks the flags against the team argument.
func (p *PrometheusFlags) Validate(team string) error {
	switch {
	case p.Timeout <= 0:
		return flagError("timeout", p.Timeout.String(), errors.New("use a positive duration, e.g. 10s"))
	case p.Demo && p.URL != "":
		return flagError("demo", "true", errors.New("--demo simulates its own Prometheus; drop --prometheus-url"))
	case !p.Demo && p.URL == "" && team != "":
		return errors.New("--prometheus-url is required to reach team " + team + "'s Prometheus, e.g. after kubectl port-forward -n NAMESPACE svc/prometheus-" + team + " 9090: --prometheus-url http://localhost:9090")
	case !p.Demo && p.URL == "":
		return errors.New("--prometheus-url is required (or --demo for a simulated fleet), e.g. --prometheus-url http://localhost:9090")
	}
	return nil
}

// Connect builds the Querier and names it for headers; close releases what it holds.
func (p *PrometheusFlags) Connect(_ context.Context, _ string) (q traffic.Querier, target string, close func(), err error) {
	if p.Demo {
		d, err := demo.New(time.Now())
		if err != nil {
			return nil, "", nil, err
		}
		return d, "demo (simulated Envoy fleet)", func() { _ = d.Close() }, nil
	}
	c, err := prom.New(prom.Config{
		URL: p.URL, BearerTokenFile: p.BearerTokenFile, CAFile: p.CAFile,
		InsecureSkipTLSVerify: p.InsecureSkipTLSVerify, Timeout: p.Timeout,
		UserAgent: "kubectl-promteam/" + currentBuild().Version,
	})
	if err != nil {
		return nil, "", nil, flagError("prometheus-url", p.URL, err)
	}
	return c, p.URL, func() {}, nil
}
