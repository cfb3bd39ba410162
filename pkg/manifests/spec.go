// Package manifests turns a validated TeamSpec into the typed Kubernetes and Prometheus Operator
// objects of one team's monitoring stack, and encodes them as YAML or JSON. It does no I/O
// beyond the io.Writer it is handed and knows nothing of clusters or clients.
package manifests

import (
	"fmt"
	"slices"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TeamSpec is everything `kubectl promteam create` needs to know, already parsed. Build it with
// DefaultTeamSpec and the Parse functions, then call Validate (Build does too).
type TeamSpec struct {
	Team      string // DNS-1123 label; names the Prometheus and prefixes every other object
	Namespace string // where the stack lives

	Presets        []Preset              // Envoy scrape presets, canonical order, no duplicates
	EnvoySelector  *metav1.LabelSelector // overrides the presets' pod or Service selector
	EnvoyNamespace string                // Envoy runs here instead of Namespace
	ClusterScope   bool                  // the Prometheus may discover targets in every namespace

	Retention           monitoringv1.Duration
	RetentionSize       ByteSize // zero: 80% of Storage
	Storage             resource.Quantity
	StorageClass        string
	Replicas            int32
	Shards              int32
	CPU                 resource.Quantity // request
	Memory              resource.Quantity // request
	MemoryLimit         resource.Quantity // zero: no limit
	ScrapeInterval      monitoringv1.Duration
	EnvoyScrapeInterval monitoringv1.Duration
	EvaluationInterval  monitoringv1.Duration
	RemoteWrite         []string
	RemoteWriteTenant   string          // sent as X-Scope-OrgID with every remote write; "" for none
	RemoteWriteAuth     RemoteWriteAuth // credentials of every remote write
	ExternalLabels      map[string]string
	PrometheusVersion   string
	TargetLimit         int64 // enforcedTargetLimit: targets per monitor (one per Envoy pod); 0: no limit
	SampleLimit         int64 // enforcedSampleLimit: samples per scrape after relabelling; 0: no limit

	SLO              float64 // availability objective in percent, e.g. 99.9; 0 means none
	Alerts           bool
	Alerting         Alerting // where the alerts go; the zero value sends them nowhere
	RunbookURL       string   // every alert's runbook_url; "" is DefaultRunbookURL
	GrafanaDashboard bool
	NetworkPolicy    bool
	// NativeHistograms has the Envoy monitors scrape native histograms (protobuf first,
	// scrapeNativeHistograms) and keep the classic buckets beside them (scrapeClassicHistograms),
	// which the recording rules read. Prometheus v3.8.0 and later.
	NativeHistograms bool

	Thanos Thanos // the Thanos sidecars and the team's Thanos Query; the zero value runs none
}

// Defaults, following what a team Prometheus should run with rather than the operator's own
// defaults (24h retention, emptyDir storage, the namespace's default ServiceAccount).
const (
	DefaultRetention           = "15d"
	DefaultStorage             = "20Gi"
	DefaultReplicas            = 2
	DefaultShards              = 1
	DefaultCPU                 = "100m"
	DefaultMemory              = "512Mi"
	DefaultMemoryLimit         = "2Gi"
	DefaultScrapeInterval      = "30s"
	DefaultEnvoyScrapeInterval = "15s"
	DefaultEvaluationInterval  = "30s"
	DefaultPrometheusVersion   = "v3.5.0"
	// DefaultTargetLimit and DefaultSampleLimit keep one noisy Envoy, or a selector that matches
	// far more pods than meant, from taking the whole Prometheus down.
	DefaultTargetLimit = 200
	DefaultSampleLimit = 200000
	// DefaultIstioTargetLimit is the target limit with the istio preset, whose monitor finds a
	// target per sidecar: 1,000 sidecars of a few hundred series each are about the 500,000 series
	// one Prometheus holds at the default memory limit.
	DefaultIstioTargetLimit = 1000

	// retentionShare is the part of the volume retentionSize may fill; the rest is headroom for
	// the WAL and compaction.
	retentionShare = 0.8
)

// DefaultTeamSpec is the stack a team gets when it passes no flags.
func DefaultTeamSpec(team, namespace string) TeamSpec {
	return TeamSpec{
		Team:                team,
		Namespace:           namespace,
		Presets:             []Preset{PresetEnvoy},
		Retention:           DefaultRetention,
		Storage:             resource.MustParse(DefaultStorage),
		Replicas:            DefaultReplicas,
		Shards:              DefaultShards,
		CPU:                 resource.MustParse(DefaultCPU),
		Memory:              resource.MustParse(DefaultMemory),
		MemoryLimit:         resource.MustParse(DefaultMemoryLimit),
		ScrapeInterval:      DefaultScrapeInterval,
		EnvoyScrapeInterval: DefaultEnvoyScrapeInterval,
		EvaluationInterval:  DefaultEvaluationInterval,
		PrometheusVersion:   DefaultPrometheusVersion,
		TargetLimit:         DefaultTargetLimit,
		SampleLimit:         DefaultSampleLimit,
		Alerts:              true,
		Alerting:            Alerting{AlertmanagerVersion: DefaultAlertmanagerVersion},
		Thanos:              Thanos{Version: DefaultThanosVersion, QueryReplicas: DefaultThanosQueryReplicas},
	}
}

// FieldError is a TeamSpec value that cannot make a working stack. Field is the name of the
// create flag that sets it, without dashes ("" for the team name argument).
type FieldError struct {
	Field  string
	Value  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("invalid team name %q: %s", e.Value, e.Reason)
	}
	return fmt.Sprintf("invalid --%s %q: %s", e.Field, e.Value, e.Reason)
}

