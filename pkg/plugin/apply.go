package plugin

import (
	"context"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// runApply checks every permission the stack needs, then applies it object by object, printing
// a line per object as kubectl does. When a permission is missing it applies nothing.
func (o *CreateOptions) runApply(ctx context.Context) error {
	if o.dryRun.mode == kube.DryRunClient {
		objs, err := o.objects()
		if err != nil {
			return err
		}
		o.noteDelivery(o.spec.Secrets())
		return o.printClientDryRun(objs)
	}
	client, err := kube.NewClient(o.configFlags)
	if err != nil {
		return err
	}
	if err := o.resolveAlertmanager(ctx, client); err != nil {
		return err
	}
	objs, err := o.objects()
	if err != nil {
		return err
	}
	missing, err := client.Preflight(ctx, objs, o.createNamespace)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		user, _ := client.User(ctx)
		return &ExitError{Code: 1, Err: preflightError(user, o.spec.Namespace, missing)}
	}
	dry, suffix := o.dryRun.mode, o.dryRun.suffix()
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
	if err != nil {
		return err
	}
	o.noteDelivery(o.missingSecrets(ctx, client))
	return nil
}

// objects builds the stack from the spec as it stands and returns its objects in apply order.
func (o *CreateOptions) objects() ([]*unstructured.Unstructured, error) {
	stack, err := manifests.Build(o.spec)
	if err != nil {
		return nil, err
	}
	maps, err := stack.Maps()
	if err != nil {
		return nil, err
	}
	return kube.Objects(maps), nil
}

// printClientDryRun names what --apply would send, as kubectl apply --dry-run=client does, and
// contacts no cluster: what the API server would make of it is --dry-run=server's question.
func (o *CreateOptions) printClientDryRun(objs []*unstructured.Unstructured) error {
	var b strings.Builder
	if o.createNamespace {
		fmt.Fprintf(&b, "namespace/%s would be created if missing%s\n", o.spec.Namespace, o.dryRun.suffix())
	}
	for _, obj := range objs {
		fmt.Fprintf(&b, "%s would be applied%s\n", kube.RefOf(obj), o.dryRun.suffix())
	}
	if _, err := io.WriteString(o.Out, b.String()); err != nil {
		return err
	}
	fmt.Fprintln(o.ErrOut, "note: a client dry run sends nothing, so permissions and admission were not checked; --dry-run=server checks them")
	return nil
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
