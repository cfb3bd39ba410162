// Package hostile is a fake Prometheus that misbehaves: it serves /api/v1/query and
// /api/v1/query_range with one of a table of broken or hostile answers (Cases), each with the
// outcome the plugin documents for it. Tests drive top, compare and the dashboard against every
// case and check that outcome, and that nothing panics, hangs, fills memory, prints a control
// character or hands the bearer token to another host.
//
// A case that answers data answers every query with the same series, as Envoy's statistics look
// once the plugin's queries have summed them by cluster: each series carries the cluster, listener
// and status class labels, so the collector and the comparison fold it whatever they asked. Queries
// of the recording rules' series get an empty answer, so the plugin reads Envoy's own series.
package hostile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Outcome is what the plugin documents for a case, for one command.
type Outcome struct {
	// Err, when not nil, says the command fails: one error line (exit status 1 for top, 3 for
	// compare) holding each of these texts, and nothing on stdout.
	Err []string
	// Rows is how many rows top prints when it succeeds: one per distinct cluster name.
	Rows int
	// Invalid lists the numbers the output calls invalid (JSON names): for top, of every row;
	// for compare, of both arms. Empty means none is.
	Invalid []string
	// NoData says every number of every row is missing (a dash, null), and none invalid.
	NoData bool
}

// Fails reports whether the command fails.
func (o Outcome) Fails() bool { return o.Err != nil }

// Case is one misbehaviour and what the plugin does about it.
type Case struct {
	Name string
	// Want is the documented outcome, in words.
	Want    string
	Top     Outcome
	Compare Outcome
	// Names are the cluster names the answers hold, as Prometheus sends them: each is one row of
	// top's table (Decoded, then shown through termtext.Sanitize).
	Names []string
	// Warnings are the warnings the answers carry: top prints each on one line of stderr.
	Warnings []string
	// Slow says the case only ends by the timeout.
	Slow bool
	// Big says the case answers more bytes than the plugin reads, or a label larger than it
	// takes: the cases to measure memory on.
	Big bool
	// TLS serves the case over https; Server.CAFile then holds its certificate.
	TLS bool
	// Redirect says the case redirects the plugin; Server.Elsewhere counts what reached the
	// other host.
	Redirect bool
	// Err, when not nil, is the error of both top and compare (Outcome.Err).
	Err []string
	// AtOnce, when not nil, is what the error may say instead when the plugin sends its queries at
	// once (the dialect and source given, so no probe goes first): that their answers are over the
	// limit together, when that is noticed before what Err says.
	AtOnce []string

	serve func(s *Server, w http.ResponseWriter, r *http.Request)
}

// Timeout is the --timeout to run c with: short for the slow cases, which must end by it; long
// for the big answers, so that the plugin's limits end them even on a loaded machine; and long
// enough for the rest that a loaded machine (CI runs the race tests beside the end-to-end tests)
// does not turn a quick answer into a timeout.
func (c Case) Timeout() time.Duration {
	switch {
	case c.Big:
		return 30 * time.Second
	case c.Slow:
		return 2 * time.Second
	}
	return 15 * time.Second
}

// Server is one case being served.
type Server struct {
	// URL is the Prometheus to query.
	URL string
	// TokenFile holds Token, for --prometheus-bearer-token-file.
	TokenFile string
	Token     string
	// CAFile holds the server's certificate when the case is served over https.
	CAFile string

	c     Case
	srv   *httptest.Server
	other *httptest.Server
	quit  chan struct{}
	once  sync.Once

	mu          sync.Mutex
	elsewhere   int      // requests the other host received
	leaked      []string // Authorization headers the other host received
	tokensAtURL int      // requests to URL that carried the token
}

