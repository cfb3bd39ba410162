package tui

import (
	"slices"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// tableView is the table's state: which frame rows pass the filter, in which order, and the
// selection.
type tableView struct {
	order   []int  // the indices of the frame rows that pass the filter, sorted
	cursor  int    // the selection's position in order
	offset  int    // the position of the first row on screen
	selName string // the selected row's name: the selection follows it across refreshes
	sort    sortState
	filter  string
	input   string // the filter being typed, in modeFilter
}

// rebuild recomputes the order of the rows (keys are their search keys) that pass filter,
// sorted, or put in order by reorder when it is set, and keeps the selection on the same row; h
// is the number of table rows on screen.
func (t *tableView) rebuild(rows []traffic.Row, keys []string, filter string, h int, reorder func(order []int)) {
	f := traffic.ParseFilter(filter)
	order := make([]int, 0, len(rows))
	for i, k := range keys {
		if f.MatchKey(k) {
			order = append(order, i)
		}
	}
	if reorder != nil {
		reorder(order)
	} else {
		traffic.SortIndices(order, rows, t.sort.col.sortKey(), t.sort.desc)
	}
	t.order = order
	t.cursor = min(t.cursor, max(len(order)-1, 0))
	if t.selName != "" {
		for i, idx := range order {
			if rows[idx].Name == t.selName {
				t.cursor = i
				break
			}
		}
	}
	t.moveTo(t.cursor, rows, h)
}

// moveTo moves the selection to position i of the order, clamped, and scrolls it on screen.
func (t *tableView) moveTo(i int, rows []traffic.Row, h int) {
	t.cursor = min(max(i, 0), max(len(t.order)-1, 0))
	if len(t.order) > 0 {
		t.selName = rows[t.order[t.cursor]].Name
	}
	t.fixOffset(h)
}

// fixOffset scrolls the table of h rows on screen so the selection is on screen.
func (t *tableView) fixOffset(h int) {
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if t.cursor >= t.offset+h {
		t.offset = t.cursor - h + 1
	}
	t.offset = min(max(t.offset, 0), max(len(t.order)-h, 0))
}

// tableKey handles a key in the table view.
func (m Model) tableKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	page := max(m.tableHeight()-1, 1)
	switch {
	case key.Matches(msg, k.Up):
		m.moveTo(m.table.cursor - 1)
	case key.Matches(msg, k.Down):
		m.moveTo(m.table.cursor + 1)
	case key.Matches(msg, k.PageUp):
		m.moveTo(m.table.cursor - page)
	case key.Matches(msg, k.PageDown):
		m.moveTo(m.table.cursor + page)
	case key.Matches(msg, k.Top):
		m.moveTo(0)
	case key.Matches(msg, k.Bottom):
		m.moveTo(len(m.table.order) - 1)
	case key.Matches(msg, k.Vs):
		m.vs.on = !m.vs.on
		m.vs.byChange = m.vs.on
		if _, ok := m.src.(PastReader); m.vs.on && !ok {
			m.vs.err = errNoPast
		}
		m.rebuild()
		if _, ok := m.src.(PastReader); ok && m.vs.on && !m.vs.have && !m.loading && !m.paused {
			return m, m.startLoad(true)
		}
	case key.Matches(msg, k.SortBy):
		// The same key again reverses; out of the vs view's order it first sorts.
		byChange := m.byChange()
		m.vs.byChange = false
		c := sortColumn(msg.String())
		if c == m.table.sort.col && !byChange {
			m.table.sort.desc = !m.table.sort.desc
		} else {
			m.table.sort = sortBy(c)
		}
		m.rebuild()
	case key.Matches(msg, k.SortNext):
		m.vs.byChange = false
		c := (m.table.sort.col + 1) % numSortable
		m.table.sort = sortBy(c)
		m.rebuild()
	case key.Matches(msg, k.Reverse):
		m.vs.byChange = false
		m.table.sort.desc = !m.table.sort.desc
		m.rebuild()
	case key.Matches(msg, k.Filter):
		m.mode, m.table.input = modeFilter, m.table.filter
		m.rebuild()
	case key.Matches(msg, k.Back):
		if m.table.filter != "" {
			m.table.filter = ""
			m.rebuild()
		}
	case key.Matches(msg, k.Mark):
		if len(m.table.order) > 0 {
			m.comparison.toggle(m.frame.Rows[m.table.order[m.table.cursor]].Name)
		}
	case key.Matches(msg, k.Compare):
		return m.openCompare()
	case key.Matches(msg, k.Open):
		if len(m.table.order) == 0 {
			return m, nil
		}
		m.mode = modeDetail
		m.detail = detailView{name: m.frame.Rows[m.table.order[m.table.cursor]].Name}
		m.redrawDetail()
		if !m.loading {
			return m, m.startLoad(false)
		}
	}
	return m, nil
}

