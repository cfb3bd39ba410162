package prom

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"golang.org/x/net/http/httpguts"
)

// maxHeaderBytes bounds the headers a Config adds to every request.
const maxHeaderBytes = 16 << 10

// Headers a Config refuses to add: credentials (which belong in BearerTokenFile, read from a
// file, not on a command line where shell history and ps show them), the Host (which the URL
// names) and the ones the client sets itself.
var (
	credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie"}
	clientHeaders     = []string{"Host", "Content-Type", "Content-Length", "Transfer-Encoding", "Connection", "User-Agent", "Accept-Encoding", "Idempotency-Key"}
)

// IsCredentialHeader reports whether name is a header that carries credentials, which a Config
// refuses among its Headers.
func IsCredentialHeader(name string) bool {
	return slices.Contains(credentialHeaders, http.CanonicalHeaderKey(name))
}

// CheckHeader says why a header cannot be among a Config's Headers, or nil when it can.
func CheckHeader(name, value string) error {
	canonical := http.CanonicalHeaderKey(name)
	switch {
	case !httpguts.ValidHeaderFieldName(name):
		return fmt.Errorf("%q is not a header name; use letters, digits and - such as X-Scope-OrgID", name)
	case IsCredentialHeader(name):
		return fmt.Errorf("%s carries credentials; give a bearer token as a file instead", canonical)
	case canonical == "Host":
		return errors.New("the Host comes from the URL; put the host name in the URL")
	case slices.Contains(clientHeaders, canonical):
		return fmt.Errorf("the client sets %s itself", canonical)
	case !httpguts.ValidHeaderFieldValue(value):
		return fmt.Errorf("the value of %s holds characters a header cannot carry", canonical)
	}
	return nil
}

// checkHeaders checks every header of h and their size together.
func checkHeaders(server string, h http.Header) error {
	size := 0
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			if err := CheckHeader(name, v); err != nil {
				return &ConfigError{Server: server, Field: "Headers", Value: name, Err: err}
			}
			size += len(name) + len(v)
		}
	}
	if size > maxHeaderBytes {
		return &ConfigError{Server: server, Field: "Headers", Value: fmt.Sprintf("%d bytes", size), Err: fmt.Errorf("more than %s of headers", FormatBytes(maxHeaderBytes))}
	}
	return nil
}

// headers adds fixed headers (a tenant's X-Scope-OrgID, say) to requests for the configured
// origin only. They are added on every hop rather than set on the first request, which net/http
// would copy onto a redirect to any host: a redirect to another origin carries none of them.
type headers struct {
	origin string
	h      http.Header
	next   http.RoundTripper
}

func (x *headers) RoundTrip(r *http.Request) (*http.Response, error) {
	if origin(r.URL) != x.origin {
		return x.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	for name, values := range x.h {
		r.Header[http.CanonicalHeaderKey(name)] = append([]string(nil), values...)
	}
	return x.next.RoundTrip(r)
}
