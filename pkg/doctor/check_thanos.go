package doctor

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// Thanos is what the Thanos checks read: the team's Thanos Query and the sidecars on the
// Prometheus pods.
type Thanos interface {
	// Stores lists the stores the Query knows (/api/v1/stores), of every type.
	Stores(ctx context.Context) ([]ThanosStore, error)
	// Shipper reads the block upload counters of the sidecar on pod namespace/name.
	Shipper(ctx context.Context, namespace, pod string) (Shipper, error)
}

// ThanosStore is one store a Thanos Query reports.
type ThanosStore struct {
	Type      string              // sidecar, store, receive, …
	Name      string              // its address
	LastError string              // why the last health check failed; "" when healthy
	LabelSets []map[string]string // the external labels of what it serves
}

// Shipper is what a sidecar's metrics say of its block uploads.
type Shipper struct {
	Uploads  float64 // thanos_shipper_uploads_total
	Failures float64 // thanos_shipper_upload_failures_total
	// Found is false when the metrics hold no shipper counters at all (the sidecar uploads
	// nothing: it has no object storage configured).
	Found bool
}

// ThanosReplicaLabel is the external label the operator gives every Prometheus pod, with the
// pod's name as its value; the Query deduplicates replicas on it and the thanos-stores check
// finds each pod's sidecar by it.
const ThanosReplicaLabel = "prometheus_replica"

// firstBlockWindow is how long after its start a Prometheus pod has cut and uploaded its first
// block: Prometheus cuts a block once its head spans 3h (2h of block and 1h of margin), and the
// sidecar uploads it within a minute or so.
const firstBlockWindow = 3*time.Hour + 10*time.Minute

// UnreachableThanos is a Thanos Query that could not be reached: the Thanos checks are skipped
// with its error.
type UnreachableThanos struct{ Err error }

func (u UnreachableThanos) Error() string { return u.Err.Error() }

func (u UnreachableThanos) Unwrap() error { return u.Err }

// Stores implements Thanos.
func (u UnreachableThanos) Stores(context.Context) ([]ThanosStore, error) { return nil, u }

// Shipper implements Thanos.
func (u UnreachableThanos) Shipper(context.Context, string, string) (Shipper, error) {
	return Shipper{}, u
}

// shardsOf and replicasOf are the Prometheus' shard and replica counts, 1 when unset.
func shardsOf(p *monitoringv1.Prometheus) int32 {
	return max(ptr.Deref(p.Spec.Shards, 1), 1)
}

func replicasOf(p *monitoringv1.Prometheus) int32 {
	return max(ptr.Deref(p.Spec.Replicas, 1), 1)
}

// ExpectedPods names every pod the operator runs for p: prometheus-NAME-R for shard 0 and
// prometheus-NAME-shard-S-R for the others, shard by shard.
func ExpectedPods(p *monitoringv1.Prometheus) []string {
	var out []string
	for s := range shardsOf(p) {
		set := "prometheus-" + p.Name
		if s > 0 {
			set += fmt.Sprintf("-shard-%d", s)
		}
		for r := range replicasOf(p) {
			out = append(out, fmt.Sprintf("%s-%d", set, r))
		}
	}
	return out
}

// evalSharding fails a sharded Prometheus that nothing sees as a whole: each shard holds a
// share of the targets, so without a Thanos Query or remote write every answer is partial.
func evalSharding(p *monitoringv1.Prometheus) Result {
	shards := shardsOf(p)
	switch {
	case shards <= 1:
		return passed("one shard: the Prometheus holds every target")
	case p.Spec.Thanos != nil:
		return passed(fmt.Sprintf("%d shards, seen as one through the Thanos sidecars", shards))
	case len(p.Spec.RemoteWrite) > 0:
		return passed(fmt.Sprintf("%d shards, seen as one where they remote-write to", shards))
	}
	return failed(fmt.Sprintf("%d shards and neither Thanos nor remote write: each shard holds 1/%d of the targets, and every query of one Prometheus pod sees only its shard's share", shards, shards),
		fmt.Sprintf("kubectl promteam create %s -n %s --shards %d --thanos --apply (a Thanos Query over every shard), or --remote-write URL, or --shards 1", p.Name, p.Namespace, shards))
}

