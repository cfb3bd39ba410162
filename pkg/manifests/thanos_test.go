package manifests

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func thanosSpec() TeamSpec {
	s := DefaultTeamSpec("team-a", "team-a")
	s.Shards = 2
	s.Thanos.Enabled = true
	s.Thanos.ObjectStorage = SecretRef{"objstore", "thanos.yaml"}
	s.Thanos.QueryReplicas = 2
	s.NetworkPolicy = true
	return s
}

func named[T Object](t *testing.T, st Stack, name string) T {
	t.Helper()
	for _, o := range find[T](st) {
		if o.GetName() == name {
			return o
		}
	}
	var zero T
	t.Fatalf("no %T named %s", zero, name)
	return zero
}

func TestThanosSidecarOnThePrometheus(t *testing.T) {
	st := build(t, thanosSpec())
	p := find[*monitoringv1.Prometheus](st)[0]
	th := p.Spec.Thanos
	if th == nil {
		t.Fatal("no spec.thanos")
	}
	if *th.Version != DefaultThanosVersion || *th.Image != "thanosio/thanos:"+DefaultThanosVersion {
		t.Errorf("version %s, image %s", *th.Version, *th.Image)
	}
	if th.Resources.Requests.Cpu().IsZero() || th.Resources.Requests.Memory().IsZero() || th.Resources.Limits.Memory().IsZero() {
		t.Errorf("sidecar resources %v: want CPU and memory requests and a memory limit", th.Resources)
	}
	if c := th.ObjectStorageConfig; c == nil || c.Name != "objstore" || c.Key != "thanos.yaml" {
		t.Errorf("objectStorageConfig %v, want a reference to objstore/thanos.yaml", c)
	}
	if got := p.Annotations[AnnotationThanosQuery]; got != ThanosQueryName("team-a") || got != "thanos-query-team-a" {
		t.Errorf("annotation %s = %q", AnnotationThanosQuery, got)
	}

	// The governing Service lists every sidecar's gRPC port (the operator names it grpc, 10901).
	svc := named[*corev1.Service](t, st, ServiceName("team-a"))
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "grpc" })
	if i < 0 {
		t.Fatalf("governing Service ports %v lack grpc", svc.Spec.Ports)
	}
	if port := svc.Spec.Ports[i]; port.Port != 10901 || port.TargetPort != intstr.FromString("grpc") || port.Protocol != corev1.ProtocolTCP {
		t.Errorf("grpc port %+v", port)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Error("the governing Service is not headless: a DNS SRV lookup would not list each pod")
	}
}

