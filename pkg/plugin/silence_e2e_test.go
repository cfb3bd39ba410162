//go:build e2e

package plugin

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/amtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/am"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
)

// TestSilenceAgainstARealAlertmanager creates a team's silence, lists it, shows that an alert of
// the team it matches is silenced, refuses to expire another team's silence, and expires it.
func TestSilenceAgainstARealAlertmanager(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	srv := amtest.Start(t, amtest.NullConfig)
	ctx := context.Background()
	client, err := am.New(prom.Config{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	conn := []string{"-n", "team-a", "--alertmanager-url", srv.URL()}

	// Create: the ID on stdout, the team's matchers added.
	out, stderr, err := run(t, append([]string{"silence", "create", "team-a", "-m", "envoy_cluster_name=checkout",
		"--duration", "1h", "--comment", "migration \x1b[31mred", "--author", "ann"}, conn...)...)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, stderr)
	}
	id := strings.TrimSpace(out)
	if err := am.ValidateID(id); err != nil {
		t.Fatalf("create printed %q: %v", out, err)
	}
	created, err := client.Silence(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !am.ScopedTo(created.Matchers, "team-a", "team-a") || created.CreatedBy != "ann" || created.Status.State != am.SilenceActive {
		t.Fatalf("created %+v", created)
	}

	// Another team's silence, made behind the plugin's back.
	other, err := client.CreateSilence(ctx, am.NewSilence{
		Matchers: append(am.TeamMatchers("team-b", "team-b"), am.Matcher{Name: "envoy_cluster_name", Value: "checkout", IsEqual: true}),
		StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour), CreatedBy: "bob", Comment: "team b's",
	})
	if err != nil {
		t.Fatal(err)
	}

	// List: the team's silence only, its comment sanitized in the table.
	out, stderr, err = run(t, append([]string{"silence", "list", "team-a"}, conn...)...)
	if err != nil {
		t.Fatalf("list: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, id) || strings.Contains(out, other) || !strings.Contains(out, `envoy_cluster_name="checkout"`) ||
		!strings.Contains(out, `migration \x1b[31mred`) || strings.Contains(out, "\x1b") || !strings.Contains(out, "ann") {
		t.Fatalf("list table:\n%s", out)
	}
	out, _, err = run(t, append([]string{"silence", "list", "team-a", "-o", "json"}, conn...)...)
	if err != nil {
		t.Fatal(err)
	}
	var doc silencesDocument
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Silences) != 1 || doc.Silences[0].ID != id || doc.Silences[0].State != am.SilenceActive {
		t.Fatalf("list -o json: %s", out)
	}

	// An alert of the team that the silence matches is silenced by it.
	srv.PostAlert(t, map[string]string{
		"alertname": "EnvoyHigh5xxRatio", "team": "team-a", "namespace": "team-a", "envoy_cluster_name": "checkout",
	})
	waitSilencedBy(t, client, "team-a", id, true)

	// Another team's silence cannot be expired.
	_, _, err = run(t, append([]string{"silence", "expire", "team-a", other}, conn...)...)
	if err == nil || !strings.Contains(err.Error(), "silence "+other+" is not team team-a's") {
		t.Fatalf("expire of team b's silence: %v", err)
	}
	if s, err := client.Silence(ctx, other); err != nil || s.Status.State != am.SilenceActive {
		t.Fatalf("team b's silence after the refusal: %+v, %v", s, err)
	}

	// Expire: gone from the default list, shown as expired, the alert delivered again.
	out, stderr, err = run(t, append([]string{"silence", "expire", "team-a", id}, conn...)...)
	if err != nil || out != "silence "+id+" expired\n" {
		t.Fatalf("expire: %q, %v\n%s", out, err, stderr)
	}
	out, _, err = run(t, append([]string{"silence", "list", "team-a"}, conn...)...)
	if err != nil || strings.TrimSpace(out) != "No silences." {
		t.Fatalf("list after expire: %q, %v", out, err)
	}
	out, _, err = run(t, append([]string{"silence", "list", "team-a", "--state", "expired", "-o", "yaml"}, conn...)...)
	if err != nil || !strings.Contains(out, "id: "+id) || !strings.Contains(out, "state: expired") {
		t.Fatalf("list --state expired: %q, %v", out, err)
	}
	waitSilencedBy(t, client, "team-a", id, false)
}

// waitSilencedBy waits until the team's alert is (or is no longer) silenced by silence id.
func waitSilencedBy(t *testing.T, c *am.Client, team, id string, want bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		alerts, err := c.Alerts(context.Background(), []am.Matcher{{Name: "team", Value: team, IsEqual: true}})
		if err != nil {
			t.Fatal(err)
		}
		if len(alerts) == 1 && slices.Contains(alerts[0].Status.SilencedBy, id) == want {
			if want && alerts[0].Status.State != "suppressed" {
				t.Fatalf("silenced alert in state %q, want suppressed", alerts[0].Status.State)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s, alerts %+v; want silenced by %s: %v", alerts, id, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
