package tui

import (
	"strings"
	"testing"
)

// TestHelpScrollsWhenTaller: at 80x24 the help is taller than the body; arrows scroll it to its
// last line, the Vs legend, and the status line says which lines are on screen.
func TestHelpScrollsWhenTaller(t *testing.T) {
	m := loaded(t, Options{NoColor: true}, 80, 24, testFrame())
	m, _ = update(t, m, press("?"))
	if strings.Contains(plain(m), "Vs each row") {
		t.Fatal("the whole help fits: nothing to scroll")
	}
	if !strings.Contains(plain(m), "↑↓ scroll (lines 1-20 of") {
		t.Errorf("no scroll hint:\n%s", plain(m))
	}
	for range 10 {
		m, _ = update(t, m, press("down"))
	}
	screen := plain(m)
	if !strings.Contains(screen, "Vs each row") || strings.Contains(screen, "Keys\n") {
		t.Errorf("scrolled to the end:\n%s", screen)
	}
	m, _ = update(t, m, press("up"))
	m, _ = update(t, m, press("esc"))
	m, _ = update(t, m, press("?"))
	if m.helpScroll != 0 {
		t.Errorf("the help opens scrolled to line %d", m.helpScroll)
	}
}
