package compare_test

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
)

// withNames is a result whose arms and reasons carry name, as Prometheus answered it.
func withNames(name string) compare.Result {
	arm := func(n string) compare.ArmStats {
		return compare.ArmStats{Selector: "~" + n, Clusters: []string{n, n + "_2"}, Counted: true, Requests: 10, Errors: 1,
			RPS: 1, Share: 0.5, Success: 0.9, SuccessLo: 0.6, SuccessHi: 0.98, P50: 1, P90: 2, P99: 3,
			Timeouts: math.NaN(), Retries: 0}
	}
	return compare.Result{
		Window: 5 * time.Minute, Step: 30 * time.Second, Baseline: arm(name), Canary: arm(name + "-canary"),
		SuccessDelta: 0, SuccessP: 1, SuccessTest: "Fisher exact", P99Increase: 0, LatencyP: 1,
		Checks:  []compare.Check{{Name: "traffic", Verdict: compare.Inconclusive, Reason: "cluster " + name + " is quiet"}},
		Verdict: compare.Inconclusive,
	}
}

func TestRenderTextShowsHostileNamesAsText(t *testing.T) {
	hostile := "\x1b[2J\x1b[31mshop\r\n✓ p99: forged\u202e\x07\x9b\xff"
	var clean, got bytes.Buffer
	if err := compare.RenderText(&clean, withNames("shop")); err != nil {
		t.Fatal(err)
	}
	if err := compare.RenderText(&got, withNames(hostile)); err != nil {
		t.Fatal(err)
	}
	out := got.String()
	for _, r := range out {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError) {
			t.Fatalf("%U reached the text:\n%q", r, out)
		}
	}
	if !strings.Contains(out, `\x1b[2J\x1b[31mshop\r\n`) {
		t.Errorf("the names are not shown as escapes:\n%s", out)
	}
	if n, want := strings.Count(out, "\n"), strings.Count(clean.String(), "\n"); n != want {
		t.Errorf("%d lines, want %d as with a plain name:\n%s", n, want, out)
	}
}