// Start serves c until t ends.
func Start(t testing.TB, c Case) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{c: c, quit: make(chan struct{}), Token: "hostile-token-" + random(8), TokenFile: filepath.Join(dir, "token")}
	if err := os.WriteFile(s.TokenFile, []byte(s.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The other host: another origin (another port), which answers good data and notes every
	// Authorization header it receives.
	s.other = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.elsewhere++
		if a := r.Header.Get("Authorization"); a != "" {
			s.leaked = append(s.leaked, a)
		}
		s.mu.Unlock()
		answer(w, r, goodSeries(), nil, nil)
	}))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+s.Token {
			s.mu.Lock()
			s.tokensAtURL++
			s.mu.Unlock()
		}
		if !strings.HasPrefix(r.URL.Path, "/api/v1/query") {
			http.NotFound(w, r)
			return
		}
		c.serve(s, w, r)
	})
	var srv *httptest.Server
	if c.TLS {
		srv = httptest.NewTLSServer(h)
		s.CAFile = filepath.Join(dir, "ca.pem")
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(s.CAFile, ca, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		srv = httptest.NewServer(h)
	}
	s.URL, s.srv = srv.URL, srv
	t.Cleanup(s.Close)
	return s
}

// Close releases the handlers that wait and closes both servers and their connections; t's end
// does it too.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.quit)
		s.srv.Close()
		s.other.Close()
	})
}

// Flags are the Prometheus flags of a command against s: the URL, the token file, the CA file for
// https, and timeout.
func (s *Server) Flags(timeout time.Duration) []string {
	out := []string{"--prometheus-url", s.URL, "--prometheus-bearer-token-file", s.TokenFile, "--timeout", timeout.String()}
	if s.CAFile != "" {
		out = append(out, "--prometheus-ca-file", s.CAFile)
	}
	return out
}

// Elsewhere is how many requests reached the other host, and the Authorization headers among
// them.
func (s *Server) Elsewhere() (requests int, authorization []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.elsewhere, append([]string(nil), s.leaked...)
}

// TokenSeen reports whether a request to URL carried the token: that the plugin sent it where
// it belongs.
func (s *Server) TokenSeen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensAtURL > 0
}

// Decoded is a string as JSON decoding reads it: each byte that is not UTF-8 becomes U+FFFD.
func Decoded(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Series is one series of a data answer: its cluster name (also its listener prefix) and its
// values. Value answers every query but the success ratios (Ratio) and the latency quantiles
// (Latency), all as Prometheus writes a sample: "12", "NaN", "+Inf".
type Series struct {
	Name                  string
	Value, Ratio, Latency string
	// Labels are written as they are, after the name, when set: a repeated label, a long one.
	Labels [][2]string
}

func goodSeries() []Series {
	return []Series{{Name: "shop_checkout_8080", Value: "12", Ratio: "0.99", Latency: "25"}}
}

// named is one good series per name.
func named(names ...string) []Series {
	out := make([]Series, len(names))
	for i, n := range names {
		out[i] = Series{Name: n, Value: "12", Ratio: "0.99", Latency: "25"}
	}
	return out
}

// kind is the part of a series a query reads.
func kind(query string) string {
	switch {
	case strings.Contains(query, "histogram_quantile"):
		return "latency"
	case strings.Contains(query, " / "):
		return "ratio"
	}
	return "value"
}

func (s Series) value(query string) string {
	switch kind(query) {
	case "latency":
		return s.Latency
	case "ratio":
		return s.Ratio
	}
	return s.Value
}

// stream writes an answer as it goes. A failed write means the plugin has gone: the handler
// ends all the same.
type stream struct{ *bufio.Writer }

func (b stream) str(s string) { _, _ = b.WriteString(s) }
func (b stream) char(c byte)  { _ = b.WriteByte(c) }

// jsonString writes s as a JSON string as Prometheus does: quotes, backslashes and control
// characters escaped, every other byte as it is (invalid UTF-8 too).
func jsonString(b stream, s string) {
	b.char('"')
	start := 0 // of the bytes written as they are
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.str(s[start:i])
		start = i + 1
		if c < 0x20 {
			const hex = "0123456789abcdef"
			b.str(`\u00`)
			b.char(hex[c>>4])
			b.char(hex[c&0xf])
			continue
		}
		b.char('\\')
		b.char(c)
	}
	b.str(s[start:])
	b.char('"')
}

