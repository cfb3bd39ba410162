// Package alerts is what `kubectl promteam alerts` shows: the alerts a team's Prometheus holds,
// pending and firing, as rows with their age, value and the receivers each goes to. It is pure:
// the Prometheus answers come in through the Source interface it owns, and the routing through a
// Router.
package alerts

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"
)

// Alert is one alert a Prometheus holds (/api/v1/alerts).
type Alert struct {
	Labels      map[string]string
	Annotations map[string]string
	State       string // pending or firing
	ActiveAt    time.Time
	Value       string // the expression's value when last evaluated, as Prometheus formats it
}

// States of an alert.
const (
	StatePending = "pending"
	StateFiring  = "firing"
)

// Source is where the alerts come from: a team's Prometheus.
type Source interface {
	Alerts(ctx context.Context) ([]Alert, error)
}

// Router names the receivers an alert with these labels goes to, in the order Alertmanager
// notifies them.
type Router interface {
	Receivers(labels map[string]string) []string
}

// Row is one alert as the command shows it.
type Row struct {
	Name        string            `json:"alertname"`
	State       string            `json:"state"`
	Severity    string            `json:"severity,omitempty"`
	Cluster     string            `json:"envoy_cluster_name,omitempty"`
	Since       time.Time         `json:"active_since"`
	Age         time.Duration     `json:"-"`
	Value       string            `json:"value"`
	Receivers   []string          `json:"receivers"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Rows folds alerts into rows, firing before pending, then by severity (critical first), name
// and cluster. With a nil router the receivers stay empty.
func Rows(in []Alert, router Router, now time.Time) []Row {
	out := make([]Row, 0, len(in))
	for _, a := range in {
		r := Row{
			Name: a.Labels["alertname"], State: a.State, Severity: a.Labels["severity"],
			Cluster: a.Labels["envoy_cluster_name"], Since: a.ActiveAt, Value: a.Value,
			Labels: maps.Clone(a.Labels), Annotations: maps.Clone(a.Annotations), Receivers: []string{},
		}
		if !a.ActiveAt.IsZero() && now.After(a.ActiveAt) {
			r.Age = now.Sub(a.ActiveAt)
		}
		if router != nil {
			r.Receivers = router.Receivers(a.Labels)
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b Row) int {
		return cmp.Or(
			cmp.Compare(stateRank(a.State), stateRank(b.State)),
			cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
			strings.Compare(a.Name, b.Name),
			strings.Compare(a.Cluster, b.Cluster),
			a.Since.Compare(b.Since),
		)
	})
	return out
}

func stateRank(s string) int {
	switch s {
	case StateFiring:
		return 0
	case StatePending:
		return 1
	}
	return 2
}

func severityRank(s string) int {
	switch s {
	case "critical":
		return 0
	case "warning":
		return 1
	}
	return 2
}

// Firing counts the rows that fire.
func Firing(rows []Row) int {
	n := 0
	for _, r := range rows {
		if r.State == StateFiring {
			n++
		}
	}
	return n
}
