package manifests

import (
	"errors"
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
)

// TenantHeader is the header that names the tenant of a multi-tenant store: Mimir, Cortex, Loki
// and Thanos Receive (with --receive.tenant-header=X-Scope-OrgID) all read it.
const TenantHeader = "X-Scope-OrgID"

// RemoteWriteAuth is how the remote writes authenticate; the zero value sends no credentials.
// Credentials are referenced in Secrets of the team's namespace, never inlined.
type RemoteWriteAuth struct {
	// BasicAuth is a Secret with keys username and password.
	BasicAuth string
	// Bearer is a Secret key holding a bearer token, sent as Authorization: Bearer.
	Bearer SecretRef
}

// The keys of a --remote-write-basic-auth Secret.
const (
	BasicAuthUsernameKey = "username"
	BasicAuthPasswordKey = "password"
)

// The queue of every remote write, sized for one team's Prometheus rather than for Prometheus'
// defaults (50 shards), which are sized for a central one:
//   - maxSamplesPerSend 2000 is the batch Mimir, Cortex and Thanos Receive are tuned for;
//   - capacity 10000 buffers five batches per shard, so a shard has the next batch ready while
//     one is in flight, and bounds the memory of a remote write to maxShards x capacity =
//     100,000 samples (a few MiB);
//   - maxShards 10: a shard delivers a batch per round trip, 20,000 samples/s at 100ms, so ten
//     carry 200,000 samples/s, several times what a team Prometheus ingests at the default
//     --sample-limit, and bound the connections each replica opens to a store other teams
//     share (50 shards of every replica of every team catching up after an outage are what
//     trips a shared store's per-tenant limits);
//   - minShards 1: a quiet team holds one connection;
//   - batchSendDeadline 5s: a quiet team's samples still leave within 5s;
//   - minBackoff 100ms and maxBackoff 10s, with retryOnRateLimit: a store that answers 429
//     (a tenant over its ingestion limit) is retried, more slowly, instead of losing samples.
const (
	remoteWriteCapacity          = 10000
	remoteWriteMinShards         = 1
	remoteWriteMaxShards         = 10
	remoteWriteMaxSamplesPerSend = 2000
	remoteWriteBatchSendDeadline = monitoringv1.Duration("5s")
	remoteWriteMinBackoff        = monitoringv1.Duration("100ms")
	remoteWriteMaxBackoff        = monitoringv1.Duration("10s")
)

// maxTenantLength is the longest tenant ID Mimir and Cortex accept.
const maxTenantLength = 150

// ParseTenant accepts a tenant ID as Mimir and Cortex do: at most 150 of the characters
// a-z A-Z 0-9 ! - _ . * ' ( ), and neither "." nor "..". Thanos Receive accepts those too.
func ParseTenant(s string) (string, error) {
	const example = "use letters, digits and ! - _ . * ' ( ), such as team-a"
	switch {
	case s == "":
		return "", errors.New("name the tenant, " + example[4:])
	case len(s) > maxTenantLength:
		return "", fmt.Errorf("longer than %d characters, which Mimir and Cortex refuse", maxTenantLength)
	case s == "." || s == "..":
		return "", errors.New("not a tenant ID; " + example)
	}
	for _, r := range s {
		if !isTenantRune(r) {
			return "", fmt.Errorf("%q is not allowed in a tenant ID; %s", r, example)
		}
	}
	return s, nil
}

func isTenantRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!-_.*'()", r)
}

// ParseBasicAuthSecret accepts the name of a Secret with keys username and password.
func ParseBasicAuthSecret(s string) (string, error) {
	if strings.Contains(s, "/") {
		return "", fmt.Errorf("name only the Secret, such as remote-write-auth: it holds the keys %s and %s", BasicAuthUsernameKey, BasicAuthPasswordKey)
	}
	if s == "" {
		return "", errors.New("name a Secret with the keys username and password, such as remote-write-auth")
	}
	if errs := validation.IsDNS1123Subdomain(s); len(errs) > 0 {
		return "", fmt.Errorf("secret name %q: %s", s, errs[0])
	}
	return s, nil
}

// ParseBearerSecret accepts SECRET/KEY naming the Secret key that holds a bearer token.
func ParseBearerSecret(s string) (SecretRef, error) {
	return parseSecretRef(s, "remote-write-token/token")
}

// validateRemoteWrite checks the remote-write fields: a tenant and credentials need a remote
// write, and one kind of credentials at most.
func (s TeamSpec) validateRemoteWrite() error {
	for _, u := range s.RemoteWrite {
		if _, err := ParseRemoteWriteURL(u); err != nil {
			return &FieldError{Field: "remote-write", Value: u, Reason: err.Error()}
		}
	}
	if dup := firstDuplicate(s.RemoteWrite); dup != "" {
		return &FieldError{Field: "remote-write", Value: dup, Reason: "given twice"}
	}
	a := s.RemoteWriteAuth
	for _, f := range []struct{ field, value string }{
		{"remote-write-tenant", s.RemoteWriteTenant}, {"remote-write-basic-auth", a.BasicAuth}, {"remote-write-bearer", bearerText(a.Bearer)},
	} {
		if f.value != "" && len(s.RemoteWrite) == 0 {
			return &FieldError{Field: f.field, Value: f.value, Reason: "only applies with --remote-write; add --remote-write URL"}
		}
	}
	if s.RemoteWriteTenant != "" {
		if _, err := ParseTenant(s.RemoteWriteTenant); err != nil {
			return &FieldError{Field: "remote-write-tenant", Value: s.RemoteWriteTenant, Reason: err.Error()}
		}
	}
	if a.BasicAuth != "" {
		if _, err := ParseBasicAuthSecret(a.BasicAuth); err != nil {
			return &FieldError{Field: "remote-write-basic-auth", Value: a.BasicAuth, Reason: err.Error()}
		}
		if a.Bearer != (SecretRef{}) {
			return &FieldError{Field: "remote-write-bearer", Value: a.Bearer.String(), Reason: "contradicts --remote-write-basic-auth: a remote write sends one kind of credentials; use one of the two"}
		}
	}
	if a.Bearer != (SecretRef{}) {
		if _, err := ParseBearerSecret(a.Bearer.String()); err != nil {
			return &FieldError{Field: "remote-write-bearer", Value: a.Bearer.String(), Reason: err.Error()}
		}
	}
	return nil
}