func writeMetric(b stream, s Series) {
	b.str(`{"envoy_cluster_name":`)
	jsonString(b, s.Name)
	b.str(`,"envoy_http_conn_manager_prefix":`)
	jsonString(b, s.Name)
	b.str(`,"envoy_response_code_class":"2","namespace":"shop","pod":"shop-0"`)
	for _, l := range s.Labels {
		b.char(',')
		jsonString(b, l[0])
		b.char(':')
		jsonString(b, l[1])
	}
	b.char('}')
}

func writeNotes(b stream, key string, notes []string) {
	if len(notes) == 0 {
		return
	}
	b.str(`,"` + key + `":[`)
	for i, n := range notes {
		if i > 0 {
			b.char(',')
		}
		jsonString(b, n)
	}
	b.char(']')
}

// answer writes series as the answer to r: a vector for an instant query, a matrix over the
// asked range for a range query. Queries of the recording rules' series get no series.
func answer(w http.ResponseWriter, r *http.Request, series []Series, warnings, infos []string) {
	_ = r.ParseForm()
	query := r.Form.Get("query")
	if strings.Contains(query, "envoy_cluster:") || strings.Contains(query, "istio_requests_total") {
		series = nil
	}
	w.Header().Set("Content-Type", "application/json")
	b := stream{bufio.NewWriterSize(w, 64<<10)}
	defer func() { _ = b.Flush() }()
	ranged := strings.HasSuffix(r.URL.Path, "query_range")
	t := float64(time.Now().UnixMilli()) / 1000
	if v, err := strconv.ParseFloat(r.Form.Get("time"), 64); err == nil {
		t = v
	}
	kind := "vector"
	if ranged {
		kind = "matrix"
	}
	b.str(`{"status":"success","data":{"resultType":"` + kind + `","result":[`)
	for i, s := range series {
		if i > 0 {
			b.char(',')
		}
		b.str(`{"metric":`)
		writeMetric(b, s)
		v := s.value(query)
		if !ranged {
			fmt.Fprintf(b, `,"value":[%.3f,"%s"]}`, t, v)
			continue
		}
		b.str(`,"values":[`)
		for j, at := range steps(r) {
			if j > 0 {
				b.char(',')
			}
			fmt.Fprintf(b, `[%.3f,"%s"]`, at, v)
		}
		b.str(`]}`)
	}
	b.str(`]}`)
	writeNotes(b, "warnings", warnings)
	writeNotes(b, "infos", infos)
	b.str("}")
}

// steps are the instants of a range query, at most 11,000 as Prometheus allows.
func steps(r *http.Request) []float64 {
	start, err1 := strconv.ParseFloat(r.Form.Get("start"), 64)
	end, err2 := strconv.ParseFloat(r.Form.Get("end"), 64)
	step, err3 := strconv.ParseFloat(r.Form.Get("step"), 64)
	if err1 != nil || err2 != nil || err3 != nil || step <= 0 {
		return nil
	}
	var out []float64
	for at := start; at <= end && len(out) < 11000; at += step {
		out = append(out, at)
	}
	return out
}

// serveSeries answers series to every query.
func serveSeries(series []Series, warnings, infos []string) func(*Server, http.ResponseWriter, *http.Request) {
	return func(_ *Server, w http.ResponseWriter, r *http.Request) { answer(w, r, series, warnings, infos) }
}