func TestThanosQueryReachesEveryShardAndReplica(t *testing.T) {
	s := thanosSpec()
	st := build(t, s)
	name := ThanosQueryName(s.Team)
	d := named[*appsv1.Deployment](t, st, name)
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want --thanos-query-replicas 2", *d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != "thanosio/thanos:"+DefaultThanosVersion {
		t.Errorf("image %s", c.Image)
	}
	wantArgs := []string{
		"query",
		"--http-address=0.0.0.0:10902",
		"--grpc-address=0.0.0.0:10901",
		"--endpoint=dnssrv+_grpc._tcp.prometheus-team-a.team-a.svc",
		"--query.replica-label=prometheus_replica",
		"--no-query.partial-response",
	}
	for _, a := range wantArgs {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args %v lack %s", c.Args, a)
		}
	}
	if c.Args[0] != "query" {
		t.Errorf("first arg %q, want the query subcommand", c.Args[0])
	}
	// The SRV name is _<port name>._tcp.<governing Service>.<namespace>.svc of a port that exists.
	svc := named[*corev1.Service](t, st, ServiceName(s.Team))
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool {
		return "_"+p.Name+"._tcp."+svc.Name+"."+svc.Namespace+".svc" == "_grpc._tcp.prometheus-team-a.team-a.svc"
	}) {
		t.Error("the endpoint's SRV name matches no port of the governing Service")
	}

	// Restricted Pod Security, nothing from the API server, bounded resources, probes.
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the Query mounts a ServiceAccount token")
	}
	psc := pod.SecurityContext
	if psc == nil || !*psc.RunAsNonRoot || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v", psc)
	}
	csc := c.SecurityContext
	if csc == nil || *csc.AllowPrivilegeEscalation || !*csc.ReadOnlyRootFilesystem || !*csc.RunAsNonRoot || csc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container securityContext %+v", csc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %v", c.Resources)
	}
	for probe, path := range map[*corev1.Probe]string{c.ReadinessProbe: "/-/ready", c.LivenessProbe: "/-/healthy"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("probe %+v, want GET %s on port http", probe, path)
		}
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "http" && p.ContainerPort == 10902 }) ||
		!slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "grpc" && p.ContainerPort == 10901 }) {
		t.Errorf("container ports %v", c.Ports)
	}
	aff := pod.Affinity
	if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Fatal("want soft pod anti-affinity")
	}
	podLabels := labels.Set(d.Spec.Template.Labels)
	selects := func(sel *metav1.LabelSelector) bool {
		t.Helper()
		ls, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		return ls.Matches(podLabels)
	}
	if !selects(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.LabelSelector) || !selects(d.Spec.Selector) {
		t.Error("the Deployment's selector or anti-affinity misses its own pods")
	}
	if podLabels[LabelTeam] != s.Team || podLabels[LabelName] != ThanosQueryAppName {
		t.Errorf("pod labels %v", podLabels)
	}
	if l := d.Labels; l[LabelName] != "thanos-query" || l[LabelTeam] != s.Team || l[LabelManagedBy] != ManagedBy {
		t.Errorf("Deployment labels %v", l)
	}
	// The Query's pods are not Prometheus pods: the Prometheus' Service and budget skip them.
	if labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Error("the governing Service selects the Query's pods")
	}

	qsvc := named[*corev1.Service](t, st, name)
	if !labels.SelectorFromSet(qsvc.Spec.Selector).Matches(podLabels) {
		t.Error("the Query's Service misses its pods")
	}
	for _, want := range []corev1.ServicePort{
		{Name: "http", Port: 10902, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
		{Name: "grpc", Port: 10901, TargetPort: intstr.FromString("grpc"), Protocol: corev1.ProtocolTCP},
	} {
		if !slices.Contains(qsvc.Spec.Ports, want) {
			t.Errorf("Query Service ports %v lack %+v", qsvc.Spec.Ports, want)
		}
	}
	pdb := named[*policyv1.PodDisruptionBudget](t, st, name)
	if !selects(pdb.Spec.Selector) || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("Query budget %+v", pdb.Spec)
	}

	// The Prometheus' budget spans every shard: one pod at a time keeps a replica of each.
	prom := named[*policyv1.PodDisruptionBudget](t, st, ServiceName(s.Team))
	if prom.Spec.MinAvailable != nil || prom.Spec.MaxUnavailable == nil || prom.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("Prometheus budget over %d shards: %+v, want maxUnavailable 1", s.Shards, prom.Spec)
	}

	s.Thanos.QueryReplicas = 1
	for _, p := range find[*policyv1.PodDisruptionBudget](build(t, s)) {
		if p.Name == name {
			t.Error("a budget for a single Query replica would block every node drain")
		}
	}
}

