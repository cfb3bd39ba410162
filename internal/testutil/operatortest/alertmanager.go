package operatortest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// Container names of the operator's Alertmanager pods.
const (
	alertmanagerContainer = "alertmanager"
	reloaderContainer     = "config-reloader"
)

// GeneratedAlertmanagerConfig returns the configuration the operator generated for Alertmanager
// ns/name (Secret alertmanager-NAME-generated, key alertmanager.yaml.gz), uncompressed, as the
// config-reloader hands it to Alertmanager before substituting variables.
func GeneratedAlertmanagerConfig(ctx context.Context, client kubernetes.Interface, ns, name string) ([]byte, error) {
	return gzippedKey(ctx, client, ns, "alertmanager-"+name+"-generated", "alertmanager.yaml.gz")
}

// WriteAlertmanager prepares the first pod of the operator's StatefulSet for Alertmanager ns/name
// to run here, the way the pod would run it: it writes the pod's Secret and ConfigMap volumes
// (the generated configuration, TLS assets, web configuration, templates) under dir, does the
// config-reloader's work (the uncompressed configuration with its variables substituted, file
// paths pointing into dir; see RewriteAlertmanager), and returns the arguments the operator gives
// the alertmanager container, rewritten by AlertmanagerArgs to listen on listen. Call it again
// after the operator rewrote the configuration.
func WriteAlertmanager(t testing.TB, client kubernetes.Interface, ns, name, dir, listen string) []string {
	t.Helper()
	ctx := context.Background()
	base := "alertmanager-" + name
	sts, err := client.AppsV1().StatefulSets(ns).Get(ctx, base, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("operatortest: the operator's StatefulSet: %v", err)
	}
	spec := sts.Spec.Template.Spec
	pod, err := client.CoreV1().Pods(ns).Get(ctx, base+"-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("operatortest: the Alertmanager's pod: %v", err)
	}
	am := container(spec, alertmanagerContainer)
	reloader := container(spec, reloaderContainer)
	if am == nil || reloader == nil {
		t.Fatalf("operatortest: StatefulSet %s/%s lacks the %s or %s container", ns, base, alertmanagerContainer, reloaderContainer)
	}

	mounts := map[string]string{}
	for _, m := range am.VolumeMounts {
		local, err := writeVolume(ctx, client, ns, spec.Volumes, m.Name, filepath.Join(dir, "volumes", m.Name))
		if err != nil {
			t.Fatalf("operatortest: volume %s of %s: %v", m.Name, pod.Name, err)
		}
		if m.SubPath != "" {
			local = filepath.Join(local, m.SubPath)
		}
		mounts[m.MountPath] = local
	}

	in, out := flagValue(reloader.Args, "config-file"), flagValue(reloader.Args, "config-envsubst-file")
	if in == "" || out == "" {
		t.Fatalf("operatortest: the config-reloader of %s has no --config-file or --config-envsubst-file: %q", pod.Name, reloader.Args)
	}
	generated, err := GeneratedAlertmanagerConfig(ctx, client, ns, name)
	if err != nil {
		t.Fatalf("operatortest: %v", err)
	}
	config, err := RewriteAlertmanager(generated, ContainerEnv(*reloader, pod), mounts)
	if err != nil {
		t.Fatalf("operatortest: %v", err)
	}
	outPath, ok := localPath(mounts, out)
	if !ok {
		t.Fatalf("operatortest: %s, where the config-reloader writes, is on no volume of the alertmanager container", out)
	}
	if err := os.WriteFile(outPath, config, 0o600); err != nil {
		t.Fatal(err)
	}
	args, err := AlertmanagerArgs(am.Args, ContainerEnv(*am, pod), mounts, listen)
	if err != nil {
		t.Fatalf("operatortest: %v", err)
	}
	return args
}

// ContainerEnv is the environment of container c of pod, with the values the kubelet gives the
// downward API fields the operator uses (metadata.name, metadata.namespace, status.podIP).
func ContainerEnv(c corev1.Container, pod *corev1.Pod) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef == nil:
		case e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = pod.Name
		case e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = pod.Namespace
		case e.ValueFrom.FieldRef.FieldPath == "status.podIP":
			env[e.Name] = pod.Status.PodIP
		}
	}
	return env
}

// RewriteAlertmanager does what the config-reloader does to the operator's Alertmanager
// configuration, and makes it runnable outside the pod, changing nothing else:
//   - $(VAR) is replaced from vars;
//   - every string that is a path on one of the pod's mounts (templates, TLS files, *_file
//     credentials) points to where mounts says that mount lies here.
func RewriteAlertmanager(generated []byte, vars map[string]string, mounts map[string]string) ([]byte, error) {
	text, err := substitute(generated, vars)
	if err != nil {
		return nil, err
	}
	var cfg any
	if err := yaml.Unmarshal(text, &cfg); err != nil {
		return nil, fmt.Errorf("the operator's Alertmanager configuration: %w", err)
	}
	return yaml.Marshal(rewritePaths(cfg, mounts))
}

