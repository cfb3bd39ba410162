package promql

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/golden"
)

// TestEveryIstioStandardQueryRoundTrips prints every query top and compare send in the dialect of
// Istio's standard metrics, with label values that try to break out of their quotes, checks each
// parses back to itself and keeps them in a golden file. Every upstream query counts the
// caller's reports only, every listener query the destination's, as the recording rules do.
func TestEveryIstioStandardQueryRoundTrips(t *testing.T) {
	d := DialectIstioStandard
	sel := Namespace(`team"a\`)
	one := sel.With(d.Cluster, `reviews".default.svc\`)
	w := time.Minute
	queries := []struct {
		name     string
		expr     parser.Expr
		reporter string
	}{
		{"rps", IstioServiceNames(sel, w), "source"},
		{"success", UpstreamSuccessRatio(d, sel, w), "source"},
		{"p50", UpstreamLatency(d, sel, 0.5, w), "source"},
		{"p99", UpstreamLatency(d, sel, 0.99, w), "source"},
		{"listener rps", DownstreamRequestRate(d, sel, w), "destination"},
		{"listener classes", DownstreamClassRates(d, sel, w), "destination"},
		{"classes", UpstreamClassRates(d, sel, w), "source"},
		{"listener p99", DownstreamLatency(d, sel, 0.99, w), "destination"},
		{"detail classes", ClassRate(d, one, w), "source"},
		{"detail codes", CodeRate(d, one, w, 15*time.Second), "source"},
		{"detail pod rps", UpstreamRequestRate(d, one, w, "pod", "instance"), "source"},
		{"detail pod success", UpstreamSuccessRatio(d, one, w, "pod", "instance"), "source"},
		{"detail pod p99", UpstreamLatency(d, one, 0.99, w, "pod", "instance"), "source"},
		{"detail buckets", IstioLatencyBuckets(one, w), "source"},
		{"compare clusters", ClusterNames(d, one), "source"},
		{"compare responses", ResponseIncrease(d, one, w), "source"},
		{"compare rps", TotalRequestRate(d, one, w), "source"},
		{"compare p99", TotalLatency(d, one, 0.99, w), "source"},
	}
	var b bytes.Buffer
	for _, q := range queries {
		text, err := Check(q.expr)
		if err != nil {
			t.Errorf("%s: %v", q.name, err)
		}
		if n, want := strings.Count(text, `reporter="`), strings.Count(text, `reporter="`+q.reporter+`"`); n == 0 || n != want {
			t.Errorf("%s reads reports other than reporter=%q: %s", q.name, q.reporter, text)
		}
		if !strings.Contains(text, `namespace="team\"a\\"`) {
			t.Errorf("%s lost the selection: %s", q.name, text)
		}
		fmt.Fprintf(&b, "# %s\n%s\n\n", q.name, text)
	}
	golden.Assert(t, filepath.Join("testdata", "top-istio-standard.promql"), b.Bytes())
	if e := UpstreamActive(d, sel); e != nil {
		t.Errorf("requests in flight from Istio's metrics: %s", e)
	}
}

// TestIstioStandardAgreesWithTheRules: a row of the raw queries is the cluster the recording
// rules record, and success counts the same responses: the rules' series of sources [istio]
// select the same series as the dialect's queries.
func TestIstioStandardAgreesWithTheRules(t *testing.T) {
	d := DialectIstioStandard
	w := RuleWindow
	for _, tc := range []struct {
		name      string
		raw, rule parser.Expr
	}{
		{"requests", UpstreamRequestRate(d, Everything, w), RequestRate([]Source{SourceIstio}, w)},
		{"not 5xx", SumBy(Rate(Everything.istioSource(IstioRequests, not5xx), w), d.Cluster), ResponseRate([]Source{SourceIstio}, w, ClassNot5xx)},
		{"buckets", SumBy(Rate(Everything.istioSource(IstioLatencyBucket), w), d.Cluster, "le"), LatencyBucketRate([]Source{SourceIstio}, Milliseconds, w)},
	} {
		raw, rule := tc.raw.String(), tc.rule.String()
		// The rule renames destination_service to envoy_cluster_name and keeps the namespace;
		// under that, both rate the same selection.
		sel := func(s string) string { return s[strings.Index(s, "rate("):strings.Index(s, "])")] }
		if sel(raw) != sel(rule) {
			t.Errorf("%s: raw reads %s, the rules %s", tc.name, sel(raw), sel(rule))
		}
		if !strings.Contains(rule, `"destination_service"`) || !strings.Contains(raw, "destination_service") {
			t.Errorf("%s: the rows are not the destination services: raw %s, rules %s", tc.name, raw, rule)
		}
	}
}

func TestDialectByNameKnowsIstioStandard(t *testing.T) {
	d, err := DialectByName("istio-standard")
	if err != nil || d != DialectIstioStandard {
		t.Errorf("DialectByName(istio-standard) = %+v, %v", d, err)
	}
	if !strings.Contains(DialectNames(), "istio-standard") {
		t.Errorf("DialectNames() = %s", DialectNames())
	}
	// Discovery by cluster label never picks it: its series are not Envoy's cluster statistics.
	for _, dd := range Dialects {
		if dd.Standard {
			t.Errorf("%s is among the dialects of Envoy's cluster statistics", dd.Name)
		}
	}
}
