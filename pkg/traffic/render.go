package traffic

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// Dash is what a missing number prints as.
const Dash = "-"

// InvalidText is what a number Prometheus answered outside its domain prints as in a table.
const InvalidText = "invalid"

// cell prints v with format, or InvalidText when f is among the invalid fields.
func cell(v float64, format func(float64) string, invalid, f Fields) string {
	if invalid.Has(f) {
		return InvalidText
	}
	return format(v)
}

// FormatRPS prints requests per second like linkerd: one decimal, "<0.1" for a trickle that
// would otherwise round to zero.
func FormatRPS(v float64) string {
	switch {
	case !Known(v):
		return Dash
	case v > 0 && v < 0.05:
		return "<0.1"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// FormatSuccess prints a ratio as a percentage with two decimals. A ratio below 1 never rounds
// up to 100.00%.
func FormatSuccess(v float64) string {
	if !Known(v) {
		return Dash
	}
	s := strconv.FormatFloat(v*100, 'f', 2, 64) + "%"
	if v < 1 && s == "100.00%" {
		return "99.99%"
	}
	return s
}

// FormatLatency prints milliseconds: "0.4ms", "12ms", and seconds from one second on ("1.3s").
func FormatLatency(ms float64) string {
	switch {
	case !Known(ms):
		return Dash
	case ms >= 100_000:
		return strconv.FormatFloat(ms/1000, 'f', 0, 64) + "s"
	case ms >= 999.5:
		return strconv.FormatFloat(ms/1000, 'f', 1, 64) + "s"
	case ms < 9.95 && ms != 0:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
}

// FormatCount prints a gauge such as requests in flight: whole numbers, one decimal below ten.
func FormatCount(v float64) string {
	switch {
	case !Known(v):
		return Dash
	case v != math.Trunc(v) && math.Abs(v) < 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// ServiceName prints namespace/service, or the dash when the cluster name does not reveal it.
func ServiceName(r Row) string {
	if r.Service == "" {
		return Dash
	}
	return r.Namespace + "/" + r.Service
}

// TableOptions choose what RenderTable prints.
type TableOptions struct {
	// Wide adds separate namespace and service columns, requests in flight and the downstream
	// listeners.
	Wide bool
	// MinRPS is the request rate from which a row above the thresholds is marked (see
	// AboveThresholds); top's --min-rps.
	MinRPS float64
}

// RenderTable writes rows as an aligned table, 4xx and 5xx responses per second next to the
// success ratio. A row above the thresholds starts with Marker, which needs no colour to be seen.
// Names come from Prometheus: they are printed through termtext.Sanitize, so each row is one line
// of text whatever a name holds.
func RenderTable(w io.Writer, f Frame, opts TableOptions) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	change := ""
	if len(f.Past) > 0 {
		change = "\tBIGGEST CHANGE"
	}
	// A row named by its route keeps its cluster name (or its route group's) in -o wide's last
	// column, there only when a row has one.
	routes := false
	for i := range f.Rows {
		routes = routes || f.Rows[i].Route != ""
	}
	if opts.Wide {
		cluster := ""
		if routes {
			cluster = "\tCLUSTER"
		}
		fmt.Fprintln(tw, "  NAME\tNAMESPACE\tSERVICE\tRPS\tSUCCESS\t4XX/S\t5XX/S\tP50\tP90\tP99\tACTIVE"+cluster+change)
	} else {
		fmt.Fprintln(tw, "  NAME\tSERVICE\tRPS\tSUCCESS\t4XX/S\t5XX/S\tP50\tP90\tP99"+change)
	}
	for _, r := range f.Rows {
		change := ""
		if len(f.Past) > 0 {
			change = "\t" + Dash
			if c, ok := Biggest(Compare(r, f.Past)); ok {
				change = "\t" + FormatChange(c) + " vs " + model.Duration(c.Offset).String()
			}
		}
		bad := r.Invalid
		name := markOf(AboveThresholds(r.RPS, r.Success, r.P99, opts.MinRPS)) + termtext.Sanitize(r.Label())
		rps, success := cell(r.RPS, FormatRPS, bad, FieldRPS), cell(r.Success, FormatSuccess, bad, FieldSuccess)
		c4xx, c5xx := cell(r.Err4xx, FormatRPS, bad, FieldErr4xx), cell(r.Err5xx, FormatRPS, bad, FieldErr5xx)
		p50, p90, p99 := cell(r.P50, FormatLatency, bad, FieldP50), cell(r.P90, FormatLatency, bad, FieldP90), cell(r.P99, FormatLatency, bad, FieldP99)
		if opts.Wide {
			cluster := ""
			if routes {
				cluster = "\t" + termtext.Sanitize(r.Name)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s%s\n", name, orDash(r.Namespace), orDash(r.Service),
				rps, success, c4xx, c5xx, p50, p90, p99, cell(r.Active, FormatCount, bad, FieldActive), cluster, change)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n", name, termtext.Sanitize(ServiceName(r)),
				rps, success, c4xx, c5xx, p50, p90, p99, change)
		}
	}
	if opts.Wide && len(f.Listeners) > 0 {
		fmt.Fprintln(tw, "\n  LISTENER\tRPS\tSUCCESS\t4XX/S\t5XX/S\tP99")
		for _, l := range f.Listeners {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", markOf(AboveThresholds(l.RPS, l.Success, l.P99, opts.MinRPS))+termtext.Sanitize(l.Prefix),
				cell(l.RPS, FormatRPS, l.Invalid, FieldRPS), cell(l.Success, FormatSuccess, l.Invalid, FieldSuccess),
				cell(l.Err4xx, FormatRPS, l.Invalid, FieldErr4xx), cell(l.Err5xx, FormatRPS, l.Invalid, FieldErr5xx),
				cell(l.P99, FormatLatency, l.Invalid, FieldP99))
		}
	}
	return tw.Flush()
}

// orDash prints untrusted text, or the dash for none.
func orDash(s string) string {
	if s == "" {
		return Dash
	}
	return termtext.Sanitize(s)
}

// jsonFrame is the JSON contract of `top -o json`: names and units are stable.
type jsonFrame struct {
	// At is the instant of the snapshot, RFC 3339 in UTC.
	At     string `json:"at"`
	Window string `json:"window"`
	Source Source `json:"source"`
	// GroupBy is what a row stands for: "cluster" or "route".
	GroupBy GroupBy `json:"group_by"`
	// Backend is what answered: "prometheus" (one Prometheus) or "thanos-query" (a Thanos Query
	// over every shard and replica).
	Backend string    `json:"backend"`
	Rows    []jsonRow `json:"rows"`
	// Listeners are the downstream HTTP connection managers, [] when there are none.
	Listeners []jsonListener `json:"listeners"`
	// Alerts are absent when the alerts are not known, and [] when none is pending or firing.
	Alerts *[]jsonAlert `json:"alerts,omitempty"`
	// Offsets are the pasts each row is compared with (top --offsets), absent without them.
	Offsets []string `json:"offsets,omitempty"`
}

// jsonPast is a row's numbers at one past instant: the trend numbers Past reads.
type jsonPast struct {
	Offset      string   `json:"offset"`
	RPS         *float64 `json:"rps"`
	SuccessRate *float64 `json:"success_rate"`
	P50         *float64 `json:"p50_ms"`
	P90         *float64 `json:"p90_ms"`
	P99         *float64 `json:"p99_ms"`
}

// jsonChange is a row's biggest move against the pasts (see Compare).
type jsonChange struct {
	Offset string  `json:"offset"`
	Metric Metric  `json:"metric"`
	Now    float64 `json:"now"`
	Then   float64 `json:"then"`
	Score  float64 `json:"score"`
}

type jsonAlert struct {
	Name      string `json:"alertname"`
	State     string `json:"state"`
	Severity  string `json:"severity,omitempty"`
	Cluster   string `json:"envoy_cluster_name"`
	Namespace string `json:"envoy_namespace,omitempty"`
}

type jsonRow struct {
	// Name is the cluster name, or a route group's name grouped by route.
	Name string `json:"name"`
	// Route is the route the row stands for as its user wrote it (Row.Route); absent when the
	// name encodes none.
	Route          string   `json:"route,omitempty"`
	Namespace      *string  `json:"namespace"`
	Service        *string  `json:"service"`
	RPS            *float64 `json:"rps"`
	SuccessRate    *float64 `json:"success_rate"`
	P50            *float64 `json:"p50_ms"`
	P90            *float64 `json:"p90_ms"`
	P99            *float64 `json:"p99_ms"`
	ActiveRequests *float64 `json:"active_requests"`
	// RPS4xx and RPS5xx are final 4xx and 5xx responses per second: 0 when the cluster had
	// responses and none of the class, null when it had no responses.
	RPS4xx *float64 `json:"rps_4xx"`
	RPS5xx *float64 `json:"rps_5xx"`
	// Invalid names the fields Prometheus answered outside their domain, now null; absent when
	// there are none.
	Invalid []string `json:"invalid,omitempty"`
	// Past holds the row's numbers at each offset where the cluster had a row then, and
	// Change its biggest move; both are absent without --offsets, Change also without a move.
	Past   []jsonPast  `json:"past,omitempty"`
	Change *jsonChange `json:"change,omitempty"`
}

// jsonListener is one downstream listener, its numbers as a row's.
type jsonListener struct {
	Prefix      string   `json:"prefix"`
	RPS         *float64 `json:"rps"`
	SuccessRate *float64 `json:"success_rate"`
	P99         *float64 `json:"p99_ms"`
	RPS4xx      *float64 `json:"rps_4xx"`
	RPS5xx      *float64 `json:"rps_5xx"`
	Invalid     []string `json:"invalid,omitempty"`
}

func number(v float64) *float64 {
	if !Known(v) {
		return nil
	}
	return &v
}

func text(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// RenderJSON writes the frame as the JSON contract: {"at": "2026-01-02T15:04:05Z", "window":
// "1m", "source": "raw", "backend": "prometheus", "rows": [...], "listeners": [...], "alerts":
// [...]}, numbers as numbers and missing data as null; "at" is the snapshot's instant in UTC;
// "alerts" is absent when the alerts are not known; "backend" is "thanos-query" when a Thanos
// Query answered. source is "rules" when the numbers are
// the recording rules'. A row with numbers outside their domain has them null and lists their
// names in "invalid", a field no other row has.
func RenderJSON(w io.Writer, f Frame) error {
	src := f.Source
	if src == "" {
		src = SourceRaw
	}
	backend := f.Backend
	if backend == "" {
		backend = BackendPrometheus
	}
	group := f.GroupBy
	if group == "" {
		group = GroupByCluster
	}
	out := jsonFrame{
		At: f.At.UTC().Format(time.RFC3339Nano), Window: model.Duration(f.Window).String(), Source: src, GroupBy: group, Backend: backend,
		Rows: make([]jsonRow, 0, len(f.Rows)), Listeners: make([]jsonListener, 0, len(f.Listeners)),
	}
	for _, p := range f.Past {
		out.Offsets = append(out.Offsets, model.Duration(p.Offset).String())
	}
	for _, r := range f.Rows {
		row := jsonRow{
			Name: r.Name, Route: r.Route, Namespace: text(r.Namespace), Service: text(r.Service),
			RPS: number(r.RPS), SuccessRate: number(r.Success),
			P50: number(r.P50), P90: number(r.P90), P99: number(r.P99), ActiveRequests: number(r.Active),
			RPS4xx: number(r.Err4xx), RPS5xx: number(r.Err5xx),
			Invalid: r.Invalid.Names(),
		}
		for _, p := range f.Past {
			if then, ok := p.Rows[r.Name]; ok {
				row.Past = append(row.Past, jsonPast{Offset: model.Duration(p.Offset).String(),
					RPS: number(then.RPS), SuccessRate: number(then.Success),
					P50: number(then.P50), P90: number(then.P90), P99: number(then.P99)})
			}
		}
		if c, ok := Biggest(Compare(r, f.Past)); ok {
			row.Change = &jsonChange{Offset: model.Duration(c.Offset).String(), Metric: c.Metric, Now: c.Now, Then: c.Then, Score: c.Score}
		}
		out.Rows = append(out.Rows, row)
	}
	for _, l := range f.Listeners {
		out.Listeners = append(out.Listeners, jsonListener{
			Prefix: l.Prefix, RPS: number(l.RPS), SuccessRate: number(l.Success), P99: number(l.P99),
			RPS4xx: number(l.Err4xx), RPS5xx: number(l.Err5xx), Invalid: l.Invalid.Names(),
		})
	}
	if f.AlertsKnown {
		alerts := make([]jsonAlert, 0, len(f.Alerts))
		for _, a := range f.Alerts {
			alerts = append(alerts, jsonAlert(a))
		}
		out.Alerts = &alerts
	}
	return termtext.WriteJSON(w, out)
}

// Age prints how long ago t was, in the largest whole unit: 3s, 2m, 1h.
func Age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	}
	return strconv.Itoa(int(d.Hours())) + "h"
}
