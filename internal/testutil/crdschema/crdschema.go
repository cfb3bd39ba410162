// Package crdschema validates Kubernetes manifests offline, the way the
// kube-apiserver does, for use in tests.
//
// Objects of the monitoring.coreos.com group are checked against the
// Prometheus Operator CRDs vendored in testdata/crds/<version>/ (see
// hack/update-crds) with the apiextensions-apiserver libraries: OpenAPI
// schema (types, patterns, enums), unknown fields (pruned silently by a
// plain create or update, rejected by server-side apply and kubectl
// --validate=strict), CRD defaulting, list-type invariants and CEL
// x-kubernetes-validations rules, plus basic metadata checks. Built-in
// kinds are decoded strictly with client-go's scheme (ValidateBuiltin).
//
// The package pulls in the API server libraries and must only be imported
// from tests.
package crdschema

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsinstall "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	genericvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/version"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// Group is the API group whose objects Validate checks.
const Group = "monitoring.coreos.com"

// operatorVersionAnnotation is set by prometheus-operator on every CRD it ships.
const operatorVersionAnnotation = "operator.prometheus.io/version"

// Validator validates monitoring.coreos.com objects against one set of CRDs.
// It is safe for concurrent use.
type Validator struct {
	dir             string
	operatorVersion string
	kinds           map[schema.GroupVersionKind]*kindSchema
}

// kindSchema holds everything needed to validate one served version of a CRD.
type kindSchema struct {
	crdName         string
	operatorVersion string
	namespaced      bool
	served          bool
	schemaValidator validation.SchemaValidator
	structural      *structuralschema.Structural
	celValidator    *cel.Validator // nil when the schema has no CEL rules
}

// Load reads every CRD (*.yaml, *.yml, *.json) in dir and prepares it for
// validation. Each document must be an apiextensions.k8s.io/v1
// CustomResourceDefinition with an OpenAPI schema for every version.
func Load(dir string) (*Validator, error) {
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml", "*.json"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("crdschema: loading CRDs: %w", err)
		}
		return nil, fmt.Errorf("crdschema: no CRD files (*.yaml, *.yml, *.json) in %s", dir)
	}
	sort.Strings(files)

	v := &Validator{dir: dir, kinds: map[schema.GroupVersionKind]*kindSchema{}}
	operatorVersions := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, err := splitYAML(data)
		if err != nil {
			return nil, fmt.Errorf("crdschema: %s: %w", f, err)
		}
		for i, doc := range docs {
			crd, err := decodeCRD(doc)
			if err != nil {
				return nil, fmt.Errorf("crdschema: %s: document %d: %w", f, i+1, err)
			}
			if err := v.add(crd); err != nil {
				return nil, fmt.Errorf("crdschema: %s: %w", f, err)
			}
			operatorVersions[crd.Annotations[operatorVersionAnnotation]] = true
		}
	}
	if len(v.kinds) == 0 {
		return nil, fmt.Errorf("crdschema: no CRDs in %s", dir)
	}
	if len(operatorVersions) == 1 {
		for ov := range operatorVersions {
			v.operatorVersion = ov
		}
	}
	return v, nil
}

var (
	crdCodecsOnce sync.Once
	crdCodecs     serializer.CodecFactory
)

// decodeCRD decodes a v1 CRD strictly and applies the API server's defaults.
func decodeCRD(doc []byte) (*apiextensionsv1.CustomResourceDefinition, error) {
	crdCodecsOnce.Do(func() {
		s := runtime.NewScheme()
		apiextensionsinstall.Install(s)
		crdCodecs = serializer.NewCodecFactory(s, serializer.EnableStrict)
	})
	obj, gvk, err := crdCodecs.UniversalDecoder(apiextensionsv1.SchemeGroupVersion).Decode(doc, nil, nil)
	if err != nil {
		return nil, err
	}
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok || gvk.Group != apiextensionsv1.GroupName || gvk.Version != "v1" {
		return nil, fmt.Errorf("not an apiextensions.k8s.io/v1 CustomResourceDefinition: %v", gvk)
	}
	return crd, nil
}

