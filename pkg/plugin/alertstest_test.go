package plugin

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// operatorConfig is the configuration the operator generates for team-a's AlertmanagerConfig
// under the OnNamespace strategy (pkg/alertroute's test writes it).
var operatorConfig = filepath.Join("..", "alertroute", "testdata", "generated-OnNamespace.yaml")

func TestAlertsTestRoutesThroughTheConfiguration(t *testing.T) {
	out, stderr, err := run(t, "alerts", "test", "team-a", "-n", "team-a", "--labels", "severity=critical,envoy_cluster_name=checkout", "--config-file", operatorConfig)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		got = append(got, strings.Fields(l)[0])
	}
	if !slices.Equal(got, []string{"slack", "pagerduty", "msteams", "email"}) {
		t.Errorf("receivers %v:\n%s", got, out)
	}
	if !strings.Contains(stderr, "added the labels the stack's alerts carry: namespace=team-a, team=team-a") {
		t.Errorf("stderr does not name the labels added: %q", stderr)
	}

	out, _, err = run(t, "alerts", "test", "team-a", "-n", "team-a", "-l", "severity=warning", "--config-file", operatorConfig, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc alertsTestDocument
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !doc.Delivered || len(doc.Receivers) != 3 || doc.Receivers[1].Receiver != "team-a/team-a/webhook" || doc.Receivers[1].Name != "webhook" ||
		doc.Labels["team"] != "team-a" || !slices.Equal(doc.Added, []string{"namespace=team-a", "team=team-a"}) {
		t.Errorf("document %+v", doc)
	}
}

// An alert the team's receivers do not take exits 1 and says so; another team's labels, or the
// stack labels left out, reach only the root receiver.
func TestAlertsTestUnrouted(t *testing.T) {
	for _, args := range [][]string{
		{"--labels", "severity=info"},
		{"--labels", "severity=critical,namespace="},
		{"--labels", "severity=critical", "--stack-labels=false"},
		{"--labels", `severity=critical,team="team-b"`},
	} {
		out, stderr, err := run(t, append([]string{"alerts", "test", "team-a", "-n", "team-a", "--config-file", operatorConfig}, args...)...)
		var exit *ExitError
		if !errors.As(err, &exit) || exit.Code != alertsTestUnroutedExit {
			t.Errorf("%v: err %v, want exit %d", args, err, alertsTestUnroutedExit)
		}
		if !strings.Contains(stderr, "reach no receiver of AlertmanagerConfig team-a/team-a") || !strings.HasPrefix(out, "RECEIVER") {
			t.Errorf("%v:\n%s\n%s", args, out, stderr)
		}
	}
}

func TestAlertsTestBadInput(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, 9<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	notYAML := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(notYAML, []byte("route: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"team-a"}, "needs the alert's labels"},
		{[]string{"team-a", "--labels", "severity"}, `invalid --labels "severity"`},
		{[]string{"team-a", "--labels", "1x=a"}, `label name "1x"`},
		{[]string{"team-a", "--labels", `a="b`}, "quote that does not end"},
		{[]string{"team-a", "--labels", `a="b"c`}, "separate labels with commas"},
		{[]string{"team-a", "--labels", "a=b", "--labels", "a=c"}, "given twice"},
		{[]string{"team-a", "--labels", "a=b", "--config-file", big}, `invalid --config-file`},
		{[]string{"team-a", "--labels", "a=b", "--config-file", notYAML}, "not a valid Alertmanager configuration"},
		{[]string{"Team_A", "--labels", "a=b"}, "invalid team name"},
		{[]string{"team-a", "--labels", "a=b", "--timeout", "0s"}, "--timeout"},
	} {
		out, _, err := run(t, append([]string{"alerts", "test"}, c.args...)...)
		var exit *ExitError
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || out != "" {
			t.Errorf("%v: err %v, out %q; want one line with %q", c.args, err, out, c.want)
		} else if errors.As(err, &exit) && exit.Code != alertsTestErrorExit {
			t.Errorf("%v: exit %d, want %d", c.args, exit.Code, alertsTestErrorExit)
		}
	}
}

func TestParseLabelList(t *testing.T) {
	got, err := parseLabelList(`a=1,b="x, y",c=,d="q\"r"`)
	want := [][2]string{{"a", "1"}, {"b", "x, y"}, {"c", ""}, {"d", `q"r`}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}

func TestAlertsShowReceivers(t *testing.T) {
	url := fakeAlertsPrometheus(t, alertsAnswer)
	out, stderr, err := run(t, "alerts", "team-a", "-n", "team-a", "--prometheus-url", url, "--config-file", operatorConfig, "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var doc alertsDocument
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"EnvoyUpstreamHigh5xxRatio":   {"slack", "pagerduty", "msteams", "email"},
		"EnvoyUpstreamHighLatencyP99": {"slack", "webhook", "email"},
		"Evil":                        {"null"},
	}
	for _, a := range doc.Alerts {
		if !slices.Equal(a.Receivers, want[a.Name]) {
			t.Errorf("%s: receivers %v, want %v", a.Name, a.Receivers, want[a.Name])
		}
	}
	if _, _, err := run(t, "alerts", "--prometheus-url", url, "--config-file", "/nonexistent"); err == nil || !strings.Contains(err.Error(), "--config-file") {
		t.Errorf("a --config-file that cannot be read: %v", err)
	}
}

// Without a cluster to read the configuration from, alerts still lists the alerts, with a note.
func TestAlertsWithoutTheConfiguration(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	url := fakeAlertsPrometheus(t, alertsAnswer)
	out, stderr, err := run(t, "alerts", "team-a", "-n", "team-a", "--prometheus-url", url, "--timeout", "3s")
	if err != nil || !strings.Contains(stderr, "note: the receivers are not shown") || !strings.Contains(out, "EnvoyUpstreamHigh5xxRatio") {
		t.Errorf("err %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
}
