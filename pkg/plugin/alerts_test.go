package plugin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// alertsAnswer is a Prometheus /api/v1/alerts answer: a firing 5xx alert, a pending latency
// alert, and a firing alert whose label value carries a terminal escape sequence.
const alertsAnswer = `{"status":"success","data":{"alerts":[
{"labels":{"alertname":"EnvoyUpstreamHighLatencyP99","severity":"warning","team":"team-a","namespace":"team-a","envoy_namespace":"team-a","envoy_cluster_name":"shop_frontend_80"},
 "annotations":{"summary":"shop_frontend_80 in team-a: p99 upstream latency above 1s"},"state":"pending","activeAt":"AGO(2m)","value":"1.4e+00"},
{"labels":{"alertname":"EnvoyUpstreamHigh5xxRatio","severity":"critical","team":"team-a","namespace":"team-a","envoy_namespace":"edge","envoy_cluster_name":"shop_checkout-canary_8080"},
 "annotations":{"summary":"more than 5% are 5xx","runbook_url":"https://example.com/runbook"},"state":"firing","activeAt":"AGO(15m)","value":"8.1e-02"},
{"labels":{"alertname":"Evil","severity":"critical","envoy_cluster_name":"x\u001b[2Jy"},"annotations":{},"state":"firing","activeAt":"AGO(1m)","value":"1"}
]}}`

// fakeAlertsPrometheus serves answer; AGO(d) in it becomes the time d before now.
func fakeAlertsPrometheus(t *testing.T, answer string) string {
	t.Helper()
	answer = regexp.MustCompile(`AGO\(([0-9a-z]+)\)`).ReplaceAllStringFunc(answer, func(m string) string {
		d, err := time.ParseDuration(m[len("AGO(") : len(m)-1])
		if err != nil {
			t.Fatal(err)
		}
		return time.Now().Add(-d).UTC().Format(time.RFC3339)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/alerts" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAlertsTable(t *testing.T) {
	url := fakeAlertsPrometheus(t, alertsAnswer)
	out, stderr, err := run(t, "alerts", "--prometheus-url", url)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "STATE") {
		t.Fatalf("want a header and three alerts:\n%s", out)
	}
	// Firing before pending, critical before warning, then by name.
	for i, want := range []string{"firing critical EnvoyUpstreamHigh5xxRatio edge/shop_checkout-canary_8080 15m 0.081",
		"firing critical Evil", "pending warning EnvoyUpstreamHighLatencyP99 team-a/shop_frontend_80 2m"} {
		if got := strings.Join(strings.Fields(lines[i+1]), " "); !strings.HasPrefix(got, want) {
			t.Errorf("line %d: %q, want it to start with %q", i+1, got, want)
		}
	}
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `x\x1b[2Jy`) {
		t.Errorf("an escape sequence from Prometheus reached the terminal, or was dropped instead of shown:\n%q", out)
	}

	out, _, err = run(t, "alerts", "--prometheus-url", url, "--state", "pending", "-o", "wide")
	if err != nil || !strings.Contains(out, "p99 upstream latency above 1s") || !strings.Contains(out, "namespace=team-a,team=team-a") || strings.Contains(out, "firing") {
		t.Errorf("--state pending -o wide: %v\n%s", err, out)
	}
}

func TestAlertsJSON(t *testing.T) {
	url := fakeAlertsPrometheus(t, alertsAnswer)
	out, _, err := run(t, "alerts", "--prometheus-url", url, "--state", "firing", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Via    string `json:"via"`
		Alerts []struct {
			Name      string            `json:"alertname"`
			State     string            `json:"state"`
			Since     string            `json:"active_since"`
			Value     string            `json:"value"`
			Receivers []string          `json:"receivers"`
			Labels    map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Via != url || len(doc.Alerts) != 2 || doc.Alerts[0].Name != "EnvoyUpstreamHigh5xxRatio" || doc.Alerts[0].Since == "" ||
		doc.Alerts[0].Value != "8.1e-02" || doc.Alerts[0].Receivers == nil || doc.Alerts[0].Labels["envoy_namespace"] != "edge" {
		t.Errorf("document %+v", doc)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("raw escape in JSON:\n%q", out)
	}
}

func TestAlertsNoneAndBadInput(t *testing.T) {
	url := fakeAlertsPrometheus(t, `{"status":"success","data":{"alerts":[]}}`)
	if out, _, err := run(t, "alerts", "--prometheus-url", url); err != nil || out != "No alerts are firing or pending.\n" {
		t.Errorf("no alerts: %v %q", err, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"alerts", "--prometheus-url", url, "--state", "resolved"}, `invalid --state "resolved"`},
		{[]string{"alerts", "--prometheus-url", url, "--interval", "10ms"}, `invalid --interval "10ms"`},
		{[]string{"alerts"}, "name a TEAM"},
	} {
		out, _, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || out != "" || exitCode(err) != 1 {
			t.Errorf("%v: exit %d, %v, stdout %q; want exit 1 and %q", c.args, exitCode(err), err, out, c.want)
		}
	}
	bad := fakeAlertsPrometheus(t, `{"status":"success","data":{"alerts":[{"labels":{},"state":"firing"}]}}`)
	if _, _, err := run(t, "alerts", "--prometheus-url", bad); err == nil || !strings.Contains(err.Error(), "without an alertname") {
		t.Errorf("an alert without a name: %v", err)
	}
}

// TestAlertsForATeamNamedTest: "alerts test" is the routing subcommand, and "alerts -- test" lists
// the alerts of a team named test.
func TestAlertsForATeamNamedTest(t *testing.T) {
	root := NewCmdRoot(genericiooptions.NewTestIOStreamsDiscard())
	for _, tc := range []struct {
		args []string
		use  string
		team []string
	}{
		{[]string{"alerts", "test", "team-a"}, "test", []string{"team-a"}},
		{[]string{"alerts", "--", "test"}, "alerts", []string{"test"}},
		{[]string{"alerts", "-n", "test", "--", "test"}, "alerts", []string{"test"}},
	} {
		cmd, args, err := root.Find(tc.args)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := strings.Fields(cmd.Use)[0]; got != tc.use || !slices.Equal(cmd.Flags().Args(), tc.team) {
			t.Errorf("%v runs %q with %q, want %q with %q", tc.args, got, cmd.Flags().Args(), tc.use, tc.team)
		}
	}
}
