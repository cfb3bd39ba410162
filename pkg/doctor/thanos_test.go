package doctor

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func thanosProm(shards, replicas int32, objstore bool) *monitoringv1.Prometheus {
	p := &monitoringv1.Prometheus{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Namespace: "ns-a"}}
	p.Spec.Shards, p.Spec.Replicas = ptr.To(shards), ptr.To(replicas)
	p.Spec.Thanos = &monitoringv1.ThanosSpec{}
	if objstore {
		p.Spec.Thanos.ObjectStorageConfig = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "objstore"}, Key: "thanos.yaml"}
	}
	return p
}

// TestExpectedPods names the pods as the operator's StatefulSets do: shard 0 without a suffix.
func TestExpectedPods(t *testing.T) {
	got := ExpectedPods(thanosProm(2, 2, false))
	want := []string{"prometheus-team-a-0", "prometheus-team-a-1", "prometheus-team-a-shard-1-0", "prometheus-team-a-shard-1-1"}
	if !slices.Equal(got, want) {
		t.Errorf("pods %v, want %v", got, want)
	}
	p := thanosProm(1, 1, false)
	p.Spec.Shards, p.Spec.Replicas = nil, nil
	if got := ExpectedPods(p); !slices.Equal(got, []string{"prometheus-team-a-0"}) {
		t.Errorf("defaults: %v", got)
	}
}

// TestEvalSharding fails more than one shard with neither Thanos nor remote write, with a fix.
func TestEvalSharding(t *testing.T) {
	p := thanosProm(3, 1, false)
	if r := evalSharding(p); r.Status != StatusPassed || !strings.Contains(r.Reason, "Thanos") {
		t.Errorf("with Thanos: %+v", r)
	}
	p.Spec.Thanos = nil
	r := evalSharding(p)
	if r.Status != StatusFailed || !strings.Contains(r.Reason, "3 shards and neither Thanos nor remote write") ||
		!strings.Contains(r.Fix, "kubectl promteam create team-a -n ns-a --shards 3 --thanos --apply") {
		t.Errorf("without a query layer: %+v", r)
	}
	p.Spec.RemoteWrite = []monitoringv1.RemoteWriteSpec{{URL: "http://receive/api/v1/receive"}}
	if r := evalSharding(p); r.Status != StatusPassed {
		t.Errorf("with remote write: %+v", r)
	}
	p.Spec.RemoteWrite, p.Spec.Shards = nil, ptr.To(int32(1))
	if r := evalSharding(p); r.Status != StatusPassed {
		t.Errorf("one shard: %+v", r)
	}
}

func sidecar(pod, lastError string) ThanosStore {
	return ThanosStore{Type: "sidecar", Name: "10.0.0.1:10901", LastError: lastError,
		LabelSets: []map[string]string{{"prometheus": "ns-a/team-a", ThanosReplicaLabel: pod}}}
}

// TestEvalThanosStores: every shard × replica pod's sidecar must be known and healthy; a missing
// or unhealthy one is named with its fix.
func TestEvalThanosStores(t *testing.T) {
	p := thanosProm(2, 1, false)
	all := []ThanosStore{sidecar("prometheus-team-a-0", ""), sidecar("prometheus-team-a-shard-1-0", "")}
	if r := evalThanosStores(p, thanosFacts{stores: all}); r.Status != StatusPassed || !strings.Contains(r.Reason, "all 2 pods (2 shard(s) × 1 replica(s))") {
		t.Errorf("all there: %+v", r)
	}
	r := evalThanosStores(p, thanosFacts{stores: all[:1]})
	if r.Status != StatusFailed || !strings.Contains(r.Reason, "does not see the sidecar of prometheus-team-a-shard-1-0") ||
		!strings.Contains(r.Fix, "kubectl -n ns-a logs prometheus-team-a-shard-1-0 -c thanos-sidecar") {
		t.Errorf("one missing: %+v", r)
	}
	// A store that failed its health check, and another store of the same pod that answers.
	sick := []ThanosStore{all[0], sidecar("prometheus-team-a-shard-1-0", "rpc error: connection refused")}
	r = evalThanosStores(p, thanosFacts{stores: sick})
	if r.Status != StatusFailed || !strings.Contains(r.Reason, "prometheus-team-a-shard-1-0 (store 10.0.0.1:10901: rpc error: connection refused)") ||
		!strings.Contains(r.Fix, "logs deployment/thanos-query-team-a") {
		t.Errorf("unhealthy: %+v", r)
	}
	if r := evalThanosStores(p, thanosFacts{stores: append(sick, all[1])}); r.Status != StatusPassed {
		t.Errorf("a healthy store beside an unhealthy one: %+v", r)
	}
	r = evalThanosStores(p, thanosFacts{storesErr: errors.New("query answered 503")})
	if r.Status != StatusFailed || !strings.Contains(r.Reason, "query answered 503") || !strings.Contains(r.Fix, "rollout status deployment/thanos-query-team-a") {
		t.Errorf("stores error: %+v", r)
	}
}

