//go:build e2e

package plugin

import (
	"encoding/json"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/hostile"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tmuxtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// hostileOverrun is the longest a command may run past its --timeout: starting the process and
// printing, on a busy machine.
const hostileOverrun = 2 * time.Second

// hostileRun is one way of running a command against a hostile Prometheus.
type hostileRun struct {
	name    string
	args    []string
	compare bool
	json    bool
	wide    bool
}

var hostileRuns = []hostileRun{
	{name: "top", args: []string{"top", "--once"}},
	{name: "top wide", args: []string{"top", "--once", "-o", "wide"}, wide: true},
	{name: "top json", args: []string{"top", "--once", "-o", "json"}, json: true},
	{name: "compare", args: []string{"compare", "--baseline", "b", "--canary", "c"}, compare: true},
	{name: "compare json", args: []string{"compare", "--baseline", "b", "--canary", "c", "-o", "json"}, compare: true, json: true},
}

// hostileResult is what one run printed.
type hostileResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// TestHostilePrometheus runs top --once (table, wide, JSON) and compare (text, JSON), the real
// binary, against every misbehaviour of internal/testutil/hostile: each ends with the case's
// documented outcome, in time, without a panic, a control character in what it prints, or the
// token reaching another host or its output.
func TestHostilePrometheus(t *testing.T) {
	bin := binary(t)
	for _, c := range hostile.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			s := hostile.Start(t, c)
			results := make([]hostileResult, len(hostileRuns))
			// The cases over the limit end sooner under a smaller one; TestHostilePrometheusMemory
			// runs them under the default.
			var limit []string
			if slices.Equal(c.Err, hostile.AnswerLimitError) {
				limit = []string{"--prometheus-max-answer-size", hostile.SmallLimit}
				c.Top.Err, c.Compare.Err = hostile.SmallLimitError, hostile.SmallLimitError
			}
			runOne := func(i int) {
				args := append(append(append([]string{}, hostileRuns[i].args...), s.Flags(c.Timeout())...), limit...)
				start := time.Now()
				stdout, stderr, code := cli.Run(t, bin, []string{"NO_COLOR=1"}, args...)
				results[i] = hostileResult{stdout, stderr, code, time.Since(start)}
			}
			if c.Big {
				// One at a time: each reads as much as the plugin allows.
				for i := range hostileRuns {
					runOne(i)
				}
			} else {
				var wg sync.WaitGroup
				for i := range hostileRuns {
					wg.Go(func() { runOne(i) })
				}
				wg.Wait()
			}
			var compareJSON compareDoc
			for i, r := range hostileRuns {
				if r.name == "compare json" && !c.Compare.Fails() {
					compareJSON = decodeCompare(t, results[i].stdout)
				}
			}
			for i, r := range hostileRuns {
				t.Run(r.name, func(t *testing.T) {
					checkHostileRun(t, c, s, r, results[i], compareJSON)
				})
			}
			checkToken(t, c, s)
		})
	}
}

// checkToken: the token went to the configured Prometheus and nowhere else.
func checkToken(t *testing.T, c hostile.Case, s *hostile.Server) {
	t.Helper()
	requests, auth := s.Elsewhere()
	if len(auth) > 0 {
		t.Errorf("the other host received Authorization %q", auth)
	}
	switch {
	case c.Redirect && c.TLS && requests > 0:
		t.Errorf("the plugin followed a redirect from https to http: the other host saw %d requests", requests)
	case c.Redirect && !c.TLS && requests == 0:
		t.Error("the plugin did not follow the redirect to the other host")
	}
	if !s.TokenSeen() {
		t.Error("the configured Prometheus never received the token")
	}
}

