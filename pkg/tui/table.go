package tui

import (
	"cmp"
	"slices"
	"strings"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// column is a table column. The first numSortable columns can be sorted by (keys 1-8).
type column int

const (
	colName column = iota
	colService
	colRPS
	colSuccess
	colP50
	colP90
	colP99
	colActive
	colRPSTrend // sparklines: not sortable
	colP99Trend

	numSortable = colActive + 1
)

// columnSpec describes how a column is drawn.
type columnSpec struct {
	title string
	width int  // fixed width; 0 for the flexible NAME and NAMESPACE/SERVICE columns
	right bool // right-aligned
	// desc is the direction a column sorts in when first picked: volumes and latencies
	// biggest first, success worst first, names alphabetically.
	desc bool
}

var columnSpecs = [...]columnSpec{
	colName:     {title: "NAME"},
	colService:  {title: "NAMESPACE/SERVICE"},
	colRPS:      {title: "RPS", width: 8, right: true, desc: true},
	colSuccess:  {title: "SUCCESS", width: 8, right: true},
	colP50:      {title: "P50", width: 6, right: true, desc: true},
	colP90:      {title: "P90", width: 6, right: true, desc: true},
	colP99:      {title: "P99", width: 6, right: true, desc: true},
	colActive:   {title: "ACTIVE", width: 7, right: true, desc: true},
	colRPSTrend: {title: "RPS TREND", width: historyLen},
	colP99Trend: {title: "P99 TREND", width: historyLen},
}

// value is the number a numeric column sorts by.
func (c column) value(r *traffic.Row) float64 {
	switch c {
	case colRPS:
		return r.RPS
	case colSuccess:
		return r.Success
	case colP50:
		return r.P50
	case colP90:
		return r.P90
	case colP99:
		return r.P99
	case colActive:
		return r.Active
	}
	return traffic.NoData
}

// sortState is the sort column and direction.
type sortState struct {
	col  column
	desc bool
}

// sortOrder sorts idx (indices into rows) in place. Rows without data for the column (NaN, or
// no known service) sort last in either direction; ties go by name, then by position.
func sortOrder(idx []int, rows []traffic.Row, svc []string, s sortState) {
	dir := 1
	if s.desc {
		dir = -1
	}
	byName := func(a, b int) int {
		if c := strings.Compare(rows[a].Name, rows[b].Name); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	var f func(a, b int) int
	switch s.col {
	case colName:
		f = func(a, b int) int { return dir * byName(a, b) }
	case colService:
		f = func(a, b int) int {
			ka, kb := svc[a] != dash, svc[b] != dash
			switch {
			case ka && kb:
				if c := strings.Compare(svc[a], svc[b]); c != 0 {
					return dir * c
				}
			case ka:
				return -1
			case kb:
				return 1
			}
			return byName(a, b)
		}
	default:
		col := s.col
		f = func(a, b int) int {
			va, vb := col.value(&rows[a]), col.value(&rows[b])
			ka, kb := traffic.Known(va), traffic.Known(vb)
			switch {
			case ka && kb:
				if c := cmp.Compare(va, vb); c != 0 {
					return dir * c
				}
			case ka:
				return -1
			case kb:
				return 1
			}
			return byName(a, b)
		}
	}
	slices.SortFunc(idx, f)
}

// filterSpec is a parsed filter: a lower-case substring, possibly inverted.
type filterSpec struct {
	needle string
	invert bool
}

// parseFilter reads the filter syntax: a substring, matched regardless of case; a leading "!"
// keeps the rows that do not match. An empty pattern (also a bare "!") matches everything.
func parseFilter(s string) filterSpec {
	f := filterSpec{}
	if rest, ok := strings.CutPrefix(s, "!"); ok {
		f.invert, s = true, rest
	}
	f.needle = strings.ToLower(strings.TrimSpace(s))
	if f.needle == "" {
		f.invert = false
	}
	return f
}

// match tests a row's search key (see searchKey).
func (f filterSpec) match(key string) bool {
	if f.needle == "" {
		return true
	}
	return strings.Contains(key, f.needle) != f.invert
}

// searchKey is the lower-case text a filter looks in: name, namespace, service and "ns/svc".
func searchKey(r traffic.Row) string {
	return strings.ToLower(r.Name + "\x00" + r.Namespace + "/" + r.Service)
}

// layout is the set of columns drawn at one width and their widths.
type layout struct {
	cols   []column
	widths []int
}

// width is the number of cells a row of this layout takes.
func (l layout) width() int {
	w := gutter + len(l.cols) - 1
	for _, cw := range l.widths {
		w += cw
	}
	return w
}

// gutter is the width of the selection marker before each row.
const gutter = 2

// layoutCandidates are the column sets tried from the richest to the poorest: the sparklines
// go first, then P50, ACTIVE and NAMESPACE/SERVICE, and last P90.
var layoutCandidates = [][]column{
	{colName, colService, colRPS, colSuccess, colP50, colP90, colP99, colActive, colRPSTrend, colP99Trend},
	{colName, colService, colRPS, colSuccess, colP50, colP90, colP99, colActive},
	{colName, colService, colRPS, colSuccess, colP90, colP99, colActive},
	{colName, colService, colRPS, colSuccess, colP90, colP99},
	{colName, colRPS, colSuccess, colP90, colP99},
	{colName, colRPS, colSuccess, colP99},
}

// Minimum flexible widths for a layout to be picked.
const (
	minName       = 20
	minNameSparks = 24 // sparklines only when names still get this much room
	minService    = 9
)

// computeLayout picks the richest layout that fits width. maxName and maxService are the widest
// values of the flexible columns, so short names leave the rest of the line empty rather than
// pushing the numbers to the right edge.
func computeLayout(width, maxName, maxService int) layout {
	wantName := max(maxName, len(columnSpecs[colName].title)+1)
	wantSvc := max(maxService, minService)
	for i, cols := range layoutCandidates {
		last := i == len(layoutCandidates)-1
		fixed := gutter + len(cols) - 1
		hasSvc := false
		for _, c := range cols {
			fixed += columnSpecs[c].width
			hasSvc = hasSvc || c == colService
		}
		flex := width - fixed
		nameMin := minName
		if cols[len(cols)-1] == colP99Trend {
			nameMin = minNameSparks
		}
		var nameW, svcW int
		if hasSvc {
			svcW = min(wantSvc, max(minService, flex*2/5))
			nameW = min(wantName, flex-svcW)
			if nameW < min(nameMin, wantName) {
				continue
			}
			svcW = min(wantSvc, flex-nameW)
		} else {
			nameW = min(wantName, flex)
			if nameW < min(nameMin, wantName) && !last {
				continue
			}
			nameW = max(nameW, 1)
		}
		l := layout{cols: cols, widths: make([]int, len(cols))}
		for j, c := range cols {
			switch c {
			case colName:
				l.widths[j] = nameW
			case colService:
				l.widths[j] = svcW
			default:
				l.widths[j] = columnSpecs[c].width
			}
		}
		return l
	}
	panic("unreachable: the last layout always fits")
}