type thanosFacts struct {
	stores    []ThanosStore
	storesErr error
	// shipper is each expected pod's upload counters, or the error reading them.
	shipper    map[string]Shipper
	shipperErr map[string]error
	// started is when each pod of the Prometheus started; pods not found are missing.
	started map[string]time.Time
	podsErr error
	now     time.Time
}

func (d *doctor) gatherThanos(p *monitoringv1.Prometheus) thanosFacts {
	f := thanosFacts{shipper: map[string]Shipper{}, shipperErr: map[string]error{}, started: map[string]time.Time{}, now: time.Now()}
	ctx, cancel := context.WithTimeout(d.ctx, liveTimeout)
	defer cancel()
	f.stores, f.storesErr = d.opts.Thanos.Stores(ctx)
	if p.Spec.Thanos.ObjectStorageConfig == nil {
		return f
	}
	var pods []corev1.Pod
	pods, f.podsErr = d.c.ListPods(ctx, p.Namespace, labels.SelectorFromSet(ownPodSelector(p)))
	for _, pod := range pods {
		if pod.Status.StartTime != nil {
			f.started[pod.Name] = pod.Status.StartTime.Time
		}
	}
	for _, name := range ExpectedPods(p) {
		s, err := d.opts.Thanos.Shipper(ctx, p.Namespace, name)
		if err != nil {
			f.shipperErr[name] = err
			continue
		}
		f.shipper[name] = s
	}
	return f
}

// queryFix is how to look at a team's Thanos Query.
func queryFix(p *monitoringv1.Prometheus) string {
	name := manifests.ThanosQueryName(p.Name)
	return fmt.Sprintf("kubectl -n %s rollout status deployment/%s; kubectl -n %s logs deployment/%s", p.Namespace, name, p.Namespace, name)
}

// evalThanosStores checks that the Query sees the sidecar of every shard and replica, healthy.
func evalThanosStores(p *monitoringv1.Prometheus, f thanosFacts) Result {
	if f.storesErr != nil {
		return failed(fmt.Sprintf("the Thanos Query did not list its stores: %v", f.storesErr), queryFix(p))
	}
	byPod := map[string]ThanosStore{}
	for _, s := range f.stores {
		for _, set := range s.LabelSets {
			if pod := set[ThanosReplicaLabel]; pod != "" {
				if old, seen := byPod[pod]; !seen || (old.LastError != "" && s.LastError == "") {
					byPod[pod] = s
				}
			}
		}
	}
	expected := ExpectedPods(p)
	var missing, unhealthy []string
	for _, pod := range expected {
		s, ok := byPod[pod]
		switch {
		case !ok:
			missing = append(missing, pod)
		case s.LastError != "":
			unhealthy = append(unhealthy, fmt.Sprintf("%s (store %s: %s)", pod, s.Name, s.LastError))
		}
	}
	if len(missing) == 0 && len(unhealthy) == 0 {
		return passed(fmt.Sprintf("the Thanos Query sees the sidecars of all %d pods (%d shard(s) × %d replica(s))", len(expected), shardsOf(p), replicasOf(p)))
	}
	var reasons, fixes []string
	if len(missing) > 0 {
		reasons = append(reasons, fmt.Sprintf("the Thanos Query does not see the sidecar of %s, so queries through it fail (partial responses are off)", strings.Join(missing, ", ")))
		for _, pod := range missing {
			fixes = append(fixes, fmt.Sprintf("kubectl -n %s get pod %s (it must run and be ready); kubectl -n %s logs %s -c thanos-sidecar", p.Namespace, pod, p.Namespace, pod))
		}
	}
	if len(unhealthy) > 0 {
		reasons = append(reasons, "unhealthy sidecars: "+strings.Join(unhealthy, "; "))
		fixes = append(fixes, queryFix(p))
	}
	return failed(strings.Join(reasons, "; "), strings.Join(fixes, "\n"))
}

