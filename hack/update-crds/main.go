// Command update-crds vendors the Prometheus Operator CustomResourceDefinitions
// into testdata/crds/<version>/ for offline schema validation in tests.
//
// For every requested version it downloads the root module
// github.com/prometheus-operator/prometheus-operator with `go mod download`
// in a temporary directory (the module is never added to this repository's
// go.mod), reads example/prometheus-operator-crd/*.yaml, removes the
// string-valued "description" keys from the OpenAPI schemas, checks that the
// result is still a CRD the kube-apiserver accepts, and writes one YAML file
// per CRD with keys in sorted order. It also copies the upstream LICENSE to
// testdata/crds/LICENSE and regenerates testdata/crds/README.md.
//
// Usage (from anywhere inside the repository):
//
//	go run ./hack/update-crds                                   # v0.94.1, v0.93.1 and v0.81.0
//	go run ./hack/update-crds -version v0.94.1 -version v0.81.0
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsinstall "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	apiextensionsvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/version"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	upstreamModule = "github.com/prometheus-operator/prometheus-operator"
	upstreamCRDDir = "example/prometheus-operator-crd"
)

// v0.93.1 is the operator the end-to-end test runs (the newest whose types, client and CRDs
// all resolve on the module proxy); its CRDs go with it.
var defaultVersions = []string{"v0.94.1", "v0.93.1", "v0.81.0"}

type versionList []string

func (v *versionList) String() string { return strings.Join(*v, ",") }

func (v *versionList) Set(s string) error {
	if _, err := version.ParseSemantic(strings.TrimPrefix(s, "v")); err != nil || !strings.HasPrefix(s, "v") {
		return fmt.Errorf("version %q is not of the form vX.Y.Z", s)
	}
	*v = append(*v, s)
	return nil
}

func main() {
	var versions versionList
	flag.Var(&versions, "version", "prometheus-operator module version to vendor (repeatable; default "+strings.Join(defaultVersions, ", ")+")")
	out := flag.String("out", "", "output directory (default <repository root>/testdata/crds)")
	flag.Parse()
	if flag.NArg() > 0 {
		fatalf("unexpected arguments: %v", flag.Args())
	}
	if len(versions) == 0 {
		versions = defaultVersions
	}
	if *out == "" {
		root, err := repoRoot()
		if err != nil {
			fatalf("%v", err)
		}
		*out = filepath.Join(root, "testdata", "crds")
	}
	if err := run(*out, versions); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "update-crds: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "update-crds: "+format+"\n", args...)
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
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
			return "", errors.New("go.mod not found in the working directory or any parent; run from inside the repository or pass -out")
		}
		dir = parent
	}
}

func run(out string, versions []string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	seen := map[string]bool{}
	var license []byte
	for _, v := range versions {
		if seen[v] {
			continue
		}
		seen[v] = true
		modDir, err := downloadModule(v)
		if err != nil {
			return err
		}
		n, err := vendorVersion(modDir, v, filepath.Join(out, v))
		if err != nil {
			return fmt.Errorf("%s: %w", v, err)
		}
		logf("%s: wrote %d CRDs to %s", v, n, filepath.Join(out, v))

		l, err := os.ReadFile(filepath.Join(modDir, "LICENSE"))
		if err != nil {
			return fmt.Errorf("%s: reading LICENSE: %w", v, err)
		}
		if license == nil {
			license = l
		} else if !bytes.Equal(license, l) {
			logf("warning: LICENSE of %s differs from %s; keeping the LICENSE of %s", v, versions[0], versions[0])
		}
	}
	if err := writeFile(filepath.Join(out, "LICENSE"), license); err != nil {
		return err
	}
	readme, err := renderReadme(out)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(out, "README.md"), readme)
}

type moduleInfo struct {
	Path    string
	Version string
	Dir     string
	Error   string
}

