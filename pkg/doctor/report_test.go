package doctor

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var sample = Report{Team: "web", Namespace: "shop", Results: []Result{
	{ID: CheckAPI, Title: "API server reachable and credentials valid", Status: StatusPassed, Reason: "Kubernetes v1.33.1"},
	{ID: CheckSelectors, Title: "monitor and rule selectors are set", Status: StatusFailed,
		Reason: "ruleSelector null: it selects nothing", Fix: "set ruleSelector: {}\nkubectl patch prometheus web"},
	{ID: CheckTargets, Title: "scrape targets are up", Status: StatusSkipped, Reason: "not connected"},
}}

func TestWriteText(t *testing.T) {
	for _, tc := range []struct {
		color bool
		want  string
	}{
		{false, `✓ API server reachable and credentials valid
✗ monitor and rule selectors are set: ruleSelector null: it selects nothing
    fix: set ruleSelector: {}
    fix: kubectl patch prometheus web
- scrape targets are up: skipped, not connected
`},
		{true, "\x1b[32m✓\x1b[0m API server reachable and credentials valid\n" +
			"\x1b[31m✗\x1b[0m monitor and rule selectors are set: ruleSelector null: it selects nothing\n" +
			"    fix: set ruleSelector: {}\n    fix: kubectl patch prometheus web\n" +
			"\x1b[33m-\x1b[0m scrape targets are up: skipped, not connected\n"},
	} {
		var b strings.Builder
		if err := sample.WriteText(&b, tc.color); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, b.String()); diff != "" {
			t.Errorf("color=%v (-want +got):\n%s", tc.color, diff)
		}
	}
	if !sample.Failed() {
		t.Error("Failed() is false with a failed check")
	}
	if (Report{Results: sample.Results[:1]}).Failed() {
		t.Error("Failed() is true without a failed check")
	}
}