// serveBody answers every query with one status, content type and body.
func serveBody(code int, contentType, body string) func(*Server, http.ResponseWriter, *http.Request) {
	return func(_ *Server, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// wait holds a handler until the client goes or the test ends.
func (s *Server) wait(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.quit:
	}
}

// Hostile is text no terminal must act on: escape sequences that clear the screen, colour and
// set the window title, CR/LF, a bell, a bidi override and isolate, DEL, a C1 control (CSI) and
// a byte that is not UTF-8.
const Hostile = "\x1b[2J\x1b[31m\x1b]0;pwned\a\r\nforged\u202e\u2066\x7f\u009b\xff"

// SpoofedRow is a name whose line feed would print a row of its own.
const SpoofedRow = "a\nfake-row 999 100%"

// hostileNames are cluster names, one per kind of character a terminal acts on.
var hostileNames = []string{
	"esc_\x1b[2J\x1b[31mred",
	"crlf_\r\nforged 1.0 100.00%",
	"bel_\a\a",
	"bidi_\u202egnp.exe",
	"c1_\u009b31m\u0085",
	"utf8_\xff\xfe\xc0",
	"del_\x7f",
	"tab_\tcolumn",
	"everything_" + Hostile,
}

// html is an error page as a proxy in front of Prometheus answers one, with an escape sequence.
const html = "<!DOCTYPE html>\n<html><head><title>Error</title></head><body><h1>\x1b[2JInternal error</h1></body></html>\n"

const (
	mib = 1 << 20
	// junkSize is the size of the junk answer.
	junkSize = 200 * mib
)

var (
	bombOnce sync.Once
	bomb     []byte
)

// gzipBomb is a gzip stream of a few hundred KiB that holds the start of an answer and then 1 GiB
// of spaces: one member of 1 MiB, compressed once and repeated (gzip readers read concatenated
// members as one stream).
func gzipBomb() []byte {
	bombOnce.Do(func() {
		member := func(p []byte) []byte {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(p)
			_ = zw.Close()
			return buf.Bytes()
		}
		var out bytes.Buffer
		out.Write(member([]byte(`{"status":"success","data":{"resultType":"vector","result":[`)))
		spaces := member(bytes.Repeat([]byte(" "), mib))
		for range 1024 {
			out.Write(spaces)
		}
		bomb = out.Bytes()
	})
	return bomb
}

// SmallLimit is a --prometheus-max-answer-size that ends the cases over the limit (Err is
// AnswerLimitError) sooner, and SmallLimitError what their error then says.
const SmallLimit = "8Mi"

// SmallLimitError is AnswerLimitError under SmallLimit.
var SmallLimitError = []string{"larger than the limit of 8Mi", "raise it with --prometheus-max-answer-size, e.g. 16Mi"}

// AnswerLimitError is what the error line says of answers over --prometheus-max-answer-size:
// one answer, or the answers read at once together.
var AnswerLimitError = []string{"larger than the limit of 64Mi", "raise it with --prometheus-max-answer-size, e.g. 128Mi"}

// Cases is every misbehaviour, with its documented outcome.
func Cases() []Case {
	c := []Case{
		{Name: "invalid JSON", Want: "error: Prometheus answered bad_response",
			Err:   []string{"Prometheus answered bad_response"},
			serve: serveBody(http.StatusOK, "application/json", `{"status":"success","data":{"resultType":"vector","result":[}oops<html>`)},
		{Name: "truncated JSON", Want: "error: Prometheus answered bad_response: unexpected end of JSON input",
			Err:   []string{"Prometheus answered bad_response", "unexpected end of JSON input"},
			serve: serveBody(http.StatusOK, "application/json", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"envoy_cluster_name":"a"},"value":[1,"1"`)},
		{Name: "empty body", Want: "error: Prometheus answered bad_response",
			Err:   []string{"Prometheus answered bad_response"},
			serve: serveBody(http.StatusOK, "application/json", "")},
		{Name: "HTML with 200", Want: "error: Prometheus answered bad_response",
			Err:   []string{"Prometheus answered bad_response"},
			serve: serveBody(http.StatusOK, "text/html", html)},
		{Name: "matrix for a vector", Want: "error: answered a matrix, not an instant vector",
			Err:   []string{"answered a matrix, not an instant vector"},
			serve: serveBody(http.StatusOK, "application/json", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"envoy_cluster_name":"a"},"values":[[1,"1"]]}]}}`)},
		{Name: "scalar for a vector", Want: "error: answered a scalar, not an instant vector",
			Err:   []string{"answered a scalar, not an instant vector"},
			serve: serveBody(http.StatusOK, "application/json", `{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`)},
		{Name: "string for a vector", Want: `error: Prometheus answered bad_response: unexpected value type "string"`,
			Err:   []string{"Prometheus answered bad_response", `unexpected value type "string"`},
			serve: serveBody(http.StatusOK, "application/json", `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`)},
		{Name: "unknown result type", Want: `error: Prometheus answered bad_response: unknown value type, escaped`,
			Err:   []string{"Prometheus answered bad_response", `unknown value type`, `\x1b[2J`},
			serve: serveBody(http.StatusOK, "application/json", `{"status":"success","data":{"resultType":"\u001b[2J","result":[]}}`)},
		{Name: "status error", Want: "error: Prometheus answered bad_data and its message, escaped",
			Err:   []string{`Prometheus answered bad_data: parse error: \x1b[2J\x1b[31mred\r\n\u202eforged\a\u009b`},
			serve: serveBody(422, "application/json", `{"status":"error","errorType":"bad_data","error":"parse error: \u001b[2J\u001b[31mred\r\n\u202eforged\u0007\u009b"}`)},
		{Name: "status error without type or message", Want: "error: Prometheus answered an error with no type or message",
			Err:   []string{"Prometheus answered an error with no type or message"},
			serve: serveBody(http.StatusOK, "application/json", `{"status":"error"}`)},
		{Name: "status error without message", Want: "error: Prometheus answered execution with no message",
			Err:   []string{"Prometheus answered execution with no message"},
			serve: serveBody(http.StatusOK, "application/json", `{"status":"error","errorType":"execution"}`)},
		{Name: "status error without type", Want: "error: Prometheus answered an error with no type, and its message, escaped",
			Err:   []string{`Prometheus answered an error with no type: boom\x1b[5m`},
			serve: serveBody(http.StatusOK, "application/json", `{"status":"error","error":"boom\u001b[5m"}`)},
		{Name: "401 HTML", Want: "error: client error: 401", Err: []string{"client error: 401"}, serve: serveBody(401, "text/html", html)},
		{Name: "403 HTML", Want: "error: client error: 403, after the GET retry", Err: []string{"client error: 403"}, serve: serveBody(403, "text/html", html)},
		{Name: "404 HTML", Want: "error: client error: 404", Err: []string{"client error: 404"}, serve: serveBody(404, "text/html", html)},
		{Name: "500 HTML", Want: "error: server error: 500", Err: []string{"server error: 500"}, serve: serveBody(500, "text/html", html)},
		{Name: "502 empty", Want: "error: server error: 502", Err: []string{"server error: 502"}, serve: serveBody(502, "text/plain", "")},
		{Name: "503 HTML", Want: "error: server error: 503", Err: []string{"server error: 503"}, serve: serveBody(503, "text/html", html)},
		{Name: "vector for a range query", Names: []string{"shop_checkout_8080"},
			Want:    "top: the rows (it sends no range query); compare: error, answered a vector, not a range vector",
			Top:     Outcome{Rows: 1},
			Compare: Outcome{Err: []string{"answered a vector, not a range vector"}},
			serve: func(_ *Server, w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "query_range") {
					r.URL.Path = "/api/v1/query"
				}
				answer(w, r, goodSeries(), nil, nil)
			}},
		{Name: "short body", Want: "error: unexpected EOF", Err: []string{"unexpected EOF"},
			serve: func(_ *Server, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", "4096")
				_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[`)
			}},
		{Name: "redirect to another host", Redirect: true,
			Want: "the redirect is followed and the other host answers, without the token",
			Top:  Outcome{Rows: 1}, Names: []string{"shop_checkout_8080"},
			serve: redirectElsewhere},
		{Name: "redirect from https to http", TLS: true, Redirect: true,
			Want:  "error: refused Prometheus' redirect, it leaves https for plain http; the other host sees no request",
			Err:   []string{"refused Prometheus' redirect", "it leaves https for plain http"},
			serve: redirectElsewhere},
		{Name: "redirect loop", Want: "error: stopped after 10 redirects", Err: []string{"stopped after 10 redirects"},
			serve: func(_ *Server, w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, r.URL.RequestURI(), http.StatusTemporaryRedirect)
			}},
		{Name: "gzip garbage", Want: "error: flate: corrupt input", Err: []string{"flate: corrupt input"},
			serve: func(_ *Server, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				_, _ = w.Write([]byte("\x1f\x8b\x08\x00garbage\x1b[2J that is no deflate stream"))
			}},
		{Name: "gzip bomb", Big: true, Want: "error: larger than the limit of 64Mi, raise --prometheus-max-answer-size", Err: AnswerLimitError,
			serve: func(_ *Server, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				_, _ = w.Write(gzipBomb())
			}},
		{Name: "200 MiB of junk", Big: true, Want: "error: larger than the limit of 64Mi, raise --prometheus-max-answer-size", Err: AnswerLimitError,
			serve: func(_ *Server, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				chunk := bytes.Repeat([]byte("junk\x1b[2J\x00\xff"), 64<<10/8)
				for sent := 0; sent < junkSize; sent += len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}},
		{Name: "slow drip", Slow: true, Want: "error: no answer in time, within --timeout", Err: []string{"no answer in time"},
			serve: func(s *Server, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, `{"status":"success",`)
				tick := time.NewTicker(time.Second / 2)
				defer tick.Stop()
				for range 120 {
					select {
					case <-r.Context().Done():
						return
					case <-s.quit:
						return
					case <-tick.C:
					}
					if _, err := io.WriteString(w, " "); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			}},
		{Name: "never answers", Slow: true, Want: "error: no answer in time, within --timeout", Err: []string{"no answer in time"},
			serve: func(s *Server, _ http.ResponseWriter, r *http.Request) { s.wait(r) }},
		{Name: "headers then silence", Slow: true, Want: "error: no answer in time, within --timeout", Err: []string{"no answer in time"},
			serve: func(s *Server, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				s.wait(r)
			}},
		{Name: "label value of 16 MiB", Big: true, AtOnce: AnswerLimitError, Want: "error: a label value of 16777216 bytes, over the limit of 1 MiB",
			Err:   []string{"label value of 16777216 bytes", "over the limit of 1048576 bytes (1 MiB)"},
			serve: serveSeries([]Series{{Name: strings.Repeat("x", 16*mib), Value: "1", Ratio: "1", Latency: "1"}}, nil, nil)},
		{Name: "label value of 1 MiB and a byte", Big: true, AtOnce: AnswerLimitError, Want: "error: a label value of 1048577 bytes, over the limit of 1 MiB",
			Err:   []string{"label value of 1048577 bytes", "over the limit of 1048576 bytes (1 MiB)"},
			serve: serveSeries([]Series{{Name: strings.Repeat("\x1b", mib+1), Value: "1", Ratio: "1", Latency: "1"}}, nil, nil)},
		{Name: "label name of 1 MiB and a byte", Big: true, AtOnce: AnswerLimitError, Want: "error: a label name of 1048577 bytes, over the limit of 1 MiB",
			Err:   []string{"label name of 1048577 bytes", "over the limit of 1048576 bytes (1 MiB)"},
			serve: serveSeries([]Series{{Name: "a", Value: "1", Ratio: "1", Latency: "1", Labels: [][2]string{{strings.Repeat("n", mib+1), "v"}}}}, nil, nil)},
		{Name: "a million series", Big: true, Want: "error: larger than the limit of 64Mi, raise --prometheus-max-answer-size", Err: AnswerLimitError,
			serve: func(_ *Server, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				b := stream{bufio.NewWriterSize(w, 64<<10)}
				defer func() { _ = b.Flush() }()
				b.str(`{"status":"success","data":{"resultType":"vector","result":[`)
				var line []byte
				for i := range 1_000_000 {
					n := strconv.Itoa(10_000_000 + i)[1:] // seven digits
					line = append(line[:0], `{"metric":{"envoy_cluster_name":"cluster_`...)
					line = append(line, n...)
					line = append(line, `","envoy_http_conn_manager_prefix":"cluster_`...)
					line = append(line, n...)
					line = append(line, `"},"value":[1733300000.000,"1"]},`...)
					if i == 999_999 {
						line = line[:len(line)-1]
					}
					if _, err := b.Write(line); err != nil {
						return
					}
				}
				b.str(`]}}`)
			}},
		{Name: "no series", Want: "error: no Envoy cluster statistics (found when the dialect is discovered)",
			Err:   []string{"no Envoy cluster statistics (envoy_cluster_upstream_rq_total)"},
			serve: serveSeries(nil, nil, nil)},
		{Name: "hostile cluster names", Names: hostileNames,
			Want:  "one row per name, every control character shown as an escape",
			Top:   Outcome{Rows: len(hostileNames)},
			serve: serveSeries(named(hostileNames...), nil, nil)},
		{Name: "spoofed row", Names: []string{SpoofedRow, "real_cluster"},
			Want:  `two rows: the name prints as a\nfake-row 999 100% on one line`,
			Top:   Outcome{Rows: 2},
			serve: serveSeries(named(SpoofedRow, "real_cluster"), nil, nil)},
		{Name: "hostile warnings and infos", Names: []string{"shop_checkout_8080"}, Warnings: []string{hostileWarning},
			Want:  "the rows, and the warning on one line of stderr, escaped",
			Top:   Outcome{Rows: 1},
			serve: serveSeries(goodSeries(), []string{hostileWarning}, []string{"info\x1b]0;title\a\u009b"})},
		{Name: "negative rates", Names: []string{"negative"},
			Want:    "the row's rps and active requests are invalid",
			Top:     Outcome{Rows: 1, Invalid: []string{"rps", "active_requests"}},
			Compare: Outcome{Invalid: []string{"requests", "errors_5xx", "rps", "timeouts_per_second", "retries_per_second", "rps_steps"}},
			serve:   serveSeries([]Series{{Name: "negative", Value: "-5", Ratio: "0.99", Latency: "25"}}, nil, nil)},
		{Name: "success of 350%", Names: []string{"too_good"},
			Want:  "the row's success rate is invalid",
			Top:   Outcome{Rows: 1, Invalid: []string{"success_rate"}},
			serve: serveSeries([]Series{{Name: "too_good", Value: "12", Ratio: "3.5", Latency: "25"}}, nil, nil)},
		{Name: "p99 of 1e100", Names: []string{"slow"},
			Want:    "the row's latencies are invalid",
			Top:     Outcome{Rows: 1, Invalid: []string{"p50_ms", "p90_ms", "p99_ms"}},
			Compare: Outcome{Invalid: []string{"p50_ms", "p90_ms", "p99_ms", "p99_steps_ms"}},
			serve:   serveSeries([]Series{{Name: "slow", Value: "12", Ratio: "0.99", Latency: "1e100"}}, nil, nil)},
		{Name: "NaN", Names: []string{"nan"},
			Want:    "no data: dashes and null, nothing invalid; compare calls a NaN count invalid",
			Top:     Outcome{Rows: 1, NoData: true},
			Compare: Outcome{Invalid: []string{"requests", "errors_5xx"}},
			serve:   serveSeries([]Series{{Name: "nan", Value: "NaN", Ratio: "NaN", Latency: "NaN"}}, nil, nil)},
		{Name: "infinities", Names: []string{"inf"},
			Want: "every number is invalid",
			Top:  Outcome{Rows: 1, Invalid: []string{"rps", "success_rate", "p50_ms", "p90_ms", "p99_ms", "active_requests", "rps_4xx", "rps_5xx"}},
			Compare: Outcome{Invalid: []string{"requests", "errors_5xx", "rps", "p50_ms", "p90_ms", "p99_ms",
				"timeouts_per_second", "retries_per_second", "p99_steps_ms", "rps_steps"}},
			serve: serveSeries([]Series{{Name: "inf", Value: "+Inf", Ratio: "-Inf", Latency: "+Inf"}}, nil, nil)},
		{Name: "duplicate series", Names: []string{"dup"},
			Want: "one row per name, however often its series repeat",
			Top:  Outcome{Rows: 1},
			serve: serveSeries(append(named("dup", "dup", "dup"), Series{Name: "dup", Value: "12", Ratio: "0.99", Latency: "25",
				Labels: [][2]string{{"envoy_cluster_name", "dup"}}}), nil, nil)},
	}
	for i := range c {
		if c[i].Err != nil {
			c[i].Top, c[i].Compare = Outcome{Err: c[i].Err}, Outcome{Err: c[i].Err}
		}
	}
	return c
}

const hostileWarning = "partial\x1b[2J\r\nwarning: forged\u202e\a"

func redirectElsewhere(s *Server, w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, s.other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
}