// downloadModule runs `go mod download -json module@version` in an empty
// temporary directory, so the module never enters this repository's go.mod,
// and returns the extracted module directory in the module cache.
func downloadModule(v string) (string, error) {
	tmp, err := os.MkdirTemp("", "update-crds-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)

	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(goBin, "mod", "download", "-json", upstreamModule+"@"+v)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	runErr := cmd.Run()

	var info moduleInfo
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		if runErr != nil {
			return "", fmt.Errorf("go mod download %s@%s: %w: %s", upstreamModule, v, runErr, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("go mod download %s@%s: decoding output: %w", upstreamModule, v, err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", upstreamModule, v, info.Error)
	}
	if runErr != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w: %s", upstreamModule, v, runErr, strings.TrimSpace(stderr.String()))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no module directory in the output", upstreamModule, v)
	}
	return info.Dir, nil
}

// vendorVersion converts every CRD file of one module version and replaces
// dest with the result. It returns the number of files written.
func vendorVersion(modDir, v, dest string) (int, error) {
	files, err := filepath.Glob(filepath.Join(modDir, upstreamCRDDir, "*.yaml"))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("no CRDs found in %s", filepath.Join(modDir, upstreamCRDDir))
	}
	sort.Strings(files)

	tmp := dest + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)

	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		name := filepath.Base(f)
		outData, err := convert(data, v, name)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if err := writeFile(filepath.Join(tmp, name), outData); err != nil {
			return 0, err
		}
	}
	if err := os.RemoveAll(dest); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return 0, err
	}
	return len(files), nil
}

// convert turns one upstream CRD file into its vendored form.
func convert(data []byte, v, name string) ([]byte, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("expected exactly one YAML document, found %d", len(docs))
	}
	obj, err := decodeJSONObject(docs[0])
	if err != nil {
		return nil, err
	}
	if obj["apiVersion"] != "apiextensions.k8s.io/v1" || obj["kind"] != "CustomResourceDefinition" {
		return nil, fmt.Errorf("not an apiextensions.k8s.io/v1 CustomResourceDefinition (apiVersion %v, kind %v)", obj["apiVersion"], obj["kind"])
	}

	removed, err := stripSchemaDescriptions(obj)
	if err != nil {
		return nil, err
	}
	if removed == 0 {
		return nil, errors.New("no description found in the OpenAPI schemas; the upstream layout changed")
	}

	body, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}

	// The output must read back as exactly the stripped object, with the same
	// numeric types, or the YAML encoding changed a value.
	back, err := yaml.YAMLToJSON(body)
	if err != nil {
		return nil, fmt.Errorf("re-reading generated YAML: %w", err)
	}
	var backObj map[string]any
	if err := utiljson.Unmarshal(back, &backObj); err != nil {
		return nil, fmt.Errorf("re-reading generated YAML: %w", err)
	}
	if !reflect.DeepEqual(obj, backObj) {
		return nil, errors.New("generated YAML does not round-trip to the stripped CRD")
	}

	if err := validateCRD(back); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	buf.WriteString("# Code generated by hack/update-crds. DO NOT EDIT.\n")
	fmt.Fprintf(&buf, "# Source: %s@%s\n", upstreamModule, v)
	fmt.Fprintf(&buf, "#   %s/%s\n", upstreamCRDDir, name)
	buf.WriteString("# String-valued descriptions are removed from the OpenAPI schemas.\n")
	buf.WriteString("---\n")
	buf.Write(body)
	return buf.Bytes(), nil
}

func splitDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// decodeJSONObject converts a YAML document to a JSON object, keeping whole
// numbers as int64.
func decodeJSONObject(doc []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(j, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// stripSchemaDescriptions removes string-valued "description" keys from
// spec.versions[*].schema.openAPIV3Schema. A "description" key whose value is
// an object is a property named description (AlertmanagerConfig has some)
// and is kept. It returns the number of keys removed.
func stripSchemaDescriptions(crd map[string]any) (int, error) {
	spec, ok := crd["spec"].(map[string]any)
	if !ok {
		return 0, errors.New("spec missing")
	}
	versions, ok := spec["versions"].([]any)
	if !ok {
		return 0, errors.New("spec.versions missing")
	}
	removed := 0
	for i, ver := range versions {
		vm, ok := ver.(map[string]any)
		if !ok {
			return 0, fmt.Errorf("spec.versions[%d] is not an object", i)
		}
		s, ok := vm["schema"].(map[string]any)
		if !ok {
			return 0, fmt.Errorf("spec.versions[%d].schema missing", i)
		}
		removed += stripDescriptions(s["openAPIV3Schema"])
	}
	return removed, nil
}

func stripDescriptions(node any) int {
	removed := 0
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if _, isString := v.(string); k == "description" && isString {
				delete(n, k)
				removed++
				continue
			}
			removed += stripDescriptions(v)
		}
	case []any:
		for _, v := range n {
			removed += stripDescriptions(v)
		}
	}
	return removed
}

