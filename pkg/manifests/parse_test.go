package manifests

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestParseDuration(t *testing.T) {
	for _, ok := range []string{"30s", "15d", "1w2d", "1y", "90m", "500ms", "1h30m"} {
		if _, err := ParseDuration(ok); err != nil {
			t.Errorf("ParseDuration(%q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range []string{"", "15 days", "15", "1.5h", "0s", "0d0h", "-1d", "1d1w", "15D", "P15D"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted a value the CRD rejects", bad)
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"16Gi", "16GiB"},
		{"16GiB", "16GiB"},
		{"1.5Gi", "1536MiB"},
		{"512Mi", "512MiB"},
		{"2Ti", "2TiB"},
		{"1024Gi", "1TiB"},
	}
	for _, tt := range tests {
		b, err := ParseByteSize(tt.in)
		if err != nil {
			t.Fatalf("ParseByteSize(%q): %v", tt.in, err)
		}
		if b.String() != tt.want {
			t.Errorf("ParseByteSize(%q) = %s, want %s", tt.in, b, tt.want)
		}
	}
	for _, bad := range []string{"16G", "16GB", "16", "16gib", "-1Gi", "0Gi", "Gi", "1e3Gi", "16 Gi"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) accepted it", bad)
		}
	}
}

func TestDefaultRetentionSize(t *testing.T) {
	for storage, want := range map[string]string{"20Gi": "16GiB", "10Gi": "8GiB", "1Gi": "819MiB", "100Gi": "80GiB", "50G": "38146MiB"} {
		if got := DefaultRetentionSize(resource.MustParse(storage)).String(); got != want {
			t.Errorf("DefaultRetentionSize(%s) = %s, want %s", storage, got, want)
		}
	}
}

func TestTeamNameLengthFollowsShards(t *testing.T) {
	long := strings.Repeat("a", maxTeamNameLength(1))
	if err := ValidateTeamName(long, 1); err != nil {
		t.Errorf("%d characters with one shard: %v", len(long), err)
	}
	if err := ValidateTeamName(long+"a", 1); err == nil {
		t.Error("one character too many was accepted")
	}
	if err := ValidateTeamName(long, 12); err == nil {
		t.Error("the shard suffix was not counted")
	}
	// The longest pod label the operator writes must fit 63 characters.
	for _, shards := range []int32{1, 2, 10, 100} {
		team := strings.Repeat("t", maxTeamNameLength(shards))
		sts := "prometheus-" + team
		if shards > 1 {
			sts += "-shard-" + strings.Repeat("9", len(itoa(shards-1)))
		}
		if got := len(sts + "-0123456789"); got != 63 {
			t.Errorf("shards=%d: revision label %d characters, want exactly 63", shards, got)
		}
	}
	for _, bad := range []string{"", "Team", "team_a", "1team", "team-", "-team", "té"} {
		if err := ValidateTeamName(bad, 1); err == nil {
			t.Errorf("ValidateTeamName(%q) accepted it", bad)
		}
	}
}

func itoa(n int32) string { return resource.NewQuantity(int64(n), resource.DecimalSI).String() }

func TestParseLabelPair(t *testing.T) {
	if k, v, err := ParseLabelPair("cluster=prod=eu"); err != nil || k != "cluster" || v != "prod=eu" {
		t.Errorf("ParseLabelPair(cluster=prod=eu) = %q %q %v", k, v, err)
	}
	for _, bad := range []string{"cluster", "=x", "cluster=", "1a=x", "__name__=x", "team=x", "prometheus_replica=x", "prometheus_shard=1", "a-b=x"} {
		if _, _, err := ParseLabelPair(bad); err == nil {
			t.Errorf("ParseLabelPair(%q) accepted it", bad)
		}
	}
}

