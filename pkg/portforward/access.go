package portforward

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// Permission is a verb on a resource in a namespace, such as create pods/portforward.
type Permission = kube.Permission

// Requirement is what one way of reaching Prometheus needs.
type Requirement struct {
	Permissions []Permission
	// Purpose is what the permissions are for, as in "a port-forward to team-a's Prometheus".
	Purpose string
}

// PortForwardRequirement is what a port-forward to team's Prometheus needs: reading the Service,
// listing and watching its pods, and create on pods/portforward. Plain SPDY (a POST) needs
// create; the WebSocket (a GET) needs get and, since Kubernetes 1.35
// (AuthorizePodWebsocketUpgradeCreatePermission), create as well, so create is required and get
// only decides the transport: without it the WebSocket is refused and SPDY is used.
func PortForwardRequirement(namespace, team string) Requirement {
	return PortForwardTo(namespace, "a port-forward to team "+team+"'s Prometheus")
}

// PortForwardTo is what a port-forward to a Service in namespace needs, for purpose: see
// [PortForwardRequirement].
func PortForwardTo(namespace, purpose string) Requirement {
	return Requirement{
		Permissions: []Permission{
			{Verb: "get", Resource: "services", Namespace: namespace},
			{Verb: "list", Resource: "pods", Namespace: namespace},
			{Verb: "watch", Resource: "pods", Namespace: namespace},
			{Verb: "create", Resource: "pods/portforward", Namespace: namespace},
		},
		Purpose: purpose,
	}
}

// ServiceProxyRequirement is what reaching team's Prometheus through the API server's service
// proxy needs: get and create on services/proxy (client_golang POSTs queries and falls back to
// GET only when POST is refused), and get on services.
func ServiceProxyRequirement(namespace, team string) Requirement {
	return ServiceProxyTo(namespace, "reaching team "+team+"'s Prometheus through the API server's service proxy")
}

// ServiceProxyTo is what reaching a Service in namespace through the API server's service proxy
// needs, for purpose: see [ServiceProxyRequirement].
func ServiceProxyTo(namespace, purpose string) Requirement {
	return Requirement{
		Permissions: []Permission{
			{Verb: "get", Resource: "services", Namespace: namespace},
			{Verb: "get", Resource: "services/proxy", Namespace: namespace},
			{Verb: "create", Resource: "services/proxy", Namespace: namespace},
		},
		Purpose: purpose,
	}
}

// PermissionError says the user lacks permissions a way of reaching Prometheus needs. Its text
// lists them and the kubectl commands that grant them.
type PermissionError struct {
	User    string
	Missing []Permission
	Purpose string
}

// MultiLine says the message is several lines by design: the missing permissions and the
// commands that grant them, one per line.
func (e *PermissionError) MultiLine() {}

func (e *PermissionError) Error() string {
	var b strings.Builder
	who := "the current user"
	if e.User != "" {
		who = fmt.Sprintf("user %q", e.User)
	}
	fmt.Fprintf(&b, "%s lacks permissions that %s needs:\n", who, e.Purpose)
	for _, p := range e.Missing {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	b.WriteString("A cluster or namespace admin can grant them with:\n")
	user := e.User
	if user == "" {
		user = "USER"
	}
	for _, cmd := range kube.Remedy(e.Missing, user) {
		fmt.Fprintf(&b, "  %s\n", cmd)
	}
	return strings.TrimRight(b.String(), "\n")
}

// Check asks the API server, with SelfSubjectAccessReviews, whether the user holds what req
// needs, and returns a [*PermissionError] naming what is missing. When the API server does not
// answer reviews (or forbids them), Check returns nil and leaves the verdict to the requests
// themselves.
func Check(ctx context.Context, client kubernetes.Interface, req Requirement) error {
	var missing []Permission
	for _, p := range req.Permissions {
		ok, err := kube.CanI(ctx, client, p, "")
		if kube.IsPermanent(err) && !IsForbidden(err) {
			return err // refused credentials fail every request alike
		}
		if err != nil {
			return nil
		}
		if !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &PermissionError{User: whoAmI(ctx, client), Missing: missing, Purpose: req.Purpose}
}

// whoAmI is the user's name as the API server knows it, or "" when it cannot tell.
func whoAmI(ctx context.Context, client kubernetes.Interface) string {
	name, _ := kube.WhoAmI(ctx, client)
	return name
}

// IsForbidden reports whether err is the API server refusing a request for lack of permission.
func IsForbidden(err error) bool {
	if apierrors.IsForbidden(err) {
		return true
	}
	var d *DialError
	return errors.As(err, &d) && d.Forbidden()
}
