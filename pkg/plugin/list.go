package plugin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/overview"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/traffic"
)

// ListOptions holds the list flags.
type ListOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	allNamespaces bool
	output        *outputFlag
	timeout       time.Duration
	now           func() time.Time
	// live adds what each stack's Prometheus says of itself: targets up, head series, alerts
	// firing. prom reaches them, each within its Timeout.
	live bool
	prom *PrometheusFlags
}

// NewCmdList builds `list`.
func NewCmdList(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &ListOptions{configFlags: configFlags, IOStreams: streams, now: time.Now, timeout: defaultTimeout,
		output: newOutputFlag(formatTable, formatWide, formatJSON, formatYAML), prom: NewPrometheusFlags(configFlags, streams)}
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List the team stacks of a namespace or the cluster",
		Long: `List shows the team stacks kubectl promteam made (Prometheus objects labelled
app.kubernetes.io/managed-by=kubectl-promteam) with their readiness from the operator's status.

STATUS summarises the operator's conditions: Available when the Prometheus is reconciled and its
pods are ready; Degraded or the condition's reason otherwise; Pending while no operator has
reported yet, NoOperator when none has after a minute (the operator does not watch the namespace;
kubectl promteam doctor TEAM explains).

ALERTS is where the stack's alerts go: own (an Alertmanager of the team's own), NAMESPACE/NAME of
the platform's, or <nowhere> when they are evaluated and delivered to nobody (create
--alertmanager fixes that). JSON has it as "alertmanager", absent for nowhere.

--live reaches every stack's Prometheus (eight at once, each within ten seconds, through a
tunnel) and adds what it says of itself: TARGETS up of all, SERIES in a pod's head, FIRING
alerts, and a NOTE saying why a stack was not reached or which limit it is near. JSON has them
under "live". kubectl promteam top -A adds each team's traffic.`,
		Example: `  kubectl promteam list
  kubectl promteam list -A -o wide --live`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", o.allNamespaces, "List the stacks of every namespace")
	cmd.Flags().BoolVar(&o.live, "live", o.live, "Reach each stack's Prometheus and add its targets up, head series and alerts firing")
	o.output.add(cmd, "wide adds shards, retention size, the Envoy namespace and the first condition's message")
	addTimeoutFlag(cmd.Flags(), &o.timeout)
	return cmd
}

// Validate checks the options as a whole.
func (o *ListOptions) Validate() error {
	return validateTimeout(o.timeout)
}

// Run lists the stacks.
func (o *ListOptions) Run(ctx context.Context) error {
	ns := ""
	if !o.allNamespaces {
		var err error
		if ns, err = namespaceOf(o.configFlags); err != nil {
			return err
		}
	}
	stacks, err := boundCall(ctx, o.configFlags, o.timeout, func(ctx context.Context) ([]kube.StackSummary, error) {
		client, err := kube.NewClient(o.configFlags)
		if err != nil {
			return nil, err
		}
		return client.ListStacks(ctx, ns, o.allNamespaces)
	})
	if err != nil {
		return err
	}
	var live []overview.Row
	if o.live {
		reader := teamsReader{prom: o.prom, flags: o.configFlags, concurrency: defaultConcurrency}
		live = reader.rows(ctx, stacks, o.now())
	}
	var buf bytes.Buffer
	switch {
	case o.output.structured():
		err = writeStackList(&buf, o.output.format(), stacks, live, o.now())
	default:
		if len(stacks) == 0 {
			where := "namespace " + ns
			if o.allNamespaces {
				where = "any namespace"
			}
			fmt.Fprintf(o.ErrOut, "No team stacks found in %s.\n", where)
			return nil
		}
		err = writeStackTable(&buf, stacks, live, o.allNamespaces, o.output.format() == formatWide, o.now())
	}
	if err != nil {
		return err
	}
	_, err = o.Out.Write(buf.Bytes())
	return err
}

// noOperatorAfter is how long a Prometheus may go without status before list calls it NoOperator.
const noOperatorAfter = time.Minute

// stackStatus sums up the operator's conditions in one word.
func stackStatus(s kube.StackSummary, now time.Time) string {
	switch {
	case s.Paused:
		return "Paused"
	case !s.HasStatus && now.Sub(s.Created) < noOperatorAfter:
		return "Pending"
	case !s.HasStatus:
		return "NoOperator"
	}
	reconciled, hasReconciled := s.Condition("Reconciled")
	available, hasAvailable := s.Condition("Available")
	switch {
	case hasReconciled && reconciled.Status != "True":
		return orWord(reconciled.Reason, "NotReconciled")
	case hasAvailable && available.Status == "True":
		return "Available"
	case hasAvailable && available.Status == "Degraded":
		return "Degraded"
	case hasAvailable:
		return orWord(available.Reason, "Unavailable")
	}
	return "Unknown"
}