func (v *Validator) add(crd *apiextensionsv1.CustomResourceDefinition) error {
	for _, ver := range crd.Spec.Versions {
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: ver.Name, Kind: crd.Spec.Names.Kind}
		if _, dup := v.kinds[gvk]; dup {
			return fmt.Errorf("%v is defined twice", gvk)
		}
		if ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
			return fmt.Errorf("CRD %s version %s has no OpenAPI schema", crd.Name, ver.Name)
		}
		internal := &apiextensions.JSONSchemaProps{}
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(ver.Schema.OpenAPIV3Schema, internal, nil); err != nil {
			return fmt.Errorf("CRD %s version %s: converting schema: %w", crd.Name, ver.Name, err)
		}
		sv, _, err := validation.NewSchemaValidator(internal)
		if err != nil {
			return fmt.Errorf("CRD %s version %s: %w", crd.Name, ver.Name, err)
		}
		s, err := structuralschema.NewStructural(internal)
		if err != nil {
			return fmt.Errorf("CRD %s version %s: schema is not structural: %w", crd.Name, ver.Name, err)
		}
		s = s.DeepCopy()
		if err := structuraldefaulting.PruneDefaults(s); err != nil {
			return fmt.Errorf("CRD %s version %s: pruning defaults: %w", crd.Name, ver.Name, err)
		}
		v.kinds[gvk] = &kindSchema{
			crdName:         crd.Name,
			operatorVersion: crd.Annotations[operatorVersionAnnotation],
			namespaced:      crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
			served:          ver.Served,
			schemaValidator: sv,
			structural:      s,
			celValidator:    cel.NewValidator(s, true, celconfig.PerCallLimit),
		}
	}
	return nil
}

// Dir returns the directory the CRDs were loaded from.
func (v *Validator) Dir() string { return v.dir }

// OperatorVersion returns the prometheus-operator version recorded in the
// CRDs' operator.prometheus.io/version annotation, or "" when the CRDs do
// not agree on one.
func (v *Validator) OperatorVersion() string { return v.operatorVersion }

