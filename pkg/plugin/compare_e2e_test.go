//go:build e2e

package plugin

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tmuxtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// canaryFleet holds three rollouts: checkout's canary is slower and fails more, cart's canary
// behaves like its baseline, and search's versions serve too little to judge. Latency segments sit
// on Envoy's bucket bounds, so Prometheus' interpolation is exact.
func canaryFleet() *envoysim.Fleet {
	fast := envoysim.Latency{{Weight: 0.9, LoMs: 10, HiMs: 25}, {Weight: 0.1, LoMs: 25, HiMs: 50}}
	slow := envoysim.Latency{{Weight: 0.5, LoMs: 50, HiMs: 100}, {Weight: 0.5, LoMs: 100, HiMs: 250}}
	return &envoysim.Fleet{
		Start: time.Now().Add(-10 * time.Minute),
		Pods:  []string{"envoy-0", "envoy-1"},
		Clusters: []envoysim.Cluster{
			{Name: "shop_checkout-primary_8080", RPS: 40, ErrorRatio: 0.001, Latency: fast},
			{Name: "shop_checkout-canary_8080", RPS: 10, ErrorRatio: 0.08, Latency: slow},
			{Name: "shop_cart-primary_8080", RPS: 30, ErrorRatio: 0.002, Latency: fast},
			{Name: "shop_cart-canary_8080", RPS: 30, ErrorRatio: 0.002, Latency: fast},
			{Name: "shop_search-primary_8080", RPS: 0.5, Latency: fast},
			{Name: "shop_search-canary_8080", RPS: 0.2, Latency: slow},
		},
	}
}

// compareJSON is the part of compare -o json the tests read.
type compareJSON struct {
	Verdict  string `json:"verdict"`
	Window   string `json:"window"`
	Baseline struct {
		Clusters []string `json:"clusters"`
		RPS      float64  `json:"rps"`
		Success  *float64 `json:"success_rate"`
		P99      *float64 `json:"p99_ms"`
	} `json:"baseline"`
	Canary struct {
		Clusters []string `json:"clusters"`
		RPS      float64  `json:"rps"`
		Success  *float64 `json:"success_rate"`
		P99      *float64 `json:"p99_ms"`
	} `json:"canary"`
	Checks []struct {
		Name    string `json:"name"`
		Verdict string `json:"verdict"`
		Reason  string `json:"reason"`
	} `json:"checks"`
}

