package portforward

import (
	"context"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// FindService reads the Service of team's Prometheus in namespace; a missing one is a
// [*NoStackError].
func FindService(ctx context.Context, client kubernetes.Interface, namespace, team string) (*corev1.Service, error) {
	return getService(ctx, client, namespace, team, "")
}

// FindNamedService reads the Service name in namespace, which must select pods.
func FindNamedService(ctx context.Context, client kubernetes.Interface, namespace, name string) (*corev1.Service, error) {
	return getService(ctx, client, namespace, "", name)
}

// ServiceProxyURL is the base URL of team's Prometheus through the API server's service proxy:
// …/api/v1/namespaces/NAMESPACE/services/prometheus-TEAM:web/proxy. Requests need the
// transport of config (rest.TransportFor) and get, or for POST create, on services/proxy.
func ServiceProxyURL(config *rest.Config, namespace, team string) (string, error) {
	return ServiceProxyURLOf(config, namespace, manifests.ServiceName(team))
}

// ServiceProxyURLOf is the base URL of the Service name's web port through the API server's
// service proxy: …/api/v1/namespaces/NAMESPACE/services/NAME:web/proxy.
func ServiceProxyURLOf(config *rest.Config, namespace, name string) (string, error) {
	return ServiceProxyURLOfPort(config, namespace, name, manifests.WebPortName)
}

// ServiceProxyURLOfPort is the base URL of the Service name's port named port through the API
// server's service proxy: …/api/v1/namespaces/NAMESPACE/services/NAME:PORT/proxy.
func ServiceProxyURLOfPort(config *rest.Config, namespace, name, port string) (string, error) {
	base, _, err := rest.DefaultServerUrlFor(config)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(base.String(), "/") + "/api/v1/namespaces/" + url.PathEscape(namespace) +
		"/services/" + url.PathEscape(name) + ":" + url.PathEscape(port) + "/proxy", nil
}
