package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/compare"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/demo"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/envoysim"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/tui"
)

// connections are the Prometheus connections a dashboard holds: the one it reads from and, for
// the moment a switch takes, the one it read from before. Each is released once, by the
// dashboard's Retire or when top ends, whichever comes first.
type connections struct {
	mu     sync.Mutex
	open   map[int]func()
	next   int
	closed bool
	// current releases the connection the dashboard reads from.
	current func()
}

// replace holds release as the current connection and returns what releases the previous one.
func (c *connections) replace(release func()) (previous func(), err error) {
	held, err := c.add(release)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	previous, c.current = c.current, held
	if previous == nil {
		previous = func() {}
	}
	return previous, nil
}

// add holds release; it returns the function that releases it once, or an error when top has
// ended meanwhile (release has then run).
func (c *connections) add(release func()) (func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		release()
		return nil, errors.New("top is ending")
	}
	if c.open == nil {
		c.open = map[int]func(){}
	}
	id := c.next
	c.next++
	c.open[id] = release
	return func() {
		c.mu.Lock()
		r, ok := c.open[id]
		delete(c.open, id)
		c.mu.Unlock()
		if ok {
			r()
		}
	}, nil
}

// close releases every connection; a switch that connects later releases its own at once.
func (c *connections) close() {
	c.mu.Lock()
	open := c.open
	c.open, c.closed = nil, true
	c.mu.Unlock()
	for _, r := range open {
		r()
	}
}

// dashboard is what the dashboard reads from one Prometheus: the Source, the live comparison,
// and the rebuilds of the w and b keys.
type dashboard struct {
	src       source
	cmp       tui.CompareFunc
	setWindow func(time.Duration) (tui.Source, error)
	setGroup  func(traffic.GroupBy) (tui.Source, error)
}

// dashboardParts is what the dashboard reads from a Querier over window, its rows grouped by
// group: a window other than --window's reads as the w key's do, and "" is --group-by's.
func (o *TopOptions) dashboardParts(q traffic.Querier, window time.Duration, group traffic.GroupBy) (dashboard, error) {
	cfg := o.collectorConfig()
	if window > 0 && window != cfg.Window {
		cfg = o.windowConfig(window)
	}
	if group != "" {
		cfg.GroupBy = group
	}
	src, err := o.newSource(q, cfg)
	if err != nil {
		return dashboard{}, err
	}
	d := dashboard{src: src}
	if cq, ok := q.(compare.Querier); ok {
		d.cmp = liveCompare(cq, compare.Config{
			Dialect: cfg.Dialect, Selector: o.selector, Window: compareWindow, Step: compareStep,
			Thresholds: compare.DefaultThresholds(),
		})
	}
	// The w and b keys each change one thing and keep what the other chose. Both run in the
	// dashboard's Update, one at a time.
	cur := cfg
	d.setWindow = func(w time.Duration) (tui.Source, error) {
		c := o.windowConfig(w)
		c.GroupBy = cur.GroupBy
		s, err := o.newSource(q, c)
		if err == nil {
			cur = c
		}
		return s, err
	}
	d.setGroup = func(g traffic.GroupBy) (tui.Source, error) {
		c := cur
		c.GroupBy = g
		s, err := o.newSource(q, c)
		if err == nil {
			cur = c
		}
		return s, err
	}
	return d, nil
}

// clusterSwitcher switches top's dashboard to another team, namespace or kubeconfig context: it
// lists the contexts of the kubeconfig, the namespaces and the team stacks as list finds them,
// and reaches the chosen team's Prometheus with the same flags as the first one.
type clusterSwitcher struct {
	o     *TopOptions
	conns *connections
	// ctx is top's: the tunnels a switch opens live as long as it.
	ctx context.Context
	now func() time.Time
	// origin is the context top started in, the one credential flags were given for.
	origin string

	mu sync.Mutex
	// current is where the dashboard reads from, marked in the pickers.
	current tui.Place
}

