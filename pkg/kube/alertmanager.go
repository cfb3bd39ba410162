package kube

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// Alertmanager is what a team's stack needs to know of an Alertmanager resource the platform
// runs: which AlertmanagerConfigs it reads and where it listens.
type Alertmanager struct {
	Namespace, Name string
	// ConfigSelector selects the AlertmanagerConfigs it reads; nil selects none.
	ConfigSelector *metav1.LabelSelector
	// ConfigNamespaceSelector selects the namespaces it reads them from; nil means its own only.
	ConfigNamespaceSelector *metav1.LabelSelector
	// MatcherStrategy is how the operator scopes each AlertmanagerConfig's routes
	// (OnNamespace when unset).
	MatcherStrategy string
	Version         string
	// Services in front of its pods with a port named web, the operator's alertmanager-operated
	// (which selects every Alertmanager of the namespace) last.
	Services []string
}

// alertmanagerGVR is the Prometheus Operator's Alertmanager resource.
var alertmanagerGVR = schema.GroupVersionResource{Group: operatorGroup, Version: "v1", Resource: "alertmanagers"}

// operatedAlertmanagerService is the Service the operator puts in front of every Alertmanager pod
// of a namespace.
const operatedAlertmanagerService = "alertmanager-operated"

// Alertmanager reads the Alertmanager resource namespace/name and the Services that reach it.
func (c *Client) Alertmanager(ctx context.Context, namespace, name string) (Alertmanager, error) {
	obj, err := c.dynamic.Resource(alertmanagerGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if missing := c.notServed(err, operatorGroup, "Alertmanager"); missing != nil {
			return Alertmanager{}, missing
		}
		if apierrors.IsNotFound(err) {
			return Alertmanager{}, fmt.Errorf("no Alertmanager %s in namespace %s (kubectl get alertmanagers -A lists them)", name, namespace)
		}
		return Alertmanager{}, c.explain(err)
	}
	var am monitoringv1.Alertmanager
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &am); err != nil {
		return Alertmanager{}, fmt.Errorf("Alertmanager %s/%s: %w", namespace, name, err)
	}
	out := Alertmanager{
		Namespace: namespace, Name: name,
		ConfigSelector:          am.Spec.AlertmanagerConfigSelector,
		ConfigNamespaceSelector: am.Spec.AlertmanagerConfigNamespaceSelector,
		MatcherStrategy:         string(am.Spec.AlertmanagerConfigMatcherStrategy.Type),
		Version:                 am.Spec.Version,
	}
	if out.MatcherStrategy == "" {
		out.MatcherStrategy = string(monitoringv1.OnNamespaceConfigMatcherStrategyType)
	}
	services, err := c.typed.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return Alertmanager{}, c.explain(err)
	}
	// The labels the operator puts on the Alertmanager's pods.
	pod := labels.Set{"app.kubernetes.io/name": "alertmanager", "alertmanager": name}
	for _, svc := range services.Items {
		web := slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "web" })
		if web && len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(pod) {
			out.Services = append(out.Services, svc.Name)
		}
	}
	slices.SortFunc(out.Services, func(a, b string) int {
		if (a == operatedAlertmanagerService) != (b == operatedAlertmanagerService) {
			if a == operatedAlertmanagerService {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	return out, nil
}

// NamespaceLabels returns the labels of a namespace.
func (c *Client) NamespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	ns, err := c.typed.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, c.explain(err)
	}
	return ns.Labels, nil
}

// SecretKeyMissing reports whether namespace/name lacks key: the Secret does not exist or has no
// such key. It reads the Secret's keys only through the API server's answer, and returns them to
// no one.
func (c *Client) SecretKeyMissing(ctx context.Context, namespace, name, key string) (bool, error) {
	s, err := c.typed.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, c.explain(err)
	}
	_, ok := s.Data[key]
	if !ok {
		_, ok = s.StringData[key]
	}
	return !ok, nil
}

// ErrNoAlertmanager: the team's stack sends its alerts to no Alertmanager.
var ErrNoAlertmanager = errors.New("the stack sends its alerts to no Alertmanager")

// TeamAlertmanagerRef names the Alertmanager resource team's stack in namespace sends its alerts to,
// as its Prometheus records it (annotation promteam.io/alertmanager): the team's own, named like
// the team in its namespace, or the platform's NAMESPACE/NAME. It returns ErrNoAlertmanager when
// the stack has none.
func (c *Client) TeamAlertmanagerRef(ctx context.Context, team, namespace string) (amNamespace, amName string, err error) {
	proms, _, err := c.list(ctx, prometheusKind(), namespace, manifests.TeamSelector(team))
	if err != nil {
		return "", "", err
	}
	if len(proms) == 0 {
		return "", "", fmt.Errorf("no stack for team %s in namespace %s (kubectl promteam list -A lists them)", team, namespace)
	}
	switch where := proms[0].GetAnnotations()[manifests.AnnotationAlertmanager]; {
	case where == manifests.AlertmanagerOwn:
		return namespace, team, nil
	case strings.Contains(where, "/"):
		ns, name, _ := strings.Cut(where, "/")
		return ns, name, nil
	}
	return "", "", ErrNoAlertmanager
}

// The Secret in which the operator stores the configuration it generates for an Alertmanager
// (pkg/alertmanager/statefulset.go: generatedConfigSecretName, alertmanagerConfigFileCompressed).
const (
	generatedConfigKey      = "alertmanager.yaml.gz"
	generatedConfigPlainKey = "alertmanager.yaml" // operators before v0.55
	// maxGeneratedSecret caps the compressed configuration; a Secret holds at most 1 MiB.
	maxGeneratedSecret = 1 << 20
)

