package plugin

import (
	"context"
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// contactsCluster reports whether the command reads the cluster before it builds the stack:
// diff, and create --apply unless the dry run is the client's.
func (o *CreateOptions) contactsCluster() bool {
	return o.diffing || (o.apply && o.dryRun.mode != kube.DryRunClient)
}

// resolveAlertmanager reads the platform's Alertmanager that --alertmanager names and completes
// the spec from it: the Service in front of its pods, unless --alertmanager-service names one, and
// the labels its alertmanagerConfigSelector matches, unless --alertmanager-config-label gives
// them. It refuses a team AlertmanagerConfig the Alertmanager would not read: one it does not
// select, or from a namespace it does not read.
func (o *CreateOptions) resolveAlertmanager(ctx context.Context, client *kube.Client) error {
	a := &o.spec.Alerting
	if a.Delivery != manifests.DeliverShared {
		return nil
	}
	am, err := client.Alertmanager(ctx, a.Namespace, a.Name)
	if err != nil {
		return err
	}
	ref := a.Namespace + "/" + a.Name
	fail := func(flag, value, format string, args ...any) error {
		return &manifests.FieldError{Field: flag, Value: value, Reason: fmt.Sprintf(format, args...)}
	}
	if !o.serviceGiven {
		if len(am.Services) == 0 {
			return fail("alertmanager", ref, "no Service with a port named web selects its pods; name the one the Prometheus should send to with --alertmanager-service")
		}
		a.Service = am.Services[0]
	}
	if len(a.Receivers) == 0 {
		return nil
	}
	sel := am.ConfigSelector
	if sel == nil {
		return fail("alertmanager", ref, "reads no AlertmanagerConfig (its alertmanagerConfigSelector is unset): ask the platform team to set it, or drop --notify and leave routing to its own configuration")
	}
	if len(a.ConfigLabels) == 0 {
		if len(sel.MatchExpressions) > 0 {
			return fail("alertmanager-config-label", "", "the alertmanagerConfigSelector of %s is %s; name labels it matches", ref, termtext.Sanitize(metav1.FormatLabelSelector(sel)))
		}
		a.ConfigLabels = maps.Clone(sel.MatchLabels)
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return fmt.Errorf("the alertmanagerConfigSelector of Alertmanager %s: %w", ref, err)
	}
	if !selector.Matches(labels.Set(o.spec.AlertmanagerConfigLabels())) {
		return fail("alertmanager-config-label", labelList(a.ConfigLabels), "Alertmanager %s selects AlertmanagerConfigs with %s, which these labels do not match",
			ref, termtext.Sanitize(selector.String()))
	}
	nsSel := am.ConfigNamespaceSelector
	if nsSel == nil {
		if o.spec.Namespace != a.Namespace {
			return fail("alertmanager", ref, "reads AlertmanagerConfigs from its own namespace only (its alertmanagerConfigNamespaceSelector is unset): ask the platform team to make it select namespace %s", o.spec.Namespace)
		}
		return nil
	}
	nsLabels, err := client.NamespaceLabels(ctx, o.spec.Namespace)
	if err != nil {
		fmt.Fprintf(o.ErrOut, "note: cannot tell whether Alertmanager %s reads AlertmanagerConfigs from namespace %s: %s\n", ref, o.spec.Namespace, termtext.Sanitize(err.Error()))
		return nil
	}
	nsSelector, err := metav1.LabelSelectorAsSelector(nsSel)
	if err != nil {
		return fmt.Errorf("the alertmanagerConfigNamespaceSelector of Alertmanager %s: %w", ref, err)
	}
	if !nsSelector.Matches(labels.Set(nsLabels)) {
		return fail("alertmanager", ref, "reads AlertmanagerConfigs only from namespaces labelled %s, and namespace %s is not: ask the platform team to label it",
			termtext.Sanitize(nsSelector.String()), o.spec.Namespace)
	}
	return nil
}

// missingSecrets are the Secret keys the stack reads that the team's namespace lacks. When the
// Secrets cannot be read, all of them are returned, with a note.
func (o *CreateOptions) missingSecrets(ctx context.Context, client *kube.Client) []manifests.SecretKey {
	var missing []manifests.SecretKey
	for _, k := range o.spec.Secrets() {
		gone, err := client.SecretKeyMissing(ctx, o.spec.Namespace, k.Name, k.Key)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "note: cannot check the Secrets the stack reads: %s\n", termtext.Sanitize(err.Error()))
			return o.spec.Secrets()
		}
		if gone {
			missing = append(missing, k)
		}
	}
	return missing
}

// noteDelivery says on stderr when the alerts reach nobody, and gives the commands that create
// the Secrets the stack reads that are missing (all of them when the cluster was not asked).
func (o *CreateOptions) noteDelivery(missing []manifests.SecretKey) {
	s := o.spec
	if s.Alerts && s.Alerting.Delivery == manifests.DeliverNowhere {
		fmt.Fprintf(o.ErrOut, "note: %s\n", manifests.NoDeliveryNote)
	}
	if cmds := manifests.SecretCommands(s.Namespace, missing); len(cmds) > 0 {
		what := "these Secret keys"
		if o.contactsCluster() {
			what = "Secret keys that are missing"
		}
		fmt.Fprintf(o.ErrOut, "note: the stack reads %s in namespace %s; create them with:\n", what, s.Namespace)
		for _, c := range cmds {
			fmt.Fprintf(o.ErrOut, "  %s\n", c)
		}
	}
}

func labelList(m map[string]string) string {
	return labels.Set(m).String()
}
