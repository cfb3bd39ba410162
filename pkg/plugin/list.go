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
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// ListOptions holds the list flags.
type ListOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	allNamespaces bool
	output        *outputFlag
	timeout       time.Duration
	now           func() time.Time
}

// NewCmdList builds `list`.
func NewCmdList(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &ListOptions{configFlags: configFlags, IOStreams: streams, now: time.Now, timeout: defaultTimeout,
		output: newOutputFlag(formatTable, formatWide, formatJSON, formatYAML)}
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
--alertmanager fixes that). JSON has it as "alertmanager", absent for nowhere.`,
		Example: `  kubectl promteam list
  kubectl promteam list -A -o wide`,
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
	var buf bytes.Buffer
	switch {
	case o.output.structured():
		err = writeStackList(&buf, o.output.format(), stacks, o.now())
	default:
		if len(stacks) == 0 {
			where := "namespace " + ns
			if o.allNamespaces {
				where = "any namespace"
			}
			fmt.Fprintf(o.ErrOut, "No team stacks found in %s.\n", where)
			return nil
		}
		err = writeStackTable(&buf, stacks, o.allNamespaces, o.output.format() == formatWide, o.now())
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

func writeStackTable(w *bytes.Buffer, stacks []kube.StackSummary, allNamespaces, wide bool, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	var head []string
	if allNamespaces {
		head = append(head, "NAMESPACE")
	}
	head = append(head, "TEAM", "READY", "RETENTION", "VERSION", "ENVOY", "ALERTS", "AGE", "STATUS")
	if wide {
		head = append(head, "SHARDS", "RETENTION-SIZE", "ENVOY-NAMESPACE", "MESSAGE")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, s := range stacks {
		var cols []string
		if allNamespaces {
			cols = append(cols, s.Namespace)
		}
		cols = append(cols, s.Team, fmt.Sprintf("%d/%d", s.Ready, s.Desired()), orWord(s.Retention, "24h"),
			orWord(s.Version, "<operator default>"), orWord(s.Envoy, "<none>"), orWord(s.Alertmanager, "<nowhere>"),
			duration.HumanDuration(now.Sub(s.Created)), stackStatus(s, now))
		if wide {
			cols = append(cols, fmt.Sprint(s.Shards), orWord(s.RetentionSize, "<none>"), orWord(s.EnvoyNamespace, "<same>"), conditionMessage(s))
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
}

type stackCondition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

func writeStackList(w io.Writer, format string, stacks []kube.StackSummary, now time.Time) error {
	items := make([]stackItem, 0, len(stacks))
	for _, s := range stacks {
		envoy := []string{}
		if s.Envoy != "" {
			envoy = strings.Split(s.Envoy, ",")
		}
		conditions := []stackCondition{}
		for _, c := range s.Conditions {
			conditions = append(conditions, stackCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message})
		}
		items = append(items, stackItem{
			Namespace: s.Namespace, Team: s.Team, Ready: s.Ready, Replicas: s.Replicas, Shards: s.Shards,
			Retention: s.Retention, RetentionSize: s.RetentionSize, Version: s.Version, Envoy: envoy,
			EnvoyNamespace: s.EnvoyNamespace, Alertmanager: s.Alertmanager, Created: s.Created.UTC(), Status: stackStatus(s, now), Conditions: conditions,
		})
	}
	list := map[string]any{"apiVersion": "promteam.io/v1alpha1", "kind": "TeamStackList", "items": items}
	return writeDocument(w, format, list)
}
