package crdschema

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsinstall "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	apiextensionsvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"
)

const (
	newest = "v0.94.1"
	oldest = "v0.81.0"
)

// validators loads every vendored CRD version and fails unless both the
// newest and the oldest supported versions are present.
func validators(t *testing.T) map[string]*Validator {
	t.Helper()
	versions := Versions()
	for _, want := range []string{oldest, newest} {
		if !slices.Contains(versions, want) {
			t.Fatalf("Versions() = %v, want it to contain %s; run: go run ./hack/update-crds", versions, want)
		}
	}
	out := map[string]*Validator{}
	for _, ver := range versions {
		v, err := ForVersion(ver)
		if err != nil {
			t.Fatalf("ForVersion(%s): %v", ver, err)
		}
		if got := "v" + v.OperatorVersion(); got != ver {
			t.Fatalf("CRDs in %s carry operator version %q, want %s", v.Dir(), v.OperatorVersion(), ver)
		}
		out[ver] = v
	}
	return out
}

const validPrometheus = `
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: team-a
  namespace: team-a
  labels: {app.kubernetes.io/name: prometheus, app.kubernetes.io/instance: team-a}
spec:
  version: v3.5.0
  serviceAccountName: prometheus-team-a
  serviceName: prometheus-team-a
  replicas: 2
  shards: 1
  scrapeInterval: 30s
  evaluationInterval: 30s
  retention: 15d
  retentionSize: 16GiB
  serviceMonitorSelector: {}
  podMonitorSelector: {}
  probeSelector: {}
  scrapeConfigSelector: {}
  ruleSelector: {}
  ignoreNamespaceSelectors: true
  externalLabels: {team: team-a}
  resources:
    requests: {cpu: 100m, memory: 512Mi}
    limits: {memory: 2Gi}
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    fsGroup: 2000
    seccompProfile: {type: RuntimeDefault}
  storage:
    volumeClaimTemplate:
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 20Gi}}
`

const validPodMonitor = `
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: envoy
  namespace: team-a
spec:
  selector:
    matchLabels: {app: envoy}
  podMetricsEndpoints:
  - port: http-envoy-prom
    path: /stats/prometheus
    interval: 15s
    scrapeTimeout: 10s
    relabelings:
    - sourceLabels: [__meta_kubernetes_pod_name]
      targetLabel: pod
`

const validServiceMonitor = `
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: api
  namespace: team-a
spec:
  selector:
    matchLabels: {app: api}
  endpoints:
  - port: metrics
    path: /metrics
    interval: 30s
`

const validPrometheusRule = `
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: envoy
  namespace: team-a
spec:
  groups:
  - name: envoy.rules
    interval: 30s
    rules:
    - record: envoy_cluster:upstream_rq:rate5m
      expr: sum by (namespace, envoy_cluster_name) (rate(envoy_cluster_upstream_rq_total[5m]))
    - alert: EnvoyHighErrorRate
      expr: envoy_cluster:upstream_rq_5xx:ratio_rate5m > 0.05
      for: 10m
      labels: {severity: page}
      annotations: {summary: "High 5xx ratio on {{ $labels.envoy_cluster_name }}"}
`

// expect describes the outcome for one CRD version: nil means the object
// must be accepted; otherwise every substring must appear in the error.
type expect []string

func both(e expect) map[string]expect { return map[string]expect{oldest: e, newest: e} }

