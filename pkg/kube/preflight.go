package kube

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Permission is one verb on one resource, in a namespace or cluster-wide (Namespace empty).
// Resource may name a subresource, as in "pods/log".
type Permission struct {
	Verb, Group, Resource, Namespace string
}

// String reads like "create prometheuses.monitoring.coreos.com in namespace team-a".
func (p Permission) String() string {
	res := p.Resource
	if p.Group != "" {
		res += "." + p.Group
	}
	if p.Namespace == "" {
		return p.Verb + " " + res + " cluster-wide"
	}
	return p.Verb + " " + res + " in namespace " + p.Namespace
}

// applyVerbs are what server-side apply of an object needs: get to read it first, patch to
// apply, create when it does not exist yet.
var applyVerbs = []string{"get", "create", "patch"}

// reviewConcurrency bounds the SelfSubjectAccessReviews in flight.
const reviewConcurrency = 8

// Preflight asks the API server, with SelfSubjectAccessReviews, whether the user may apply objs,
// and returns the permissions the user lacks, deduplicated, sorted by namespace (cluster-wide
// last), group, resource and verb. Nothing is written.
//
// Applying needs get, create and patch on each object's resource in its namespace, and create on
// namespaces for every namespace of objs known not to exist when createNamespace is set.
// Because RBAC escalation prevention lets a user grant only what they hold, a Role or
// ClusterRole among objs also needs every permission it grants, in its namespace (cluster-wide
// for a ClusterRole), unless the user may both escalate and bind that role.
func (c *Client) Preflight(ctx context.Context, objs []*unstructured.Unstructured, createNamespace bool) ([]Permission, error) {
	targets, err := c.resolve(objs)
	if err != nil {
		return nil, err
	}
	var needed []Permission
	add := func(p Permission) {
		if !slices.Contains(needed, p) {
			needed = append(needed, p)
		}
	}
	for _, t := range targets {
		for _, verb := range applyVerbs {
			add(Permission{Verb: verb, Group: t.ref.Group, Resource: t.ref.Resource, Namespace: t.ref.Namespace})
		}
	}
	if createNamespace {
		for _, ns := range namespacesOf(targets) {
			_, err := c.typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			switch {
			case err == nil, apierrors.IsForbidden(err):
				// A namespace the user may not read is taken to exist: most users who cannot read
				// it cannot create it either, and EnsureNamespace then leaves it alone.
			case apierrors.IsNotFound(err):
				add(Permission{Verb: "create", Resource: "namespaces"})
			default:
				return nil, c.explain(err)
			}
		}
	}
	for _, t := range targets {
		if t.ref.Group != rbacv1.GroupName || (t.ref.Kind != "Role" && t.ref.Kind != "ClusterRole") {
			continue
		}
		rules, err := policyRules(t.obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.ref, err)
		}
		free, err := c.mayGrantAnything(ctx, t.ref)
		if err != nil {
			return nil, err
		}
		if free {
			continue
		}
		for _, rule := range rules {
			for _, g := range rule.APIGroups {
				for _, r := range rule.Resources {
					for _, v := range rule.Verbs {
						add(Permission{Verb: v, Group: g, Resource: r, Namespace: t.ref.Namespace})
					}
				}
			}
		}
	}

	var mu sync.Mutex
	var missing []Permission
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(reviewConcurrency)
	for _, p := range needed {
		g.Go(func() error {
			ok, err := CanI(gctx, c.typed, p, "")
			if err != nil {
				return c.explain(err)
			}
			if !ok {
				mu.Lock()
				missing = append(missing, p)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sortPermissions(missing)
	return missing, nil
}

// namespacesOf lists the namespaces of targets in order of first appearance.
func namespacesOf(targets []target) []string {
	var out []string
	for _, t := range targets {
		if t.ref.Namespace != "" && !slices.Contains(out, t.ref.Namespace) {
			out = append(out, t.ref.Namespace)
		}
	}
	return out
}

// policyRules reads the rules of a Role or ClusterRole.
func policyRules(obj *unstructured.Unstructured) ([]rbacv1.PolicyRule, error) {
	var role rbacv1.ClusterRole // a Role's fields are a subset
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &role); err != nil {
		return nil, err
	}
	// Non-resource URLs exist only in ClusterRoles, and no stack grants any.
	return role.Rules, nil
}

// mayGrantAnything reports whether the user may both create the role whatever it grants
// (escalate) and bind it whatever it grants (bind), so that escalation prevention does not
// apply.
func (c *Client) mayGrantAnything(ctx context.Context, role Ref) (bool, error) {
	for _, verb := range []string{"escalate", "bind"} {
		ok, err := CanI(ctx, c.typed, Permission{Verb: verb, Group: role.Group, Resource: role.Resource, Namespace: role.Namespace}, role.Name)
		if err != nil {
			return false, c.explain(err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// verbOrder is the order verbs are listed in; others follow alphabetically.
var verbOrder = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "escalate", "bind"}

func verbRank(v string) int {
	if i := slices.Index(verbOrder, v); i >= 0 {
		return i
	}
	return len(verbOrder)
}

func compareVerbs(a, b string) int {
	if d := verbRank(a) - verbRank(b); d != 0 {
		return d
	}
	return strings.Compare(a, b)
}

// compareNamespaces orders namespaces alphabetically with cluster-wide ("") last.
func compareNamespaces(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	return strings.Compare(a, b)
}

func sortPermissions(ps []Permission) {
	slices.SortFunc(ps, func(a, b Permission) int {
		if d := compareNamespaces(a.Namespace, b.Namespace); d != 0 {
			return d
		}
		if d := strings.Compare(a.Group, b.Group); d != 0 {
			return d
		}
		if d := strings.Compare(a.Resource, b.Resource); d != 0 {
			return d
		}
		return compareVerbs(a.Verb, b.Verb)
	})
}

// readVerbs are the verbs that only read; Remedy grants them in a role of their own.
var readVerbs = []string{"get", "list", "watch"}

// Remedy returns the kubectl commands a cluster admin can run to grant user exactly the missing
// permissions: per namespace (cluster-wide last) a Role per set of verbs (a ClusterRole for
// cluster-wide permissions) and a binding of it to user. The role that lets user apply objects
// (get, create, patch) is promteam-apply, the one with what the stack's own Roles grant (get,
// list, watch) promteam-read; any other set of verbs is named after its verbs.
func Remedy(missing []Permission, user string) []string {
	type grant struct {
		namespace string
		verbs     []string
		resources []string // resource.group
	}
	byScope := map[string]map[string][]string{} // namespace → resource.group → verbs
	for _, p := range missing {
		res := p.Resource
		if p.Group != "" {
			res += "." + p.Group
		}
		if byScope[p.Namespace] == nil {
			byScope[p.Namespace] = map[string][]string{}
		}
		if !slices.Contains(byScope[p.Namespace][res], p.Verb) {
			byScope[p.Namespace][res] = append(byScope[p.Namespace][res], p.Verb)
		}
	}
	var grants []*grant
	find := func(ns string, verbs []string) *grant {
		for _, g := range grants {
			if g.namespace == ns && slices.Equal(g.verbs, verbs) {
				return g
			}
		}
		g := &grant{namespace: ns, verbs: verbs}
		grants = append(grants, g)
		return g
	}
	for ns, resources := range byScope {
		for res, verbs := range resources {
			// A resource missing both writes and list or watch gets the reads in the read role,
			// so that the usual case needs two roles and not one per combination.
			var reads, rest []string
			for _, v := range verbs {
				if slices.Contains(readVerbs, v) {
					reads = append(reads, v)
				}
				if v != "list" && v != "watch" {
					rest = append(rest, v)
				}
			}
			if len(rest) == len(verbs) || len(reads) == len(verbs) {
				reads, rest = nil, verbs
			}
			for _, part := range [][]string{reads, rest} {
				if len(part) == 0 {
					continue
				}
				part = slices.Clone(part)
				slices.SortFunc(part, compareVerbs)
				g := find(ns, part)
				g.resources = append(g.resources, res)
			}
		}
	}
	slices.SortFunc(grants, func(a, b *grant) int {
		if d := compareNamespaces(a.namespace, b.namespace); d != 0 {
			return d
		}
		return strings.Compare(roleName(a.verbs), roleName(b.verbs))
	})
	var out []string
	for _, g := range grants {
		slices.Sort(g.resources)
		name := roleName(g.verbs)
		binding := name + "-" + nameFragment(user)
		verbs := "--verb=" + strings.Join(g.verbs, ",")
		resources := "--resource=" + strings.Join(g.resources, ",")
		if g.namespace == "" {
			out = append(out,
				strings.Join([]string{"kubectl create clusterrole", name, verbs, resources}, " "),
				strings.Join([]string{"kubectl create clusterrolebinding", binding, "--clusterrole=" + name, "--user=" + shellQuote(user)}, " "))
			continue
		}
		ns := "-n " + shellQuote(g.namespace)
		out = append(out,
			strings.Join([]string{"kubectl create role", name, verbs, resources, ns}, " "),
			strings.Join([]string{"kubectl create rolebinding", binding, "--role=" + name, "--user=" + shellQuote(user), ns}, " "))
	}
	return out
}

// roleName names the role granting verbs.
func roleName(verbs []string) string {
	switch {
	case slices.Equal(verbs, applyVerbs):
		return "promteam-apply"
	case slices.Equal(verbs, readVerbs):
		return "promteam-read"
	}
	parts := make([]string, len(verbs))
	for i, v := range verbs {
		parts[i] = nameFragment(v)
	}
	return "promteam-" + strings.Join(parts, "-")
}

var nameUnsafe = regexp.MustCompile(`[^a-z0-9.]+`)

// nameFragment turns s into something an object name may contain: lower-case letters, digits,
// dots and single dashes.
func nameFragment(s string) string {
	if s == "*" {
		return "all"
	}
	f := strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(s), "-"), "-.")
	if f == "" {
		return "user"
	}
	return f
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
