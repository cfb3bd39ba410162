package portforward

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// podWatch keeps the pods matching a selector in one namespace up to date with a list and a
// watch, and nudges its owner on every change. Errors are retried quietly: a watch that cannot be
// restarted leaves the last known pods in place, and the port-forward notices a dead pod on its
// own.
type podWatch struct {
	selector string
	changed  chan struct{}
	cancel   context.CancelFunc
	done     chan struct{}

	mu   sync.Mutex
	pods map[string]corev1.Pod
}

// watchRetry is the pause before a failed list or watch is tried again.
const watchRetry = time.Second

// startPodWatch lists the pods once (so that a missing permission shows at once) and then
// watches them until stop.
func startPodWatch(ctx context.Context, client kubernetes.Interface, namespace, selector string) (*podWatch, error) {
	api := client.CoreV1().Pods(namespace)
	list, err := api.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &podWatch{selector: selector, changed: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	w.replace(list.Items)
	go w.run(ctx, client, namespace, list.ResourceVersion)
	return w, nil
}

func (w *podWatch) stop() {
	w.cancel()
	<-w.done
}

func (w *podWatch) nudge() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *podWatch) replace(items []corev1.Pod) {
	w.mu.Lock()
	w.pods = make(map[string]corev1.Pod, len(items))
	for _, p := range items {
		w.pods[p.Name] = p
	}
	w.mu.Unlock()
	w.nudge()
}

// list returns the pods as last seen.
func (w *podWatch) list() []corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]corev1.Pod, 0, len(w.pods))
	for _, p := range w.pods {
		out = append(out, p)
	}
	return out
}

// get returns the pod named name as last seen, or nil.
func (w *podWatch) get(name string) *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p, ok := w.pods[name]; ok {
		return &p
	}
	return nil
}

func (w *podWatch) run(ctx context.Context, client kubernetes.Interface, namespace, rv string) {
	defer close(w.done)
	api := client.CoreV1().Pods(namespace)
	for ctx.Err() == nil {
		if rv == "" {
			list, err := api.List(ctx, metav1.ListOptions{LabelSelector: w.selector})
			if err != nil {
				sleep(ctx, watchRetry)
				continue
			}
			w.replace(list.Items)
			rv = list.ResourceVersion
		}
		watcher, err := api.Watch(ctx, metav1.ListOptions{LabelSelector: w.selector, ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			rv = ""
			sleep(ctx, watchRetry)
			continue
		}
		rv = w.consume(watcher)
		watcher.Stop()
	}
}

// consume applies the events of one watch and returns the resource version to resume from, or ""
// when the watch must start over with a list.
func (w *podWatch) consume(watcher watch.Interface) string {
	rv := ""
	for ev := range watcher.ResultChan() {
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok {
			return "" // an error event: the resource version may be too old
		}
		rv = pod.ResourceVersion
		w.mu.Lock()
		switch ev.Type {
		case watch.Added, watch.Modified:
			w.pods[pod.Name] = *pod
		case watch.Deleted:
			delete(w.pods, pod.Name)
		}
		w.mu.Unlock()
		if ev.Type != watch.Bookmark {
			w.nudge()
		}
	}
	return rv
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
