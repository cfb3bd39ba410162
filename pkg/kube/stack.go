package kube

import (
	"context"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// prometheusKind is the Prometheus among manifests.StackKinds.
func prometheusKind() manifests.Kind {
	for _, k := range manifests.StackKinds {
		if k.Kind == "Prometheus" {
			return k
		}
	}
	panic("manifests.StackKinds lists no Prometheus")
}

// refOf is the Ref of an object listed as kind k.
func refOf(k manifests.Kind, obj *unstructured.Unstructured) Ref {
	return Ref{
		Group: k.Group, Version: k.Version, Kind: k.Kind, Resource: k.Resource,
		Namespace: obj.GetNamespace(), Name: obj.GetName(),
	}
}

// list lists the objects of kind k in namespace (all namespaces, or cluster-scoped objects, for
// "") matching selector. served is false, with no error, when the cluster does not serve k.
func (c *Client) list(ctx context.Context, k manifests.Kind, namespace, selector string) (items []unstructured.Unstructured, served bool, err error) {
	nri := c.dynamic.Resource(k.GroupVersionResource)
	opts := metav1.ListOptions{LabelSelector: selector}
	var l *unstructured.UnstructuredList
	if k.Namespaced && namespace != "" {
		l, err = nri.Namespace(namespace).List(ctx, opts)
	} else {
		l, err = nri.List(ctx, opts)
	}
	if err != nil {
		if c.notServed(err, k.Group, k.GroupResource().String()) != nil {
			return nil, false, nil
		}
		return nil, true, c.explain(err)
	}
	return l.Items, true, nil
}

// FindStack finds every object of team's stack in namespace: objects of every kind in
// manifests.StackKinds carrying the team's labels, in namespace, in the Envoy namespace its
// Prometheus names (annotation promteam.io/envoy-namespace) and in the namespace of the shared
// Alertmanager it names (promteam.io/alertmanager), and its cluster-scoped objects.
// Kinds the cluster does not serve (no operator CRDs) are skipped. The refs come in apply order:
// by kind as StackKinds lists them, the team namespace first, then by name.
func (c *Client) FindStack(ctx context.Context, team, namespace string) ([]Ref, error) {
	selector := manifests.TeamSelector(team)
	prom := prometheusKind()
	proms, _, err := c.list(ctx, prom, namespace, selector)
	if err != nil {
		return nil, err
	}
	namespaces := []string{namespace}
	for _, p := range proms {
		if ns := p.GetAnnotations()[manifests.AnnotationEnvoyNamespace]; ns != "" && !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
		// A shared Alertmanager's namespace holds the Role that lets the Prometheus discover it.
		if ns, _, shared := strings.Cut(p.GetAnnotations()[manifests.AnnotationAlertmanager], "/"); shared && !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}
	var refs []Ref
	for _, k := range manifests.StackKinds {
		// Outside the team namespace, team names are not unique: the team namespace label tells.
		foreign := manifests.ForeignSelector(team, namespace)
		if !k.Namespaced {
			items, _, err := c.list(ctx, k, "", foreign)
			if err != nil {
				return nil, err
			}
			for _, obj := range items {
				refs = append(refs, refOf(k, &obj))
			}
			continue
		}
		for _, ns := range namespaces {
			items := proms
			if k != prom || ns != namespace {
				sel := selector
				if ns != namespace {
					sel = foreign
				}
				if items, _, err = c.list(ctx, k, ns, sel); err != nil {
					return nil, err
				}
			}
			var found []Ref
			for _, obj := range items {
				found = append(found, refOf(k, &obj))
			}
			slices.SortFunc(found, func(a, b Ref) int { return strings.Compare(a.Name, b.Name) })
			refs = append(refs, found...)
		}
	}
	return refs, nil
}

// PersistentVolumeClaims lists the volume claims the operator made for team's Prometheus in
// namespace, by name. They are not part of the stack: the operator creates them from the
// Prometheus' volumeClaimTemplate, labels them operator.prometheus.io/name=<team> (or
// app.kubernetes.io/name=prometheus and app.kubernetes.io/instance=<team>) and leaves them behind
// when the Prometheus is deleted.
func (c *Client) PersistentVolumeClaims(ctx context.Context, team, namespace string) ([]Ref, error) {
	var refs []Ref
	for _, selector := range []string{
		"operator.prometheus.io/name=" + team,
		"app.kubernetes.io/name=prometheus,app.kubernetes.io/instance=" + team,
	} {
		l, err := c.typed.CoreV1().PersistentVolumeClaims(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, c.explain(err)
		}
		for _, pvc := range l.Items {
			ref := Ref{Version: "v1", Kind: "PersistentVolumeClaim", Resource: "persistentvolumeclaims", Namespace: pvc.Namespace, Name: pvc.Name}
			if !slices.Contains(refs, ref) {
				refs = append(refs, ref)
			}
		}
	}
	slices.SortFunc(refs, func(a, b Ref) int { return strings.Compare(a.Name, b.Name) })
	return refs, nil
}

// Delete deletes refs in reverse order (refs in apply order are deleted dependents first) with
// foreground propagation, so that the Prometheus goes only after the StatefulSet the operator
// made for it. It returns the refs it deleted, in the order it deleted them; objects already gone
// count as done and are left out. A client dry run deletes nothing and returns the refs that
// exist; a server dry run asks the API server to check each deletion. Objects go at once, as with
// kubectl delete; the garbage collector removes what they own (the operator's StatefulSet and
// Secrets) afterwards.
func (c *Client) Delete(ctx context.Context, refs []Ref, dryRun DryRun) ([]Ref, error) {
	background := metav1.DeletePropagationBackground
	var done []Ref
	for _, ref := range slices.Backward(refs) {
		ri := c.resourceFor(ref)
		var err error
		if dryRun == DryRunClient {
			_, err = ri.Get(ctx, ref.Name, metav1.GetOptions{})
		} else {
			err = ri.Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: &background, DryRun: dryRun.dryRunAll()})
		}
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return done, c.explain(err)
		default:
			done = append(done, ref)
		}
	}
	return done, nil
}

