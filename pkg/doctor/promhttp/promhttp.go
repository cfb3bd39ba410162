// Package promhttp reads what the doctor's live checks need from a Prometheus server's HTTP API
// (/api/v1/targets and /api/v1/series) with net/http and encoding/json.
package promhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
)

// seriesWindow is how far back HasSeries looks.
const seriesWindow = 5 * time.Minute

// maxBody bounds how much of a response is read.
const maxBody = 64 << 20

// Client implements doctor.Prometheus.
type Client struct {
	base *url.URL
	http *http.Client
	now  func() time.Time
}

var _ doctor.Prometheus = (*Client)(nil)

// New returns a client for the Prometheus at base (such as http://127.0.0.1:9090, or an API
// server service-proxy URL ending in …/services/prometheus-team:web/proxy). rt carries the
// requests; nil means http.DefaultTransport.
func New(base string, rt http.RoundTripper) (*Client, error) {
	// The errors leave base out: it may hold a password, and the caller names its flag.
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("use an http or https URL such as http://localhost:9090")
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &Client{base: u, http: &http.Client{Transport: rt}, now: time.Now}, nil
}

// response is the envelope of every API answer.
type response struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// get calls an API path with query parameters and decodes the data of the answer into out.
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) error {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		if resp.StatusCode != http.StatusOK {
			if detail := strings.TrimSpace(firstLine(body)); detail != "" {
				return fmt.Errorf("GET %s: %s: %s", path, resp.Status, detail)
			}
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return fmt.Errorf("GET %s: not a Prometheus API answer: %w", path, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s %s", path, resp.Status, r.ErrorType, r.Error)
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		return fmt.Errorf("GET %s: decode data: %w", path, err)
	}
	return nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Targets implements doctor.Prometheus.
func (c *Client) Targets(ctx context.Context) ([]doctor.Target, error) {
	var data struct {
		ActiveTargets []struct {
			Labels     map[string]string `json:"labels"`
			ScrapePool string            `json:"scrapePool"`
			ScrapeURL  string            `json:"scrapeUrl"`
			LastError  string            `json:"lastError"`
			Health     string            `json:"health"`
		} `json:"activeTargets"`
	}
	if err := c.get(ctx, "/api/v1/targets", url.Values{"state": {"active"}}, &data); err != nil {
		return nil, err
	}
	out := make([]doctor.Target, 0, len(data.ActiveTargets))
	for _, t := range data.ActiveTargets {
		out = append(out, doctor.Target{
			ScrapePool: t.ScrapePool, ScrapeURL: t.ScrapeURL, Labels: t.Labels, Health: t.Health, LastError: t.LastError,
		})
	}
	return out, nil
}

// HasSeries implements doctor.Prometheus: it asks /api/v1/series for the selector over the last
// five minutes.
func (c *Client) HasSeries(ctx context.Context, selector string) (bool, error) {
	// No end: a series whose first sample is newer than a rounded "now" would be left out.
	q := url.Values{
		"match[]": {selector},
		"start":   {strconv.FormatInt(c.now().Add(-seriesWindow).Unix(), 10)},
		"limit":   {"1"},
	}
	var series []map[string]string
	if err := c.get(ctx, "/api/v1/series", q, &series); err != nil {
		return false, err
	}
	return len(series) > 0, nil
}
