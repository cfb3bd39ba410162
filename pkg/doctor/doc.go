// Package doctor diagnoses one team's Prometheus Operator stack, as `kubectl promteam doctor
// TEAM` prints it.
//
// [Run] reads the cluster through the narrow [Cluster] interface (and, for the live checks, the
// team's Prometheus through [Prometheus]), then evaluates each check as a pure function of what it
// read. Every failed check carries the exact remedy: the object, namespace, label or flag to
// change. The package owns both interfaces and imports neither client: kubecluster implements
// Cluster with client-go, and pkg/prom, the plugin's one Prometheus client, implements Prometheus.
//
// The checks, in order (a check whose prerequisite failed is skipped with that failure's reason):
//
//	api           the API server answers and accepts the credentials
//	crds          the operator's CRDs are installed and served in monitoring.coreos.com/v1
//	stack         the team's Prometheus exists
//	reconciled    an operator reconciles it (status conditions Reconciled and Available)
//	selectors     no monitor or rule selector is null
//	selection     the Prometheus selects every monitor and rule of the team, and every monitor in its namespace
//	service       spec.serviceName names a Service that selects only this Prometheus' pods
//	ports         each monitor finds pods or Services, and the port it names exists on them
//	rbac          the Prometheus ServiceAccount may discover targets where its monitors look
//	storage       data survives restarts: a volume of an existing storage class, retention set
//	podsecurity   the pod security context meets the namespace's Pod Security level
//	rules         the team's PrometheusRules exist, are selected and were not rejected
//	targets       the scrape targets are up (live)
//	envoy-series  Envoy's request counters reach Prometheus (live)
//
// [Why] answers `kubectl promteam why TEAM KIND/NAME`: it follows one Service, pod, metric or
// alert through the same facts, link by link (see [Chain]), and stops at the first broken link
// with its fix. It reads the team's Prometheus through [TraceSource].
package doctor