// Condition is one condition of a Prometheus' status, such as Available or Reconciled.
type Condition struct {
	Type, Status, Reason, Message string
}

// StackSummary is one team's stack as list shows it, read from its Prometheus.
type StackSummary struct {
	Namespace      string
	Name           string // of the Prometheus
	Team           string
	Version        string // Prometheus version
	Retention      string
	RetentionSize  string
	Envoy          string // the presets, comma-separated
	EnvoyNamespace string // where Envoy runs, if not Namespace
	// Alertmanager is where the alerts go: manifests.AlertmanagerOwn, NAMESPACE/NAME of the
	// platform's, or "" for nowhere.
	Alertmanager string
	Replicas     int32 // desired replicas per shard
	Shards       int32
	Paused       bool
	Created      time.Time
	// SampleLimit and TargetLimit are the Prometheus' enforcedSampleLimit (samples per scrape)
	// and enforcedTargetLimit (targets per scrape pool); 0 when unset.
	SampleLimit, TargetLimit int64
	// MemoryLimit is the Prometheus container's memory limit (spec.resources.limits.memory), in
	// bytes; 0 when unset or unreadable.
	MemoryLimit int64

	// HasStatus is false until the operator has reported on the Prometheus: the fields below are
	// then zero.
	HasStatus  bool
	Ready      int32 // status.availableReplicas, over all shards
	Current    int32 // status.replicas
	Conditions []Condition
}

// Desired is the number of Prometheus pods the stack asks for: replicas in every shard.
func (s StackSummary) Desired() int32 { return s.Replicas * s.Shards }

// Condition returns the condition of type t, if reported.
func (s StackSummary) Condition(t string) (Condition, bool) {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return Condition{}, false
}

