//go:build e2e

package plugin

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/rulefile"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/truth"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// TestTopReadsTheRecordingRules loads the stack's own recording rules into a real Prometheus that
// scrapes a simulated fleet and runs the real binary's `top --once -o json` on them.
//
// The rules' 5m rates need five minutes of samples to equal the truth; with less, rate()
// extrapolates only half a scrape interval beyond the samples and divides by the whole 5m, so
// every rate is the truth times the same factor (the share of the window that holds samples),
// while ratios and quantiles, ratios of rates, are already the truth. The test therefore checks
//   - while the Envoys answer: auto picks the rules (window 5m, "source": "rules") unless
//     --window is given, requests in flight match, and --source rules without recorded series
//     for the selection is an error that names create and --source raw;
//   - once the Envoys stop answering, so that no sample is added and Prometheus' answers stop
//     moving, after two more rule evaluations: `top --source rules` and `top --source raw
//     --window 5m` agree to nine digits, and the rules' numbers match the simulator's truth:
//     success within a point (a few hundred requests each), percentiles within 12%, rates in
//     proportion to the truth within 5%.
func TestTopReadsTheRecordingRules(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	fleet := e2eFleet()
	fleet.Start = time.Now().Add(-2 * time.Hour)

	var down atomic.Bool
	mux := http.NewServeMux()
	envoys := httptest.NewServer(mux)
	t.Cleanup(envoys.Close)
	var targets []promtest.Target
	for _, pod := range fleet.Pods {
		prefix := "/" + pod
		envoy := http.StripPrefix(prefix, fleet.Handler(pod, envoysim.Stock, nil))
		mux.Handle(prefix+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "stopped", http.StatusServiceUnavailable)
				return
			}
			envoy.ServeHTTP(w, r)
		}))
		targets = append(targets, promtest.Target{
			URL:    envoys.URL + prefix + "/stats/prometheus",
			Labels: map[string]string{"namespace": "edge", "pod": pod},
		})
	}
	rules := rulefile.Write(t, manifests.DefaultTeamSpec("team-a", "edge"), 0)
	// The rules are evaluated every second, like the scrapes.
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second, RuleFiles: []string{rules}})
	withLatency := 0
	for _, c := range fleet.Clusters {
		if c.RPS > 0 && len(c.Latency) > 0 {
			withLatency++
		}
	}
	srv.WaitForSeries(t, `envoy_cluster:upstream_rq:rate5m{namespace="edge"}`, len(fleet.Clusters), 40*time.Second)
	srv.WaitForSeries(t, `envoy_cluster:upstream_rq_time_milliseconds_bucket:rate5m{namespace="edge",le="+Inf"}`, withLatency, 10*time.Second)
	// Samples enough for the ratios of a few hundred requests.
	time.Sleep(20 * time.Second)

	top := func(t *testing.T, args ...string) (truth.Snapshot, string, error) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"top", "--prometheus-url", srv.URL(), "--once", "-o", "json"}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return truth.Snapshot{}, stderr.String(), err
		}
		return truth.Decode(t, stdout.Bytes()), stderr.String(), nil
	}
	mustTop := func(t *testing.T, args ...string) truth.Snapshot {
		t.Helper()
		snap, stderr, err := top(t, args...)
		if err != nil {
			t.Fatalf("top %s: %v: %s", strings.Join(args, " "), err, stderr)
		}
		return snap
	}

	t.Run("live", func(t *testing.T) {
		rules := mustTop(t, "--envoy-namespace", "edge")
		if rules.Window != "5m" || rules.Source != "rules" {
			t.Errorf("auto without --window: window %q source %q, want the rules' 5m", rules.Window, rules.Source)
		}
		if len(rules.Rows) != len(fleet.Clusters) {
			t.Errorf("%d rows for %d clusters", len(rules.Rows), len(fleet.Clusters))
		}
		raw := mustTop(t, "--envoy-namespace", "edge", "--window", "30s")
		if raw.Window != "30s" || raw.Source != "raw" {
			t.Errorf("auto with --window: window %q source %q, want Envoy's own series over 30s", raw.Window, raw.Source)
		}
		rawRows := byName(raw)
		for _, r := range rules.Rows {
			for _, c := range fleet.Clusters {
				if c.Name != r.Name {
					continue
				}
				want := c.Truth().Active
				if r.ActiveRequests == nil || *r.ActiveRequests != want {
					t.Errorf("%s active_requests = %v, want %v", r.Name, fmtNumber(r.ActiveRequests), want)
				}
				if got := rawRows[r.Name].ActiveRequests; got == nil || *got != want {
					t.Errorf("%s raw active_requests = %v, want %v", r.Name, fmtNumber(got), want)
				}
			}
		}

		_, stderr, err := top(t, "--envoy-namespace", "elsewhere", "--source", "rules")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || strings.Count(stderr, "\n") != 1 ||
			!strings.Contains(stderr, "kubectl promteam create") || !strings.Contains(stderr, "--source raw") ||
			!strings.Contains(stderr, `namespace="elsewhere"`) {
			t.Errorf("--source rules without recorded series: %v, stderr %q", err, stderr)
		}
	})

	// Freeze Prometheus' answers: once every Envoy series is stale, the rule evaluations drop
	// requests in flight; two seconds later the rates stop extrapolating towards the present.
	down.Store(true)
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := srv.QueryAt(context.Background(), `count(envoy_cluster:upstream_rq_active:sum{namespace="edge"})`, time.Time{})
		if err == nil && len(res) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recorded requests in flight still there 15s after the Envoys stopped: %v %v", res, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)

	t.Run("frozen", func(t *testing.T) {
		rules := mustTop(t, "--envoy-namespace", "edge", "--source", "rules")
		// Discovery looks at the present, where the Envoy series are stale: name the dialect.
		// (The rules need none: without Envoy's own series they still show every cluster.)
		raw := mustTop(t, "--envoy-namespace", "edge", "--source", "raw", "--window", "5m", "--dialect", "envoy")
		if rules.Window != "5m" || rules.Source != "rules" || raw.Window != "5m" || raw.Source != "raw" {
			t.Errorf("rules: window %q source %q; raw: window %q source %q", rules.Window, rules.Source, raw.Window, raw.Source)
		}
		rawRows := byName(raw)
		if len(rawRows) != len(rules.Rows) {
			t.Errorf("%d raw rows, %d rule rows", len(rawRows), len(rules.Rows))
		}
		var largest float64
		for _, r := range rules.Rows {
			w, ok := rawRows[r.Name]
			if !ok {
				t.Errorf("%s: no raw row", r.Name)
				continue
			}
			for _, f := range []struct {
				name      string
				got, want *float64
			}{
				{"rps", r.RPS, w.RPS}, {"success_rate", r.SuccessRate, w.SuccessRate},
				{"p50_ms", r.P50, w.P50}, {"p90_ms", r.P90, w.P90}, {"p99_ms", r.P99, w.P99},
				{"active_requests", r.ActiveRequests, w.ActiveRequests},
				{"rps_4xx", r.RPS4xx, w.RPS4xx}, {"rps_5xx", r.RPS5xx, w.RPS5xx},
			} {
				if (f.got == nil) != (f.want == nil) {
					t.Errorf("%s %s: rules %v, raw %v", r.Name, f.name, fmtNumber(f.got), fmtNumber(f.want))
					continue
				}
				if f.got == nil {
					continue
				}
				diff := math.Abs(*f.got-*f.want) / math.Max(math.Abs(*f.want), 1e-9)
				largest = max(largest, diff)
				if diff > 1e-9 {
					t.Errorf("%s %s: rules %v, raw over 5m %v", r.Name, f.name, *f.got, *f.want)
				}
			}
		}
		t.Logf("rules and raw over 5m differ by at most %.3g (relative)", largest)

		// Rates in proportion to the truth: scale the fleet by the share of the window that
		// holds samples, measured on the busiest cluster.
		rows := byName(rules)
		busiest := fleet.Clusters[0]
		got := rows[busiest.Name].RPS
		if got == nil || *got <= 0 || *got > busiest.RPS {
			t.Fatalf("%s rps = %v", busiest.Name, fmtNumber(got))
		}
		share := *got / busiest.RPS
		scaled := *fleet
		scaled.Clusters = append([]envoysim.Cluster(nil), fleet.Clusters...)
		for i := range scaled.Clusters {
			scaled.Clusters[i].RPS *= share
		}
		t.Logf("rates are %.4f of the truth (%.0fs of samples in the 5m window)", share, share*300)
		truth.Check(t, rules, &scaled, truth.Tolerance{RPS: 0.05, Success: 0.01, Quantile: 0.12, Errors: 0.05})
	})
}

func byName(s truth.Snapshot) map[string]truth.Row {
	out := make(map[string]truth.Row, len(s.Rows))
	for _, r := range s.Rows {
		out[r.Name] = r
	}
	return out
}

func fmtNumber(p *float64) any {
	if p == nil {
		return "null"
	}
	return *p
}
