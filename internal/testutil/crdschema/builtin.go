package crdschema

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	genericvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// builtinDecoder decodes every kind registered in client-go's scheme and
// fails on unknown and duplicate fields.
var builtinDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// clusterScoped lists built-in kinds without a namespace. The API server
// clears metadata.namespace on these, so it is not an error to set it.
var clusterScoped = map[schema.GroupKind]bool{
	{Group: "", Kind: "Namespace"}:                                                    true,
	{Group: "", Kind: "Node"}:                                                         true,
	{Group: "", Kind: "PersistentVolume"}:                                             true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   true,
	{Group: "storage.k8s.io", Kind: "CSIDriver"}:                                      true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                               true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                                true,
	{Group: "node.k8s.io", Kind: "RuntimeClass"}:                                      true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: true,
}

// nameValidators holds the name rules that differ from the default DNS
// subdomain rule.
var nameValidators = map[schema.GroupKind]genericvalidation.ValidateNameFunc{
	{Group: "", Kind: "Service"}:                                     genericvalidation.NameIsDNS1035Label,
	{Group: "", Kind: "Namespace"}:                                   genericvalidation.ValidateNamespaceName,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               validatePathSegmentName,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        validatePathSegmentName,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        validatePathSegmentName,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: validatePathSegmentName,
}

// validatePathSegmentName is the API server's rule for RBAC object names: any string that can be
// one segment of a URL path.
func validatePathSegmentName(name string, prefix bool) []string {
	if !prefix && (name == "." || name == "..") {
		return []string{fmt.Sprintf("may not be '%s'", name)}
	}
	var errs []string
	for _, illegal := range []string{"/", "%"} {
		if strings.Contains(name, illegal) {
			errs = append(errs, fmt.Sprintf("may not contain '%s'", illegal))
		}
	}
	return errs
}

// ValidateBuiltin checks one built-in object (ServiceAccount, Role,
// RoleBinding, ClusterRole, ClusterRoleBinding, Service,
// PodDisruptionBudget, NetworkPolicy, ConfigMap, Deployment or any other
// kind in client-go's scheme) given as JSON or YAML holding one document.
// Decoding is strict, so unknown or duplicate fields and wrong types fail,
// as with kubectl --validate=strict. Metadata gets the API server's
// ObjectMeta checks (name present and well-formed, labels, annotations).
// Field-level API validation of the spec (k8s.io/kubernetes/pkg/apis/...)
// is not run.
func ValidateBuiltin(data []byte) error {
	docs, err := splitYAML(data)
	if err != nil {
		return fmt.Errorf("crdschema: %w", err)
	}
	if len(docs) != 1 {
		return fmt.Errorf("crdschema: expected exactly one document, found %d", len(docs))
	}
	doc := docs[0]

	var head struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if j, err := yaml.YAMLToJSON(doc); err != nil {
		return fmt.Errorf("crdschema: invalid YAML: %w", err)
	} else if err := json.Unmarshal(j, &head); err != nil {
		return fmt.Errorf("crdschema: decoding apiVersion, kind and metadata.name: %w", err)
	}
	tm := head.TypeMeta
	verr := &Error{APIVersion: tm.APIVersion, Kind: tm.Kind, Name: head.Metadata.Name, Against: "the client-go scheme (strict decoding)"}
	if tm.APIVersion == "" || tm.Kind == "" {
		verr.Problems = []string{"apiVersion and kind are required"}
		return verr
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	if gvk.Group == Group {
		verr.Problems = []string{"monitoring.coreos.com objects are custom resources; use (*Validator).Validate"}
		return verr
	}

	obj, _, err := builtinDecoder.Decode(doc, nil, nil)
	var problems []string
	if err != nil {
		if strictErr, ok := runtime.AsStrictDecodingError(err); ok {
			for _, e := range strictErr.Errors() {
				msg := e.Error()
				switch {
				case strings.HasPrefix(msg, "unknown field"):
					msg += " (kubectl apply --server-side and --validate=strict reject it; a plain create or update drops it silently)"
				case strings.Contains(msg, "already set") || strings.HasPrefix(msg, "duplicate field"):
					msg += " (kubectl --validate=strict rejects duplicate fields; the API server keeps the last value)"
				}
				problems = append(problems, msg)
			}
		} else {
			verr.Problems = []string{err.Error()}
			return verr
		}
	}
	if obj == nil {
		verr.Problems = append(problems, "object could not be decoded")
		return verr
	}

	accessor, err := meta.Accessor(obj)
	if err != nil {
		return fmt.Errorf("crdschema: %s has no object metadata: %w", gvk, err)
	}
	verr.Name = accessor.GetName()
	gk := gvk.GroupKind()
	nameFn := genericvalidation.NameIsDNSSubdomain
	if fn, ok := nameValidators[gk]; ok {
		nameFn = fn
	}
	om := metav1.ObjectMeta{
		Name:            accessor.GetName(),
		GenerateName:    accessor.GetGenerateName(),
		Namespace:       accessor.GetNamespace(),
		Labels:          accessor.GetLabels(),
		Annotations:     accessor.GetAnnotations(),
		OwnerReferences: accessor.GetOwnerReferences(),
		Finalizers:      accessor.GetFinalizers(),
		ManagedFields:   accessor.GetManagedFields(),
	}
	if clusterScoped[gk] {
		om.Namespace = ""
	}
	for _, e := range validateObjectMeta(&om, !clusterScoped[gk], nameFn) {
		problems = append(problems, e.Error())
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	verr.Problems = dedupe(problems)
	return verr
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i > 0 && s == sorted[i-1] {
			continue
		}
		out = append(out, s)
	}
	return out
}