func TestThanosNetworkPolicies(t *testing.T) {
	s := thanosSpec()
	st := build(t, s)
	queryPods := labels.Set(named[*appsv1.Deployment](t, st, ThanosQueryName(s.Team)).Spec.Template.Labels)
	admits := func(np *networkingv1.NetworkPolicy, from labels.Set, port int) bool {
		t.Helper()
		for _, in := range np.Spec.Ingress {
			peer := false
			for _, f := range in.From {
				sel, err := metav1.LabelSelectorAsSelector(f.PodSelector)
				if err != nil {
					t.Fatal(err)
				}
				peer = peer || (f.NamespaceSelector == nil && sel.Matches(from))
			}
			if peer && slices.ContainsFunc(in.Ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port.IntValue() == port }) {
				return true
			}
		}
		return false
	}
	otherPod := labels.Set{"app": "something-else"}
	prom := named[*networkingv1.NetworkPolicy](t, st, ServiceName(s.Team))
	if !admits(prom, queryPods, 10901) {
		t.Error("the Prometheus' policy does not admit the Query to the sidecars' gRPC port")
	}
	if admits(prom, otherPod, 10901) {
		t.Error("the Prometheus' policy admits any pod to the sidecars' gRPC port")
	}
	if !admits(prom, otherPod, 9090) {
		t.Error("the Prometheus' policy no longer admits the namespace to port 9090")
	}
	query := named[*networkingv1.NetworkPolicy](t, st, ThanosQueryName(s.Team))
	if !labels.SelectorFromSet(query.Spec.PodSelector.MatchLabels).Matches(queryPods) {
		t.Error("the Query's policy does not select the Query's pods")
	}
	if !admits(query, otherPod, 10902) || admits(query, otherPod, 10901) {
		t.Errorf("the Query's policy %+v: want port 10902 from the namespace only", query.Spec.Ingress)
	}

	s.NetworkPolicy = false
	if nps := find[*networkingv1.NetworkPolicy](build(t, s)); len(nps) != 0 {
		t.Errorf("%d NetworkPolicies without --network-policy", len(nps))
	}
}

func TestWithoutThanosNothingOfIt(t *testing.T) {
	s := DefaultTeamSpec("team-a", "team-a")
	s.NetworkPolicy = true
	st := build(t, s)
	p := find[*monitoringv1.Prometheus](st)[0]
	if p.Spec.Thanos != nil || p.Annotations[AnnotationThanosQuery] != "" {
		t.Error("a stack without --thanos has a sidecar or the Query annotation")
	}
	if len(find[*appsv1.Deployment](st)) != 0 {
		t.Error("a stack without --thanos has a Deployment")
	}
	if ports := named[*corev1.Service](t, st, ServiceName("team-a")).Spec.Ports; len(ports) != 1 {
		t.Errorf("governing Service ports %v", ports)
	}
	if in := named[*networkingv1.NetworkPolicy](t, st, ServiceName("team-a")).Spec.Ingress; len(in) != 1 {
		t.Errorf("ingress %v", in)
	}
}

