// Package am is the only place that speaks Alertmanager's HTTP API (v2): its status, its alerts
// with their receivers, and the silences, listed, read, created and expired. It is hardened as
// pkg/prom is, on the same HTTP client (prom.NewHTTPClient): a timeout on every request, TLS and
// a bearer token sent to the configured origin only, no redirect that leaves https (nor, with a
// transport of the caller's, the origin), and a bound on every answer's size.
package am

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
)

// Server is how messages name what a Client reaches.
const Server = "Alertmanager"

// DefaultMaxAnswerBytes bounds an answer: thousands of silences or alerts are a few MiB.
const DefaultMaxAnswerBytes = 16 << 20

// Client talks to one Alertmanager.
type Client struct {
	http    *prom.HTTPClient
	url     string // redacted
	timeout time.Duration
}

// New checks cfg and builds a client; it does not contact Alertmanager. cfg is pkg/prom's, with
// the same meaning; Server and MaxAnswerBytes default to Alertmanager's.
func New(cfg prom.Config) (*Client, error) {
	if cfg.Server == "" {
		cfg.Server = Server
	}
	if cfg.MaxAnswerBytes <= 0 {
		cfg.MaxAnswerBytes = DefaultMaxAnswerBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	// A silence's body goes where the URL says and nowhere else.
	cfg.SameOrigin = true
	hc, err := prom.NewHTTPClient(cfg, "http://localhost:9093")
	if err != nil {
		return nil, err
	}
	return &Client{http: hc, url: hc.URL.Redacted(), timeout: cfg.Timeout}, nil
}

// URL is the Alertmanager this client reaches, with any password redacted.
func (c *Client) URL() string { return c.url }

// Status is what GET /api/v2/status says of the Alertmanager.
type Status struct {
	Cluster struct {
		Status string `json:"status"`
		Name   string `json:"name,omitempty"`
		Peers  []struct {
			Name    string `json:"name"`
			Address string `json:"address"`
		} `json:"peers,omitempty"`
	} `json:"cluster"`
	VersionInfo struct {
		Version   string `json:"version"`
		Revision  string `json:"revision,omitempty"`
		GoVersion string `json:"goVersion,omitempty"`
	} `json:"versionInfo"`
	Uptime time.Time `json:"uptime"`
}

// Receiver names a receiver an alert goes to.
type Receiver struct {
	Name string `json:"name"`
}

// AlertStatus is whether an alert is delivered (active), held back (suppressed: silenced or
// inhibited) or not yet processed, and by what.
type AlertStatus struct {
	State       string   `json:"state"`
	SilencedBy  []string `json:"silencedBy"`
	InhibitedBy []string `json:"inhibitedBy"`
}

// Alert is one alert Alertmanager holds, with the receivers its routing tree sends it to.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	Fingerprint  string            `json:"fingerprint"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Receivers    []Receiver        `json:"receivers"`
	Status       AlertStatus       `json:"status"`
}

// The states of a silence.
const (
	SilenceActive  = "active"
	SilencePending = "pending"
	SilenceExpired = "expired"
)

// Silence is one silence as Alertmanager answers it.
type Silence struct {
	ID     string `json:"id"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
	UpdatedAt time.Time `json:"updatedAt"`
	NewSilence
}

// NewSilence is a silence to create: it mutes the alerts that all its matchers match from
// StartsAt to EndsAt.
type NewSilence struct {
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
}

// Status reads GET /api/v2/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.call(ctx, http.MethodGet, "/api/v2/status", nil, nil, &s)
	return s, err
}

// Alerts reads the alerts the filter's matchers all match (every alert for none), silenced and
// inhibited ones included.
func (c *Client) Alerts(ctx context.Context, filter []Matcher) ([]Alert, error) {
	var alerts []Alert
	err := c.call(ctx, http.MethodGet, "/api/v2/alerts", filterQuery(filter), nil, &alerts)
	return alerts, err
}

// Silences reads the silences whose matchers include every matcher of filter (all silences for
// none), expired ones included.
func (c *Client) Silences(ctx context.Context, filter []Matcher) ([]Silence, error) {
	var silences []Silence
	err := c.call(ctx, http.MethodGet, "/api/v2/silences", filterQuery(filter), nil, &silences)
	return silences, err
}

// Silence reads one silence by ID; a missing one is a [*NotFoundError].
func (c *Client) Silence(ctx context.Context, id string) (Silence, error) {
	if err := ValidateID(id); err != nil {
		return Silence{}, err
	}
	var s Silence
	err := c.call(ctx, http.MethodGet, "/api/v2/silence/"+id, nil, nil, &s)
	return s, notFound(err, id)
}

// silenceID is what an ID of Alertmanager's silences looks like: a UUID, or hex and dashes.
var silenceID = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z-]{0,63}$`)

