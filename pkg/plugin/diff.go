package plugin

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// NewCmdDiff builds `diff TEAM [create flags]`: what `create --apply` with the same flags would change.
func NewCmdDiff(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := NewCreateOptions(streams, configFlags)
	o.diffing = true
	cmd := &cobra.Command{
		Use:   "diff TEAM [create flags]",
		Short: "Show what create --apply would change, as a unified diff",
		Long: `Diff builds the stack create would make from the same flags, asks the API server what
server-side apply would store (a server-side dry run) and prints the difference from what is
live, object by object, as a unified diff.

Exit status: 0 when nothing would change, 1 when something would, 2 on error (as kubectl diff).`,
		Example:           `  kubectl promteam diff team-a -n team-a --retention 30d`,
		Annotations:       map[string]string{errorExitAnnotation: strconv.Itoa(diffErrorExit)},
		Args:              exactlyOneArg("team name"),
		ValidArgsFunction: teamCompletion(configFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.diff(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	addTimeoutFlag(cmd.Flags(), &o.timeout)
	// Explain belongs to create's printing.
	_ = cmd.Flags().MarkHidden("explain")
	o.registerCompletions(cmd)
	return cmd
}

// diff's exit statuses, as kubectl diff's: changes pending is not an error.
const (
	diffChangesExit = 1
	diffErrorExit   = 2
)

// diff prints what create --apply would change; changes pending leave with diffChangesExit.
func (o *CreateOptions) diff(ctx context.Context) error {
	diffs, err := boundCall(ctx, o.configFlags, o.timeout, o.runDiff)
	if err != nil {
		return err
	}
	changed, err := o.printDiffs(diffs)
	if err != nil {
		return err
	}
	if changed {
		return &ExitError{Code: diffChangesExit}
	}
	return nil
}

// runDiff asks the API server what create --apply would change.
func (o *CreateOptions) runDiff(ctx context.Context) ([]kube.ObjectDiff, error) {
	client, err := kube.NewClient(o.configFlags)
	if err != nil {
		return nil, err
	}
	if err := o.resolveAlertmanager(ctx, client); err != nil {
		return nil, err
	}
	objs, err := o.objects()
	if err != nil {
		return nil, err
	}
	return client.Diff(ctx, objs, kube.FieldManager)
}

// printDiffs prints the diffs and reports whether anything would change.
func (o *CreateOptions) printDiffs(diffs []kube.ObjectDiff) (bool, error) {
	for _, d := range diffs {
		if d.Note != "" {
			fmt.Fprintf(o.ErrOut, "note: %s: %s\n", d.Ref, termtext.Sanitize(d.Note))
		}
		// The live objects are the cluster's text: their lines stay lines, nothing else acts.
		if _, err := fmt.Fprint(o.Out, termtext.Lines(d.Unified)); err != nil {
			return false, err
		}
	}
	return len(diffs) > 0, nil
}
