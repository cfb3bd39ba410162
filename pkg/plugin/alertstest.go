package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/alertroute"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// Exit statuses of alerts test: the verdict first, errors after it.
const (
	alertsTestUnroutedExit = 1
	alertsTestErrorExit    = 2
)

// AlertsTestOptions holds the alerts test flags.
type AlertsTestOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	team, namespace string
	labelArgs       []string
	stackLabels     bool
	configFile      string
	output          *outputFlag
	timeout         time.Duration

	labels map[string]string
	added  []string
}

// NewCmdAlertsTest builds `alerts test TEAM --labels k=v,...`.
func NewCmdAlertsTest(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &AlertsTestOptions{configFlags: configFlags, IOStreams: streams, stackLabels: true, timeout: defaultTimeout,
		output: newOutputFlag(formatTable, formatWide, formatJSON, formatYAML)}
	cmd := &cobra.Command{
		Use:   "test TEAM --labels NAME=VALUE,... [flags]",
		Short: "Show the receivers an alert with these labels reaches",
		Long: `Test routes a label set through the Alertmanager configuration the team's alerts go to, with
Alertmanager's own configuration and routing packages, and prints the receivers it reaches in the
order Alertmanager notifies them: the receiver's name in the team's AlertmanagerConfig, whether
routing continued past its route, what it groups by, and the route's matchers from the root down.

The configuration is the one the Prometheus Operator generated from every AlertmanagerConfig the
Alertmanager selects (Secret alertmanager-NAME-generated in the Alertmanager's namespace), for
the Alertmanager the team's stack sends its alerts to (create --alertmanager): so it tells what
the running Alertmanager does, under its alertmanagerConfigMatcherStrategy. Reading it needs
permission to get that Secret; --config-file tests a configuration saved to a file instead.

The labels every alert of the stack carries (team=TEAM and namespace=NAMESPACE) are added unless
given or --stack-labels=false; the command says which it added. NAME= with no value leaves a label
out, as an alert without it. A value holding a comma is quoted: --labels 'summary="a, b"'.

Exit status: 0 when a receiver of the team's AlertmanagerConfig that notifies someone takes the
alert, 1 when none does (it reaches only the root or the team's unrouted receiver), 2 on error.

-o wide adds the receiver's full name (NAMESPACE/CONFIG/RECEIVER) and the route's intervals;
-o json and -o yaml print {"config", "labels", "added_labels", "delivered", "receivers":
[{"receiver", "name", "team", "notifies", "continue", "group_by", "group_wait",
"group_interval", "repeat_interval", "route"}]}.`,
		Example: `  # Where a critical alert about the checkout cluster goes
  kubectl promteam alerts test team-a -n team-a --labels severity=critical,envoy_cluster_name=checkout

  # An alert that lost its namespace label
  kubectl promteam alerts test team-a -n team-a --labels severity=critical,namespace=

  # Against a configuration saved to a file
  kubectl promteam alerts test team-a -n team-a --labels severity=warning --config-file alertmanager.yaml`,
		Args:              exactlyOneArg("team name"),
		ValidArgsFunction: teamCompletion(configFlags),
		Annotations:       map[string]string{errorExitAnnotation: strconv.Itoa(alertsTestErrorExit)},
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
	o.output.add(cmd, "wide adds the receiver's full name and the route's intervals")
	o.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags binds the alerts test flags.
func (o *AlertsTestOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&o.labelArgs, "labels", "l", nil, "The alert's labels, as NAME=VALUE,...; repeat or separate with commas; quote a value that holds a comma")
	fs.BoolVar(&o.stackLabels, "stack-labels", o.stackLabels, "Add the labels every alert of the stack carries (team and namespace) unless --labels gives them")
	fs.StringVar(&o.configFile, "config-file", o.configFile, "Test this Alertmanager configuration file instead of the one the operator generated")
	addTimeoutFlag(fs, &o.timeout)
}

// Complete takes the team and the namespace, and parses --labels.
func (o *AlertsTestOptions) Complete(_ *cobra.Command, args []string) error {
	o.team = args[0]
	if err := validateTeam(o.team); err != nil {
		return err
	}
	ns, err := namespaceOf(o.configFlags)
	if err != nil {
		return err
	}
	o.namespace = ns
	o.labels = map[string]string{}
	for _, arg := range o.labelArgs {
		pairs, err := parseLabelList(arg)
		if err != nil {
			return flagError("labels", arg, err)
		}
		for _, p := range pairs {
			if _, dup := o.labels[p[0]]; dup {
				return flagError("labels", arg, fmt.Errorf("label %s is given twice; give each label once", p[0]))
			}
			o.labels[p[0]] = p[1]
		}
	}
	if o.stackLabels {
		for k, v := range map[string]string{manifests.AlertLabelTeam: o.team, manifests.AlertLabelNamespace: o.namespace} {
			if _, given := o.labels[k]; !given {
				o.labels[k] = v
				o.added = append(o.added, k+"="+v)
			}
		}
		slices.Sort(o.added)
	}
	return nil
}

// Validate checks the options as a whole.
func (o *AlertsTestOptions) Validate() error {
	if len(o.labelArgs) == 0 {
		return errors.New("alerts test needs the alert's labels: add --labels NAME=VALUE,..., such as --labels severity=critical")
	}
	return validateTimeout(o.timeout)
}

// labelName is a label name an alert from Prometheus carries.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// parseLabelList splits NAME=VALUE,NAME="VALUE, WITH COMMAS",... into pairs.
func parseLabelList(s string) ([][2]string, error) {
	var out [][2]string
	for s != "" {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("%q is no NAME=VALUE pair; use NAME=VALUE,..., such as severity=critical,envoy_cluster_name=checkout", s)
		}
		if !labelName.MatchString(name) {
			return nil, fmt.Errorf("label name %q: use letters, digits and underscores, not starting with a digit", name)
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			quoted, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("the value of %s starts a quote that does not end; close it with \"", name)
			}
			value, _ = strconv.Unquote(quoted)
			rest = rest[len(quoted):]
			if rest != "" && rest[0] != ',' {
				return nil, fmt.Errorf("the quoted value of %s is followed by %q; separate labels with commas", name, rest)
			}
			rest = strings.TrimPrefix(rest, ",")
		} else {
			value, rest, _ = strings.Cut(rest, ",")
		}
		if !utf8.ValidString(value) {
			return nil, fmt.Errorf("the value of %s is not UTF-8", name)
		}
		out = append(out, [2]string{name, value})
		s = rest
	}
	if len(out) == 0 {
		return nil, errors.New("use NAME=VALUE,..., such as severity=critical")
	}
	return out, nil
}

