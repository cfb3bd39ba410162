package tui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// maxTopCodes is how many status codes the drill-down lists.
const maxTopCodes = 8

// topCodes are the status codes with their rates and shares: errors first (5xx, then 4xx), each
// by rate, so they lead the line with or without colour; 5xx in the error style, 4xx in the
// warning style. Past maxTopCodes the rest are counted.
func (m Model) topCodes() []string {
	st, all := m.styles, m.detail.data.Codes
	total := 0.0
	for _, c := range all {
		if traffic.Known(c.RPS) {
			total += c.RPS
		}
	}
	rank := func(label string) int {
		switch {
		case strings.HasPrefix(label, "5"):
			return 0
		case strings.HasPrefix(label, "4"):
			return 1
		}
		return 2
	}
	codes := slices.Clone(all)
	// Codes come by rate; a stable sort by rank keeps that order within each rank.
	slices.SortStableFunc(codes, func(a, b traffic.Share) int { return rank(a.Label) - rank(b.Label) })
	var out []string
	for i, c := range codes {
		if i == maxTopCodes {
			out = append(out, st.muted.Render(fmt.Sprintf("+%d more", len(codes)-i)))
			break
		}
		item := termtext.Sanitize(c.Label) + " " + fmtRate(c.RPS)
		if total > 0 && traffic.Known(c.RPS) {
			item += " (" + strconv.FormatFloat(c.RPS/total*100, 'f', 1, 64) + "%)"
		}
		switch rank(c.Label) {
		case 0:
			item = st.err.Render(item)
		case 1:
			item = st.warning.Render(item)
		}
		out = append(out, item)
	}
	return out
}
