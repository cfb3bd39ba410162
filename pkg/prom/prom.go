// Package prom is the only place that speaks Prometheus' HTTP API: every command (top, compare,
// doctor) reaches Prometheus through its Client. It implements traffic.Querier and
// doctor.Prometheus: timeouts, TLS and bearer tokens, a bound on the answers' size, warnings and
// infos, result-type checks, and errors that carry the query or endpoint. client_golang's
// api.Client carries the requests, which are the ones its v1 API sends; the query answers are
// decoded here (decode.go), several times faster than client_golang's decoding, into the same
// model types and with the same errors.
package prom

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/net/http/httpproxy"

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
	// DisableCompression asks Prometheus for uncompressed answers: less CPU on both ends (gzip
	// is about a quarter of Prometheus' time for a refresh's answers), ten times the bytes on the
	// wire. For a fast link, as kubectl's --disable-compression is.
	DisableCompression bool
	// MaxAnswerBytes bounds an answer's size once decompressed, and the size of all the answers
	// the client reads and decodes at once; 0 means DefaultMaxAnswerBytes. A larger answer fails
	// the query rather than the plugin's memory.
	MaxAnswerBytes int64
	// Transport replaces the HTTP transport, for example one that tunnels through the
	// Kubernetes API server; TLS and compression settings then do not apply (the bearer token
	// and user agent still do).
	Transport http.RoundTripper
	// Server is what the URL reaches, as messages name it; empty means Prometheus.
	Server string
	// SameOrigin refuses every redirect that leaves URL's origin, whatever the transport: for an
	// API whose requests change state, whose bodies must not go elsewhere.
	SameOrigin bool
	// Headers are added to every request for URL's origin, and to none for another origin (a
	// redirect's): a tenant's X-Scope-OrgID, say. Credentials, Host and the headers the client
	// sets itself are refused (see CheckHeader).
	Headers http.Header
	// MaxAnswerFlag is the flag that raises MaxAnswerBytes, which an answer over it names; empty
	// means --prometheus-max-answer-size for Prometheus and none for another server.
	MaxAnswerFlag string
	// ThanosQuery says URL is a Thanos Query in front of several Prometheus servers (shards and
	// replicas): every request asks it to deduplicate the replicas (dedup=true) and to fail
	// rather than answer with the stores that did answer (partial_response=false), so that a
	// shard that does not answer is an error and never a silently smaller number.
	ThanosQuery bool
}

// server is what cfg reaches, as messages name it.
func (cfg Config) server() string {
	if cfg.Server == "" {
		return "Prometheus"
	}
	return cfg.Server
}

// DefaultMaxAnswerBytes is the default bound on an answer: at 5,000 clusters a refresh's
// largest answer is a few MiB.
const DefaultMaxAnswerBytes = 64 << 20

// Client queries one Prometheus.
type Client struct {
	http    api.Client
	url     string
	proxy   string // the HTTP proxy the environment names for url, redacted
	timeout time.Duration
	labels  *labelCache
	limit   *answerLimit
	// thanos is Config.ThanosQuery.
	thanos bool
}

// New checks cfg and builds a client. It does not contact Prometheus.
func New(cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	hc, err := NewHTTPClient(cfg, "http://localhost:9090")
	if err != nil {
		return nil, err
	}
	c, err := api.NewClient(api.Config{Address: cfg.URL, Client: hc.Client})
	if err != nil {
		return nil, err
	}
	return &Client{http: c, url: hc.URL.Redacted(), proxy: hc.Proxy, timeout: cfg.Timeout, labels: newLabelCache(), limit: hc.limit, thanos: cfg.ThanosQuery}, nil
}

// HTTPClient is the HTTP client of a Config, hardened for answers from a server that may be
// hostile: TLS settings, a bearer token sent to the configured origin only, redirects that never
// leave https (nor, with a transport of the caller's, the origin), and a bound on the answers'
// size. New builds its Client on one; pkg/am builds its Alertmanager client on another.
type HTTPClient struct {
	*http.Client
	// URL is Config.URL, parsed.
	URL *url.URL
	// Proxy is the HTTP proxy the environment names for URL, redacted, or "".
	Proxy string
	limit *answerLimit
}