// alertsTestDocument is what -o json and -o yaml print.
type alertsTestDocument struct {
	Config    string             `json:"config"`
	Labels    map[string]string  `json:"labels"`
	Added     []string           `json:"added_labels"`
	Delivered bool               `json:"delivered"`
	Receivers []alertroute.Match `json:"receivers"`
}

// Run reads the configuration and routes the labels through it.
func (o *AlertsTestOptions) Run(ctx context.Context) error {
	cfg, source, err := o.config(ctx)
	if err != nil {
		return err
	}
	scope := alertroute.Scope{Namespace: o.namespace, Name: o.team}
	matches := cfg.Route(o.labels, scope)
	delivered := alertroute.Delivered(matches)
	if len(o.added) > 0 {
		fmt.Fprintf(o.ErrOut, "note: added the labels the stack's alerts carry: %s (--stack-labels=false leaves them out)\n", termtext.Sanitize(strings.Join(o.added, ", ")))
	}
	var buf bytes.Buffer
	if o.output.structured() {
		labels := maps.Clone(o.labels)
		maps.DeleteFunc(labels, func(_, v string) bool { return v == "" })
		added := o.added
		if added == nil {
			added = []string{}
		}
		if err := writeDocument(&buf, o.output.format(), alertsTestDocument{Config: source, Labels: labels, Added: added, Delivered: delivered, Receivers: matches}); err != nil {
			return err
		}
	} else {
		writeRouteTable(&buf, matches, o.output.format() == formatWide)
	}
	if _, err := o.Out.Write(buf.Bytes()); err != nil {
		return err
	}
	if !delivered {
		fmt.Fprintf(o.ErrOut, "these labels reach no receiver of AlertmanagerConfig %s/%s that notifies anyone\n", o.namespace, o.team)
		return &ExitError{Code: alertsTestUnroutedExit}
	}
	return nil
}

