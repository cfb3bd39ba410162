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
)

// SortKeys lists the sort keys in column order.
var SortKeys = []SortKey{SortName, SortService, SortRPS, SortSuccess, SortP50, SortP90, SortP99, SortActive}

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

// DefaultDescending reports the natural direction of a column: busiest, slowest and fullest
// first; names and success (worst first) ascending.
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
	}
	return 0
}

// SortRows sorts rows by key in its natural direction, or the other way with reverse. Rows
// without data for the key come last either way; ties go by name, which is distinct within a
// frame, so the order is the same whatever order the rows came in.
func SortRows(rows []Row, key SortKey, reverse bool) {
	desc := key.DefaultDescending() != reverse
	// directed orders a comparison the way the sort goes.
	directed := func(c int) int {
		if desc {
			return -c
		}
		return c
	}
	// Rows are wide: sorting pointers and moving each row once is cheaper than moving rows
	// around while sorting.
	order := make([]*Row, len(rows))
	for i := range rows {
		order[i] = &rows[i]
	}
	slices.SortFunc(order, func(a, b *Row) int {
		switch key {
		case SortName:
			return directed(strings.Compare(a.Name, b.Name))
		case SortService:
			if (a.Service == "") != (b.Service == "") {
				if a.Service != "" {
					return -1
				}
				return 1
			}
			if c := cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Service, b.Service)); c != 0 {
				return directed(c)
			}
			return strings.Compare(a.Name, b.Name)
		}
		av, bv := key.value(a), key.value(b)
		switch {
		case Known(av) != Known(bv):
			if Known(av) {
				return -1
			}
			return 1
		case Known(av) && av != bv:
			return directed(cmp.Compare(av, bv))
		}
		return strings.Compare(a.Name, b.Name)
	})
	sorted := make([]Row, len(rows))
	for i, r := range order {
		sorted[i] = *r
	}
	copy(rows, sorted)
}

// FilterRows keeps the rows whose name, namespace or service contains pattern, ignoring case;
// a leading '!' keeps the others.
func FilterRows(rows []Row, pattern string) []Row {
	invert := strings.HasPrefix(pattern, "!")
	needle := strings.ToLower(strings.TrimPrefix(pattern, "!"))
	if needle == "" {
		return rows
	}
	var out []Row
	for _, r := range rows {
		hay := strings.ToLower(r.Name + "\x00" + r.Namespace + "\x00" + r.Service)
		if strings.Contains(hay, needle) != invert {
			out = append(out, r)
		}
	}
	return out
}