func TestValidate(t *testing.T) {
	vs := validators(t)

	cases := []struct {
		name string
		base string
		edit func(m map[string]any)
		want map[string]expect
	}{
		{name: "valid Prometheus", base: validPrometheus, want: both(nil)},
		{name: "valid PodMonitor", base: validPodMonitor, want: both(nil)},
		{name: "valid ServiceMonitor", base: validServiceMonitor, want: both(nil)},
		{name: "valid PrometheusRule", base: validPrometheusRule, want: both(nil)},
		{
			name: "retention with a space",
			base: validPrometheus,
			edit: set("spec.retention", "15 days"),
			want: both(expect{`spec.retention: Invalid value: "15 days"`, "should match", "Prometheus duration such as 15d"}),
		},
		{
			name: "retentionSize without the B",
			base: validPrometheus,
			edit: set("spec.retentionSize", "16Gi"),
			want: both(expect{`spec.retentionSize: Invalid value: "16Gi"`, "should match", "16GiB, not 16Gi"}),
		},
		{
			name: "retentionSize in GiB",
			base: validPrometheus,
			edit: set("spec.retentionSize", "16GiB"),
			want: both(nil),
		},
		{
			name: "misspelt scrapeTimeout on a PodMonitor endpoint",
			base: validPodMonitor,
			edit: set("spec.podMetricsEndpoints[0].scrapeTimout", "10s"),
			want: both(expect{`unknown field "spec.podMetricsEndpoints[0].scrapeTimout"`, `did you mean "scrapeTimeout"?`}),
		},
		{
			name: "unknown field in metadata",
			base: validPodMonitor,
			edit: set("metadata.lables", map[string]any{"a": "b"}),
			want: both(expect{`unknown field "metadata.lables"`}),
		},
		{
			name: "numeric ServiceMonitor port",
			base: validServiceMonitor,
			edit: set("spec.endpoints[0].port", 8080),
			want: both(expect{"spec.endpoints[0].port", `must be of type string: "integer"`, "NAME of a Service port"}),
		},
		{
			name: "pattern violation in a PrometheusRule",
			base: validPrometheusRule,
			edit: set("spec.groups[0].partial_response_strategy", "sometimes"),
			want: both(expect{`spec.groups[0].partial_response_strategy: Invalid value: "sometimes"`, "should match"}),
		},
		{
			name: "enum violation",
			base: validPrometheus,
			edit: set("spec.logLevel", "verbose"),
			want: both(expect{`spec.logLevel: Unsupported value: "verbose"`, `"debug"`}),
		},
		{
			name: "CEL rule: shards below the number of topology values",
			base: validPrometheus,
			edit: func(m map[string]any) {
				set("spec.shards", 2)(m)
				set("spec.shardingStrategy", map[string]any{
					"mode":     "Topology",
					"topology": map[string]any{"values": []any{"zone-a", "zone-b", "zone-c"}},
				})(m)
			},
			want: map[string]expect{
				newest: {"spec: Invalid value", "shards must be greater than or equal to the number of topology values"},
				oldest: {`unknown field "spec.shardingStrategy"`},
			},
		},
		{
			name: "CEL rule: topology without mode Topology",
			base: validPrometheus,
			edit: set("spec.shardingStrategy", map[string]any{
				"topology": map[string]any{"values": []any{"zone-a"}},
			}),
			want: map[string]expect{
				newest: {"spec.shardingStrategy", "topology can only be defined when mode is set to 'Topology'"},
				oldest: {`unknown field "spec.shardingStrategy"`},
			},
		},
		{
			name: "CEL rule satisfied",
			base: validPrometheus,
			edit: func(m map[string]any) {
				set("spec.shards", 3)(m)
				set("spec.shardingStrategy", map[string]any{
					"mode":     "Topology",
					"topology": map[string]any{"values": []any{"zone-a", "zone-b", "zone-c"}},
				})(m)
			},
			want: map[string]expect{
				newest: nil,
				oldest: {`unknown field "spec.shardingStrategy"`},
			},
		},
		{
			name: "version skew: retentionPercentage",
			base: validPrometheus,
			edit: set("spec.retentionPercentage", 80),
			want: map[string]expect{
				newest: nil,
				oldest: {`unknown field "spec.retentionPercentage"`},
			},
		},
		{
			name: "missing name",
			base: validServiceMonitor,
			edit: func(m map[string]any) { delete(m["metadata"].(map[string]any), "name") },
			want: both(expect{"metadata.name: Required value"}),
		},
		{
			name: "invalid name",
			base: validServiceMonitor,
			edit: set("metadata.name", "Team_A"),
			want: both(expect{`metadata.name: Invalid value: "Team_A"`}),
		},
		{
			name: "all problems reported together",
			base: validPrometheus,
			edit: func(m map[string]any) {
				set("spec.retention", "15 days")(m)
				set("spec.retentionSize", "16Gi")(m)
				set("spec.scrapeIntervall", "30s")(m)
				set("spec.shards", 1)(m)
				set("spec.shardingStrategy", map[string]any{
					"mode":     "Topology",
					"topology": map[string]any{"values": []any{"zone-a", "zone-b"}},
				})(m)
				delete(m["metadata"].(map[string]any), "name")
			},
			want: map[string]expect{
				newest: {
					"5 problem(s)",
					"spec.retention:", "spec.retentionSize:",
					`unknown field "spec.scrapeIntervall"`, `did you mean "scrapeInterval"?`,
					"metadata.name: Required value",
					"shards must be greater than or equal to the number of topology values",
				},
				oldest: {
					"5 problem(s)",
					"spec.retention:", "spec.retentionSize:",
					`unknown field "spec.scrapeIntervall"`, `did you mean "scrapeInterval"?`,
					`unknown field "spec.shardingStrategy"`,
					"metadata.name: Required value",
				},
			},
		},
		{
			name: "type errors stop CEL evaluation, as in the API server",
			base: validPrometheus,
			edit: func(m map[string]any) {
				set("spec.replicas", "two")(m)
				set("spec.shards", 1)(m)
				set("spec.shardingStrategy", map[string]any{
					"mode":     "Topology",
					"topology": map[string]any{"values": []any{"zone-a", "zone-b"}},
				})(m)
			},
			want: map[string]expect{
				newest: {"spec.replicas", "must be of type integer", "CEL) rules were not evaluated"},
				oldest: {"spec.replicas", "must be of type integer", `unknown field "spec.shardingStrategy"`},
			},
		},
		{
			name: "unknown kind",
			base: validServiceMonitor,
			edit: set("kind", "ServiceMonitors"),
			want: both(expect{`no CRD defines kind "ServiceMonitors"`, "ServiceMonitor"}),
		},
		{
			name: "version not defined",
			base: validServiceMonitor,
			edit: set("apiVersion", "monitoring.coreos.com/v2"),
			want: both(expect{"no CRD serves ServiceMonitor in monitoring.coreos.com/v2", "monitoring.coreos.com/v1"}),
		},
	}

	for _, tc := range cases {
		for _, ver := range []string{oldest, newest} {
			want, ok := tc.want[ver]
			if !ok {
				t.Fatalf("%s: no expectation for %s", tc.name, ver)
			}
			t.Run(tc.name+"/"+ver, func(t *testing.T) {
				obj := parse(t, tc.base)
				if tc.edit != nil {
					tc.edit(obj)
				}
				check(t, vs[ver].Validate(obj), want)
			})
		}
	}
}

