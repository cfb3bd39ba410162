package plugin

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/demo"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
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

// switchingQuerier answers from q, which the test may swap, and counts the dialect lookups.
type switchingQuerier struct {
	mu      sync.Mutex
	q       traffic.Querier
	lookup  string
	lookups int
}

func (s *switchingQuerier) use(q traffic.Querier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q = q
}

func (s *switchingQuerier) Query(ctx context.Context, query string, at time.Time) (traffic.Result, error) {
	s.mu.Lock()
	q := s.q
	if query == s.lookup {
		s.lookups++
	}
	s.mu.Unlock()
	return q.Query(ctx, query, at)
}

func (s *switchingQuerier) takeLookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.lookups
	s.lookups = 0
	return n
}

// TestTopAllKeepsEachTeamsDialect: the refreshes of one reader ask a team's Prometheus for the
// dialect of its Envoy series once, not on every refresh; when the team's Envoys become another
// kind (stock Envoy, then Istio's sidecars), the kept dialect finds series without a cluster
// name, and the same refresh asks again and reads the clusters in the new dialect. A kept
// dialect is asked for again after dialectKept; --dialect is never asked for, nor kept.
func TestTopAllKeepsEachTeamsDialect(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	stock, err := demo.NewWithOptions(now, demo.Options{Dialect: envoysim.Stock})
	if err != nil {
		t.Fatal(err)
	}
	istio, err := demo.NewWithOptions(now, demo.Options{Dialect: envoysim.Istio})
	if err != nil {
		t.Fatal(err)
	}
	sq := &switchingQuerier{q: stock, lookup: queryText(t, promql.ClusterLabels(promql.Everything))}
	cfg := &traffic.Config{Selector: promql.Everything, Window: time.Minute, Source: traffic.SourceRaw}
	reader := teamsReader{
		prom: &PrometheusFlags{Timeout: time.Minute}, concurrency: defaultConcurrency, traffic: cfg, dialects: &teamDialects{},
		connect: func(context.Context, kube.StackSummary) (teamConn, error) {
			return teamConn{q: sq, target: "http://prometheus", close: func() {}, backend: backendPrometheus}, nil
		},
	}
	stack := kube.StackSummary{Namespace: "a", Team: "a"}
	readAt := func(r teamsReader, now time.Time) traffic.Frame {
		t.Helper()
		frame, err := r.clusters(t.Context(), sq, stack, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(frame.Rows) == 0 {
			t.Fatalf("no clusters read in dialect %q", frame.Dialect)
		}
		return frame
	}
	read := func(r teamsReader) traffic.Frame {
		t.Helper()
		return readAt(r, now)
	}

	for i, want := range []int{1, 0, 0} {
		if f := read(reader); f.Dialect != promql.DialectEnvoy.Name {
			t.Errorf("refresh %d: dialect %q, want envoy", i, f.Dialect)
		}
		if n := sq.takeLookups(); n != want {
			t.Errorf("refresh %d asked for the dialect %d times, want %d", i, n, want)
		}
	}
	// The health read goes through the same kept dialect.
	if h, err := reader.teamHealth(t.Context(), stack, now); err != nil || len(h.Rows) == 0 {
		t.Errorf("health: %d rows, %v; want the clusters", len(h.Rows), err)
	}
	if n := sq.takeLookups(); n != 0 {
		t.Errorf("the health read asked for the dialect %d times, want 0", n)
	}
	uncached := reader
	uncached.dialects = nil
	envoyRows := read(uncached).Rows
	sq.takeLookups()

	sq.use(istio)
	for i, want := range []int{1, 0} {
		if f := read(reader); f.Dialect != promql.DialectIstio.Name {
			t.Errorf("after the switch, refresh %d: dialect %q, want istio", i, f.Dialect)
		}
		if n := sq.takeLookups(); n != want {
			t.Errorf("after the switch, refresh %d asked for the dialect %d times, want %d", i, n, want)
		}
	}
	if got := len(read(uncached).Rows); got != len(envoyRows) {
		t.Errorf("istio: %d clusters, stock Envoy %d; want the same fleet", got, len(envoyRows))
	}
	sq.takeLookups()
	// A kept dialect is asked for again once it is dialectKept old.
	readAt(reader, now.Add(dialectKept-time.Second))
	if n := sq.takeLookups(); n != 0 {
		t.Errorf("a refresh just under dialectKept later asked for the dialect %d times, want 0", n)
	}
	readAt(reader, now.Add(dialectKept))
	if n := sq.takeLookups(); n != 1 {
		t.Errorf("a refresh dialectKept later asked for the dialect %d times, want 1", n)
	}

	given := reader
	given.dialects = &teamDialects{}
	given.traffic = &traffic.Config{Selector: promql.Everything, Window: time.Minute, Source: traffic.SourceRaw, Dialect: promql.DialectIstio}
	sq.takeLookups()
	read(given)
	if n := sq.takeLookups(); n != 0 {
		t.Errorf("--dialect istio asked for the dialect %d times, want 0", n)
	}
	if _, ok := given.dialects.get(stack, now); ok {
		t.Error("--dialect istio kept a dialect; it names it")
	}
}

// connLog records the connections a test's connect makes and closes, by team.
type connLog struct {
	mu             sync.Mutex
	opened, closed map[string]int
}

func (l *connLog) connect(servers map[string]*healthServer) func(context.Context, kube.StackSummary) (teamConn, error) {
	return func(_ context.Context, s kube.StackSummary) (teamConn, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.opened == nil {
			l.opened, l.closed = map[string]int{}, map[string]int{}
		}
		l.opened[s.Team]++
		return teamConn{q: servers[s.Team], target: "http://" + s.Team, backend: backendPrometheus, close: func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.closed[s.Team]++
		}}, nil
	}
}