// TestCompareAgainstARealPrometheus lets a real Prometheus scrape a simulated fleet with three
// rollouts and runs the real binary's compare on each: a worse canary fails with exit status 1, an
// equal one passes with 0, a trickle is inconclusive with 2, and the numbers behind the verdicts
// match the simulator's truth. A misspelt cluster is an error (3) that names the closest clusters,
// and --watch and top's m/m/c show the same verdict live in a terminal.
func TestCompareAgainstARealPrometheus(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	fleet := canaryFleet()
	mux := http.NewServeMux()
	envoys := httptest.NewServer(mux)
	t.Cleanup(envoys.Close)
	var targets []promtest.Target
	for _, pod := range fleet.Pods {
		mux.Handle("/"+pod+"/", http.StripPrefix("/"+pod, fleet.Handler(pod, envoysim.Stock, nil)))
		targets = append(targets, promtest.Target{
			URL:    envoys.URL + "/" + pod + "/stats/prometheus",
			Labels: map[string]string{"namespace": "shop", "pod": pod},
		})
	}
	srv := promtest.Start(t, targets, promtest.Options{ScrapeInterval: time.Second})
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total`, len(fleet.Pods)*len(fleet.Clusters), 30*time.Second)
	// A one-minute window needs a minute of samples.
	time.Sleep(62 * time.Second)

	run := func(args ...string) (string, string, int) {
		t.Helper()
		return cli.Run(t, bin, nil, append([]string{"compare", "--prometheus-url", srv.URL(), "--envoy-namespace", "shop", "--window", "1m", "--step", "10s"}, args...)...)
	}
	judge := func(t *testing.T, baseline, canary string) compareJSON {
		t.Helper()
		out, stderr, code := run("--baseline", baseline, "--canary", canary, "-o", "json")
		var res compareJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("exit %d, stderr %q, not JSON: %v\n%s", code, stderr, err, out)
		}
		if want := map[string]int{"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 2}[res.Verdict]; code != want {
			t.Errorf("verdict %s exited %d, want %d", res.Verdict, code, want)
		}
		if res.Window != "1m" {
			t.Errorf("window = %q", res.Window)
		}
		return res
	}
	verdicts := func(res compareJSON) map[string]string {
		m := map[string]string{}
		for _, c := range res.Checks {
			m[c.Name] = c.Verdict
		}
		return m
	}
	near := func(t *testing.T, what string, got *float64, want, tol float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > tol*math.Max(math.Abs(want), 1e-9) {
			t.Errorf("%s = %v, want %v within %.0f%%", what, deref(got), want, tol*100)
		}
	}

	t.Run("worse canary fails", func(t *testing.T) {
		res := judge(t, "shop_checkout-primary_8080", "shop_checkout-canary_8080")
		if res.Verdict != "FAIL" {
			t.Fatalf("verdict %s, checks %+v", res.Verdict, res.Checks)
		}
		if s := verdicts(res); s["success-drop"] != "FAIL" || s["p99"] != "FAIL" || s["traffic"] != "PASS" {
			t.Errorf("checks %+v", res.Checks)
		}
		base, _ := fleet.Cluster("shop_checkout-primary_8080")
		can, _ := fleet.Cluster("shop_checkout-canary_8080")
		near(t, "canary success", res.Canary.Success, 1-can.ErrorRatio, 0.01)
		near(t, "baseline success", res.Baseline.Success, 1-base.ErrorRatio, 0.01)
		near(t, "canary p99", res.Canary.P99, can.Quantile(0.99), 0.12)
		near(t, "baseline p99", res.Baseline.P99, base.Quantile(0.99), 0.12)
		rps := res.Canary.RPS
		near(t, "canary rps", &rps, can.RPS, 0.05)
	})
	t.Run("equal canary passes", func(t *testing.T) {
		res := judge(t, "shop_cart-primary_8080", "~shop_cart-canary_.*")
		if res.Verdict != "PASS" {
			t.Fatalf("verdict %s, checks %+v", res.Verdict, res.Checks)
		}
		if len(res.Canary.Clusters) != 1 || res.Canary.Clusters[0] != "shop_cart-canary_8080" {
			t.Errorf("the regex matched %v", res.Canary.Clusters)
		}
	})
	t.Run("a trickle is inconclusive", func(t *testing.T) {
		res := judge(t, "shop_search-primary_8080", "shop_search-canary_8080")
		if res.Verdict != "INCONCLUSIVE" || verdicts(res)["traffic"] != "INCONCLUSIVE" {
			t.Fatalf("verdict %s, checks %+v", res.Verdict, res.Checks)
		}
	})
	t.Run("text", func(t *testing.T) {
		out, _, code := run("--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080")
		if code != 1 || !strings.HasSuffix(out, "verdict: FAIL\n") || !strings.Contains(out, "✗ p99:") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("unknown cluster", func(t *testing.T) {
		out, stderr, code := run("--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canery_8080")
		if code != 3 || out != "" || strings.Count(stderr, "\n") != 1 ||
			!strings.Contains(stderr, "--canary") || !strings.Contains(stderr, "shop_checkout-canary_8080") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
		}
	})

	t.Run("watch", func(t *testing.T) {
		s := tmuxtest.Start(t, 140, 32)
		s.Type(t, bin+" compare --prometheus-url "+srv.URL()+" --envoy-namespace shop --window 1m --step 10s --interval 1s"+
			" --baseline shop_checkout-primary_8080 --canary shop_checkout-canary_8080 --watch; echo EXITED=$?")
		screen := s.WaitForText(t, "verdict: FAIL", 30*time.Second)
		if text := strings.Join(screen, "\n"); !strings.Contains(text, "✗ success-drop") || !strings.Contains(text, "p99 per step") {
			t.Errorf("compare --watch:\n%s", text)
		}
		// Ended, it exits with the verdict on screen, as a one-off comparison does.
		s.Keys(t, "q")
		s.WaitForText(t, "EXITED=1", 10*time.Second)
	})
	t.Run("top marks and compares", func(t *testing.T) {
		s := tmuxtest.Start(t, 140, 32)
		s.Type(t, bin+" top --prometheus-url "+srv.URL()+" --envoy-namespace shop --window 30s --interval 1s --filter cart --sort-by name; echo EXITED=$?")
		s.WaitForText(t, "2/6 clusters", 30*time.Second)
		// By name the canary is the first row and the primary the second.
		s.Keys(t, "Down", "m", "Up", "m", "c")
		screen := s.WaitForText(t, "verdict: PASS", 30*time.Second)
		if text := strings.Join(screen, "\n"); !strings.Contains(text, "B shop_cart-primary_8080") || !strings.Contains(text, "C shop_cart-canary_8080") {
			t.Errorf("top's comparison:\n%s", text)
		}
		s.Keys(t, "Escape")
		s.WaitForText(t, footer, 10*time.Second)
		s.Keys(t, "q")
		s.WaitForText(t, "EXITED=0", 10*time.Second)
	})
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestCompareSaysWhenTheWindowIsEmpty runs compare right after Prometheus' first scrape of the
// fleet, 30s before its second: the clusters exist but nothing can be counted yet, and the verdict
// says so instead of passing or failing.
func TestCompareSaysWhenTheWindowIsEmpty(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	fleet := canaryFleet()
	envoy := httptest.NewServer(fleet.Handler(fleet.Pods[0], envoysim.Stock, nil))
	t.Cleanup(envoy.Close)
	srv := promtest.Start(t, []promtest.Target{{URL: envoy.URL + "/stats/prometheus", Labels: map[string]string{"namespace": "shop", "pod": fleet.Pods[0]}}},
		promtest.Options{ScrapeInterval: 30 * time.Second})
	srv.WaitForSeries(t, `envoy_cluster_upstream_rq_total`, len(fleet.Clusters), time.Minute)

	cmd := exec.Command(bin, "compare", "--prometheus-url", srv.URL(), "--window", "1m", "--step", "10s",
		"--baseline", "shop_cart-primary_8080", "--canary", "shop_cart-canary_8080", "-o", "json")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2\n%s", err, out)
	}
	var res compareJSON
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if res.Verdict != "INCONCLUSIVE" || len(res.Checks) == 0 || res.Checks[0].Name != "traffic" ||
		!strings.Contains(res.Checks[0].Reason, "fewer than two samples of the baseline's clusters") {
		t.Errorf("verdict %s, checks %+v", res.Verdict, res.Checks)
	}
}
