//go:build e2e

package manifests

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// The synthetic traffic every source reports in its own metric names. All requests of a cluster
// fall into one histogram bucket (lo, hi], so histogram_quantile gives lo + (hi-lo)*q exactly.
type clusterTraffic struct {
	name           string
	ok, failed     float64 // requests per second, non-5xx and 5xx
	client         float64 // of ok, the 4xx; Envoy has no 4xx series for a cluster without them
	loMs, hiMs     float64
	active         float64
	breakerOpen    bool
	wantErrorRatio bool // a 5xx series exists
}

var traffic = []clusterTraffic{
	{name: "checkout", ok: 9, failed: 1, client: 2, loMs: 100, hiMs: 250, active: 3, wantErrorRatio: true},
	// Half its requests fail, but at 0.5 requests per second it is below the alert floor.
	{name: "quiet", ok: 0.25, failed: 0.25, loMs: 100, hiMs: 250, active: 1, wantErrorRatio: true},
	{name: "slow", ok: 2, client: 0.5, loMs: 1000, hiMs: 2500, active: 7, breakerOpen: true},
}

const (
	stepSeconds = 15
	steps       = 400 // 100 minutes of samples
	teamNS      = "team-a"
)

var envoyBucketsMs = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// statsd_exporter buckets are the mapping's, in seconds.
var statsdBucketsS = statsdMappingConfig().Defaults.HistogramOptions.Buckets

type series struct {
	Series string `json:"series"`
	Values string `json:"values"`
}

func counter(perSecond float64) string {
	return "0+" + strconv.FormatFloat(perSecond*stepSeconds, 'f', -1, 64) + "x" + strconv.Itoa(steps)
}

func gauge(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64) + "+0x" + strconv.Itoa(steps)
}

func sel(metric string, kv ...string) string {
	out := metric + "{"
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			out += ","
		}
		out += kv[i] + "=" + strconv.Quote(kv[i+1])
	}
	return out + "}"
}

// clusterLabel is how each source names the upstream cluster in the recorded series.
func clusterLabel(src promql.Source, c clusterTraffic) string {
	if src == promql.SourceIstio {
		return c.name + "." + teamNS + ".svc.cluster.local"
	}
	return c.name
}

func inputSeries(src promql.Source) []series {
	var out []series
	for _, c := range traffic {
		total := c.ok + c.failed
		name := clusterLabel(src, c)
		buckets := func(metric string, bounds []float64, scale float64, kv ...string) {
			for _, b := range bounds {
				count := 0.0
				if b*scale >= c.hiMs {
					count = total
				}
				out = append(out, series{sel(metric, append(kv, "le", strconv.FormatFloat(b, 'f', -1, 64))...), counter(count)})
			}
			out = append(out, series{sel(metric, append(kv, "le", "+Inf")...), counter(total)})
		}
		switch src {
		case promql.SourceIstio:
			base := []string{"namespace", teamNS, "reporter", "source", "destination_service", name}
			out = append(out, series{sel("istio_requests_total", append(base, "response_code", "200")...), counter(c.ok - c.client)})
			if c.client > 0 {
				out = append(out, series{sel("istio_requests_total", append(base, "response_code", "404")...), counter(c.client)})
			}
			if c.failed > 0 {
				out = append(out, series{sel("istio_requests_total", append(base, "response_code", "503")...), counter(c.failed)})
			}
			// The server side reports the same requests again; the rules must not count them.
			server := []string{"namespace", teamNS, "reporter", "destination", "destination_service", name, "response_code", "200"}
			out = append(out, series{sel("istio_requests_total", server...), counter(100)})
			buckets("istio_request_duration_milliseconds_bucket", envoyBucketsMs, 1, base...)
		default:
			base := []string{"namespace", teamNS, "envoy_cluster_name", name}
			out = append(out,
				series{sel("envoy_cluster_upstream_rq_total", base...), counter(total)},
				series{sel("envoy_cluster_upstream_rq_xx", append(base, "envoy_response_code_class", "2")...), counter(c.ok - c.client)},
				series{sel("envoy_cluster_upstream_rq_active", base...), gauge(c.active)},
			)
			if c.failed > 0 {
				out = append(out, series{sel("envoy_cluster_upstream_rq_xx", append(base, "envoy_response_code_class", "5")...), counter(c.failed)})
			}
			if c.client > 0 {
				out = append(out, series{sel("envoy_cluster_upstream_rq_xx", append(base, "envoy_response_code_class", "4")...), counter(c.client)})
			}
			breaker := 0.0
			if c.breakerOpen {
				breaker = 1
			}
			out = append(out, series{sel("envoy_cluster_circuit_breakers_default_rq_open", append(base, "pod", "envoy-0")...), gauge(breaker)})
			if src == promql.SourceStatsd {
				buckets("envoy_cluster_upstream_rq_time_seconds_bucket", statsdBucketsS, 1000, base...)
			} else {
				buckets("envoy_cluster_upstream_rq_time_bucket", envoyBucketsMs, 1, base...)
			}
		}
	}
	return out
}

