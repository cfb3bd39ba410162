package plugin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// DeleteOptions holds the delete flags.
type DeleteOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	team      string
	dryRun    dryRunFlag
	yes       bool
	purgeData bool
	timeout   time.Duration
	// isTerminal reports whether in is a terminal one can ask; tests replace it.
	isTerminal func(io.Reader) bool
}

// NewDeleteOptions returns the options with their defaults.
func NewDeleteOptions(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *DeleteOptions {
	return &DeleteOptions{configFlags: configFlags, IOStreams: streams, isTerminal: inputIsTerminal, timeout: defaultTimeout}
}

// NewCmdDelete builds `delete TEAM`.
func NewCmdDelete(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := NewDeleteOptions(streams, configFlags)
	cmd := &cobra.Command{
		Use:   "delete TEAM [flags]",
		Short: "Delete every object of a team's stack",
		Long: `Delete removes every object of the team's stack, found by its labels: the Prometheus, its
monitors and rules, ServiceAccount, RBAC (also in the Envoy namespace and cluster-scoped ones),
Services, budget, policy, statsd exporter and dashboard.

The Prometheus' data volumes (PersistentVolumeClaims the operator made) are kept unless
--purge-data is given. On a terminal it asks before deleting; --yes does not ask.`,
		Example: `  kubectl promteam delete team-a -n team-a
  kubectl promteam delete team-a -n team-a --dry-run=client
  kubectl promteam delete team-a -n team-a --dry-run=server
  kubectl promteam delete team-a -n team-a --yes --purge-data`,
		Args:              exactlyOneArg("team name"),
		ValidArgsFunction: teamCompletion(configFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.team = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	addDryRunFlag(cmd, &o.dryRun, "client lists what would be deleted, server has the API server admit each deletion without doing it")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", o.yes, "Do not ask for confirmation")
	cmd.Flags().BoolVar(&o.purgeData, "purge-data", o.purgeData, "Also delete the Prometheus data volumes (PersistentVolumeClaims)")
	addTimeoutFlag(cmd.Flags(), &o.timeout)
	return cmd
}

// Validate checks the team name and the timeout before anything is asked of the cluster.
func (o *DeleteOptions) Validate() error {
	if err := validateTeam(o.team); err != nil {
		return err
	}
	return validateTimeout(o.timeout)
}

// Run finds the stack, asks, and deletes it. Finding and deleting each end within --timeout;
// the time the question waits for an answer does not count.
func (o *DeleteOptions) Run(ctx context.Context) error {
	ns, err := namespaceOf(o.configFlags)
	if err != nil {
		return err
	}
	var client *kube.Client
	var refs, pvcs []kube.Ref
	err = boundRun(ctx, o.configFlags, o.timeout, func(ctx context.Context) error {
		if client, err = kube.NewClient(o.configFlags); err != nil {
			return err
		}
		if refs, err = client.FindStack(ctx, o.team, ns); err != nil {
			return err
		}
		if len(refs) == 0 {
			return noStackError(ctx, client, o.team, ns)
		}
		pvcs, err = client.PersistentVolumeClaims(ctx, o.team, ns)
		return err
	})
	if err != nil {
		return err
	}
	if o.dryRun.mode == kube.DryRunNone && !o.yes {
		if !o.isTerminal(o.In) {
			return errors.New("refusing to delete without confirmation: pass --yes (standard input is not a terminal)")
		}
		what := fmt.Sprintf("%d objects", len(refs))
		if o.purgeData && len(pvcs) > 0 {
			what += fmt.Sprintf(" and %d data volumes", len(pvcs))
		}
		fmt.Fprintf(o.ErrOut, "Delete %s of team %s in namespace %s? [y/N] ", what, o.team, ns)
		answer, _ := bufio.NewReader(o.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(o.ErrOut, "Nothing deleted.")
			return nil
		}
	}
	dry, suffix := o.dryRun.mode, o.dryRun.suffix()
	targets := refs
	if o.purgeData {
		targets = append(targets, pvcs...)
	}
	deleted, err := boundCall(ctx, o.configFlags, o.timeout, func(ctx context.Context) ([]kube.Ref, error) {
		return client.Delete(ctx, targets, dry)
	})
	for _, r := range deleted {
		fmt.Fprintf(o.Out, "%s deleted%s\n", r, suffix)
	}
	if err != nil {
		return err
	}
	if !o.purgeData {
		for _, p := range pvcs {
			fmt.Fprintf(o.Out, "%s kept (the team's data; --purge-data deletes it)\n", p)
		}
	}
	return nil
}

// noStackError says a stack does not exist and where stacks of that team do.
func noStackError(ctx context.Context, client *kube.Client, team, namespace string) error {
	msg := fmt.Sprintf("no promteam stack named %s in namespace %s", team, namespace)
	if elsewhere, err := client.TeamNamespaces(ctx, team); err == nil && len(elsewhere) > 0 {
		msg += fmt.Sprintf(" (found in: %s; pass -n)", strings.Join(elsewhere, ", "))
	}
	return errors.New(msg)
}

func inputIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
