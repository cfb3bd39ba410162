//go:build e2e

package plugin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// BenchmarkTopAllTeams measures one `top -A` refresh over 20 teams, each with a real Prometheus
// scraping a simulated fleet of its own (20 clusters on 2 Envoys), alternating with the refresh of
// one of those teams alone, the same reader and queries. Metrics: both in milliseconds, their
// ratio, which concurrency should keep at 2 or less, and the CPU this process spent in each. The
// reader is reused across refreshes, as the live view reuses it, so it keeps each team's dialect
// after the first.
//
// Sub-benchmarks, each named with its --concurrency:
//   - direct reaches each Prometheus by URL, so the 20 servers' work on the same cores bounds the
//     refresh;
//   - tunnel-50ms adds a round trip of 50 ms before every request, as a tunnel to a remote
//     cluster does, while the servers still work on the same cores;
//   - replay-50ms answers each request, after the same 50 ms, from what the team's real
//     Prometheus answered it during one refresh, recorded before: one cheap in-process handler
//     per team, as if each team's Prometheus computed on a node of its own. A request the
//     recording lacks fails the benchmark. The variant ending in -dialect-every-refresh keeps no
//     dialect, so every refresh asks each team for it, as a reader without teamDialects does.
func BenchmarkTopAllTeams(b *testing.B) {
	const teams = 20
	urls := map[string]string{}
	var stacks []kube.StackSummary
	var servers []*promtest.Server
	fleet := envoysim.ScaleFleet(time.Now().Add(-time.Hour), 20, 2)
	for i := range teams {
		team := fmt.Sprintf("team-%02d", i)
		srv := promtest.Start(b, promtest.ServeFleet(b, fleet, team), promtest.Options{ScrapeInterval: 2 * time.Second})
		urls[team] = srv.URL()
		servers = append(servers, srv)
		stacks = append(stacks, kube.StackSummary{Namespace: team, Team: team, Replicas: 1, Shards: 1})
	}
	for _, srv := range servers {
		srv.WaitForSeries(b, `envoy_cluster_upstream_rq_total`, len(fleet.Pods)*len(fleet.Clusters), time.Minute)
	}
	time.Sleep(10 * time.Second) // a few scrapes, so every rate has points

	cfg := traffic.Config{Selector: promql.Everything, Window: 30 * time.Second, Source: traffic.SourceRaw}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 32
	// reader reads every team with the given concurrency, through the transport each team's
	// client gets.
	reader := func(concurrency int, urls map[string]string, transport func(team string) http.RoundTripper) teamsReader {
		return teamsReader{
			prom: &PrometheusFlags{Timeout: 30 * time.Second}, concurrency: concurrency, traffic: &cfg, dialects: &teamDialects{},
			connect: func(_ context.Context, s kube.StackSummary) (teamConn, error) {
				c, err := prom.New(prom.Config{URL: urls[s.Team], Timeout: 30 * time.Second, Transport: transport(s.Team)})
				if err != nil {
					return teamConn{}, err
				}
				return teamConn{q: c, target: c.URL(), close: func() {}, backend: backendPrometheus}, nil
			},
		}
	}
	delayed := func(delay time.Duration) func(string) http.RoundTripper {
		return func(string) http.RoundTripper {
			if delay == 0 {
				return base
			}
			return roundTripDelay{delay: delay, next: base}
		}
	}
	// refresh reads stacks once and fails b when a team is not read in full, or check says so.
	refresh := func(b *testing.B, reader teamsReader, stacks []kube.StackSummary, check func() error) time.Duration {
		start := time.Now()
		rows := reader.rows(b.Context(), stacks, time.Now())
		took := time.Since(start)
		if err := check(); err != nil {
			b.Fatal(err)
		}
		for _, r := range rows {
			if !r.Reached() || !traffic.Known(r.RPS) {
				b.Fatalf("%s: %s, rps %v", r.Team, r.Reason, r.RPS)
			}
		}
		return took
	}
	// measure also reports the CPU this process spent in each refresh (the reader, and the
	// replay's handlers where they answer), against which the refresh's time on two cores can be
	// weighed; the Prometheus servers are processes of their own.
	measure := func(b *testing.B, reader teamsReader, check func() error) {
		var one, all, oneCPU, allCPU time.Duration
		for b.Loop() {
			c := processCPU(b)
			one += refresh(b, reader, stacks[:1], check)
			c1 := processCPU(b)
			all += refresh(b, reader, stacks, check)
			c2 := processCPU(b)
			oneCPU += c1 - c
			allCPU += c2 - c1
		}
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
		b.ReportMetric(ms(one), "one-team-ms")
		b.ReportMetric(ms(all), "all-teams-ms")
		b.ReportMetric(float64(all)/float64(one), "ratio")
		b.ReportMetric(ms(oneCPU), "one-team-cpu-ms")
		b.ReportMetric(ms(allCPU), "all-teams-cpu-ms")
	}
	noCheck := func() error { return nil }

	for _, v := range []struct {
		name        string
		delay       time.Duration
		concurrency int
	}{
		{"direct", 0, defaultConcurrency},
		{"tunnel-50ms", 50 * time.Millisecond, 8},
		{"tunnel-50ms", 50 * time.Millisecond, teams},
	} {
		b.Run(fmt.Sprintf("%s-concurrency-%d", v.name, v.concurrency), func(b *testing.B) {
			measure(b, reader(v.concurrency, urls, delayed(v.delay)), noCheck)
		})
	}

	// One refresh of every team, with no dialect kept yet, so the recording holds the dialect's
	// lookup too; then the servers stop, and their answers are served from memory.
	recorders := map[string]*recorder{}
	for team := range urls {
		recorders[team] = &recorder{next: base, answers: map[string]recorded{}}
	}
	refresh(b, reader(teams, urls, func(team string) http.RoundTripper { return recorders[team] }), stacks, noCheck)
	for _, srv := range servers {
		srv.Stop()
	}
	replayed := map[string]string{}
	var replays []*replay
	for team, r := range recorders {
		rp := &replay{answers: r.answers}
		srv := httptest.NewServer(rp)
		b.Cleanup(srv.Close)
		replayed[team] = srv.URL
		replays = append(replays, rp)
	}
	// missing fails the benchmark for the first request any replay had no answer for.
	missing := func() error {
		for _, rp := range replays {
			if err := rp.missed(); err != nil {
				return err
			}
		}
		return nil
	}
	for _, v := range []struct {
		concurrency int
		keep        bool
	}{{8, true}, {16, true}, {teams, true}, {teams, false}} {
		name := fmt.Sprintf("replay-50ms-concurrency-%d", v.concurrency)
		if !v.keep {
			name += "-dialect-every-refresh"
		}
		b.Run(name, func(b *testing.B) {
			r := reader(v.concurrency, replayed, delayed(50*time.Millisecond))
			if !v.keep {
				r.dialects = nil
			}
			measure(b, r, missing)
		})
	}
}

