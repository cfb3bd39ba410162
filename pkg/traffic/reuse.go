package traffic

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// lastRead is a rules collector's last read of the recorded series, kept so that the refreshes
// after it skip reading them again until the rules are evaluated again.
//
// Recorded series change only when Prometheus evaluates the rule group (every 30 s by default),
// while the dashboard refreshes every 2 s: most reads would bring exactly what the last one did.
// Each evaluation writes every series of a rule with the evaluation's timestamp, and a query sees
// a rule's output whole or not at all. So the timestamps of one cluster's recorded series, the
// pivot's, tell whether anything was written since: a refresh first asks for them (a handful of
// series) and reads the rest only when they changed. The pivot has a series for every record
// the read answered for any cluster, so no rule's evaluation goes unnoticed; a pivot that is gone
// (a stale or expired series) answers fewer stamps and so forces a read.
type lastRead struct {
	// at is the instant of the read; a refresh at an earlier instant reads again.
	at time.Time
	// rows and notes are the read's cluster rows and the answers' notes (indexed like
	// Collector.frame; listener entries unused).
	rows  []Row
	notes []Result
	// pivot is the cluster that stands for the read, probe the query of its stamps
	// (promql.RecordedStamps).
	pivot, probe string
	// stamps is probe's answer from just before the read, "" when unknown (the first read, or
	// a pivot the last probe did not ask about), which never matches.
	stamps string
}

// askUnlessReusable asks for the stamps of last's pivot at instant at and, unless they are the
// ones seen just before last's read, sends every cluster query through ask. It returns the stamps
// and whether last's rows stand.
func (c *Collector) askUnlessReusable(ctx context.Context, last *lastRead, at time.Time, ask func(q query, i int)) (stamps string, reuse bool, err error) {
	r, err := c.q.Query(ctx, last.probe, at)
	if err != nil {
		return "", false, err
	}
	if stamps = stampsOf(r.Vector); stamps != "" && stamps == last.stamps {
		return stamps, true, nil
	}
	for i, q := range c.frame {
		if q.listener == nil {
			ask(q, i)
		}
	}
	return stamps, false, nil
}

// remember keeps a read of the recorded series for the next refreshes; nil when no cluster can
// stand for it. stamps is what the last read's probe answered just before this read.
func (c *Collector) remember(fl *fold, rows []Row, notes []Result, at time.Time, last *lastRead, stamps string) *lastRead {
	var all uint32
	for _, r := range fl.rows {
		all |= r.answered
	}
	// Keep the pivot while it still has every record; else take the lowest name that has.
	pivot := ""
	if last != nil {
		if r, ok := fl.rows[last.pivot]; ok && r.answered == all {
			pivot = r.Name
		}
	}
	if pivot == "" {
		for name, r := range fl.rows {
			// The stamps are a cluster's: a route's group has none of its own.
			if _, group := routeMembers(c.cfg.Naming, promql.LabelCluster, name); group && c.grouped {
				continue
			}
			if r.answered == all && (pivot == "" || name < pivot) {
				pivot = name
			}
		}
	}
	var records []string
	for _, q := range c.frame {
		if q.bit&all != 0 && !slices.Contains(records, q.record) {
			records = append(records, q.record)
		}
	}
	if pivot == "" || len(records) == 0 {
		return nil
	}
	probe, err := promql.Check(promql.RecordedStamps(c.cfg.Selector, pivot, records...))
	if err != nil {
		return nil
	}
	read := &lastRead{at: at, rows: slices.Clone(rows), notes: notes, pivot: pivot, probe: probe}
	if last != nil && last.probe == probe {
		read.stamps = stamps
	}
	return read
}

// stampsOf is a stamps answer as one comparable string: every series' labels and timestamp,
// sorted. "" for an empty answer.
func stampsOf(v Vector) string {
	if len(v) == 0 {
		return ""
	}
	lines := make([]string, len(v))
	for i, s := range v {
		lines[i] = s.Metric.String() + " " + strconv.FormatFloat(s.Value, 'g', -1, 64)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// Reread makes the next refresh of a rules collector read the recorded series again even if the
// rules have not been evaluated since its last read, as it does after an evaluation. The
// refreshes after that reuse the read again.
func (c *Collector) Reread() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil {
		read := *c.last
		read.stamps = ""
		c.last = &read
	}
}
