package tui

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

func TestFormats(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		f    func(float64) string
		in   float64
		want string
	}{
		{"rps", fmtRPS, 12.34, "12.3"},
		{"rps zero", fmtRPS, 0, "0.0"},
		{"rps trickle", fmtRPS, 0.01, "<0.1"},
		{"rps nan", fmtRPS, nan, dash},
		{"rps inf", fmtRPS, inf, dash},
		{"success", fmtSuccess, 0.995, "99.50%"},
		{"success all", fmtSuccess, 1, "100.00%"},
		{"success almost all", fmtSuccess, 0.99999, "99.99%"},
		{"success none", fmtSuccess, 0, "0.00%"},
		{"success nan", fmtSuccess, nan, dash},
		{"ms", fmtMs, 12.4, "12ms"},
		{"ms sub-10", fmtMs, 1.25, "1.2ms"},
		{"ms sub-1", fmtMs, 0.42, "0.4ms"},
		{"ms zero", fmtMs, 0, "0ms"},
		{"ms 999", fmtMs, 999, "999ms"},
		{"ms second", fmtMs, 1300, "1.3s"},
		{"ms rounds to a second", fmtMs, 999.7, "1.0s"},
		{"ms long", fmtMs, 120000, "120s"},
		{"ms nan", fmtMs, nan, dash},
		{"count", fmtCount, 14, "14"},
		{"count fraction", fmtCount, 2.5, "2.5"},
		{"count nan", fmtCount, nan, dash},
		{"rate", fmtRate, 2.5, "2.50/s"},
		{"rate nan", fmtRate, nan, dash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.in); got != tt.want {
				t.Errorf("%s(%v) = %q, want %q", tt.name, tt.in, got, tt.want)
			}
		})
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		f    func(time.Duration) string
		in   time.Duration
		want string
	}{
		{fmtAge, 3 * time.Second, "3s"},
		{fmtAge, 2600 * time.Millisecond, "3s"},
		{fmtAge, -time.Second, "0s"},
		{fmtAge, 65 * time.Second, "1m5s"},
		{fmtAge, 2*time.Hour + 3*time.Minute, "2h3m"},
		{fmtWindow, time.Minute, "1m"},
		{fmtWindow, 90 * time.Second, "1m30s"},
		{fmtWindow, 30 * time.Second, "30s"},
		{fmtWindow, time.Hour, "1h"},
		{fmtWindow, 0, dash},
		{fmtTook, 137 * time.Millisecond, "137ms"},
		{fmtTook, 1250 * time.Millisecond, "1.2s"},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			if got := tt.f(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSparkline(t *testing.T) {
	tests := []struct {
		name  string
		in    []float64
		width int
		want  string
	}{
		{"scaled to the maximum", []float64{0, 1, 2, 3, 4, 5, 6, 7}, 8, "▁▂▃▄▅▆▇█"},
		{"gaps are spaces", []float64{1, nan, 1, math.Inf(1)}, 4, "█ █ "},
		{"padded on the left", []float64{2, 4}, 5, "   ▅█"},
		{"keeps the newest", []float64{1, 2, 3, 4}, 2, "▆█"},
		{"all zero", []float64{0, 0}, 2, "▁▁"},
		{"all gaps", []float64{nan, nan}, 3, "   "},
		{"empty", nil, 3, "   "},
		{"no width", []float64{1}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sparkline(tt.in, tt.width); got != tt.want {
				t.Errorf("sparkline(%v, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
			}
		})
	}
}

func TestBar(t *testing.T) {
	tests := []struct {
		frac  float64
		width int
		want  string
	}{
		{1, 4, "████"},
		{0.5, 4, "██  "},
		{0.3, 4, "█▎  "},
		{0, 4, "    "},
		{0.0001, 4, "▏   "},
		{nan, 3, "   "},
		{2, 2, "██"},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatFloat(tt.frac, 'g', -1, 64), func(t *testing.T) {
			if got := bar(tt.frac, tt.width); got != tt.want {
				t.Errorf("bar(%v, %d) = %q, want %q", tt.frac, tt.width, got, tt.want)
			}
		})
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		in   string
		w    int
		want string
	}{
		{"checkout", 10, "checkout"},
		{"checkout", 8, "checkout"},
		{"checkout", 5, "chec…"},
		{"checkout", 1, "…"},
		{"checkout", 0, ""},
		{"ns/sérvice", 6, "ns/sé…"},
	}
	for _, tt := range tests {
		if got := fit(tt.in, tt.w); got != tt.want {
			t.Errorf("fit(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
		}
	}
	if got := padLeft("12", 5); got != "   12" {
		t.Errorf("padLeft = %q", got)
	}
	if got := padRight("12", 5); got != "12   " {
		t.Errorf("padRight = %q", got)
	}
}

func TestServiceLabel(t *testing.T) {
	tests := []struct {
		row  traffic.Row
		want string
	}{
		{traffic.Row{Namespace: "shop", Service: "cart"}, "shop/cart"},
		{traffic.Row{Service: "cart"}, "cart"},
		{traffic.Row{Namespace: "shop"}, dash},
		{traffic.Row{}, dash},
	}
	for _, tt := range tests {
		if got := serviceLabel(tt.row); got != tt.want {
			t.Errorf("serviceLabel(%+v) = %q, want %q", tt.row, got, tt.want)
		}
	}
}

func TestThresholds(t *testing.T) {
	tests := []struct {
		name string
		got  level
		want level
	}{
		{"all good", successLevel(1), levelOK},
		{"0.1% errors is fine", successLevel(0.999), levelOK},
		{"0.2% errors", successLevel(0.998), levelWarn},
		{"9% errors", successLevel(0.91), levelWarn},
		{"10% errors", successLevel(0.9), levelBad},
		{"no success data", successLevel(nan), levelOK},
		{"p99 500ms is fine", latencyLevel(500), levelOK},
		{"p99 501ms", latencyLevel(501), levelWarn},
		{"p99 1s", latencyLevel(1000), levelWarn},
		{"p99 1.001s", latencyLevel(1001), levelBad},
		{"no p99 data", latencyLevel(nan), levelOK},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: level %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	kinds := []struct {
		selected    bool
		rps, minRPS float64
		want        rowKind
	}{
		{false, 5, 1, rowNormal},
		{false, 1, 1, rowNormal},
		{false, 0.9, 1, rowDim},
		{false, nan, 1, rowDim},
		{true, 5, 1, rowSelected},
		{true, 0.5, 1, rowSelectedDim},
		{false, 0, 0, rowNormal},
	}
	for _, k := range kinds {
		if got := kindOf(k.selected, k.rps, k.minRPS); got != k.want {
			t.Errorf("kindOf(%v, %v, %v) = %d, want %d", k.selected, k.rps, k.minRPS, got, k.want)
		}
	}
}
