package traffic

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// evaluations answers a rules collector: the recorded series of ruleAnswers, and the stamps
// query with one timestamp per record and namespace, as set.
type evaluations struct {
	mu      sync.Mutex
	answers func(string) Vector
	stamps  map[string]float64 // record → timestamp of its last evaluation; absent: no series
	gone    bool               // the pivot has no recorded series any more
}

var (
	stampRecord  = regexp.MustCompile(`"` + promql.RecordLabel + `", "([^"]+)"`)
	stampCluster = regexp.MustCompile(promql.LabelCluster + `="([^"]+)"`)
)

func (e *evaluations) answer(q string) Vector {
	if !strings.HasPrefix(q, "label_replace(timestamp(") {
		return e.answers(q)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var v Vector
	cluster := stampCluster.FindStringSubmatch(q)[1]
	for _, m := range stampRecord.FindAllStringSubmatch(q, -1) {
		if ts, ok := e.stamps[m[1]]; ok && !e.gone {
			v = append(v, sample(map[string]string{promql.LabelNamespace: "team-a", promql.LabelCluster: cluster, promql.RecordLabel: m[1]}, ts))
		}
	}
	return v
}

func (e *evaluations) set(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f()
}

// TestRulesReadAgainOnlyAfterAnEvaluation follows a rules collector through refreshes between and
// across rule evaluations: it reads the recorded series on its first refresh and whenever the
// stamps of its pivot cluster changed, which costs one small query, and otherwise shows the
// rows of its last read while still reading the listeners.
func TestRulesReadAgainOnlyAfterAnEvaluation(t *testing.T) {
	d := promql.DialectEnvoy
	for _, tc := range []struct {
		name    string
		answers func(string) Vector
		// records the stamps query asks about: those the pivot has
		records []string
	}{
		{"envoy", ruleAnswers(d, true), []string{promql.RecordRequestRate, promql.RecordResponseRate, promql.RecordNot5xxRate,
			promql.RecordLatencyBucketsMs, promql.RecordLatencyBucketsSeconds, promql.RecordActiveRequests, promql.Record4xxRate}},
		// Istio's standard metrics record no requests in flight: no cluster has that series,
		// and the pivot needs only the others.
		{"without requests in flight", func(q string) Vector {
			if strings.Contains(q, promql.RecordActiveRequests) {
				return nil
			}
			return ruleAnswers(d, true)(q)
		}, []string{promql.RecordRequestRate, promql.RecordResponseRate, promql.RecordNot5xxRate,
			promql.RecordLatencyBucketsMs, promql.RecordLatencyBucketsSeconds, promql.Record4xxRate}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &evaluations{answers: tc.answers, stamps: map[string]float64{}}
			for _, r := range tc.records {
				ev.stamps[r] = 990
			}
			fq := &fakeQuerier{}
			fq.answers = ev.answer
			c, err := NewCollector(fq, Config{Dialect: d, Selector: promql.Namespace("team-a"), Window: time.Minute, Source: SourceRules})
			if err != nil {
				t.Fatal(err)
			}
			read := len(c.Queries())
			at := time.Unix(1000, 0)
			// refresh runs one refresh a second after the last and checks what it sent: the
			// stamps query (or not) and every query (read) or the listeners' only.
			refresh := func(step string, probe, reads bool) Frame {
				t.Helper()
				fq.mu.Lock()
				fq.seen = nil
				fq.mu.Unlock()
				at = at.Add(time.Second)
				f, err := c.Frame(context.Background(), at)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				var stamps []string
				for _, q := range fq.seen {
					if strings.HasPrefix(q, "label_replace(timestamp(") {
						stamps = append(stamps, q)
					}
				}
				want := 3 // the listeners
				if reads {
					want = read
				}
				if probe {
					want++
				}
				if len(fq.seen) != want || len(stamps) != map[bool]int{true: 1}[probe] {
					t.Errorf("%s: sent %d queries, %d of them stamps; want %d, stamps %v:\n%s", step, len(fq.seen), len(stamps), want, probe, strings.Join(fq.seen, "\n"))
				}
				for _, q := range stamps {
					// One cluster has every record: idle has no buckets in seconds, nohist none.
					cluster := stampCluster.FindStringSubmatch(q)
					if cluster == nil || cluster[1] != "shop_checkout_8080" || !strings.Contains(q, `namespace="team-a"`) {
						t.Errorf("%s: the stamps query does not ask about the cluster with every record: %s", step, q)
					}
					asked := stampRecord.FindAllStringSubmatch(q, -1)
					var names []string
					for _, m := range asked {
						names = append(names, m[1])
					}
					if !slices.Equal(names, tc.records) {
						t.Errorf("%s: the stamps query asks about %q, want %q", step, names, tc.records)
					}
				}
				if len(f.Rows) != 3 || len(f.Listeners) != 1 || !slices.Contains(f.Warnings, "some warning") {
					t.Errorf("%s: %d rows, %d listeners, warnings %q", step, len(f.Rows), len(f.Listeners), f.Warnings)
				}
				return f
			}

			refresh("first", false, true)
			// The first read did not know the stamps before it: the next one reads again.
			second := refresh("second", true, true)
			// A reader sorting (or spoiling) its frame's rows does not touch the next frame's.
			SortRows(second.Rows, SortName, false)
			want := fmt.Sprint(second.Rows)
			second.Rows[0].RPS = -1
			third := refresh("no evaluation since", true, false)
			SortRows(third.Rows, SortName, false)
			if got := fmt.Sprint(third.Rows); got != want {
				t.Errorf("rows without an evaluation:\n got %s\nwant %s", got, want)
			}
			refresh("still none", true, false)

			// One rule evaluated (the group's evaluation is under way): read again, and once
			// the others follow, again.
			final := tc.records[len(tc.records)-1]
			ev.set(func() { ev.stamps[tc.records[0]] = 1020 })
			refresh("first rule evaluated", true, true)
			refresh("nothing new", true, false)
			ev.set(func() {
				for _, r := range tc.records {
					ev.stamps[r] = 1020
				}
			})
			refresh(final+" evaluated too", true, true)
			refresh("after the evaluation", true, false)

			// The pivot cluster's series went stale: read again.
			ev.set(func() { ev.gone = true })
			refresh("pivot gone", true, true)
			refresh("pivot still gone", true, true)
			ev.set(func() { ev.gone = false })
			refresh("pivot back", true, true)
			refresh("pivot known again", true, false)

			// A refresh at an earlier instant reads what was then.
			at = at.Add(-time.Minute)
			refresh("back in time", false, true)
			refresh("after going back", true, true)
			refresh("settled again", true, false)

			// Reread asks for one read as after an evaluation.
			c.Reread()
			refresh("reread", true, true)
			refresh("after the reread", true, false)
		})
	}
}

// TestRulesReuseSkipsRawCollectors: a collector of Envoy's own series reads every query on every
// refresh, the numbers move with every scrape.
func TestRulesReuseSkipsRawCollectors(t *testing.T) {
	fq := &fakeQuerier{answers: clusterAnswers(promql.DialectEnvoy, 3)}
	c := newCollector(t, fq, promql.DialectEnvoy)
	for i := range 3 {
		if _, err := c.Frame(context.Background(), time.Unix(int64(1000+i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	if want := 3 * len(c.Queries()); len(fq.seen) != want || slices.ContainsFunc(fq.seen, func(q string) bool { return strings.Contains(q, "timestamp(") }) {
		t.Errorf("%d queries in three refreshes, want %d and no stamps:\n%s", len(fq.seen), want, strings.Join(fq.seen, "\n"))
	}
}
