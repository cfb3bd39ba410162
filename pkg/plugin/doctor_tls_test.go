//go:build e2e

package plugin

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/promtest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
)

// TestDoctorReachesAnHTTPSPrometheusWithAToken runs doctor's live checks against a real
// Prometheus behind https and a bearer token: with --prometheus-ca-file and
// --prometheus-bearer-token-file the targets and envoy-series checks pass, and the token reached
// both endpoints; without the CA the certificate is refused, without the token Prometheus is.
func TestDoctorReachesAnHTTPSPrometheusWithAToken(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(pinnedOperator))
	ns := restrictedNamespace(t, c, "doctor-tls")
	if _, _, err := as(t, c, kubetest.Admin, "create", "team-a", "-n", ns, "--apply"); err != nil {
		t.Fatal(err)
	}
	fleet := envoysim.DemoFleet(time.Now().Add(-time.Hour))
	envoy := httptest.NewServer(fleet.Handler(fleet.Pods[0], envoysim.Stock, nil))
	t.Cleanup(envoy.Close)
	srv := promtest.Start(t, []promtest.Target{{URL: envoy.URL + "/stats/prometheus",
		Labels: map[string]string{"namespace": ns, "pod": "envoy-0"}}}, promtest.Options{ScrapeInterval: time.Second})
	srv.WaitForSeries(t, "envoy_cluster_upstream_rq_total", 1, time.Minute)
	front := promtest.Secure(t, srv.URL())

	live := func(t *testing.T, flags ...string) map[string]string {
		t.Helper()
		args := append([]string{"doctor", "team-a", "-n", ns, "--wait", "1s", "-o", "json", "--prometheus-url", front.URL}, flags...)
		out, stderr, err := as(t, c, kubetest.Admin, args...)
		var report struct {
			Results []struct{ ID, Status, Reason string } `json:"results"`
		}
		// No operator runs, so the reconciled check fails: exit status 1.
		if jerr := json.Unmarshal([]byte(out), &report); jerr != nil || exitCode(err) != 1 {
			t.Fatalf("doctor %v: %v, %v\n%s\n%s", flags, jerr, err, out, stderr)
		}
		got := map[string]string{}
		for _, r := range report.Results {
			if r.ID == "targets" || r.ID == "envoy-series" {
				got[r.ID] = r.Status + ": " + r.Reason
			}
		}
		return got
	}

	got := live(t, "--prometheus-ca-file", front.CAFile, "--prometheus-bearer-token-file", front.TokenFile)
	if !strings.HasPrefix(got["targets"], "passed: 1 targets up") || !strings.HasPrefix(got["envoy-series"], "passed") {
		t.Errorf("with the CA and the token: %v", got)
	}
	paths, refused := front.Authorized()
	if !slices.Contains(paths, "/api/v1/targets") || !slices.Contains(paths, "/api/v1/series") || refused != 0 {
		t.Errorf("Prometheus saw %v with the token and %d requests without", paths, refused)
	}

	got = live(t, "--prometheus-bearer-token-file", front.TokenFile)
	if !strings.HasPrefix(got["targets"], "skipped: Prometheus is not reachable") || !strings.Contains(got["targets"], "certificate") {
		t.Errorf("without the CA: %v", got)
	}
	got = live(t, "--prometheus-ca-file", front.CAFile)
	if !strings.HasPrefix(got["targets"], "skipped") || !strings.Contains(got["targets"], "401") {
		t.Errorf("without the token: %v", got)
	}
	if _, refused := front.Authorized(); refused == 0 {
		t.Error("the request without the token did not reach Prometheus")
	}
}
