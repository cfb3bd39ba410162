package prom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// fixed answers whatever it is asked with its status and body, which tests change as they go.
type fixed struct {
	mu     sync.Mutex
	status int
	body   string
}

func (f *fixed) set(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func (f *fixed) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	status, body := f.status, f.body
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// both is this package's client and client_golang's v1 API on the same server.
func both(t *testing.T, h http.Handler) (*Client, promv1.API) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ac, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c, promv1.NewAPI(ac)
}

// sameVector reports how got differs from want, the model types' decoding, sample by sample:
// the same labels and value, with NaN equal to NaN; a native histogram sample has value 0 in
// both. Instant samples carry no timestamp of their own.
func sameVector(got traffic.Vector, want model.Vector) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d samples, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		m := make(map[string]string, len(w.Metric))
		for name, value := range w.Metric {
			m[string(name)] = string(value)
		}
		if !labels.Equal(g.Metric, labels.FromMap(m)) || !model.SampleValue(g.Value).Equal(w.Value) {
			return fmt.Sprintf("sample %d = %v %v, want %v %v", i, g.Metric, g.Value, w.Metric, w.Value)
		}
	}
	return ""
}

func sameMatrix(got, want model.Matrix) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d series, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !reflect.DeepEqual(g.Metric, w.Metric) || len(g.Values) != len(w.Values) || !reflect.DeepEqual(g.Histograms, w.Histograms) {
			return fmt.Sprintf("series %d = %#v, want %#v", i, g, w)
		}
		for j := range g.Values {
			if !g.Values[j].Equal(&w.Values[j]) {
				return fmt.Sprintf("series %d point %d = %v, want %v", i, j, g.Values[j], w.Values[j])
			}
		}
	}
	return ""
}

