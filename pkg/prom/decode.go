package prom

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// The result types decoded.
const (
	vectorType = "vector"
	matrixType = "matrix"
)

// answer is one decoded answer of /api/v1/query or /api/v1/query_range.
type answer struct {
	status     string
	errorType  string
	errorMsg   string
	resultType string
	vector     traffic.Vector
	matrix     model.Matrix
	warnings   []string
	infos      []string
}

// decodeAnswer turns the status code and body of a query answer into the answer, or into the
// error client_golang's v1 API reports for them (*promv1.Error, with the same types and texts).
// want is the result type decoded: a result of another type is only named in resultType.
func decodeAnswer(code int, body []byte, want string, cache *labelCache) (answer, error) {
	if code/100 != 2 {
		// Prometheus answers its own errors with 400 or 422 and the error envelope; anything
		// else (a proxy's 503 page, say) is a bare HTTP error.
		if code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
			return answer{}, httpError(code, body)
		}
		a, err := decodeEnvelope(body, "", nil)
		if err != nil {
			return answer{}, httpError(code, body)
		}
		if a.status == "success" {
			return answer{}, &promv1.Error{Type: promv1.ErrBadResponse, Msg: "inconsistent body for response code"}
		}
		if a.errorType == "" {
			a.errorType = string(promv1.ErrClient)
		}
		if a.errorMsg == "" {
			a.errorMsg = fmt.Sprintf("client error: %d", code)
		}
		return answer{}, &promv1.Error{Type: promv1.ErrorType(a.errorType), Msg: a.errorMsg}
	}
	a, err := decodeEnvelope(body, want, cache)
	if err != nil {
		return answer{}, &promv1.Error{Type: promv1.ErrBadResponse, Msg: err.Error()}
	}
	if a.status == "error" {
		return answer{}, &promv1.Error{Type: promv1.ErrorType(a.errorType), Msg: a.errorMsg}
	}
	switch a.resultType {
	case "scalar", vectorType, matrixType:
	case "", "string":
		if a.resultType == "" {
			a.resultType = "<ValNone>"
		}
		return answer{}, &promv1.Error{Type: promv1.ErrBadResponse, Msg: fmt.Sprintf("unexpected value type %q", a.resultType)}
	default:
		return answer{}, &promv1.Error{Type: promv1.ErrBadResponse, Msg: fmt.Sprintf("unknown value type %q", a.resultType)}
	}
	return a, nil
}

// httpError is the error for an HTTP status that carries no API answer.
func httpError(code int, body []byte) error {
	e := &promv1.Error{Type: promv1.ErrBadResponse, Msg: fmt.Sprintf("bad response code %d", code), Detail: string(body)}
	switch code / 100 {
	case 4:
		e.Type, e.Msg = promv1.ErrClient, fmt.Sprintf("client error: %d", code)
	case 5:
		e.Type, e.Msg = promv1.ErrServer, fmt.Sprintf("server error: %d", code)
	}
	return e
}

// decodeEnvelope decodes body with the scanner below and, where the scanner declines (native
// histograms, JSON it does not expect), with encoding/json and the model types' own decoders.
func decodeEnvelope(body []byte, want string, cache *labelCache) (answer, error) {
	d := scanner{b: body, cache: cache}
	a, err := d.envelope(want)
	if !errors.Is(err, errDecline) {
		return a, err
	}
	return decodeStd(body, want)
}

// maxLabelBytes bounds a label name or value in an answer. Prometheus' labels write a string's
// length in at most three bytes: they panic on a longer one than 16 MiB, and a string of exactly
// 16 MiB corrupts them. No real series has a label of even a few KiB (Prometheus' own default
// limits are lower still), so 1 MiB refuses only a broken or hostile answer, well before that
// limit.
const maxLabelBytes = 1 << 20

// checkLabels refuses a label set with a name or value over maxLabelBytes, before it reaches
// labels.Labels.
func checkLabels(m model.Metric) error {
	for name, value := range m {
		what, size := "", 0
		switch {
		case len(name) > maxLabelBytes:
			what, size = "name", len(name)
		case len(value) > maxLabelBytes:
			what, size = "value", len(value)
		default:
			continue
		}
		return fmt.Errorf("series %s has a label %s of %d bytes, over the limit of %d bytes (1 MiB) on label names and values", describe(m), what, size, maxLabelBytes)
	}
	return nil
}