func checkHostileRun(t *testing.T, c hostile.Case, s *hostile.Server, r hostileRun, res hostileResult, cmpDoc compareDoc) {
	t.Helper()
	if strings.Contains(res.stdout+res.stderr, s.Token) {
		t.Errorf("the token was printed:\nstdout %q\nstderr %q", res.stdout, res.stderr)
	}
	want := c.Top
	if r.compare {
		want = c.Compare
	}
	if res.took > c.Timeout()+hostileOverrun {
		t.Errorf("took %s, more than --timeout %s and %s", res.took.Round(time.Millisecond), c.Timeout(), hostileOverrun)
	}
	for _, out := range []string{res.stdout, res.stderr} {
		if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
			t.Fatalf("a panic:\nstdout %s\nstderr %s", res.stdout, res.stderr)
		}
	}
	// JSON too: it is printed on terminals.
	assertTerminalSafe(t, "stderr", res.stderr)
	assertTerminalSafe(t, "stdout", res.stdout)
	if want.Fails() {
		code := 1
		if r.compare {
			code = compareErrorExit
		}
		if res.code != code || res.stdout != "" || strings.Count(res.stderr, "\n") != 1 || !strings.HasPrefix(res.stderr, "error: ") {
			t.Fatalf("want exit %d and one error line, got exit %d\nstdout %q\nstderr %q", code, res.code, res.stdout, res.stderr)
		}
		for _, text := range want.Err {
			if !strings.Contains(res.stderr, text) {
				t.Errorf("the error does not say %q: %s", text, res.stderr)
			}
		}
		return
	}
	if r.compare {
		checkHostileCompare(t, c, r, res, cmpDoc)
		return
	}
	if res.code != 0 {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", res.code, res.stdout, res.stderr)
	}
	// Each warning is one line of stderr, escaped.
	var warnings []string
	for _, w := range c.Warnings {
		warnings = append(warnings, "warning: "+termtext.Sanitize(w)+"\n")
	}
	if got := res.stderr; got != strings.Join(warnings, "") {
		t.Errorf("stderr %q, want %q", got, warnings)
	}
	if r.json {
		checkTopJSON(t, c, res.stdout)
		return
	}
	checkTopTable(t, c, r, res.stdout)
}

// checkTopTable: one line per row (and per listener in wide), each name on one line as escapes,
// invalid numbers marked.
func checkTopTable(t *testing.T, c hostile.Case, r hostileRun, stdout string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	want := 1 + c.Top.Rows
	if r.wide && c.Top.Rows > 0 {
		want += 2 + c.Top.Rows // a blank line, the listeners' header, a listener per name
	}
	if len(lines) != want {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), want, stdout)
	}
	for _, name := range c.Names {
		shown := termtext.Sanitize(hostile.Decoded(name))
		n := 0
		for _, l := range lines {
			// Every row and listener starts with the marker column: "! " or two spaces.
			if rest, ok := strings.CutPrefix(l, "  "); ok && strings.HasPrefix(rest, shown+" ") ||
				strings.HasPrefix(l, traffic.Marker+" "+shown+" ") {
				n++
				// The listeners' success ratio comes from their responses by class, which this
				// Prometheus answers with plain rates: a ratio of 350% reaches only the row.
				row, successOnly := n == 1, slices.Equal(c.Top.Invalid, []string{"success_rate"})
				if len(c.Top.Invalid) > 0 && (row || !successOnly) && !strings.Contains(l, "invalid") {
					t.Errorf("the row of %q does not say invalid: %q", name, l)
				}
			}
		}
		if wantN := map[bool]int{true: 2, false: 1}[r.wide]; n != wantN {
			t.Errorf("%d lines start with %q, want %d:\n%s", n, shown, wantN, stdout)
		}
	}
	if c.Top.NoData && strings.Contains(stdout, "invalid") {
		t.Errorf("no data shows as invalid:\n%s", stdout)
	}
}

func checkTopJSON(t *testing.T, c hostile.Case, stdout string) {
	t.Helper()
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if len(doc.Rows) != c.Top.Rows {
		t.Fatalf("%d rows, want %d:\n%s", len(doc.Rows), c.Top.Rows, stdout)
	}
	var names []string
	for _, row := range doc.Rows {
		name, _ := row["name"].(string)
		names = append(names, name)
		var invalid []string
		if list, ok := row["invalid"].([]any); ok {
			for _, f := range list {
				s, _ := f.(string)
				invalid = append(invalid, s)
				if row[s] != nil {
					t.Errorf("row %q: invalid %s is %v, not null", name, s, row[s])
				}
			}
		}
		if !slices.Equal(invalid, c.Top.Invalid) {
			t.Errorf("row %q: invalid %q, want %q", name, invalid, c.Top.Invalid)
		}
		if c.Top.NoData {
			for _, f := range []string{"rps", "success_rate", "p50_ms", "p90_ms", "p99_ms", "active_requests"} {
				if row[f] != nil {
					t.Errorf("row %q: %s is %v, want null", name, f, row[f])
				}
			}
		}
	}
	var want []string
	for _, n := range c.Names {
		want = append(want, hostile.Decoded(n))
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(slices.Compact(want), names) {
		t.Errorf("names %q, want %q", names, want)
	}
}

// compareDoc is the part of compare's JSON the tests read.
type compareDoc struct {
	Verdict  string `json:"verdict"`
	Baseline struct {
		Clusters []string `json:"clusters"`
		Invalid  []string `json:"invalid"`
	} `json:"baseline"`
	Canary struct {
		Invalid []string `json:"invalid"`
	} `json:"canary"`
	Checks []struct {
		Name string `json:"name"`
	} `json:"checks"`
	ok bool
}

func decodeCompare(t *testing.T, stdout string) compareDoc {
	var doc compareDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Errorf("compare -o json is not JSON: %v\n%s", err, stdout)
		return doc
	}
	doc.ok = true
	return doc
}