func TestReportJSON(t *testing.T) {
	raw, err := json.Marshal(sample)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"team":"web","namespace":"shop","results":[` +
		`{"id":"api","title":"API server reachable and credentials valid","status":"passed","reason":"Kubernetes v1.33.1","fix":""},` +
		`{"id":"selectors","title":"monitor and rule selectors are set","status":"failed","reason":"ruleSelector null: it selects nothing","fix":"set ruleSelector: {}\nkubectl patch prometheus web"},` +
		`{"id":"targets","title":"scrape targets are up","status":"skipped","reason":"not connected","fix":""}]}`
	if diff := cmp.Diff(want, string(raw)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The scrape errors below come from Prometheus 3 (the test Prometheus is 2.42, which neither
// checks Content-Type nor lets the tests set a sample limit), so they are checked here as text.
func TestScrapeFix(t *testing.T) {
	for lastError, want := range map[string]string{
		"server returned HTTP status 404 Not Found":                                                                   "Envoy serves /stats/prometheus",
		`received unsupported Content-Type "application/json" and no fallback_scrape_protocol specified for target`:   "fallbackScrapeProtocol: PrometheusText0.0.4",
		"non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target": "fallbackScrapeProtocol: PrometheusText0.0.4",
		"sample limit exceeded": "create --sample-limit N --apply",
		`Get "http://10.0.0.7:9901/stats/prometheus": dial tcp 10.0.0.7:9901: connect: connection refused`: "Prometheus cannot connect",
		"context deadline exceeded": "raise scrapeTimeout",
	} {
		if got := scrapeFix(lastError); !strings.Contains(got, want) {
			t.Errorf("scrapeFix(%q) = %q, want it to contain %q", lastError, got, want)
		}
	}
	res := evalTargets(liveFacts{targets: []Target{
		{ScrapePool: "podMonitor/shop/web-envoy/0", ScrapeURL: "http://10.0.0.7:9901/stats/prometheus", Health: HealthDown, LastError: "sample limit exceeded"},
		{ScrapePool: "podMonitor/shop/web-envoy/0", ScrapeURL: "http://10.0.0.8:9901/stats/prometheus", Health: HealthUp},
	}})
	if res.Status != StatusFailed || !strings.Contains(res.Reason, "PodMonitor shop/web-envoy endpoint 0 target http://10.0.0.7:9901/stats/prometheus is down: sample limit exceeded") {
		t.Errorf("evalTargets: %+v", res)
	}
	if res := evalTargets(liveFacts{targets: []Target{{Health: HealthUnknown}}}); res.Status != StatusSkipped {
		t.Errorf("a target not scraped yet: %+v", res)
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"16GiB": 16 << 30, "16GB": 16 << 30, "512MiB": 512 << 20, "1.5TiB": 3 << 39, "100B": 100, "0B": 0} {
		got, err := parseByteSize(in)
		if err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"16Gi", "16 GiB", "GiB", ""} {
		if _, err := parseByteSize(bad); err == nil {
			t.Errorf("parseByteSize(%q) accepted", bad)
		}
	}
}

func prometheus(mutate func(*monitoringv1.Prometheus)) *monitoringv1.Prometheus {
	p := &monitoringv1.Prometheus{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}}
	p.Spec.Retention = "15d"
	p.Spec.Storage = &monitoringv1.StorageSpec{VolumeClaimTemplate: monitoringv1.EmbeddedPersistentVolumeClaim{
		Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")}}},
	}}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func TestEvalStorageClasses(t *testing.T) {
	standard := storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}}
	def := storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast",
		Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}}
	for _, tc := range []struct {
		name    string
		p       *monitoringv1.Prometheus
		facts   storageFacts
		status  Status
		contain string
	}{
		{"default class", prometheus(nil), storageFacts{classes: []storagev1.StorageClass{standard, def}}, StatusPassed, "of the default storage class fast"},
		{"no default class", prometheus(nil), storageFacts{classes: []storagev1.StorageClass{standard}}, StatusFailed, "set --storage-class to an existing class: standard"},
		{"no class at all", prometheus(nil), storageFacts{}, StatusFailed, "the cluster has no StorageClass"},
		{"classes unreadable", prometheus(nil), storageFacts{err: errForbidden}, StatusSkipped, "cannot list StorageClasses"},
		{"pre-bound volume", prometheus(func(p *monitoringv1.Prometheus) {
			p.Spec.Storage.VolumeClaimTemplate.Spec.StorageClassName = ptr.To("")
		}), storageFacts{}, StatusPassed, "volume 20Gi"},
		{"ephemeral", prometheus(func(p *monitoringv1.Prometheus) {
			p.Spec.Storage.Ephemeral = &corev1.EphemeralVolumeSource{}
		}), storageFacts{classes: []storagev1.StorageClass{def}}, StatusFailed, "data is lost on restart: set --storage"},
		{"retention size only", prometheus(func(p *monitoringv1.Prometheus) {
			p.Spec.Retention = ""
			p.Spec.RetentionSize = "10GiB"
		}), storageFacts{classes: []storagev1.StorageClass{def}}, StatusPassed, "retentionSize 10GiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := evalStorage(tc.p, tc.facts)
			in := res.Reason
			if res.Status == StatusFailed {
				in = res.Fix
			}
			if res.Status != tc.status || !strings.Contains(in, tc.contain) {
				t.Errorf("%+v, want %s containing %q", res, tc.status, tc.contain)
			}
		})
	}
}

type stringError string

func (e stringError) Error() string { return string(e) }

const errForbidden = stringError("forbidden")

func TestEvalSelectorsSomeNull(t *testing.T) {
	p := prometheus(func(p *monitoringv1.Prometheus) {
		p.Labels = map[string]string{"promteam.io/team": "web"}
		p.Spec.ServiceMonitorSelector = &metav1.LabelSelector{}
		p.Spec.PodMonitorSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"promteam.io/team": "web"}}
	})
	res := evalSelectors(p)
	if res.Status != StatusFailed || res.Reason != "probeSelector, scrapeConfigSelector, ruleSelector null: it selects nothing" ||
		!strings.Contains(res.Fix, "null selects nothing, {} selects all: set probeSelector, scrapeConfigSelector, ruleSelector: {} or matchLabels promteam.io/team=web") {
		t.Errorf("%+v", res)
	}
}

func TestLabelChanges(t *testing.T) {
	sel := &metav1.LabelSelector{
		MatchLabels: map[string]string{"promteam.io/team": "web", "release": "main"},
		MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"edge", "core"}},
			{Key: "legacy", Operator: metav1.LabelSelectorOpDoesNotExist},
		},
	}
	got := labelChanges(sel, map[string]string{"release": "main", "legacy": "true"})
	want := []string{"promteam.io/team=web", "legacy-", "tier=edge"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		sign int
	}{{"0.94.1", "0.81.0", 1}, {"v0.81.0", "0.81.0", 0}, {"0.79.2", "v0.81.0", -1}, {"0.100.0", "0.94.1", 1}} {
		got := compareVersions(tc.a, tc.b)
		if (got > 0) != (tc.sign > 0) || (got < 0) != (tc.sign < 0) {
			t.Errorf("compareVersions(%s, %s) = %d", tc.a, tc.b, got)
		}
	}
}

func TestEvalReconciledWaitsOnlyWithoutStatus(t *testing.T) {
	p := prometheus(nil)
	p.Generation = 3
	p.Status.Conditions = []monitoringv1.Condition{
		{Type: monitoringv1.Reconciled, Status: monitoringv1.ConditionTrue, ObservedGeneration: 3},
		{Type: monitoringv1.Available, Status: monitoringv1.ConditionTrue, ObservedGeneration: 3},
	}
	if !statusCurrent(p) {
		t.Error("a status for the current generation is not current")
	}
	if res := evalReconciled(p, time.Second); res.Status != StatusPassed {
		t.Errorf("%+v", res)
	}
	p.Spec.Paused = true
	if res := evalReconciled(p, time.Second); res.Status != StatusFailed || !strings.Contains(res.Fix, `"paused":false`) {
		t.Errorf("paused: %+v", res)
	}
}

func TestWriteTextShowsControlCharactersAsEscapes(t *testing.T) {
	hostile := "\x1b[2J\x1b[31mdown\r\n✓ forged\u202e\x07\xff"
	r := Report{Results: []Result{
		{ID: CheckTargets, Title: "scrape targets are up", Status: StatusFailed, Reason: "last error: " + hostile, Fix: "check " + hostile},
		{ID: CheckAPI, Title: "API server reachable", Status: StatusSkipped, Reason: hostile},
	}}
	var b strings.Builder
	if err := r.WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	want := "✗ scrape targets are up: last error: \\x1b[2J\\x1b[31mdown; ✓ forged\\u202e\\a\\xff\n" +
		"    fix: check \\x1b[2J\\x1b[31mdown\n" +
		"    fix: ✓ forged\\u202e\\a\\xff\n" +
		"- API server reachable: skipped, \\x1b[2J\\x1b[31mdown; ✓ forged\\u202e\\a\\xff\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
