// Package prom is the only place that speaks Prometheus' HTTP API, through client_golang. It
// implements traffic.Querier: timeouts, TLS and bearer tokens, warnings and infos, result-type
// checks, and errors that carry the query.
package prom

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// Config says how to reach one Prometheus.
type Config struct {
	URL                   string
	BearerTokenFile       string // read on every request, so rotated tokens work
	CAFile                string
	InsecureSkipTLSVerify bool
	// Timeout bounds each query, on the client and (as the timeout parameter) on the server.
	Timeout   time.Duration
	UserAgent string
	// Transport replaces the HTTP transport, for example one that tunnels through the
	// Kubernetes API server; TLS and token settings then do not apply.
	Transport http.RoundTripper
}

// Client queries one Prometheus.
type Client struct {
	api     promv1.API
	url     string
	timeout time.Duration
}

// New checks cfg and builds a client. It does not contact Prometheus.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http or https URL", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	rt := cfg.Transport
	if rt == nil {
		t, err := transport(cfg)
		if err != nil {
			return nil, err
		}
		rt = t
	}
	if cfg.BearerTokenFile != "" {
		if _, err := readToken(cfg.BearerTokenFile); err != nil {
			return nil, err
		}
		rt = &bearer{file: cfg.BearerTokenFile, next: rt}
	}
	if cfg.UserAgent != "" {
		rt = &userAgent{agent: cfg.UserAgent, next: rt}
	}
	c, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: rt})
	if err != nil {
		return nil, err
	}
	return &Client{api: promv1.NewAPI(c), url: cfg.URL, timeout: cfg.Timeout}, nil
}

func transport(cfg Config) (*http.Transport, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipTLSVerify}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read the CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", cfg.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}, nil
}

// URL is the Prometheus this client queries.
func (c *Client) URL() string { return c.url }

// Query runs an instant query. Warnings and infos come back with the result; an answer that is
// not an instant vector is an error, as is any failure, and both name the query.
func (c *Client) Query(ctx context.Context, query string, at time.Time) (traffic.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, warnings, infos, err := c.api.Query(ctx, query, at, promv1.WithTimeout(c.timeout))
	if err != nil {
		return traffic.Result{}, &QueryError{Query: query, URL: c.url, Err: err}
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return traffic.Result{}, &QueryError{Query: query, URL: c.url, Err: fmt.Errorf("answered a %s, not an instant vector", v.Type())}
	}
	return traffic.Result{Vector: vec, Warnings: append([]string(nil), warnings...), Infos: append([]string(nil), infos...)}, nil
}

// QueryError is a failed query.
type QueryError struct {
	Query string
	URL   string
	Err   error
}

func (e *QueryError) Error() string {
	var (
		apiErr *promv1.Error
		netErr *net.OpError
	)
	msg := e.Err.Error()
	switch {
	case errors.As(e.Err, &netErr):
		return fmt.Sprintf("cannot reach Prometheus at %s: %v", e.URL, netErr.Err)
	case errors.As(e.Err, &apiErr):
		msg = "Prometheus answered " + string(apiErr.Type) + ": " + apiErr.Msg
	case errors.Is(e.Err, context.DeadlineExceeded):
		msg = "no answer in time"
	}
	return fmt.Sprintf("query %s at %s: %s", e.Query, e.URL, strings.TrimSpace(msg))
}

func (e *QueryError) Unwrap() error { return e.Err }

type bearer struct {
	file string
	next http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	token, err := readToken(b.file)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+token)
	return b.next.RoundTrip(r)
}

func readToken(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read the bearer token file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("the bearer token file %s is empty", file)
	}
	return token, nil
}

type userAgent struct {
	agent string
	next  http.RoundTripper
}

func (u *userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.agent)
	return u.next.RoundTrip(r)
}

// QueryRange runs a range query from start to end at step. An answer that is not a matrix is an
// error naming the query.
func (c *Client) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, warnings, _, err := c.api.QueryRange(ctx, query, promv1.Range{Start: start, End: end, Step: step}, promv1.WithTimeout(c.timeout))
	if err != nil {
		return nil, nil, &QueryError{Query: query, URL: c.url, Err: err}
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, nil, &QueryError{Query: query, URL: c.url, Err: fmt.Errorf("answered a %s, not a range vector", v.Type())}
	}
	return m, append([]string(nil), warnings...), nil
}
