package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
)

// keyMap holds the key bindings. It is a value built by newKeyMap and stored in the model.
type keyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	SortBy   key.Binding // 1-9 and 0: the digit picks the column (sortDigits)
	SortNext key.Binding
	Reverse  key.Binding
	Filter   key.Binding
	Open     key.Binding
	Back     key.Binding
	Pause    key.Binding
	Window   key.Binding
	Vs       key.Binding // the vs view: each row against the same time an hour, a day and a week ago
	Group    key.Binding // a row per cluster or per route
	Span     key.Binding // the drill-down charts' span
	Mark     key.Binding
	Compare  key.Binding
	Help     key.Binding
	Quit     key.Binding
	// Switching: a picker of teams, namespaces or contexts.
	SwitchTeam      key.Binding
	SwitchNamespace key.Binding
	SwitchContext   key.Binding
	// Interrupt is ctrl+c, everywhere: the program ends as interrupted (exit status 130), as a
	// terminal's SIGINT would end it.
	Interrupt key.Binding

	// Keys of the filter input.
	Apply    key.Binding
	Clear    key.Binding
	Erase    key.Binding
	EraseAll key.Binding
}

// newKeyMap builds the key bindings; help lists them for the overlay.
func newKeyMap() keyMap {
	return keyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "move up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "move down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdown", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "first row")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "last row")),
		SortBy: key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9", "0"),
			key.WithHelp("1-9 0", "sort by column (listed below); the same key again reverses")),
		SortNext: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort by the next column")),
		Reverse:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reverse the sort (rows without data stay last)")),
		Filter: key.NewBinding(key.WithKeys("/"),
			key.WithHelp("/", "filter: name/namespace/service substring; leading ! inverts")),
		Apply:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep the filter")),
		Clear:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear the filter")),
		Open:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "drill down into the selected cluster")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back from drill-down or help; clear the filter")),
		Pause:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause / resume refreshing")),
		Span:      key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "drill-down charts: 15m / 1h")),
		Window:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "next rate window")),
		Vs:        key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "vs 1h 1d 1w ago: each row's biggest move, biggest first")),
		Group:     key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "a row per cluster / route / virtual host")),
		Mark:      key.NewBinding(key.WithKeys("m", "space"), key.WithHelp("m space", "mark the row: first the baseline (B), then the canary (C)")),
		Compare:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "compare the canary (C) with the baseline (B), live")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "show / hide this help")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q ctrl+c", "quit")),
		Interrupt: key.NewBinding(key.WithKeys("ctrl+c")),
		Erase:     key.NewBinding(key.WithKeys("backspace", "ctrl+h")),
		EraseAll:  key.NewBinding(key.WithKeys("ctrl+u")),

		SwitchTeam:      key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "switch team")),
		SwitchNamespace: key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "switch namespace")),
		SwitchContext:   key.NewBinding(key.WithKeys("X"), key.WithHelp("X", "switch context")),
	}
}

// help lists the keys as the help overlay shows them: bindings that belong together share a
// line, so the overlay fits a 80×24 terminal.
func (k keyMap) help() []key.Help {
	join := func(bs ...key.Binding) string {
		parts := make([]string, len(bs))
		for i, b := range bs {
			parts[i] = b.Help().Key
		}
		return strings.Join(parts, " ")
	}
	return []key.Help{
		{Key: join(k.Up, k.Down), Desc: "move the selection (drill-down: scroll)"},
		{Key: join(k.PageUp, k.PageDown), Desc: "page up / down (also ctrl+b ctrl+f)"},
		{Key: join(k.Top, k.Bottom), Desc: "first / last row"},
		k.SortBy.Help(),
		{Key: join(k.SortNext, k.Reverse), Desc: "next sort column / reverse (rows without data stay last)"},
		k.Filter.Help(),
		{Key: "  " + join(k.Apply, k.Clear), Desc: "in the filter: keep it / clear it (it applies as you type)"},
		{Key: join(k.Open, k.Back), Desc: "drill down / back from drill-down or help; clear the filter"},
		{Key: join(k.SwitchTeam, k.SwitchNamespace, k.SwitchContext), Desc: "switch team / namespace / context; type to filter"},
		{Key: join(k.Mark, k.Compare), Desc: "mark baseline then canary / compare them live"},
		{Key: join(k.Pause, k.Help, k.Quit), Desc: "pause / resume refreshing · this help · quit"},
		{Key: join(k.Window, k.Span, k.Vs, k.Group), Desc: "window (1m…1h) / chart span / vs 1h 1d 1w ago / grouping"},
	}
}