type sample struct {
	Labels string  `json:"labels"`
	Value  float64 `json:"value"`
}

type exprTest struct {
	Expr       string   `json:"expr"`
	EvalTime   string   `json:"eval_time"`
	ExpSamples []sample `json:"exp_samples"`
}

type alert struct {
	ExpLabels      map[string]string `json:"exp_labels"`
	ExpAnnotations map[string]string `json:"exp_annotations"`
}

type alertTest struct {
	EvalTime  string  `json:"eval_time"`
	Alertname string  `json:"alertname"`
	ExpAlerts []alert `json:"exp_alerts"`
}

// micro compares recorded values in millionths: promtool compares floats exactly, and the rules'
// arithmetic (ms to s, bucket interpolation) leaves noise in the last digits.
func micro(record string) string { return "round(" + record + " * 1e6)" }

func recorded(src promql.Source, c clusterTraffic, v float64) sample {
	return sample{Labels: sel("", "namespace", teamNS, "envoy_cluster_name", clusterLabel(src, c)), Value: math.Round(v * 1e6)}
}

// expectedRecords is what the recording rules must produce for the synthetic traffic.
func expectedRecords(src promql.Source) []exprTest {
	const at = "30m"
	var tests []exprTest
	add := func(record string, f func(c clusterTraffic) (float64, bool)) {
		t := exprTest{Expr: micro(record), EvalTime: at, ExpSamples: []sample{}}
		for _, c := range traffic {
			if v, ok := f(c); ok {
				t.ExpSamples = append(t.ExpSamples, recorded(src, c, v))
			}
		}
		tests = append(tests, t)
	}
	add(promql.RecordRequestRate, func(c clusterTraffic) (float64, bool) { return c.ok + c.failed, true })
	add(promql.RecordResponseRate, func(c clusterTraffic) (float64, bool) { return c.ok + c.failed, true })
	add(promql.Record5xxRate, func(c clusterTraffic) (float64, bool) { return c.failed, c.wantErrorRatio })
	add(promql.RecordNot5xxRate, func(c clusterTraffic) (float64, bool) { return c.ok, true })
	// Recorded for every cluster with responses, 0 where none was 4xx ("quiet").
	add(promql.Record4xxRate, func(c clusterTraffic) (float64, bool) { return c.client, true })
	add(promql.RecordErrorRatio(promql.RuleWindow), func(c clusterTraffic) (float64, bool) {
		return c.failed / (c.ok + c.failed), c.wantErrorRatio
	})
	// The bucket rates, in the unit of the source's histogram, and the percentiles readers derive
	// from them.
	record, bounds, scale := promql.RecordLatencyBucketsMs, envoyBucketsMs, 1.0
	if src == promql.SourceStatsd {
		record, bounds, scale = promql.RecordLatencyBucketsSeconds, statsdBucketsS, 1000
	}
	t := exprTest{Expr: micro(record), EvalTime: at, ExpSamples: []sample{}}
	for _, c := range traffic {
		for _, b := range append(slices.Clone(bounds), math.Inf(1)) {
			rate := 0.0
			if b*scale >= c.hiMs {
				rate = c.ok + c.failed
			}
			le := strconv.FormatFloat(b, 'f', -1, 64)
			if math.IsInf(b, 1) {
				le = "+Inf"
			}
			t.ExpSamples = append(t.ExpSamples, sample{
				Labels: sel("", "namespace", teamNS, "envoy_cluster_name", clusterLabel(src, c), "le", le),
				Value:  math.Round(rate * 1e6),
			})
		}
	}
	tests = append(tests, t)
	for _, q := range promql.Quantiles {
		text, err := promql.Check(promql.LatencyQuantileFromBuckets([]promql.Source{src}, q))
		if err != nil {
			panic(err)
		}
		add("("+text+")", func(c clusterTraffic) (float64, bool) { return (c.loMs + (c.hiMs-c.loMs)*q) / 1000, true })
	}
	if src != promql.SourceIstio {
		add(promql.RecordActiveRequests, func(c clusterTraffic) (float64, bool) { return c.active, true })
	}
	return tests
}