func TestThanosImageAndVersion(t *testing.T) {
	s := thanosSpec()
	s.Thanos.Version = "v0.39.2"
	st := build(t, s)
	th := find[*monitoringv1.Prometheus](st)[0].Spec.Thanos
	d := named[*appsv1.Deployment](t, st, ThanosQueryName(s.Team))
	if *th.Image != "thanosio/thanos:v0.39.2" || d.Spec.Template.Spec.Containers[0].Image != *th.Image {
		t.Errorf("sidecar image %s, Query image %s: want the version's", *th.Image, d.Spec.Template.Spec.Containers[0].Image)
	}
	s.Thanos.Image = "registry.example.com/mirror/thanos:v0.39.2@sha256:" + strings.Repeat("ab", 32)
	st = build(t, s)
	if got := *find[*monitoringv1.Prometheus](st)[0].Spec.Thanos.Image; got != s.Thanos.Image {
		t.Errorf("sidecar image %s, want --thanos-image", got)
	}
	if got := named[*appsv1.Deployment](t, st, ThanosQueryName(s.Team)).Spec.Template.Spec.Containers[0].Image; got != s.Thanos.Image {
		t.Errorf("Query image %s, want --thanos-image", got)
	}

	for _, v := range []string{"v0.41.0", "0.41.0", "v0.24.0", "v0.42.0-rc.1"} {
		if got, err := ParseThanosVersion(v); err != nil || got != "v"+strings.TrimPrefix(v, "v") {
			t.Errorf("ParseThanosVersion(%q) = %q, %v", v, got, err)
		}
	}
	for v, want := range map[string]string{"latest": "such as v0.41.0", "v0.23.1": "v0.24.0 or later", "v1.0.0": "unknown major version 1", "": "such as v0.41.0"} {
		if _, err := ParseThanosVersion(v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseThanosVersion(%q) = %v, want %q", v, err, want)
		}
	}
	for _, img := range []string{"thanosio/thanos:v0.41.0", "registry.example.com:5000/a/thanos:v0.41.0", "thanos@sha256:" + strings.Repeat("0", 64), "mirror/thanos:main-2026-01-01"} {
		if err := ValidateThanosImage(img, "v0.41.0"); err != nil {
			t.Errorf("ValidateThanosImage(%q): %v", img, err)
		}
	}
	for img, want := range map[string]string{
		"thanosio/thanos":          "pin a tag or digest",
		"thanosio/thanos:latest":   "pin a tag or digest",
		"Thanos:v0.41.0":           "use an image reference",
		"thanos io/thanos:v0.41.0": "use an image reference",
		"thanosio/thanos:v0.40.0":  "differs from --thanos-version v0.41.0",
		"":                         "use an image reference",
	} {
		if err := ValidateThanosImage(img, "v0.41.0"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateThanosImage(%q) = %v, want %q", img, err, want)
		}
	}
	if _, err := ParseThanosObjstore("objstore"); err == nil || !strings.Contains(err.Error(), "SECRET/KEY, such as thanos-objstore/objstore.yaml") {
		t.Errorf("ParseThanosObjstore without a key: %v", err)
	}
	if ref, err := ParseThanosObjstore("objstore/thanos.yaml"); err != nil || ref != (SecretRef{"objstore", "thanos.yaml"}) {
		t.Errorf("ParseThanosObjstore = %v, %v", ref, err)
	}
}

func TestThanosValidation(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*TeamSpec)
		field string
		want  string
	}{
		{"shards without a query layer", func(s *TeamSpec) { s.Thanos = Thanos{}; s.Shards = 2 }, "shards", "add --thanos"},
		{"objstore without thanos", func(s *TeamSpec) { s.Thanos.Enabled = false; s.Shards = 1 }, "thanos-objstore", "only applies with --thanos"},
		{"image without thanos", func(s *TeamSpec) {
			s.Thanos = Thanos{Image: "thanosio/thanos:v0.41.0"}
			s.Shards = 1
		}, "thanos-image", "only applies with --thanos"},
		{"bad version", func(s *TeamSpec) { s.Thanos.Version = "main" }, "thanos-version", "such as v0.41.0"},
		{"version without v", func(s *TeamSpec) { s.Thanos.Version = "0.41.0" }, "thanos-version", "leading v"},
		{"unpinned image", func(s *TeamSpec) { s.Thanos.Image = "thanosio/thanos:latest" }, "thanos-image", "pin a tag"},
		{"bad objstore", func(s *TeamSpec) { s.Thanos.ObjectStorage = SecretRef{"Obj Store", "x"} }, "thanos-objstore", "secret name"},
		{"no query replicas", func(s *TeamSpec) { s.Thanos.QueryReplicas = 0 }, "thanos-query-replicas", "use 1 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := thanosSpec()
			tt.edit(&s)
			_, err := Build(s)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Build = %v, want a FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Error(), tt.want) || strings.Contains(fe.Error(), "\n") {
				t.Errorf("error %q, want one line on --%s saying %q", fe.Error(), tt.field, tt.want)
			}
		})
	}
	// Sharding is fine with either query layer.
	for name, edit := range map[string]func(*TeamSpec){
		"thanos": func(*TeamSpec) {},
		"remote write": func(s *TeamSpec) {
			s.Thanos = Thanos{}
			s.RemoteWrite = []string{"https://metrics.example.com/api/v1/write"}
		},
	} {
		s := thanosSpec()
		edit(&s)
		if err := s.Validate(); err != nil {
			t.Errorf("2 shards with %s: %v", name, err)
		}
	}
}