func TestParseSLO(t *testing.T) {
	for in, want := range map[string]float64{"99.9": 99.9, "99.9%": 99.9, "99": 99, "95": 95, "99.995": 99.995} {
		got, err := ParseSLO(in)
		if err != nil || got != want {
			t.Errorf("ParseSLO(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"100", "90", "0.999", "abc", "NaN", "Inf", "99.9999", "-5", ""} {
		if _, err := ParseSLO(bad); err == nil {
			t.Errorf("ParseSLO(%q) accepted it", bad)
		}
	}
}

func TestParsePresetsIsOrderIndependent(t *testing.T) {
	a, err := ParsePresets([]string{"statsd", "contour,envoy", "contour"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParsePresets([]string{"envoy", "contour", "statsd"})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 3 || len(b) != 3 || a[0] != b[0] || a[1] != b[1] || a[2] != b[2] {
		t.Errorf("ParsePresets gave %v and %v for the same set", a, b)
	}
	if _, err := ParsePresets([]string{"nginx"}); err == nil || !strings.Contains(err.Error(), PresetNames()) {
		t.Errorf("unknown preset error should list the presets, got %v", err)
	}
}

func TestDurationsAndQuantitiesThatDoNotFit(t *testing.T) {
	for _, bad := range []string{"300y", "293y", "15251w", "106752d", "9223372037s"} {
		if _, err := ParseDuration(bad); err == nil || !strings.Contains(err.Error(), "292y") {
			t.Errorf("ParseDuration(%q) = %v, want an error naming the limit", bad, err)
		}
	}
	if _, err := ParseDuration("292y"); err != nil {
		t.Errorf("ParseDuration(292y) = %v", err)
	}
	for _, bad := range []string{"1ms", "999ms", "0s1ms"} {
		if _, err := ParseInterval(bad); err == nil || !strings.Contains(err.Error(), "1s or more") {
			t.Errorf("ParseInterval(%q) = %v, want an error naming 1s", bad, err)
		}
	}
	if d, err := ParseInterval("1s"); err != nil || d != "1s" {
		t.Errorf("ParseInterval(1s) = %q, %v", d, err)
	}
	huge := "99999999999999999999Ei"
	if _, err := ParseMemory(huge, false); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("ParseMemory(%s) = %v", huge, err)
	}
	if _, err := ParseStorage("9Ei"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("ParseStorage(9Ei) = %v", err)
	}
	if _, err := ParseByteSize("8EiB"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("ParseByteSize(8EiB) = %v", err)
	}
	if _, err := ParseCPU("9223372036854776"); err == nil || !strings.Contains(err.Error(), "millicores") {
		t.Errorf("ParseCPU(9223372036854776) = %v", err)
	}
	if q, err := ParseStorage("7Ei"); err != nil || q.String() != "7Ei" {
		t.Errorf("ParseStorage(7Ei) = %v, %v", q.String(), err)
	}
	// A spec set directly is checked too.
	s := DefaultTeamSpec("team-a", "team-a")
	s.Memory = resource.MustParse(huge)
	s.MemoryLimit = resource.Quantity{}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "--memory") {
		t.Errorf("Validate with a huge memory = %v", err)
	}
	s = DefaultTeamSpec("team-a", "team-a")
	s.EnvoyScrapeInterval = "1ms"
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "--envoy-scrape-interval") {
		t.Errorf("Validate with a 1ms Envoy scrape interval = %v", err)
	}
}

func TestParseSelectorAndURL(t *testing.T) {
	if sel, err := ParseSelector("app=envoy,tier in (edge,internal)"); err != nil || len(sel.MatchExpressions) != 1 || sel.MatchLabels["app"] != "envoy" {
		t.Errorf("ParseSelector = %+v, %v", sel, err)
	}
	for _, bad := range []string{"", "  ", "a b", "app in", "app=envoy,app=evil", "app==envoy,tier=edge,app=envoy"} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("ParseSelector(%q) accepted it", bad)
		}
	}
	// The same key with another operator keeps both requirements: it is not a lost value.
	if sel, err := ParseSelector("app=envoy,app notin (evil)"); err != nil || len(sel.MatchExpressions) != 1 {
		t.Errorf("ParseSelector with = and notin on one key = %+v, %v", sel, err)
	}
	for _, bad := range []string{"metrics.example.com", "ftp://x/y", "https://user:pw@x/y", "http://", "https://x/y#frag", "http://:80/",
		"https://h/p?token=s", "https://h/p?access_token=s", "https://h/p?apiKey=s", "https://h/p?X-Amz-Signature=s", "https://h/p?a=1&password=s"} {
		if _, err := ParseRemoteWriteURL(bad); err == nil {
			t.Errorf("ParseRemoteWriteURL(%q) accepted it", bad)
		}
	}
	for _, good := range []string{"https://h/api/v1/write", "https://h/api/v1/import/prometheus?extra_label=team%3Da", "https://h/p?tenant=a"} {
		if _, err := ParseRemoteWriteURL(good); err != nil {
			t.Errorf("ParseRemoteWriteURL(%q) = %v", good, err)
		}
	}
	for _, bad := range []string{"3.5", "latest", "v1.8.2", "v2.44.0", "v3.5.0+build"} {
		if _, err := ParsePrometheusVersion(bad); err == nil {
			t.Errorf("ParsePrometheusVersion(%q) accepted it", bad)
		}
	}
	if v, err := ParsePrometheusVersion("3.11.1"); err != nil || v != "v3.11.1" {
		t.Errorf("ParsePrometheusVersion(3.11.1) = %q, %v", v, err)
	}
}

