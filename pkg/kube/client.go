// Package kube is kubectl-promteam's stack management against a cluster, and the permission
// questions every command asks it.
//
// A [Client] applies a team's stack with server-side apply (and dry runs of it), checks
// beforehand with [Client.Preflight] that the user may apply it ([Remedy] gives the kubectl
// commands that grant what is missing), diffs it against what is live, finds and deletes a team's objects and lists
// the stacks of a namespace or the cluster. It handles the stack's objects as unstructured maps
// and maps kinds to resources through discovery, so it works with whatever manifests.Build
// emits; namespaces and reviews go through the typed client.
//
// [CanI], [CanServiceAccount] and [WhoAmI] are the one place the plugin asks the API server what
// the user or a ServiceAccount may do and who the user is; preflight, port-forward (pkg/portforward)
// and doctor (pkg/doctor/kubecluster) all ask through them.
//
// Errors are one line a user can act on ([Explain]): an unreachable API server is an
// [*UnreachableError], refused credentials a [*CredentialError], an unverifiable certificate a
// [*CertificateError], missing Prometheus Operator CRDs a [*NoOperatorCRDsError] (matching
// [ErrNoOperatorCRDs]), an apply conflict a [*ConflictError]; RBAC denials are the API server's
// own message, which names the user, verb and resource.
package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// FieldManager is the server-side apply field manager of every object the plugin applies.
const FieldManager = "kubectl-promteam"

// operatorGroup is the API group of the Prometheus Operator's custom resources.
const operatorGroup = "monitoring.coreos.com"

// Rate limits of the clients when the kubeconfig sets none: an apply makes two requests per
// object and a preflight one per permission, which client-go's defaults (5/s) would slow down.
const (
	defaultQPS   = 50
	defaultBurst = 100
)

// Client talks to one cluster as one user.
type Client struct {
	dynamic dynamic.Interface
	mapper  meta.RESTMapper
	typed   kubernetes.Interface
	server  string

	// fallbackUser names the user when the API server cannot say who it is: the impersonated
	// user or the kubeconfig's user entry.
	fallbackUser string

	userOnce sync.Once
	user     string
	userErr  error
}

// NewClient builds the clients for the cluster and user getter selects (a kubeconfig, a
// context, --as and so on). It does not contact the API server.
func NewClient(getter genericclioptions.RESTClientGetter) (*Client, error) {
	config, err := getter.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot read the kubeconfig: %w", err)
	}
	config = rest.CopyConfig(config)
	if config.QPS == 0 {
		config.QPS = defaultQPS
	}
	if config.Burst == 0 {
		config.Burst = defaultBurst
	}
	mapper, err := getter.ToRESTMapper()
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	typed, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	c := &Client{dynamic: dyn, mapper: mapper, typed: typed, server: config.Host}
	switch {
	case config.Impersonate.UserName != "":
		c.fallbackUser = config.Impersonate.UserName
	default:
		if raw, err := getter.ToRawKubeConfigLoader().RawConfig(); err == nil {
			if ctx, ok := raw.Contexts[raw.CurrentContext]; ok {
				c.fallbackUser = ctx.AuthInfo
			}
		}
	}
	return c, nil
}

// Server returns the URL of the API server.
func (c *Client) Server() string { return c.server }

// User returns the name the API server knows the user by, as `kubectl auth whoami` prints it.
// When the server cannot tell (SelfSubjectReview is served from Kubernetes 1.28 on), it falls
// back to the impersonated user or the kubeconfig's user entry.
func (c *Client) User(ctx context.Context) (string, error) {
	c.userOnce.Do(func() {
		name, err := WhoAmI(ctx, c.typed)
		switch {
		case err == nil && name != "":
			c.user = name
		case c.fallbackUser != "" && (err == nil || apierrors.IsForbidden(err)):
			c.user = c.fallbackUser
		case err != nil:
			c.userErr = c.explain(err)
		default:
			c.userErr = errors.New("the API server did not say who the current user is")
		}
	})
	return c.user, c.userErr
}

// ErrNoOperatorCRDs matches, with errors.Is, every error saying the Prometheus Operator's CRDs
// are missing.
var ErrNoOperatorCRDs = errors.New("the Prometheus Operator CRDs are not installed")

// NoOperatorCRDsError says the cluster does not serve a kind or resource of the Prometheus
// Operator.
type NoOperatorCRDsError struct {
	Server string
	What   string // e.g. "monitoring.coreos.com/v1 Prometheus" or "prometheuses.monitoring.coreos.com"
}

func (e *NoOperatorCRDsError) Error() string {
	return fmt.Sprintf("the Prometheus Operator CRDs are not installed in the cluster at %s (it does not serve %s); ask cluster admins to install the operator",
		e.Server, e.What)
}

// Is makes errors.Is(err, ErrNoOperatorCRDs) true.
func (e *NoOperatorCRDsError) Is(target error) bool { return target == ErrNoOperatorCRDs }

// IsNoOperatorCRDs reports whether err says the Prometheus Operator's CRDs are missing.
func IsNoOperatorCRDs(err error) bool { return errors.Is(err, ErrNoOperatorCRDs) }

// UnreachableError says the API server could not be reached at all.
type UnreachableError struct {
	Server string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Kubernetes API at %s: %s", e.Server, reason(e.Err))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// IsUnreachable reports whether err says the API server could not be reached.
func IsUnreachable(err error) bool {
	var u *UnreachableError
	return errors.As(err, &u)
}

// reason is the shortest text that still says why a connection failed.
func reason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Error()
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timed out"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err.Error()
	}
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err.Error()
	}
	return err.Error()
}

// NamespaceMissingError says an object's namespace does not exist.
type NamespaceMissingError struct {
	Namespace string
}

func (e *NamespaceMissingError) Error() string {
	return fmt.Sprintf("namespace %q does not exist; create it first or use --create-namespace", e.Namespace)
}

// explain is [Explain] for this client's API server.
func (c *Client) explain(err error) error { return Explain(c.server, err) }

// notServed reports, as an error, that the cluster does not serve what (a kind or resource of
// group), when err says so: a kind missing from discovery, or a 404 without object details on
// a resource path.
func (c *Client) notServed(err error, group, what string) error {
	missing := meta.IsNoMatchError(err)
	if !missing && apierrors.IsNotFound(err) {
		var status apierrors.APIStatus
		if errors.As(err, &status) {
			d := status.Status().Details
			missing = d == nil || (d.Name == "" && d.Kind == "")
		}
	}
	if !missing {
		return nil
	}
	if group == operatorGroup {
		return &NoOperatorCRDsError{Server: c.server, What: what}
	}
	return fmt.Errorf("the cluster at %s does not serve %s", c.server, what)
}