// NewHTTPClient checks cfg's URL, CA and token files and builds its HTTP client; example is a
// URL of the server's kind for the message that refuses a malformed one. Config.Timeout does not
// apply: each request is bounded by its context.
func NewHTTPClient(cfg Config, example string) (*HTTPClient, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &ConfigError{Server: cfg.server(), Field: "URL", Value: Redact(cfg.URL), Err: errors.New("use an http or https URL, e.g. " + example)}
	}
	rt := cfg.Transport
	var proxy string
	if rt == nil {
		// The environment's proxy settings, read now, as net/http reads them once.
		proxyFor := httpproxy.FromEnvironment().ProxyFunc()
		if p, err := proxyFor(u); err == nil && p != nil {
			proxy = p.Redacted()
		}
		t, err := transport(cfg, proxyFor)
		if err != nil {
			return nil, err
		}
		rt = t
	}
	home := origin(u)
	if len(cfg.Headers) > 0 {
		if err := checkHeaders(cfg.server(), cfg.Headers); err != nil {
			return nil, err
		}
		rt = &headers{origin: home, h: cfg.Headers.Clone(), next: rt}
	}
	if cfg.BearerTokenFile != "" {
		if _, err := readToken(cfg.server(), cfg.BearerTokenFile); err != nil {
			return nil, err
		}
		rt = &bearer{server: cfg.server(), file: cfg.BearerTokenFile, origin: home, next: rt}
	}
	if cfg.UserAgent != "" {
		rt = &userAgent{agent: cfg.UserAgent, next: rt}
	}
	if cfg.MaxAnswerBytes <= 0 {
		cfg.MaxAnswerBytes = DefaultMaxAnswerBytes
	}
	flag := cfg.MaxAnswerFlag
	if flag == "" && cfg.Server == "" {
		flag = "prometheus-max-answer-size"
	}
	// Outermost, so that it sees every answer decompressed, whatever the transport.
	limit := &answerLimit{max: cfg.MaxAnswerBytes, flag: flag, next: rt}
	hc := &http.Client{Transport: limit, CheckRedirect: redirectPolicy(cfg.server(), home, cfg.Transport != nil, cfg.SameOrigin)}
	return &HTTPClient{Client: hc, URL: u, Proxy: proxy, limit: limit}, nil
}

func transport(cfg Config, proxyFor func(*url.URL) (*url.URL, error)) (*http.Transport, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipTLSVerify}
	if cfg.CAFile != "" {
		pem, err := readFile(cfg.CAFile, maxCAFileBytes, "CA certificates")
		if err != nil {
			return nil, &ConfigError{Server: cfg.server(), Field: "CAFile", Value: cfg.CAFile, Err: fmt.Errorf("%w; name the PEM file of the CA that signed %s certificate", err, possessive(cfg.server()))}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &ConfigError{Server: cfg.server(), Field: "CAFile", Value: cfg.CAFile, Err: fmt.Errorf("it holds no PEM certificate; name the PEM file of the CA that signed %s certificate", possessive(cfg.server()))}
		}
		tlsConfig.RootCAs = pool
	}
	return &http.Transport{
		Proxy:               func(r *http.Request) (*url.URL, error) { return proxyFor(r.URL) },
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  cfg.DisableCompression,
	}, nil
}

// ThanosQuery reports whether the client queries a Thanos Query (Config.ThanosQuery).
func (c *Client) ThanosQuery() bool { return c.thanos }

// thanosArgs are the parameters every request to a Thanos Query carries: deduplicated replicas
// and no partial answers.
var thanosArgs = url.Values{"dedup": {"true"}, "partial_response": {"false"}}

// URL is the Prometheus this client queries, with any password redacted.
func (c *Client) URL() string { return c.url }

// Redact hides the password in a URL, for showing it: all of the user information if the URL
// does not parse as one with a host.
func Redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Opaque == "" {
		return u.Redacted()
	}
	scheme, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme, rest = raw[:i+3], raw[i+3:]
	}
	authority := rest
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		authority = rest[:end]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		return scheme + "xxxxx" + rest[at:]
	}
	return raw
}