// TestValidateInputForms feeds the same object as YAML, JSON, a string, a
// map decoded with sigs.k8s.io/yaml (float64 numbers) and a map decoded
// with k8s.io/apimachinery's JSON decoder (int64 numbers). The CEL rule on
// spec.shards compares integers, so float64 input must be normalized.
func TestValidateInputForms(t *testing.T) {
	v := validators(t)[newest]
	doc := validPrometheus + `  shardingStrategy:
    mode: Topology
    topology:
      values: [zone-a, zone-b]
`
	doc = strings.Replace(doc, "shards: 1", "shards: 2", 1)

	var floats map[string]any
	if err := yaml.Unmarshal([]byte(doc), &floats); err != nil {
		t.Fatal(err)
	}
	if _, isFloat := floats["spec"].(map[string]any)["shards"].(float64); !isFloat {
		t.Fatalf("sigs.k8s.io/yaml.Unmarshal no longer yields float64; the normalization test is moot")
	}
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}

	inputs := map[string]any{
		"yaml bytes":      []byte(doc),
		"yaml string":     doc,
		"json bytes":      j,
		"float64 map":     floats,
		"int64 map":       parse(t, doc),
		"leading --- doc": []byte("# comment\n---\n" + doc),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			check(t, v.Validate(in), nil)
		})
	}

	// Only the shard count changes: the CEL rule must now fail, proving it ran.
	bad := strings.Replace(doc, "shards: 2", "shards: 1", 1)
	check(t, v.Validate([]byte(bad)), expect{"shards must be greater than or equal to the number of topology values"})

	// Validate must not modify the caller's map (pruning and defaulting work on a copy).
	m := parse(t, validPodMonitor)
	set("spec.podMetricsEndpoints[0].scrapeTimout", "10s")(m)
	before, _ := json.Marshal(m)
	_ = v.Validate(m)
	after, _ := json.Marshal(m)
	if string(before) != string(after) {
		t.Errorf("Validate modified its input:\nbefore %s\nafter  %s", before, after)
	}

	if err := v.Validate([]byte(validPodMonitor + "---\n" + validServiceMonitor)); err == nil || !strings.Contains(err.Error(), "exactly one document") {
		t.Errorf("two documents: got %v, want an error asking for exactly one document", err)
	}
	if err := v.Validate([]byte("kind: [unclosed")); err == nil {
		t.Errorf("unparsable YAML: got nil error")
	}
}