func expectedAlerts(src promql.Source, slo bool) []alertTest {
	checkout, slow := traffic[0], traffic[2]
	where := func(c clusterTraffic) string { return clusterLabel(src, c) + " in " + teamNS }
	labels := func(c clusterTraffic, kv ...string) map[string]string {
		m := map[string]string{"namespace": teamNS, "envoy_cluster_name": clusterLabel(src, c)}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []alertTest{
		// The condition holds from the first evaluation with two samples (30s); firing needs 5m.
		{EvalTime: "4m", Alertname: "EnvoyUpstreamHigh5xxRatio", ExpAlerts: []alert{}},
		{EvalTime: "30m", Alertname: "EnvoyUpstreamHigh5xxRatio", ExpAlerts: []alert{{
			ExpLabels: labels(checkout, "severity", "critical"),
			ExpAnnotations: map[string]string{
				"summary":     where(checkout) + ": more than 5% of upstream responses are 5xx",
				"description": "10% of final responses from this upstream cluster were 5xx over 5 minutes, including timeouts and resets Envoy answered itself.",
			},
		}}},
		{EvalTime: "30m", Alertname: "EnvoyUpstreamHighLatencyP99", ExpAlerts: []alert{{
			ExpLabels: labels(slow, "severity", "warning"),
			ExpAnnotations: map[string]string{
				"summary":     where(slow) + ": p99 upstream latency above 1s",
				"description": "p99 upstream latency is 2.485s over 5 minutes. Envoy's histogram buckets are coarse above 1s, so read it as a range.",
			},
		}}},
	}
	if src != promql.SourceIstio {
		tests = append(tests, alertTest{EvalTime: "30m", Alertname: "EnvoyCircuitBreakerOpen", ExpAlerts: []alert{{
			ExpLabels: labels(slow, "severity", "warning"),
			ExpAnnotations: map[string]string{
				"summary":     where(slow) + ": the request circuit breaker is open",
				"description": "Envoy is rejecting requests to this upstream cluster because max_requests is reached.",
			},
		}}})
	}
	if slo {
		burn := func(tier int, window string, factor string) alert {
			return alert{
				ExpLabels: labels(checkout, "severity", "critical", "tier", strconv.Itoa(tier), "burn_window", window),
				ExpAnnotations: map[string]string{
					"summary":     where(checkout) + " is burning its 99.9% error budget " + factor + "x too fast",
					"description": fmt.Sprintf("The 5xx ratio over %s and over %s both exceed %s times the error budget of a 99.9%% objective over 30 days.", window, map[string]string{"1h": "5m", "6h": "30m"}[window], factor),
				},
			}
		}
		// checkout fails 10% and quiet 50% of requests, far above 14.4 and 6 times a 0.1% budget;
		// at 0.5 requests per second quiet is below the 5xx alert's floor but above the burn-rate
		// floor, which watches a budget rather than a rate. The 3d tier (1x, 15m) fires later.
		quiet := traffic[1]
		burnQuiet := func(tier int, window, factor string) alert {
			a := burn(tier, window, factor)
			a.ExpLabels = labels(quiet, "severity", "critical", "tier", strconv.Itoa(tier), "burn_window", window)
			a.ExpAnnotations["summary"] = where(quiet) + " is burning its 99.9% error budget " + factor + "x too fast"
			return a
		}
		tests = append(tests, alertTest{EvalTime: "30m", Alertname: "EnvoyErrorBudgetBurn", ExpAlerts: []alert{
			burn(1, "1h", "14.4"), burn(2, "6h", "6"), burnQuiet(1, "1h", "14.4"), burnQuiet(2, "6h", "6"),
		}})
		slowBurn := func(c clusterTraffic) alert {
			return alert{
				ExpLabels: labels(c, "severity", "warning", "tier", "3", "burn_window", "3d"),
				ExpAnnotations: map[string]string{
					"summary":     where(c) + " is burning its 99.9% error budget 1x too fast",
					"description": "The 5xx ratio over 3d and over 6h both exceed 1 times the error budget of a 99.9% objective over 30 days.",
				},
			}
		}
		tests = append(tests,
			alertTest{EvalTime: "10m", Alertname: "EnvoyErrorBudgetBurnSlow", ExpAlerts: []alert{}},
			alertTest{EvalTime: "30m", Alertname: "EnvoyErrorBudgetBurnSlow", ExpAlerts: []alert{slowBurn(checkout), slowBurn(quiet)}})
		// Pending until the condition has held for 2m.
		tests = append(tests, alertTest{EvalTime: "2m", Alertname: "EnvoyErrorBudgetBurn", ExpAlerts: []alert{}})
	}
	// Every alert carries the team's routing labels, where Envoy runs, and its runbook.
	spec := DefaultTeamSpec("team-a", teamNS)
	for _, tc := range tests {
		for _, a := range tc.ExpAlerts {
			a.ExpLabels[AlertLabelTeam] = spec.Team
			a.ExpLabels[AlertLabelEnvoyNamespace] = teamNS
			a.ExpAnnotations[AnnotationRunbook] = spec.runbookFor(tc.Alertname)
		}
	}
	return tests
}

// TestRulesWithPromtool runs promtool's rule unit tests on synthetic series of every source:
// each recording rule must give the known rate, ratio and quantile, and each alert must fire for
// the clusters it is meant for and stay quiet for the rest.
func TestRulesWithPromtool(t *testing.T) {
	promtool := tools.Path(t, "promtool")
	for _, tc := range []struct {
		preset Preset
		src    promql.Source
	}{{PresetEnvoy, promql.SourceEnvoy}, {PresetStatsd, promql.SourceStatsd}, {PresetIstio, promql.SourceIstio}} {
		for _, slo := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/slo=%v", tc.preset, slo), func(t *testing.T) {
				s := DefaultTeamSpec("team-a", teamNS)
				s.Presets = []Preset{tc.preset}
				if slo {
					s.SLO = 99.9
				}
				rules := find[*monitoringv1.PrometheusRule](build(t, s))[0]
				dir := t.TempDir()
				writeYAML(t, filepath.Join(dir, "rules.yaml"), map[string]any{"groups": rules.Spec.Groups})
				writeYAML(t, filepath.Join(dir, "test.yaml"), map[string]any{
					"rule_files":          []string{"rules.yaml"},
					"evaluation_interval": "30s",
					"tests": []map[string]any{{
						"interval":         fmt.Sprintf("%ds", stepSeconds),
						"input_series":     inputSeries(tc.src),
						"promql_expr_test": expectedRecords(tc.src),
						"alert_rule_test":  expectedAlerts(tc.src, slo),
					}},
				})
				cmd := exec.Command(promtool, "test", "rules", "test.yaml")
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("promtool test rules: %v\n%s", err, out)
				}
			})
		}
	}
}

func writeYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
