// Package plugin wires the kubectl-promteam commands: flags become typed specs, the specs go to
// the packages that do the work, and results go to the command's IOStreams.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// displayName is how the plugin presents itself: kubectl runs kubectl-promteam for it.
const displayName = "kubectl promteam"

// NewCmdRoot builds the kubectl-promteam command tree.
func NewCmdRoot(streams genericiooptions.IOStreams) *cobra.Command {
	configFlags := genericclioptions.NewConfigFlags(true)
	quietClientGo(streams.ErrOut)
	root := &cobra.Command{
		Use:   "kubectl-promteam",
		Short: "A Prometheus of its own for every team that runs Envoy",
		Long: `kubectl promteam gives a developer team its own Prometheus, set up the way the Prometheus
Operator needs it: least-privilege RBAC, selectors that pick exactly the team's monitors and
rules, Envoy scrape presets, RED recording rules and traffic-gated alerts.`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: displayName},
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bare `kubectl promteam` shows help rather than an error.
		Run:  func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
		Args: unknownCommand,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	configFlags.AddFlags(root.PersistentFlags())
	registerKubeCompletions(root, configFlags)

	root.AddCommand(
		NewCmdAlerts(streams, configFlags),
		NewCmdCreate(streams, configFlags),
		NewCmdCompare(streams, configFlags),
		NewCmdDiff(streams, configFlags),
		NewCmdList(streams, configFlags),
		NewCmdDelete(streams, configFlags),
		NewCmdDoctor(streams, configFlags),
		NewCmdPortForward(streams, configFlags),
		NewCmdSilence(streams, configFlags),
		NewCmdTop(streams, configFlags),
		NewCmdVersion(streams),
		NewCmdWhy(streams, configFlags),
	)
	setFlagErrors(root)
	return root
}

// quietClientGo keeps client-go's own logging (discovery failures, retries) off the user's
// terminal, where every command already says in one line what went wrong; the API server's
// warnings still reach errOut, once each.
func quietClientGo(errOut io.Writer) {
	klog.SetLogger(logr.Discard())
	rest.SetDefaultWarningHandler(rest.NewWarningWriter(errOut, rest.WarningWriterOptions{Deduplicate: true}))
}

// setFlagErrors makes every flag mistake one line that names the flag and what it accepts.
func setFlagErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		var invalid *pflag.InvalidValueError
		if errors.As(err, &invalid) {
			f := invalid.GetFlag()
			err = fmt.Errorf("invalid --%s %q: %s", f.Name, invalid.GetValue(), acceptedFor(f))
		} else {
			err = fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
		}
		return err
	})
	for _, c := range cmd.Commands() {
		setFlagErrors(c)
	}
}

// acceptedValues is a flag value that knows what it accepts.
type acceptedValues interface{ accepted() string }

func acceptedFor(f *pflag.Flag) string {
	if a, ok := f.Value.(acceptedValues); ok {
		return a.accepted()
	}
	switch f.Value.Type() {
	case "int32", "int", "int64":
		return "use a whole number such as " + f.DefValue
	case "bool":
		return "use true or false"
	}
	return "see --help for accepted values"
}

// ExitError ends the program with Code. Err, when set, is printed like any error; commands that
// already printed their result (diff, doctor) leave it nil.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// errorExitAnnotation on a command sets the exit status of its errors, for commands whose 1 means
// something else (compare's FAIL).
const errorExitAnnotation = "promteam.io/error-exit"

// Execute runs the command line. Every error, whether from a flag, an argument or the run
// itself, leaves with the exit status its command documents.
func Execute(ctx context.Context, streams genericiooptions.IOStreams, args []string) error {
	root := NewCmdRoot(streams)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	return withErrorExit(cmd, err)
}

// withErrorExit gives err the exit status c's annotation asks for, unless it carries its own.
func withErrorExit(c *cobra.Command, err error) error {
	var exit *ExitError
	if err == nil || c == nil || errors.As(err, &exit) {
		return err
	}
	if code, convErr := strconv.Atoi(c.Annotations[errorExitAnnotation]); convErr == nil {
		return &ExitError{Code: code, Err: err}
	}
	return err
}

// unknownCommand rejects a word that names no command, on one line with suggestions.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], displayName)
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return fmt.Errorf("%s (see '%s --help')", msg, displayName)
}

// validateTeam checks a team name before anything is asked of the cluster; a name that no stack
// can have gets the same line as create gives.
func validateTeam(team string) error {
	if err := manifests.ValidateTeamName(team, 1); err != nil {
		return &manifests.FieldError{Value: team, Reason: err.Error()}
	}
	return nil
}

// noArgs rejects a positional argument, in the words exactlyOneArg uses.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, got %d (%s): %s", cmd.CommandPath(), len(args), strings.Join(args, " "), cmd.UseLine())
	}
	return nil
}

// exactlyOneArg rejects a missing or extra positional argument with the command's usage line.
func exactlyOneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return fmt.Errorf("%s needs a %s: %s", cmd.CommandPath(), what, cmd.UseLine())
		case len(args) > 1:
			return fmt.Errorf("%s takes one %s, got %d (%s): %s", cmd.CommandPath(), what, len(args), strings.Join(args, " "), cmd.UseLine())
		}
		return nil
	}
}

// namespaceOf is the one way a command finds the team's namespace: -n, else the namespace of
// the kubeconfig's current context, else default, as kubectl does. A given -n is used without
// reading the kubeconfig, so create prints a stack on a machine that has none.
func namespaceOf(flags *genericclioptions.ConfigFlags) (string, error) {
	ns := ""
	if flags.Namespace != nil {
		ns = *flags.Namespace
	}
	if ns == "" {
		var err error
		if ns, _, err = flags.ToRawKubeConfigLoader().Namespace(); err != nil {
			return "", fmt.Errorf("cannot read the kubeconfig: %v; pass -n NAMESPACE", firstLine(err.Error()))
		}
	}
	if err := manifests.ValidateNamespace(ns); err != nil {
		return "", flagError("namespace", ns, err)
	}
	return ns, nil
}