// here is where the dashboard reads from.
func (s *clusterSwitcher) here() tui.Place {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// startPlace is where top reads from at the start: the kubeconfig's context (--context or the
// current one), the team's namespace and the team.
func (o *TopOptions) startPlace() tui.Place {
	p := tui.Place{Team: o.team}
	if o.configFlags.Context != nil && *o.configFlags.Context != "" {
		p.Context = *o.configFlags.Context
	} else if raw, err := o.configFlags.ToRawKubeConfigLoader().RawConfig(); err == nil {
		p.Context = raw.CurrentContext
	}
	p.Namespace, _ = namespaceOf(o.configFlags)
	return p
}

// flagsAt are the kubeconfig flags of base in another context and namespace: an empty context
// keeps base's, an empty namespace is the context's own. Credentials given as flags (--token,
// --username, --password, --client-certificate, --client-key, --user) were given for the API
// server of origin, the context top started in: in another context they are left out, unless
// --server or --cluster keeps that server, so that they never reach another cluster's.
func flagsAt(base *genericclioptions.ConfigFlags, origin, kubeContext, namespace string) *genericclioptions.ConfigFlags {
	f := genericclioptions.NewConfigFlags(true)
	f.CacheDir, f.KubeConfig = base.CacheDir, base.KubeConfig
	f.ClusterName, f.AuthInfoName, f.Context = base.ClusterName, base.AuthInfoName, base.Context
	f.APIServer, f.TLSServerName, f.Insecure = base.APIServer, base.TLSServerName, base.Insecure
	f.CertFile, f.KeyFile, f.CAFile, f.BearerToken = base.CertFile, base.KeyFile, base.CAFile, base.BearerToken
	f.Impersonate, f.ImpersonateUID, f.ImpersonateGroup = base.Impersonate, base.ImpersonateUID, base.ImpersonateGroup
	f.ImpersonateUserExtra, f.Username, f.Password = base.ImpersonateUserExtra, base.Username, base.Password
	f.Timeout, f.DisableCompression, f.ProxyURL, f.WrapConfigFn = base.Timeout, base.DisableCompression, base.ProxyURL, base.WrapConfigFn
	if kubeContext != "" {
		f.Context = &kubeContext
	}
	f.Namespace = &namespace
	pinned := flagValue(base.APIServer) != "" || flagValue(base.ClusterName) != ""
	if kubeContext != "" && kubeContext != origin && !pinned {
		for _, cred := range []**string{&f.BearerToken, &f.Username, &f.Password, &f.CertFile, &f.KeyFile, &f.AuthInfoName} {
			none := ""
			*cred = &none
		}
	}
	return f
}

// flagValue is a flag's value, "" when it has none.
func flagValue(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Choices lists contexts, namespaces or teams, within --timeout.
func (s *clusterSwitcher) Choices(ctx context.Context, kind tui.Kind, in tui.Place) ([]tui.Choice, error) {
	here := s.here()
	flags := flagsAt(s.o.configFlags, s.origin, in.Context, in.Namespace)
	return boundCall(ctx, flags, s.o.prom.Timeout, func(ctx context.Context) ([]tui.Choice, error) {
		switch kind {
		case tui.KindContext:
			return s.contexts(here)
		case tui.KindNamespace:
			return s.namespaces(ctx, flags, in, here)
		}
		return s.teams(ctx, flags, in, here)
	})
}

// contexts are the kubeconfig's contexts, by name.
func (s *clusterSwitcher) contexts(here tui.Place) ([]tui.Choice, error) {
	raw, err := s.o.configFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot read the kubeconfig: %v", firstLine(err.Error()))
	}
	var out []tui.Choice
	for name, c := range raw.Contexts {
		note := "cluster " + c.Cluster
		if c.Namespace != "" {
			note += ", namespace " + c.Namespace
		}
		out = append(out, tui.Choice{Place: tui.Place{Context: name}, Label: name, Note: note, Current: name == here.Context})
	}
	slices.SortFunc(out, func(a, b tui.Choice) int { return strings.Compare(a.Label, b.Label) })
	return out, nil
}

// namespaces are the namespaces of the context in.Context, for a user who may list them.
func (s *clusterSwitcher) namespaces(ctx context.Context, flags *genericclioptions.ConfigFlags, in, here tui.Place) ([]tui.Choice, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot read the kubeconfig: %v", firstLine(err.Error()))
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("cannot list the namespaces (pick a team with T instead): %w", explainKube(cfg, err))
	}
	out := make([]tui.Choice, 0, len(list.Items))
	for _, ns := range list.Items {
		out = append(out, tui.Choice{Place: tui.Place{Context: in.Context, Namespace: ns.Name}, Label: ns.Name,
			Current: sameContext(in, here) && ns.Name == here.Namespace})
	}
	slices.SortFunc(out, func(a, b tui.Choice) int { return strings.Compare(a.Label, b.Label) })
	return out, nil
}

// teams are the team stacks in in.Namespace or, without one, in every namespace the user may
// list, else in the context's namespace.
func (s *clusterSwitcher) teams(ctx context.Context, flags *genericclioptions.ConfigFlags, in, here tui.Place) ([]tui.Choice, error) {
	client, err := kube.NewClient(flags)
	if err != nil {
		return nil, err
	}
	var stacks []kube.StackSummary
	if in.Namespace == "" {
		stacks, err = client.ListStacks(ctx, "", true)
		if err != nil {
			// Not allowed to list across the cluster: the context's namespace.
			ns, nsErr := namespaceOf(flags)
			if nsErr != nil {
				return nil, nsErr
			}
			stacks, err = client.ListStacks(ctx, ns, false)
		}
	} else {
		stacks, err = client.ListStacks(ctx, in.Namespace, false)
	}
	if err != nil {
		return nil, err
	}
	out := make([]tui.Choice, 0, len(stacks))
	seen := map[tui.Place]bool{}
	for _, st := range stacks {
		p := tui.Place{Context: in.Context, Namespace: st.Namespace, Team: st.Team}
		if seen[p] {
			continue // shards of one team
		}
		seen[p] = true
		out = append(out, tui.Choice{Place: p, Label: st.Namespace + "/" + st.Team, Note: stackStatus(st, s.now()),
			Current: sameContext(in, here) && st.Namespace == here.Namespace && st.Team == here.Team})
	}
	return out, nil
}