// Kinds lists the group/version/kinds the loaded CRDs define, sorted.
func (v *Validator) Kinds() []schema.GroupVersionKind {
	out := make([]schema.GroupVersionKind, 0, len(v.kinds))
	for gvk := range v.kinds {
		out = append(out, gvk)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Error reports every problem found in one object.
type Error struct {
	APIVersion string
	Kind       string
	Name       string
	// Against names what the object was checked against, e.g.
	// "CRD prometheuses.monitoring.coreos.com (prometheus-operator v0.94.1)".
	Against string
	// Problems holds one human-readable line per problem, sorted.
	Problems []string
}

func (e *Error) Error() string {
	var b strings.Builder
	name := e.Name
	if name == "" {
		name = "<no name>"
	}
	fmt.Fprintf(&b, "%s %q (%s)", e.Kind, name, e.APIVersion)
	if e.Against != "" {
		fmt.Fprintf(&b, " is invalid against %s", e.Against)
	} else {
		b.WriteString(" is invalid")
	}
	fmt.Fprintf(&b, ": %d problem(s):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// Validate checks one monitoring.coreos.com object and returns an *Error
// listing every problem, or nil when the API server would accept it.
//
// obj may be YAML or JSON ([]byte or string, exactly one document), a
// map[string]any, or any value that encoding/json can marshal (for example
// a typed *monitoringv1.Prometheus with TypeMeta set). Whole numbers are
// normalized to int64 as the API server decodes them, so CEL rules
// comparing integers work whatever the input.
func (v *Validator) Validate(obj any) error {
	u, err := toUnstructured(obj)
	if err != nil {
		return err
	}
	return v.validate(u)
}

func (v *Validator) validate(u map[string]any) error {
	apiVersion, _ := u["apiVersion"].(string)
	kind, _ := u["kind"].(string)
	verr := &Error{APIVersion: apiVersion, Kind: kind, Name: nameOf(u)}
	if apiVersion == "" || kind == "" {
		verr.Problems = append(verr.Problems, "apiVersion and kind are required")
		return verr
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		verr.Problems = append(verr.Problems, fmt.Sprintf("apiVersion: %v", err))
		return verr
	}
	gvk := gv.WithKind(kind)
	ks, ok := v.kinds[gvk]
	if !ok {
		verr.Against = v.describe()
		verr.Problems = append(verr.Problems, v.unknownKindProblem(gvk))
		return verr
	}
	verr.Against = fmt.Sprintf("CRD %s", ks.crdName)
	if ks.operatorVersion != "" {
		verr.Against += fmt.Sprintf(" (prometheus-operator v%s)", strings.TrimPrefix(ks.operatorVersion, "v"))
	}
	if !ks.served {
		verr.Problems = append(verr.Problems, fmt.Sprintf("version %s of %s is not served by this CRD", gv.Version, kind))
		return verr
	}

	var metaErrs, errs field.ErrorList
	var problems []string

	// Metadata, decoded strictly as the API server does for custom resources.
	meta, found, metaUnknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	switch {
	case err != nil:
		metaErrs = append(metaErrs, field.Invalid(field.NewPath("metadata"), u["metadata"], err.Error()))
	case !found:
		metaErrs = append(metaErrs, field.Required(field.NewPath("metadata", "name"), "metadata is missing"))
	default:
		metaErrs = append(metaErrs, validateObjectMeta(meta, ks.namespaced, genericvalidation.NameIsDNSSubdomain)...)
	}
	for _, p := range metaUnknown {
		problems = append(problems, unknownFieldProblem(p, nil, nil))
	}

	// Unknown fields: what the API server prunes on create and update.
	obj := runtime.DeepCopyJSON(u)
	unknown := pruning.PruneWithOptions(obj, ks.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, p := range unknown {
		problems = append(problems, unknownFieldProblem(p, u, ks.structural))
	}
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj, ks.structural)
	coerceErr, embeddedUnknown := schemaobjectmeta.CoerceWithOptions(nil, obj, ks.structural, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if coerceErr != nil {
		errs = append(errs, coerceErr)
	}
	for _, p := range embeddedUnknown {
		problems = append(problems, unknownFieldProblem(p, nil, nil))
	}

	// Defaults are applied before validation, as on a create request.
	structuraldefaulting.Default(obj, ks.structural)

	errs = append(errs, validation.ValidateCustomResource(nil, obj, ks.schemaValidator)...)
	errs = append(errs, schemaobjectmeta.Validate(context.Background(), nil, obj, ks.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, ks.structural, obj)...)

	// CEL rules are skipped when the schema errors make their evaluation
	// meaningless, as in the API server. Metadata errors do not affect the
	// rules, so they do not block them here and all problems show at once.
	if ks.celValidator != nil {
		if blocking := hasBlockingErr(errs); blocking {
			problems = append(problems, "x-kubernetes-validations (CEL) rules were not evaluated because of the type, enum, required or size errors listed; the API server skips them too")
		} else {
			celErrs, _ := ks.celValidator.Validate(context.Background(), nil, ks.structural, obj, nil, celconfig.RuntimeCELCostBudget)
			errs = append(errs, celErrs...)
		}
	}

	for _, e := range append(metaErrs, errs...) {
		problems = append(problems, describeFieldError(kind, e))
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	verr.Problems = dedupe(problems)
	return verr
}

// hasBlockingErr mirrors the API server: CEL rules are skipped when the
// object has errors that make rule evaluation meaningless.
func hasBlockingErr(errs field.ErrorList) bool {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

func (v *Validator) describe() string {
	if v.operatorVersion != "" {
		return fmt.Sprintf("prometheus-operator v%s CRDs in %s", strings.TrimPrefix(v.operatorVersion, "v"), v.dir)
	}
	return "CRDs in " + v.dir
}

func (v *Validator) unknownKindProblem(gvk schema.GroupVersionKind) string {
	var sameKind, sameGV []string
	for _, k := range v.Kinds() {
		if k.Group == gvk.Group && k.Kind == gvk.Kind {
			sameKind = append(sameKind, k.GroupVersion().String())
		}
		if k.GroupVersion() == gvk.GroupVersion() {
			sameGV = append(sameGV, k.Kind)
		}
	}
	switch {
	case len(sameKind) > 0:
		return fmt.Sprintf("no CRD serves %s in %s; available: %s", gvk.Kind, gvk.GroupVersion(), strings.Join(sameKind, ", "))
	case len(sameGV) > 0:
		return fmt.Sprintf("no CRD defines kind %q in %s; known kinds: %s", gvk.Kind, gvk.GroupVersion(), strings.Join(sameGV, ", "))
	default:
		return fmt.Sprintf("no CRD defines %s (group/version %s); use ValidateBuiltin for built-in kinds", gvk.Kind, gvk.GroupVersion())
	}
}

// validateObjectMeta checks name presence and syntax, labels, annotations
// and the other ObjectMeta rules of the API server. A namespaced object
// without metadata.namespace gets it from the kubectl context at apply
// time, so a placeholder is used for the check.
func validateObjectMeta(meta *metav1.ObjectMeta, namespaced bool, nameFn genericvalidation.ValidateNameFunc) field.ErrorList {
	m := meta.DeepCopy()
	if namespaced && m.Namespace == "" {
		m.Namespace = "default"
	}
	errs := genericvalidation.ValidateObjectMeta(m, namespaced, nameFn, field.NewPath("metadata"))
	if meta.Name == "" && meta.GenerateName != "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "kubectl apply needs metadata.name; generateName only works with create"))
	}
	return errs
}

// describeFieldError formats a field error and appends a hint for mistakes
// that are common in Prometheus Operator manifests.
func describeFieldError(kind string, e *field.Error) string {
	msg := e.Error()
	if hint := hintFor(kind, e); hint != "" {
		msg += " (hint: " + hint + ")"
	}
	return msg
}

func hintFor(kind string, e *field.Error) string {
	path := e.Field
	last := path
	if i := strings.LastIndex(path, "."); i >= 0 {
		last = path[i+1:]
	}
	switch {
	case e.Type == field.ErrorTypeTypeInvalid && last == "port" && kind == "ServiceMonitor":
		return `ServiceMonitor endpoints[].port is the NAME of a Service port, a string such as "metrics"`
	case e.Type == field.ErrorTypeTypeInvalid && last == "port" && kind == "PodMonitor":
		return "PodMonitor podMetricsEndpoints[].port is a container port NAME; use portNumber for a number"
	case e.Type == field.ErrorTypeInvalid && strings.HasSuffix(last, "retentionSize"):
		return "retentionSize is a Prometheus ByteSize whose unit ends in B: 16GiB, not 16Gi"
	case e.Type == field.ErrorTypeInvalid && strings.Contains(e.Detail, "(([0-9]+)y)?"):
		return "expected a Prometheus duration such as 15d, 12h or 1h30m (units ms, s, m, h, d, w, y; no spaces)"
	}
	return ""
}

// unknownFieldProblem describes a field the API server would drop. When the
// original object and schema are given it suggests a close property name.
func unknownFieldProblem(path string, obj map[string]any, s *structuralschema.Structural) string {
	msg := fmt.Sprintf("unknown field %q: kubectl apply --server-side and --validate=strict reject it; a plain create or update drops it silently", path)
	if obj == nil || s == nil {
		return msg
	}
	parent, key, ok := lookupUnknown(obj, s, path)
	if !ok || parent == nil {
		return msg
	}
	if best := closest(key, parent.Properties); best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
	}
	return msg
}

// lookupUnknown resolves a pruning path such as
// "spec.podMetricsEndpoints[0].scrapeTimout" against the original object,
// which disambiguates keys containing dots, and returns the schema of the
// object that holds the unknown key.
func lookupUnknown(x any, s *structuralschema.Structural, rest string) (*structuralschema.Structural, string, bool) {
	if s == nil {
		return nil, "", false
	}
	switch n := x.(type) {
	case map[string]any:
		for k, child := range n {
			if rest == k {
				return s, k, true
			}
			var next string
			switch {
			case strings.HasPrefix(rest, k+"."):
				next = rest[len(k)+1:]
			case strings.HasPrefix(rest, k+"["):
				next = rest[len(k):]
			default:
				continue
			}
			var cs *structuralschema.Structural
			if p, ok := s.Properties[k]; ok {
				cs = &p
			} else if s.AdditionalProperties != nil {
				cs = s.AdditionalProperties.Structural
			}
			if parent, key, ok := lookupUnknown(child, cs, next); ok {
				return parent, key, true
			}
		}
	case []any:
		if !strings.HasPrefix(rest, "[") {
			return nil, "", false
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, "", false
		}
		i, err := strconv.Atoi(rest[1:end])
		if err != nil || i < 0 || i >= len(n) {
			return nil, "", false
		}
		next := strings.TrimPrefix(rest[end+1:], ".")
		return lookupUnknown(n[i], s.Items, next)
	}
	return nil, "", false
}

// closest returns the property name nearest to key (case-insensitive match
// or a small edit distance), or "".
func closest(key string, props map[string]structuralschema.Structural) string {
	best, bestDist := "", 0
	limit := 2
	if len(key) >= 12 {
		limit = 3
	}
	for p := range props {
		if strings.EqualFold(p, key) {
			return p
		}
		d := levenshtein(strings.ToLower(key), strings.ToLower(p))
		if d <= limit && (best == "" || d < bestDist || (d == bestDist && p < best)) {
			best, bestDist = p, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ValidateDocuments validates every document of a YAML or JSON manifest
// stream: monitoring.coreos.com objects with Validate, everything else with
// ValidateBuiltin. Empty documents are ignored; a document that does not
// parse, or lacks apiVersion or kind, is an error, so nothing is skipped
// silently. It returns all errors joined, or nil.
func (v *Validator) ValidateDocuments(data []byte) error {
	docs, err := splitYAML(data)
	if err != nil {
		return fmt.Errorf("crdschema: splitting documents: %w", err)
	}
	if len(docs) == 0 {
		return errors.New("crdschema: no documents")
	}
	var all []error
	for i, doc := range docs {
		u, err := parseDocument(doc)
		if err != nil {
			all = append(all, fmt.Errorf("document %d: %w", i+1, err))
			continue
		}
		apiVersion, _ := u["apiVersion"].(string)
		gv, _ := schema.ParseGroupVersion(apiVersion)
		if gv.Group == Group {
			err = v.validate(u)
		} else {
			var j []byte
			j, err = json.Marshal(u)
			if err == nil {
				err = ValidateBuiltin(j)
			}
		}
		if err != nil {
			all = append(all, fmt.Errorf("document %d: %w", i+1, err))
		}
	}
	return errors.Join(all...)
}

// toUnstructured turns the accepted inputs of Validate into a fresh JSON
// object whose whole numbers are int64.
func toUnstructured(obj any) (map[string]any, error) {
	var data []byte
	switch o := obj.(type) {
	case nil:
		return nil, errors.New("crdschema: nil object")
	case []byte:
		return parseSingle(o)
	case string:
		return parseSingle([]byte(o))
	case interface{ UnstructuredContent() map[string]any }:
		j, err := json.Marshal(o.UnstructuredContent())
		if err != nil {
			return nil, fmt.Errorf("crdschema: encoding object: %w", err)
		}
		data = j
	default:
		j, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("crdschema: encoding object: %w", err)
		}
		data = j
	}
	return decodeJSON(data)
}

// parseSingle parses YAML or JSON holding exactly one document.
func parseSingle(data []byte) (map[string]any, error) {
	docs, err := splitYAML(data)
	if err != nil {
		return nil, fmt.Errorf("crdschema: %w", err)
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("crdschema: expected exactly one document, found %d; use ValidateDocuments for manifest streams", len(docs))
	}
	return parseDocument(docs[0])
}

// parseDocument converts one YAML or JSON document to a JSON object. YAML
// goes through yaml.YAMLToJSON and then k8s.io/apimachinery's JSON decoder,
// which yields int64 for whole numbers (sigs.k8s.io/yaml.Unmarshal would
// give float64, which CEL rejects with "expected int, got float64").
func parseDocument(doc []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	return decodeJSON(j)
}

func decodeJSON(j []byte) (map[string]any, error) {
	var u map[string]any
	if err := utiljson.Unmarshal(j, &u); err != nil {
		return nil, fmt.Errorf("crdschema: decoding object: %w", err)
	}
	if u == nil {
		return nil, errors.New("crdschema: document is not an object")
	}
	return u, nil
}

// splitYAML splits a YAML or JSON stream into its non-empty documents.
func splitYAML(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if isEmptyDocument(doc) {
			continue
		}
		docs = append(docs, doc)
	}
}

// isEmptyDocument reports whether a document holds only comments, blank
// lines or document markers.
func isEmptyDocument(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t == "---" || t == "..." || strings.HasPrefix(t, "#") {
			continue
		}
		return false
	}
	return true
}

func nameOf(u map[string]any) string {
	m, _ := u["metadata"].(map[string]any)
	if m == nil {
		return ""
	}
	if n, _ := m["name"].(string); n != "" {
		return n
	}
	n, _ := m["generateName"].(string)
	return n
}

// RepoRoot returns the module root: the nearest directory at or above the
// working directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("crdschema: go.mod not found in the working directory or any parent")
		}
		dir = parent
	}
}

// CRDsDir returns <module root>/testdata/crds.
func CRDsDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "testdata", "crds"), nil
}

