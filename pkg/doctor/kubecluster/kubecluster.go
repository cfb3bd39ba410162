// Package kubecluster reads what the doctor checks from a Kubernetes cluster with client-go: the
// typed client for built-in kinds and reviews, the dynamic client for monitoring.coreos.com
// objects (decoded into the operator's Go types) and the apiextensions client for the CRDs.
package kubecluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// operatorVersionAnnotation is set by prometheus-operator on every CRD it ships.
const operatorVersionAnnotation = "operator.prometheus.io/version"

// The monitoring.coreos.com resources the doctor reads.
var (
	prometheuses    = monitoringv1.SchemeGroupVersion.WithResource(monitoringv1.PrometheusName)
	podMonitors     = monitoringv1.SchemeGroupVersion.WithResource(monitoringv1.PodMonitorName)
	serviceMonitors = monitoringv1.SchemeGroupVersion.WithResource(monitoringv1.ServiceMonitorName)
	prometheusRules = monitoringv1.SchemeGroupVersion.WithResource(monitoringv1.PrometheusRuleName)
	alertmanagers   = monitoringv1.SchemeGroupVersion.WithResource(monitoringv1.AlertmanagerName)
	// alertmanagerConfigs are v1alpha1, the version every operator release serves.
	alertmanagerConfigs = monitoringv1alpha1.SchemeGroupVersion.WithResource(monitoringv1alpha1.AlertmanagerConfigName)
)

// Cluster implements doctor.Cluster.
type Cluster struct {
	kube kubernetes.Interface
	dyn  dynamic.Interface
	ext  apiextensions.Interface
}

var _ doctor.Cluster = (*Cluster)(nil)

// New builds the clients for cfg.
func New(cfg *rest.Config) (*Cluster, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	ext, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apiextensions client: %w", err)
	}
	return &Cluster{kube: kube, dyn: dyn, ext: ext}, nil
}

// ServerVersion implements doctor.Cluster.
func (c *Cluster) ServerVersion(ctx context.Context) (string, error) {
	raw, err := c.kube.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", err
	}
	var info version.Info
	if err := json.Unmarshal(raw, &info); err != nil {
		return "", fmt.Errorf("decode /version: %w", err)
	}
	return info.GitVersion, nil
}

// User implements doctor.Cluster with a SelfSubjectReview; servers without that API give "".
func (c *Cluster) User(ctx context.Context) (string, error) {
	return kube.WhoAmI(ctx, c.kube)
}

// OperatorCRDs implements doctor.Cluster. It reads the CRDs when the caller may list them, and
// falls back to discovery of monitoring.coreos.com/v1 (which every authenticated user may read)
// when it may not; the operator version is then unknown.
func (c *Cluster) OperatorCRDs(ctx context.Context) ([]doctor.CRD, error) {
	list, err := c.ext.ApiextensionsV1().CustomResourceDefinitions().List(ctx, metav1.ListOptions{})
	if err == nil {
		var out []doctor.CRD
		for _, crd := range list.Items {
			if crd.Spec.Group != monitoringv1.SchemeGroupVersion.Group {
				continue
			}
			d := doctor.CRD{Name: crd.Name, Version: crd.Annotations[operatorVersionAnnotation]}
			if established(crd) {
				for _, v := range crd.Spec.Versions {
					if v.Served {
						d.Served = append(d.Served, v.Name)
					}
				}
			}
			out = append(out, d)
		}
		return out, nil
	}
	if !apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("list CRDs: %w", err)
	}
	raw, derr := c.kube.Discovery().RESTClient().Get().AbsPath("/apis/" + monitoringv1.SchemeGroupVersion.String()).Do(ctx).Raw()
	if apierrors.IsNotFound(derr) {
		return nil, nil
	}
	if derr != nil {
		return nil, fmt.Errorf("discover %s: %w", monitoringv1.SchemeGroupVersion, derr)
	}
	var resources metav1.APIResourceList
	if err := json.Unmarshal(raw, &resources); err != nil {
		return nil, fmt.Errorf("decode discovery of %s: %w", monitoringv1.SchemeGroupVersion, err)
	}
	var out []doctor.CRD
	for _, r := range resources.APIResources {
		if strings.Contains(r.Name, "/") { // subresources such as prometheuses/status
			continue
		}
		out = append(out, doctor.CRD{Name: r.Name + "." + monitoringv1.SchemeGroupVersion.Group, Served: []string{monitoringv1.SchemeGroupVersion.Version}})
	}
	return out, nil
}

