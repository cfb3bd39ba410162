package plugin

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
)

// endpointFlags name a server by URL and say how to connect to it: --P-url,
// --P-bearer-token-file, --P-ca-file and --P-insecure-skip-tls-verify for a prefix P
// (prometheus, alertmanager), so that none shadows one of kubectl's (--insecure-skip-tls-verify,
// --certificate-authority, --token), which keep applying to the API server. Without the URL,
// the server is the team's, reached in the cluster by port-forward or (--via-proxy) the API
// server's service proxy, and the TLS and token flags do not apply.
type endpointFlags struct {
	prefix  string // prometheus, alertmanager
	server  string // Prometheus, Alertmanager
	example string // an example URL
	// proxyVerbs are the verbs on services/proxy the commands need through the service proxy.
	proxyVerbs string

	URL                   string
	BearerTokenFile       string
	CAFile                string
	InsecureSkipTLSVerify bool
	ViaProxy              bool
}

func (e *endpointFlags) flagURL() string      { return e.prefix + "-url" }
func (e *endpointFlags) flagToken() string    { return e.prefix + "-bearer-token-file" }
func (e *endpointFlags) flagCA() string       { return e.prefix + "-ca-file" }
func (e *endpointFlags) flagInsecure() string { return e.prefix + "-insecure-skip-tls-verify" }

// add binds the flags; urlHelp says what the URL is for.
func (e *endpointFlags) add(fs *pflag.FlagSet, urlHelp string) {
	fs.StringVar(&e.URL, e.flagURL(), e.URL, urlHelp)
	fs.BoolVar(&e.ViaProxy, "via-proxy", e.ViaProxy, fmt.Sprintf("Reach TEAM's %s through the API server's service proxy instead of a port-forward (needs %s on services/proxy)", e.server, e.proxyVerbs))
	fs.StringVar(&e.BearerTokenFile, e.flagToken(), e.BearerTokenFile, "File holding a bearer token for --"+e.flagURL()+", read on every request")
	fs.StringVar(&e.CAFile, e.flagCA(), e.CAFile, "PEM file of the CA that signed the certificate of --"+e.flagURL())
	fs.BoolVar(&e.InsecureSkipTLSVerify, e.flagInsecure(), e.InsecureSkipTLSVerify, "Do not verify the certificate of --"+e.flagURL()+" (--insecure-skip-tls-verify is kubectl's, for the API server)")
}

// validate checks --via-proxy against the URL, and that the TLS and token flags, which only a
// URL uses, come with one.
func (e *endpointFlags) validate() error {
	if e.ViaProxy && e.URL != "" {
		return flagError("via-proxy", "true", fmt.Errorf("--%s names %s directly; use one of the two", e.flagURL(), e.server))
	}
	if e.URL != "" {
		return nil
	}
	for _, f := range []struct{ name, value string }{
		{e.flagToken(), e.BearerTokenFile},
		{e.flagCA(), e.CAFile},
		{e.flagInsecure(), strconv.FormatBool(e.InsecureSkipTLSVerify)},
	} {
		if f.value != "" && f.value != "false" {
			return flagError(f.name, f.value, fmt.Errorf("it applies to --%s only (a port-forward or the service proxy needs none); add --%s https://HOST:PORT or drop --%s", e.flagURL(), e.flagURL(), f.name))
		}
	}
	return nil
}

// config is the client configuration of the URL and its TLS and token flags.
func (e *endpointFlags) config() prom.Config {
	return prom.Config{
		URL: e.URL, BearerTokenFile: e.BearerTokenFile, CAFile: e.CAFile,
		InsecureSkipTLSVerify: e.InsecureSkipTLSVerify, UserAgent: userAgent(),
	}
}

// flagError names the flag behind a setting a client refused.
func (e *endpointFlags) flagError(err error) error {
	var ce *prom.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	flag := map[string]string{"URL": e.flagURL(), "BearerTokenFile": e.flagToken(), "CAFile": e.flagCA()}[ce.Field]
	if flag == "" {
		return err
	}
	return flagError(flag, ce.Value, ce.Err)
}
