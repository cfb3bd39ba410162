package plugin

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/portforward"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// The backends that answer a command's queries, as the JSON outputs name them.
const (
	// backendPrometheus is one Prometheus: a pod of the team's, or --prometheus-url.
	backendPrometheus = traffic.BackendPrometheus
	// backendThanosQuery is the team's Thanos Query, which merges every shard and deduplicates
	// the replicas.
	backendThanosQuery = traffic.BackendThanosQuery
)

// route is where a command reaches a team's stack: one Prometheus pod, or the team's Thanos
// Query.
type route struct {
	backend string
	// service is the Thanos Query's Service, for backendThanosQuery.
	service string
	// warning, when set, says in one line why one Prometheus pod answers though the stack may be
	// sharded; the command prints it once on standard error.
	warning string
}

// partialWarning ends every warning of a route that falls back to one Prometheus pod.
const partialWarning = "querying one Prometheus pod; if the stack is sharded, numbers may be partial (--direct asks for one pod and says nothing)"

// decideRoute picks the route to team's stack in ns from what the API server said: the
// annotations of the team's Prometheus object (or the error reading it), and whether the
// Service the promteam.io/thanos-query annotation names exists (svcErr). With direct the answer
// is always one Prometheus pod, whatever the stack.
func decideRoute(ns, team string, direct bool, annotations map[string]string, getErr, svcErr error) (route, error) {
	direct1 := route{backend: backendPrometheus}
	switch {
	case direct:
		return direct1, nil
	case apierrors.IsNotFound(getErr):
		// No stack, or no operator CRDs: the tunnel to prometheus-TEAM says what is missing.
		return direct1, nil
	case apierrors.IsForbidden(getErr):
		direct1.warning = fmt.Sprintf("cannot read Prometheus %s in namespace %s (forbidden) to find its Thanos Query: %s", team, ns, partialWarning)
		return direct1, nil
	case getErr != nil:
		return route{}, getErr
	}
	svc := annotations[manifests.AnnotationThanosQuery]
	switch {
	case svc == "":
		return direct1, nil
	case len(validation.IsDNS1035Label(svc)) > 0:
		direct1.warning = fmt.Sprintf("Prometheus %s names no valid Thanos Query Service in its %s annotation: %s", team, manifests.AnnotationThanosQuery, partialWarning)
		return direct1, nil
	case apierrors.IsNotFound(svcErr):
		direct1.warning = fmt.Sprintf("Service %s/%s of the team's Thanos Query does not exist: %s", ns, svc, partialWarning)
		return direct1, nil
	}
	// Another error reading the Service (forbidden, say) is for the port-forward or the proxy
	// to name, with the permissions it needs.
	return route{backend: backendThanosQuery, service: svc}, nil
}

// findRoute reads the team's Prometheus object and the Service of its Thanos Query, and picks
// the route (decideRoute).
func findRoute(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, ns, team string, direct bool) (route, error) {
	if direct {
		return decideRoute(ns, team, true, nil, nil, nil)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return route{}, err
	}
	var annotations map[string]string
	obj, getErr := meta.Resource(prometheusResource()).Namespace(ns).Get(ctx, team, metav1.GetOptions{})
	if getErr == nil {
		annotations = obj.GetAnnotations()
	}
	var svcErr error
	if svc := annotations[manifests.AnnotationThanosQuery]; svc != "" && len(validation.IsDNS1035Label(svc)) == 0 {
		_, svcErr = client.CoreV1().Services(ns).Get(ctx, svc, metav1.GetOptions{})
	}
	r, err := decideRoute(ns, team, false, annotations, getErr, svcErr)
	if err != nil {
		return route{}, explainKube(cfg, err)
	}
	return r, nil
}

// prometheusResource is the operator's Prometheus resource.
func prometheusResource() schema.GroupVersionResource {
	for _, k := range manifests.StackKinds {
		if k.Kind == "Prometheus" {
			return k.GroupVersionResource
		}
	}
	panic("manifests.StackKinds lists no Prometheus")
}

// tunnel returns the tunnel options o, changed to lead to the Thanos Query when r goes there.
func (r route) tunnel(o tunnelOptions) tunnelOptions {
	if r.backend == backendThanosQuery {
		o.service, o.portName = r.service, manifests.ThanosHTTPPortName
		o.purpose = "a port-forward to team " + o.team + "'s Thanos Query"
	}
	return o
}

// proxyRequirement is what reaching r's backend through the service proxy needs.
func (r route) proxyRequirement(ns, team string) portforward.Requirement {
	if r.backend == backendThanosQuery {
		return portforward.ServiceProxyTo(ns, "reaching team "+team+"'s Thanos Query through the API server's service proxy")
	}
	return portforward.ServiceProxyRequirement(ns, team)
}

// serviceName is the Service r leads to.
func (r route) serviceName(team string) string {
	if r.backend == backendThanosQuery {
		return r.service
	}
	return manifests.ServiceName(team)
}

// what names r's backend in messages.
func (r route) what() string {
	if r.backend == backendThanosQuery {
		return "Thanos Query"
	}
	return "Prometheus"
}
