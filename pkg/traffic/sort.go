package traffic

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// SortKey is a column rows can be sorted by.
type SortKey string

// The sort keys, one per column.
const (
	SortName    SortKey = "name"
	SortService SortKey = "service"
	SortRPS     SortKey = "rps"
	SortSuccess SortKey = "success"
	SortP50     SortKey = "p50"
	SortP90     SortKey = "p90"
	SortP99     SortKey = "p99"
	SortActive  SortKey = "active"
	SortErr4xx  SortKey = "4xx"
	SortErr5xx  SortKey = "5xx"
)

// SortKeys lists the sort keys in the order of the dashboard's sort keys (1-9, 0): the error
// rates came last, so the digits of the older columns kept their meaning.
var SortKeys = []SortKey{SortName, SortService, SortRPS, SortSuccess, SortP50, SortP90, SortP99, SortActive, SortErr4xx, SortErr5xx}

// ParseSortKey accepts a column name.
func ParseSortKey(s string) (SortKey, error) {
	for _, k := range SortKeys {
		if string(k) == strings.ToLower(s) {
			return k, nil
		}
	}
	names := make([]string, len(SortKeys))
	for i, k := range SortKeys {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown column %q; use one of %s", s, strings.Join(names, ", "))
}

// DefaultDescending reports the natural direction of a column: busiest, slowest, fullest and
// most failing first; names and success (worst first) ascending.
func (k SortKey) DefaultDescending() bool {
	switch k {
	case SortName, SortService, SortSuccess:
		return false
	}
	return true
}

func (k SortKey) value(r *Row) float64 {
	switch k {
	case SortRPS:
		return r.RPS
	case SortSuccess:
		return r.Success
	case SortP50:
		return r.P50
	case SortP90:
		return r.P90
	case SortP99:
		return r.P99
	case SortActive:
		return r.Active
	case SortErr4xx:
		return r.Err4xx
	case SortErr5xx:
		return r.Err5xx
	}
	return 0
}

// SortRows sorts rows by key in its natural direction, or the other way with reverse. Rows
// without data for the key come last either way; ties go by name, which is distinct within a
// frame, so the order is the same whatever order the rows came in.
func SortRows(rows []Row, key SortKey, reverse bool) {
	// Rows are wide: sorting indices and moving each row once is cheaper than moving rows
	// around while sorting.
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	SortIndices(idx, rows, key, key.DefaultDescending() != reverse)
	sorted := make([]Row, len(rows))
	for i, j := range idx {
		sorted[i] = rows[j]
	}
	copy(rows, sorted)
}

// SortIndices sorts idx, indices into rows, by key: descending when desc. It is the one order
// of both the snapshot (SortRows) and the dashboard. Rows without data for the key (no number,
// or no known service) come last in either direction; ties go by name, then by position.
func SortIndices(idx []int, rows []Row, key SortKey, desc bool) {
	dir := 1
	if desc {
		dir = -1
	}
	byName := func(a, b int) int {
		return cmp.Or(strings.Compare(rows[a].Label(), rows[b].Label()), cmp.Compare(a, b))
	}
	slices.SortFunc(idx, func(a, b int) int {
		ra, rb := &rows[a], &rows[b]
		switch key {
		case SortName:
			return dir * byName(a, b)
		case SortService:
			ka, kb := ra.Service != "", rb.Service != ""
			switch {
			case ka && kb:
				if c := cmp.Or(strings.Compare(ra.Namespace, rb.Namespace), strings.Compare(ra.Service, rb.Service)); c != 0 {
					return dir * c
				}
			case ka:
				return -1
			case kb:
				return 1
			}
			return byName(a, b)
		}
		va, vb := key.value(ra), key.value(rb)
		ka, kb := Known(va), Known(vb)
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
	})
}

// Filter is a parsed filter (top's --filter and the dashboard's /): a substring of a row's
// search key (see SearchKey), matched regardless of case; a leading "!" keeps the rows that do
// not match. An empty pattern, or a bare "!", keeps every row.
type Filter struct {
	needle string
	invert bool
}

// ParseFilter reads the filter syntax.
func ParseFilter(s string) Filter {
	f := Filter{}
	if rest, ok := strings.CutPrefix(s, "!"); ok {
		f.invert, s = true, rest
	}
	f.needle = strings.ToLower(strings.TrimSpace(s))
	if f.needle == "" {
		f.invert = false
	}
	return f
}

// MatchKey tests a row's search key, as SearchKey returns it.
func (f Filter) MatchKey(key string) bool {
	if f.needle == "" {
		return true
	}
	return strings.Contains(key, f.needle) != f.invert
}

// Match tests a row.
func (f Filter) Match(r *Row) bool { return f.MatchKey(SearchKey(r)) }

// SearchKey is the lower-case text a filter looks in: the cluster name, the namespace/service it
// reaches, as the table shows it ("shop/checkout"), and the route it stands for ("team-a/checkout
// rule 0"), so a filter may name any of them. The parts are joined by NUL, which no filter holds,
// so no match spans two parts.
func SearchKey(r *Row) string {
	svc := r.Service
	if r.Namespace != "" {
		svc = r.Namespace + "/" + r.Service
	}
	key := r.Name + "\x00" + svc
	if r.Route != "" {
		key += "\x00" + r.Route
	}
	return strings.ToLower(key)
}

// FilterRows keeps the rows f matches.
func FilterRows(rows []Row, f Filter) []Row {
	if f.needle == "" {
		return rows
	}
	var out []Row
	for i := range rows {
		if f.Match(&rows[i]) {
			out = append(out, rows[i])
		}
	}
	return out
}