// Query runs an instant query. Warnings and infos come back with the result; an answer that is
// not an instant vector is an error, as is any failure, and both name the query.
func (c *Client) Query(ctx context.Context, query string, at time.Time) (traffic.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	args := url.Values{"query": {query}}
	if !at.IsZero() {
		args.Set("time", formatTime(at))
	}
	a, err := c.do(ctx, "/api/v1/query", args, vectorType)
	if err != nil {
		return traffic.Result{}, c.queryError(query, err)
	}
	if a.resultType != vectorType {
		return traffic.Result{}, c.queryError(query, fmt.Errorf("answered a %s, not an instant vector", a.resultType))
	}
	return traffic.Result{Vector: a.vector, Warnings: append([]string(nil), a.warnings...), Infos: append([]string(nil), a.infos...)}, nil
}

// do sends one query as client_golang's v1 API does: a form POST, repeated as a GET when the
// server (or a proxy in front of it) refuses POST with 403, 405 or 501; the timeout parameter
// bounds the evaluation on the server.
func (c *Client) do(ctx context.Context, endpoint string, args url.Values, want string) (answer, error) {
	form := url.Values{"timeout": {c.timeout.String()}}
	for k, v := range args {
		form[k] = v
	}
	var a answer
	err := c.fetch(ctx, endpoint, form, true, func(code int, body []byte) error {
		var err error
		if a, err = decodeAnswer(code, body, want, c.labels); err != nil {
			return err
		}
		if c.thanos {
			// A Thanos Query answers PromQL's infos among its warnings.
			a.warnings, a.infos = splitInfos(a.warnings, a.infos)
		}
		return c.checkPartial(a.warnings)
	})
	return a, err
}

// fetch sends one request to an API endpoint, as a form POST (repeated as a GET when the server
// refuses POST with 403, 405 or 501) or as a GET, and hands the status code and body to decode.
// The answer's bytes count against the client's limit until decode returns.
func (c *Client) fetch(ctx context.Context, endpoint string, form url.Values, post bool, decode func(code int, body []byte) error) error {
	u := c.http.URL(endpoint, nil)
	q := u.Query()
	if c.thanos {
		for k, v := range thanosArgs {
			q[k] = v
		}
	}
	for k, v := range form {
		q[k] = v
	}
	encoded := q.Encode()
	var req *http.Request
	var err error
	if post {
		req, err = http.NewRequest(http.MethodPost, u.String(), strings.NewReader(encoded))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// An empty Idempotency-Key is not sent but lets the transport retry the POST on a
		// network error, as it would a GET.
		req.Header["Idempotency-Key"] = nil
	} else {
		u.RawQuery = encoded
		if req, err = http.NewRequest(http.MethodGet, u.String(), nil); err != nil {
			return err
		}
	}
	h := &held{}
	defer c.limit.release(h)
	ctx = context.WithValue(ctx, heldKey{}, h)
	resp, body, err := c.http.Do(ctx, req) //nolint:bodyclose // api.Client.Do reads and closes the body
	if post && resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented) {
		u.RawQuery = encoded
		req, err = http.NewRequest(http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		resp, body, err = c.http.Do(ctx, req) //nolint:bodyclose // api.Client.Do reads and closes the body
	}
	if err != nil {
		return err
	}
	return decode(resp.StatusCode, body)
}

// formatTime writes t in seconds, as client_golang does.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.Unix())+float64(t.Nanosecond())/1e9, 'f', -1, 64)
}

// QueryError is a failed query, or a failed read of another endpoint (Query is then empty and
// Endpoint names it, such as /api/v1/targets).
type QueryError struct {
	Query    string
	Endpoint string
	URL      string // shown with any password redacted
	Proxy    string // the HTTP proxy the query went through, if any, shown redacted
	Err      error
}

func (c *Client) queryError(query string, err error) *QueryError {
	return &QueryError{Query: query, URL: c.url, Proxy: c.proxy, Err: err}
}