// TestEvalThanosUploads fails on failed uploads, and on no upload once a pod has run past its
// first block window; a young pod without uploads passes.
func TestEvalThanosUploads(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := thanosProm(1, 2, true)
	facts := func(age time.Duration, shipper map[string]Shipper) thanosFacts {
		return thanosFacts{now: now, shipper: shipper, shipperErr: map[string]error{},
			started: map[string]time.Time{"prometheus-team-a-0": now.Add(-age), "prometheus-team-a-1": now.Add(-age)}}
	}
	ok := map[string]Shipper{"prometheus-team-a-0": {Uploads: 3, Found: true}, "prometheus-team-a-1": {Uploads: 2, Found: true}}
	if r := evalThanosUploads(p, facts(10*time.Hour, ok)); r.Status != StatusPassed || !strings.HasPrefix(r.Reason, "5 block(s) uploaded, 2 of 2 sidecar(s) ship blocks, none failed") {
		t.Errorf("uploading: %+v", r)
	}
	none := map[string]Shipper{"prometheus-team-a-0": {Found: true}, "prometheus-team-a-1": {Found: true}}
	if r := evalThanosUploads(p, facts(time.Hour, none)); r.Status != StatusPassed {
		t.Errorf("young pods: %+v", r)
	}
	r := evalThanosUploads(p, facts(5*time.Hour, none))
	if r.Status != StatusFailed || !strings.Contains(r.Reason, "prometheus-team-a-0: no block uploaded in the 5h0m0s since it started") ||
		!strings.Contains(r.Fix, "kubectl -n ns-a logs prometheus-team-a-1 -c thanos-sidecar") {
		t.Errorf("no uploads: %+v", r)
	}
	failing := map[string]Shipper{"prometheus-team-a-0": {Uploads: 3, Found: true}, "prometheus-team-a-1": {Uploads: 1, Failures: 4, Found: true}}
	r = evalThanosUploads(p, facts(time.Hour, failing))
	if r.Status != StatusFailed || !strings.Contains(r.Reason, "prometheus-team-a-1: 4 failed block upload(s)") ||
		!strings.Contains(r.Fix, "Secret key objstore/thanos.yaml") {
		t.Errorf("failures: %+v", r)
	}
	f := facts(time.Hour, ok)
	f.shipperErr["prometheus-team-a-1"] = errors.New("pods \"prometheus-team-a-1\" is forbidden")
	r = evalThanosUploads(p, f)
	if r.Status != StatusFailed || !strings.Contains(r.Reason, "cannot read the sidecar's metrics") || !strings.Contains(r.Fix, "get pods/proxy") {
		t.Errorf("unreadable metrics: %+v", r)
	}
}

// TestParseShipper sums the counters over their label sets and refuses malformed values.
func TestParseShipper(t *testing.T) {
	s, err := ParseShipper([]byte(`# HELP thanos_shipper_uploads_total Total number of uploaded blocks.
# TYPE thanos_shipper_uploads_total counter
thanos_shipper_uploads_total 3
thanos_shipper_upload_failures_total{bucket="a"} 1
thanos_shipper_upload_failures_total{bucket="b",x="} {"} 2 1700000000000
thanos_shipper_uploads_totals 100
go_goroutines 42
`))
	if err != nil || s != (Shipper{Uploads: 3, Failures: 3, Found: true}) {
		t.Errorf("%+v %v", s, err)
	}
	if s, err := ParseShipper([]byte("go_goroutines 42\n")); err != nil || s.Found {
		t.Errorf("no shipper: %+v %v", s, err)
	}
	for _, bad := range []string{"thanos_shipper_uploads_total x\n", "thanos_shipper_uploads_total -1\n", "thanos_shipper_uploads_total{a=\"b\" 1\n"} {
		if _, err := ParseShipper([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