// TestVectorsAsClientGolang decodes hand-written answers, including special values, escaped
// label values, odd timestamps and a native histogram, and expects what client_golang decodes
// from the same bytes.
func TestVectorsAsClientGolang(t *testing.T) {
	f := &fixed{}
	c, v1 := both(t, f)
	for name, result := range map[string]string{
		"empty":       `"resultType":"vector","result":[]`,
		"null":        `"resultType":"vector","result":null`,
		"special":     `"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1700000000.123,"NaN"]},{"metric":{"a":"2"},"value":[1700000000.1,"+Inf"]},{"metric":{"a":"3"},"value":[1700000000,"-Inf"]},{"metric":{},"value":[1700000000.12,"-0"]},{"metric":{"a":"5"},"value":[1700000000.5,"1e-300"]},{"metric":{"a":"6"},"value":[1700000000.5,"12345.678901234567"]}]`,
		"escaped":     `"resultType":"vector","result":[{"metric":{"q":"say \"hi\"","b":"C:\\dir\\","u":"caf\u00e9 \ud83d\ude00","s":"a\/b\tc\n","h":"\u003chtml\u003e \u0026","raw":"café 😀","e":""},"value":[1,"1"]}]`,
		"escapedKey":  `"resultType":"vector","result":[{"metric":{"k\u0041":"v"},"value":[1,"1"]}]`,
		"repeatedKey": `"resultType":"vector","result":[{"metric":{"a":"1","b":"x","a":"2"},"value":[1,"1"]}]`,
		"order":       `"result":[{"value":[1700000000.001,"2"],"metric":{"b":"x","a":"y"}}],"resultType":"vector"`,
		"spaces":      "\n \"resultType\" : \"vector\" ,\n\t\"result\" : [ { \"metric\" : { \"a\" : \"b\" } , \"value\" : [ 1700000000.25 , \"3\" ] } ] \n",
		"timestamps":  `"resultType":"vector","result":[{"metric":{"a":"1"},"value":[-1.5,"1"]},{"metric":{"a":"2"},"value":[1700000000.1239,"1"]},{"metric":{"a":"3"},"value":[0.001,"1"]},{"metric":{"a":"4"},"value":[-0.5,"1"]}]`,
		"histogram":   `"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"h"},"histogram":[1700000000.5,{"count":"3","sum":"4.5","buckets":[[1,"0.5","1","2"],[0,"1","2","1"]]}]}]`,
		"stats":       `"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]}],"stats":{"timings":{"evalTotalTime":0.1},"samples":{"totalQueryableSamples":3}}`,
	} {
		t.Run(name, func(t *testing.T) {
			f.set(http.StatusOK, `{"status":"success","data":{`+result+`}}`)
			res, err := c.Query(context.Background(), "q", time.Unix(1700000000, 0))
			want, _, _, wantErr := v1.Query(context.Background(), "q", time.Unix(1700000000, 0))
			if err != nil || wantErr != nil {
				t.Fatalf("got %v, client_golang %v", err, wantErr)
			}
			if d := sameVector(res.Vector, want.(model.Vector)); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestRandomVectorsAsClientGolang encodes random vectors (label values of any character,
// special and extreme values) and expects them back, as client_golang decodes them.
func TestRandomVectorsAsClientGolang(t *testing.T) {
	f := &fixed{}
	c, v1 := both(t, f)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("az09_\"\\/\n\t\x00\x1f<>&é😀\u2028\ufffd ")
	randString := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	values := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64, -1.5}
	for round := range 200 {
		vec := make(model.Vector, rng.IntN(20))
		for i := range vec {
			m := model.Metric{}
			for range rng.IntN(5) {
				m[model.LabelName(fmt.Sprintf("l%d", rng.IntN(4)))] = model.LabelValue(randString())
			}
			v := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
			if rng.IntN(4) == 0 {
				v = values[rng.IntN(len(values))]
			}
			vec[i] = &model.Sample{Metric: m, Value: model.SampleValue(v), Timestamp: model.Time(rng.Int64N(4e12) - 1e12)}
		}
		result, err := json.Marshal(vec)
		if err != nil {
			t.Fatal(err)
		}
		f.set(http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":`+string(result)+`}}`)
		res, err := c.Query(context.Background(), "q", time.Time{})
		want, _, _, wantErr := v1.Query(context.Background(), "q", time.Time{})
		if err != nil || wantErr != nil {
			t.Fatalf("round %d: got %v, client_golang %v", round, err, wantErr)
		}
		if d := sameVector(res.Vector, vec); d != "" {
			t.Fatalf("round %d against the original: %s", round, d)
		}
		if d := sameVector(res.Vector, want.(model.Vector)); d != "" {
			t.Fatalf("round %d against client_golang: %s", round, d)
		}
		// The same answer again reads every label set from the client's cache.
		again, err := c.Query(context.Background(), "q", time.Time{})
		if err != nil {
			t.Fatalf("round %d again: %v", round, err)
		}
		if d := sameVector(again.Vector, vec); d != "" {
			t.Fatalf("round %d again, from the cache: %s", round, d)
		}
	}
}

func TestMatrixAndScalar(t *testing.T) {
	f := &fixed{}
	c, v1 := both(t, f)
	ctx := context.Background()
	start, end := time.Unix(1700000000, 0), time.Unix(1700000060, 0)
	for _, result := range []string{
		`"resultType":"matrix","result":[{"metric":{"a":"x\"y"},"values":[[1700000000,"1"],[1700000030.5,"NaN"],[1700000060,"+Inf"]]},{"metric":{},"values":[]}]`,
		`"resultType":"matrix","result":[{"metric":{"a":"h"},"histograms":[[1700000000,{"count":"1","sum":"1","buckets":[[0,"0","1","1"]]}]]}]`,
	} {
		f.set(http.StatusOK, `{"status":"success","data":{`+result+`},"warnings":["partial"]}`)
		m, warnings, err := c.QueryRange(ctx, "q", start, end, 30*time.Second)
		want, _, _, wantErr := v1.QueryRange(ctx, "q", promv1.Range{Start: start, End: end, Step: 30 * time.Second})
		if err != nil || wantErr != nil || len(warnings) != 1 || warnings[0] != "partial" {
			t.Fatalf("got %v %v, client_golang %v", warnings, err, wantErr)
		}
		if d := sameMatrix(m, want.(model.Matrix)); d != "" {
			t.Error(d)
		}
	}

	f.set(http.StatusOK, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2"]}}`)
	if _, err := c.Query(ctx, "1 + 1", start); err == nil || !strings.HasSuffix(err.Error(), "answered a scalar, not an instant vector") {
		t.Errorf("scalar: %v", err)
	}
	if _, _, err := c.QueryRange(ctx, "1 + 1", start, end, time.Minute); err == nil || !strings.HasSuffix(err.Error(), "answered a scalar, not a range vector") {
		t.Errorf("scalar range: %v", err)
	}
	f.set(http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	if _, _, err := c.QueryRange(ctx, "up", start, end, time.Minute); err == nil || !strings.HasSuffix(err.Error(), "answered a vector, not a range vector") {
		t.Errorf("vector for a range: %v", err)
	}
}

// TestErrorsAsClientGolang expects the error client_golang reports for the same status and
// body, and the text the rest of the plugin shows.
func TestErrorsAsClientGolang(t *testing.T) {
	f := &fixed{}
	c, v1 := both(t, f)
	for _, tc := range []struct {
		status int
		body   string
		text   string
		// jsoniter words client_golang's errors inside a result its own way.
		otherWording bool
	}{
		{400, `{"status":"error","errorType":"bad_data","error":"1:8: parse error: unclosed left parenthesis"}`, "Prometheus answered bad_data: 1:8: parse error: unclosed left parenthesis", false},
		{422, `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`, "Prometheus answered execution: query processing would load too many samples", false},
		{422, `{"status":"error"}`, "Prometheus answered client_error: client error: 422", false},
		{400, `{"status":"success","data":{"resultType":"vector","result":[]}}`, "Prometheus answered bad_response: inconsistent body for response code", false},
		{400, `not json`, "Prometheus answered client_error: client error: 400", false},
		{503, "<html><body>Service Unavailable</body></html>", "Prometheus answered server_error: server error: 503", false},
		{404, `404 page not found`, "Prometheus answered client_error: client error: 404", false},
		{302, ``, "Prometheus answered bad_response: bad response code 302", false},
		{200, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`, "Prometheus answered timeout: query timed out in expression evaluation", false},
		{200, `{"status":"error"}`, "Prometheus answered an error with no type or message", false},
		{200, `{"status":"error","error":"boom"}`, "Prometheus answered an error with no type: boom", false},
		{200, `{"status":"error","errorType":"internal","error":" "}`, "Prometheus answered internal with no message", false},
		{200, `<html>oops</html>`, "Prometheus answered bad_response: invalid character '<' looking for beginning of value", false},
		{200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"x"]}]}}`, `Prometheus answered bad_response: strconv.ParseFloat: parsing "x": invalid syntax`, true},
		{200, `{"status":"success","data":{"resultType":"vector","result":[]}} trailing`, "Prometheus answered bad_response: invalid character 't' after top-level value", false},
		{200, `{"status":"success","data":{"resultType":"string","result":[1,"s"]}}`, `Prometheus answered bad_response: unexpected value type "string"`, false},
		{200, `{"status":"success","data":{"resultType":"nonsense","result":[]}}`, `Prometheus answered bad_response: unknown value type "nonsense"`, false},
	} {
		f.set(tc.status, tc.body)
		_, err := c.Query(context.Background(), "up", time.Time{})
		_, _, _, wantErr := v1.Query(context.Background(), "up", time.Time{})
		var got, want *promv1.Error
		if !errors.As(err, &got) || !errors.As(wantErr, &want) {
			t.Errorf("%d %s: got %v, client_golang %v", tc.status, tc.body, err, wantErr)
			continue
		}
		if got.Type != want.Type || (got.Msg != want.Msg && !tc.otherWording) || got.Detail != want.Detail {
			t.Errorf("%d %s: got %#v, client_golang %#v", tc.status, tc.body, got, want)
		}
		if !strings.Contains(err.Error(), "query up at ") || !strings.Contains(err.Error(), tc.text) || strings.HasSuffix(err.Error(), ": ") {
			t.Errorf("%d %s: %q does not say %q", tc.status, tc.body, err, tc.text)
		}
	}
}

// TestRequestsAndGetFallback checks the request (a form POST with the query, time and timeout,
// as client_golang's v1 API sends it) and that a server refusing POST gets the same as a GET.
func TestRequestsAndGetFallback(t *testing.T) {
	for _, refusal := range []int{0, http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusNotImplemented} {
		var methods atomic.Value
		methods.Store("")
		var form atomic.Value
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			methods.Store(methods.Load().(string) + r.Method + " ")
			if refusal != 0 && r.Method == http.MethodPost {
				w.WriteHeader(refusal)
				return
			}
			if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			if err := r.ParseForm(); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			form.Store(r.URL.Path + " " + r.Form.Encode())
			_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1700000000.5,"7"]}]}}`)
		}))
		c, err := New(Config{URL: srv.URL + "/prefix", Timeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Query(context.Background(), `sum(up{a="b"})`, time.Unix(1700000000, 500e6))
		srv.Close()
		if err != nil || len(res.Vector) != 1 || res.Vector[0].Value != 7 || res.Vector[0].Metric.Get("a") != "b" {
			t.Fatalf("refusal %d: %+v, %v", refusal, res, err)
		}
		wantMethods := "POST "
		if refusal != 0 {
			wantMethods = "POST GET "
		}
		wantForm := "/prefix/api/v1/query " + url.Values{"query": {`sum(up{a="b"})`}, "time": {"1700000000.5"}, "timeout": {"3s"}}.Encode()
		if methods.Load() != wantMethods || form.Load() != wantForm {
			t.Errorf("refusal %d: %q %q, want %q %q", refusal, methods.Load(), form.Load(), wantMethods, wantForm)
		}
	}
}

// ruleAnswer is an answer like those of a refresh from the recording rules at 2,000 clusters:
// samples summed by cluster, 13,100 of them.
func ruleAnswer(samples int) []byte {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
	for i := range samples {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metric":{"envoy_cluster_name":"svc-%05d.edge.svc.cluster.local","namespace":"edge"},"value":[1764180000.123,"%g"]}`, i, float64(i)*1.37/7)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

// memory is an api.Client that answers every request with one body, so that a benchmark
// measures decoding alone.
type memory struct {
	body []byte
	url  *url.URL
}

func (m *memory) URL(ep string, _ map[string]string) *url.URL {
	u := *m.url
	u.Path = ep
	return &u
}

func (m *memory) Do(_ context.Context, req *http.Request) (*http.Response, []byte, error) {
	return &http.Response{StatusCode: http.StatusOK, Request: req}, m.body, nil
}

// BenchmarkDecodeVector decodes a 13,100-sample instant vector, alternately with this package
// and with client_golang's v1 API, both fed the same bytes from memory; ratio is this package's
// time over client_golang's.
func BenchmarkDecodeVector(b *testing.B) {
	body := ruleAnswer(13100)
	u, _ := url.Parse("http://prometheus:9090")
	mem := &memory{body: body, url: u}
	ours := &Client{http: mem, url: u.String(), timeout: time.Minute, labels: newLabelCache()}
	theirs := promv1.NewAPI(mem)
	ctx := context.Background()
	at := time.Unix(1764180000, 0)
	var lean, golang time.Duration
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		res, err := ours.Query(ctx, "q", at)
		if err != nil || len(res.Vector) != 13100 {
			b.Fatal(err)
		}
		lean += time.Since(start)
		start = time.Now()
		v, _, _, err := theirs.Query(ctx, "q", at)
		if err != nil || len(v.(model.Vector)) != 13100 {
			b.Fatal(err)
		}
		golang += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(lean.Microseconds())/1000/float64(b.N), "lean-ms")
	b.ReportMetric(float64(golang.Microseconds())/1000/float64(b.N), "client_golang-ms")
	b.ReportMetric(float64(lean)/float64(golang), "ratio")
}

// TestLongLabelsAreRefused answers with a label name or value too long for Prometheus' labels
// (which panic past 16 MiB) or over the 1 MiB limit: the scanner and encoding/json, for vectors
// and matrices alike, refuse it with an error that names the series and the limit, and a label
// at the limit still decodes.
func TestLongLabelsAreRefused(t *testing.T) {
	// A native histogram sends a vector to encoding/json; an escape in a key, a matrix.
	const histogram = `{"metric":{"a":"h"},"histogram":[1,{"count":"1","sum":"1","buckets":[[0,"0","1","1"]]}]}`
	const escaped = `{"metric":{"\u0062":"c"},"values":[[1,"1"]]}`
	for _, size := range []int{1<<24 + 1, 1 << 24, maxLabelBytes + 1} {
		long := strings.Repeat("x", size)
		for name, tc := range map[string]struct{ want, result string }{
			"vector value":        {vectorType, `[{"metric":{"__name__":"up","job":"` + long + `"},"value":[1,"1"]}]`},
			"vector name":         {vectorType, `[{"metric":{"__name__":"up","` + long + `":"v"},"value":[1,"1"]}]`},
			"vector value, json":  {vectorType, `[` + histogram + `,{"metric":{"__name__":"up","job":"` + long + `"},"value":[1,"1"]}]`},
			"vector name, json":   {vectorType, `[` + histogram + `,{"metric":{"__name__":"up","` + long + `":"v"},"value":[1,"1"]}]`},
			"matrix value":        {matrixType, `[{"metric":{"__name__":"up","job":"` + long + `"},"values":[[1,"1"]]}]`},
			"matrix value, json":  {matrixType, `[` + escaped + `,{"metric":{"__name__":"up","job":"` + long + `"},"values":[[1,"1"]]}]`},
			"matrix name, json":   {matrixType, `[` + escaped + `,{"metric":{"__name__":"up","` + long + `":"v"},"values":[[1,"1"]]}]`},
			"matrix name":         {matrixType, `[{"metric":{"__name__":"up","` + long + `":"v"},"values":[[1,"1"]]}]`},
			"vector value, first": {vectorType, `[{"metric":{"job":"` + long + `","__name__":"up"},"value":[1,"1"]}]`},
		} {
			body := []byte(`{"status":"success","data":{"resultType":"` + tc.want + `","result":` + tc.result + `}}`)
			_, err := decodeAnswer(http.StatusOK, body, tc.want, newLabelCache())
			if err == nil || !strings.Contains(err.Error(), "series up{") || !strings.Contains(err.Error(), "over the limit of 1048576 bytes (1 MiB)") ||
				!strings.Contains(err.Error(), fmt.Sprintf("of %d bytes", size)) || len(err.Error()) > 400 {
				t.Errorf("%s of %d bytes: %.400v", name, size, err)
			}
		}
	}

	at := strings.Repeat("é", maxLabelBytes/2)
	for _, want := range []string{vectorType, matrixType} {
		result := `[{"metric":{"a":"` + at + `"},"value":[1,"1"]}]`
		if want == matrixType {
			result = `[{"metric":{"a":"` + at + `"},"values":[[1,"1"]]}]`
		}
		a, err := decodeAnswer(http.StatusOK, []byte(`{"status":"success","data":{"resultType":"`+want+`","result":`+result+`}}`), want, nil)
		if err != nil || len(a.vector)+len(a.matrix) != 1 {
			t.Errorf("%s with a label at the limit: %v", want, err)
		}
	}

	// Through the client, the error names the query too and carries no control character. Two
	// escapes start the value and plain bytes fill it past the limit: a body of escapes alone
	// is six times the size and, under the race detector on a busy machine, can outlast the
	// client's timeout.
	f := &fixed{}
	c, _ := both(t, f)
	f.set(http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"`+`\u0001\u0001`+strings.Repeat("x", maxLabelBytes)+`"},"value":[1,"1"]}]}}`)
	_, err := c.Query(context.Background(), "up", time.Time{})
	if err == nil || !strings.Contains(err.Error(), `query up at `) || !strings.Contains(err.Error(), `series up{job="\x01\x01`) || strings.Contains(err.Error(), "\x01") {
		t.Errorf("through the client: %.400v", err)
	}
}