func (e *QueryError) Error() string {
	var (
		apiErr   *promv1.Error
		netErr   *net.OpError
		redirErr *RedirectError
		bigErr   *AnswerTooLargeError
		confErr  *ConfigError
	)
	msg := e.Err.Error()
	at := Redact(e.URL)
	if e.Proxy != "" {
		at += " through proxy " + Redact(e.Proxy)
	}
	switch {
	case errors.As(e.Err, &redirErr):
		msg = redirErr.Error()
	case errors.As(e.Err, &bigErr):
		msg = bigErr.Error()
	case errors.As(e.Err, &confErr):
		msg = confErr.Error()
	case errors.As(e.Err, &netErr):
		return fmt.Sprintf("cannot reach Prometheus at %s: %v", at, netErr.Err)
	case errors.As(e.Err, &apiErr):
		msg = answered(apiErr)
	case errors.Is(e.Err, context.DeadlineExceeded):
		msg = "no answer in time"
	}
	what := "query " + e.Query
	if e.Query == "" {
		what = "read " + e.Endpoint
	}
	return fmt.Sprintf("%s at %s: %s", what, at, strings.TrimSpace(msg))
}

// answered words an error Prometheus answered, which may lack its type or message.
func answered(e *promv1.Error) string {
	switch {
	case e.Type == "" && strings.TrimSpace(e.Msg) == "":
		return "Prometheus answered an error with no type or message"
	case e.Type == "":
		return "Prometheus answered an error with no type: " + e.Msg
	case strings.TrimSpace(e.Msg) == "":
		return "Prometheus answered " + string(e.Type) + " with no message"
	}
	return "Prometheus answered " + string(e.Type) + ": " + e.Msg
}

func (e *QueryError) Unwrap() error { return e.Err }

// origin is a URL's scheme, host and port: where credentials may go.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// redirectPolicy follows at most ten redirects, as net/http does, and never one from https to
// plain http, which would put the query, the answer and any later credentials on the wire in
// the clear. With a transport of the caller's, which adds its own credentials to every request
// (the API server's do), or when the caller asks for it (sameOrigin), it does not leave the
// configured origin either.
func redirectPolicy(server, home string, foreignTransport, sameOrigin bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		prev := via[len(via)-1].URL
		switch {
		case len(via) >= 10:
			return errors.New("stopped after 10 redirects")
		case prev.Scheme == "https" && req.URL.Scheme != "https":
			return &RedirectError{Server: server, From: prev.Redacted(), To: req.URL.Redacted(), Reason: "it leaves https for plain http"}
		case foreignTransport && origin(req.URL) != home:
			return &RedirectError{Server: server, From: prev.Redacted(), To: req.URL.Redacted(), Reason: "it leaves " + home + " and the transport would send its credentials along"}
		case sameOrigin && origin(req.URL) != home:
			return &RedirectError{Server: server, From: prev.Redacted(), To: req.URL.Redacted(), Reason: "it leaves " + home}
		}
		return nil
	}
}

// RedirectError is a redirect the client refused to follow.
type RedirectError struct {
	Server   string // what redirected; empty means Prometheus
	From, To string // redacted
	Reason   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused %s redirect from %s to %s: %s", possessive(Config{Server: e.Server}.server()), e.From, e.To, e.Reason)
}

// possessive is name's possessive: Prometheus', Alertmanager's.
func possessive(name string) string {
	if strings.HasSuffix(name, "s") {
		return name + "'"
	}
	return name + "'s"
}

// bearer adds the token to requests for the configured origin only: net/http drops the
// Authorization header of a request it redirects to another host, and so must a round tripper
// that adds the header on every hop.
type bearer struct {
	server string
	file   string
	origin string
	next   http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if origin(r.URL) != b.origin {
		return b.next.RoundTrip(r)
	}
	token, err := readToken(b.server, b.file)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+token)
	return b.next.RoundTrip(r)
}

// Bounds on the files read: a token is a few KiB at most and a CA bundle a few hundred KiB, and
// a file far larger (such as /dev/zero) is a mistake that must not fill memory.
const (
	maxTokenFileBytes = 64 << 10
	maxCAFileBytes    = 4 << 20
)

func readToken(server, file string) (string, error) {
	b, err := readFile(file, maxTokenFileBytes, "a bearer token")
	if err != nil {
		return "", &ConfigError{Server: server, Field: "BearerTokenFile", Value: file, Err: fmt.Errorf("%w; name the file that holds the token", err)}
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", &ConfigError{Server: server, Field: "BearerTokenFile", Value: file, Err: errors.New("the file is empty; write the token into it")}
	}
	return token, nil
}

// readFile reads at most max bytes of file, which holds what; a larger file is an error.
func readFile(file string, max int64, what string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("the file is over %s, far more than %s", FormatBytes(max), what)
	}
	return b, nil
}

