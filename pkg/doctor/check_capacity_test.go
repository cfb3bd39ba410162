package doctor

import (
	"errors"
	"math"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// limited is a stack's Prometheus with a 200,000-sample limit, a 200-target limit and a 2Gi
// memory limit, as create makes it.
func limited() *monitoringv1.Prometheus {
	p := &monitoringv1.Prometheus{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}}
	p.Spec.EnforcedSampleLimit = ptr.To[int64](200000)
	p.Spec.EnforcedTargetLimit = ptr.To[int64](200)
	p.Spec.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}
	return p
}

func pool(name string, n int) []Target {
	var out []Target
	for range n {
		out = append(out, Target{ScrapePool: name, Health: HealthUp})
	}
	return out
}

func TestCapacityWithinTheLimits(t *testing.T) {
	targets := append(pool("podMonitor/shop/web-envoy/0", 12), pool("serviceMonitor/shop/alertmanager-web/0", 2)...)
	r := evalCapacity(limited(), targets, Capacity{LargestScrape: 900, SamplesPerSecond: 1500, HeadSeries: 50000}, nil)
	if r.Status != StatusPassed {
		t.Fatalf("%s: %s", r.Status, r.Reason)
	}
	for _, want := range []string{"largest scrape 900 of 200000 samples", "largest scrape pool 12 of 200 targets",
		"50000 series in the head (about 191Mi of the 2.0Gi limit)", "1500 samples/s"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q lacks %q", r.Reason, want)
		}
	}
	// Through a Thanos Query the head is not known; the rest still counts.
	r = evalCapacity(limited(), targets, Capacity{LargestScrape: 900, SamplesPerSecond: 1500, HeadSeries: math.NaN()}, nil)
	if r.Status != StatusPassed || strings.Contains(r.Reason, "head") {
		t.Errorf("without the head: %s: %s", r.Status, r.Reason)
	}
}

func TestCapacityNamesTheLimitAndTheFix(t *testing.T) {
	for _, tc := range []struct {
		name    string
		targets []Target
		c       Capacity
		reason  string
		fix     string
	}{
		{"sample limit", pool("a", 1), Capacity{LargestScrape: 170000, HeadSeries: 1000},
			"the largest scrape brings 170000 samples, 85% of the sample limit 200000",
			"kubectl promteam create web -n shop --sample-limit 400000 --apply"},
		{"target limit", pool("podMonitor/shop/web-envoy/0", 190), Capacity{LargestScrape: 10, HeadSeries: 1000},
			"scrape pool podMonitor/shop/web-envoy/0 has 190 targets, 95% of the target limit 200",
			"kubectl promteam create web -n shop --target-limit 400 --apply"},
		{"memory", pool("a", 1), Capacity{LargestScrape: 10, HeadSeries: 700000},
			"700000 series in the head need about 1.3Gi, over half the memory limit 2.0Gi",
			"--memory-limit 4Gi --apply, or split the targets: --shards 2 --thanos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := evalCapacity(limited(), tc.targets, tc.c, nil)
			if r.Status != StatusFailed || !strings.Contains(r.Reason, tc.reason) || !strings.Contains(r.Fix, tc.fix) {
				t.Errorf("%s: reason %q (want %q), fix %q (want %q)", r.Status, r.Reason, tc.reason, r.Fix, tc.fix)
			}
		})
	}
}

func TestCapacityWithoutLimitsOrAnswers(t *testing.T) {
	p := &monitoringv1.Prometheus{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}}
	r := evalCapacity(p, pool("a", 3), Capacity{LargestScrape: 5e6, HeadSeries: 1e7, SamplesPerSecond: 1}, nil)
	if r.Status != StatusPassed || !strings.Contains(r.Reason, "largest scrape 5000000 samples (no limit)") {
		t.Errorf("no limits: %s: %s", r.Status, r.Reason)
	}
	if r := evalCapacity(limited(), nil, Capacity{}, errors.New("connection refused")); r.Status != StatusSkipped || !strings.Contains(r.Reason, "connection refused") {
		t.Errorf("unanswered: %s: %s", r.Status, r.Reason)
	}
}
