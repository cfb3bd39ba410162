package traffic

import (
	"fmt"
	"regexp"
	"strings"
)

// Naming is a controller's scheme for naming Envoy clusters after Kubernetes Services. Names
// cannot contain '_' in Kubernetes, which makes the underscore-separated schemes unambiguous
// once the scheme is known; Contour (namespace first) and Emissary (service first) differ only
// in order, so auto assumes Contour's.
type Naming string

// The naming schemes.
const (
	NamingAuto     Naming = "auto"
	NamingContour  Naming = "contour"
	NamingEmissary Naming = "emissary"
	NamingIstio    Naming = "istio"
	NamingGloo     Naming = "gloo"
	NamingKuma     Naming = "kuma"
	NamingNone     Naming = "none"
)

// NamingNames lists the accepted --naming values.
func NamingNames() string { return "auto, contour, emissary, istio, gloo, kuma, none" }

// ParseNaming accepts a naming scheme name.
func ParseNaming(s string) (Naming, error) {
	switch n := Naming(s); n {
	case NamingAuto, NamingContour, NamingEmissary, NamingIstio, NamingGloo, NamingKuma, NamingNone:
		return n, nil
	}
	return "", fmt.Errorf("unknown naming scheme %q; use one of %s", s, NamingNames())
}

var (
	// outbound|9080|v1|reviews.default.svc.cluster.local, or the bare host.
	istioName = regexp.MustCompile(`^(?:(?:outbound|inbound)\|[0-9]*\|[^|]*\|)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.[a-z0-9.-]+)?$`)
	// <namespace>_<service>_<port>
	contourName = regexp.MustCompile(`^([a-z0-9][-a-z0-9]*)_([a-z0-9][-a-z0-9]*)_([0-9]+)$`)
	// kube-upstream_<upstream>_<upstream namespace>_<service namespace>_<service>_<port>
	glooName = regexp.MustCompile(`^kube-upstream_.+_([a-z0-9][-a-z0-9]*)_([a-z0-9][-a-z0-9]*)_([0-9]+)$`)
	// <service>_<namespace>_svc_<port>, optionally -<hash>
	kumaName = regexp.MustCompile(`^([a-z0-9][-a-z0-9]*)_([a-z0-9][-a-z0-9]*)_svc_([0-9]+)(-[0-9a-f]+)?$`)
	// httproute/<namespace>/<route>/rule/<n> (Envoy Gateway): the route, not a Service; without
	// the rule, the route's group of clusters (see Route)
	gatewayName = gatewayRoute
)

// Service maps a cluster name to the namespace and Service it reaches, where the scheme allows.
func (n Naming) Service(cluster string) (namespace, service string, ok bool) {
	try := func(re *regexp.Regexp, nsGroup, svcGroup int) bool {
		m := re.FindStringSubmatch(cluster)
		if m == nil {
			return false
		}
		namespace, service = m[nsGroup], m[svcGroup]
		return true
	}
	switch n {
	case NamingNone:
		return "", "", false
	case NamingIstio:
		ok = try(istioName, 3, 1)
	case NamingContour:
		ok = try(contourName, 1, 2)
	case NamingEmissary:
		ok = try(contourName, 2, 1)
	case NamingGloo:
		ok = try(glooName, 1, 2)
	case NamingKuma:
		ok = try(kumaName, 2, 1)
	default:
		// The unambiguous shapes first.
		ok = try(istioName, 3, 1) || try(glooName, 1, 2) || try(kumaName, 2, 1) ||
			try(gatewayName, 2, 3) || try(contourName, 1, 2)
	}
	if !ok {
		return "", "", false
	}
	return namespace, strings.TrimSuffix(service, "."), true
}
