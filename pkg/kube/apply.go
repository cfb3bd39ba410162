package kube

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// DryRun says whether and where a change is only simulated.
type DryRun int

const (
	// DryRunNone changes the cluster.
	DryRunNone DryRun = iota
	// DryRunClient sends no change; it only reads what exists.
	DryRunClient
	// DryRunServer sends every change with dryRun=All: the API server validates, defaults and
	// admits it, and stores nothing.
	DryRunServer
)

// String is the value of kubectl's --dry-run flag.
func (d DryRun) String() string {
	switch d {
	case DryRunClient:
		return "client"
	case DryRunServer:
		return "server"
	}
	return "none"
}

// dryRunAll is the dryRun parameter of a server-side dry run, or nil.
func (d DryRun) dryRunAll() []string {
	if d == DryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// ApplyOptions controls Apply.
type ApplyOptions struct {
	FieldManager   string // FieldManager when empty
	DryRun         DryRun
	ForceConflicts bool // take over fields another field manager owns
}

// What Apply did to an object.
const (
	ActionCreated    = "created"    // it did not exist
	ActionConfigured = "configured" // it existed and changed (in a client dry run: it exists)
	ActionUnchanged  = "unchanged"  // it existed and applying changed nothing
)

// ApplyResult is what applying did to one object.
type ApplyResult struct {
	Ref    Ref
	Action string // ActionCreated, ActionConfigured or ActionUnchanged
	// Note is set when a server dry run could not check the object although applying it for
	// real would work: it binds a Role the same apply creates first, or its namespace is yet to
	// be created. The object is then reported as it would be created.
	Note string
}

// Apply applies objs with server-side apply, one after the other in the order given, and says
// what happened to each. An object is created when it did not exist, unchanged when its
// resourceVersion did not move or the result equals the live object apart from the metadata
// every write changes and the status (which is how a server dry run tells), and configured
// otherwise. A client dry run writes nothing and only reads each object to tell created from
// configured.
//
// Every object's kind is mapped to its resource before anything is written, so missing CRDs fail
// the whole apply up front with an [*NoOperatorCRDsError]. On an error, the results of the
// objects already applied are returned with it.
func (c *Client) Apply(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) ([]ApplyResult, error) {
	targets, err := c.resolve(objs)
	if err != nil {
		return nil, err
	}
	manager := opts.FieldManager
	if manager == "" {
		manager = FieldManager
	}
	// In a dry run nothing is stored, so later objects cannot see earlier ones: a binding of a
	// Role among the objects the dry run reported as created is not held against it.
	pending := map[string]bool{}
	results := make([]ApplyResult, 0, len(targets))
	for _, t := range targets {
		live, err := c.getLive(ctx, t)
		if err != nil {
			return results, err
		}
		res := ApplyResult{Ref: t.ref}
		if opts.DryRun == DryRunClient {
			res.Action = ActionConfigured
			if live == nil {
				res.Action = ActionCreated
			}
			results = append(results, res)
			continue
		}
		applied, err := t.ri.Apply(ctx, t.ref.Name, t.obj, metav1.ApplyOptions{
			FieldManager: manager, Force: opts.ForceConflicts, DryRun: opts.DryRun.dryRunAll(),
		})
		switch {
		case err != nil && opts.DryRun == DryRunServer && live == nil:
			note := dryRunGap(err, t, pending)
			if note == "" {
				return results, c.applyError(t, err)
			}
			res.Action, res.Note = ActionCreated, note
		case err != nil:
			return results, c.applyError(t, err)
		case live == nil:
			res.Action = ActionCreated
		case applied.GetResourceVersion() == live.GetResourceVersion() && opts.DryRun == DryRunNone,
			equality.Semantic.DeepEqual(withoutVolatile(live), withoutVolatile(applied)):
			// A real apply that changed nothing leaves the resourceVersion alone. The content
			// comparison covers dry runs, and a status update by a controller between reading
			// and applying.
			res.Action = ActionUnchanged
		default:
			res.Action = ActionConfigured
		}
		if res.Action == ActionCreated {
			pending[roleKey(t.ref.Kind, t.ref.Namespace, t.ref.Name)] = true
		}
		results = append(results, res)
	}
	return results, nil
}

// withoutVolatile is a copy of obj without the metadata every write changes and without the
// status, which apply never changes.
func withoutVolatile(obj *unstructured.Unstructured) map[string]any {
	out := obj.DeepCopy().Object
	for _, f := range []string{"managedFields", "resourceVersion", "generation"} {
		unstructured.RemoveNestedField(out, "metadata", f)
	}
	delete(out, "status")
	return out
}

// roleKey identifies a Role or ClusterRole (or any object) for dryRunGap.
func roleKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// dryRunGap explains why the API server rejected a dry run of a new object that a real apply
// would accept, or returns "" when the rejection is real. Two cases exist: the object's namespace
// does not exist yet (a dry run of --create-namespace stores no namespace), and a binding names a
// Role or ClusterRole that an earlier object of the same dry run creates.
func dryRunGap(err error, t target, pending map[string]bool) string {
	d := notFoundDetails(err)
	if d == nil {
		return ""
	}
	if d.Kind == "namespaces" && d.Name == t.ref.Namespace {
		return fmt.Sprintf("not checked by the server: namespace %q does not exist yet", t.ref.Namespace)
	}
	if roleKind, roleName, ok := missingRole(d, t); ok && pending[roleKey(roleKind, roleNamespace(roleKind, t), roleName)] {
		return fmt.Sprintf("not checked by the server: the %s %s it binds is created by this apply, and a dry run stores nothing", roleKind, roleName)
	}
	return ""
}

// notFoundDetails are the details of a NotFound API error, or nil.
func notFoundDetails(err error) *metav1.StatusDetails {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return nil
	}
	return status.Status().Details
}