// counts returns how many connections to team were made and closed so far.
func (l *connLog) counts(team string) (opened, closed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.opened[team], l.closed[team]
}

// TestTopAllKeepsEachTeamsTunnel: the live view's refreshes read each team through the connection
// the first refresh made. A connection is made again after a read through it failed, when the
// stack's shards change and once it is connKept old; it is closed when its team is no longer
// listed and when the view ends.
func TestTopAllKeepsEachTeamsTunnel(t *testing.T) {
	answers := map[string]float64{queryText(t, promql.FiringAlerts()): 0, queryText(t, promql.TargetsUp()): 3, queryText(t, promql.Targets()): 3}
	servers := map[string]*healthServer{"a": {answers: answers}, "b": {answers: answers}}
	log := &connLog{}
	conns := &teamConns{ctx: t.Context()}
	reader := teamsReader{prom: &PrometheusFlags{Timeout: 10 * time.Second}, concurrency: defaultConcurrency,
		connect: log.connect(servers), conns: conns}
	stacks := []kube.StackSummary{{Namespace: "a", Team: "a", Shards: 1, Replicas: 2}, {Namespace: "b", Team: "b", Shards: 1, Replicas: 2}}
	now := time.Now()
	refresh := func(at time.Time, stacks ...kube.StackSummary) {
		t.Helper()
		for _, row := range reader.rows(t.Context(), stacks, at) {
			if row.Reason != "" {
				t.Fatalf("%s: %s", row.Team, row.Reason)
			}
		}
		conns.keepOnly(stacks)
	}
	want := func(step, team string, opened, closed int) {
		t.Helper()
		if o, c := log.counts(team); o != opened || c != closed {
			t.Errorf("%s: team %s's connections made %d, closed %d; want %d, %d", step, team, o, c, opened, closed)
		}
	}

	for range 3 {
		refresh(now, stacks...)
	}
	want("three refreshes", "a", 1, 0)
	want("three refreshes", "b", 1, 0)

	// A read that fails closes the connection; the next refresh makes a new one.
	servers["a"].capacityErr = errors.New("connection reset")
	refresh(now, stacks...)
	want("a failed read", "a", 1, 1)
	servers["a"].capacityErr = nil
	refresh(now, stacks...)
	want("the refresh after", "a", 2, 1)

	// Two shards now: the route may lead to a Thanos Query.
	sharded := stacks[1]
	sharded.Shards = 2
	refresh(now, stacks[0], sharded)
	want("b sharded", "b", 2, 1)
	want("b sharded", "a", 2, 1)

	refresh(now.Add(connKept), stacks[0], sharded)
	want("connKept later", "a", 3, 2)

	want("connKept later", "b", 3, 2)

	refresh(now.Add(connKept), stacks[0])
	want("b no longer listed", "b", 3, 3)

	conns.close()
	want("the view ended", "a", 3, 3)
	refresh(now.Add(connKept), stacks[0])
	want("a read after the view ended", "a", 4, 4)
}
