package am

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Matcher is one matcher of a silence or an alert filter, as Alertmanager's API v2 writes it:
// name="value" (IsEqual, not IsRegex), name!="value", name=~"re" and name!~"re".
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	// IsEqual is false for != and !~. Alertmanager before 0.22 omits it, which means true.
	IsEqual bool `json:"isEqual"`
}

// UnmarshalJSON reads a matcher whose isEqual is missing as an equality, as Alertmanager does.
func (m *Matcher) UnmarshalJSON(b []byte) error {
	type plain Matcher
	p := plain{IsEqual: true}
	if err := jsonUnmarshal(b, &p); err != nil {
		return err
	}
	*m = Matcher(p)
	return nil
}

// Op is the matcher's operator: =, !=, =~ or !~.
func (m Matcher) Op() string {
	switch {
	case m.IsEqual && !m.IsRegex:
		return "="
	case !m.IsEqual && !m.IsRegex:
		return "!="
	case m.IsEqual:
		return "=~"
	}
	return "!~"
}

// String writes the matcher as Alertmanager and amtool do: name, operator, the value quoted.
func (m Matcher) String() string {
	return m.Name + m.Op() + strconv.Quote(m.Value)
}

// Matches reports whether the matcher matches the value of its label (the empty string for a
// missing label), as Alertmanager matches: regular expressions are anchored at both ends.
func (m Matcher) Matches(value string) bool {
	ok := m.Value == value
	if m.IsRegex {
		re, err := regexp.Compile(anchored(m.Value))
		ok = err == nil && re.MatchString(value)
	}
	return ok == m.IsEqual
}

func anchored(re string) string { return "^(?:" + re + ")$" }

// labelName is a label name Prometheus accepts in every mode, and Alertmanager too.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// unquotedValue is what a value may hold without quotes: no blanks, quotes, braces, commas,
// operator characters or backslashes, as amtool's matcher grammar allows.
var unquotedValue = regexp.MustCompile(`^[^\s"'{},=!~\\` + "`" + `]*$`)

// ParseMatcher reads one matcher in Alertmanager's syntax: name=value, name!=value,
// name=~regex or name!~regex, the value bare or in double quotes with Go's escapes
// (envoy_cluster_name="checkout", alertname=~"Envoy.*"). A regex must compile, and it matches
// whole values.
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!")
	if i < 0 {
		return Matcher{}, errors.New("no operator; write name=value, name!=value, name=~regex or name!~regex")
	}
	m := Matcher{Name: strings.TrimSpace(s[:i]), IsEqual: true}
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "=~"):
		m.IsRegex, rest = true, rest[2:]
	case strings.HasPrefix(rest, "!~"):
		m.IsRegex, m.IsEqual, rest = true, false, rest[2:]
	case strings.HasPrefix(rest, "!="):
		m.IsEqual, rest = false, rest[2:]
	case strings.HasPrefix(rest, "="):
		rest = rest[1:]
	default:
		return Matcher{}, errors.New("no operator; write name=value, name!=value, name=~regex or name!~regex")
	}
	if !labelName.MatchString(m.Name) {
		return Matcher{}, fmt.Errorf("label name %q is not one: use letters, digits and underscores, not starting with a digit", m.Name)
	}
	value := strings.TrimSpace(rest)
	if strings.HasPrefix(value, `"`) {
		v, err := strconv.Unquote(value)
		if err != nil {
			return Matcher{}, fmt.Errorf("value %s is not one double-quoted string; close the quotes and escape \" and \\ inside with a backslash", value)
		}
		value = v
	} else if !unquotedValue.MatchString(value) {
		return Matcher{}, fmt.Errorf("value %s needs double quotes, e.g. %s%s%s", value, m.Name, m.Op(), strconv.Quote(value))
	}
	m.Value = value
	if m.IsRegex {
		if _, err := regexp.Compile(anchored(value)); err != nil {
			return Matcher{}, fmt.Errorf("regex %q does not compile: %v", value, regexErrorReason(err))
		}
	}
	return m, nil
}

// regexErrorReason is what is wrong with a regex, without the expression Go repeats.
func regexErrorReason(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error parsing regexp: ")
	if i := strings.Index(msg, ": `"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// The labels that scope a silence to a team: every alert of a team's stack carries both.
const (
	LabelTeam      = "team"
	LabelNamespace = "namespace"
)

// TeamMatchers are the matchers every silence of team carries: team=TEAM and
// namespace=NAMESPACE, which every alert of the team's stack carries, so that the silence
// mutes nothing else.
func TeamMatchers(team, namespace string) []Matcher {
	return []Matcher{
		{Name: LabelTeam, Value: team, IsEqual: true},
		{Name: LabelNamespace, Value: namespace, IsEqual: true},
	}
}

// ScopedTo reports whether matchers mute only alerts of team in namespace: they hold the
// equality matchers team=TEAM and namespace=NAMESPACE.
func ScopedTo(matchers []Matcher, team, namespace string) bool {
	var hasTeam, hasNamespace bool
	for _, m := range matchers {
		if m.IsRegex || !m.IsEqual {
			continue
		}
		hasTeam = hasTeam || (m.Name == LabelTeam && m.Value == team)
		hasNamespace = hasNamespace || (m.Name == LabelNamespace && m.Value == namespace)
	}
	return hasTeam && hasNamespace
}