// missingRole reports whether a NotFound error with details d, from applying t, means that t is
// a RoleBinding or ClusterRoleBinding whose role does not exist, and names that role. Unless
// the user may bind any role, the API server checks a new binding against the rules of the role
// it names; when the role does not exist, server-side apply reports the binding itself as not
// found (a plain create names the role).
func missingRole(d *metav1.StatusDetails, t target) (kind, name string, ok bool) {
	if t.ref.Group != rbacv1.GroupName || (t.ref.Kind != "RoleBinding" && t.ref.Kind != "ClusterRoleBinding") {
		return "", "", false
	}
	kind, _, _ = unstructured.NestedString(t.obj.Object, "roleRef", "kind")
	name, _, _ = unstructured.NestedString(t.obj.Object, "roleRef", "name")
	self := d.Kind == t.ref.Resource && d.Name == t.ref.Name
	role := (d.Kind == "roles" || d.Kind == "clusterroles") && d.Name == name
	return kind, name, self || role
}

// roleNamespace is the namespace of the role a binding of t names: none for a ClusterRole.
func roleNamespace(roleKind string, t target) string {
	if roleKind == "ClusterRole" {
		return ""
	}
	return t.ref.Namespace
}

// ConflictError says that applying would take fields over from other field managers.
type ConflictError struct {
	Ref      Ref
	Managers []string // the other field managers, sorted
	Fields   []string // the conflicting fields, as the API server names them
}

func (e *ConflictError) Error() string {
	quoted := make([]string, len(e.Managers))
	for i, m := range e.Managers {
		quoted[i] = fmt.Sprintf("%q", m)
	}
	where := ""
	if e.Ref.Namespace != "" {
		where = " in namespace " + e.Ref.Namespace
	}
	fields, verb, pronoun := "fields", "are", "them"
	if len(e.Fields) == 1 {
		fields, verb, pronoun = "field", "is", "it"
	}
	if len(e.Fields) > 0 {
		fields += " " + strings.Join(e.Fields, ", ")
	}
	return fmt.Sprintf("cannot apply %s%s: %s %s managed by %s; use --force-conflicts to take %s over",
		e.Ref, where, fields, verb, strings.Join(quoted, " and "), pronoun)
}

// conflictManager finds the manager in the API server's conflict message, which reads
// `conflict with "kubectl-edit" using monitoring.coreos.com/v1: .spec.retention`.
var conflictManager = regexp.MustCompile(`conflict with "([^"]*)"`)

// applyError turns an apply failure of t into a user's one-liner.
func (c *Client) applyError(t target, err error) error {
	ref := t.ref
	if apierrors.IsConflict(err) {
		var status apierrors.APIStatus
		if errors.As(err, &status) && status.Status().Details != nil {
			ce := &ConflictError{Ref: ref}
			for _, cause := range status.Status().Details.Causes {
				if cause.Type != metav1.CauseTypeFieldManagerConflict {
					continue
				}
				if m := conflictManager.FindStringSubmatch(cause.Message); m != nil && !slices.Contains(ce.Managers, m[1]) {
					ce.Managers = append(ce.Managers, m[1])
				}
				if cause.Field != "" && !slices.Contains(ce.Fields, cause.Field) {
					ce.Fields = append(ce.Fields, cause.Field)
				}
			}
			if len(ce.Managers) > 0 {
				slices.Sort(ce.Managers)
				return ce
			}
		}
	}
	if d := notFoundDetails(err); d != nil {
		if d.Kind == "namespaces" && d.Name == ref.Namespace {
			return &NamespaceMissingError{Namespace: ref.Namespace}
		}
		if kind, name, ok := missingRole(d, t); ok {
			return fmt.Errorf("cannot apply %s: the %s %s it binds does not exist, and only users who may bind any role can bind a missing one", ref, kind, name)
		}
	}
	if apierrors.IsNotFound(err) {
		if e := c.notServed(err, ref.Group, ref.groupResource()); e != nil {
			return e
		}
	}
	return c.explain(err)
}

// EnsureNamespace creates the namespace name unless it exists. It reports created or
// unchanged; a dry run creates nothing (a server dry run still asks the API server whether the
// namespace could be created). A user who may neither read nor create the namespace cannot tell
// whether it exists: it is then reported unchanged with a Note, and applying into it says
// whether it was missing.
func (c *Client) EnsureNamespace(ctx context.Context, name string, dryRun DryRun) (ApplyResult, error) {
	res := ApplyResult{Ref: Ref{Version: "v1", Kind: "Namespace", Resource: "namespaces", Name: name}, Action: ActionUnchanged}
	_, err := c.typed.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	unreadable := apierrors.IsForbidden(err)
	switch {
	case err == nil:
		return res, nil
	case !unreadable && !apierrors.IsNotFound(err):
		return res, c.explain(err)
	}
	if dryRun == DryRunClient {
		if !unreadable {
			res.Action = ActionCreated
			return res, nil
		}
		// Only the API server can answer; ask it for a dry run.
		dryRun = DryRunServer
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err = c.typed.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: FieldManager, DryRun: dryRun.dryRunAll()})
	switch {
	case apierrors.IsAlreadyExists(err):
		return res, nil
	case unreadable && apierrors.IsForbidden(err):
		res.Note = "you may neither read nor create namespaces, so whether it exists is unknown"
		return res, nil
	case err != nil:
		return res, c.explain(err)
	}
	res.Action = ActionCreated
	return res, nil
}