// sameContext reports whether a picker in place in lists the context top reads from.
func sameContext(in, here tui.Place) bool {
	return in.Context == "" || in.Context == here.Context
}

// Switch reaches the team at to with top's flags; the previous connection is released by the
// returned Retire once the dashboard reads from the new one.
func (s *clusterSwitcher) Switch(ctx context.Context, to tui.Place, window time.Duration, group traffic.GroupBy) (tui.Switched, error) {
	if err := validateTeam(to.Team); err != nil {
		return tui.Switched{}, err
	}
	prom := *s.o.prom
	prom.configFlags = flagsAt(s.o.configFlags, s.origin, to.Context, to.Namespace)
	// The dashboard owns the terminal: what the tunnel says while it connects would tear it.
	prom.errOut = io.Discard
	// Connect bounds itself by --timeout; the tunnel it opens lives as long as top.
	q, target, release, err := prom.Connect(s.ctx, to.Team)
	if err != nil {
		return tui.Switched{}, err
	}
	sw, err := switchTo(ctx, s.o, s.conns, q, release, window, group)
	if err != nil {
		return tui.Switched{}, err
	}
	sw.Place, sw.Target, sw.Backend = to, target, prom.Backend()
	s.mu.Lock()
	s.current = to
	s.mu.Unlock()
	return sw, nil
}

// switchTo builds the dashboard's parts over q and holds release among conns; on any error
// release has run and nothing changed.
func switchTo(ctx context.Context, o *TopOptions, conns *connections, q traffic.Querier, release func(), window time.Duration, group traffic.GroupBy) (tui.Switched, error) {
	if err := ctx.Err(); err != nil {
		release()
		return tui.Switched{}, err
	}
	d, err := o.dashboardParts(q, window, group)
	if err != nil {
		release()
		return tui.Switched{}, err
	}
	previous, err := conns.replace(release)
	if err != nil {
		return tui.Switched{}, err
	}
	return tui.Switched{Source: d.src, Compare: d.cmp, SetWindow: d.setWindow, SetGroupBy: d.setGroup, Retire: previous}, nil
}

// demoTeams are the simulated teams of top --demo: the demo fleet and a larger one.
var demoTeams = []string{"demo", "demo-large"}

// demoSwitcher switches top --demo between its simulated teams.
type demoSwitcher struct {
	o     *TopOptions
	conns *connections

	mu      sync.Mutex
	current string
}

// demoFleet is the fleet of a simulated team.
func demoFleet(team string, now time.Time) *envoysim.Fleet {
	if team == "demo-large" {
		return envoysim.ScaleFleet(now.Add(-time.Hour), 40, 2)
	}
	return envoysim.DemoFleet(now.Add(-time.Hour))
}

func (s *demoSwitcher) Choices(_ context.Context, kind tui.Kind, _ tui.Place) ([]tui.Choice, error) {
	switch kind {
	case tui.KindContext:
		return nil, errors.New("the demo has no kubeconfig contexts: it simulates teams " + demoTeams[0] + " and " + demoTeams[1] + " in namespace " + demo.Namespace)
	case tui.KindNamespace:
		return []tui.Choice{{Place: tui.Place{Namespace: demo.Namespace}, Label: demo.Namespace, Note: "simulated", Current: true}}, nil
	}
	s.mu.Lock()
	current := s.current
	s.mu.Unlock()
	var out []tui.Choice
	for _, t := range demoTeams {
		out = append(out, tui.Choice{Place: tui.Place{Namespace: demo.Namespace, Team: t}, Label: demo.Namespace + "/" + t,
			Note: "simulated", Current: t == current})
	}
	return out, nil
}

func (s *demoSwitcher) Switch(ctx context.Context, to tui.Place, window time.Duration, group traffic.GroupBy) (tui.Switched, error) {
	if !slices.Contains(demoTeams, to.Team) || to.Namespace != demo.Namespace {
		return tui.Switched{}, fmt.Errorf("the demo has no team %s in namespace %s", to.Team, to.Namespace)
	}
	now := time.Now()
	d, err := demo.NewWithOptions(now, demo.Options{Fleet: demoFleet(to.Team, now)})
	if err != nil {
		return tui.Switched{}, err
	}
	sw, err := switchTo(ctx, s.o, s.conns, d, func() { _ = d.Close() }, window, group)
	if err != nil {
		return tui.Switched{}, err
	}
	sw.Place, sw.Target, sw.Backend = to, demoTarget, backendPrometheus
	s.mu.Lock()
	s.current = to.Team
	s.mu.Unlock()
	return sw, nil
}
