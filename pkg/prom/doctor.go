package prom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

var _ doctor.Prometheus = (*Client)(nil)

// SeriesWindow is how far back HasSeries looks.
const SeriesWindow = 5 * time.Minute

// Targets lists the active scrape targets (/api/v1/targets?state=active). It implements
// doctor.Prometheus.
func (c *Client) Targets(ctx context.Context) ([]doctor.Target, error) {
	const endpoint = "/api/v1/targets"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var data struct {
		ActiveTargets []struct {
			Labels     map[string]string `json:"labels"`
			ScrapePool string            `json:"scrapePool"`
			ScrapeURL  string            `json:"scrapeUrl"`
			LastError  string            `json:"lastError"`
			Health     string            `json:"health"`
		} `json:"activeTargets"`
	}
	if err := c.fetch(ctx, endpoint, url.Values{"state": {"active"}}, false, func(code int, body []byte) error {
		return c.decodeData(code, body, &data)
	}); err != nil {
		return nil, c.endpointError(endpoint, err)
	}
	out := make([]doctor.Target, 0, len(data.ActiveTargets))
	for _, t := range data.ActiveTargets {
		out = append(out, doctor.Target{
			ScrapePool: t.ScrapePool, ScrapeURL: t.ScrapeURL, Labels: t.Labels, Health: t.Health, LastError: t.LastError,
		})
	}
	return out, nil
}

// HasSeries reports whether any series matches selector in the last SeriesWindow
// (/api/v1/series). It implements doctor.Prometheus.
func (c *Client) HasSeries(ctx context.Context, selector string) (bool, error) {
	const endpoint = "/api/v1/series"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// No end: a series whose first sample is newer than a rounded "now" would be left out.
	form := url.Values{
		"match[]": {selector},
		"start":   {strconv.FormatInt(time.Now().Add(-SeriesWindow).Unix(), 10)},
		"limit":   {"1"},
	}
	var series []map[string]string
	if err := c.fetch(ctx, endpoint, form, true, func(code int, body []byte) error {
		return c.decodeData(code, body, &series)
	}); err != nil {
		return false, c.endpointError(endpoint, err)
	}
	return len(series) > 0, nil
}

// Notifications reads the notification counters of the Alertmanager behind Service
// namespace/service (alertmanager_notifications_total and _failed_total, with the target labels
// a ServiceMonitor gives them). It implements doctor.Prometheus.
func (c *Client) Notifications(ctx context.Context, namespace, service string, window time.Duration) (doctor.Notifications, error) {
	of := func(metric string) *parser.VectorSelector {
		return promql.Series(metric, promql.Eq("namespace", namespace), promql.Eq("service", service))
	}
	scraped, err := promql.Check(promql.Count(of("alertmanager_notifications_total")))
	if err != nil {
		return doctor.Notifications{}, err
	}
	failed, err := promql.Check(promql.SumBy(promql.Increase(of("alertmanager_notifications_failed_total"), window), "integration"))
	if err != nil {
		return doctor.Notifications{}, err
	}
	now := time.Now()
	r, err := c.Query(ctx, scraped, now)
	if err != nil {
		return doctor.Notifications{}, err
	}
	var out doctor.Notifications
	if out.Scraped = len(r.Vector) > 0 && r.Vector[0].Value > 0; !out.Scraped {
		return out, nil
	}
	if r, err = c.Query(ctx, failed, now); err != nil {
		return doctor.Notifications{}, err
	}
	out.Failed = map[string]float64{}
	for _, s := range r.Vector {
		if s.Value > 0 {
			out.Failed[s.Metric.Get("integration")] += s.Value
		}
	}
	return out, nil
}

func (c *Client) endpointError(endpoint string, err error) *QueryError {
	return &QueryError{Endpoint: endpoint, URL: c.url, Proxy: c.proxy, Err: err}
}

// decodeData decodes the data of an API answer other than a query's into out, with the errors
// client_golang's v1 API reports (*promv1.Error) for an error answer, a bare HTTP error and a
// body that is not an API answer.
func decodeData(code int, body []byte, out any) error {
	if code/100 != 2 && code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
		return httpErrorWithBody(code, body)
	}
	var env struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		if code/100 != 2 {
			return httpErrorWithBody(code, body)
		}
		return &promv1.Error{Type: promv1.ErrBadResponse, Msg: "not a Prometheus API answer: " + err.Error()}
	}
	if env.Status != "success" {
		if env.ErrorType == "" {
			env.ErrorType = string(promv1.ErrBadResponse)
		}
		if env.Error == "" {
			env.Error = fmt.Sprintf("status %q with no message", env.Status)
		}
		return &promv1.Error{Type: promv1.ErrorType(env.ErrorType), Msg: env.Error}
	}
	if code/100 != 2 {
		return &promv1.Error{Type: promv1.ErrBadResponse, Msg: "inconsistent body for response code"}
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return &promv1.Error{Type: promv1.ErrBadResponse, Msg: "decode data: " + err.Error()}
	}
	return nil
}

// httpErrorWithBody is httpError with the first line of the body, which says why a proxy in
// front of Prometheus (the API server's, say) refused: "no endpoints available for service".
func httpErrorWithBody(code int, body []byte) error {
	e := &promv1.Error{}
	if !errors.As(httpError(code, body), &e) {
		return httpError(code, body)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if line = strings.TrimSpace(line); line != "" {
		e.Msg += ": " + short(line, 200, true)
	}
	return e
}