// ValidateID checks that id can name a silence: letters, digits and dashes, as the UUIDs
// Alertmanager gives them.
func ValidateID(id string) error {
	if !silenceID.MatchString(id) {
		return fmt.Errorf("silence ID %q is not one: Alertmanager's IDs are UUIDs such as 3e1b2c4d-5f60-4a7b-8c9d-0e1f2a3b4c5d", id)
	}
	return nil
}

// CreateSilence creates s and returns its ID.
func (c *Client) CreateSilence(ctx context.Context, s NewSilence) (string, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	var answer struct {
		SilenceID string `json:"silenceID"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/v2/silences", nil, body, &answer); err != nil {
		return "", err
	}
	if answer.SilenceID == "" {
		return "", c.requestError(http.MethodPost, "/api/v2/silences", errors.New("the answer holds no silenceID"))
	}
	return answer.SilenceID, nil
}

// ExpireSilence expires the silence id now; a missing one is a [*NotFoundError].
func (c *Client) ExpireSilence(ctx context.Context, id string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	return notFound(c.call(ctx, http.MethodDelete, "/api/v2/silence/"+id, nil, nil, nil), id)
}

// filterQuery is the filter parameters of matchers, one per matcher.
func filterQuery(filter []Matcher) url.Values {
	q := url.Values{}
	for _, m := range filter {
		q.Add("filter", m.String())
	}
	return q
}

// call sends one request within the client's timeout and decodes a successful JSON answer into
// out (nil: the answer is read and dropped).
func (c *Client) call(ctx context.Context, method, endpoint string, query url.Values, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := c.http.URL.JoinPath(endpoint)
	u.RawQuery = query.Encode()
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reader)
	if err != nil {
		return c.requestError(method, endpoint, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.requestError(method, endpoint, err)
	}
	defer func() { _ = resp.Body.Close() }()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return c.requestError(method, endpoint, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.requestError(method, endpoint, &APIError{Status: resp.StatusCode, Message: errorMessage(answer)})
	}
	if out == nil {
		return nil
	}
	if err := jsonUnmarshal(answer, out); err != nil {
		return c.requestError(method, endpoint, fmt.Errorf("the answer is not Alertmanager's API v2 JSON: %w", err))
	}
	return nil
}

func jsonUnmarshal(b []byte, out any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(out); err != nil {
		return err
	}
	if d.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// maxMessage bounds the part of an error answer an error shows.
const maxMessage = 300

// errorMessage is what an error answer says: Alertmanager writes a JSON string, its API
// framework an object with a message, a proxy plain text or HTML.
func errorMessage(body []byte) string {
	var s string
	if json.Unmarshal(body, &s) == nil {
		return clip(s)
	}
	var o struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &o) == nil && o.Message != "" {
		return clip(o.Message)
	}
	return clip(string(body))
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > maxMessage {
		s = strings.ToValidUTF8(s[:maxMessage], "") + " …"
	}
	return s
}

// APIError is an answer with an error status.
type APIError struct {
	Status  int
	Message string // what the answer says, clipped to one line
}

func (e *APIError) Error() string {
	text := http.StatusText(e.Status)
	if text == "" {
		text = "status"
	}
	msg := fmt.Sprintf("Alertmanager answered %d %s", e.Status, text)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// NotFoundError is a silence Alertmanager does not know.
type NotFoundError struct {
	ID string
}

func (e *NotFoundError) Error() string { return "no silence " + e.ID }

// notFound turns a 404 answer for the silence id into a [*NotFoundError].
func notFound(err error, id string) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return &NotFoundError{ID: id}
	}
	return err
}

// RequestError is a failed request: Method and Endpoint name it, URL and Proxy where it went.
type RequestError struct {
	Method, Endpoint string
	URL              string // redacted
	Proxy            string // redacted; empty when the request went direct
	Err              error
}

func (c *Client) requestError(method, endpoint string, err error) *RequestError {
	return &RequestError{Method: method, Endpoint: endpoint, URL: c.url, Proxy: c.http.Proxy, Err: err}
}

func (e *RequestError) Error() string {
	at := e.URL
	if e.Proxy != "" {
		at += " through proxy " + e.Proxy
	}
	var (
		netErr *net.OpError
		urlErr *url.Error
	)
	msg := e.Err.Error()
	switch {
	case errors.Is(e.Err, context.DeadlineExceeded):
		msg = "no answer in time"
	case errors.As(e.Err, &netErr):
		return fmt.Sprintf("cannot reach Alertmanager at %s: %v", at, netErr.Err)
	case errors.As(e.Err, &urlErr):
		msg = urlErr.Err.Error()
	}
	return fmt.Sprintf("%s %s at %s: %s", e.Method, e.Endpoint, at, msg)
}

func (e *RequestError) Unwrap() error { return e.Err }
