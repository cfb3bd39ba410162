package doctor

import (
	"fmt"
	"io"
	"strings"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// Status is the outcome of one check.
type Status string

// The outcomes of a check.
const (
	StatusPassed  Status = "passed"
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped"
)

// Result is the outcome of one check.
type Result struct {
	ID     string `json:"id"`     // stable name of the check, such as "selectors"
	Title  string `json:"title"`  // what the check verifies, one line
	Status Status `json:"status"` // passed, failed or skipped
	// Reason is what was found: why the check failed or was skipped, or a short summary when it
	// passed.
	Reason string `json:"reason"`
	// Fix is the exact remedy, one per line; empty unless the check failed.
	Fix string `json:"fix"`
}

// Report is the outcome of every check for one team, in the order they ran.
type Report struct {
	Team      string `json:"team"`
	Namespace string `json:"namespace"`
	// Backend is what answered the live checks: "prometheus" (one Prometheus) or
	// "thanos-query" (the team's Thanos Query, over every shard and replica). The caller sets it;
	// empty, it is left out.
	Backend string   `json:"backend,omitempty"`
	Results []Result `json:"results"`
}

// Failed reports whether any check failed.
func (r Report) Failed() bool {
	for _, res := range r.Results {
		if res.Status == StatusFailed {
			return true
		}
	}
	return false
}

// Result returns the result of the check with the given ID.
func (r Report) Result(id string) (Result, bool) {
	for _, res := range r.Results {
		if res.ID == id {
			return res, true
		}
	}
	return Result{}, false
}

// ANSI colours of the markers.
const (
	ansiGreen  = "\x1b[32m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiReset  = "\x1b[0m"
)

// WriteText writes one line per check: "✓ title" when it passed, "✗ title: reason" followed by
// one indented "fix: …" line per remedy when it failed, and "- title: skipped, reason" when it
// was skipped. With color the markers are coloured with ANSI escapes. Reasons and fixes quote the
// cluster and Prometheus; their control characters are shown as escapes (termtext.Sanitize).
func (r Report) WriteText(w io.Writer, color bool) error {
	return writeResults(w, r.Results, color, false)
}

// writeResults writes results as Report.WriteText describes; with passedReasons a passed
// result's reason follows its title too.
func writeResults(w io.Writer, results []Result, color, passedReasons bool) error {
	var b strings.Builder
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	for _, res := range results {
		switch res.Status {
		case StatusPassed:
			if passedReasons && res.Reason != "" {
				fmt.Fprintf(&b, "%s %s: %s\n", paint(ansiGreen, "✓"), termtext.Sanitize(res.Title), termtext.Sanitize(oneLine(res.Reason)))
				continue
			}
			fmt.Fprintf(&b, "%s %s\n", paint(ansiGreen, "✓"), termtext.Sanitize(res.Title))
		case StatusFailed:
			fmt.Fprintf(&b, "%s %s: %s\n", paint(ansiRed, "✗"), termtext.Sanitize(res.Title), termtext.Sanitize(oneLine(res.Reason)))
			for _, fix := range strings.Split(res.Fix, "\n") {
				if fix = strings.TrimSpace(fix); fix != "" {
					fmt.Fprintf(&b, "    fix: %s\n", termtext.Sanitize(fix))
				}
			}
		default:
			fmt.Fprintf(&b, "%s %s: skipped, %s\n", paint(ansiYellow, "-"), termtext.Sanitize(res.Title), termtext.Sanitize(oneLine(res.Reason)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine joins the lines of s with "; " so that every check stays on one line.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
