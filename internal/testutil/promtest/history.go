package promtest

import (
	"bufio"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/tools"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// History is a simulated fleet's past, written into Prometheus' storage before it starts, as if
// it had scraped Start's targets every Step from From until To: each target's series are those
// of the fleet's pod named by the target's pod label, with the labels the live scrapes attach
// (job, instance and the target's labels), so that the live series go on where the history ends,
// and the series Prometheus records of every scrape (up, scrape_samples_scraped and
// scrape_samples_post_metric_relabeling).
// To must be before the first live scrape, so that no sample is out of order.
type History struct {
	Fleet    *envoysim.Fleet
	From, To time.Time
	Step     time.Duration
	// Earlier are stretches of a more distant past written as well, at the same Step, such as
	// the minutes around the same time a day and a week ago: each must end before From.
	Earlier []Span
}

// Span is a stretch of time, From to To.
type Span struct{ From, To time.Time }

// spans are the stretches h writes, oldest first.
func (h History) spans() []Span {
	out := append(slices.Clone(h.Earlier), Span{h.From, h.To})
	slices.SortFunc(out, func(a, b Span) int { return a.From.Compare(b.From) })
	return out
}

// histPoint is one sample of a series.
type histPoint struct {
	at time.Time
	v  float64
}

// writeHistory renders h as OpenMetrics and turns it into blocks in dataDir with promtool's
// `tsdb create-blocks-from openmetrics`.
func writeHistory(t testing.TB, dir, dataDir string, targets []Target, h History) {
	t.Helper()
	if h.Fleet == nil || h.Step <= 0 || !h.From.Before(h.To) {
		t.Fatalf("promtest: a history needs a fleet, a positive step and From before To")
	}
	spans := h.spans()
	for i, sp := range spans {
		if !sp.From.Before(sp.To) || (i > 0 && !spans[i-1].To.Before(sp.From)) {
			t.Fatalf("promtest: history spans overlap or are empty: %v", spans)
		}
	}
	begin := time.Now()
	// Samples by metric name, then by series: OpenMetrics wants a metric family's samples
	// together, and each series in time order.
	families := map[string]map[string][]histPoint{}
	for i, target := range targets {
		u, err := url.Parse(target.URL)
		if err != nil {
			t.Fatalf("promtest: target %d: %v", i, err)
		}
		ls := map[string]string{"job": "target-" + strconv.Itoa(i), "instance": u.Host}
		for k, v := range target.Labels {
			ls[k] = v
		}
		pod, tl := target.Labels["pod"], labels.FromMap(ls)
		add := func(l labels.Labels, at time.Time, v float64) {
			name := l.Get(model.MetricNameLabel)
			series, ok := families[name]
			if !ok {
				series = map[string][]histPoint{}
				families[name] = series
			}
			key := seriesText(l)
			series[key] = append(series[key], histPoint{at, v})
		}
		for _, sp := range spans {
			for at := sp.From; !at.After(sp.To); at = at.Add(h.Step) {
				scraped := 0
				err := h.Fleet.TargetSamples(pod, at, envoysim.Stock, tl, func(l labels.Labels, v float64) {
					add(l, at, v)
					scraped++
				})
				if err != nil {
					t.Fatalf("promtest: history of pod %q: %v", pod, err)
				}
				// What Prometheus records of each scrape, as it would have.
				for name, v := range map[string]float64{"up": 1, "scrape_samples_scraped": float64(scraped), "scrape_samples_post_metric_relabeling": float64(scraped)} {
					add(labels.NewBuilder(tl).Set(model.MetricNameLabel, name).Labels(), at, v)
				}
			}
		}
	}
	path := filepath.Join(dir, "history.om")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	n := 0
	for _, name := range slices.Sorted(maps.Keys(families)) {
		series := families[name]
		for _, key := range slices.Sorted(maps.Keys(series)) {
			for _, p := range series[key] {
				fmt.Fprintf(w, "%s %s %d.%03d\n", key, formatValue(p.v), p.at.Unix(), p.at.Nanosecond()/int(time.Millisecond))
				n++
			}
		}
	}
	fmt.Fprintln(w, "# EOF")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tools.Path(t, "promtool"), "tsdb", "create-blocks-from", "openmetrics", path, dataDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtest: promtool tsdb create-blocks-from openmetrics: %v\n%s", err, tail(string(out), 2000))
	}
	t.Logf("promtest: %d samples of history in %d spans from %s to %s written in %s", n, len(spans), spans[0].From.Format(time.DateTime), h.To.Format(time.TimeOnly), time.Since(begin).Round(time.Millisecond))
}

// seriesText is a series as OpenMetrics writes it: name{label="value",…}.
func seriesText(l labels.Labels) string {
	var b strings.Builder
	b.WriteString(l.Get(model.MetricNameLabel))
	b.WriteByte('{')
	first := true
	l.Range(func(lb labels.Label) {
		if lb.Name == model.MetricNameLabel {
			return
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		value := lb.Value
		if lb.Name == model.BucketLabel {
			value = exposedBound(value)
		}
		b.WriteString(lb.Name)
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(value))
		b.WriteByte('"')
	})
	b.WriteByte('}')
	return b.String()
}

// exposedBound is a bucket bound as Envoy exposes it (%.32g, +Inf), the form Prometheus 2 keeps
// from a scrape: the back-filled buckets must be the very series the live scrapes append to, or
// a rate across the junction mixes two series per bound.
func exposedBound(le string) string {
	v, err := strconv.ParseFloat(le, 64)
	switch {
	case err != nil:
		return le
	case v > 0 && v*0 != 0:
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', 32, 64)
}

// formatValue writes a sample value as OpenMetrics does.
func formatValue(v float64) string {
	switch {
	case v != v:
		return "NaN"
	case v > 0 && v*0 != 0:
		return "+Inf"
	case v < 0 && v*0 != 0:
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