func TestValidateDocuments(t *testing.T) {
	v := validators(t)[newest]
	stream := strings.Join([]string{validPrometheus, validPodMonitor, builtinDocs["ServiceAccount"], validServiceMonitor}, "\n---\n")
	if err := v.ValidateDocuments([]byte(stream)); err != nil {
		t.Fatalf("valid stream: %v", err)
	}

	badStream := strings.Join([]string{
		validPodMonitor,
		strings.Replace(builtinDocs["ServiceAccount"], "automountServiceAccountToken", "automountToken", 1),
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: *undefined-anchor}\n",
		strings.Replace(validServiceMonitor, "port: metrics", "port: 8080", 1),
	}, "\n---\n")
	err := v.ValidateDocuments([]byte(badStream))
	check(t, err, expect{
		`document 2:`, `unknown field "automountToken"`,
		`document 3:`, `invalid YAML`,
		`document 4:`, "spec.endpoints[0].port",
	})
	if strings.Contains(err.Error(), "document 1:") {
		t.Errorf("document 1 is valid but was reported: %v", err)
	}
}

var builtinDocs = map[string]string{
	"ServiceAccount": `
apiVersion: v1
kind: ServiceAccount
metadata: {name: prometheus-team-a, namespace: team-a}
automountServiceAccountToken: true
`,
	"Role": `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: prometheus-team-a, namespace: team-a}
rules:
- apiGroups: [""]
  resources: [services, endpoints, pods]
  verbs: [get, list, watch]
`,
	"RoleBinding": `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: prometheus-team-a, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: prometheus-team-a}
subjects:
- {kind: ServiceAccount, name: prometheus-team-a, namespace: team-a}
`,
	"ClusterRole": `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "promteam:prometheus"}
rules:
- nonResourceURLs: [/metrics]
  verbs: [get]
`,
	"ClusterRoleBinding": `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "promteam:prometheus:team-a"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "promteam:prometheus"}
subjects:
- {kind: ServiceAccount, name: prometheus-team-a, namespace: team-a}
`,
	"Service": `
apiVersion: v1
kind: Service
metadata: {name: prometheus-team-a, namespace: team-a}
spec:
  clusterIP: None
  selector: {app.kubernetes.io/name: prometheus, app.kubernetes.io/instance: team-a}
  ports:
  - {name: web, port: 9090, targetPort: web}
`,
	"PodDisruptionBudget": `
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: prometheus-team-a, namespace: team-a}
spec:
  minAvailable: 1
  selector:
    matchLabels: {app.kubernetes.io/name: prometheus, app.kubernetes.io/instance: team-a}
`,
	"NetworkPolicy": `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: prometheus-team-a, namespace: team-a}
spec:
  podSelector:
    matchLabels: {app.kubernetes.io/name: prometheus}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {}
    ports:
    - {port: 9090, protocol: TCP}
`,
	"ConfigMap": `
apiVersion: v1
kind: ConfigMap
metadata: {name: envoy-presets, namespace: team-a}
data:
  preset: plain
`,
	"Deployment": `
apiVersion: apps/v1
kind: Deployment
metadata: {name: envoy, namespace: team-a}
spec:
  replicas: 1
  selector:
    matchLabels: {app: envoy}
  template:
    metadata:
      labels: {app: envoy}
    spec:
      containers:
      - name: envoy
        image: envoyproxy/envoy:v1.36.0
        ports:
        - {name: http-envoy-prom, containerPort: 9901}
`,
}

