package compare_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/demo"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// fleet has a baseline, a degraded canary, an equal canary and a canary with almost no traffic,
// latency segments aligned with Envoy's buckets so quantiles are exact.
func fleet() *envoysim.Fleet {
	base := envoysim.Latency{{Weight: 0.5, LoMs: 10, HiMs: 25}, {Weight: 0.5, LoMs: 25, HiMs: 50}}
	return &envoysim.Fleet{
		Start: now.Add(-time.Hour),
		Pods:  []string{"envoy-a", "envoy-b"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_checkout-primary_8080", RPS: 40, ErrorRatio: 0.001, Latency: base},
			{Name: "shop_checkout-canary_8080", RPS: 10, ErrorRatio: 0.06, Latency: envoysim.Latency{{Weight: 1, LoMs: 100, HiMs: 250}}},
			{Name: "shop_checkout-equal_8080", RPS: 10, ErrorRatio: 0.001, Latency: base},
			{Name: "shop_checkout-trickle_8080", RPS: 0.1, ErrorRatio: 0.001, Latency: base},
		},
	}
}

func run(t *testing.T, canary string) compare.Result {
	t.Helper()
	q, err := demo.NewWithOptions(now, demo.Options{Fleet: fleet()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	b, _ := compare.ParseArm("shop_checkout-primary_8080")
	c, err := compare.ParseArm(canary)
	if err != nil {
		t.Fatal(err)
	}
	res, err := compare.Run(context.Background(), q, compare.Config{
		Dialect: promql.DialectEnvoy, Selector: promql.Namespace(demo.Namespace), Baseline: b, Canary: c,
		Window: 5 * time.Minute, Step: 30 * time.Second, Thresholds: compare.DefaultThresholds(),
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestVerdicts(t *testing.T) {
	degraded := run(t, "shop_checkout-canary_8080")
	if degraded.Verdict != compare.Fail {
		t.Errorf("degraded canary: %s %+v", degraded.Verdict, degraded.Checks)
	}
	for _, name := range []string{"success-drop", "p99"} {
		if !hasCheck(degraded, name, compare.Fail) {
			t.Errorf("degraded canary: check %s did not fail: %+v", name, degraded.Checks)
		}
	}
	if math.Abs(degraded.Canary.Success-0.94) > 0.002 || math.Abs(degraded.Baseline.Success-0.999) > 0.001 {
		t.Errorf("success %v vs %v", degraded.Canary.Success, degraded.Baseline.Success)
	}
	if math.Abs(degraded.Canary.Share-0.2) > 0.01 {
		t.Errorf("canary share %v, want 0.2", degraded.Canary.Share)
	}
	if degraded.LatencySteps != 10 || degraded.LatencyP > 0.01 {
		t.Errorf("latency test over %d steps p=%v", degraded.LatencySteps, degraded.LatencyP)
	}
	if !(degraded.Canary.SuccessLo < degraded.Canary.Success && degraded.Canary.Success < degraded.Canary.SuccessHi) {
		t.Errorf("Wilson interval %v..%v does not hold %v", degraded.Canary.SuccessLo, degraded.Canary.SuccessHi, degraded.Canary.Success)
	}

	equal := run(t, "shop_checkout-equal_8080")
	if equal.Verdict != compare.Pass {
		t.Errorf("equal canary: %s %+v", equal.Verdict, equal.Checks)
	}
	trickle := run(t, "~shop_checkout-trick.*")
	if trickle.Verdict != compare.Inconclusive || !hasCheck(trickle, "traffic", compare.Inconclusive) {
		t.Errorf("trickle canary: %s %+v", trickle.Verdict, trickle.Checks)
	}

	var b bytes.Buffer
	if err := compare.RenderJSON(&b, degraded); err != nil {
		t.Fatal(err)
	}
	var parsed map[string]any
	if err := json.Unmarshal(b.Bytes(), &parsed); err != nil || parsed["verdict"] != "FAIL" {
		t.Fatalf("JSON: %v %v", err, parsed["verdict"])
	}
	for _, key := range []string{"success_p", "latency_p", "p99_increase", "success_delta"} {
		if parsed[key] == nil {
			t.Errorf("JSON lacks %s", key)
		}
	}
	b.Reset()
	if err := compare.RenderText(&b, degraded); err != nil || !strings.Contains(b.String(), "verdict: FAIL") {
		t.Errorf("text: %v\n%s", err, b.String())
	}
}

func TestUnknownClusterNamesTheClosest(t *testing.T) {
	q, err := demo.NewWithOptions(now, demo.Options{Fleet: fleet()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	b, _ := compare.ParseArm("shop_checkout-primary_8080")
	c, _ := compare.ParseArm("shop_checkout-canery_8080")
	_, err = compare.Run(context.Background(), q, compare.Config{Dialect: promql.DialectEnvoy, Selector: promql.Everything,
		Baseline: b, Canary: c, Window: 5 * time.Minute, Step: 30 * time.Second, Thresholds: compare.DefaultThresholds()}, now)
	var nc *compare.NoClusterError
	if !errors.As(err, &nc) || nc.Flag != "canary" || len(nc.Closest) == 0 || nc.Closest[0] != "shop_checkout-canary_8080" {
		t.Errorf("error = %v", err)
	}
	if _, err := compare.ParseArm("~a("); err == nil {
		t.Error("a broken regular expression was accepted")
	}
}

func hasCheck(r compare.Result, name string, v compare.Verdict) bool {
	for _, c := range r.Checks {
		if c.Name == name && c.Verdict == v {
			return true
		}
	}
	return false
}

// TestArmsThatOverlapAreRefused: a canary ~regex that also selects the baseline's cluster would
// compare the baseline with itself in part; Run refuses it on the clusters the arms actually
// select, and names them. Arms that select apart are judged.
func TestArmsThatOverlapAreRefused(t *testing.T) {
	q, err := demo.NewWithOptions(now, demo.Options{Fleet: fleet()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, tc := range []struct {
		baseline, canary string
		both             []string
	}{
		{"shop_checkout-primary_8080", "~shop_checkout-.*", []string{"shop_checkout-primary_8080"}},
		{"~shop_checkout-(primary|equal)_8080", "~shop_checkout-(equal|canary)_8080", []string{"shop_checkout-equal_8080"}},
		{"~shop_checkout-primary_8080", "shop_checkout-primary_8080", []string{"shop_checkout-primary_8080"}},
		{"shop_checkout-primary_8080", "~shop_checkout-(canary|nothing)_.*", nil},
	} {
		b, _ := compare.ParseArm(tc.baseline)
		c, _ := compare.ParseArm(tc.canary)
		_, err := compare.Run(context.Background(), q, compare.Config{
			Dialect: promql.DialectEnvoy, Selector: promql.Namespace(demo.Namespace), Baseline: b, Canary: c,
			Window: 5 * time.Minute, Step: 30 * time.Second, Thresholds: compare.DefaultThresholds(),
		}, now)
		var overlap *compare.OverlapError
		if tc.both == nil {
			if err != nil {
				t.Errorf("%s vs %s: %v", tc.baseline, tc.canary, err)
			}
			continue
		}
		if !errors.As(err, &overlap) || strings.Join(overlap.Clusters, ",") != strings.Join(tc.both, ",") {
			t.Errorf("%s vs %s: error %v, want an overlap on %v", tc.baseline, tc.canary, err, tc.both)
			continue
		}
		if msg := err.Error(); strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "both select "+tc.both[0]) || !strings.Contains(msg, tc.canary) {
			t.Errorf("message %q", msg)
		}
	}
}
