package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/alertroute"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/alerts"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// AlertsOptions holds the alerts flags.
type AlertsOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	team     string
	output   *outputFlag
	prom     *PrometheusFlags
	state    string
	watch    bool
	interval time.Duration
	// configFile is an Alertmanager configuration to route the alerts through.
	configFile string

	// now is the clock; tests set it.
	now func() time.Time
}

// Which alerts --state shows.
const (
	stateAll = "all"
)

// NewAlertsOptions returns the options with their defaults.
func NewAlertsOptions(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *AlertsOptions {
	return &AlertsOptions{
		configFlags: configFlags, IOStreams: streams, prom: NewPrometheusFlags(configFlags, streams),
		output: newOutputFlag(formatTable, formatWide, formatJSON, formatYAML),
		state:  stateAll, interval: 5 * time.Second, now: time.Now,
	}
}

// NewCmdAlerts builds `alerts TEAM`.
func NewCmdAlerts(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := NewAlertsOptions(streams, configFlags)
	cmd := &cobra.Command{
		Use:   "alerts [TEAM] [flags]",
		Short: "Show a team's firing and pending alerts",
		Long: `Alerts lists the alerts the team's Prometheus holds now, firing first and then pending,
critical before warning: the alert, the upstream cluster it is about (envoy_namespace and
envoy_cluster_name), how long it has been active, the value of its expression, and its labels.

The Prometheus is reached as top reaches it: TEAM's Prometheus in namespace -n through a
port-forward (or the API server's service proxy with --via-proxy), or --prometheus-url.

-o wide adds the summary and every other label, -o json and -o yaml print
{"time", "via", "alerts": [{"alertname", "state", "severity", "envoy_cluster_name",
"active_since", "value", "receivers", "labels", "annotations"}]}. --watch prints the list again
whenever it changes, until interrupted. A team named test, which the test subcommand would take,
is given after --: alerts -- test.

RECEIVERS are the receivers each alert reaches, as alerts test shows them: the configuration the
Prometheus Operator generated for the Alertmanager the stack sends to is read from the cluster
(Secret alertmanager-NAME-generated) and routed with Alertmanager's own packages, or the one
--config-file names. When it cannot be read, a note on stderr says why and RECEIVERS shows -.`,
		Example: `  # What fires for team-a now
  kubectl promteam alerts team-a -n team-a

  # Firing only, as JSON, from a Prometheus at a URL
  kubectl promteam alerts --prometheus-url http://localhost:9090 --state firing -o json

  # Follow changes
  kubectl promteam alerts team-a -n team-a --watch

  # Where a label set would go
  kubectl promteam alerts test team-a -n team-a --labels severity=critical`,
		Args:              atMostOneArg("team name"),
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
	o.output.add(cmd, "")
	o.AddFlags(cmd.Flags())
	cmd.AddCommand(NewCmdAlertsTest(streams, configFlags))
	_ = cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions([]string{stateAll, alerts.StateFiring, alerts.StatePending}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// AddFlags binds the alerts flags.
func (o *AlertsOptions) AddFlags(fs *pflag.FlagSet) {
	o.prom.AddFlags(fs, false)
	fs.StringVar(&o.state, "state", o.state, "Which alerts to show: all, firing or pending")
	fs.BoolVarP(&o.watch, "watch", "w", o.watch, "After the list, print it again whenever it changes, until interrupted")
	fs.DurationVar(&o.interval, "interval", o.interval, "How often --watch asks Prometheus")
	fs.StringVar(&o.configFile, "config-file", o.configFile, "Route the alerts through this Alertmanager configuration file instead of the one the operator generated")
}

// Complete takes the team argument.
func (o *AlertsOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.team = args[0]
	}
	return nil
}

// Validate checks the options as a whole.
func (o *AlertsOptions) Validate() error {
	if !slices.Contains([]string{stateAll, alerts.StateFiring, alerts.StatePending}, o.state) {
		return flagError("state", o.state, errors.New("use all, firing or pending"))
	}
	if o.interval < time.Second {
		return flagError("interval", o.interval.String(), errors.New("use 1s or more, e.g. 5s"))
	}
	return o.prom.Validate(o.team)
}

// alertsDocument is what -o json and -o yaml print.
type alertsDocument struct {
	Time time.Time `json:"time"`
	Via  string    `json:"via"`
	// Backend is what answered: "prometheus" or "thanos-query".
	Backend string       `json:"backend"`
	Alerts  []alerts.Row `json:"alerts"`
}

// Run reads the alerts once, or until interrupted with --watch.
func (o *AlertsOptions) Run(ctx context.Context) error {
	q, target, closeFn, err := o.prom.Connect(ctx, o.team)
	if err != nil {
		return err
	}
	defer closeFn()
	source, ok := q.(alerts.Source)
	if !ok {
		return fmt.Errorf("%s cannot list alerts", target)
	}
	router, err := o.router(ctx)
	if err != nil {
		return err
	}
	if !o.watch {
		_, err := o.show(ctx, source, router, target, "")
		return err
	}
	ctx, stop := SignalContext(ctx)
	defer stop()
	last := ""
	for {
		shown, err := o.show(ctx, source, router, target, last)
		if s, signaled := Signaled(ctx); signaled {
			return &ExitError{Code: s.ExitCode()}
		}
		if err != nil {
			return err
		}
		last = shown
		select {
		case <-ctx.Done():
			if s, signaled := Signaled(ctx); signaled {
				return &ExitError{Code: s.ExitCode()}
			}
			return nil
		case <-time.After(o.interval):
		}
	}
}

// router routes the alerts through --config-file, or through the configuration the operator
// generated for the Alertmanager the team's stack sends to. When that cannot be read, the alerts
// are shown without receivers and a note on stderr says why; a --config-file that cannot be read
// is an error.
func (o *AlertsOptions) router(ctx context.Context) (alerts.Router, error) {
	ns := ""
	if o.team != "" {
		var err error
		if ns, err = namespaceOf(o.configFlags); err != nil {
			return nil, err
		}
	}
	scope := alertroute.Scope{Namespace: ns, Name: o.team}
	if o.configFile != "" {
		data, err := readCapped(o.configFile, alertroute.MaxConfigSize)
		if err == nil {
			var cfg *alertroute.Config
			if cfg, err = alertroute.Parse(data); err == nil {
				return configRouter{cfg, scope}, nil
			}
		}
		return nil, flagError("config-file", o.configFile, err)
	}
	if o.team == "" {
		return nil, nil
	}
	data, err := boundCall(ctx, o.configFlags, o.prom.Timeout, func(ctx context.Context) ([]byte, error) {
		client, err := kube.NewClient(o.configFlags)
		if err != nil {
			return nil, err
		}
		data, _, err := generatedConfig(ctx, client, o.team, ns)
		return data, err
	})
	var cfg *alertroute.Config
	if err == nil {
		cfg, err = alertroute.Parse(data)
	}
	if err != nil {
		fmt.Fprintf(o.ErrOut, "note: the receivers are not shown: %s\n", termtext.Sanitize(err.Error()))
		return nil, nil
	}
	return configRouter{cfg, scope}, nil
}

// configRouter names the receivers of an Alertmanager configuration an alert reaches: the names
// in the team's AlertmanagerConfig, the full ones for the others.
type configRouter struct {
	cfg   *alertroute.Config
	scope alertroute.Scope
}

func (r configRouter) Receivers(labels map[string]string) []string {
	out := []string{}
	for _, m := range r.cfg.Route(labels, r.scope) {
		out = append(out, m.DisplayName())
	}
	return out
}

// show prints the alerts unless they render as last did, and returns what it rendered.
func (o *AlertsOptions) show(ctx context.Context, source alerts.Source, router alerts.Router, target, last string) (string, error) {
	list, err := source.Alerts(ctx)
	if err != nil {
		return "", err
	}
	now := o.now()
	rows := alerts.Rows(list, router, now)
	if o.state != stateAll {
		rows = slices.DeleteFunc(rows, func(r alerts.Row) bool { return r.State != o.state })
	}
	var buf bytes.Buffer
	if o.output.structured() {
		// The document's time changes every round; --watch compares the alerts.
		key, err := json.Marshal(rows)
		if err != nil {
			return "", err
		}
		if string(key) == last {
			return last, nil
		}
		if err := writeDocument(&buf, o.output.format(), alertsDocument{Time: now.UTC(), Via: target, Backend: o.prom.Backend(), Alerts: rows}); err != nil {
			return "", err
		}
		_, err = o.Out.Write(buf.Bytes())
		return string(key), err
	}
	writeAlertsTable(&buf, rows, o.output.format() == formatWide)
	if buf.String() == last {
		return last, nil
	}
	_, err = o.Out.Write(buf.Bytes())
	return buf.String(), err
}

// writeAlertsTable writes rows as a table; every value from Prometheus is sanitized.
func writeAlertsTable(w io.Writer, rows []alerts.Row, wide bool) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "No alerts are firing or pending.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	header := "STATE\tSEVERITY\tALERT\tCLUSTER\tAGE\tVALUE\tRECEIVERS"
	if wide {
		header += "\tSUMMARY\tLABELS"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		cluster := r.Cluster
		if ns := r.Labels[manifests.AlertLabelEnvoyNamespace]; ns != "" && cluster != "" {
			cluster = ns + "/" + cluster
		}
		age := "-"
		if !r.Since.IsZero() {
			age = duration.HumanDuration(r.Age)
		}
		receivers := strings.Join(r.Receivers, ",")
		line := []string{r.State, dash(r.Severity), r.Name, dash(cluster), age, dash(alertValue(r.Value)), dash(receivers)}
		if wide {
			line = append(line, dash(r.Annotations["summary"]), dash(otherLabels(r.Labels)))
		}
		for i := range line {
			line[i] = termtext.Sanitize(line[i])
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// otherLabels are the labels the table's columns do not show, as name=value pairs.
func otherLabels(labels map[string]string) string {
	shown := []string{"alertname", "severity", "envoy_cluster_name", manifests.AlertLabelEnvoyNamespace}
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range labels {
			if !yield(k) {
				return
			}
		}
	}) {
		if !slices.Contains(shown, k) {
			parts = append(parts, k+"="+labels[k])
		}
	}
	return strings.Join(parts, ",")
}

// alertValue prints the value Prometheus gives an alert, such as 1.1963145928661623e-01, with four
// significant digits (0.1196); a value that is not a number is printed as it came.
func alertValue(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}
