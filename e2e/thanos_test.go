//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/cli"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/crdschema"
	"github.com/kubectl-promteam/kubectl-promteam/internal/testutil/kubetest"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// TestThanosStackAgainstTheOperator: the real operator turns the Prometheus of
// `create --thanos --shards 2 --replicas 2 --thanos-objstore` into one StatefulSet per shard,
// each pod with a Thanos sidecar of the pinned image whose gRPC port the team's governing Service
// (the StatefulSets' serviceName) exposes under the name the Query's DNS SRV endpoint asks for,
// reading the objstore Secret key; and the configuration it generates gives each pod the
// external replica label the Query deduplicates on.
func TestThanosStackAgainstTheOperator(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	c := kubetest.Start(t)
	c.InstallCRDs(t, crdschema.RepoCRDDir(operatorVersion))
	c.StartOperator(t)
	const team, ns = "team-a", "thanos"
	c.KubectlOK(t, kubetest.Admin, nil, "create", "namespace", ns)
	c.KubectlOK(t, kubetest.Admin, nil, "-n", ns, "create", "secret", "generic", "objstore",
		"--from-literal=thanos.yaml=type: FILESYSTEM\nconfig:\n  directory: /var/thanos\n")
	_, stderr, code := cli.Run(t, bin, nil, "create", team, "-n", ns, "--thanos", "--shards", "2", "--replicas", "2",
		"--thanos-objstore", "objstore/thanos.yaml", "--apply", "--kubeconfig", c.Kubeconfig(kubetest.Admin))
	if code != 0 {
		t.Fatalf("create --apply: exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "kubectl create secret") {
		t.Errorf("create asks for the objstore Secret that exists:\n%s", stderr)
	}

	client, err := kubernetes.NewForConfig(c.RESTConfig(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, err := client.CoreV1().Services(ns).Get(ctx, manifests.ServiceName(team), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	query, err := client.AppsV1().Deployments(ns).Get(ctx, manifests.ThanosQueryName(team), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	args := query.Spec.Template.Spec.Containers[0].Args
	var srv string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--endpoint=dnssrv+_"); ok {
			srv = v
		}
	}
	portName, host, _ := strings.Cut(srv, "._tcp.")
	if host != svc.Name+"."+ns+".svc" {
		t.Errorf("the Query's endpoint %q does not name Service %s/%s", srv, ns, svc.Name)
	}
	svcPort := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == portName })
	if svcPort < 0 {
		t.Fatalf("Service %s has no port %q for the Query's SRV lookup: %v", svc.Name, portName, svc.Spec.Ports)
	}

	for shard, name := range []string{"prometheus-" + team, "prometheus-" + team + "-shard-1"} {
		sts := statefulSet(t, client, ns, name)
		// The config-reloader fills $(SHARD) in, in the stack's prometheus_shard external label,
		// from its SHARD variable: the shard's number.
		reloader := slices.IndexFunc(sts.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return c.Name == "config-reloader" })
		if reloader < 0 || !slices.ContainsFunc(sts.Spec.Template.Spec.Containers[reloader].Env, func(e corev1.EnvVar) bool {
			return e.Name == "SHARD" && e.Value == fmt.Sprint(shard)
		}) {
			t.Errorf("%s: no config-reloader with SHARD=%d to fill in the shard label", name, shard)
		}
		if sts.Spec.ServiceName != svc.Name {
			t.Errorf("%s: serviceName %q, want the team's Service %s", name, sts.Spec.ServiceName, svc.Name)
		}
		if *sts.Spec.Replicas != 2 {
			t.Errorf("%s: %d replicas", name, *sts.Spec.Replicas)
		}
		pod := sts.Spec.Template
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			t.Errorf("%s: Service %s selects %v, not the pods labelled %v", name, svc.Name, svc.Spec.Selector, pod.Labels)
		}
		i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == "thanos-sidecar" })
		if i < 0 {
			t.Fatalf("%s has no thanos-sidecar container", name)
		}
		sidecar := pod.Spec.Containers[i]
		if sidecar.Image != "thanosio/thanos:"+manifests.DefaultThanosVersion {
			t.Errorf("%s: sidecar image %s", name, sidecar.Image)
		}
		target := svc.Spec.Ports[svcPort].TargetPort.StrVal
		if !slices.ContainsFunc(sidecar.Ports, func(p corev1.ContainerPort) bool { return p.Name == target && p.ContainerPort == 10901 }) {
			t.Errorf("%s: the sidecar has no port %q (the target of the Service's %s port): %v", name, target, portName, sidecar.Ports)
		}
		if sidecar.Resources.Limits.Memory().IsZero() || sidecar.Resources.Requests.Cpu().IsZero() {
			t.Errorf("%s: sidecar resources %v", name, sidecar.Resources)
		}
		if !slices.ContainsFunc(sidecar.Env, func(e corev1.EnvVar) bool {
			ref := e.ValueFrom
			return ref != nil && ref.SecretKeyRef != nil && ref.SecretKeyRef.Name == "objstore" && ref.SecretKeyRef.Key == "thanos.yaml"
		}) || !slices.ContainsFunc(sidecar.Args, func(a string) bool { return strings.HasPrefix(a, "--objstore.config=") }) {
			t.Errorf("%s: the sidecar does not read the objstore Secret key: env %v, args %v", name, sidecar.Env, sidecar.Args)
		}
	}

	// Every pod carries an external label of its own, the one the Query deduplicates on.
	secret, err := client.CoreV1().Secrets(ns).Get(ctx, "prometheus-"+team, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(secret.Data["prometheus.yaml.gz"]))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global struct {
			ExternalLabels map[string]string `json:"external_labels"`
		} `json:"global"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	replicaLabel := ""
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--query.replica-label="); ok {
			replicaLabel = v
		}
	}
	if v := cfg.Global.ExternalLabels[replicaLabel]; replicaLabel == "" || !strings.Contains(v, "POD_NAME") {
		t.Errorf("the Query deduplicates on %q, but the operator's external labels are %v", replicaLabel, cfg.Global.ExternalLabels)
	}
	// Two shards' series must differ in more than the label the Query deduplicates on.
	if v := cfg.Global.ExternalLabels[manifests.ShardExternalLabel]; v != "$(SHARD)" || replicaLabel == manifests.ShardExternalLabel {
		t.Errorf("the operator's external labels %v do not tell the shards apart", cfg.Global.ExternalLabels)
	}
}

// statefulSet waits for the operator to write StatefulSet ns/name.
func statefulSet(t *testing.T, client kubernetes.Interface, ns, name string) *appsv1.StatefulSet {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		sts, err := client.AppsV1().StatefulSets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			return sts
		}
		if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			t.Fatalf("StatefulSet %s/%s: %v", ns, name, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
