package am

import (
	"strings"
	"testing"
)

func TestParseMatcher(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: the matcher written back, or the start of the error
		err      bool
	}{
		{in: "envoy_cluster_name=checkout", want: `envoy_cluster_name="checkout"`},
		{in: ` severity != "warning" `, want: `severity!="warning"`},
		{in: `alertname=~"Envoy.*"`, want: `alertname=~"Envoy.*"`},
		{in: `alertname!~Envoy.*`, want: `alertname!~"Envoy.*"`},
		{in: `path="/a b\"c"`, want: `path="/a b\"c"`},
		{in: `cluster=outbound|443||api.example.com`, want: `cluster="outbound|443||api.example.com"`},
		{in: `x=`, want: `x=""`},
		{in: "checkout", err: true, want: "no operator"},
		{in: "=checkout", err: true, want: `label name "" is not one`},
		{in: "9x=a", err: true, want: `label name "9x" is not one`},
		{in: "a-b=c", err: true, want: `label name "a-b" is not one`},
		{in: `a="unclosed`, err: true, want: `value "unclosed is not one double-quoted string`},
		{in: `a="x"y"`, err: true, want: `value "x"y" is not one double-quoted string`},
		{in: `a=x y`, err: true, want: `value x y needs double quotes, e.g. a="x y"`},
		{in: `a==b`, err: true, want: "value =b needs double quotes"},
		{in: `a=~"(unclosed"`, err: true, want: `regex "(unclosed" does not compile: missing closing )`},
		{in: `a!~"*"`, err: true, want: `regex "*" does not compile: missing argument to repetition operator`},
	} {
		m, err := ParseMatcher(tc.in)
		switch {
		case tc.err && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("ParseMatcher(%q) = %v, %v; want an error starting %q", tc.in, m, err, tc.want)
		case !tc.err && err != nil:
			t.Errorf("ParseMatcher(%q): %v", tc.in, err)
		case !tc.err && m.String() != tc.want:
			t.Errorf("ParseMatcher(%q) = %s, want %s", tc.in, m, tc.want)
		}
	}
}

func TestMatchesAnchorsRegexes(t *testing.T) {
	for _, tc := range []struct {
		matcher, value string
		want           bool
	}{
		{`a=~"check"`, "checkout", false},
		{`a=~"check.*"`, "checkout", true},
		{`a!~"check.*"`, "checkout", false},
		{`a!="x"`, "", true},
		{`a="x"`, "x", true},
	} {
		m, err := ParseMatcher(tc.matcher)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Matches(tc.value); got != tc.want {
			t.Errorf("%s matches %q = %v, want %v", tc.matcher, tc.value, got, tc.want)
		}
	}
}

func TestScopedTo(t *testing.T) {
	team := TeamMatchers("a", "team-a")
	for _, tc := range []struct {
		name     string
		matchers []Matcher
		want     bool
	}{
		{"the team's matchers", team, true},
		{"with more", append([]Matcher{{Name: "alertname", Value: "X", IsEqual: true}}, team...), true},
		{"another team", TeamMatchers("b", "team-a"), false},
		{"another namespace", TeamMatchers("a", "team-b"), false},
		{"team only", team[:1], false},
		{"a regex for the team", []Matcher{{Name: "team", Value: "a", IsRegex: true, IsEqual: true}, team[1]}, false},
		{"a negation", []Matcher{{Name: "team", Value: "a"}, team[1]}, false},
		{"none", nil, false},
	} {
		if got := ScopedTo(tc.matchers, "a", "team-a"); got != tc.want {
			t.Errorf("%s: ScopedTo = %v, want %v", tc.name, got, tc.want)
		}
	}
}