func TestSizesTakeBinaryUnitsOnly(t *testing.T) {
	parsers := map[string]func(string) (resource.Quantity, error){
		"storage":      ParseStorage,
		"memory":       func(s string) (resource.Quantity, error) { return ParseMemory(s, false) },
		"memory-limit": func(s string) (resource.Quantity, error) { return ParseMemory(s, true) },
	}
	for name, parse := range parsers {
		for _, ok := range []string{"20Gi", "512Mi", "1.5Gi", "2Ti", "4096Ki"} {
			if q, err := parse(ok); err != nil || q.Cmp(resource.MustParse(ok)) != 0 || q.Format != resource.BinarySI {
				t.Errorf("%s %q = %s, %v", name, ok, q.String(), err)
			}
		}
		for in, fix := range map[string]string{"20G": "use 20Gi", "512M": "use 512Mi", "1.5T": "use 1.5Ti", "100k": "use 100Ki", "512m": "use 512Mi"} {
			_, err := parse(in)
			if err == nil || !strings.HasPrefix(err.Error(), fix+";") || !strings.Contains(err.Error(), "binary units") {
				t.Errorf("%s %q = %v, want an error starting %q", name, in, err, fix)
			}
		}
		for _, in := range []string{"2e9", "20E-3", "536870912", "1.5"} {
			if _, err := parse(in); err == nil || !strings.Contains(err.Error(), "binary units (Ki, Mi, Gi, Ti)") {
				t.Errorf("%s %q = %v, want an error asking for binary units", name, in, err)
			}
		}
		if _, err := parse("big"); err == nil || strings.Contains(err.Error(), "binary units") {
			t.Errorf("%s big = %v, want the flag's own advice", name, err)
		}
	}
	for _, zero := range []string{"0", "0Gi"} {
		if q, err := ParseStorage(zero); err != nil || !q.IsZero() {
			t.Errorf("ParseStorage(%q) = %v, %v", zero, q.String(), err)
		}
		if _, err := ParseMemory(zero, false); err == nil || !strings.Contains(err.Error(), "positive") {
			t.Errorf("ParseMemory(%q, false) = %v", zero, err)
		}
	}
	// A spec set directly is checked too.
	for field, edit := range map[string]func(*TeamSpec){
		"storage":      func(s *TeamSpec) { s.Storage = resource.MustParse("20G") },
		"memory":       func(s *TeamSpec) { s.Memory = resource.MustParse("1G") },
		"memory-limit": func(s *TeamSpec) { s.MemoryLimit = resource.MustParse("4e9") },
	} {
		s := DefaultTeamSpec("team-a", "team-a")
		edit(&s)
		var fe *FieldError
		if err := s.Validate(); !errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Reason, "binary units") {
			t.Errorf("Validate with a decimal --%s = %v", field, err)
		}
	}
}

func TestPrometheusVersion(t *testing.T) {
	for in, want := range map[string]string{"v3.5.0": "v3.5.0", "3.11.1": "v3.11.1", "v2.45.0": "v2.45.0", "v3.0.0-rc.1": "v3.0.0-rc.1"} {
		if got, err := ParsePrometheusVersion(in); err != nil || got != want {
			t.Errorf("ParsePrometheusVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"latest": "such as v3.5.0", "v2.44.9": "v2.45.0 or later", "v1.8.0": "v2.45.0 or later",
		"v4.0.0": "unknown major version 4", "v9.9.9": "use a v3 release", "99999999999999999999.0.0": "such as v3.5.0",
	} {
		if _, err := ParsePrometheusVersion(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePrometheusVersion(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestPrometheus2RefusesWhatNeedsPrometheus3(t *testing.T) {
	s := DefaultTeamSpec("team-a", "team-a")
	s.PrometheusVersion = "v2.45.0"
	var fe *FieldError
	if err := s.Validate(); !errors.As(err, &fe) || fe.Field != "prometheus-version" ||
		!strings.Contains(fe.Reason, "GOMEMLIMIT") || !strings.Contains(fe.Reason, "--memory-limit 0") || !strings.Contains(fe.Reason, "v3.0.0") {
		t.Errorf("Prometheus 2 with the default memory limit = %v", err)
	}
	s.MemoryLimit = resource.Quantity{}
	if _, err := Build(s); err != nil {
		t.Errorf("Prometheus 2 without a memory limit: %v", err)
	}
	s.PrometheusVersion = "v3.0.0"
	s.MemoryLimit = resource.MustParse("2Gi")
	if err := s.Validate(); err != nil {
		t.Errorf("Prometheus 3 with a memory limit: %v", err)
	}
	s.PrometheusVersion = "v4.0.0"
	if err := s.Validate(); !errors.As(err, &fe) || fe.Field != "prometheus-version" {
		t.Errorf("Prometheus 4 set directly = %v", err)
	}
}