// checkHostileCompare: a verdict (0, 1 or 2) that names the clusters, every invalid number, and
// prints one line per row of its text.
func checkHostileCompare(t *testing.T, c hostile.Case, r hostileRun, res hostileResult, doc compareDoc) {
	t.Helper()
	if res.code < 0 || res.code > 2 {
		t.Fatalf("exit %d, want a verdict\nstdout %q\nstderr %q", res.code, res.stdout, res.stderr)
	}
	if res.stderr != "" {
		t.Errorf("stderr %q", res.stderr)
	}
	if !doc.ok {
		t.Fatal("no JSON to compare with")
	}
	if want, ok := map[string]int{"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 2}[doc.Verdict]; !ok || res.code != want {
		t.Errorf("exit %d, verdict %q", res.code, doc.Verdict)
	}
	if r.json {
		for arm, invalid := range map[string][]string{"baseline": doc.Baseline.Invalid, "canary": doc.Canary.Invalid} {
			if !sameSet(invalid, c.Compare.Invalid) {
				t.Errorf("%s invalid %q, want %q", arm, invalid, c.Compare.Invalid)
			}
		}
		var want []string
		for _, n := range c.Names {
			want = append(want, hostile.Decoded(n))
		}
		slices.Sort(want)
		if !slices.Equal(slices.Compact(want), doc.Baseline.Clusters) {
			t.Errorf("clusters %q, want %q", doc.Baseline.Clusters, want)
		}
		return
	}
	// 12 rows of numbers, an invalid-data row when there is one, a blank line, the checks, a blank
	// line and the verdict.
	want := 12 + 1 + len(doc.Checks) + 2
	if len(c.Compare.Invalid) > 0 {
		want++
	}
	if got := strings.Count(res.stdout, "\n"); got != want {
		t.Errorf("%d lines, want %d:\n%s", got, want, res.stdout)
	}
	var shown []string
	for _, n := range c.Names {
		shown = append(shown, termtext.Sanitize(hostile.Decoded(n)))
	}
	for _, l := range strings.Split(res.stdout, "\n") {
		if strings.HasPrefix(l, "clusters ") {
			for _, s := range shown {
				if !strings.Contains(l, s) {
					t.Errorf("the clusters row does not show %q: %q", s, l)
				}
			}
		}
	}
	if !strings.Contains(res.stdout, "verdict: "+doc.Verdict+"\n") {
		t.Errorf("text and JSON verdicts differ:\n%s", res.stdout)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// assertTerminalSafe fails when text holds anything a terminal acts on rather than prints: a
// control character other than a line feed (C0, DEL, C1), a bidirectional control, a line or
// paragraph separator, or invalid UTF-8.
func assertTerminalSafe(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not UTF-8: %q", what, s)
		return
	}
	for i, r := range s {
		bad := r < 0x20 && r != '\n' || r >= 0x7f && r < 0xa0 ||
			r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c ||
			r == 0x2028 || r == 0x2029
		if bad {
			t.Errorf("%s holds %U at %d: %q", what, r, i, s)
			return
		}
	}
}

// heapBytes reads the bytes of live and unswept heap objects without stopping the world.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakHeap runs f while sampling the heap every millisecond, and returns how far the heap grew
// above where it was before.
func peakHeap(f func()) uint64 {
	runtime.GC()
	base := heapBytes()
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var top uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapBytes(); h > top {
				top = h
			}
			select {
			case <-done:
				peak <- top
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	top := <-peak
	if top < base {
		return 0
	}
	return top - base
}

// maxHostileHeap bounds how far one command against a hostile Prometheus may grow the heap, its
// garbage included: the answers it reads at once hold at most the default 64Mi together, which
// io.ReadAll's growing buffer and the collector's pacing (GOGC) make about four times that.
const maxHostileHeap = 320 << 20

// TestHostilePrometheusMemory runs top and compare in this process against the cases that answer
// more than the plugin reads, and those that never end: the heap stays bounded whatever they
// send, and no goroutine stays behind once the command has returned and the server is gone.
// The big answers go to each command with the dialect and source given, so that top sends all its
// queries at once and compare twenty, and without, as users run them; the silent servers to the
// command that sends the most at once.
func TestHostilePrometheusMemory(t *testing.T) {
	t.Setenv("KUBECONFIG", "/nonexistent")
	for _, c := range hostile.Cases() {
		if !c.Big && !c.Slow {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			// compare with its dialect sends the most queries at once: twenty.
			runs := [][]string{{"compare", "--baseline", "b", "--canary", "c", "--dialect", "envoy"}}
			if c.Big {
				runs = append(runs, []string{"top", "--once", "--dialect", "envoy", "--source", "raw", "-o", "json"},
					[]string{"top", "--once"}, []string{"compare", "--baseline", "b", "--canary", "c", "-o", "json"})
			}
			for _, args := range runs {
				name := strings.Join(args, " ")
				goroutines := runtime.NumGoroutine()
				s := hostile.Start(t, c)
				var err error
				var stdout string
				start := time.Now()
				grew := peakHeap(func() {
					stdout, _, err = run(t, append(args, s.Flags(c.Timeout())...)...)
				})
				took := time.Since(start)
				s.Close()
				t.Logf("%s: the heap grew by %d MiB; took %s", name, grew>>20, took.Round(time.Millisecond))
				if grew > maxHostileHeap {
					t.Errorf("%s: the heap grew by %d MiB, more than %d MiB", name, grew>>20, maxHostileHeap>>20)
				}
				if took > c.Timeout()+hostileOverrun {
					t.Errorf("%s: took %s", name, took.Round(time.Millisecond))
				}
				if err == nil || stdout != "" {
					t.Fatalf("%s: err %v, stdout %q", name, err, stdout)
				}
				msg := termtext.Sanitize(err.Error())
				atOnce := slices.Contains(args, "--dialect") && c.AtOnce != nil && saysAll(msg, c.AtOnce)
				if !saysAll(msg, c.Top.Err) && !atOnce {
					t.Errorf("%s: the error does not say %q: %.300s", name, c.Top.Err, msg)
				}
				assertNoGoroutineLeft(t, name, goroutines)
			}
		})
	}
}

// saysAll reports whether msg holds every one of texts.
func saysAll(msg string, texts []string) bool {
	for _, text := range texts {
		if !strings.Contains(msg, text) {
			return false
		}
	}
	return true
}

// assertNoGoroutineLeft waits a little for the goroutines of a command and its server to end:
// connections notice the server closed them.
func assertNoGoroutineLeft(t *testing.T, what string, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Errorf("%s: %d goroutines before, %d after:\n%s", what, before, runtime.NumGoroutine(), buf[:n])
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDashboardShowsHostileNamesInARealTerminal runs the real binary's dashboard in a tmux
// pseudo-terminal against cluster names full of escape sequences, CR/LF and bidi controls: the
// terminal shows them as escapes, one row each, and acts on none (no cleared screen, no title).
func TestDashboardShowsHostileNamesInARealTerminal(t *testing.T) {
	bin := binary(t)
	var c hostile.Case
	for _, hc := range hostile.Cases() {
		if hc.Name == "hostile cluster names" {
			c = hc
		}
	}
	s := hostile.Start(t, c)
	term := tmuxtest.Start(t, 200, 40)
	before := term.Title(t)
	term.Type(t, bin+" top "+strings.Join(s.Flags(10*time.Second), " ")+" --interval 1s; echo EXITED=$?")
	// The footer shows before the first refresh has loaded: wait for the rows.
	const row = " 12.0   99.00% "
	screen := strings.Join(term.WaitFor(t, "the rows", 30*time.Second, func(sc string) bool {
		return strings.Contains(sc, footer) && strings.Count(sc, row) >= len(c.Names)
	}), "\n")
	for _, name := range c.Names {
		shown := []rune(termtext.Sanitize(hostile.Decoded(name)))
		start := string(shown[:min(len(shown), 12)])
		if n := strings.Count(screen, start); n < 1 {
			t.Errorf("%q is not on screen as %q:\n%s", name, start, screen)
		}
	}
	rows := 0
	for i, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "forged") {
			t.Errorf("line %d is a forged row: %q", i, l)
		}
		if strings.Contains(l, row) {
			rows++
		}
	}
	if rows != len(c.Names) {
		t.Errorf("%d rows on screen, want %d:\n%s", rows, len(c.Names), screen)
	}
	if !strings.HasPrefix(screen, "promteam top") {
		t.Errorf("the header is not the first line:\n%s", screen)
	}
	if title := term.Title(t); title != before || strings.Contains(title, "pwned") {
		t.Errorf("the pane title changed from %q to %q", before, title)
	}
	term.Keys(t, "q")
	term.WaitForText(t, "EXITED=0", 10*time.Second)
}
