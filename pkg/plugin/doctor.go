package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor/kubecluster"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// DoctorOptions holds the doctor flags.
type DoctorOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	team   string
	output *outputFlag
	prom   *PrometheusFlags
	// client is the client for --prometheus-url, built by Validate.
	client  *prom.Client
	wait    time.Duration
	timeout time.Duration
	// waitSet is whether --wait was given.
	waitSet bool
}

// NewDoctorOptions returns the options with their defaults.
func NewDoctorOptions(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *DoctorOptions {
	return &DoctorOptions{
		configFlags: configFlags, IOStreams: streams, prom: NewPrometheusFlags(configFlags, streams),
		wait: doctor.DefaultReconcileWait, timeout: defaultDoctorTimeout,
		output: newOutputFlag(formatTable, formatJSON, formatYAML).alias("text", formatTable),
	}
}

// NewCmdDoctor builds `doctor TEAM`.
func NewCmdDoctor(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := NewDoctorOptions(streams, configFlags)
	cmd := &cobra.Command{
		Use:   "doctor TEAM [flags]",
		Short: "Explain why a team's monitoring is broken, and how to fix it",
		Long: `Doctor checks a team's stack the way the Prometheus Operator's most common support questions go,
and prints one line per check (passed, failed or skipped, with the reason) and the exact fix for
every failure:

  api               the API server answers and the credentials work
  crds              the operator's CRDs are installed, and which operator version made them
  stack             the team's Prometheus exists
  reconciled        an operator reconciles it (no status at all: no operator watches the namespace)
  selectors         no null selector (null selects nothing, {} selects everything)
  selection         the selectors pick every monitor and rule of the team
  service           the Prometheus has its own Service, not the shared prometheus-operated
  ports             each monitor's port name exists on the pods or Services it selects
  rbac              the Prometheus ServiceAccount may discover where its monitors look
  storage           retention, volume and storage class
  sharding          a sharded Prometheus (--shards) is seen as one, through Thanos or remote write
  podsecurity       the pods meet the namespace's Pod Security level
  rules             the rules are selected and the operator did not reject them
  duplicates        no other Prometheus scrapes the team's Envoys as well
  alert-delivery    alerts go to an Alertmanager that reads the team's AlertmanagerConfig
  alert-routing     every alert carries the labels its route matches under the Alertmanager's
                    matcher strategy, and the route takes no other team's alerts
  receiver-secrets  the Secret keys the receivers read exist
  targets           scrape targets are up (when Prometheus can be reached)
  envoy-series      Envoy's statistics arrive
  capacity          the largest scrape within 80% of the sample limit, the largest scrape pool
                    within 80% of the target limit, and the memory the head implies (about
                    1.9 KB a series) within half the memory limit
  alertmanagers     Prometheus discovered the Alertmanager it sends alerts to
  notifications     the team's own Alertmanager sent its notifications without failing over the
                    last hour (alertmanager_notifications_failed_total, which its ServiceMonitor
                    has the team's Prometheus scrape)
  thanos-stores     with Thanos: the team's Thanos Query sees the sidecar of every shard and
                    replica, healthy (/api/v1/stores), and names the pods it misses
  thanos-uploads    with Thanos object storage: every sidecar uploads blocks and none failed
                    (thanos_shipper_* read through pods/proxy; needs get pods/proxy)

Prometheus is reached through a port-forward to one of its pods (as kubectl promteam
port-forward does), through the API server's service proxy with --via-proxy, or at
--prometheus-url (with --prometheus-ca-file, --prometheus-bearer-token-file and
--prometheus-insecure-skip-tls-verify as top and compare take them); when it cannot be reached
the live checks are skipped with the reason. When the stack has a Thanos Query (create --thanos),
the live checks read it instead, so that they see every shard (-o json says "backend":
"thanos-query"); --direct keeps them on one Prometheus pod. The exit status is 1 when a check
failed and 2 on error.`,
		Example: `  kubectl promteam doctor team-a -n team-a
  kubectl promteam doctor team-a -n team-a -o json
  kubectl promteam doctor team-a -n team-a --via-proxy
  kubectl promteam doctor team-a -n team-a --prometheus-url https://prometheus.example:9090 \
      --prometheus-ca-file ca.pem --prometheus-bearer-token-file token`,
		Annotations:       map[string]string{errorExitAnnotation: strconv.Itoa(doctorErrorExit)},
		Args:              exactlyOneArg("team name"),
		ValidArgsFunction: teamCompletion(configFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	o.output.add(cmd, "table is a line per check and the fix for each failure")
	return cmd
}

// AddFlags binds the doctor flags.
func (o *DoctorOptions) AddFlags(fs *pflag.FlagSet) {
	o.prom.AddConnectionFlags(fs)
	fs.DurationVar(&o.wait, "wait", o.wait, "How long to wait for the operator to report on a Prometheus without status")
	addTimeoutFlag(fs, &o.timeout)
}

// Complete reads the team argument and which flags were given.
func (o *DoctorOptions) Complete(cmd *cobra.Command, args []string) error {
	o.team = args[0]
	o.waitSet = cmd.Flags().Changed("wait")
	// Each request to Prometheus is bounded by the live checks' own limit and the whole run's.
	o.prom.Timeout = o.timeout
	return nil
}

// Validate checks the options as a whole; without --wait, the wait is at most half of --timeout.
func (o *DoctorOptions) Validate() error {
	if err := o.prom.validateConnection(); err != nil {
		return err
	}
	if o.wait < 0 {
		return flagError("wait", o.wait.String(), errors.New("use 0 or more, e.g. 30s"))
	}
	if err := validateTimeout(o.timeout); err != nil {
		return err
	}
	if !o.waitSet {
		o.wait = min(o.wait, o.timeout/2)
	}
	if o.wait >= o.timeout {
		return flagError("wait", o.wait.String(), fmt.Errorf("use less than --timeout %s, which bounds the whole run", o.timeout))
	}
	if err := validateTeam(o.team); err != nil {
		return err
	}
	if o.prom.URL != "" {
		// Reads the CA and token files, before anything is asked of the cluster.
		c, err := o.prom.urlClient()
		if err != nil {
			return err
		}
		o.client = c
	}
	return nil
}

// defaultDoctorTimeout bounds doctor's whole run: its checks, the wait for the operator and the
// live checks against Prometheus.
const defaultDoctorTimeout = 2 * time.Minute

// doctor's exit statuses: a failed check is its finding, not an error.
const (
	doctorFailedExit = 1
	doctorErrorExit  = 2
)

// Run checks the stack and prints the report, within --timeout; the exit status is
// doctorFailedExit when a check failed.
func (o *DoctorOptions) Run(ctx context.Context) error {
	return o.diagnose(ctx, "Checking team "+o.team, func(ctx context.Context, c doctor.Cluster, live doctorLive, ns string) diagnosis {
		report := doctor.Run(ctx, c, live.prometheus, o.team, ns, doctor.Options{ReconcileWait: o.wait, Thanos: live.thanos})
		report.Backend = live.backend
		return report
	})
}

// diagnosis is what doctor and why print: a report of every check, or the trace of one thing.
type diagnosis interface {
	WriteText(w io.Writer, color bool) error
	Failed() bool
}

// diagnose reaches the cluster and what the live checks read, runs run within --timeout and
// prints what it found, in the -o format; the exit status is doctorFailedExit when it failed.
// doing says what runs, for the line on a terminal's stderr.
func (o *DoctorOptions) diagnose(ctx context.Context, doing string, run func(ctx context.Context, c doctor.Cluster, live doctorLive, ns string) diagnosis) error {
	ns, err := namespaceOf(o.configFlags)
	if err != nil {
		return err
	}
	if isTerminal(o.ErrOut) && !o.output.structured() {
		fmt.Fprintf(o.ErrOut, "%s in namespace %s…\n", doing, ns)
	}
	found, err := boundCall(ctx, o.configFlags, o.timeout, func(ctx context.Context) (diagnosis, error) {
		cfg, err := o.configFlags.ToRESTConfig()
		if err != nil {
			return nil, fmt.Errorf("cannot read the kubeconfig: %v", firstLine(err.Error()))
		}
		cluster, err := kubecluster.New(cfg)
		if err != nil {
			return nil, err
		}
		live, err := o.connect(ctx, cfg, ns)
		if err != nil {
			return nil, err
		}
		defer live.release()
		return run(ctx, cluster, live, ns), nil
	})
	if err != nil {
		return err
	}
	if o.output.structured() {
		if err := writeDocument(o.Out, o.output.format(), found); err != nil {
			return err
		}
	} else if err := found.WriteText(o.Out, isTerminal(o.Out) && !noColor()); err != nil {
		return err
	}
	if found.Failed() {
		return &ExitError{Code: doctorFailedExit}
	}
	return nil
}

// doctorLive is what the live checks read.
type doctorLive struct {
	prometheus liveSource
	// thanos is the team's Thanos Query and sidecars; nil without one.
	thanos  doctor.Thanos
	backend string
	release func()
}

// connect reaches what the live checks read: the team's Prometheus at --prometheus-url, or in
// the cluster one of its pods and, for a stack with a Thanos Query (unless --direct), the Query,
// which then answers every live check but alertmanagers (a Prometheus' own discovery). What
// cannot be reached (no stack, no ready pod, no permission) has its checks skipped with the
// reason.
func (o *DoctorOptions) connect(ctx context.Context, cfg *rest.Config, ns string) (doctorLive, error) {
	live := doctorLive{backend: backendPrometheus, release: func() {}}
	if o.client != nil {
		live.prometheus = o.client
		return live, nil
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return doctorLive{}, err
	}
	direct, release, err := o.reach(ctx, cfg, client, ns, route{backend: backendPrometheus})
	if err != nil {
		return doctorLive{}, err
	}
	live.prometheus, live.release = direct, release
	r, err := findRoute(ctx, cfg, client, ns, o.team, o.prom.Direct)
	if err != nil || r.backend != backendThanosQuery {
		if r.warning != "" {
			fmt.Fprintf(o.ErrOut, "warning: %s\n", termtext.Sanitize(r.warning))
		}
		return live, nil
	}
	query, releaseQuery, err := o.reach(ctx, cfg, client, ns, r)
	if err != nil {
		release()
		return doctorLive{}, err
	}
	live.release = func() { releaseQuery(); release() }
	qc, ok := query.(*prom.Client)
	if !ok {
		live.thanos = doctor.UnreachableThanos{Err: query.(unreachable).err}
		return live, nil
	}
	live.thanos = thanosAccess{Client: qc, pods: client.CoreV1().RESTClient()}
	live.prometheus = thanosLive{Client: qc, direct: direct}
	live.backend = backendThanosQuery
	return live, nil
}

// reach reaches the backend r leads to through the API server's service proxy (--via-proxy) or,
// by default, a port-forward to one of its pods; when neither can be set up, the checks that
// read it are skipped with the reason (unreachable). release closes the port-forward.
func (o *DoctorOptions) reach(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, ns string, r route) (liveSource, func(), error) {
	release := func() {}
	if o.prom.ViaProxy {
		base, rt, err := routeProxy(ctx, r, cfg, client, ns, o.team)
		if err != nil {
			return unreachable{err}, release, nil
		}
		c, err := o.prom.routeClient(r, base, rt, false)
		if err != nil {
			return nil, nil, err
		}
		return c, release, nil
	}
	fw, err := startTunnel(ctx, r.tunnel(tunnelOptions{
		config: cfg, client: client, namespace: ns, team: o.team, address: "127.0.0.1", ports: []int{0},
		log: io.Discard,
	}))
	if err != nil {
		return unreachable{err}, release, nil
	}
	c, err := o.prom.routeClient(r, fw.URL(), nil, cfg.DisableCompression)
	if err != nil {
		_ = fw.Close()
		return nil, nil, err
	}
	return c, func() { _ = fw.Close() }, nil
}

// thanosLive answers the live checks from the team's Thanos Query, which sees every shard and
// replica, but for the Alertmanagers a Prometheus discovered, which only a Prometheus pod knows.
type thanosLive struct {
	*prom.Client
	direct liveSource
}

func (t thanosLive) Alertmanagers(ctx context.Context) ([]string, []string, error) {
	return t.direct.Alertmanagers(ctx)
}

// maxSidecarMetricsBytes bounds a sidecar's /metrics: a few hundred KiB in practice.
const maxSidecarMetricsBytes = 8 << 20

// thanosAccess is the team's Thanos Query, and its sidecars' metrics through the API server's
// pods/proxy.
type thanosAccess struct {
	*prom.Client
	pods rest.Interface
}

// Shipper implements doctor.Thanos: it reads the sidecar's metrics on pod through pods/proxy.
func (t thanosAccess) Shipper(ctx context.Context, namespace, pod string) (doctor.Shipper, error) {
	rc, err := t.pods.Get().Namespace(namespace).Resource("pods").
		Name(pod + ":" + strconv.Itoa(manifests.ThanosSidecarHTTPPort)).SubResource("proxy").Suffix("metrics").Stream(ctx)
	if err != nil {
		return doctor.Shipper{}, err
	}
	defer func() { _ = rc.Close() }()
	body, err := io.ReadAll(io.LimitReader(rc, maxSidecarMetricsBytes+1))
	if err != nil {
		return doctor.Shipper{}, err
	}
	if len(body) > maxSidecarMetricsBytes {
		return doctor.Shipper{}, fmt.Errorf("the sidecar's metrics are over %s", prom.FormatBytes(maxSidecarMetricsBytes))
	}
	return doctor.ParseShipper(body)
}

// liveSource is what doctor's live checks and why's live links read.
type liveSource interface {
	doctor.Prometheus
	doctor.TraceSource
}

// unreachable is a Prometheus that could not be reached: the live checks say why.
type unreachable struct{ err error }

func (u unreachable) Targets(context.Context) ([]doctor.Target, error) { return nil, u.err }

func (u unreachable) HasSeries(context.Context, string) (bool, error) { return false, u.err }

func (u unreachable) Alertmanagers(context.Context) ([]string, []string, error) {
	return nil, nil, u.err
}

func (u unreachable) Notifications(context.Context, string, string, time.Duration) (doctor.Notifications, error) {
	return doctor.Notifications{}, u.err
}

func (u unreachable) Capacity(context.Context) (doctor.Capacity, error) {
	return doctor.Capacity{}, u.err
}

func (u unreachable) CountSeries(context.Context, *parser.VectorSelector) (int, error) {
	return 0, u.err
}

func (u unreachable) Rules(context.Context) ([]doctor.Rule, error) { return nil, u.err }
