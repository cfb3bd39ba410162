package operatortest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
)

// WriteMounts writes what the Secret, ConfigMap and projected volumes that container of pod
// mounts hold into directories under dir (other volumes become empty directories), and returns
// where each mount path lies here.
func WriteMounts(t testing.TB, client kubernetes.Interface, pod *corev1.Pod, containerName, dir string) map[string]string {
	t.Helper()
	c := container(pod.Spec, containerName)
	if c == nil {
		t.Fatalf("operatortest: pod %s has no %s container", pod.Name, containerName)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		local, err := writeVolume(context.Background(), client, pod.Namespace, pod.Spec.Volumes, m.Name, filepath.Join(dir, m.Name))
		if err != nil {
			t.Fatalf("operatortest: volume %s of %s: %v", m.Name, pod.Name, err)
		}
		if m.SubPath != "" {
			local = filepath.Join(local, m.SubPath)
		}
		mounts[m.MountPath] = local
	}
	return mounts
}

// SidecarArgs are the arguments of the thanos-sidecar container the operator put in pod, for a
// run outside the pod that stands for it: $(VAR) replaced from the container's environment as
// the kubelet does; the gRPC and HTTP servers on the pod's IP (the operator binds every address,
// or loopback) at the ports it chose; the Prometheus it serves at promURL (the path the operator
// gave kept) and its TSDB at tsdbPath; paths on the container's mounts (its HTTP client file)
// where mounts (see WriteMounts) says they lie here. Everything else is as the operator wrote it.
func SidecarArgs(pod *corev1.Pod, promURL, tsdbPath string, mounts map[string]string) ([]string, error) {
	c := container(pod.Spec, "thanos-sidecar")
	if c == nil {
		return nil, fmt.Errorf("pod %s has no thanos-sidecar container", pod.Name)
	}
	if pod.Status.PodIP == "" {
		return nil, fmt.Errorf("pod %s has no IP yet", pod.Name)
	}
	prom, err := url.Parse(promURL)
	if err != nil {
		return nil, err
	}
	env := ContainerEnv(*c, pod)
	out := make([]string, 0, len(c.Args)+1)
	seen := map[string]bool{}
	for _, a := range c.Args {
		b, err := substitute([]byte(a), env)
		if err != nil {
			return nil, err
		}
		a = string(b)
		name, value, _ := strings.Cut(a, "=")
		seen[name] = true
		switch name {
		case "--grpc-address", "--http-address":
			_, port, err := net.SplitHostPort(value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			a = name + "=" + net.JoinHostPort(pod.Status.PodIP, port)
		case "--prometheus.url":
			u, err := url.Parse(value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			u.Scheme, u.Host = prom.Scheme, prom.Host
			a = name + "=" + u.String()
		case "--tsdb.path":
			a = name + "=" + tsdbPath
		default:
			if local, found := localPath(mounts, value); found && strings.HasPrefix(name, "--") {
				a = name + "=" + local
			}
		}
		out = append(out, a)
	}
	for _, required := range []string{"--grpc-address", "--http-address", "--prometheus.url"} {
		if !seen[required] {
			return nil, fmt.Errorf("the operator's sidecar arguments have no %s: %v", required, c.Args)
		}
	}
	if !seen["--tsdb.path"] {
		out = append(out, "--tsdb.path="+tsdbPath)
	}
	if len(out) == 0 || out[0] != "sidecar" {
		return nil, errors.New("the thanos-sidecar container does not run `thanos sidecar`")
	}
	return out, nil
}

// ListenOnPod are a Thanos component's arguments with its --grpc-address and --http-address on
// ip, at the ports they name, and $(VAR) replaced from the environment of the container of pod it
// runs in (what the kubelet does): how a manifest's Thanos Query runs outside its pod.
func ListenOnPod(c corev1.Container, pod *corev1.Pod) ([]string, error) {
	env := ContainerEnv(c, pod)
	out := make([]string, 0, len(c.Args))
	for _, a := range c.Args {
		b, err := substitute([]byte(a), env)
		if err != nil {
			return nil, err
		}
		a = string(b)
		if name, value, ok := strings.Cut(a, "="); ok && (name == "--grpc-address" || name == "--http-address") {
			_, port, err := net.SplitHostPort(value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			a = name + "=" + net.JoinHostPort(pod.Status.PodIP, port)
		}
		out = append(out, a)
	}
	return out, nil
}
