package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// armQuerier answers every query of an arm: plenty of sound traffic, except the numbers in odd,
// keyed by a fragment of the query, for the arm whose cluster name the query holds.
type armQuerier struct {
	odd map[string]map[string]float64 // cluster -> query fragment -> value
}

func (q armQuerier) value(query string, fallback float64) float64 {
	for cluster, odd := range q.odd {
		if strings.Contains(query, `"`+cluster+`"`) {
			for frag, v := range odd {
				if strings.Contains(query, frag) {
					return v
				}
			}
		}
	}
	return fallback
}

func (q armQuerier) Query(_ context.Context, query string, _ time.Time) (traffic.Result, error) {
	one := func(v float64, ls ...string) traffic.Result {
		return traffic.Result{Vector: traffic.Vector{{Metric: labels.FromStrings(ls...), Value: v}}}
	}
	cluster := "b"
	if strings.Contains(query, `"c"`) {
		cluster = "c"
	}
	switch {
	case strings.HasPrefix(query, "count by"):
		return one(1, "envoy_cluster_name", cluster), nil
	case strings.Contains(query, "increase("):
		return traffic.Result{Vector: traffic.Vector{
			{Metric: labels.FromStrings("envoy_response_code_class", "2"), Value: q.value(query+"2xx", 10000)},
			{Metric: labels.FromStrings("envoy_response_code_class", "5"), Value: q.value(query+"5xx", 10)},
		}}, nil
	case strings.HasPrefix(query, "histogram_quantile(0.99"):
		return one(q.value(query, 50)), nil
	case strings.HasPrefix(query, "histogram_quantile"):
		return one(q.value(query, 20)), nil
	}
	return one(q.value(query, 30)), nil
}

func (q armQuerier) QueryRange(_ context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, []string, error) {
	s := &model.SampleStream{}
	for t := start; !t.After(end); t = t.Add(step) {
		s.Values = append(s.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(t.UnixNano()), Value: model.SampleValue(q.value(query, 50))})
	}
	return model.Matrix{s}, nil, nil
}

func runArms(t *testing.T, q armQuerier, th Thresholds) Result {
	t.Helper()
	res, err := Run(context.Background(), q, Config{Dialect: promql.DialectEnvoy, Selector: promql.Everything,
		Baseline: Exact("b"), Canary: Exact("c"), Window: 5 * time.Minute, Step: 30 * time.Second, Thresholds: th}, time.Unix(100000, 0))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func check(r Result, name string) Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return Check{}
}

func TestSoundArmsPass(t *testing.T) {
	if r := runArms(t, armQuerier{}, DefaultThresholds()); r.Verdict != Pass || len(r.Canary.Invalid) > 0 {
		t.Errorf("sound arms: %s %+v, invalid %v", r.Verdict, r.Checks, r.Canary.Invalid)
	}
}

// TestNonFiniteCountsAreNoData: a NaN or infinite request count never passes the traffic check.
func TestNonFiniteCountsAreNoData(t *testing.T) {
	for name, v := range map[string]float64{"NaN": math.NaN(), "+Inf": math.Inf(1), "negative": -5} {
		t.Run(name, func(t *testing.T) {
			r := runArms(t, armQuerier{odd: map[string]map[string]float64{"c": {"2xx": v}}}, DefaultThresholds())
			traffic := check(r, "traffic")
			if r.Verdict != Inconclusive || traffic.Verdict != Inconclusive || !strings.Contains(traffic.Reason, "canary") {
				t.Errorf("verdict %s, traffic %+v", r.Verdict, traffic)
			}
			if strings.Contains(traffic.Reason, "NaN requests") || strings.Contains(traffic.Reason, "Inf") {
				t.Errorf("reason quotes the count: %q", traffic.Reason)
			}
			if !math.IsNaN(r.Canary.Requests) || !math.IsNaN(r.Canary.Success) {
				t.Errorf("canary requests %v, success %v: want no data", r.Canary.Requests, r.Canary.Success)
			}
			assertJSON(t, r, []any{"requests", "errors_5xx"})
		})
	}
}