// evalThanosUploads checks that every sidecar uploads blocks to the object storage without
// failing: failures, or no upload once a pod has run past the first block window, fail.
func evalThanosUploads(p *monitoringv1.Prometheus, f thanosFacts) Result {
	secret := p.Spec.Thanos.ObjectStorageConfig
	var problems, fixes []string
	uploaded, shipping := 0.0, 0
	pods := ExpectedPods(p)
	for _, pod := range pods {
		if err, bad := f.shipperErr[pod]; bad {
			problems = append(problems, fmt.Sprintf("%s: cannot read the sidecar's metrics: %v", pod, err))
			continue
		}
		s := f.shipper[pod]
		uploaded += s.Uploads
		if s.Found {
			shipping++
		}
		started, running := f.started[pod]
		switch {
		case s.Failures > 0:
			problems = append(problems, fmt.Sprintf("%s: %g failed block upload(s)", pod, s.Failures))
			fixes = append(fixes, fmt.Sprintf("kubectl -n %s logs %s -c thanos-sidecar | grep -i upload (check the bucket and the credentials in Secret key %s/%s)", p.Namespace, pod, secret.Name, secret.Key))
		case !s.Found && f.podsErr == nil && running && f.now.Sub(started) > firstBlockWindow:
			problems = append(problems, fmt.Sprintf("%s: the sidecar ships no blocks (no thanos_shipper counters)", pod))
			fixes = append(fixes, fmt.Sprintf("kubectl -n %s get prometheus %s -o jsonpath='{.spec.thanos.objectStorageConfig}'; kubectl -n %s logs %s -c thanos-sidecar", p.Namespace, p.Name, p.Namespace, pod))
		case s.Uploads == 0 && f.podsErr == nil && running && f.now.Sub(started) > firstBlockWindow:
			problems = append(problems, fmt.Sprintf("%s: no block uploaded in the %s since it started", pod, f.now.Sub(started).Round(time.Minute)))
			fixes = append(fixes, fmt.Sprintf("kubectl -n %s logs %s -c thanos-sidecar | grep -i -e upload -e shipper", p.Namespace, pod))
		}
	}
	if len(problems) > 0 {
		if len(fixes) == 0 {
			fixes = append(fixes, fmt.Sprintf("kubectl auth can-i get pods/proxy -n %s (the check reads the sidecars' metrics through the API server)", p.Namespace))
		}
		return failed(strings.Join(problems, "; "), strings.Join(slices.Compact(fixes), "\n"))
	}
	return passed(fmt.Sprintf("%g block(s) uploaded, %d of %d sidecar(s) ship blocks, none failed (a pod uploads its first block about %s after it starts)", uploaded, shipping, len(pods), firstBlockWindow.Round(time.Hour)))
}

// The sidecar's block upload counters.
const (
	shipperUploads  = "thanos_shipper_uploads_total"
	shipperFailures = "thanos_shipper_upload_failures_total"
)

// ParseShipper reads the upload counters from a sidecar's /metrics in the Prometheus text
// format, summed over their label sets.
func ParseShipper(metrics []byte) (Shipper, error) {
	var s Shipper
	sc := bufio.NewScanner(bytes.NewReader(metrics))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 && i < len(name) {
			name = line[:i]
			end := strings.LastIndexByte(line, '}')
			if end < i {
				return Shipper{}, fmt.Errorf("malformed metrics line %q", short(line))
			}
			rest = strings.TrimSpace(line[end+1:])
		}
		if name != shipperUploads && name != shipperFailures {
			continue
		}
		value, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || v < 0 {
			return Shipper{}, fmt.Errorf("malformed value of %s: %q", name, short(value))
		}
		s.Found = true
		if name == shipperUploads {
			s.Uploads += v
		} else {
			s.Failures += v
		}
	}
	if err := sc.Err(); err != nil {
		return Shipper{}, err
	}
	return s, nil
}

// short cuts s to a length fit for a message.
func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