func TestThanosObjstoreIsASecretTheStackReads(t *testing.T) {
	s := thanosSpec()
	s.Alerting = Alerting{Delivery: DeliverOwn, AlertmanagerVersion: DefaultAlertmanagerVersion, Receivers: []Receiver{
		{Kind: ReceiverSlack, Secret: SecretRef{"slack", "url"}, Severities: []string{SeverityCritical}},
	}}
	got := s.Secrets()
	want := []SecretKey{
		{SecretRef: SecretRef{"slack", "url"}, Holds: "the Slack incoming-webhook URL"},
		{SecretRef: SecretRef{"objstore", "thanos.yaml"}, Holds: "a Thanos objstore YAML (the bucket's type and config)", FromFile: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Secrets() = %+v, want %+v", got, want)
	}
	cmds := SecretCommands(s.Namespace, got[1:])
	if len(cmds) != 1 || cmds[0] != "kubectl create secret generic objstore -n team-a --from-file=thanos.yaml='<path to a Thanos objstore YAML (the bucket's type and config)>'" {
		t.Errorf("commands %q", cmds)
	}
	// Nothing of it without object storage, or without Thanos.
	s.Thanos.ObjectStorage = SecretRef{}
	if keys := s.Secrets(); len(keys) != 1 {
		t.Errorf("Secrets() without --thanos-objstore = %v", keys)
	}
	// The stack references the Secret and never holds its value.
	var b bytes.Buffer
	if err := build(t, thanosSpec()).WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "kind: Secret\n") {
		t.Error("the stack holds a Secret")
	}
}

func explainText(t *testing.T, s TeamSpec) string {
	t.Helper()
	var b bytes.Buffer
	if err := build(t, s).Explain(&b); err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestExplainSaysWhatThanosAdds(t *testing.T) {
	with := explainText(t, thanosSpec())
	for _, w := range []string{
		"Thanos v0.41.0 (image thanosio/thanos:v0.41.0) is pinned and runs as a sidecar in each of the 4 Prometheus pod(s)",
		"Thanos Query thanos-query-team-a (2 replica(s)",
		"_grpc._tcp.prometheus-team-a.team-a.svc",
		"deduplicates the replicas on the operator's prometheus_replica label",
		"2 shards split the targets by hash; each shard has 2 replica(s) and sees only its part of the data, and the Thanos Query merges them.",
		"Secret key objstore/thanos.yaml",
		"--retention 15d is now local retention: blocks go to object storage",
		"turns the Prometheus' local compaction off",
		"Deployment thanos-query-team-a Thanos Query",
		"2 replicas scrape the same targets, so alerts keep firing while one restarts; the Thanos Query deduplicates them.",
	} {
		if !strings.Contains(with, w) {
			t.Errorf("explain lacks %q:\n%s", w, with)
		}
	}
	if strings.Contains(with, "history stays local") {
		t.Error("with object storage, explain says history stays local")
	}

	s := thanosSpec()
	s.Thanos.ObjectStorage = SecretRef{}
	local := explainText(t, s)
	if !strings.Contains(local, "the Thanos Query deduplicates replicas and merges shards, but history stays local") ||
		strings.Contains(local, "now local retention") {
		t.Errorf("without object storage:\n%s", local)
	}

	s = thanosSpec()
	s.PrometheusVersion = "v3.9.0"
	if text := explainText(t, s); !strings.Contains(text, "delays the Prometheus' local compaction") {
		t.Errorf("Prometheus v3.9.0 and Thanos v0.41.0:\n%s", text)
	}
	s.Thanos.Version = "v0.40.1"
	if text := explainText(t, s); !strings.Contains(text, "turns the Prometheus' local compaction off") {
		t.Errorf("Thanos v0.40.1:\n%s", text)
	}

	without := explainText(t, DefaultTeamSpec("team-a", "team-a"))
	if strings.Contains(without, "Thanos Query thanos-query") || strings.Contains(without, "StoreAPI") {
		t.Errorf("explain without --thanos mentions Thanos objects:\n%s", without)
	}
}
