package manifests

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The Parse and Validate functions check one value each. Their errors say what is accepted,
// in words meant for the person who typed the value; callers add which flag it was.

// durationPattern is the pattern of the operator's Duration type (the CRD rejects anything else).
var durationPattern = regexp.MustCompile(`^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$`)

// ParseDuration accepts a positive Prometheus duration such as 30s, 15d or 1w2d. Prometheus reads
// durations into 64 bits of nanoseconds, so anything from 293 years on is refused.
func ParseDuration(s string) (monitoringv1.Duration, error) {
	if s == "" || !durationPattern.MatchString(s) {
		return "", errors.New("use a Prometheus duration such as 30s, 12h, 15d or 1w2d")
	}
	if strings.Trim(s, "0ywdhms") == "" {
		return "", errors.New("use a duration longer than zero, such as 30s, 12h or 15d")
	}
	if _, err := model.ParseDuration(s); err != nil {
		return "", errors.New("use a duration Prometheus can hold, below 292y")
	}
	return monitoringv1.Duration(s), nil
}

// MinInterval is the shortest scrape or evaluation interval a stack accepts: Prometheus would
// take a shorter one, and spend its time scraping and evaluating.
const MinInterval = time.Second

// ParseInterval accepts a scrape or evaluation interval: a Prometheus duration of at least
// [MinInterval].
func ParseInterval(s string) (monitoringv1.Duration, error) {
	d, err := ParseDuration(s)
	if err != nil {
		return "", err
	}
	if v, _ := model.ParseDuration(s); time.Duration(v) < MinInterval {
		return "", fmt.Errorf("use %s or more, such as 15s or 30s", MinInterval)
	}
	return d, nil
}

// maxQuantity is the largest value a Kubernetes quantity holds: an int64 of its base unit (bytes,
// or millicores for CPU, where the API server keeps the milli value).
const maxQuantity = math.MaxInt64

// fits reports whether q, scaled to the unit Kubernetes stores (1 or 1000 for millicores), fits
// in an int64 instead of being silently clamped to the largest one.
func fits(q resource.Quantity, scale float64) bool {
	return q.AsApproximateFloat64()*scale < maxQuantity
}

// ByteSize is a size in bytes, printed the way the operator's ByteSize type and Prometheus'
// --storage.tsdb.retention.size accept it (16GiB, never the Kubernetes quantity 16Gi).
type ByteSize struct{ bytes int64 }

// IsZero reports whether no size is set.
func (b ByteSize) IsZero() bool { return b.bytes == 0 }

// Bytes is the size in bytes.
func (b ByteSize) Bytes() int64 { return b.bytes }

// String prints the size in the largest binary unit that holds it exactly (16GiB, 819MiB).
func (b ByteSize) String() string {
	units := []string{"EiB", "PiB", "TiB", "GiB", "MiB", "KiB"}
	for i, u := range units {
		div := int64(1) << (10 * (len(units) - i))
		if b.bytes >= div && b.bytes%div == 0 {
			return strconv.FormatInt(b.bytes/div, 10) + u
		}
	}
	return strconv.FormatInt(b.bytes, 10) + "B"
}

var byteSizePattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei)B?$`)

// ParseByteSize accepts a binary size with or without the B, 16Gi or 16GiB alike.
func ParseByteSize(s string) (ByteSize, error) {
	m := byteSizePattern.FindStringSubmatch(s)
	if m == nil {
		return ByteSize{}, errors.New("use a binary size such as 16Gi or 16GiB (Ki, Mi, Gi, Ti)")
	}
	q, err := resource.ParseQuantity(m[1] + m[2])
	if err != nil || q.Sign() <= 0 {
		return ByteSize{}, errors.New("use a size above zero, such as 16Gi or 16GiB")
	}
	if !fits(q, 1) {
		return ByteSize{}, errTooLarge
	}
	return ByteSize{bytes: q.Value()}, nil
}

// DefaultRetentionSize is the retention size for a volume: 80% of it, rounded down to MiB.
func DefaultRetentionSize(storage resource.Quantity) ByteSize {
	const mib = 1 << 20
	b := int64(math.Floor(float64(storage.Value()) * retentionShare))
	return ByteSize{bytes: b / mib * mib}
}

// ParseStorage accepts a volume size in binary units (20Gi), or 0 for no volume.
func ParseStorage(s string) (resource.Quantity, error) {
	q, err := parseBinarySize(s, true)
	if err != nil {
		return resource.Quantity{}, sizeError(s, err, "use a size such as 20Gi or 100Gi, or 0 for no volume")
	}
	if !fits(q, 1) {
		return resource.Quantity{}, errTooLarge
	}
	return q, nil
}

// ParseCPU accepts a CPU quantity such as 100m or 2.
func ParseCPU(s string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() <= 0 {
		return resource.Quantity{}, errors.New("use a positive CPU quantity such as 100m, 500m or 2")
	}
	if !fits(q, 1000) {
		return resource.Quantity{}, errors.New("too large for Kubernetes, which keeps CPU in 64-bit millicores; use a CPU quantity such as 500m or 2")
	}
	return q, nil
}

// ParseMemory accepts a positive memory size in binary units such as 512Mi or 2Gi; allowZero
// also accepts 0.
func ParseMemory(s string, allowZero bool) (resource.Quantity, error) {
	q, err := parseBinarySize(s, allowZero)
	if err != nil {
		if allowZero {
			return resource.Quantity{}, sizeError(s, err, "use a memory size such as 2Gi or 4Gi, or 0 for no limit")
		}
		return resource.Quantity{}, sizeError(s, err, "use a positive memory size such as 512Mi or 2Gi")
	}
	if !fits(q, 1) {
		return resource.Quantity{}, errTooLarge
	}
	return q, nil
}

// binarySizePattern is a size in the binary units the stack takes for volumes and memory.
var binarySizePattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei)$`)