func TestValidateBuiltin(t *testing.T) {
	for kind, doc := range builtinDocs {
		t.Run("valid "+kind+" (YAML)", func(t *testing.T) {
			check(t, ValidateBuiltin([]byte(doc)), nil)
		})
		t.Run("valid "+kind+" (JSON)", func(t *testing.T) {
			j, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			check(t, ValidateBuiltin(j), nil)
		})
	}

	cases := []struct {
		name string
		doc  string
		want expect
	}{
		{
			name: "unknown field in a Deployment container",
			doc:  strings.Replace(builtinDocs["Deployment"], "image:", "imagePullPolicyy: Always\n        image:", 1),
			want: expect{`unknown field "spec.template.spec.containers[0].imagePullPolicyy"`},
		},
		{
			name: "several unknown fields are all reported",
			doc:  strings.Replace(builtinDocs["Service"], "clusterIP: None", "clusterIP: None\n  clusterIp: None\n  selectr: {}", 1),
			want: expect{`unknown field "spec.clusterIp"`, `unknown field "spec.selectr"`},
		},
		{
			name: "wrong type",
			doc:  strings.Replace(builtinDocs["Deployment"], "replicas: 1", `replicas: "one"`, 1),
			want: expect{`Deployment "envoy"`, "spec.replicas of type int32"},
		},
		{
			name: "duplicate field",
			doc:  strings.Replace(builtinDocs["ConfigMap"], "preset: plain", "preset: plain\n  preset: tls", 1),
			want: expect{`"preset" already set`, "rejects duplicate fields"},
		},
		{
			name: "missing name",
			doc:  strings.Replace(builtinDocs["ConfigMap"], "name: envoy-presets, ", "", 1),
			want: expect{"metadata.name: Required value"},
		},
		{
			name: "Service name must be a DNS-1035 label",
			doc:  strings.Replace(builtinDocs["Service"], "name: prometheus-team-a,", "name: 1prometheus,", 1),
			want: expect{`metadata.name: Invalid value: "1prometheus"`},
		},
		{
			name: "invalid label value",
			doc:  strings.Replace(builtinDocs["ConfigMap"], "namespace: team-a}", "namespace: team-a, labels: {team: \"a b\"}}", 1),
			want: expect{"metadata.labels: Invalid value"},
		},
		{
			name: "monitoring.coreos.com is not built in",
			doc:  validServiceMonitor,
			want: expect{"use (*Validator).Validate"},
		},
		{
			name: "unregistered kind",
			doc:  "apiVersion: v1\nkind: Potato\nmetadata: {name: x}\n",
			want: expect{"Potato"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check(t, ValidateBuiltin([]byte(tc.doc)), tc.want)
		})
	}
}