func bearerText(r SecretRef) string {
	if r == (SecretRef{}) {
		return ""
	}
	return r.String()
}

// remoteWrites are the Prometheus' remote writes: each with the tenant header, the credentials
// from the Secrets, the team-sized queue, and no redirects, which would carry the samples and
// the credentials to wherever the store points.
func (s TeamSpec) remoteWrites() []monitoringv1.RemoteWriteSpec {
	var out []monitoringv1.RemoteWriteSpec
	for _, u := range s.RemoteWrite {
		rw := monitoringv1.RemoteWriteSpec{
			URL:             monitoringv1.URL(u),
			FollowRedirects: ptr.To(false),
			QueueConfig: &monitoringv1.QueueConfig{
				Capacity:          remoteWriteCapacity,
				MinShards:         remoteWriteMinShards,
				MaxShards:         remoteWriteMaxShards,
				MaxSamplesPerSend: remoteWriteMaxSamplesPerSend,
				BatchSendDeadline: ptr.To(remoteWriteBatchSendDeadline),
				MinBackoff:        ptr.To(remoteWriteMinBackoff),
				MaxBackoff:        ptr.To(remoteWriteMaxBackoff),
				RetryOnRateLimit:  true,
			},
		}
		if s.RemoteWriteTenant != "" {
			rw.Headers = map[string]string{TenantHeader: s.RemoteWriteTenant}
		}
		if a := s.RemoteWriteAuth; a.BasicAuth != "" {
			rw.BasicAuth = &monitoringv1.BasicAuth{
				Username: secretKeySelector(a.BasicAuth, BasicAuthUsernameKey),
				Password: secretKeySelector(a.BasicAuth, BasicAuthPasswordKey),
			}
		} else if a.Bearer != (SecretRef{}) {
			rw.Authorization = &monitoringv1.Authorization{SafeAuthorization: monitoringv1.SafeAuthorization{
				Type: "Bearer", Credentials: ptr.To(secretKeySelector(a.Bearer.Name, a.Bearer.Key)),
			}}
		}
		out = append(out, rw)
	}
	return out
}

func secretKeySelector(name, key string) corev1.SecretKeySelector {
	return corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}
}

// remoteWriteSecrets are the Secret keys the remote writes read.
func (s TeamSpec) remoteWriteSecrets() []SecretKey {
	a := s.RemoteWriteAuth
	switch {
	case len(s.RemoteWrite) == 0:
		return nil
	case a.BasicAuth != "":
		return []SecretKey{
			{SecretRef: SecretRef{Name: a.BasicAuth, Key: BasicAuthUsernameKey}, Holds: "the remote-write username"},
			{SecretRef: SecretRef{Name: a.BasicAuth, Key: BasicAuthPasswordKey}, Holds: "the remote-write password"},
		}
	case a.Bearer != (SecretRef{}):
		return []SecretKey{{SecretRef: a.Bearer, Holds: "the remote-write bearer token"}}
	}
	return nil
}

// remoteWriteChoices say where the samples go, as which tenant, with which credentials, and how
// the queue is sized.
func (s TeamSpec) remoteWriteChoices() []string {
	if len(s.RemoteWrite) == 0 {
		return nil
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	tenant := "with no tenant header (--remote-write-tenant): a multi-tenant store files them under its default tenant, or refuses them"
	if s.RemoteWriteTenant != "" {
		tenant = fmt.Sprintf("as tenant %s (header %s: %s)", s.RemoteWriteTenant, TenantHeader, s.RemoteWriteTenant)
	}
	add("Every replica also sends its samples to %s, labelled %s, %s.", strings.Join(s.RemoteWrite, ", "), externalLabelText(s), tenant)
	switch a := s.RemoteWriteAuth; {
	case a.BasicAuth != "":
		add("They authenticate with basic auth from keys %s and %s of Secret %s in namespace %q; the stack references the Secret and never holds its values.",
			BasicAuthUsernameKey, BasicAuthPasswordKey, a.BasicAuth, s.Namespace)
	case a.Bearer != (SecretRef{}):
		add("They authenticate with the bearer token in Secret key %s of namespace %q; the stack references the Secret and never holds its value.", a.Bearer, s.Namespace)
	default:
		add("They send no credentials; add --remote-write-basic-auth SECRET or --remote-write-bearer SECRET/KEY when the store asks for them.")
	}
	add("Each remote write queues at most %d samples per shard in batches of %d, on %d to %d shards (Prometheus' default of 50 is sized for a central Prometheus, not one team's), retries a store that is rate limiting the tenant (429) with a backoff of %s to %s, and follows no redirect, which would take the samples and credentials elsewhere.",
		remoteWriteCapacity, remoteWriteMaxSamplesPerSend, remoteWriteMinShards, remoteWriteMaxShards, remoteWriteMinBackoff, remoteWriteMaxBackoff)
	return out
}
