package envoysim

import (
	"cmp"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// istioFleet has two versions of one service (Istio cluster names with subsets), a plain
// service host, a host outside Kubernetes, an idle service and one without latency.
func istioFleet() *Fleet {
	return &Fleet{
		Start: t0,
		Pods:  []string{"client-a", "client-b"},
		Clusters: []Cluster{
			{Name: "outbound|9080|v1|reviews.default.svc.cluster.local", RPS: 30, ErrorRatio: 0.05, ClientErrorRatio: 0.1, TimeoutRatio: 0.02,
				Latency: Latency{{Weight: 0.9, LoMs: 10, HiMs: 25}, {Weight: 0.1, LoMs: 25, HiMs: 50}}},
			{Name: "outbound|9080|v2|reviews.default.svc.cluster.local", RPS: 10, ErrorRatio: 0.2, Latency: Uniform(50, 100)},
			{Name: "ratings.shop.svc.cluster.local", RPS: 12, Latency: Uniform(1, 5)},
			{Name: "api.example.com", RPS: 4, Latency: Uniform(100, 250)},
			{Name: "idle.shop.svc.cluster.local", Latency: Uniform(1, 5)},
			{Name: "details.shop.svc.cluster.local", RPS: 6},
		},
	}
}

func TestIstioDestinationOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		want IstioDestination
	}{
		{"outbound|9080|v2|reviews.default.svc.cluster.local", IstioDestination{"reviews.default.svc.cluster.local", "reviews", "default", "v2", "reviews-v2"}},
		{"outbound|9080||reviews.default.svc.cluster.local", IstioDestination{"reviews.default.svc.cluster.local", "reviews", "default", "v1", "reviews-v1"}},
		{"ratings.shop.svc", IstioDestination{"ratings.shop.svc", "ratings", "shop", "v1", "ratings-v1"}},
		{"api.example.com", IstioDestination{"api.example.com", "api.example.com", "unknown", "v1", "api.example.com-v1"}},
	} {
		if got := IstioDestinationOf(tc.name); got != tc.want {
			t.Errorf("IstioDestinationOf(%q) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestIstioStandardExposition parses one pod's Istio standard metrics with Prometheus' scrape
// parser and checks them against the fleet: each reporter counts every request once, by
// response code, series exist only once used, the histograms are cumulative with +Inf equal to
// the count, and the trimmed Envoy statistics name only xds-grpc.
func TestIstioStandardExposition(t *testing.T) {
	f := istioFleet()
	at := t0.Add(time.Hour)
	p := exposeParsed(t, f, "client-b", at, IstioStandard)
	if p.types["istio_requests_total"] != model.MetricTypeCounter || p.types["istio_request_duration_milliseconds"] != model.MetricTypeHistogram {
		t.Errorf("types = %v", p.types)
	}
	for _, s := range p.samples {
		if c := s.lbls.Get("cluster_name"); c != "" && c != "xds-grpc" {
			t.Errorf("Envoy statistics of cluster %q in a default Istio installation's output", c)
		}
	}
	for _, c := range f.Clusters {
		dest := IstioDestinationOf(c.Name)
		perPod := f.Requests(c, at) / float64(len(f.Pods))
		for _, reporter := range []string{"source", "destination"} {
			match := []string{"reporter", reporter, "destination_version", dest.Version}
			total := p.sumBy("istio_requests_total", "destination_service", dest.Service, match...)
			// Each code's series is floored on its own: at most one request per code short.
			if total > perPod || total < perPod-float64(len(codeNames)) {
				t.Errorf("%s %s: %v requests, want about %v", c.Name, reporter, total, perPod)
			}
			fails := p.sumBy("istio_requests_total", "destination_service", dest.Service, append(match, "response_code", "503")...) +
				p.sumBy("istio_requests_total", "destination_service", dest.Service, append(match, "response_code", "504")...)
			if want := perPod * c.ErrorRatio; math.Abs(fails-want) > 2 {
				t.Errorf("%s %s: %v 5xx, want about %v", c.Name, reporter, fails, want)
			}
			count := p.sumBy("istio_request_duration_milliseconds_count", "destination_service", dest.Service, match...)
			if (len(c.Latency) == 0 && count != 0) || (len(c.Latency) > 0 && count != total) {
				t.Errorf("%s %s: histogram count %v for %v requests", c.Name, reporter, count, total)
			}
		}
	}
	// The idle service has no series; the clean one no 5xx series.
	for _, s := range p.samples {
		if s.lbls.Get("destination_service") == "idle.shop.svc.cluster.local" {
			t.Errorf("an idle service has a series: %s", s.lbls)
		}
		if s.lbls.Get("destination_service") == "ratings.shop.svc.cluster.local" && s.lbls.Get("response_code") != "200" {
			t.Errorf("a service without failures has a series %s", s.lbls)
		}
	}
	checkCumulative(t, p, "istio_request_duration_milliseconds")
}

// checkCumulative checks every histogram of name: buckets never fall as le grows, and the +Inf
// bucket is the count.
func checkCumulative(t *testing.T, p parsed, name string) {
	t.Helper()
	type bucket struct{ le, v float64 }
	series := map[string][]bucket{}
	counts := map[string]float64{}
	for _, s := range p.samples {
		key := labels.NewBuilder(s.lbls).Del("le", model.MetricNameLabel).Labels().String()
		switch s.lbls.Get(model.MetricNameLabel) {
		case name + "_bucket":
			le, err := strconv.ParseFloat(s.lbls.Get("le"), 64)
			if err != nil {
				t.Fatal(err)
			}
			series[key] = append(series[key], bucket{le, s.v})
		case name + "_count":
			counts[key] = s.v
		}
	}
	if len(series) == 0 {
		t.Fatalf("no %s histogram", name)
	}
	for key, bs := range series {
		slices.SortFunc(bs, func(a, b bucket) int { return cmp.Compare(a.le, b.le) })
		for i := 1; i < len(bs); i++ {
			if bs[i].v < bs[i-1].v {
				t.Errorf("%s: bucket le=%v holds %v, below le=%v's %v", key, bs[i].le, bs[i].v, bs[i-1].le, bs[i-1].v)
			}
		}
		if last := bs[len(bs)-1]; !math.IsInf(last.le, 1) || last.v != counts[key] {
			t.Errorf("%s: last bucket %+v, count %v", key, last, counts[key])
		}
	}
}

// TestIstioStandardMatchesARealSidecar holds the simulator's Istio standard metrics against a
// real sidecar's output (testdata/envoy/datadog-istio-1.11-sidecar-merged.prom): the same
// histogram bucket bounds, and only label names the real series have.
func TestIstioStandardMatchesARealSidecar(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "envoy", "datadog-istio-1.11-sidecar-merged.prom"))
	if err != nil {
		t.Fatal(err)
	}
	real := parseLenient(t, b)
	sim := exposeParsed(t, istioFleet(), "client-a", t0.Add(time.Hour), IstioStandard)
	les := func(p parsed) []string {
		var out []string
		for _, s := range p.samples {
			if s.lbls.Get(model.MetricNameLabel) == "istio_request_duration_milliseconds_bucket" && !slices.Contains(out, s.lbls.Get("le")) {
				out = append(out, s.lbls.Get("le"))
			}
		}
		return out
	}
	if r, s := les(real), les(sim); len(r) != 20 || !slices.Equal(r, s) {
		t.Errorf("bucket bounds: real sidecar %v, simulator %v", r, s)
	}
	names := func(p parsed, metric string) []string {
		var out []string
		for _, s := range p.samples {
			if s.lbls.Get(model.MetricNameLabel) != metric {
				continue
			}
			s.lbls.Range(func(l labels.Label) {
				if !slices.Contains(out, l.Name) {
					out = append(out, l.Name)
				}
			})
		}
		return out
	}
	realNames := names(real, "istio_requests_total")
	simNames := names(sim, "istio_requests_total")
	if len(simNames) < 15 {
		t.Errorf("the simulator's series have only the labels %v", simNames)
	}
	for _, n := range simNames {
		if !slices.Contains(realNames, n) {
			t.Errorf("label %s is not on a real sidecar's istio_requests_total (%v)", n, realNames)
		}
	}
}

// parseLenient reads a real capture with Prometheus' scrape parser, skipping HELP lines and
// comments that parse refuses.
func parseLenient(t *testing.T, b []byte) parsed {
	t.Helper()
	p := textparse.NewPromParser(b, labels.NewSymbolTable(), false)
	var out parsed
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if et != textparse.EntrySeries {
			continue
		}
		_, _, v := p.Series()
		var l labels.Labels
		p.Labels(&l)
		out.samples = append(out.samples, sample{l, v})
	}
}
