package operatortest

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSidecarArgs(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-a-shard-1-0", Namespace: "a"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "thanos-sidecar",
			Args: []string{"sidecar", "--prometheus.url=http://localhost:9090/", "--grpc-address=:10901",
				"--http-address=127.0.0.1:10902", "--log.level=$(LEVEL)", "--tsdb.path=/prometheus",
				"--prometheus.http-client-file=/etc/thanos/config/http-client.yaml"},
			Env: []corev1.EnvVar{{Name: "LEVEL", Value: "info"}},
		}}},
		Status: corev1.PodStatus{PodIP: "10.244.1.7"},
	}
	got, err := SidecarArgs(pod, "http://10.244.1.7:9090", "/tmp/tsdb", map[string]string{"/etc/thanos/config": "/tmp/volumes/config"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sidecar", "--prometheus.url=http://10.244.1.7:9090/", "--grpc-address=10.244.1.7:10901",
		"--http-address=10.244.1.7:10902", "--log.level=info", "--tsdb.path=/tmp/tsdb",
		"--prometheus.http-client-file=/tmp/volumes/config/http-client.yaml"}
	if !slices.Equal(got, want) {
		t.Errorf("SidecarArgs:\n got %q\nwant %q", got, want)
	}

	pod.Spec.Containers[0].Args = []string{"sidecar", "--grpc-address=:10901"}
	if _, err := SidecarArgs(pod, "http://10.244.1.7:9090", "/tmp/tsdb", nil); err == nil {
		t.Error("SidecarArgs accepted arguments without --http-address and --prometheus.url")
	}
	pod.Spec.Containers[0].Args = []string{"sidecar", "--log.level=$(MISSING)"}
	if _, err := SidecarArgs(pod, "http://10.244.1.7:9090", "/tmp/tsdb", nil); err == nil {
		t.Error("SidecarArgs accepted an unset variable")
	}
}

func TestListenOnPod(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Status: corev1.PodStatus{PodIP: "10.244.1.9"}}
	c := corev1.Container{Args: []string{"query", "--http-address=0.0.0.0:10902", "--grpc-address=0.0.0.0:10901",
		"--endpoint=dnssrv+_grpc._tcp.prometheus-operated.a.svc"}}
	got, err := ListenOnPod(c, pod)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"query", "--http-address=10.244.1.9:10902", "--grpc-address=10.244.1.9:10901",
		"--endpoint=dnssrv+_grpc._tcp.prometheus-operated.a.svc"}
	if !slices.Equal(got, want) {
		t.Errorf("ListenOnPod:\n got %q\nwant %q", got, want)
	}
}