func established(crd apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

func listOptions(selector labels.Selector) metav1.ListOptions {
	if selector == nil {
		return metav1.ListOptions{}
	}
	return metav1.ListOptions{LabelSelector: selector.String()}
}

// listTyped lists a monitoring.coreos.com resource and decodes the items into T.
func listTyped[T any](ctx context.Context, c *Cluster, gvr schema.GroupVersionResource, namespace string, selector labels.Selector) ([]T, error) {
	list, err := c.dyn.Resource(gvr).Namespace(namespace).List(ctx, listOptions(selector))
	if err != nil {
		return nil, err
	}
	out := make([]T, len(list.Items))
	for i := range list.Items {
		if err := fromUnstructured(&list.Items[i], &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func fromUnstructured(u *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return fmt.Errorf("decode %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// GetPrometheus implements doctor.Cluster.
func (c *Cluster) GetPrometheus(ctx context.Context, namespace, name string) (*monitoringv1.Prometheus, error) {
	u, err := c.dyn.Resource(prometheuses).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p monitoringv1.Prometheus
	if err := fromUnstructured(u, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListPrometheuses implements doctor.Cluster.
func (c *Cluster) ListPrometheuses(ctx context.Context, namespace string, selector labels.Selector) ([]monitoringv1.Prometheus, error) {
	return listTyped[monitoringv1.Prometheus](ctx, c, prometheuses, namespace, selector)
}

// ListPodMonitors implements doctor.Cluster.
func (c *Cluster) ListPodMonitors(ctx context.Context, namespace string, selector labels.Selector) ([]monitoringv1.PodMonitor, error) {
	return listTyped[monitoringv1.PodMonitor](ctx, c, podMonitors, namespace, selector)
}

// ListServiceMonitors implements doctor.Cluster.
func (c *Cluster) ListServiceMonitors(ctx context.Context, namespace string, selector labels.Selector) ([]monitoringv1.ServiceMonitor, error) {
	return listTyped[monitoringv1.ServiceMonitor](ctx, c, serviceMonitors, namespace, selector)
}

// ListPrometheusRules implements doctor.Cluster.
func (c *Cluster) ListPrometheusRules(ctx context.Context, namespace string, selector labels.Selector) ([]monitoringv1.PrometheusRule, error) {
	return listTyped[monitoringv1.PrometheusRule](ctx, c, prometheusRules, namespace, selector)
}

// GetAlertmanager implements doctor.Cluster.
func (c *Cluster) GetAlertmanager(ctx context.Context, namespace, name string) (*monitoringv1.Alertmanager, error) {
	u, err := c.dyn.Resource(alertmanagers).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var am monitoringv1.Alertmanager
	if err := fromUnstructured(u, &am); err != nil {
		return nil, err
	}
	return &am, nil
}

// ListAlertmanagerConfigs implements doctor.Cluster.
func (c *Cluster) ListAlertmanagerConfigs(ctx context.Context, namespace string, selector labels.Selector) ([]monitoringv1alpha1.AlertmanagerConfig, error) {
	return listTyped[monitoringv1alpha1.AlertmanagerConfig](ctx, c, alertmanagerConfigs, namespace, selector)
}

// SecretKeys implements doctor.Cluster: the keys of the Secret, whose values it drops.
func (c *Cluster) SecretKeys(ctx context.Context, namespace, name string) ([]string, error) {
	s, err := c.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	keys := []string{}
	for k := range s.Data {
		keys = append(keys, k)
	}
	for k := range s.StringData {
		keys = append(keys, k)
	}
	return keys, nil
}

// ListPods implements doctor.Cluster.
func (c *Cluster) ListPods(ctx context.Context, namespace string, selector labels.Selector) ([]corev1.Pod, error) {
	list, err := c.kube.CoreV1().Pods(namespace).List(ctx, listOptions(selector))
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// GetPod implements doctor.Cluster.
func (c *Cluster) GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	pod, err := c.kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return pod, err
}

// ListServices implements doctor.Cluster.
func (c *Cluster) ListServices(ctx context.Context, namespace string, selector labels.Selector) ([]corev1.Service, error) {
	list, err := c.kube.CoreV1().Services(namespace).List(ctx, listOptions(selector))
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// GetService implements doctor.Cluster.
func (c *Cluster) GetService(ctx context.Context, namespace, name string) (*corev1.Service, error) {
	svc, err := c.kube.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return svc, err
}

// GetNamespace implements doctor.Cluster.
func (c *Cluster) GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns, err := c.kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return ns, err
}

// StorageClasses implements doctor.Cluster.
func (c *Cluster) StorageClasses(ctx context.Context) ([]storagev1.StorageClass, error) {
	list, err := c.kube.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// Events implements doctor.Cluster.
func (c *Cluster) Events(ctx context.Context, namespace, kind, name string) ([]corev1.Event, error) {
	sel := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name}.AsSelector().String()
	list, err := c.kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// permission is attrs as the question pkg/kube asks, and the object name it asks about.
func permission(attrs doctor.ResourceAttributes) (kube.Permission, string) {
	return kube.Permission{Verb: attrs.Verb, Group: attrs.Group, Resource: attrs.Resource, Namespace: attrs.Namespace}, attrs.Name
}

// CanI implements doctor.Cluster with a SelfSubjectAccessReview.
func (c *Cluster) CanI(ctx context.Context, attrs doctor.ResourceAttributes) (bool, error) {
	p, name := permission(attrs)
	return kube.CanI(ctx, c.kube, p, name)
}

// CanServiceAccount implements doctor.Cluster with a SubjectAccessReview for the user and groups
// the API server gives a ServiceAccount token.
func (c *Cluster) CanServiceAccount(ctx context.Context, namespace, name string, attrs doctor.ResourceAttributes) (bool, error) {
	p, object := permission(attrs)
	return kube.CanServiceAccount(ctx, c.kube, namespace, name, p, object)
}
