package plugin

import (
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// TestWindowConfig: the dashboard's w key reads Envoy's own series on any window but the
// recording rules' 5m, and on 5m reads what --source asked for.
func TestWindowConfig(t *testing.T) {
	for _, tc := range []struct {
		from      traffic.Source
		windowSet bool
		w         time.Duration
		want      traffic.Source
		rules     time.Duration
	}{
		{traffic.SourceAuto, false, time.Minute, traffic.SourceRaw, promql.RuleWindow},
		{traffic.SourceAuto, false, promql.RuleWindow, traffic.SourceAuto, promql.RuleWindow},
		{traffic.SourceAuto, true, promql.RuleWindow, traffic.SourceAuto, promql.RuleWindow},
		{traffic.SourceAuto, true, time.Hour, traffic.SourceRaw, promql.RuleWindow},
		{traffic.SourceRules, false, 15 * time.Minute, traffic.SourceRaw, promql.RuleWindow},
		{traffic.SourceRules, false, promql.RuleWindow, traffic.SourceRules, promql.RuleWindow},
		{traffic.SourceRaw, false, promql.RuleWindow, traffic.SourceRaw, 0},
	} {
		o := &TopOptions{from: tc.from, windowSet: tc.windowSet, window: time.Minute}
		cfg := o.windowConfig(tc.w)
		if cfg.Source != tc.want || cfg.Window != tc.w || !cfg.Alerts {
			t.Errorf("--source %s (window given %v) at %v: source %s window %v alerts %v, want %s at %v",
				tc.from, tc.windowSet, tc.w, cfg.Source, cfg.Window, cfg.Alerts, tc.want, tc.w)
		}
		if got := o.rulesWindow(); got != tc.rules {
			t.Errorf("--source %s: rules window %v, want %v", tc.from, got, tc.rules)
		}
	}
}