// ListStacks lists the stacks in namespace, or in every namespace when all is set: the
// Prometheuses labelled app.kubernetes.io/managed-by=kubectl-promteam, sorted by namespace and
// team.
func (c *Client) ListStacks(ctx context.Context, namespace string, all bool) ([]StackSummary, error) {
	if all {
		namespace = ""
	}
	prom := prometheusKind()
	items, served, err := c.list(ctx, prom, namespace, manifests.LabelManagedBy+"="+manifests.ManagedBy)
	if err != nil {
		return nil, err
	}
	if !served {
		return nil, &NoOperatorCRDsError{Server: c.server, What: prom.GroupResource().String()}
	}
	out := make([]StackSummary, 0, len(items))
	for _, p := range items {
		out = append(out, summarize(&p))
	}
	slices.SortFunc(out, func(a, b StackSummary) int {
		if d := strings.Compare(a.Namespace, b.Namespace); d != 0 {
			return d
		}
		if d := strings.Compare(a.Team, b.Team); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// summarize reads a Prometheus. Fields the operator defaults (replicas, shards) read as their
// defaults when unset.
func summarize(p *unstructured.Unstructured) StackSummary {
	str := func(fields ...string) string {
		s, _, _ := unstructured.NestedString(p.Object, fields...)
		return s
	}
	num := func(def int64, fields ...string) int32 {
		n, ok, _ := unstructured.NestedInt64(p.Object, fields...)
		if !ok {
			return int32(def)
		}
		return int32(n)
	}
	s := StackSummary{
		Namespace:      p.GetNamespace(),
		Name:           p.GetName(),
		Team:           p.GetLabels()[manifests.LabelTeam],
		Version:        str("spec", "version"),
		Retention:      str("spec", "retention"),
		RetentionSize:  str("spec", "retentionSize"),
		Envoy:          p.GetAnnotations()[manifests.AnnotationEnvoy],
		EnvoyNamespace: p.GetAnnotations()[manifests.AnnotationEnvoyNamespace],
		Alertmanager:   p.GetAnnotations()[manifests.AnnotationAlertmanager],
		Replicas:       num(1, "spec", "replicas"),
		Shards:         num(1, "spec", "shards"),
		Created:        p.GetCreationTimestamp().Time,
	}
	if s.Team == "" {
		s.Team = s.Name
	}
	s.SampleLimit, _, _ = unstructured.NestedInt64(p.Object, "spec", "enforcedSampleLimit")
	s.TargetLimit, _, _ = unstructured.NestedInt64(p.Object, "spec", "enforcedTargetLimit")
	if q, err := resource.ParseQuantity(str("spec", "resources", "limits", "memory")); err == nil {
		s.MemoryLimit = q.Value()
	}
	s.Paused, _, _ = unstructured.NestedBool(p.Object, "spec", "paused")
	status, ok, _ := unstructured.NestedMap(p.Object, "status")
	if !ok || len(status) == 0 {
		return s
	}
	s.HasStatus = true
	s.Ready = num(0, "status", "availableReplicas")
	s.Current = num(0, "status", "replicas")
	conditions, _, _ := unstructured.NestedSlice(p.Object, "status", "conditions")
	for _, raw := range conditions {
		m, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		get := func(k string) string { v, _ := m[k].(string); return v }
		s.Conditions = append(s.Conditions, Condition{Type: get("type"), Status: get("status"), Reason: get("reason"), Message: get("message")})
	}
	return s
}

// TeamNamespaces lists, sorted, the namespaces holding a Prometheus of team's stack, so that a
// command can say where a stack it did not find lives. It returns nil and no error when the user
// may not list Prometheuses across namespaces.
func (c *Client) TeamNamespaces(ctx context.Context, team string) ([]string, error) {
	prom := prometheusKind()
	items, served, err := c.list(ctx, prom, "", manifests.TeamSelector(team))
	switch {
	case apierrors.IsForbidden(err):
		return nil, nil
	case err != nil:
		return nil, err
	case !served:
		return nil, &NoOperatorCRDsError{Server: c.server, What: prom.GroupResource().String()}
	}
	var out []string
	for _, p := range items {
		if !slices.Contains(out, p.GetNamespace()) {
			out = append(out, p.GetNamespace())
		}
	}
	slices.Sort(out)
	return out, nil
}
