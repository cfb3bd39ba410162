// Package envoysim simulates a fleet of Envoy proxies whose traffic is known exactly.
//
// A [Fleet] is a set of upstream clusters and downstream HTTP connection managers served by a set
// of identical Envoy pods. Every number it prints is a pure function of the time asked for: a
// counter at time t is the integral of its rate from [Fleet.Start] to t, floored to an integer as
// Envoy prints them. The same fleet can be
//
//   - rendered as Envoy's /stats/prometheus text ([Fleet.Exposition], [Fleet.Handler]) for a real
//     Prometheus to scrape,
//   - walked as data ([Fleet.Samples], [Fleet.TargetSamples]) to append straight into a store (the demo's), and
//   - asked for the truth ([Cluster.Truth], [Listener.Truth]) that a dashboard reading either of
//     them should show.
//
// Two label dialects are printed ([Dialect]): stock Envoy's default tags and Istio's bootstrap
// tags. Series appear the way Envoy creates them: per-class and per-code counters and the latency
// histogram only once their count reaches 1, so an idle cluster has rq_total 0 and no class
// series, and a cluster that never failed has no 5xx series.
//
// Traffic is split evenly over [Fleet.Pods]: summed over the pods, a counter grows at the cluster's
// rate. Counters keep sub-second precision before they are floored per pod and series, so the
// increase over a window of w seconds is off by less than one request per pod: a rate is off by
// less than pods/w requests per second, within 1% over 30s from 4 requests per second per pod on.
//
// Latency is piecewise uniform ([Latency]). Histogram buckets use Envoy's default bounds
// ([BucketBounds]) and hold count × CDF(le). Prometheus' histogram_quantile interpolates linearly
// inside a bucket, which is exact when the distribution is uniform over each bucket it touches:
// tests that compare quantiles with [Truth] should use segments whose ends are bucket bounds
// (for example {Weight: 0.9, LoMs: 10, HiMs: 25}, {Weight: 0.1, LoMs: 25, HiMs: 50}).
//
// A Fleet must not be modified while it is rendered or served.
package envoysim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dialect is the set of tag names an Envoy's stats are printed with.
type Dialect int

const (
	// Stock is Envoy's default tag extraction: envoy_cluster_name, envoy_http_conn_manager_prefix,
	// envoy_cluster_upstream_rq_xx{envoy_response_code_class="5"} and
	// envoy_cluster_upstream_rq{envoy_response_code="503"}. Families are separated by a blank
	// line, as in Envoy's grouped output.
	Stock Dialect = iota
	// Istio is the tag set of Istio's Envoy bootstrap: cluster_name, http_conn_manager_prefix,
	// envoy_cluster_upstream_rq{response_code_class="5xx"} and the code in the metric name,
	// envoy_cluster_upstream_rq_503. Families follow each other without blank lines.
	Istio
	// IstioStandard is what the sidecars of a default Istio installation expose: Istio's
	// standard metrics (istio_requests_total and istio_request_duration_milliseconds, by
	// destination service, response code and reporter; see istio.go), with Envoy's own cluster
	// statistics trimmed to Istio's bootstrap cluster xds-grpc.
	IstioStandard
)