func rewritePaths(v any, mounts map[string]string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = rewritePaths(x, mounts)
		}
	case []any:
		for i, x := range v {
			v[i] = rewritePaths(x, mounts)
		}
	case string:
		if local, ok := localPath(mounts, v); ok {
			return local
		}
	}
	return v
}

// AlertmanagerArgs are the alertmanager container's arguments for a run outside the pod: $(VAR)
// replaced from env as the kubelet does, paths on the pod's mounts pointing where mounts says,
// and --web.listen-address set to listen.
func AlertmanagerArgs(args []string, env map[string]string, mounts map[string]string, listen string) ([]string, error) {
	out := make([]string, 0, len(args)+1)
	listened := false
	for _, a := range args {
		b, err := substitute([]byte(a), env)
		if err != nil {
			return nil, err
		}
		a = string(b)
		name, value, ok := strings.Cut(a, "=")
		switch {
		case name == "--web.listen-address":
			a, listened = "--web.listen-address="+listen, true
		case ok && strings.HasPrefix(name, "--"):
			if local, found := localPath(mounts, value); found {
				a = name + "=" + local
			}
		}
		out = append(out, a)
	}
	if !listened {
		out = append(out, "--web.listen-address="+listen)
	}
	if flagValue(out, "config.file") == "" {
		return nil, errors.New("the alertmanager container has no --config.file")
	}
	return out, nil
}

// substitute replaces $(VAR) from vars, and fails naming the variables vars lacks.
func substitute(text []byte, vars map[string]string) ([]byte, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(string(text), func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		return v
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("$(%s) is not set in the container's environment", strings.Join(missing, "), $("))
	}
	return []byte(out), nil
}

// localPath maps p, a path in the pod, to where the mount it lies on is here: the longest mount
// path that is p or a directory above it.
func localPath(mounts map[string]string, p string) (string, bool) {
	if !strings.HasPrefix(p, "/") {
		return "", false
	}
	p = path.Clean(p)
	best := ""
	for m := range mounts {
		if (p == m || strings.HasPrefix(p, strings.TrimSuffix(m, "/")+"/")) && len(m) > len(best) {
			best = m
		}
	}
	if best == "" {
		return "", false
	}
	return filepath.Join(mounts[best], strings.TrimPrefix(p, best)), true
}

// flagValue is the value of --name=value in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

func container(spec corev1.PodSpec, name string) *corev1.Container {
	i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == name })
	if i < 0 {
		return nil
	}
	return &spec.Containers[i]
}

// writeVolume writes the content of the pod volume called name into dir, as the kubelet would
// mount it: each key of a Secret or ConfigMap (or of those a projected volume lists) a file;
// every other kind an empty directory. It returns dir.
func writeVolume(ctx context.Context, client kubernetes.Interface, ns string, volumes []corev1.Volume, name, dir string) (string, error) {
	i := slices.IndexFunc(volumes, func(v corev1.Volume) bool { return v.Name == name })
	if i < 0 {
		return "", errors.New("the pod has no such volume")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	v := volumes[i].VolumeSource
	switch {
	case v.Secret != nil:
		return dir, writeSecret(ctx, client, ns, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, dir)
	case v.ConfigMap != nil:
		return dir, writeConfigMap(ctx, client, ns, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, dir)
	case v.Projected != nil:
		for _, s := range v.Projected.Sources {
			var err error
			switch {
			case s.Secret != nil:
				err = writeSecret(ctx, client, ns, s.Secret.Name, s.Secret.Items, s.Secret.Optional, dir)
			case s.ConfigMap != nil:
				err = writeConfigMap(ctx, client, ns, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, dir)
			}
			if err != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

func writeSecret(ctx context.Context, client kubernetes.Interface, ns, name string, items []corev1.KeyToPath, optional *bool, dir string) error {
	s, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if optional != nil && *optional {
			return nil
		}
		return err
	}
	return writeKeys(s.Data, items, dir)
}

func writeConfigMap(ctx context.Context, client kubernetes.Interface, ns, name string, items []corev1.KeyToPath, optional *bool, dir string) error {
	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if optional != nil && *optional {
			return nil
		}
		return err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return writeKeys(data, items, dir)
}

// writeKeys writes each key (or each of items) as a file of dir.
func writeKeys(data map[string][]byte, items []corev1.KeyToPath, dir string) error {
	if len(items) == 0 {
		for k := range data {
			items = append(items, corev1.KeyToPath{Key: k, Path: k})
		}
	}
	for _, it := range items {
		content, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("no key %s", it.Key)
		}
		p := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+it.Path)))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, content, 0o600); err != nil {
			return err
		}
	}
	return nil
}
