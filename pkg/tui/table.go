package tui

import (
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
}

var columnSpecs = [...]columnSpec{
	colName:     {title: "NAME"},
	colService:  {title: "NAMESPACE/SERVICE"},
	colRPS:      {title: "RPS", width: 8, right: true},
	colSuccess:  {title: "SUCCESS", width: 8, right: true},
	colP50:      {title: "P50", width: 6, right: true},
	colP90:      {title: "P90", width: 6, right: true},
	colP99:      {title: "P99", width: 6, right: true},
	colActive:   {title: "ACTIVE", width: 7, right: true},
	colRPSTrend: {title: "RPS TREND", width: historyLen},
	colP99Trend: {title: "P99 TREND", width: historyLen},
}

// sortKey is the key a sortable column sorts by: the columns come in traffic.SortKeys' order.
func (c column) sortKey() traffic.SortKey { return traffic.SortKeys[c] }

// sortState is the sort column and direction.
type sortState struct {
	col  column
	desc bool
}

// sortBy is the state of sorting by c in its natural direction.
func sortBy(c column) sortState { return sortState{col: c, desc: c.sortKey().DefaultDescending()} }

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
