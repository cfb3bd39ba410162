package operatortest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// SidecarArgs are the arguments of the thanos-sidecar container the operator put in pod, for a
// run outside the pod that stands for it: $(VAR) replaced from the container's environment as
// the kubelet does; the gRPC and HTTP servers on the pod's IP (the operator binds every address,
// or loopback) at the ports it chose; the Prometheus it serves at promURL (the path the operator
// gave kept) and its TSDB at tsdbPath. Everything else is as the operator wrote it.
func SidecarArgs(pod *corev1.Pod, promURL, tsdbPath string) ([]string, error) {
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