// RepoCRDDir returns <module root>/testdata/crds/<version>. If the module
// root cannot be found it returns the path relative to the working
// directory, so that Load reports the missing directory.
func RepoCRDDir(version string) string {
	dir, err := CRDsDir()
	if err != nil {
		return filepath.Join("testdata", "crds", version)
	}
	return filepath.Join(dir, version)
}

// Versions lists the vendored CRD versions (directories named vX.Y.Z under
// testdata/crds), oldest first. It returns nil when none are found; callers
// that iterate over it should fail on an empty result.
func Versions() []string {
	dir, err := CRDsDir()
	if err != nil {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type entry struct {
		name string
		v    *version.Version
	}
	var vs []entry
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "v") {
			continue
		}
		sv, err := version.ParseSemantic(strings.TrimPrefix(e.Name(), "v"))
		if err != nil {
			continue
		}
		vs = append(vs, entry{e.Name(), sv})
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].v.LessThan(vs[j].v) })
	out := make([]string, len(vs))
	for i, e := range vs {
		out[i] = e.name
	}
	return out
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*Validator{}
)

// ForVersion returns the Validator for testdata/crds/<version>, loading it
// once per process.
func ForVersion(version string) (*Validator, error) {
	dir := RepoCRDDir(version)
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if v, ok := cache[dir]; ok {
		return v, nil
	}
	v, err := Load(dir)
	if err != nil {
		return nil, err
	}
	cache[dir] = v
	return v, nil
}
