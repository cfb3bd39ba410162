package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// Ref names one object in the cluster. Namespace is empty for cluster-scoped objects.
type Ref struct {
	Group, Version, Kind, Resource, Namespace, Name string
}

// String names the object the way kubectl prints it: lower-case kind, group and name, as in
// "prometheus.monitoring.coreos.com/team-a" or "serviceaccount/prometheus-team-a".
func (r Ref) String() string {
	return r.kindGroup() + "/" + r.Name
}

// RefOf names obj from its own apiVersion, kind, namespace and name, without asking a cluster
// which resource serves it (Resource stays empty).
func RefOf(obj *unstructured.Unstructured) Ref {
	gvk := obj.GroupVersionKind()
	return Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// kindGroup is the lower-case kind, followed by the group unless it is the core group.
func (r Ref) kindGroup() string {
	kind := strings.ToLower(r.Kind)
	if r.Group == "" {
		return kind
	}
	return kind + "." + r.Group
}

// path is kind.group/namespace/name, or kind.group/name for a cluster-scoped object, as the
// headers of a diff show it.
func (r Ref) path() string {
	if r.Namespace == "" {
		return r.kindGroup() + "/" + r.Name
	}
	return r.kindGroup() + "/" + r.Namespace + "/" + r.Name
}

// groupResource is resource.group, or the resource alone in the core group.
func (r Ref) groupResource() string {
	return schema.GroupResource{Group: r.Group, Resource: r.Resource}.String()
}

// GroupVersionResource is the resource the object is served as.
func (r Ref) GroupVersionResource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource}
}

// Objects turns objects encoded as generic maps (manifests.Stack.Maps) into unstructured
// objects, in the same order. Numbers are converted to the int64 and float64 values unstructured
// objects hold, whether the maps carry them as json.Number or as Go numbers; the maps are not
// modified.
func Objects(maps []map[string]any) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(maps))
	for i, m := range maps {
		out[i] = &unstructured.Unstructured{Object: jsonValue(m).(map[string]any)}
	}
	return out
}

// jsonValue deep-copies v, converting numbers to int64 when they are whole and fit, and to
// float64 otherwise.
func jsonValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = jsonValue(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = jsonValue(x)
		}
		return s
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case int:
		return int64(t)
	case int32:
		return int64(t)
	case float32:
		return float64(t)
	case map[string]string:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = x
		}
		return m
	case []string:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = x
		}
		return s
	}
	return v
}

// target is an object to apply or diff, with where it is served.
type target struct {
	obj *unstructured.Unstructured
	ref Ref
	ri  dynamic.ResourceInterface
}

// resolve maps every object to its resource before anything is written, so that a kind the
// cluster does not serve fails the whole operation up front.
func (c *Client) resolve(objs []*unstructured.Unstructured) ([]target, error) {
	out := make([]target, 0, len(objs))
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		if gvk.Kind == "" || gvk.Version == "" {
			return nil, fmt.Errorf("object %q has no apiVersion or kind", obj.GetName())
		}
		mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			if e := c.notServed(err, gvk.Group, gvk.GroupVersion().String()+" "+gvk.Kind); e != nil {
				return nil, e
			}
			return nil, c.explain(err)
		}
		ref := Ref{
			Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
			Resource: mapping.Resource.Resource, Name: obj.GetName(),
		}
		var ri dynamic.ResourceInterface
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ref.Namespace = obj.GetNamespace()
			if ref.Namespace == "" {
				return nil, fmt.Errorf("%s has no namespace", ref)
			}
			ri = c.dynamic.Resource(mapping.Resource).Namespace(ref.Namespace)
		} else {
			ri = c.dynamic.Resource(mapping.Resource)
		}
		out = append(out, target{obj: obj, ref: ref, ri: ri})
	}
	return out, nil
}

// resourceFor is the dynamic client of ref's resource and namespace.
func (c *Client) resourceFor(ref Ref) dynamic.ResourceInterface {
	nri := c.dynamic.Resource(ref.GroupVersionResource())
	if ref.Namespace == "" {
		return nri
	}
	return nri.Namespace(ref.Namespace)
}

// getLive returns the live object, or nil when it does not exist.
func (c *Client) getLive(ctx context.Context, t target) (*unstructured.Unstructured, error) {
	live, err := t.ri.Get(ctx, t.ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if e := c.notServed(err, t.ref.Group, t.ref.groupResource()); e != nil {
			return nil, e
		}
		return nil, nil
	}
	if err != nil {
		return nil, c.explain(err)
	}
	return live, nil
}
