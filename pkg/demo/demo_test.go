package demo

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// fleet has steady traffic, latency segments aligned with Envoy's bucket bounds, an idle
// cluster, one without a histogram and a name with quotes and backslashes.
func fleet() *envoysim.Fleet {
	return &envoysim.Fleet{
		Start: now.Add(-time.Hour),
		Pods:  []string{"envoy-a", "envoy-b"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_checkout_8080", RPS: 120, ErrorRatio: 0.05, Active: 6,
				Latency: envoysim.Latency{{Weight: 0.5, LoMs: 10, HiMs: 25}, {Weight: 0.4, LoMs: 25, HiMs: 50}, {Weight: 0.1, LoMs: 100, HiMs: 250}}},
			{Name: `we"ird\name`, RPS: 30, ErrorRatio: 0.2, Latency: envoysim.Uniform(1, 5), Active: 2},
			{Name: "outbound|9080||reviews.default.svc.cluster.local", RPS: 9, Latency: envoysim.Uniform(50, 100)},
			{Name: "slow", RPS: 3, Latency: envoysim.Uniform(1000, 2500)},
			{Name: "idle", Latency: envoysim.Uniform(1, 5)},
			{Name: "no-histogram", RPS: 6},
		},
	}
}

// TestDemoEngineGivesTheTruth runs top's collector, with the queries it sends a real Prometheus,
// against the in-process engine for both dialects, and checks the JSON against the fleet.
func TestDemoEngineGivesTheTruth(t *testing.T) {
	for _, tc := range []struct {
		dialect envoysim.Dialect
		want    promql.Dialect
	}{{envoysim.Stock, promql.DialectEnvoy}, {envoysim.Istio, promql.DialectIstio}} {
		t.Run(tc.want.Name, func(t *testing.T) {
			f := fleet()
			q, err := NewWithOptions(now, Options{Fleet: f, Dialect: tc.dialect})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			src := traffic.NewAuto(q, traffic.Config{Selector: promql.Namespace(Namespace), Window: time.Minute})
			frame, err := src.Frame(context.Background(), now)
			if err != nil {
				t.Fatal(err)
			}
			if frame.Dialect != tc.want.Name {
				t.Errorf("discovered dialect %s, want %s", frame.Dialect, tc.want.Name)
			}
			var b bytes.Buffer
			if err := traffic.RenderJSON(&b, frame); err != nil {
				t.Fatal(err)
			}
			truth.Check(t, truth.Decode(t, b.Bytes()), f, truth.Tolerance{RPS: 0.01, Success: 0.001, Quantile: 0.02})

			// Time moves on: a later refresh scrapes the fleet up to then.
			later, err := src.Frame(context.Background(), now.Add(30*time.Second))
			if err != nil || len(later.Rows) != len(f.Clusters) {
				t.Fatalf("later frame: %v, %d rows", err, len(later.Rows))
			}
			det, err := src.Detail(context.Background(), now, "shop_checkout_8080")
			if err != nil {
				t.Fatal(err)
			}
			if len(det.Classes) == 0 || len(det.Codes) == 0 || len(det.Pods) != 2 || len(det.Latency) == 0 {
				t.Errorf("drill-down = %+v", det)
			}
		})
	}
}

func TestDemoFleetStarts(t *testing.T) {
	q, err := New(now)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	frame, err := traffic.NewAuto(q, traffic.Config{Selector: promql.Everything, Window: time.Minute}).Frame(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(frame.Rows) < 5 || len(frame.Listeners) == 0 {
		t.Errorf("demo frame has %d rows and %d listeners", len(frame.Rows), len(frame.Listeners))
	}
}

// TestDemoRecordsTheRules: the demo evaluates the stack's recording rules like a team's
// Prometheus, so --source rules reads them (window 5m) and their numbers are the fleet's.
func TestDemoRecordsTheRules(t *testing.T) {
	f := fleet()
	q, err := NewWithOptions(now, Options{Fleet: f})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	src := traffic.NewAuto(q, traffic.Config{Selector: promql.Namespace(Namespace), Source: traffic.SourceRules})
	for _, at := range []time.Time{now, now.Add(20 * time.Second)} {
		frame, err := src.Frame(context.Background(), at)
		if err != nil {
			t.Fatalf("--source rules on the demo at %s: %v", at, err)
		}
		if frame.Source != traffic.SourceRules || frame.Window != promql.RuleWindow {
			t.Errorf("frame source %q window %s, want rules over %s", frame.Source, frame.Window, promql.RuleWindow)
		}
		var b bytes.Buffer
		if err := traffic.RenderJSON(&b, frame); err != nil {
			t.Fatal(err)
		}
		truth.Check(t, truth.Decode(t, b.Bytes()), f, truth.Tolerance{RPS: 0.01, Success: 0.001, Quantile: 0.02})
	}
}