// config reads --config-file, or the configuration the operator generated for the Alertmanager
// the team's stack sends to, and says where it came from.
func (o *AlertsTestOptions) config(ctx context.Context) (*alertroute.Config, string, error) {
	if o.configFile != "" {
		data, err := readCapped(o.configFile, alertroute.MaxConfigSize)
		if err != nil {
			return nil, "", flagError("config-file", o.configFile, err)
		}
		cfg, err := alertroute.Parse(data)
		if err != nil {
			return nil, "", flagError("config-file", o.configFile, err)
		}
		return cfg, "file " + o.configFile, nil
	}
	type read struct {
		data   []byte
		source string
	}
	r, err := boundCall(ctx, o.configFlags, o.timeout, func(ctx context.Context) (read, error) {
		client, err := kube.NewClient(o.configFlags)
		if err != nil {
			return read{}, err
		}
		data, source, err := generatedConfig(ctx, client, o.team, o.namespace)
		return read{data, source}, err
	})
	if err != nil {
		return nil, "", err
	}
	cfg, err := alertroute.Parse(r.data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", r.source, err)
	}
	return cfg, r.source, nil
}

// generatedConfig reads the configuration the operator generated for the Alertmanager team's
// stack sends its alerts to, and names the Secret it came from.
func generatedConfig(ctx context.Context, client *kube.Client, team, namespace string) ([]byte, string, error) {
	amNS, amName, err := client.TeamAlertmanagerRef(ctx, team, namespace)
	if errors.Is(err, kube.ErrNoAlertmanager) {
		return nil, "", fmt.Errorf("team %s in namespace %s sends its alerts to no Alertmanager: give it one with kubectl promteam create %s -n %s --alertmanager own --notify slack=SECRET/KEY --apply, or test a configuration with --config-file",
			team, namespace, team, namespace)
	}
	if err != nil {
		return nil, "", err
	}
	data, err := client.GeneratedAlertmanagerConfig(ctx, amNS, amName, alertroute.MaxConfigSize)
	if err != nil {
		return nil, "", err
	}
	return data, "secret " + amNS + "/" + kube.GeneratedConfigSecret(amName), nil
}

// readCapped reads a file of at most limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d MiB", limit>>20)
	}
	return data, nil
}

// writeRouteTable writes the routes an alert reaches; every name comes from the configuration and
// is sanitized.
func writeRouteTable(w io.Writer, matches []alertroute.Match, wide bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	header := "RECEIVER\tNOTIFIES\tCONTINUE\tGROUP BY\tROUTE"
	if wide {
		header = "RECEIVER\tFULL NAME\tNOTIFIES\tCONTINUE\tGROUP BY\tGROUP WAIT\tGROUP INTERVAL\tREPEAT INTERVAL\tROUTE"
	}
	fmt.Fprintln(tw, header)
	yesNo := map[bool]string{true: "yes", false: "no"}
	for _, m := range matches {
		line := []string{m.DisplayName(), yesNo[m.Notifies], strconv.FormatBool(m.Continue), dash(strings.Join(m.GroupBy, ",")), strings.Join(m.Path, " > ")}
		if wide {
			line = []string{m.DisplayName(), m.Receiver, yesNo[m.Notifies], strconv.FormatBool(m.Continue), dash(strings.Join(m.GroupBy, ",")),
				m.GroupWaitText, m.GroupIntervalText, m.RepeatIntervalText, strings.Join(m.Path, " > ")}
		}
		for i := range line {
			line[i] = termtext.Sanitize(line[i])
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	_ = tw.Flush()
}