// maxRuleScrapeInterval is the longest Envoy scrape interval the 5m recording rules tolerate:
// rate() wants at least four samples in its window.
const maxRuleScrapeInterval = 75 * time.Second

// Validate checks what single flags cannot: values that contradict each other. Single values are
// checked by the Parse functions; Validate re-checks the ones a caller may have set directly.
func (s TeamSpec) Validate() error {
	if err := ValidateTeamName(s.Team, s.Shards); err != nil {
		return &FieldError{Value: s.Team, Reason: err.Error()}
	}
	if err := ValidateNamespace(s.Namespace); err != nil {
		return &FieldError{Field: "namespace", Value: s.Namespace, Reason: err.Error()}
	}
	if len(s.Presets) == 0 {
		return &FieldError{Field: "envoy", Value: "", Reason: "name at least one preset, or none: " + PresetNames()}
	}
	none := slices.Contains(s.Presets, PresetNone)
	if none && len(s.Presets) > 1 {
		return &FieldError{Field: "envoy", Value: "none", Reason: "none cannot be combined with other presets"}
	}
	for _, d := range []struct {
		field string
		value monitoringv1.Duration
		parse func(string) (monitoringv1.Duration, error)
	}{
		{"retention", s.Retention, ParseDuration},
		{"scrape-interval", s.ScrapeInterval, ParseInterval},
		{"envoy-scrape-interval", s.EnvoyScrapeInterval, ParseInterval},
		{"evaluation-interval", s.EvaluationInterval, ParseInterval},
	} {
		if _, err := d.parse(string(d.value)); err != nil {
			return &FieldError{Field: d.field, Value: string(d.value), Reason: err.Error()}
		}
	}
	if limit, reason, ok := s.maxEvaluationInterval(); ok {
		if d, _ := model.ParseDuration(string(s.EvaluationInterval)); time.Duration(d) > limit {
			return &FieldError{Field: "evaluation-interval", Value: string(s.EvaluationInterval),
				Reason: fmt.Sprintf("longer than %s; use %s or less", reason, model.Duration(limit))}
		}
	}
	if !none {
		if d, _ := model.ParseDuration(string(s.EnvoyScrapeInterval)); time.Duration(d) > maxRuleScrapeInterval {
			return &FieldError{Field: "envoy-scrape-interval", Value: string(s.EnvoyScrapeInterval),
				Reason: "the 5m recording rules need at least four samples per window; use 75s or less"}
		}
	}
	if s.Replicas < 1 {
		return &FieldError{Field: "replicas", Value: fmt.Sprint(s.Replicas), Reason: "use 1 or more"}
	}
	if s.Shards < 1 {
		return &FieldError{Field: "shards", Value: fmt.Sprint(s.Shards), Reason: "use 1 or more"}
	}
	for _, q := range []struct {
		field string
		value resource.Quantity
	}{{"storage", s.Storage}, {"memory", s.Memory}, {"memory-limit", s.MemoryLimit}} {
		if err := validateBinarySize(q.value); err != nil {
			return &FieldError{Field: q.field, Value: q.value.String(), Reason: err.Error()}
		}
	}
	for _, l := range []struct {
		field   string
		value   int64
		example int64
	}{{"target-limit", s.TargetLimit, DefaultTargetLimit}, {"sample-limit", s.SampleLimit, DefaultSampleLimit}} {
		if l.value < 0 {
			return &FieldError{Field: l.field, Value: fmt.Sprint(l.value), Reason: fmt.Sprintf("use a positive number such as %d, or 0 for no limit", l.example)}
		}
	}
	if !s.Storage.IsZero() && s.Storage.Cmp(minStorage) < 0 {
		return &FieldError{Field: "storage", Value: s.Storage.String(), Reason: "use at least 1Gi, or 0 for an emptyDir volume that loses data on restart"}
	}
	if !s.RetentionSize.IsZero() && !s.Storage.IsZero() && s.RetentionSize.Bytes() > s.Storage.Value() {
		return &FieldError{Field: "retention-size", Value: s.RetentionSize.String(),
			Reason: fmt.Sprintf("larger than --storage %s; Prometheus would fill the volume before deleting old data (use at most %s)",
				s.Storage.String(), DefaultRetentionSize(s.Storage))}
	}
	if s.StorageClass != "" && s.Storage.IsZero() {
		return &FieldError{Field: "storage-class", Value: s.StorageClass, Reason: "needs a volume: drop --storage=0 or --storage-class"}
	}
	if s.StorageClass != "" {
		if err := ValidateStorageClass(s.StorageClass); err != nil {
			return &FieldError{Field: "storage-class", Value: s.StorageClass, Reason: err.Error()}
		}
	}
	for _, q := range []struct {
		field string
		value resource.Quantity
		scale float64
	}{{"cpu", s.CPU, 1000}, {"memory", s.Memory, 1}} {
		if q.value.Sign() <= 0 {
			return &FieldError{Field: q.field, Value: q.value.String(), Reason: "use a positive quantity"}
		}
		if !fits(q.value, q.scale) {
			return &FieldError{Field: q.field, Value: q.value.String(), Reason: "too large for Kubernetes, which keeps quantities in 64 bits"}
		}
	}
	for _, q := range []struct {
		field string
		value resource.Quantity
	}{{"memory-limit", s.MemoryLimit}, {"storage", s.Storage}} {
		if !fits(q.value, 1) {
			return &FieldError{Field: q.field, Value: q.value.String(), Reason: errTooLarge.Error()}
		}
	}
	if !s.MemoryLimit.IsZero() && s.MemoryLimit.Cmp(s.Memory) < 0 {
		return &FieldError{Field: "memory-limit", Value: s.MemoryLimit.String(),
			Reason: fmt.Sprintf("below the --memory request %s; use at least the request, or 0 for no limit", s.Memory.String())}
	}
	if err := ValidatePrometheusVersion(s.PrometheusVersion); err != nil {
		return &FieldError{Field: "prometheus-version", Value: s.PrometheusVersion, Reason: err.Error()}
	}
	if err := s.validateForPrometheus2(); err != nil {
		return err
	}
	if err := s.validateNativeHistograms(); err != nil {
		return err
	}
	if err := s.validateRemoteWrite(); err != nil {
		return err
	}
	if err := s.validateThanos(); err != nil {
		return err
	}
	if s.Shards > 1 && !s.Thanos.Enabled && len(s.RemoteWrite) == 0 {
		return &FieldError{Field: "shards", Value: fmt.Sprint(s.Shards),
			Reason: "each shard scrapes only part of the targets, so top, compare and the rules would each see a fraction of the traffic; add --thanos for a Thanos Query that merges the shards, or --remote-write to a store that does"}
	}
	for k, v := range s.ExternalLabels {
		if _, _, err := ParseLabelPair(k + "=" + v); err != nil {
			return &FieldError{Field: "external-label", Value: k + "=" + v, Reason: err.Error()}
		}
	}
	if s.EnvoyNamespace != "" {
		if err := ValidateNamespace(s.EnvoyNamespace); err != nil {
			return &FieldError{Field: "envoy-namespace", Value: s.EnvoyNamespace, Reason: err.Error()}
		}
		if s.ClusterScope {
			return &FieldError{Field: "envoy-namespace", Value: s.EnvoyNamespace, Reason: "--cluster-scope already covers every namespace; use one of the two"}
		}
	}
	if none {
		switch {
		case s.EnvoySelector != nil:
			return &FieldError{Field: "envoy-selector", Value: metav1.FormatLabelSelector(s.EnvoySelector), Reason: "selects Envoy pods, but --envoy=none scrapes no Envoy"}
		case s.EnvoyNamespace != "":
			return &FieldError{Field: "envoy-namespace", Value: s.EnvoyNamespace, Reason: "--envoy=none scrapes no Envoy"}
		case s.SLO != 0:
			return &FieldError{Field: "slo", Value: formatSLO(s.SLO), Reason: "the SLO is measured on Envoy traffic, but --envoy=none scrapes no Envoy"}
		case s.GrafanaDashboard:
			return &FieldError{Field: "grafana-dashboard", Value: "true", Reason: "the dashboard shows Envoy traffic, but --envoy=none scrapes no Envoy"}
		}
	}
	if s.SLO != 0 {
		if err := ValidateSLO(s.SLO); err != nil {
			return &FieldError{Field: "slo", Value: formatSLO(s.SLO), Reason: err.Error()}
		}
		if !s.Alerts {
			return &FieldError{Field: "slo", Value: formatSLO(s.SLO), Reason: "adds burn-rate alerts, but --no-alerts turns alerts off; drop one of the two"}
		}
	}
	return s.validateAlerting()
}

