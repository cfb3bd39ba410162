package plugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

func (o *CreateOptions) dryRunMode() kube.DryRun {
	switch o.dryRun {
	case "client":
		return kube.DryRunClient
	case "server":
		return kube.DryRunServer
	}
	return kube.DryRunNone
}

// runApply checks every permission the stack needs, then applies it object by object, printing
// a line per object as kubectl does. When a permission is missing it applies nothing.
func (o *CreateOptions) runApply(ctx context.Context, stack manifests.Stack) error {
	client, err := kube.NewClient(o.configFlags)
	if err != nil {
		return err
	}
	maps, err := stack.Maps()
	if err != nil {
		return err
	}
	objs := kube.Objects(maps)
	missing, err := client.Preflight(ctx, objs, o.createNamespace)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		user, _ := client.User(ctx)
		return &ExitError{Code: 1, Err: preflightError(user, o.spec.Namespace, missing)}
	}
	dry := o.dryRunMode()
	suffix := ""
	switch dry {
	case kube.DryRunClient:
		suffix = " (dry run)"
	case kube.DryRunServer:
		suffix = " (server dry run)"
	}
	show := func(r kube.ApplyResult) {
		fmt.Fprintf(o.Out, "%s %s%s\n", r.Ref, r.Action, suffix)
		if r.Note != "" {
			fmt.Fprintf(o.ErrOut, "note: %s: %s\n", r.Ref, termtext.Sanitize(r.Note))
		}
	}
	if o.createNamespace {
		r, err := client.EnsureNamespace(ctx, o.spec.Namespace, dry)
		if err != nil {
			return err
		}
		show(r)
	}
	results, err := client.Apply(ctx, objs, kube.ApplyOptions{FieldManager: kube.FieldManager, DryRun: dry, ForceConflicts: o.forceConflicts})
	for _, r := range results {
		show(r)
	}
	return err
}

// preflightError lists every missing permission and the commands that grant them, so an admin
// can fix them all at once.
func preflightError(user, namespace string, missing []kube.Permission) error {
	var b strings.Builder
	who := user
	if who == "" {
		who = "the current user"
	}
	fmt.Fprintf(&b, "%s may not apply this stack; nothing was applied. Missing permissions:\n", who)
	for _, p := range missing {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	b.WriteString("A cluster or namespace admin can grant them with:\n")
	for _, cmd := range kube.Remedy(missing, user) {
		fmt.Fprintf(&b, "  %s\n", cmd)
	}
	return MultiLineError(strings.TrimRight(b.String(), "\n"))
}
