package traffic

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// impossibleAnswers answers like clusterAnswers and adds a cluster "bad" whose every number is
// outside its domain but p50, which has no data, and a listener with impossible numbers.
func impossibleAnswers(d promql.Dialect) func(string) Vector {
	base := clusterAnswers(d, 2)
	return func(q string) Vector {
		v := base(q)
		bad := func(val float64) { v = append(v, sample(map[string]string{d.Cluster: "bad"}, val)) }
		listener := func(val float64) { v = append(v, sample(map[string]string{d.Listener: "broken"}, val)) }
		class := func(label, name, class string, val float64) {
			v = append(v, sample(map[string]string{label: name, d.Class: class}, val))
		}
		switch {
		case strings.HasPrefix(q, "histogram_quantile(0.99") && strings.Contains(q, "downstream"):
			listener(-3)
		case strings.Contains(q, "envoy_http_downstream_rq_total"):
			listener(math.Inf(1))
		case strings.HasPrefix(q, "sum by ("+d.Listener+", "+d.Class+")"):
			// A negative 5xx rate: success (3 + 1) / 2 and 5xx/s -1.
			class(d.Listener, "broken", "2", 3)
			class(d.Listener, "broken", "5", -1)
		case strings.HasPrefix(q, "sum by ("+d.Cluster+", "+d.Class+")"):
			class(d.Cluster, "bad", "2", 1)
			class(d.Cluster, "bad", "4", math.Inf(1))
		case strings.HasPrefix(q, "histogram_quantile(0.5,"):
			bad(math.NaN())
		case strings.HasPrefix(q, "histogram_quantile(0.9,"):
			bad(-1)
		case strings.HasPrefix(q, "histogram_quantile(0.99,"):
			bad(1e100)
		case strings.Contains(q, " / "):
			bad(3.5)
		case strings.Contains(q, "envoy_cluster_upstream_rq_total"):
			bad(-5)
		case strings.Contains(q, "envoy_cluster_upstream_rq_active"):
			bad(math.Inf(1))
		}
		return v
	}
}

func TestImpossibleNumbersAreInvalidNotShown(t *testing.T) {
	fq := &fakeQuerier{answers: impossibleAnswers(promql.DialectEnvoy)}
	f, err := newCollector(t, fq, promql.DialectEnvoy).Frame(context.Background(), time.Unix(1000, 0))
	if err != nil {
		t.Fatal(err)
	}
	SortRows(f.Rows, SortName, false)
	var bad, good Row
	for _, r := range f.Rows {
		switch r.Name {
		case "bad":
			bad = r
		case "c0":
			good = r
		}
	}
	if Known(bad.RPS) || Known(bad.Success) || Known(bad.P50) || Known(bad.P90) || Known(bad.P99) || Known(bad.Active) {
		t.Errorf("impossible numbers are shown: %+v", bad)
	}
	// Infinite 4xx make infinite responses: neither error rate can be believed.
	want := []string{"rps", "success_rate", "p90_ms", "p99_ms", "active_requests", "rps_4xx", "rps_5xx"}
	if diff := cmp.Diff(want, bad.Invalid.Names()); diff != "" {
		t.Errorf("invalid fields (-want +got):\n%s", diff)
	}
	if good.Invalid != 0 || good.RPS != 1 || good.P99 != 90 {
		t.Errorf("a sound row changed: %+v", good)
	}
	var broken Listener
	for _, l := range f.Listeners {
		if l.Prefix == "broken" {
			broken = l
		}
	}
	if Known(broken.RPS) || Known(broken.Success) || Known(broken.P99) || Known(broken.Err5xx) ||
		broken.Invalid != FieldRPS|FieldSuccess|FieldP99|FieldErr5xx {
		t.Errorf("impossible listener = %+v", broken)
	}

	var b bytes.Buffer
	if err := RenderTable(&b, f, TableOptions{Wide: true}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) > 0 && fields[0] == "bad":
			// NAME NAMESPACE SERVICE RPS SUCCESS 4XX/S 5XX/S P50 P90 P99 ACTIVE
			if diff := cmp.Diff([]string{"bad", "-", "-", "invalid", "invalid", "invalid", "invalid", "-", "invalid", "invalid", "invalid"}, fields); diff != "" {
				t.Errorf("table row (-want +got):\n%s", diff)
			}
		case len(fields) > 0 && fields[0] == "broken":
			// LISTENER RPS SUCCESS 4XX/S 5XX/S P99
			if diff := cmp.Diff([]string{"broken", "invalid", "invalid", "0.0", "invalid", "invalid"}, fields); diff != "" {
				t.Errorf("listener row (-want +got):\n%s", diff)
			}
		}
	}

	out := frameJSON(t, f)
	for _, r := range out.Rows {
		switch r["name"] {
		case "bad":
			for _, key := range []string{"rps", "success_rate", "p50_ms", "p90_ms", "p99_ms", "active_requests"} {
				if r[key] != nil {
					t.Errorf("JSON %s = %v, want null", key, r[key])
				}
			}
			if diff := cmp.Diff([]any{"rps", "success_rate", "p90_ms", "p99_ms", "active_requests", "rps_4xx", "rps_5xx"}, r["invalid"]); diff != "" {
				t.Errorf("JSON invalid (-want +got):\n%s", diff)
			}
		default:
			if _, ok := r["invalid"]; ok {
				t.Errorf("sound row %v has an invalid field", r["name"])
			}
		}
	}
}

func TestChecksKeepTheDomains(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		name  string
		check func(float64) (float64, bool)
		in    float64
		want  float64 // NaN: no data
		ok    bool
	}{
		{"rate", CheckRate, 12.5, 12.5, true},
		{"rate zero", CheckRate, 0, 0, true},
		{"rate no data", CheckRate, math.NaN(), math.NaN(), true},
		{"rate negative", CheckRate, -5, math.NaN(), false},
		{"rate infinite", CheckRate, inf, math.NaN(), false},
		{"ratio", CheckRatio, 0.97, 0.97, true},
		{"ratio rounding above one", CheckRatio, 1 + 1e-12, 1, true},
		{"ratio rounding below zero", CheckRatio, -1e-12, 0, true},
		{"ratio 350%", CheckRatio, 3.5, math.NaN(), false},
		{"ratio negative", CheckRatio, -0.2, math.NaN(), false},
		{"ratio infinite", CheckRatio, -inf, math.NaN(), false},
		{"latency", CheckLatency, 1250, 1250, true},
		{"latency a day", CheckLatency, MaxLatencyMs, MaxLatencyMs, true},
		{"latency 1e100", CheckLatency, 1e100, math.NaN(), false},
		{"latency negative", CheckLatency, -1, math.NaN(), false},
		{"latency infinite", CheckLatency, inf, math.NaN(), false},
	} {
		got, ok := tc.check(tc.in)
		if ok != tc.ok || (math.IsNaN(tc.want) != math.IsNaN(got)) || (!math.IsNaN(got) && got != tc.want) {
			t.Errorf("%s: check(%v) = %v, %v; want %v, %v", tc.name, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
