package doctor

import (
	"context"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Cluster is everything the doctor reads from Kubernetes. Get methods return nil and no error
// when the object does not exist; List methods take a namespace ("" for every namespace) and a
// label selector (nil for every object). Errors such as "forbidden" are returned as they are:
// the checks report them.
type Cluster interface {
	// ServerVersion is the API server's git version, such as v1.33.1.
	ServerVersion(ctx context.Context) (string, error)
	// User is the name the API server knows the caller by (SelfSubjectReview); "" when the
	// server cannot tell.
	User(ctx context.Context) (string, error)
	// OperatorCRDs lists the monitoring.coreos.com resources the cluster defines.
	OperatorCRDs(ctx context.Context) ([]CRD, error)

	GetPrometheus(ctx context.Context, namespace, name string) (*monitoringv1.Prometheus, error)
	ListPrometheuses(ctx context.Context, namespace string, selector labels.Selector) ([]monitoringv1.Prometheus, error)
	ListPodMonitors(ctx context.Context, namespace string, selector labels.Selector) ([]monitoringv1.PodMonitor, error)
	ListServiceMonitors(ctx context.Context, namespace string, selector labels.Selector) ([]monitoringv1.ServiceMonitor, error)
	ListPrometheusRules(ctx context.Context, namespace string, selector labels.Selector) ([]monitoringv1.PrometheusRule, error)
	GetAlertmanager(ctx context.Context, namespace, name string) (*monitoringv1.Alertmanager, error)
	ListAlertmanagerConfigs(ctx context.Context, namespace string, selector labels.Selector) ([]monitoringv1alpha1.AlertmanagerConfig, error)
	// SecretKeys lists the keys of a Secret, never its values; nil and no error when it does
	// not exist.
	SecretKeys(ctx context.Context, namespace, name string) ([]string, error)

	GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	ListPods(ctx context.Context, namespace string, selector labels.Selector) ([]corev1.Pod, error)
	ListServices(ctx context.Context, namespace string, selector labels.Selector) ([]corev1.Service, error)
	GetService(ctx context.Context, namespace, name string) (*corev1.Service, error)
	GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error)
	StorageClasses(ctx context.Context) ([]storagev1.StorageClass, error)
	// Events lists the events about one object (involvedObject kind and name) in namespace.
	Events(ctx context.Context, namespace, kind, name string) ([]corev1.Event, error)

	// CanI asks whether the caller may do what attrs describe (SelfSubjectAccessReview).
	CanI(ctx context.Context, attrs ResourceAttributes) (bool, error)
	// CanServiceAccount asks whether the ServiceAccount namespace/name may do what attrs
	// describe (SubjectAccessReview; the caller needs create on subjectaccessreviews).
	CanServiceAccount(ctx context.Context, namespace, name string, attrs ResourceAttributes) (bool, error)
}

// CRD is one custom resource definition of the monitoring.coreos.com group.
type CRD struct {
	Name string // plural.group, such as prometheuses.monitoring.coreos.com
	// Version is the operator release the CRD ships with (its operator.prometheus.io/version
	// annotation, such as 0.94.1); "" when unknown, for example when it was found through
	// discovery because the caller may not read CRDs.
	Version string
	Served  []string // the versions the API server serves, such as v1
}

// ResourceAttributes name one request: a verb on a resource, in a namespace ("" for the cluster
// scope).
type ResourceAttributes struct {
	Namespace string
	Verb      string
	Group     string
	Resource  string
	Name      string
}

// Prometheus is what the live checks read from the team's Prometheus server.
type Prometheus interface {
	// Targets lists the active scrape targets (/api/v1/targets).
	Targets(ctx context.Context) ([]Target, error)
	// HasSeries reports whether any series matches the selector in the last few minutes.
	HasSeries(ctx context.Context, selector string) (bool, error)
	// Alertmanagers lists the URLs of the Alertmanagers Prometheus sends alerts to, and of those
	// it discovered and dropped (/api/v1/alertmanagers).
	Alertmanagers(ctx context.Context) (active, dropped []string, err error)
	// Notifications reads the notification counters of the Alertmanager behind Service
	// namespace/service, as Prometheus scrapes them: whether it holds any, and the increase of
	// the failed ones over window by integration (slack, webhook, …).
	Notifications(ctx context.Context, namespace, service string, window time.Duration) (Notifications, error)
	// Capacity reads what the stack's limits bound: the largest scrape, the samples per second
	// and the series in the head (unknown through a Thanos Query).
	Capacity(ctx context.Context) (Capacity, error)
}

// Notifications are what Prometheus holds of one Alertmanager's notifications.
type Notifications struct {
	Scraped bool               // Prometheus holds its notification counters
	Failed  map[string]float64 // failed notifications over the window, by integration; only > 0
}

// Target is one active scrape target.
type Target struct {
	ScrapePool string            // the operator names it podMonitor/<namespace>/<name>/<endpoint>
	ScrapeURL  string            // what Prometheus scrapes
	Labels     map[string]string // the target's labels after relabelling
	Health     string            // up, down or unknown (not scraped yet)
	LastError  string            // why the last scrape failed
}

// Target health values.
const (
	HealthUp      = "up"
	HealthDown    = "down"
	HealthUnknown = "unknown"
)
