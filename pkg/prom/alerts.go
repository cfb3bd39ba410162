package prom

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/alerts"
)

var _ alerts.Source = (*Client)(nil)

// Alerts lists the alerts Prometheus holds, pending and firing (/api/v1/alerts). It implements
// alerts.Source.
func (c *Client) Alerts(ctx context.Context) ([]alerts.Alert, error) {
	const endpoint = "/api/v1/alerts"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var data struct {
		Alerts []struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			State       string            `json:"state"`
			ActiveAt    *time.Time        `json:"activeAt"`
			Value       string            `json:"value"`
		} `json:"alerts"`
	}
	if err := c.fetch(ctx, endpoint, nil, false, func(code int, body []byte) error {
		return c.decodeData(code, body, &data)
	}); err != nil {
		return nil, c.endpointError(endpoint, err)
	}
	out := make([]alerts.Alert, 0, len(data.Alerts))
	for _, a := range data.Alerts {
		if a.Labels["alertname"] == "" {
			return nil, c.endpointError(endpoint, fmt.Errorf("an alert without an alertname label: %s", describe(metricOf(a.Labels))))
		}
		al := alerts.Alert{Labels: a.Labels, Annotations: a.Annotations, State: a.State, Value: a.Value}
		if a.ActiveAt != nil {
			al.ActiveAt = *a.ActiveAt
		}
		out = append(out, al)
	}
	return out, nil
}

// Alertmanagers lists the URLs of the Alertmanagers Prometheus sends alerts to, and of those it
// discovered and dropped (/api/v1/alertmanagers).
func (c *Client) Alertmanagers(ctx context.Context) (active, dropped []string, err error) {
	const endpoint = "/api/v1/alertmanagers"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	type am struct {
		URL string `json:"url"`
	}
	var data struct {
		Active  []am `json:"activeAlertmanagers"`
		Dropped []am `json:"droppedAlertmanagers"`
	}
	if err := c.fetch(ctx, endpoint, nil, false, func(code int, body []byte) error {
		return c.decodeData(code, body, &data)
	}); err != nil {
		return nil, nil, c.endpointError(endpoint, err)
	}
	for _, a := range data.Active {
		active = append(active, a.URL)
	}
	for _, a := range data.Dropped {
		dropped = append(dropped, a.URL)
	}
	return active, dropped, nil
}

func metricOf(labels map[string]string) model.Metric {
	m := make(model.Metric, len(labels))
	for k, v := range labels {
		m[model.LabelName(k)] = model.LabelValue(v)
	}
	return m
}
