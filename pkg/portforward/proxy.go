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
	return getService(ctx, client, namespace, team)
}

// ServiceProxyURL is the base URL of team's Prometheus through the API server's service proxy:
// …/api/v1/namespaces/NAMESPACE/services/prometheus-TEAM:web/proxy. Requests need the
// transport of config (rest.TransportFor) and get, or for POST create, on services/proxy.
func ServiceProxyURL(config *rest.Config, namespace, team string) (string, error) {
	base, _, err := rest.DefaultServerUrlFor(config)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(base.String(), "/") + "/api/v1/namespaces/" + url.PathEscape(namespace) +
		"/services/" + url.PathEscape(manifests.ServiceName(team)) + ":" + manifests.WebPortName + "/proxy", nil
}