// String returns "stock", "istio" or "istio-standard".
func (d Dialect) String() string {
	switch d {
	case Stock:
		return "stock"
	case Istio:
		return "istio"
	case IstioStandard:
		return "istio-standard"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// ClusterLabel is the label that holds the upstream cluster name.
func (d Dialect) ClusterLabel() string {
	if d != Stock {
		return "cluster_name"
	}
	return "envoy_cluster_name"
}

// ListenerLabel is the label that holds the HTTP connection manager's stat prefix.
func (d Dialect) ListenerLabel() string {
	if d != Stock {
		return "http_conn_manager_prefix"
	}
	return "envoy_http_conn_manager_prefix"
}

// ClassLabel is the label that holds the response class on the per-class counters.
func (d Dialect) ClassLabel() string {
	if d != Stock {
		return "response_code_class"
	}
	return "envoy_response_code_class"
}

// Class is the value of [Dialect.ClassLabel] for a class digit: 5 is "5" in the stock dialect and
// "5xx" in Istio's.
func (d Dialect) Class(class int) string {
	if d != Stock {
		return strconv.Itoa(class) + "xx"
	}
	return strconv.Itoa(class)
}

// ClassMetric is the name of the upstream per-class counter: envoy_cluster_upstream_rq_xx or, for
// Istio, envoy_cluster_upstream_rq.
func (d Dialect) ClassMetric() string {
	if d != Stock {
		return "envoy_cluster_upstream_rq"
	}
	return "envoy_cluster_upstream_rq_xx"
}

// Codes are the status codes the simulator answers with: 2xx are 200, 4xx are 404, 5xx are 504 for timeouts
// and 503 otherwise.
var Codes = []int{200, 404, 503, 504}

// Cluster is one upstream Envoy cluster. The zero value of each optional field means "none".
type Cluster struct {
	// Name is the cluster name exactly as it appears in the label value. It may hold any
	// characters, including quotes, backslashes, dots and '|'.
	Name string
	// RPS is the mean number of requests per second across the fleet. 0 makes the cluster idle:
	// its stats exist but never move.
	RPS float64
	// Wave is the relative amplitude, 0..1, of a slow sine on RPS (see [Fleet.WavePeriod]). Its
	// mean is 0, so RPS stays the long-run mean. Tests leave it 0.
	Wave float64
	// Daily is the relative amplitude, 0..1, of a daily shape on RPS: a sine of period 24 hours
	// that peaks at 14:00 UTC and bottoms out at 02:00 UTC, the same at the same time every day
	// (see [DailyLevel]). Wave + Daily is at most 1.
	Daily float64
	// ErrorRatio is the share of responses that are 5xx. Timeouts (TimeoutRatio, capped at
	// ErrorRatio) are answered 504, the rest 503.
	ErrorRatio float64
	// ClientErrorRatio is the share of responses that are 404. The remainder is 200.
	ClientErrorRatio float64
	// Latency is the distribution of upstream request time. Empty means the cluster records no
	// upstream_rq_time histogram at all, like the gRPC clusters in real dumps.
	Latency Latency
	// Active is the number of requests in flight across the fleet (envoy_cluster_upstream_rq_active
	// summed over the pods, rounded).
	Active float64

	// Per-request rates of the reliability counters, as shares of requests.
	TimeoutRatio         float64 // upstream_rq_timeout (also the 504 share of ErrorRatio)
	PerTryTimeoutRatio   float64 // upstream_rq_per_try_timeout
	RetryRatio           float64 // upstream_rq_retry
	RetryOverflowRatio   float64 // upstream_rq_retry_overflow
	PendingOverflowRatio float64 // upstream_rq_pending_overflow
	RxResetRatio         float64 // upstream_rq_rx_reset
	TxResetRatio         float64 // upstream_rq_tx_reset

	// Gauges that describe the cluster as each Envoy sees it: every pod reports the same value.
	EjectionsActive float64 // outlier_detection_ejections_active
	MembersHealthy  float64 // membership_healthy
	MembersTotal    float64 // membership_total
	BreakersOpen    float64 // circuit_breakers.default.rq_open (0 or 1)

	// Step changes the rate at a known instant: see [Step]. The zero value is none.
	Step Step

	// VirtualHost and VirtualCluster count the cluster's requests in the statistics of a virtual
	// cluster of that virtual host as well (vhost.H.vcluster.VC.*), as when every request the
	// virtual cluster matches is routed to this cluster; VirtualHost and RouteStat count them in
	// a route's (vhost.H.route.R.*, a route with stat_prefix R). Clusters of one virtual cluster
	// or route add up there. Stock Envoy only; none of the names may hold a dot, which Envoy's
	// tag extraction would cut at.
	VirtualHost, VirtualCluster, RouteStat string
}

// Step multiplies a cluster's rate (and its requests in flight) by Factor from At on, for tests
// of history: the counters stay the exact integral of the rate, so the true rate over any
// interval is known ([Fleet.TruthBetween]). A zero At is no step.
type Step struct {
	At     time.Time
	Factor float64
}

// Listener is one downstream HTTP connection manager (its stat prefix, such as ingress_http): what
// clients of the Envoys saw. Envoy creates a connection manager's stats eagerly, so its five class
// counters (1xx to 5xx) and its latency histogram exist from the start, at zero until used.
type Listener struct {
	// Prefix is the connection manager's stat_prefix, exactly as in the label value.
	Prefix string
	// RPS, Wave, Daily, ErrorRatio, ClientErrorRatio, Latency and Active mean what they mean on
	// a [Cluster]; Latency is downstream request time and Active is downstream_rq_active.
	RPS              float64
	Wave             float64
	Daily            float64
	ErrorRatio       float64
	ClientErrorRatio float64
	Latency          Latency
	Active           float64
	// Connections is downstream_cx_active across the fleet.
	Connections float64
}

// Fleet is a set of identical Envoy pods that share the traffic of Clusters and Listeners evenly.
type Fleet struct {
	Clusters  []Cluster
	Listeners []Listener
	// Pods names the Envoys. Empty means one Envoy, whatever pod name it is asked for.
	Pods []string
	// Start is when every Envoy started: counters are 0 then and envoy_server_uptime counts from it.
	Start time.Time
	// WavePeriod is the mean period of the RPS sine of clusters and listeners with a Wave; each
	// gets a period within ±20% of it and a phase derived from its name. 0 means 10 minutes.
	WavePeriod time.Duration
}

// Truth is what a correct dashboard shows for a cluster or listener with a constant rate (Wave and
// Daily 0).
type Truth struct {
	// RPS is requests per second across the fleet.
	RPS float64
	// Success is the share of final responses that were not 5xx; NaN for an idle cluster.
	Success float64
	// P50, P90 and P99 are latency quantiles in milliseconds; NaN for an idle cluster or one
	// without a latency distribution.
	P50, P90, P99 float64
	// Active is requests in flight summed over the pods.
	Active float64
	// Err4xx and Err5xx are 4xx and 5xx responses per second across the fleet (the 404s of
	// ClientErrorRatio; the 503s and 504s of ErrorRatio): 0 for a busy cluster without them,
	// NaN for an idle one.
	Err4xx, Err5xx float64
}

// Truth returns the exact numbers of c.
func (c Cluster) Truth() Truth { return c.flow().truth() }

// Truth returns the exact numbers of l.
func (l Listener) Truth() Truth { return l.flow().truth() }

// Quantile returns the latency quantile q (0..1] of c in milliseconds, NaN without a distribution.
func (c Cluster) Quantile(q float64) float64 { return c.Latency.Quantile(q) }

// flow is what clusters and listeners have in common: a stream of requests.
type flow struct {
	name        string
	rps         float64
	wave        float64
	daily       float64
	errRatio    float64
	clientRatio float64
	timeout     float64
	latency     Latency
	active      float64
	step        Step
}

func (c *Cluster) flow() flow {
	return flow{name: c.Name, rps: c.RPS, wave: c.Wave, daily: c.Daily, errRatio: c.ErrorRatio, clientRatio: c.ClientErrorRatio,
		timeout: c.TimeoutRatio, latency: c.Latency, active: c.Active, step: c.Step}
}

func (l *Listener) flow() flow {
	return flow{name: l.Prefix, rps: l.RPS, wave: l.Wave, daily: l.Daily, errRatio: l.ErrorRatio, clientRatio: l.ClientErrorRatio,
		latency: l.Latency, active: l.Active}
}

func (fl flow) truth() Truth {
	t := Truth{RPS: fl.rps, Success: math.NaN(), P50: math.NaN(), P90: math.NaN(), P99: math.NaN(),
		Active: math.Round(fl.active), Err4xx: math.NaN(), Err5xx: math.NaN()}
	if fl.rps > 0 {
		t.Success = 1 - fl.errRatio
		shares := fl.shares()
		t.Err4xx, t.Err5xx = fl.rps*shares[1], fl.rps*(shares[2]+shares[3])
		if len(fl.latency) > 0 {
			t.P50, t.P90, t.P99 = fl.latency.Quantile(0.5), fl.latency.Quantile(0.9), fl.latency.Quantile(0.99)
		}
	}
	return t
}

// shares are the shares of requests answered with each of [Codes].
func (fl flow) shares() [len(codeNames)]float64 {
	t := min(fl.timeout, fl.errRatio)
	return [len(codeNames)]float64{max(0, 1-fl.errRatio-fl.clientRatio), fl.clientRatio, fl.errRatio - t, t}
}

// wave is the angular frequency and phase of a flow's sine, both derived from its name.
func (f *Fleet) wave(name string) (omega, phase float64) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	x := h.Sum64()
	u1 := float64(x>>40) / float64(1<<24)
	u2 := float64(x&(1<<24-1)) / float64(1<<24)
	period := f.WavePeriod
	if period <= 0 {
		period = 10 * time.Minute
	}
	return 2 * math.Pi / (period.Seconds() * (0.8 + 0.4*u1)), 2 * math.Pi * u2
}

// requests is the exact number of requests of fl across the fleet from Start until tau seconds
// later: with a step, those until the step plus Factor times those the rate without the step
// would have sent since.
func (f *Fleet) requests(fl *flow, tau float64) float64 {
	n := f.unstepped(fl, tau)
	if s, ok := f.stepTau(fl); ok && tau > s {
		before := f.unstepped(fl, s)
		n = before + fl.step.Factor*(n-before)
	}
	return n
}

// stepTau is the step of fl in seconds after Start, if it has one.
func (f *Fleet) stepTau(fl *flow) (float64, bool) {
	if fl.step.At.IsZero() {
		return 0, false
	}
	return max(fl.step.At.Sub(f.Start).Seconds(), 0), true
}

// unstepped is requests without fl's step.
func (f *Fleet) unstepped(fl *flow, tau float64) float64 {
	if tau <= 0 || fl.rps <= 0 {
		return 0
	}
	n := tau
	if fl.wave != 0 {
		omega, phase := f.wave(fl.name)
		n += fl.wave / omega * (math.Cos(phase) - math.Cos(omega*tau+phase))
	}
	if fl.daily != 0 {
		from := dayAngle(f.Start)
		n += fl.daily / dayOmega * (math.Cos(from) - math.Cos(from+dayOmega*tau))
	}
	return fl.rps * n
}

// level is the factor of fl's rate at tau: its wave, its daily shape and its step.
func (f *Fleet) level(fl *flow, tau float64) float64 {
	l := 1.0
	if s, ok := f.stepTau(fl); ok && tau > s {
		l = fl.step.Factor
	}
	if tau <= 0 {
		return l
	}
	shape := 1.0
	if fl.wave != 0 {
		omega, phase := f.wave(fl.name)
		shape += fl.wave * math.Sin(omega*tau+phase)
	}
	if fl.daily != 0 {
		shape += fl.daily * math.Sin(dayAngle(f.Start)+dayOmega*tau)
	}
	return l * shape
}

// dayOmega is the angular frequency of the daily shape, per second.
const dayOmega = 2 * math.Pi / (24 * 60 * 60)

// dayAngle is the daily shape's phase at t: π/2 (the peak) at 14:00 UTC, -π/2 at 02:00 UTC.
func dayAngle(t time.Time) float64 {
	const peak = 14 * 60 * 60 // seconds after midnight UTC
	secs := float64(t.Unix()%(24*60*60)) + float64(t.Nanosecond())/1e9
	return math.Pi/2 + dayOmega*(secs-peak)
}

// DailyLevel is the factor the daily shape of amplitude daily puts on a rate at t:
// 1 + daily × sin(…), 1+daily at 14:00 UTC and 1-daily at 02:00 UTC.
func DailyLevel(daily float64, t time.Time) float64 { return 1 + daily*math.Sin(dayAngle(t)) }

// TruthBetween is what a correct dashboard shows for c over the interval from..to: the true mean
// rate over it (the increase of the exact counter, so waves and steps are accounted for), with
// c's success and latency, which neither changes. A step inside the interval mixes both rates.
func (f *Fleet) TruthBetween(c Cluster, from, to time.Time) Truth {
	t := c.Truth()
	if d := to.Sub(from).Seconds(); d > 0 {
		t.RPS = (f.Requests(c, to) - f.Requests(c, from)) / d
	}
	fl := c.flow()
	t.Active = math.Round(fl.active * f.level(&fl, to.Sub(f.Start).Seconds()))
	if t.RPS <= 0 && c.RPS > 0 {
		t.Success, t.P50, t.P90, t.P99 = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	return t
}

// Requests returns the exact, unrounded number of requests the whole fleet sent to c from Start
// until at. (Requests(c, t2) - Requests(c, t1)) / (t2 - t1) is the true mean rate over [t1, t2],
// also when c has a Wave.
func (f *Fleet) Requests(c Cluster, at time.Time) float64 {
	fl := c.flow()
	return f.requests(&fl, at.Sub(f.Start).Seconds())
}

// ListenerRequests is [Fleet.Requests] for a listener.
func (f *Fleet) ListenerRequests(l Listener, at time.Time) float64 {
	fl := l.flow()
	return f.requests(&fl, at.Sub(f.Start).Seconds())
}

// Cluster returns the cluster called name.
func (f *Fleet) Cluster(name string) (Cluster, bool) {
	for _, c := range f.Clusters {
		if c.Name == name {
			return c, true
		}
	}
	return Cluster{}, false
}

// Validate reports the inconsistencies in f: no Start, ratios outside 0..1, 5xx and 4xx shares
// above 1, waves above 1, invalid latency segments, duplicate names or pods.
func (f *Fleet) Validate() error {
	var errs []error
	if f.Start.IsZero() {
		errs = append(errs, errors.New("the fleet has no Start time"))
	}
	names := make(map[string]struct{}, len(f.Clusters))
	for i := range f.Clusters {
		c := &f.Clusters[i]
		if _, dup := names[c.Name]; dup {
			errs = append(errs, fmt.Errorf("cluster %q is defined twice", c.Name))
		}
		names[c.Name] = struct{}{}
		fl := c.flow()
		if err := fl.validate(); err != nil {
			errs = append(errs, fmt.Errorf("cluster %q: %w", c.Name, err))
		}
		for _, r := range []struct {
			name string
			v    float64
		}{
			{"TimeoutRatio", c.TimeoutRatio}, {"PerTryTimeoutRatio", c.PerTryTimeoutRatio},
			{"RetryRatio", c.RetryRatio}, {"RetryOverflowRatio", c.RetryOverflowRatio},
			{"PendingOverflowRatio", c.PendingOverflowRatio}, {"RxResetRatio", c.RxResetRatio},
			{"TxResetRatio", c.TxResetRatio}, {"EjectionsActive", c.EjectionsActive},
			{"MembersHealthy", c.MembersHealthy}, {"MembersTotal", c.MembersTotal},
			{"BreakersOpen", c.BreakersOpen},
		} {
			if !(r.v >= 0) || math.IsInf(r.v, 0) {
				errs = append(errs, fmt.Errorf("cluster %q: field %s = %v is not a finite number ≥ 0", c.Name, r.name, r.v))
			}
		}
		if err := c.validateVirtualHost(); err != nil {
			errs = append(errs, fmt.Errorf("cluster %q: %w", c.Name, err))
		}
	}
	prefixes := make(map[string]struct{}, len(f.Listeners))
	for i := range f.Listeners {
		l := &f.Listeners[i]
		if _, dup := prefixes[l.Prefix]; dup {
			errs = append(errs, fmt.Errorf("listener %q is defined twice", l.Prefix))
		}
		prefixes[l.Prefix] = struct{}{}
		fl := l.flow()
		if err := fl.validate(); err != nil {
			errs = append(errs, fmt.Errorf("listener %q: %w", l.Prefix, err))
		}
		if !(l.Connections >= 0) || math.IsInf(l.Connections, 0) {
			errs = append(errs, fmt.Errorf("listener %q: field Connections = %v is not a finite number ≥ 0", l.Prefix, l.Connections))
		}
	}
	for i, p := range f.Pods {
		if slices.Contains(f.Pods[:i], p) {
			errs = append(errs, fmt.Errorf("pod %q is listed twice", p))
		}
	}
	return errors.Join(errs...)
}

// validateVirtualHost checks that a cluster in a virtual host's statistics names one virtual
// cluster or one route, and that no name holds a dot.
func (c *Cluster) validateVirtualHost() error {
	if c.VirtualHost == "" {
		if c.VirtualCluster != "" || c.RouteStat != "" {
			return errors.New("VirtualCluster and RouteStat need a VirtualHost")
		}
		return nil
	}
	if (c.VirtualCluster == "") == (c.RouteStat == "") {
		return errors.New("a VirtualHost needs exactly one of VirtualCluster and RouteStat")
	}
	for _, name := range []string{c.VirtualHost, c.VirtualCluster, c.RouteStat} {
		if strings.Contains(name, ".") {
			return fmt.Errorf("virtual host statistics name %q holds a dot, which Envoy's tag extraction cuts at", name)
		}
	}
	return nil
}

func (fl *flow) validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !finite(fl.rps) || fl.rps < 0:
		return fmt.Errorf("field RPS = %v is not a finite number ≥ 0", fl.rps)
	case !finite(fl.wave) || fl.wave < 0 || fl.wave > 1:
		return fmt.Errorf("field Wave = %v is outside 0..1", fl.wave)
	case !finite(fl.daily) || fl.daily < 0 || fl.wave+fl.daily > 1:
		return fmt.Errorf("fields Wave + Daily = %v are outside 0..1", fl.wave+fl.daily)
	case !finite(fl.errRatio) || fl.errRatio < 0 || fl.errRatio > 1:
		return fmt.Errorf("field ErrorRatio = %v is outside 0..1", fl.errRatio)
	case !finite(fl.clientRatio) || fl.clientRatio < 0 || fl.clientRatio > 1:
		return fmt.Errorf("field ClientErrorRatio = %v is outside 0..1", fl.clientRatio)
	case fl.errRatio+fl.clientRatio > 1+1e-12:
		return fmt.Errorf("fields ErrorRatio + ClientErrorRatio = %v exceed 1", fl.errRatio+fl.clientRatio)
	case !finite(fl.active) || fl.active < 0:
		return fmt.Errorf("field Active = %v is not a finite number ≥ 0", fl.active)
	case !fl.step.At.IsZero() && (!finite(fl.step.Factor) || fl.step.Factor < 0):
		return fmt.Errorf("field Step.Factor = %v is not a finite number ≥ 0", fl.step.Factor)
	}
	return fl.latency.Validate()
}

// podIndex returns the index of pod among f.Pods and the number of pods.
func (f *Fleet) podIndex(pod string) (int, int, error) {
	if len(f.Pods) == 0 {
		return 0, 1, nil
	}
	i := slices.Index(f.Pods, pod)
	if i < 0 {
		return 0, 0, fmt.Errorf("envoysim: pod %q is not in the fleet %v", pod, f.Pods)
	}
	return i, len(f.Pods), nil
}