// GeneratedConfigSecret is the Secret the operator writes the configuration of Alertmanager name
// into, in the Alertmanager's namespace.
func GeneratedConfigSecret(name string) string { return "alertmanager-" + name + "-generated" }

// GeneratedAlertmanagerConfig reads the configuration the operator generated for Alertmanager
// namespace/name from every AlertmanagerConfig it selects, gunzipped, at most maxSize bytes.
func (c *Client) GeneratedAlertmanagerConfig(ctx context.Context, namespace, name string, maxSize int64) ([]byte, error) {
	secret := GeneratedConfigSecret(name)
	s, err := c.typed.CoreV1().Secrets(namespace).Get(ctx, secret, metav1.GetOptions{})
	switch {
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("cannot read the configuration the operator generated for Alertmanager %s/%s: reading Secret %s needs permission to get secrets in namespace %s (kubectl auth can-i get secrets -n %s); ask for it, or test a saved configuration with --config-file",
			namespace, name, secret, namespace, namespace)
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("the operator has generated no configuration for Alertmanager %s/%s (no Secret %s in namespace %s): is the Alertmanager there and the operator running?",
			namespace, name, secret, namespace)
	case err != nil:
		return nil, c.explain(err)
	}
	if raw, ok := s.Data[generatedConfigKey]; ok {
		if len(raw) > maxGeneratedSecret {
			return nil, fmt.Errorf("the Secret %s/%s: key %s is larger than %d KiB", namespace, secret, generatedConfigKey, maxGeneratedSecret>>10)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("the Secret %s/%s: key %s is not gzip: %w", namespace, secret, generatedConfigKey, err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxSize+1))
		if err != nil {
			return nil, fmt.Errorf("the Secret %s/%s: key %s: %w", namespace, secret, generatedConfigKey, err)
		}
		if int64(len(out)) > maxSize {
			return nil, fmt.Errorf("the Secret %s/%s: the configuration in key %s is larger than %d MiB", namespace, secret, generatedConfigKey, maxSize>>20)
		}
		return out, nil
	}
	if raw, ok := s.Data[generatedConfigPlainKey]; ok {
		if int64(len(raw)) > maxSize {
			return nil, fmt.Errorf("the Secret %s/%s: key %s is larger than %d MiB", namespace, secret, generatedConfigPlainKey, maxSize>>20)
		}
		return raw, nil
	}
	return nil, fmt.Errorf("the Secret %s/%s has no key %s", namespace, secret, generatedConfigKey)
}

// TeamAlertmanager is where a team's stack sends its alerts: the Alertmanager resource and the
// Service in front of its pods with a port named web.
type TeamAlertmanager struct {
	Namespace, Name, Service string
	// Own is true for the team's own Alertmanager (--alertmanager own), false for a shared one.
	Own bool
}

// NoAlertmanagerError says a team's stack sends its alerts to no Alertmanager.
type NoAlertmanagerError struct {
	Team, Namespace string
}

func (e *NoAlertmanagerError) Error() string {
	return fmt.Sprintf("team %s's stack in namespace %s sends its alerts to no Alertmanager; kubectl promteam create %s -n %s --alertmanager own --apply gives it one",
		e.Team, e.Namespace, e.Team, e.Namespace)
}

// FindTeamAlertmanager reads where team's Prometheus in namespace sends its alerts (its
// promteam.io/alertmanager annotation): own is the Alertmanager named like the team in its
// namespace, behind the Service alertmanager-TEAM; NAMESPACE/NAME a shared one, behind the first
// of its Services with a web port. A missing stack is an error naming the namespace.
func (c *Client) FindTeamAlertmanager(ctx context.Context, team, namespace string) (TeamAlertmanager, error) {
	obj, err := c.dynamic.Resource(prometheusKind().GroupVersionResource).Namespace(namespace).Get(ctx, team, metav1.GetOptions{})
	if err != nil {
		if missing := c.notServed(err, operatorGroup, "Prometheus"); missing != nil {
			return TeamAlertmanager{}, missing
		}
		if apierrors.IsNotFound(err) {
			return TeamAlertmanager{}, fmt.Errorf("no promteam stack named %s in namespace %s (kubectl promteam list -A lists them)", team, namespace)
		}
		return TeamAlertmanager{}, c.explain(err)
	}
	where := obj.GetAnnotations()[manifests.AnnotationAlertmanager]
	if where == manifests.AlertmanagerOwn {
		return TeamAlertmanager{Namespace: namespace, Name: team, Service: manifests.AlertmanagerServiceName(team), Own: true}, nil
	}
	amNamespace, name, shared := strings.Cut(where, "/")
	if !shared || amNamespace == "" || name == "" {
		return TeamAlertmanager{}, &NoAlertmanagerError{Team: team, Namespace: namespace}
	}
	am, err := c.Alertmanager(ctx, amNamespace, name)
	if err != nil {
		return TeamAlertmanager{}, err
	}
	if len(am.Services) == 0 {
		return TeamAlertmanager{}, fmt.Errorf("no Service in namespace %s leads to the pods of Alertmanager %s with a port named web", amNamespace, name)
	}
	return TeamAlertmanager{Namespace: amNamespace, Name: name, Service: am.Services[0]}, nil
}