// filterKey handles a key while the filter input is open. The filter applies as it is typed;
// Enter keeps it, Esc clears it.
func (m Model) filterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Apply):
		m.mode, m.table.filter = modeTable, m.table.input
	case key.Matches(msg, k.Clear):
		m.mode, m.table.filter, m.table.input = modeTable, "", ""
	case key.Matches(msg, k.Erase):
		if r := []rune(m.table.input); len(r) > 0 {
			m.table.input = string(r[:len(r)-1])
		}
	case key.Matches(msg, k.EraseAll):
		m.table.input = ""
	default:
		if msg.Text == "" {
			return m, nil
		}
		m.table.input += msg.Text
	}
	m.rebuild()
	return m, nil
}

// column is a table column. The first numSortable columns can be sorted by (keys 1-9, then 0
// for the tenth), in this order, which is not the order on screen: the error rates came last so
// the older columns kept their digits.
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
	col4xx
	col5xx
	colRPSTrend // sparklines: not sortable
	colP99Trend
	colVs0 // the vs view's columns, one per offset: not sortable
	colVs1
	colVs2

	numSortable = col5xx + 1
)

// sortDigits are the keys that sort by each sortable column, in column order.
const sortDigits = "1234567890"

// sortColumn is the column a sort key picks.
func sortColumn(digit string) column {
	for c := range numSortable {
		if digit == sortDigits[c:c+1] {
			return c
		}
	}
	return colRPS
}

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
	col4xx:      {title: "4XX/S", width: 7, right: true},
	col5xx:      {title: "5XX/S", width: 7, right: true},
	colRPSTrend: {title: "RPS TREND", width: historyLen},
	colP99Trend: {title: "P99 TREND", width: historyLen},
	colVs0:      {title: "VS", width: vsWidth, right: true},
	colVs1:      {title: "VS", width: vsWidth, right: true},
	colVs2:      {title: "VS", width: vsWidth, right: true},
}

// vsWidth fits the widest change, "5xx +4.9pt*" (traffic.FormatChange and the biggest change's mark).
const vsWidth = 11

// isVs reports whether c is a column of the vs view, and which offset it shows.
func (c column) isVs() (int, bool) { return int(c - colVs0), c >= colVs0 && c <= colVs2 }

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

// gutter is the width of the marks before each row: the selection, traffic.Marker for a row
// above the thresholds, and the comparison's B or C.
const gutter = 3

// layoutCandidates are the column sets tried from the richest to the poorest: 4XX/S gives way
// to keep the sparklines, then the sparklines go (4XX/S comes back), then P50, ACTIVE, 4XX/S and
// NAMESPACE/SERVICE, then P90 and last 5XX/S. The error rates sit next to SUCCESS; 5XX/S
// outlasts 4XX/S, since 4xx are mostly the clients' doing.
var layoutCandidates = [][]column{
	{colName, colService, colRPS, colSuccess, col4xx, col5xx, colP50, colP90, colP99, colActive, colRPSTrend, colP99Trend},
	{colName, colService, colRPS, colSuccess, col5xx, colP50, colP90, colP99, colActive, colRPSTrend, colP99Trend},
	{colName, colService, colRPS, colSuccess, col4xx, col5xx, colP50, colP90, colP99, colActive},
	{colName, colService, colRPS, colSuccess, col4xx, col5xx, colP90, colP99, colActive},
	{colName, colService, colRPS, colSuccess, col4xx, col5xx, colP90, colP99},
	{colName, colService, colRPS, colSuccess, col5xx, colP90, colP99},
	{colName, colRPS, colSuccess, col5xx, colP90, colP99},
	{colName, colRPS, colSuccess, col5xx, colP99},
	{colName, colRPS, colSuccess, colP99},
}

// vsLayoutCandidates are the column sets of the vs view for n offsets, richest first: the
// trend columns give way to one column per offset, which outlast every number but RPS.
func vsLayoutCandidates(n int) [][]column {
	vs := []column{colVs0, colVs1, colVs2}[:min(n, maxVsColumns)]
	out := [][]column{
		{colName, colService, colRPS, colSuccess, col4xx, col5xx, colP50, colP90, colP99, colActive},
		{colName, colService, colRPS, colSuccess, col5xx, colP90, colP99},
		{colName, colRPS, colSuccess, col5xx, colP99},
		{colName, colRPS, colSuccess, colP99},
		{colName, colRPS, colSuccess},
		{colName, colRPS},
	}
	for i := range out {
		out[i] = append(out[i], vs...)
	}
	return out
}

// withoutColumn is candidates without column c, each set once.
func withoutColumn(candidates [][]column, c column) [][]column {
	var out [][]column
	for _, cols := range candidates {
		cols = slices.DeleteFunc(slices.Clone(cols), func(x column) bool { return x == c })
		if !slices.ContainsFunc(out, func(o []column) bool { return slices.Equal(o, cols) }) {
			out = append(out, cols)
		}
	}
	return out
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
	return computeLayoutOf(layoutCandidates, width, maxName, maxService)
}

// computeLayoutOf picks the richest of candidates that fits width; the last always does.
func computeLayoutOf(candidates [][]column, width, maxName, maxService int) layout {
	wantName := max(maxName, len(columnSpecs[colName].title)+1)
	wantSvc := max(maxService, minService)
	for i, cols := range candidates {
		last := i == len(candidates)-1
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
