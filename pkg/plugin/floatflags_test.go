//go:build e2e

package plugin

import (
	"strings"
	"testing"
)

// TestNonFiniteFlagsAreRefused: every float flag of top and compare refuses NaN and infinity
// (and negatives where they mean nothing) with one line naming the flag and the fix.
func TestNonFiniteFlagsAreRefused(t *testing.T) {
	arms := []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080"}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{append(arms[:len(arms):len(arms)], "--min-requests", "NaN"), "--min-requests"},
		{append(arms[:len(arms):len(arms)], "--min-requests", "+Inf"), "--min-requests"},
		{append(arms[:len(arms):len(arms)], "--min-requests=-1"), "--min-requests"},
		{append(arms[:len(arms):len(arms)], "--alpha", "NaN"), "--alpha"},
		{append(arms[:len(arms):len(arms)], "--max-p99-increase", "NaN"), "--max-p99-increase"},
		{append(arms[:len(arms):len(arms)], "--min-success-rate", "Inf"), "--min-success-rate"},
		{append(arms[:len(arms):len(arms)], "--max-success-drop", "NaN"), "--max-success-drop"},
		{[]string{"top", "--demo", "--once", "--min-rps", "NaN"}, "--min-rps"},
		{[]string{"top", "--demo", "--once", "--min-rps", "Inf"}, "--min-rps"},
		{[]string{"top", "--demo", "--once", "--min-rps=-1"}, "--min-rps"},
	} {
		t.Run(strings.Join(tc.args[len(tc.args)-2:], " "), func(t *testing.T) {
			stdout, stderr, code := runBinary(t, tc.args...)
			want := 1
			if tc.args[0] == "compare" {
				want = compareErrorExit
			}
			if code != want || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "error: invalid "+tc.flag+" ") ||
				!strings.Contains(stderr, "e.g.") && !strings.Contains(stderr, "such as") {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q", code, want, stdout, stderr)
			}
		})
	}
}
