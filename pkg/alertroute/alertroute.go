// Package alertroute tells which receivers an alert with a given label set reaches, by handing
// the Alertmanager configuration to Alertmanager's own packages: config parses and validates it,
// dispatch builds the routing tree and matches the labels against it, as a running Alertmanager
// does. Nothing here routes by hand. It is pure: the configuration comes in as bytes.
package alertroute

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"
)

// MaxConfigSize is the largest configuration Parse reads: far above what the operator generates
// for hundreds of teams, far below what could exhaust memory.
const MaxConfigSize = 8 << 20

// GroupByAll is what GroupBy holds for a route that groups by every label (group_by: ['...']).
const GroupByAll = "..."

// Config is an Alertmanager configuration's routing tree and receivers.
type Config struct {
	root    *dispatch.Route
	parents map[*dispatch.Route]*dispatch.Route
	// notifies tells, for each receiver, whether it has an integration: a receiver without one
	// (the operator's "null", a team's "unrouted") notifies nobody.
	notifies map[string]bool
}

var initMatchers sync.Once

// Parse reads an Alertmanager configuration as Alertmanager reads its --config.file.
func Parse(data []byte) (*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("the configuration is larger than %d MiB", MaxConfigSize>>20)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("the configuration is not UTF-8 text")
	}
	// The matcher parser a running Alertmanager uses when no feature flag is set: UTF-8 matchers,
	// falling back to the classic ones.
	initMatchers.Do(func() {
		compat.InitFromFlags(slog.New(slog.NewTextHandler(io.Discard, nil)), featurecontrol.NoopFlags{})
	})
	cfg, err := config.Load(string(data))
	if err != nil {
		return nil, fmt.Errorf("not a valid Alertmanager configuration: %w", err)
	}
	c := &Config{
		root:     dispatch.NewRoute(cfg.Route, nil),
		parents:  map[*dispatch.Route]*dispatch.Route{},
		notifies: map[string]bool{},
	}
	var walk func(r *dispatch.Route)
	walk = func(r *dispatch.Route) {
		for _, child := range r.Routes {
			c.parents[child] = r
			walk(child)
		}
	}
	walk(c.root)
	for _, r := range cfg.Receivers {
		n, err := integrations(r)
		if err != nil {
			return nil, fmt.Errorf("receiver %q: %w", r.Name, err)
		}
		c.notifies[r.Name] = n > 0
	}
	return c, nil
}

// integrations counts the notification configurations of a receiver: every key of its YAML but
// its name and labels, whatever integrations the Alertmanager release knows.
func integrations(r config.Receiver) (int, error) {
	r.Labels = nil
	out, err := yaml.Marshal(r)
	if err != nil {
		return 0, err
	}
	var fields map[string]any
	if err := yaml.Unmarshal(out, &fields); err != nil {
		return 0, err
	}
	delete(fields, "name")
	return len(fields), nil
}

// Scope names an AlertmanagerConfig resource. The operator turns each receiver of the resource
// into one named NAMESPACE/NAME/RECEIVER in the configuration it generates.
type Scope struct {
	Namespace, Name string
}

func (s Scope) prefix() string {
	if s.Namespace == "" || s.Name == "" {
		return ""
	}
	return s.Namespace + "/" + s.Name + "/"
}

// Match is one route that an alert reaches, in the order Alertmanager notifies them.
type Match struct {
	// Receiver is the receiver's name in the configuration.
	Receiver string `json:"receiver"`
	// Name is the receiver's name in the scope's AlertmanagerConfig; empty for a receiver
	// outside it.
	Name string `json:"name,omitempty"`
	// Team reports that the receiver belongs to the scope's AlertmanagerConfig.
	Team bool `json:"team"`
	// Notifies reports that the receiver has an integration: one without any notifies nobody.
	Notifies bool `json:"notifies"`
	// Continue is the route's continue: whether routing went on to its next sibling.
	Continue bool `json:"continue"`
	// GroupBy holds the labels alerts are grouped by, sorted, or GroupByAll.
	GroupBy        []string      `json:"group_by"`
	GroupWait      time.Duration `json:"-"`
	GroupInterval  time.Duration `json:"-"`
	RepeatInterval time.Duration `json:"-"`
	// Intervals as Alertmanager writes durations (30s, 5m, 4h), for documents.
	GroupWaitText      string `json:"group_wait"`
	GroupIntervalText  string `json:"group_interval"`
	RepeatIntervalText string `json:"repeat_interval"`
	// Path holds the matchers of each route from the root to this one, as Alertmanager writes
	// them ({} for a route that matches everything).
	Path                []string `json:"route"`
	MuteTimeIntervals   []string `json:"mute_time_intervals,omitempty"`
	ActiveTimeIntervals []string `json:"active_time_intervals,omitempty"`
}

// DisplayName is the receiver's name in the scope's AlertmanagerConfig when it has one, else the
// configuration's.
func (m Match) DisplayName() string {
	if m.Name != "" {
		return m.Name
	}
	return m.Receiver
}

// Route returns the routes an alert with labels reaches, as Alertmanager's dispatcher finds them.
// Labels with an empty value are absent, as in Prometheus.
func (c *Config) Route(labels map[string]string, scope Scope) []Match {
	set := model.LabelSet{}
	for k, v := range labels {
		if v != "" {
			set[model.LabelName(k)] = model.LabelValue(v)
		}
	}
	prefix := scope.prefix()
	var out []Match
	for _, r := range c.root.Match(set) {
		o := r.RouteOpts
		m := Match{
			Receiver: o.Receiver, Notifies: c.notifies[o.Receiver], Continue: r.Continue,
			GroupWait: o.GroupWait, GroupInterval: o.GroupInterval, RepeatInterval: o.RepeatInterval,
			GroupWaitText: model.Duration(o.GroupWait).String(), GroupIntervalText: model.Duration(o.GroupInterval).String(),
			RepeatIntervalText:  model.Duration(o.RepeatInterval).String(),
			MuteTimeIntervals:   slices.Clone(o.MuteTimeIntervals),
			ActiveTimeIntervals: slices.Clone(o.ActiveTimeIntervals),
			GroupBy:             []string{},
		}
		if name, ok := strings.CutPrefix(o.Receiver, prefix); ok && prefix != "" {
			m.Name, m.Team = name, true
		}
		if o.GroupByAll {
			m.GroupBy = []string{GroupByAll}
		} else {
			for _, l := range slices.Sorted(maps.Keys(o.GroupBy)) {
				m.GroupBy = append(m.GroupBy, string(l))
			}
		}
		for n := r; n != nil; n = c.parents[n] {
			m.Path = append(m.Path, n.Matchers.String())
		}
		slices.Reverse(m.Path)
		out = append(out, m)
	}
	return out
}

// Delivered reports whether one of the matches is a receiver of the scope's AlertmanagerConfig
// that notifies someone.
func Delivered(matches []Match) bool {
	return slices.ContainsFunc(matches, func(m Match) bool { return m.Team && m.Notifies })
}
