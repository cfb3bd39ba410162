package plugin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
)

// The flags that add headers to the requests for a --prometheus-url: a multi-tenant store (Mimir,
// Cortex, a Thanos Query that enforces tenancy) answers only for the tenant a header names.
const (
	flagHeader = "header"
	flagTenant = "tenant"
)

// headerFlags are --header NAME=VALUE (repeatable) and --tenant TENANT, sent to the
// --prometheus-url's origin only.
type headerFlags struct {
	Headers     []string
	Tenant      string
	httpHeaders http.Header
}

func (h *headerFlags) addHeaderFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&h.Headers, flagHeader, h.Headers, "With --prometheus-url: header NAME=VALUE sent with every query to its origin (never on a redirect elsewhere), repeatable; not for credentials, which --"+flagPrometheusToken+" reads from a file")
	fs.StringVar(&h.Tenant, flagTenant, h.Tenant, "With --prometheus-url: the tenant to read from a multi-tenant store (Mimir, Cortex, a Thanos Query enforcing tenancy), sent as header "+manifests.TenantHeader+"; Mimir reads several as a|b")
}

// hideValue is a --header NAME=VALUE as an error may show it: the name only, since any header
// (X-Api-Key, say) may carry a secret.
func hideValue(pair string) string {
	name, _, ok := strings.Cut(pair, "=")
	if !ok {
		return pair
	}
	return strings.TrimSpace(name) + "=…"
}

// parseHeaders checks the header flags and keeps them as headers; they need the URL they go to.
func (h *headerFlags) parseHeaders(url string) error {
	h.httpHeaders = nil
	if url == "" {
		if len(h.Headers) > 0 {
			return flagError(flagHeader, hideValue(h.Headers[0]), errors.New("it applies to --prometheus-url only (a port-forward or the service proxy reaches the team's own Prometheus, which needs none); add --prometheus-url URL or drop --header"))
		}
		if h.Tenant != "" {
			return flagError(flagTenant, h.Tenant, errors.New("it applies to --prometheus-url only (a port-forward or the service proxy reaches the team's own Prometheus, which has no tenants); add --prometheus-url URL or drop --tenant"))
		}
		return nil
	}
	out := http.Header{}
	for _, pair := range h.Headers {
		name, value, ok := strings.Cut(pair, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return flagError(flagHeader, pair, errors.New("use NAME=VALUE, such as "+manifests.TenantHeader+"=team-a"))
		}
		if prom.IsCredentialHeader(name) {
			return flagError(flagHeader, hideValue(pair), fmt.Errorf("%s carries credentials, which a command line shows to shell history and ps; write a bearer token into a file and pass --%s FILE, read on every request",
				http.CanonicalHeaderKey(name), flagPrometheusToken))
		}
		if http.CanonicalHeaderKey(name) == "Host" {
			return flagError(flagHeader, hideValue(pair), errors.New("the Host comes from --prometheus-url; put the host name there, and credentials in --"+flagPrometheusToken))
		}
		if err := prom.CheckHeader(name, value); err != nil {
			return flagError(flagHeader, hideValue(pair), err)
		}
		if out.Get(name) != "" {
			return flagError(flagHeader, hideValue(pair), fmt.Errorf("%s is given twice; give it once", http.CanonicalHeaderKey(name)))
		}
		out.Set(name, value)
	}
	if h.Tenant != "" {
		if out.Get(manifests.TenantHeader) != "" {
			return flagError(flagTenant, h.Tenant, fmt.Errorf("--header sets %s too; use one of the two", manifests.TenantHeader))
		}
		for _, t := range strings.Split(h.Tenant, "|") {
			if _, err := manifests.ParseTenant(t); err != nil {
				return flagError(flagTenant, h.Tenant, err)
			}
		}
		out.Set(manifests.TenantHeader, h.Tenant)
	}
	if len(out) > 0 {
		h.httpHeaders = out
	}
	return nil
}
