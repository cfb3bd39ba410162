package prom

import (
	"context"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

var _ doctor.TraceSource = (*Client)(nil)

// Rules lists the rules Prometheus loaded, alerting and recording, with their health and, for
// an alert, its state (/api/v1/rules). It implements doctor.TraceSource.
func (c *Client) Rules(ctx context.Context) ([]doctor.Rule, error) {
	const endpoint = "/api/v1/rules"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var data struct {
		Groups []struct {
			Name  string `json:"name"`
			File  string `json:"file"`
			Rules []struct {
				Name      string `json:"name"`
				Type      string `json:"type"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
				State     string `json:"state"`
				Alerts    []struct {
					State string `json:"state"`
				} `json:"alerts"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := c.fetch(ctx, endpoint, nil, false, func(code int, body []byte) error {
		return c.decodeData(code, body, &data)
	}); err != nil {
		return nil, c.endpointError(endpoint, err)
	}
	var out []doctor.Rule
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			out = append(out, doctor.Rule{
				Group: g.Name, File: g.File, Name: r.Name, Alerting: r.Type == "alerting",
				Health: r.Health, LastError: r.LastError, State: r.State, Active: len(r.Alerts),
			})
		}
	}
	return out, nil
}

// CountSeries counts the series sel matches now (count(sel), an instant query: a series that
// went stale is not counted). It implements doctor.TraceSource.
func (c *Client) CountSeries(ctx context.Context, sel *parser.VectorSelector) (int, error) {
	v, err := traffic.Scalar(ctx, c, promql.Count(sel), time.Now(), 0)
	if err != nil {
		return 0, err
	}
	return int(v), nil
}
