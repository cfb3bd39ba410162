package plugin

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// healthServer answers a team's health reads: answers maps a query to its value (a query it
// does not list fails), capacity is what Capacity answers. With together > 0, every read waits
// until that many reads are in flight at once, or its context ends.
type healthServer struct {
	answers     map[string]float64
	unknown     error // what a query not in answers gets: nil is an empty answer
	capacity    doctor.Capacity
	capacityErr error

	together int
	mu       sync.Mutex
	arrived  int
	all      chan struct{}
}

func (s *healthServer) wait(ctx context.Context) error {
	if s.together == 0 {
		return nil
	}
	s.mu.Lock()
	if s.all == nil {
		s.all = make(chan struct{})
	}
	all := s.all
	if s.arrived++; s.arrived == s.together {
		close(all)
	}
	s.mu.Unlock()
	select {
	case <-all:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *healthServer) Query(ctx context.Context, query string, _ time.Time) (traffic.Result, error) {
	if err := s.wait(ctx); err != nil {
		return traffic.Result{}, err
	}
	v, ok := s.answers[query]
	switch {
	case ok:
		return traffic.Result{Vector: traffic.Vector{{Value: v}}}, nil
	case s.unknown != nil:
		return traffic.Result{}, s.unknown
	}
	return traffic.Result{}, nil
}

func (s *healthServer) Capacity(ctx context.Context) (doctor.Capacity, error) {
	if err := s.wait(ctx); err != nil {
		return doctor.Capacity{}, err
	}
	return s.capacity, s.capacityErr
}

func queryText(t *testing.T, e parser.Expr) string {
	t.Helper()
	text, err := promql.Check(e)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func healthReader(s *healthServer, cfg *traffic.Config) teamsReader {
	return teamsReader{
		prom: &PrometheusFlags{Timeout: 10 * time.Second}, concurrency: defaultConcurrency, traffic: cfg,
		connect: func(context.Context, kube.StackSummary) (teamConn, error) {
			return teamConn{q: s, target: "http://prometheus", close: func() {}, backend: backendPrometheus}, nil
		},
	}
}

// TestTopAllHealthReadsAtOnce: a team's health reads (alerts, targets up, targets, capacity) are
// all in flight at once; read one after another, the first would wait for the others until the
// timeout and leave its number unknown.
func TestTopAllHealthReadsAtOnce(t *testing.T) {
	s := &healthServer{
		answers: map[string]float64{
			queryText(t, promql.FiringAlerts()): 1, queryText(t, promql.TargetsUp()): 2, queryText(t, promql.Targets()): 3,
		},
		capacity: doctor.Capacity{LargestScrape: 900, SamplesPerSecond: 1500, HeadSeries: 50000},
		together: 4,
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	h, err := healthReader(s, nil).teamHealth(ctx, kube.StackSummary{Namespace: "a", Team: "a"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if h.Firing != 1 || h.TargetsUp != 2 || h.Targets != 3 || h.LargestScrape != 900 || h.SamplesPerSecond != 1500 || h.HeadSeries != 50000 {
		t.Errorf("health %+v, want 1 firing, 2/3 targets, largest scrape 900, 1500/s, 50000 series", h)
	}
}

// TestTopAllHealthUnknownWhereUnanswered: a read that fails leaves its own numbers unknown and
// the others known; clusters that could not be read make the team unreached, while a Prometheus
// without Envoy series is a team with no clusters.
func TestTopAllHealthUnknownWhereUnanswered(t *testing.T) {
	refused := errors.New("connection refused")
	s := &healthServer{
		answers:  map[string]float64{queryText(t, promql.FiringAlerts()): 0, queryText(t, promql.Targets()): 3},
		unknown:  refused,
		capacity: doctor.Capacity{LargestScrape: 900}, capacityErr: refused,
	}
	stack := kube.StackSummary{Namespace: "a", Team: "a"}
	h, err := healthReader(s, nil).teamHealth(t.Context(), stack, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if h.Firing != 0 || h.Targets != 3 || !math.IsNaN(h.TargetsUp) {
		t.Errorf("firing %v, targets %v/%v; want 0, unknown/3", h.Firing, h.TargetsUp, h.Targets)
	}
	if !math.IsNaN(h.LargestScrape) || !math.IsNaN(h.SamplesPerSecond) || !math.IsNaN(h.HeadSeries) {
		t.Errorf("capacity %v %v %v after a failed read, want all unknown", h.LargestScrape, h.SamplesPerSecond, h.HeadSeries)
	}

	cfg := &traffic.Config{Selector: promql.Everything, Window: 30 * time.Second, Source: traffic.SourceRaw}
	if _, err := healthReader(s, cfg).teamHealth(t.Context(), stack, time.Now()); !errors.Is(err, refused) {
		t.Errorf("clusters unread: %v, want %v", err, refused)
	}
	s.unknown = nil
	h, err = healthReader(s, cfg).teamHealth(t.Context(), stack, time.Now())
	if err != nil || len(h.Rows) != 0 || h.Targets != 3 {
		t.Errorf("no Envoy series: %d rows, %v targets, %v; want none, 3, no error", len(h.Rows), h.Targets, err)
	}
}