// TestNaNMinRequestsIsNeverMet: the thresholds' guard behind the flag check.
func TestNaNMinRequestsIsNeverMet(t *testing.T) {
	th := DefaultThresholds()
	th.MinRequests = math.NaN()
	if r := runArms(t, armQuerier{}, th); r.Verdict != Inconclusive {
		t.Errorf("--min-requests NaN: verdict %s", r.Verdict)
	}
}

// TestImpossibleNumbersAreInvalid: rates, latencies and steps outside their domain are dropped
// and named, in the result, the text and the JSON.
func TestImpossibleNumbersAreInvalid(t *testing.T) {
	r := runArms(t, armQuerier{odd: map[string]map[string]float64{"c": {
		"envoy_cluster_upstream_rq_total": -5, "histogram_quantile(0.99": 1e100, "histogram_quantile(0.5,": math.Inf(1),
	}}}, DefaultThresholds())
	c := r.Canary
	want := []string{"rps", "p50_ms", "p99_ms", "p99_steps_ms", "rps_steps"}
	if diff := cmp.Diff(want, c.Invalid); diff != "" {
		t.Errorf("invalid (-want +got):\n%s", diff)
	}
	if !math.IsNaN(c.RPS) || !math.IsNaN(c.P50) || !math.IsNaN(c.P99) || !math.IsNaN(c.P99Steps[0]) {
		t.Errorf("impossible numbers kept: %+v", c)
	}
	if p99 := check(r, "p99"); p99.Verdict != Inconclusive || !strings.Contains(p99.Reason, "cannot be") {
		t.Errorf("p99 check %+v", p99)
	}
	var b bytes.Buffer
	if err := RenderText(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "rps,p50_ms,p99_ms,p99_steps_ms,rps_steps") || strings.Contains(b.String(), "e+100") {
		t.Errorf("text:\n%s", b.String())
	}
	assertJSON(t, r, []any{"rps", "p50_ms", "p99_ms", "p99_steps_ms", "rps_steps"})
}

// assertJSON renders r as JSON and checks the canary's invalid list and that the baseline has
// none.
func assertJSON(t *testing.T, r Result, invalid []any) {
	t.Helper()
	var b bytes.Buffer
	if err := RenderJSON(&b, r); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	var out struct {
		Baseline, Canary map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(invalid, out.Canary["invalid"]); diff != "" {
		t.Errorf("JSON canary invalid (-want +got):\n%s", diff)
	}
	if _, ok := out.Baseline["invalid"]; ok {
		t.Errorf("sound baseline has invalid: %v", out.Baseline["invalid"])
	}
}

// TestJSONEncodesNonFiniteThresholds: no threshold can make the encoding fail.
func TestJSONEncodesNonFiniteThresholds(t *testing.T) {
	r := runArms(t, armQuerier{}, DefaultThresholds())
	r.Thresholds = Thresholds{MaxP99Increase: math.Inf(1), MinSuccessRate: math.NaN(), MaxSuccessDrop: math.Inf(-1), MinRequests: math.NaN(), Alpha: math.NaN()}
	var b bytes.Buffer
	if err := RenderJSON(&b, r); err != nil {
		t.Fatalf("JSON with non-finite thresholds: %v", err)
	}
}

// TestJSONBackend: the JSON says which backend answered, "prometheus" unless the caller set
// another.
func TestJSONBackend(t *testing.T) {
	for backend, want := range map[string]string{"": `"backend": "prometheus"`, "thanos-query": `"backend": "thanos-query"`} {
		var buf bytes.Buffer
		if err := RenderJSON(&buf, Result{Backend: backend}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), want) {
			t.Errorf("backend %q: JSON lacks %s:\n%s", backend, want, buf.String())
		}
	}
}