// processCPU is the CPU time, user and system, this process has spent so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// roundTripDelay waits delay before it passes each request on to next: the round trip a tunnel to
// a remote cluster adds to every request.
type roundTripDelay struct {
	delay time.Duration
	next  http.RoundTripper
}

func (d roundTripDelay) RoundTrip(r *http.Request) (*http.Response, error) {
	t := time.NewTimer(d.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return d.next.RoundTrip(r)
	case <-r.Context().Done():
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, r.Context().Err()
	}
}

// recorded is one answer of a Prometheus.
type recorded struct {
	status int
	header http.Header
	body   []byte
}

// answerKey names a request by its method, path and form (query string and form body), without
// the evaluation time, which changes from one refresh to the next.
func answerKey(method, path string, form url.Values) string {
	form = maps.Clone(form)
	delete(form, "time")
	return method + " " + path + "?" + form.Encode()
}

// recorder passes each request on to next and keeps its answer, by answerKey.
type recorder struct {
	next http.RoundTripper

	mu      sync.Mutex
	answers map[string]recorded
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	form := r.URL.Query()
	if r.Body != nil {
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		posted, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, v := range posted {
			form[k] = append(form[k], v...)
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	resp, err := rec.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	rec.mu.Lock()
	rec.answers[answerKey(r.Method, r.URL.Path, form)] = recorded{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
	rec.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// replay answers each request with what a recorder kept for it; a request it has no answer for
// gets 500, and missed reports the first.
type replay struct {
	answers map[string]recorded

	mu   sync.Mutex
	miss string
}

func (rp *replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key := answerKey(r.Method, r.URL.Path, r.Form)
	a, ok := rp.answers[key]
	if !ok {
		rp.mu.Lock()
		if rp.miss == "" {
			rp.miss = key
		}
		rp.mu.Unlock()
		http.Error(w, "not recorded: "+key, http.StatusInternalServerError)
		return
	}
	for k, v := range a.header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

func (rp *replay) missed() error {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.miss != "" {
		return fmt.Errorf("the recording has no answer for %s", rp.miss)
	}
	return nil
}
