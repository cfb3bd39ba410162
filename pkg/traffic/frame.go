// Package traffic turns Prometheus answers about Envoy into rows: what one refresh of `top`
// shows. It builds the queries (through pkg/promql), runs them concurrently through a Querier it
// owns, folds the samples into rows and renders them as tables or JSON. NaN means "no data"
// everywhere: a cluster without answers shows a dash, never 0 ms or 100%.
package traffic

import (
	"math"
	"time"
)

// NoData is the value of a number Prometheus had no answer for (absent series, 0/0).
var NoData = math.NaN()

// Known reports whether v holds data.
func Known(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Row is one upstream Envoy cluster.
type Row struct {
	// Name is the cluster name exactly as in the label.
	Name string
	// Namespace and Service are the upstream Kubernetes Service when the controller's naming
	// scheme reveals it (Contour, Emissary, Istio, Gloo, Kuma), else empty.
	Namespace string
	Service   string
	// Route is the route the row stands for, as its user wrote it (Route.String), when the name
	// encodes one: always for an Envoy Gateway route's cluster or group (team-a/checkout rule 0,
	// team-a/checkout), and with GroupByRoute also for a Contour or Emissary upstream
	// (shop/checkout:8080). Tables name the row by it; Name stays the cluster name or, grouped by
	// route, the group's (httproute/team-a/checkout).
	Route string

	RPS     float64 // requests per second over the window
	Success float64 // share of final responses that were not 5xx, 0..1
	P50     float64 // upstream latency quantiles, milliseconds
	P90     float64
	P99     float64
	Active  float64 // requests in flight
	// Invalid are the numbers Prometheus answered outside their domain (see CheckRate): they
	// hold NoData instead.
	Invalid Fields
	// Err4xx and Err5xx are final 4xx and 5xx responses per second over the window. A cluster
	// that had responses and none of a class has 0 (Envoy creates a class's counter on its first
	// response, so an absent series means none); a cluster without responses has NoData.
	Err4xx float64
	Err5xx float64
}

// Label is how tables name the row: its Route when it has one, else its Name.
func (r *Row) Label() string {
	if r.Route != "" {
		return r.Route
	}
	return r.Name
}

// Listener is the downstream view of one HTTP connection manager: what clients saw, including
// Envoy's own local replies.
type Listener struct {
	Prefix  string
	RPS     float64
	Success float64
	P99     float64
	Invalid Fields
	// Err4xx and Err5xx are downstream 4xx and 5xx responses per second, as in Row.
	Err4xx float64
	Err5xx float64
}

// Frame is one refresh: every row at one instant.
type Frame struct {
	At      time.Time
	Window  time.Duration
	Dialect string
	// Source is where the cluster rows came from: SourceRaw, or SourceRules for the recording
	// rules (Window is then theirs).
	Source Source
	// GroupBy is what a row stands for: a cluster, or a route ("" is a cluster).
	GroupBy GroupBy
	// Rows are the upstream clusters, one per name, in no particular order: every reader sorts
	// them its own way (SortRows).
	Rows      []Row
	Listeners []Listener
	// Warnings and Infos are what Prometheus attached to its answers, deduplicated.
	Warnings []string
	Infos    []string
	// Took is how long the refresh's queries took, all together.
	Took time.Duration
	// Alerts are the pending and firing alerts about the selected clusters, when the collector
	// asks for them (Config.Alerts) and Prometheus answered: AlertsKnown says so. A Prometheus
	// without alerting rules knows of none. Firing ones come first, then by cluster and name.
	Alerts      []Alert
	AlertsKnown bool
	// Backend is what answered, as the JSON contract names it: BackendPrometheus (also for "")
	// or BackendThanosQuery. The reader sets it; the collector does not know.
	Backend string
	// Past is what the reader compares the rows with (Collector.Past), when it asked: the
	// renderers then add each row's numbers then and its biggest change. The collector does
	// not set it.
	Past []Past
}

// The backends a Frame's numbers come from.
const (
	BackendPrometheus  = "prometheus"
	BackendThanosQuery = "thanos-query"
)

// Alert is one pending or firing alert about an upstream cluster, as Prometheus's ALERTS series
// holds it.
type Alert struct {
	Name     string
	State    string // pending or firing
	Severity string
	Cluster  string
	// Namespace is the namespace of the Envoy the alert is about (envoy_namespace), when the
	// alert carries it.
	Namespace string
}

// Alert states.
const (
	AlertPending = "pending"
	AlertFiring  = "firing"
)

// AlertsOf lists the alerts about cluster name, in the frame's order (firing first).
func (f Frame) AlertsOf(name string) []Alert {
	var out []Alert
	for _, a := range f.Alerts {
		if a.Cluster == name {
			out = append(out, a)
		}
	}
	return out
}

// AlertCount counts the alerts in each state, and the firing ones of severity critical.
func (f Frame) AlertCount() (firing, pending, critical int) {
	for _, a := range f.Alerts {
		switch a.State {
		case AlertFiring:
			firing++
			if a.Severity == "critical" {
				critical++
			}
		case AlertPending:
			pending++
		}
	}
	return firing, pending, critical
}

// Share is a rate for one label value, such as a status class or code.
type Share struct {
	Label string
	RPS   float64
}

// PodRow is one cluster as seen by one Envoy pod or instance.
type PodRow struct {
	Pod     string
	RPS     float64
	Success float64
	P99     float64
	Invalid Fields
}

// Bucket is one histogram bucket of upstream latency: requests per second that took at most
// UpperMs (and more than the previous bucket's bound).
type Bucket struct {
	UpperMs float64 // +Inf for the last bucket
	RPS     float64
}

// Detail is the drill-down of one cluster: queried only for the row a person selected.
type Detail struct {
	Cluster string
	At      time.Time
	Window  time.Duration

	Classes []Share // per status class (2xx, 5xx, …), by rate
	Codes   []Share // per status code, by rate

	Timeouts        float64 // per second: requests that timed out (counted in 5xx as 504)
	PerTryTimeouts  float64
	Retries         float64
	RetryOverflow   float64
	PendingOverflow float64 // rejected because the pending queue was full
	Resets          float64 // upstream resets, both directions

	EjectionsActive float64 // hosts ejected by outlier detection now
	MembersHealthy  float64
	MembersTotal    float64
	BreakersOpen    float64 // open default-priority circuit breakers

	Pods    []PodRow
	Latency []Bucket

	Warnings []string
}