var minStorage = resource.MustParse("1Gi")

// Prometheus scrapes native histograms from the monitors' scrapeNativeHistograms from v3.8.0 on.
const (
	nativeHistogramsMajor = 3
	nativeHistogramsMinor = 8
)

// validateNativeHistograms refuses --native-histograms where it would do nothing: without an
// Envoy monitor, or on a Prometheus older than v3.8.0, which the operator does not configure it on.
func (s TeamSpec) validateNativeHistograms() error {
	if !s.NativeHistograms {
		return nil
	}
	if s.noEnvoy() {
		return &FieldError{Field: "native-histograms", Value: "true", Reason: "--envoy=none scrapes no Envoy"}
	}
	major, minor, _ := prometheusVersion(s.PrometheusVersion)
	if major < nativeHistogramsMajor || (major == nativeHistogramsMajor && minor < nativeHistogramsMinor) {
		return &FieldError{Field: "native-histograms", Value: "true",
			Reason: fmt.Sprintf("Prometheus %s does not scrape native histograms from a monitor; add --prometheus-version v3.8.0 or later", s.PrometheusVersion)}
	}
	return nil
}

// validateForPrometheus2 refuses the fields of the stack that only work as meant on Prometheus 3.
// The memory limit is one: Prometheus 3 sets GOMEMLIMIT from it, Prometheus 2 (without the
// auto-gomemlimit feature flag the stack does not set) runs into it and is OOM-killed. The
// monitors' fallbackScrapeProtocol is not: the operator leaves it out for Prometheus 2, which
// reads Envoy's text/plain answers without it.
func (s TeamSpec) validateForPrometheus2() error {
	if major, _, _ := prometheusVersion(s.PrometheusVersion); major != 2 {
		return nil
	}
	if !s.MemoryLimit.IsZero() {
		return &FieldError{Field: "prometheus-version", Value: s.PrometheusVersion,
			Reason: fmt.Sprintf("Prometheus 2 does not set GOMEMLIMIT from --memory-limit %s and would be OOM-killed at it; use v3.0.0 or later, or --memory-limit 0", s.MemoryLimit.String())}
	}
	return nil
}

func firstDuplicate(ss []string) string {
	seen := map[string]bool{}
	for _, s := range ss {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

// retentionSize is the ByteSize the Prometheus gets: the one asked for, or a share of the volume.
func (s TeamSpec) retentionSize() ByteSize {
	if !s.RetentionSize.IsZero() || s.Storage.IsZero() {
		return s.RetentionSize
	}
	return DefaultRetentionSize(s.Storage)
}

// sources lists where the stack's Envoy request metrics come from.
func (s TeamSpec) sources() []promqlSource {
	var out []promqlSource
	for _, p := range s.Presets {
		if src, ok := presets[p].source(); ok && !slices.Contains(out, src) {
			out = append(out, src)
		}
	}
	return out
}

func formatSLO(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}