// validateCRD runs the kube-apiserver's create-time checks for a CRD:
// defaulting and conversion to the internal type, the status the registry
// sets on create, then ValidateCustomResourceDefinition (structural schema,
// pruned defaults, CEL rule compilation and cost, list types, names).
func validateCRD(jsonData []byte) error {
	scheme := runtime.NewScheme()
	apiextensionsinstall.Install(scheme)
	codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)
	obj, _, err := codecs.UniversalDecoder(apiextensions.SchemeGroupVersion).Decode(jsonData, nil, nil)
	if err != nil {
		return fmt.Errorf("decoding CRD: %w", err)
	}
	crd, ok := obj.(*apiextensions.CustomResourceDefinition)
	if !ok {
		return fmt.Errorf("decoded %T, want a CustomResourceDefinition", obj)
	}
	crd.Status = apiextensions.CustomResourceDefinitionStatus{}
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			crd.Status.StoredVersions = append(crd.Status.StoredVersions, v.Name)
			break
		}
	}
	if errs := apiextensionsvalidation.ValidateCustomResourceDefinition(context.Background(), crd); len(errs) > 0 {
		return fmt.Errorf("CRD %s would be rejected by the API server: %w", crd.Name, errs.ToAggregate())
	}
	return nil
}

// renderReadme describes every version directory present in out.
func renderReadme(out string) ([]byte, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	type vendored struct {
		name  string
		sem   *version.Version
		files []string
	}
	var all []vendored
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "v") {
			continue
		}
		sem, err := version.ParseSemantic(strings.TrimPrefix(e.Name(), "v"))
		if err != nil {
			continue
		}
		files, err := filepath.Glob(filepath.Join(out, e.Name(), "*.yaml"))
		if err != nil {
			return nil, err
		}
		for i := range files {
			files[i] = filepath.Base(files[i])
		}
		sort.Strings(files)
		all = append(all, vendored{name: e.Name(), sem: sem, files: files})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].sem.GreaterThan(all[j].sem) })

	var b strings.Builder
	b.WriteString("# Vendored Prometheus Operator CRDs\n\n")
	b.WriteString("Generated by `hack/update-crds`; do not edit by hand. Used only by tests\n")
	b.WriteString("(`internal/testutil/crdschema`) to validate generated manifests offline, and applied to\n")
	b.WriteString("test clusters with `kubectl apply --server-side`.\n\n")
	b.WriteString("## Source\n\n")
	fmt.Fprintf(&b, "- Go module: `%s` (the root module, downloaded with\n", upstreamModule)
	fmt.Fprintf(&b, "  `go mod download -json %s@<version>`; it is not a dependency in `go.mod`)\n", upstreamModule)
	fmt.Fprintf(&b, "- Path in the module: `%s/*.yaml`\n", upstreamCRDDir)
	b.WriteString("- License: Apache License 2.0, copied from the module as [`LICENSE`](LICENSE)\n\n")
	b.WriteString("| Directory | Module version | Files |\n|---|---|---|\n")
	for _, v := range all {
		fmt.Fprintf(&b, "| [`%s/`](%s/) | `%s@%s` | %d |\n", v.name, v.name, upstreamModule, v.name, len(v.files))
	}
	b.WriteString("\nOne file per CRD, named as upstream (`monitoring.coreos.com_<plural>.yaml`).\n\n")
	b.WriteString("## Changes from upstream\n\n")
	b.WriteString("- Every string-valued `description` key inside `spec.versions[*].schema.openAPIV3Schema` is\n")
	b.WriteString("  removed (documentation only, most of the upstream size). Keys named `description` whose\n")
	b.WriteString("  value is an object are real properties (AlertmanagerConfig has some) and are kept.\n")
	b.WriteString("  `additionalPrinterColumns[*].description` is kept.\n")
	b.WriteString("- Keys are sorted; a generated-file header comment is added.\n")
	b.WriteString("- Nothing else changes: types, patterns, enums, defaults and `x-kubernetes-validations` keep\n")
	b.WriteString("  their upstream values. The generator checks that each output reads back to the\n")
	b.WriteString("  stripped CRD and passes the API server's CRD validation.\n\n")
	b.WriteString("## Regenerate\n\n")
	b.WriteString("```sh\n")
	b.WriteString("go run ./hack/update-crds                                   # default: -version " + strings.Join(defaultVersions, " -version ") + "\n")
	b.WriteString("go run ./hack/update-crds -version vX.Y.Z                    # add or refresh one version\n")
	b.WriteString("```\n\n")
	b.WriteString("The output is deterministic; rerunning with the same versions produces no diff.\n")
	return []byte(b.String()), nil
}

func writeFile(path string, data []byte) error {
	return os.WriteFile(path, data, 0o644)
}