// TestVendoredCRDs checks the files written by hack/update-crds: one CRD per
// file, descriptions stripped only where they are strings, and every CRD
// still accepted by the API server's CRD validation (they are applied with
// kubectl apply --server-side elsewhere).
func TestVendoredCRDs(t *testing.T) {
	vs := validators(t)
	dir, err := CRDsDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"LICENSE", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	for ver := range vs {
		files, err := filepath.Glob(filepath.Join(RepoCRDDir(ver), "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) < 10 {
			t.Fatalf("%s: %d CRD files, want at least 10", ver, len(files))
		}
		for _, f := range files {
			t.Run(ver+"/"+filepath.Base(f), func(t *testing.T) {
				t.Parallel()
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				docs, err := splitYAML(data)
				if err != nil {
					t.Fatal(err)
				}
				if len(docs) != 1 {
					t.Fatalf("%d documents, want 1", len(docs))
				}
				u, err := parseDocument(docs[0])
				if err != nil {
					t.Fatal(err)
				}
				if n := schemaStringDescriptions(u); n != 0 {
					t.Errorf("%d string-valued descriptions left in the schemas", n)
				}
				if strings.HasSuffix(f, "_alertmanagerconfigs.yaml") {
					if n := countObjectDescriptions(u); n == 0 {
						t.Errorf("AlertmanagerConfig lost its properties named description")
					}
				}
				if err := acceptCRD(docs[0]); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestAcceptCRDRejectsBrokenSchema makes sure the CRD check above is not
// vacuous: a schema that is not structural must be rejected.
func TestAcceptCRDRejectsBrokenSchema(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(RepoCRDDir(newest), "monitoring.coreos.com_prometheusrules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := splitYAML(data)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%d documents, err %v", len(docs), err)
	}
	u, err := parseDocument(docs[0])
	if err != nil {
		t.Fatal(err)
	}
	if schemaStringDescriptions(u) != 0 {
		t.Fatal("vendored CRD still has descriptions")
	}
	spec := u["spec"].(map[string]any)["versions"].([]any)[0].(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)["properties"].(map[string]any)["spec"].(map[string]any)
	delete(spec, "type")
	broken, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := acceptCRD(broken); err == nil || !strings.Contains(err.Error(), "type") {
		t.Fatalf("acceptCRD on a schema without type: got %v, want an error about the missing type", err)
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Errorf("Load of an empty directory: got nil error")
	}
}

// acceptCRD runs the API server's create-time validation for a CRD: decode
// with defaulting into the internal type, set the stored version as the
// registry does on create, then ValidateCustomResourceDefinition.
func acceptCRD(doc []byte) error {
	s := runtime.NewScheme()
	apiextensionsinstall.Install(s)
	obj, _, err := serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDecoder(apiextensions.SchemeGroupVersion).Decode(doc, nil, nil)
	if err != nil {
		return err
	}
	crd, ok := obj.(*apiextensions.CustomResourceDefinition)
	if !ok {
		return fmt.Errorf("decoded %T, want a CustomResourceDefinition", obj)
	}
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			crd.Status.StoredVersions = []string{v.Name}
		}
	}
	if errs := apiextensionsvalidation.ValidateCustomResourceDefinition(context.Background(), crd); len(errs) > 0 {
		return fmt.Errorf("CRD %s would be rejected: %w", crd.Name, errs.ToAggregate())
	}
	return nil
}

// schemaStringDescriptions counts string-valued description keys inside
// the OpenAPI schemas of a CRD.
func schemaStringDescriptions(crd map[string]any) int {
	n := 0
	for _, v := range crd["spec"].(map[string]any)["versions"].([]any) {
		n += countStringDescriptions(v.(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"])
	}
	return n
}

func countStringDescriptions(x any) int {
	n := 0
	switch v := x.(type) {
	case map[string]any:
		for k, c := range v {
			if _, isString := c.(string); k == "description" && isString {
				n++
			}
			n += countStringDescriptions(c)
		}
	case []any:
		for _, c := range v {
			n += countStringDescriptions(c)
		}
	}
	return n
}

func countObjectDescriptions(x any) int {
	n := 0
	switch v := x.(type) {
	case map[string]any:
		for k, c := range v {
			if _, isObject := c.(map[string]any); k == "description" && isObject {
				n++
			}
			n += countObjectDescriptions(c)
		}
	case []any:
		for _, c := range v {
			n += countObjectDescriptions(c)
		}
	}
	return n
}

func TestRepoPaths(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	if got, want := RepoCRDDir(newest), filepath.Join(root, "testdata", "crds", newest); got != want {
		t.Errorf("RepoCRDDir = %s, want %s", got, want)
	}
	vs := Versions()
	if !slices.Contains(vs, oldest) || !slices.Contains(vs, newest) {
		t.Fatalf("Versions() = %v", vs)
	}
	if slices.Index(vs, oldest) > slices.Index(vs, newest) {
		t.Errorf("Versions() = %v, want oldest first", vs)
	}
}

// check fails the test unless err matches want: nil want means no error.
func check(t *testing.T, err error, want expect) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error:\n%v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	t.Logf("expected error:\n%v", err)
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}

func parse(t *testing.T, doc string) map[string]any {
	t.Helper()
	u, err := parseDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// set returns an edit that stores value at a path such as
// "spec.endpoints[0].port", creating intermediate objects.
func set(path string, value any) func(map[string]any) {
	return func(m map[string]any) {
		var cur any = m
		parts := strings.Split(path, ".")
		for i, p := range parts {
			name, idx := p, -1
			if j := strings.IndexByte(p, '['); j >= 0 {
				name = p[:j]
				n, err := strconv.Atoi(strings.TrimSuffix(p[j+1:], "]"))
				if err != nil {
					panic(err)
				}
				idx = n
			}
			obj := cur.(map[string]any)
			last := i == len(parts)-1
			switch {
			case idx >= 0:
				item := obj[name].([]any)[idx]
				if last {
					obj[name].([]any)[idx] = value
					return
				}
				cur = item
			case last:
				obj[name] = value
				return
			default:
				if _, ok := obj[name]; !ok {
					obj[name] = map[string]any{}
				}
				cur = obj[name]
			}
		}
	}
}