// describe shows a label set for an error: its metric name and labels, sorted, each name and
// value cut to a few dozen bytes, and quoted where they are not plain.
func describe(m model.Metric) string {
	const (
		part  = 40
		whole = 240
	)
	var b strings.Builder
	b.WriteString(short(string(m[model.MetricNameLabel]), part, false))
	b.WriteByte('{')
	names := make([]string, 0, len(m))
	for name := range m {
		if name != model.MetricNameLabel {
			names = append(names, string(name))
		}
	}
	sort.Strings(names)
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		if b.Len() > whole {
			b.WriteString("…")
			break
		}
		b.WriteString(short(name, part, false))
		b.WriteByte('=')
		b.WriteString(short(string(m[model.LabelName(name)]), part, true))
	}
	b.WriteByte('}')
	return b.String()
}

// short cuts s to about n bytes, at a character's start, and quotes it if quote is set or it is
// not a plain label name.
func short(s string, n int, quote bool) string {
	cut := len(s) > n
	if cut {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	plain := !quote
	for i := 0; plain && i < len(s); i++ {
		c := s[i]
		plain = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if !plain {
		s = strconv.Quote(s)
	}
	if cut {
		s += "…"
	}
	return s
}

// decodeStd decodes body with encoding/json into the model types.
func decodeStd(body []byte, want string) (answer, error) {
	var env struct {
		Status    string   `json:"status"`
		ErrorType string   `json:"errorType"`
		Error     string   `json:"error"`
		Warnings  []string `json:"warnings"`
		Infos     []string `json:"infos"`
		Data      *struct {
			Type   string          `json:"resultType"`
			Result json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return answer{}, err
	}
	a := answer{status: env.Status, errorType: env.ErrorType, errorMsg: env.Error, warnings: env.Warnings, infos: env.Infos}
	if env.Data == nil {
		return a, nil
	}
	a.resultType = env.Data.Type
	if a.resultType != want {
		return a, nil
	}
	switch want {
	case vectorType:
		var v model.Vector
		if err := json.Unmarshal(env.Data.Result, &v); err != nil {
			return answer{}, err
		}
		vec, err := fromModel(v)
		if err != nil {
			return answer{}, err
		}
		a.vector = vec
	case matrixType:
		if err := json.Unmarshal(env.Data.Result, &a.matrix); err != nil {
			return answer{}, err
		}
		for _, ss := range a.matrix {
			if err := checkLabels(ss.Metric); err != nil {
				return answer{}, err
			}
		}
	}
	return a, nil
}

// fromModel turns the model types' vector into the collector's. A native histogram sample keeps
// its labels and has no float value (0), as in the model types.
func fromModel(v model.Vector) (traffic.Vector, error) {
	out := make(traffic.Vector, 0, len(v))
	for _, smp := range v {
		if err := checkLabels(smp.Metric); err != nil {
			return nil, err
		}
		b := labels.NewScratchBuilder(len(smp.Metric))
		for name, value := range smp.Metric {
			b.Add(string(name), string(value))
		}
		b.Sort()
		out = append(out, traffic.Sample{Metric: b.Labels(), Value: float64(smp.Value)})
	}
	return out, nil
}

// errDecline makes the scanner hand the body to encoding/json.
var errDecline = errors.New("not a plain query answer")

// scanner decodes the query API's envelope and float samples in one pass over the body, without
// reflection. It accepts what Prometheus writes and declines the rest.
type scanner struct {
	b       []byte
	i       int
	names   map[string]model.LabelName
	labels  []labelPair
	builder labels.ScratchBuilder
	cache   *labelCache
}

type labelPair struct {
	name  model.LabelName
	value model.LabelValue
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte, or 0 at the end.
func (s *scanner) next() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	if s.next() != c {
		return errDecline
	}
	s.i++
	return nil
}

// null consumes a null if one comes next.
func (s *scanner) null() bool {
	if s.next() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// more is the loop condition of an object or array after its opening bracket: it consumes a
// separating comma and reports whether another member follows, or consumes the closing bracket.
func (s *scanner) more(end byte, first *bool) (bool, error) {
	c := s.next()
	if c == end {
		s.i++
		return false, nil
	}
	if !*first {
		if c != ',' {
			return false, errDecline
		}
		s.i++
	}
	*first = false
	return true, nil
}

// key is an object's key as read: its bytes without quotes, with quotes (for unescape), and whether
// they need unescaping.
type key struct {
	raw, quoted []byte
	plain       bool
}

// array reads a JSON array, calling elem where each element starts.
func (s *scanner) array(elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	for first := true; ; {
		ok, err := s.more(']', &first)
		if err != nil || !ok {
			return err
		}
		if err := elem(); err != nil {
			return err
		}
	}
}

// object reads a JSON object, calling field with each key where its value starts.
func (s *scanner) object(field func(k key) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	for first := true; ; {
		ok, err := s.more('}', &first)
		if err != nil || !ok {
			return err
		}
		raw, plain, err := s.rawString()
		if err != nil {
			return err
		}
		k := key{raw: raw, quoted: s.b[s.i-len(raw)-2 : s.i], plain: plain}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := field(k); err != nil {
			return err
		}
	}
}

// fields reads a JSON object of the answer's own structure, calling field with each key; keys
// that need unescaping are not ones it knows, so they send the answer to encoding/json.
func (s *scanner) fields(field func(name string) error) error {
	return s.object(func(k key) error {
		if !k.plain {
			return errDecline
		}
		return field(string(k.raw))
	})
}

// rawString returns the bytes of the next string without its quotes, and whether they need
// unescaping (or are not valid UTF-8) before use.
func (s *scanner) rawString() (raw []byte, plain bool, err error) {
	if s.next() != '"' {
		return nil, false, errDecline
	}
	start := s.i + 1
	plain = true
	ascii := true
	for i := start; i < len(s.b); i++ {
		// Most bytes of a label are printable ASCII: skip them in a tight loop.
		for i < len(s.b) && printable[s.b[i]] {
			i++
		}
		if i == len(s.b) {
			break
		}
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			if !ascii && plain && !utf8.Valid(s.b[start:i]) {
				plain = false
			}
			return s.b[start:i], plain, nil
		case c == '\\':
			plain = false
			i++
		case c < 0x20:
			return nil, false, errDecline
		default: // c >= 0x80
			ascii = false
		}
	}
	return nil, false, errDecline
}

// printable marks the bytes a string may hold as they are: ASCII from the space on, but the
// quote and the backslash.
var printable = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) str() (string, error) {
	raw, plain, err := s.rawString()
	if err != nil {
		return "", err
	}
	if plain {
		return string(raw), nil
	}
	return unescape(s.b[s.i-len(raw)-2 : s.i])
}

// unescape decodes a quoted JSON string with escapes as encoding/json does.
func unescape(quoted []byte) (string, error) {
	var v string
	if err := json.Unmarshal(quoted, &v); err != nil {
		return "", errDecline
	}
	return v, nil
}

// strings reads an array of strings or null.
func (s *scanner) strings() ([]string, error) {
	if s.null() {
		return nil, nil
	}
	out := []string{}
	err := s.array(func() error {
		v, err := s.str()
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// skip passes over any value, which must be valid JSON.
func (s *scanner) skip() error {
	start := s.i
	if err := s.skipValue(); err != nil {
		return err
	}
	if !json.Valid(s.b[start:s.i]) {
		return errDecline
	}
	return nil
}

// skipUnless skips the value of a key that is none of known; a key that only differs from one of
// them in case is one encoding/json would read as that one, so it declines.
func (s *scanner) skipUnless(name string, known ...string) error {
	for _, k := range known {
		if strings.EqualFold(name, k) {
			return errDecline
		}
	}
	return s.skip()
}

func (s *scanner) skipValue() error {
	switch c := s.next(); c {
	case '"':
		_, _, err := s.rawString()
		return err
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, _, err := s.rawString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return errDecline
	default:
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if s.i == start {
					return errDecline
				}
				return nil
			}
			s.i++
		}
		if s.i == start {
			return errDecline
		}
		return nil
	}
}

func (s *scanner) envelope(want string) (answer, error) {
	var a answer
	sawData := false
	err := s.fields(func(name string) error {
		var err error
		switch name {
		case "status":
			a.status, err = s.nullableStr()
		case "errorType":
			a.errorType, err = s.nullableStr()
		case "error":
			a.errorMsg, err = s.nullableStr()
		case "warnings":
			a.warnings, err = s.strings()
		case "infos":
			a.infos, err = s.strings()
		case "data":
			if sawData {
				return errDecline // encoding/json merges a repeated data object
			}
			sawData = true
			err = s.data(&a, want)
		default:
			err = s.skipUnless(name, "status", "errorType", "error", "warnings", "infos", "data")
		}
		return err
	})
	if err != nil {
		return a, err
	}
	if s.ws(); s.i != len(s.b) {
		return a, errDecline
	}
	return a, nil
}

func (s *scanner) nullableStr() (string, error) {
	if s.null() {
		return "", nil
	}
	return s.str()
}

func (s *scanner) data(a *answer, want string) error {
	if s.null() {
		return nil
	}
	result := -1 // where the result starts if it comes before its type
	seen, sawType := false, false
	err := s.fields(func(name string) error {
		switch name {
		case "resultType":
			if sawType {
				return errDecline
			}
			sawType = true
			t, err := s.nullableStr()
			a.resultType = t
			return err
		case "result":
			if seen {
				return errDecline
			}
			seen = true
			if a.resultType == "" {
				s.ws()
				result = s.i
				return s.skip()
			}
			return s.result(a, want)
		}
		return s.skipUnless(name, "resultType", "result")
	})
	if err != nil {
		return err
	}
	if !seen && a.resultType == want {
		return errDecline // encoding/json refuses a missing result
	}
	if result >= 0 && a.resultType != "" {
		end := s.i
		s.i = result
		if err := s.result(a, want); err != nil {
			return err
		}
		s.i = end
	}
	return nil
}

func (s *scanner) result(a *answer, want string) error {
	if a.resultType != want {
		return s.skip()
	}
	if s.null() {
		return nil
	}
	switch want {
	case vectorType:
		v, err := s.vector()
		a.vector = v
		return err
	case matrixType:
		m, err := s.matrix()
		a.matrix = m
		return err
	}
	return s.skip()
}

// vector and labelSet read the bulk of every answer; they loop by hand rather than through
// array and object, whose closures cost about a tenth of the decoding time here. A sample's
// timestamp is checked and dropped: in an instant vector it is the query's instant.
func (s *scanner) vector() (traffic.Vector, error) {
	if err := s.expect('['); err != nil {
		return nil, err
	}
	var v traffic.Vector
	for first := true; ; {
		ok, err := s.more(']', &first)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if err := s.expect('{'); err != nil {
			return nil, err
		}
		var smp traffic.Sample
		sawMetric := false
		for first := true; ; {
			ok, err := s.more('}', &first)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			key, plain, err := s.rawString()
			if err != nil || !plain {
				return nil, errDecline
			}
			if err := s.expect(':'); err != nil {
				return nil, err
			}
			// encoding/json merges a repeated metric into the first: leave that to it.
			switch string(key) {
			case "metric":
				if sawMetric {
					return nil, errDecline
				}
				sawMetric = true
				smp.Metric, err = s.labelSet()
			case "value":
				var value model.SampleValue
				_, value, err = s.pair()
				smp.Value = float64(value)
			default:
				// A native histogram, or something newer: encoding/json knows the model.
				err = errDecline
			}
			if err != nil {
				return nil, err
			}
		}
		v = append(v, smp)
	}
	return v, nil
}

// labelSet reads a label set into the labels.Labels Prometheus itself uses: one string per
// sample, found in the cache when the same text was read before. The builder copies names and
// values out of the body when it makes that string, so until then it is handed views of the
// body rather than copies.
func (s *scanner) labelSet() (labels.Labels, error) {
	if s.null() {
		return labels.EmptyLabels(), nil
	}
	start := s.i
	if err := s.expect('{'); err != nil {
		return labels.EmptyLabels(), err
	}
	s.builder.Reset()
	tooLong := false
	for first := true; ; {
		ok, err := s.more('}', &first)
		if err != nil {
			return labels.EmptyLabels(), err
		}
		if !ok {
			break
		}
		name, err := s.view()
		if err != nil {
			return labels.EmptyLabels(), err
		}
		if err := s.expect(':'); err != nil {
			return labels.EmptyLabels(), err
		}
		value, err := s.view()
		if err != nil {
			return labels.EmptyLabels(), err
		}
		tooLong = tooLong || len(name) > maxLabelBytes || len(value) > maxLabelBytes
		s.builder.Add(name, value)
	}
	if tooLong {
		// Read the set again into the model types, which say which label is too long. A repeated
		// name may have replaced the long one: encoding/json reads such a set.
		s.i = start
		if _, err := s.metric(); err != nil {
			return labels.EmptyLabels(), err
		}
		return labels.EmptyLabels(), errDecline
	}
	text := s.b[start:s.i]
	if ls, ok := s.cache.get(text); ok {
		return ls, nil
	}
	s.builder.Sort()
	ls := s.builder.Labels()
	if _, dup := ls.HasDuplicateLabelNames(); dup {
		// encoding/json keeps the last of a repeated key.
		return labels.EmptyLabels(), errDecline
	}
	s.cache.put(string(text), ls)
	return ls, nil
}

// view reads a string as a view of the body when it has no escapes, else as a copy. A view is
// only valid while the body is, and must not outlive the decoding.
func (s *scanner) view() (string, error) {
	raw, plain, err := s.rawString()
	if err != nil {
		return "", err
	}
	if !plain {
		return unescape(s.b[s.i-len(raw)-2 : s.i])
	}
	if len(raw) == 0 {
		return "", nil
	}
	return unsafe.String(&raw[0], len(raw)), nil
}

func (s *scanner) matrix() (model.Matrix, error) {
	var streams []model.SampleStream
	err := s.array(func() error {
		var ss model.SampleStream
		sawMetric := false
		err := s.fields(func(name string) error {
			var err error
			switch name {
			case "metric":
				if sawMetric {
					return errDecline // encoding/json merges a repeated metric into the first
				}
				sawMetric = true
				ss.Metric, err = s.metric()
			case "values":
				ss.Values, err = s.pairs()
			default:
				err = errDecline
			}
			return err
		})
		streams = append(streams, ss)
		return err
	})
	if err != nil {
		return nil, err
	}
	m := make(model.Matrix, len(streams))
	for i := range streams {
		m[i] = &streams[i]
	}
	return m, nil
}

func (s *scanner) pairs() ([]model.SamplePair, error) {
	if s.null() {
		return nil, nil
	}
	out := []model.SamplePair{}
	err := s.array(func() error {
		t, v, err := s.pair()
		out = append(out, model.SamplePair{Timestamp: t, Value: v})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// metric reads a label set into the model types, for range answers. Label names repeat from sample to sample, so one string serves them
// all.
func (s *scanner) metric() (model.Metric, error) {
	if s.null() {
		return nil, nil
	}
	if err := s.expect('{'); err != nil {
		return nil, err
	}
	if s.names == nil {
		s.names = map[string]model.LabelName{}
	}
	s.labels = s.labels[:0]
	for first := true; ; {
		ok, err := s.more('}', &first)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		raw, plain, err := s.rawString()
		if err != nil {
			return nil, err
		}
		var name model.LabelName
		if !plain {
			n, err := unescape(s.b[s.i-len(raw)-2 : s.i])
			if err != nil {
				return nil, err
			}
			name = model.LabelName(n)
		} else if n, ok := s.names[string(raw)]; ok {
			name = n
		} else {
			name = model.LabelName(raw)
			s.names[string(name)] = name
		}
		if err := s.expect(':'); err != nil {
			return nil, err
		}
		value, err := s.str()
		if err != nil {
			return nil, err
		}
		s.labels = append(s.labels, labelPair{name: name, value: model.LabelValue(value)})
	}
	m := make(model.Metric, len(s.labels))
	for _, p := range s.labels {
		m[p.name] = p.value
	}
	return m, checkLabels(m)
}

// pair reads [timestamp, "value"].
func (s *scanner) pair() (model.Time, model.SampleValue, error) {
	if err := s.expect('['); err != nil {
		return 0, 0, err
	}
	s.ws()
	start := s.i
	if err := s.skipValue(); err != nil {
		return 0, 0, err
	}
	t, err := parseTime(s.b[start:s.i])
	if err != nil {
		return 0, 0, err
	}
	if err := s.expect(','); err != nil {
		return 0, 0, err
	}
	raw, plain, err := s.rawString()
	if err != nil || !plain {
		return 0, 0, errDecline
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, 0, errDecline
	}
	if err := s.expect(']'); err != nil {
		return 0, 0, err
	}
	return t, model.SampleValue(f), nil
}

// parseTime reads a timestamp in seconds, as Prometheus writes it (digits, then up to three
// decimals), into milliseconds, exactly as model.Time's UnmarshalJSON does.
func parseTime(b []byte) (model.Time, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var sec, ms int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if i >= 15 {
			return 0, errDecline
		}
		sec = sec*10 + int64(b[i]-'0')
	}
	if i == 0 || (i > 1 && b[0] == '0') { // JSON has no leading zeros
		return 0, errDecline
	}
	if i < len(b) {
		if b[i] != '.' {
			return 0, errDecline
		}
		frac := b[i+1:]
		if len(frac) == 0 || len(frac) > 3 {
			return 0, errDecline
		}
		for _, c := range frac {
			if c < '0' || c > '9' {
				return 0, errDecline
			}
			ms = ms*10 + int64(c-'0')
		}
		for range 3 - len(frac) {
			ms *= 10
		}
	}
	t := sec*1000 + ms
	if neg {
		t = -t
	}
	return model.Time(t), nil
}