// decimalSizePattern is a size with a decimal SI suffix, or a milli one, which a person
// typing 20G or 512m for memory rarely means: 20G is 7% less than 20Gi, 512m half a byte.
var decimalSizePattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)([kMGTPEm])$`)

// errNotBinary is a size Kubernetes reads, but not in binary units.
type errNotBinary struct{ fix string }

func (e errNotBinary) Error() string {
	if e.fix != "" {
		return "use " + e.fix + "; sizes take binary units (Ki, Mi, Gi, Ti), not decimal ones (k, M, G, T) or exponents"
	}
	return "use binary units (Ki, Mi, Gi, Ti), such as 512Mi or 20Gi; a plain number, decimal units (k, M, G, T) and exponents are not accepted"
}

// parseBinarySize accepts a positive size in binary units (1.5Gi, 512Mi), or zero when allowZero.
// Decimal SI units, exponents and plain byte counts are refused with errNotBinary, even though
// Kubernetes reads them: --retention-size refuses them too, and the mix hides mistakes.
func parseBinarySize(s string, allowZero bool) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() < 0 {
		return resource.Quantity{}, errors.New("not a size")
	}
	if q.IsZero() {
		if !allowZero {
			return resource.Quantity{}, errors.New("zero")
		}
		return resource.Quantity{}, nil
	}
	if binarySizePattern.MatchString(s) {
		return q, nil
	}
	if m := decimalSizePattern.FindStringSubmatch(s); m != nil {
		unit := strings.ToUpper(m[2])
		if m[2] == "m" {
			unit = "M"
		}
		return resource.Quantity{}, errNotBinary{fix: m[1] + unit + "i"}
	}
	return resource.Quantity{}, errNotBinary{}
}

// sizeError is the error of a size parseBinarySize refused: its own when the size is a quantity
// in other units, else what the flag accepts.
func sizeError(s string, err error, accepted string) error {
	var nb errNotBinary
	if errors.As(err, &nb) {
		return nb
	}
	return errors.New(accepted)
}

// validateBinarySize re-checks a size set directly on a TeamSpec: zero, or in binary units.
func validateBinarySize(q resource.Quantity) error {
	if q.IsZero() || q.Format == resource.BinarySI {
		return nil
	}
	return errNotBinary{}
}

// errTooLarge is a size beyond what Kubernetes holds (8Ei).
var errTooLarge = errors.New("too large for Kubernetes, which keeps sizes in 64 bits (below 8Ei); use a size such as 2Gi or 100Gi")

// ValidateTeamName checks that a team name can name every object of its stack. The operator
// names the StatefulSet prometheus-<team>[-shard-<n>], and Kubernetes puts that name plus a
// ten-character hash into a 63-character label on every pod, which caps the length.
func ValidateTeamName(team string, shards int32) error {
	if max := maxTeamNameLength(shards); len(team) > max {
		return fmt.Errorf("use at most %d characters (the operator's pod labels must fit 63)", max)
	}
	if errs := validation.IsDNS1035Label(team); len(errs) > 0 {
		return errors.New("use lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, such as team-a")
	}
	return nil
}

func maxTeamNameLength(shards int32) int {
	const labelMax, hash = validation.DNS1123LabelMaxLength, len("-0123456789")
	suffix := 0
	if shards > 1 {
		suffix = len("-shard-") + len(strconv.Itoa(int(shards-1)))
	}
	return labelMax - len("prometheus-") - suffix - hash
}

// ValidateNamespace checks a namespace name.
func ValidateNamespace(ns string) error {
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return errors.New("use a namespace name: lower-case letters, digits and '-', at most 63 characters")
	}
	return nil
}

// ValidateStorageClass checks a StorageClass name.
func ValidateStorageClass(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return errors.New("use a StorageClass name: lower-case letters, digits, '-' and '.'")
	}
	return nil
}

var versionPattern = regexp.MustCompile(`^v?([0-9]+)\.([0-9]+)\.([0-9]+)(-[0-9A-Za-z.-]+)?$`)

// ParsePrometheusVersion accepts a Prometheus release such as v3.5.0 or 3.5.0 and returns it with
// the leading v the operator's image tags use.
func ParsePrometheusVersion(s string) (string, error) {
	if err := ValidatePrometheusVersion(s); err != nil {
		return "", err
	}
	return "v" + strings.TrimPrefix(s, "v"), nil
}

// Prometheus majors the stack knows: 2 from 2.45 (the operator's oldest supported release), and
// 3, which it is written for.
const (
	minPrometheusMajor = 2
	minPrometheusMinor = 45
	maxPrometheusMajor = 3
)

// ValidatePrometheusVersion accepts Prometheus 2.45 and later releases of 2 and 3. A later major
// is refused: nobody can tell which of the stack's fields it still reads.
func ValidatePrometheusVersion(s string) error {
	major, minor, ok := prometheusVersion(s)
	switch {
	case !ok:
		return errors.New("use a Prometheus release such as v3.5.0")
	case major < minPrometheusMajor || (major == minPrometheusMajor && minor < minPrometheusMinor):
		return errors.New("use Prometheus v2.45.0 or later, such as v3.5.0")
	case major > maxPrometheusMajor:
		return fmt.Errorf("unknown major version %d: the stack is written for Prometheus 3; use a v3 release such as v3.5.0, or a kubectl-promteam that knows Prometheus %d", major, major)
	}
	return nil
}

// prometheusVersion is the major and minor of a release such as v3.5.0.
func prometheusVersion(s string) (major, minor int, ok bool) {
	m := versionPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	return major, minor, err1 == nil && err2 == nil
}

// ParseRemoteWriteURL accepts an http or https URL with a host and no credentials.
func ParseRemoteWriteURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", errors.New("use an http or https URL such as https://metrics.example.com/api/v1/write")
	}
	if u.User != nil {
		return "", errors.New("put credentials in a Secret, not in the URL")
	}
	for name := range u.Query() {
		if isCredentialParam(name) {
			return "", fmt.Errorf("put credentials in a Secret, not in the URL's query (%s=…): Prometheus sends the URL with every request and shows it in its configuration", name)
		}
	}
	if u.Fragment != "" {
		return "", errors.New("remove the #fragment: Prometheus does not send it")
	}
	return s, nil
}

// credentialParams are query parameter names that carry secrets in the wild, and
// credentialSuffixes the endings of such names written as one word (apikey, accesstoken).
var (
	credentialParams   = []string{"auth", "credential", "credentials", "key", "passwd", "password", "pwd", "secret", "session", "sig", "signature", "token"}
	credentialSuffixes = []string{"key", "password", "secret", "token"}
)

// isCredentialParam reports whether a query parameter named name likely carries a secret
// (token, access_token, apiKey, X-Amz-Signature).
func isCredentialParam(name string) bool {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	for _, w := range words {
		if slices.Contains(credentialParams, w) {
			return true
		}
		for _, suffix := range credentialSuffixes {
			if strings.HasSuffix(w, suffix) {
				return true
			}
		}
	}
	return false
}

var labelNamePattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// ShardExternalLabel tells the shards of a sharded Prometheus apart: the stack sets it to the
// shard's number when --shards is above 1.
const ShardExternalLabel = "prometheus_shard"

// reservedExternalLabels are set by the operator (prometheus, prometheus_replica) or by the stack
// (team, prometheus_shard) and cannot be overridden with --external-label.
var reservedExternalLabels = []string{"prometheus", "prometheus_replica", "team", ShardExternalLabel}

// ParseLabelPair accepts name=value for an external label.
func ParseLabelPair(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return "", "", errors.New("use name=value, such as cluster=prod-eu")
	case !labelNamePattern.MatchString(name) || strings.HasPrefix(name, "__"):
		return "", "", errors.New("the name must be a Prometheus label name: letters, digits and '_', not starting with a digit or '__'")
	case value == "":
		return "", "", errors.New("give the label a value, such as cluster=prod-eu")
	}
	for _, r := range reservedExternalLabels {
		if name == r {
			return "", "", fmt.Errorf("%q is set by the stack itself; choose another name", name)
		}
	}
	return name, value, nil
}

// ParseSLO accepts an availability objective in percent: 99.9 or 99.9%.
func ParseSLO(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("use a percentage such as 99.9 or 99.5")
	}
	return v, ValidateSLO(v)
}

// minSLO is the lowest objective whose fastest burn-rate tier can fire: that tier alerts when the
// error ratio exceeds 14.4 times the error budget, which must stay below 100%.
var minSLO = 100 * (1 - 1/burnTiers[0].factor)

// ValidateSLO checks that an objective leaves an error budget every burn-rate tier can use.
func ValidateSLO(v float64) error {
	if v >= 100 || v <= minSLO || v != math.Round(v*1000)/1000 {
		return fmt.Errorf("use a percentage above %.2f and below 100 with at most three decimals, such as 99.9 (the fastest burn-rate alert fires at %g times the error budget)",
			minSLO, burnTiers[0].factor)
	}
	return nil
}

// ParseSelector accepts a label selector in kubectl's syntax: app=envoy,tier in (edge,internal).
func ParseSelector(s string) (*metav1.LabelSelector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("use a label selector such as app=envoy or app.kubernetes.io/name=envoy,tier=edge")
	}
	sel, err := metav1.ParseToLabelSelector(s)
	if err != nil {
		return nil, fmt.Errorf("use a label selector such as app=envoy: %v", firstLine(err.Error()))
	}
	// A LabelSelector keeps one value per key in matchLabels: app=envoy,app=evil would select
	// app=evil, not nothing.
	parsed, _ := labels.Parse(s)
	reqs, _ := parsed.Requirements()
	seen := map[string]bool{}
	for _, r := range reqs {
		if op := r.Operator(); op != selection.Equals && op != selection.DoubleEquals {
			continue
		}
		if seen[r.Key()] {
			return nil, fmt.Errorf("%q is given twice; a selector holds one value per key (for either value use %s in (a,b))", r.Key(), r.Key())
		}
		seen[r.Key()] = true
	}
	return sel, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