// unwrapPath drops the file name from an error that repeats it.
func unwrapPath(err error) error {
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return fmt.Errorf("cannot read it: %w", pathErr.Err)
	}
	return err
}

// ConfigError is a setting of Config that cannot be used: Field names it (URL, BearerTokenFile,
// CAFile or Headers), Value is what it holds (a URL redacted), Err says why and what to do.
type ConfigError struct {
	Server string // what the setting reaches; empty means Prometheus
	Field  string
	Value  string
	Err    error
}

func (e *ConfigError) Error() string {
	name := map[string]string{"URL": Config{Server: e.Server}.server() + " URL", "BearerTokenFile": "bearer token file", "CAFile": "CA file", "Headers": "header"}[e.Field]
	return fmt.Sprintf("%s %s: %v", name, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// answerLimit fails the reading of an answer past max bytes, and the reading of any answer once
// the answers the client holds together pass max: a refresh sends nine queries at once and a
// comparison twenty, which must not hold max each. An answer is held from its first byte read
// until do has decoded it (or, read by another caller, until its body is closed).
type answerLimit struct {
	max  int64
	flag string       // the flag that raises max, if any
	held atomic.Int64 // bytes of the answers held now
	next http.RoundTripper
}

// held is the bytes of one query's answers (a redirect makes several), which do releases once
// it has decoded them.
type held struct{ n atomic.Int64 }

type heldKey struct{}

func (l *answerLimit) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	h, _ := r.Context().Value(heldKey{}).(*held)
	resp.Body = &limitedBody{ReadCloser: resp.Body, limit: l, held: h}
	return resp, nil
}

// release gives back what one query's answers held.
func (l *answerLimit) release(h *held) { l.held.Add(-h.n.Swap(0)) }

type limitedBody struct {
	io.ReadCloser
	limit *answerLimit
	held  *held // nil: what the body holds is released when it is closed
	read  int64
	own   int64 // held by this body when held is nil
	err   error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	l := b.limit
	if left := l.max - b.read; int64(len(p)) > left+1 {
		p = p[:left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	together := l.held.Add(int64(n))
	if b.held != nil {
		b.held.n.Add(int64(n))
	} else {
		b.own += int64(n)
	}
	switch {
	case b.read > l.max:
		b.err = &AnswerTooLargeError{Limit: l.max, Flag: l.flag}
	case together > l.max:
		b.err = &AnswerTooLargeError{Limit: l.max, Together: true, Flag: l.flag}
	}
	if b.err != nil {
		return n, b.err
	}
	return n, err
}

func (b *limitedBody) Close() error {
	if b.held == nil {
		b.limit.held.Add(-b.own)
		b.own = 0
	}
	return b.ReadCloser.Close()
}

// AnswerTooLargeError is an answer over Config.MaxAnswerBytes or, when Together, answers read at
// once that are over it together.
type AnswerTooLargeError struct {
	Limit    int64
	Together bool
	// Flag is the flag that raises the limit, without its dashes; empty when there is none.
	Flag string
}

func (e *AnswerTooLargeError) Error() string {
	what := "the answer is larger than the limit of " + FormatBytes(e.Limit)
	if e.Together {
		what = "the answers read at once are larger than the limit of " + FormatBytes(e.Limit) + " together"
	}
	if e.Flag == "" {
		return what
	}
	return fmt.Sprintf("%s; raise it with --%s, e.g. %s", what, e.Flag, FormatBytes(2*e.Limit))
}

// FormatBytes writes n bytes as a Kubernetes quantity in the largest binary unit that holds it
// exactly (64Mi), as --prometheus-max-answer-size takes it.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"Ei", 60}, {"Pi", 50}, {"Ti", 40}, {"Gi", 30}, {"Mi", 20}, {"Ki", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
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
	args := url.Values{
		"query": {query},
		"start": {formatTime(start)},
		"end":   {formatTime(end)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	a, err := c.do(ctx, "/api/v1/query_range", args, matrixType)
	if err != nil {
		return nil, nil, c.queryError(query, err)
	}
	if a.resultType != matrixType {
		return nil, nil, c.queryError(query, fmt.Errorf("answered a %s, not a range vector", a.resultType))
	}
	return a.matrix, append([]string(nil), a.warnings...), nil
}