func orWord(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// writeStackTable writes the stacks, with the columns of live when it holds a row per stack.
func writeStackTable(w *bytes.Buffer, stacks []kube.StackSummary, live []overview.Row, allNamespaces, wide bool, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	var head []string
	if allNamespaces {
		head = append(head, "NAMESPACE")
	}
	head = append(head, "TEAM", "READY", "RETENTION", "VERSION", "ENVOY", "ALERTS", "AGE", "STATUS")
	if len(live) > 0 {
		head = append(head, "TARGETS", "SERIES", "FIRING")
	}
	if wide {
		head = append(head, "SHARDS", "RETENTION-SIZE", "ENVOY-NAMESPACE", "MESSAGE")
	}
	if len(live) > 0 {
		head = append(head, "NOTE")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i, s := range stacks {
		var cols []string
		if allNamespaces {
			cols = append(cols, s.Namespace)
		}
		cols = append(cols, s.Team, fmt.Sprintf("%d/%d", s.Ready, s.Desired()), orWord(s.Retention, "24h"),
			orWord(s.Version, "<operator default>"), orWord(s.Envoy, "<none>"), orWord(s.Alertmanager, "<nowhere>"),
			duration.HumanDuration(now.Sub(s.Created)), stackStatus(s, now))
		if len(live) > 0 {
			cols = append(cols, overview.Targets(live[i]), overview.FormatCount(live[i].HeadSeries), traffic.FormatCount(live[i].Firing))
		}
		if wide {
			cols = append(cols, fmt.Sprint(s.Shards), orWord(s.RetentionSize, "<none>"), orWord(s.EnvoyNamespace, "<same>"), conditionMessage(s))
		}
		if len(live) > 0 {
			cols = append(cols, overview.Note(live[i]))
		}
		// What the cluster holds is shown as text: a control character in a message or a
		// version neither reaches the terminal nor breaks the columns.
		for i := range cols {
			cols[i] = termtext.Sanitize(cols[i])
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	return tw.Flush()
}

// conditionMessage is the message of the first condition that is not True.
func conditionMessage(s kube.StackSummary) string {
	for _, c := range s.Conditions {
		if c.Status != "True" && c.Message != "" {
			return strings.ReplaceAll(c.Message, "\n", " ")
		}
	}
	return "<none>"
}

// stackItem is one stack in `list -o json|yaml`.
type stackItem struct {
	Namespace      string   `json:"namespace"`
	Team           string   `json:"team"`
	Ready          int32    `json:"ready"`
	Replicas       int32    `json:"replicas"`
	Shards         int32    `json:"shards"`
	Retention      string   `json:"retention"`
	RetentionSize  string   `json:"retentionSize,omitempty"`
	Version        string   `json:"version"`
	Envoy          []string `json:"envoy"`
	EnvoyNamespace string   `json:"envoyNamespace,omitempty"`
	// Alertmanager is where the alerts go: own, or NAMESPACE/NAME; absent when nowhere.
	Alertmanager string           `json:"alertmanager,omitempty"`
	Created      time.Time        `json:"created"`
	Status       string           `json:"status"`
	Conditions   []stackCondition `json:"conditions"`
	// Live is what the stack's Prometheus says of itself (--live).
	Live *stackLive `json:"live,omitempty"`
}

// stackLive is what list --live read from a stack's Prometheus; numbers are null when not known,
// and a stack not reached has a reason.
type stackLive struct {
	Via          string   `json:"via,omitempty"`
	Reason       string   `json:"reason,omitempty"`
	TargetsUp    *float64 `json:"targets_up"`
	Targets      *float64 `json:"targets"`
	HeadSeries   *float64 `json:"head_series"`
	AlertsFiring *float64 `json:"alerts_firing"`
	Notes        []string `json:"notes,omitempty"`
}

type stackCondition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

func writeStackList(w io.Writer, format string, stacks []kube.StackSummary, live []overview.Row, now time.Time) error {
	items := make([]stackItem, 0, len(stacks))
	for i, s := range stacks {
		envoy := []string{}
		if s.Envoy != "" {
			envoy = strings.Split(s.Envoy, ",")
		}
		conditions := []stackCondition{}
		for _, c := range s.Conditions {
			conditions = append(conditions, stackCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message})
		}
		item := stackItem{
			Namespace: s.Namespace, Team: s.Team, Ready: s.Ready, Replicas: s.Replicas, Shards: s.Shards,
			Retention: s.Retention, RetentionSize: s.RetentionSize, Version: s.Version, Envoy: envoy,
			EnvoyNamespace: s.EnvoyNamespace, Alertmanager: s.Alertmanager, Created: s.Created.UTC(), Status: stackStatus(s, now), Conditions: conditions,
		}
		if len(live) > 0 {
			r := live[i]
			item.Live = &stackLive{Via: r.Via, Reason: r.Reason, TargetsUp: overview.Number(r.TargetsUp), Targets: overview.Number(r.Targets),
				HeadSeries: overview.Number(r.HeadSeries), AlertsFiring: overview.Number(r.Firing), Notes: overview.Notes(r)}
		}
		items = append(items, item)
	}
	list := map[string]any{"apiVersion": "promteam.io/v1alpha1", "kind": "TeamStackList", "items": items}
	return writeDocument(w, format, list)
}
