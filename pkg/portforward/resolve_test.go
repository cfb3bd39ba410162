package portforward

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// pod builds a pod of team-a's Prometheus; mutate adjusts it.
func pod(name string, mutate func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(t0),
			Labels: map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "team-a"}},
		Spec: corev1.PodSpec{NodeName: "node", Containers: []corev1.Container{
			{Name: "config-reloader", Ports: []corev1.ContainerPort{{Name: "reloader-web", ContainerPort: 8080}}},
			{Name: "prometheus", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9090}}},
		}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(time.Minute))},
		}},
	}
	if mutate != nil {
		mutate(&p)
	}
	return p
}

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }

func service(mutate func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-team-a", Namespace: "ns"},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "team-a"},
			Ports:     []corev1.ServicePort{{Name: "web", Port: 9090, TargetPort: intstr.FromString("web")}},
		},
	}
	if mutate != nil {
		mutate(s)
	}
	return s
}

// TestChooseRanksLikeKubectl checks each rule of kubectl's ranking: the better pod wins
// whichever order the pods come in.
func TestChooseRanksLikeKubectl(t *testing.T) {
	deleting := metav1.NewTime(t0.Add(time.Hour))
	for _, tc := range []struct {
		name          string
		better, worse corev1.Pod
	}{
		{"assigned over unassigned", pod("b", nil), pod("a", func(p *corev1.Pod) { p.Spec.NodeName = "" })},
		{"ready over not ready", pod("b", nil), pod("a", notReady)},
		{"not terminating over terminating", pod("b", nil), pod("a", func(p *corev1.Pod) { p.DeletionTimestamp = &deleting })},
		{"ready longer", pod("b", nil), pod("a", func(p *corev1.Pod) {
			p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(2 * time.Minute))
		})},
		{"fewer restarts", pod("b", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "prometheus", RestartCount: 1}}
		}), pod("a", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "prometheus", RestartCount: 0}, {Name: "config-reloader", RestartCount: 3}}
		})},
		{"older", pod("b", nil), pod("a", func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t0.Add(time.Second)) })},
		{"name breaks ties", pod("a", nil), pod("b", nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, pods := range [][]corev1.Pod{{tc.better, tc.worse}, {tc.worse, tc.better}} {
				got, err := Choose(service(nil), pods)
				if err != nil {
					t.Fatal(err)
				}
				if got.Pod != tc.better.Name {
					t.Errorf("chose %s, want %s", got.Pod, tc.better.Name)
				}
			}
		})
	}
	// Running beats Unknown beats Pending (none of them ready, so none usable: the ranking shows
	// in the error's order).
	pending := pod("pending", func(p *corev1.Pod) { notReady(p); p.Status.Phase = corev1.PodPending })
	unknown := pod("unknown", func(p *corev1.Pod) { notReady(p); p.Status.Phase = corev1.PodUnknown })
	running := pod("running", notReady)
	_, err := Choose(service(nil), []corev1.Pod{pending, unknown, running})
	var noReady *NoReadyPodError
	if !errors.As(err, &noReady) || strings.Join(noReady.Pods, ", ") != "running Running, not ready, unknown Unknown, pending Pending" {
		t.Errorf("err = %v", err)
	}
}

func TestChoosePort(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target intstr.IntOrString
		want   int
		err    string
	}{
		{"named", intstr.FromString("web"), 9090, ""},
		{"named on another container", intstr.FromString("reloader-web"), 8080, ""},
		{"number", intstr.FromInt32(9091), 9091, ""},
		{"zero is the service port", intstr.FromInt32(0), 9090, ""},
		{"unknown name", intstr.FromString("http"), 0, "pod ns/p has no container port named http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := service(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = tc.target })
			got, err := Choose(svc, []corev1.Pod{pod("p", nil)})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.Port != tc.want || got.Pod != "p" || got.Service != "prometheus-team-a" {
				t.Errorf("got %+v, %v; want port %d", got, err, tc.want)
			}
		})
	}
	// Without a web port, the only port; with several, an error.
	one := service(func(s *corev1.Service) { s.Spec.Ports[0].Name = "http" })
	if got, err := Choose(one, []corev1.Pod{pod("p", nil)}); err != nil || got.Port != 9090 {
		t.Errorf("only port: %+v, %v", got, err)
	}
	two := service(func(s *corev1.Service) {
		s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 1}, {Name: "b", Port: 2}}
	})
	if _, err := Choose(two, []corev1.Pod{pod("p", nil)}); err == nil || !strings.Contains(err.Error(), "no port named web") {
		t.Errorf("two ports: %v", err)
	}
}

func TestChooseNoReadyPod(t *testing.T) {
	other := pod("other", func(p *corev1.Pod) { p.Labels["app.kubernetes.io/instance"] = "team-b" })
	_, err := Choose(service(nil), []corev1.Pod{other})
	if !IsNoReadyPod(err) || err.Error() != "no pod of Service ns/prometheus-team-a exists" {
		t.Errorf("no pods: %v", err)
	}
	deleting := metav1.NewTime(t0)
	_, err = Choose(service(nil), []corev1.Pod{pod("old", func(p *corev1.Pod) { p.DeletionTimestamp = &deleting })})
	if !IsNoReadyPod(err) || !strings.Contains(err.Error(), "old Terminating") {
		t.Errorf("terminating only: %v", err)
	}
}

func TestUnusable(t *testing.T) {
	deleting := metav1.NewTime(t0)
	for _, tc := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{nil, "deleted"},
		{ptrTo(pod("p", nil)), ""},
		{ptrTo(pod("p", notReady)), "not ready"},
		{ptrTo(pod("p", func(p *corev1.Pod) { p.DeletionTimestamp = &deleting })), "terminating"},
		{ptrTo(pod("p", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed })), "failed"},
	} {
		if got := Unusable(tc.pod); got != tc.want {
			t.Errorf("Unusable = %q, want %q", got, tc.want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestErrors(t *testing.T) {
	e := &NoStackError{Team: "team-a", Namespace: "x", Elsewhere: []string{"a", "b"}}
	if want := "no promteam stack named team-a in namespace x; a stack of team team-a exists in namespace a, b (pass -n a)"; e.Error() != want {
		t.Errorf("got %q", e.Error())
	}
	p := &PermissionError{User: "dev", Purpose: "a port-forward to team team-a's Prometheus",
		Missing: []Permission{{Verb: "get", Resource: "services", Namespace: "x"}, {Verb: "create", Resource: "pods/portforward", Namespace: "x"}}}
	want := `user "dev" lacks permissions that a port-forward to team team-a's Prometheus needs:
  - get services in namespace x
  - create pods/portforward in namespace x
A cluster or namespace admin can grant them with:
  kubectl create role promteam-create --verb=create --resource=pods/portforward -n x
  kubectl create rolebinding promteam-create-dev --role=promteam-create --user=dev -n x
  kubectl create role promteam-get --verb=get --resource=services -n x
  kubectl create rolebinding promteam-get-dev --role=promteam-get --user=dev -n x`
	if p.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", p.Error(), want)
	}
	s := State{Phase: Reconnecting, Reason: "pod p-0 terminating", Retry: 1234 * time.Millisecond}
	if s.String() != "pod p-0 terminating; reconnecting in 1.2s" {
		t.Errorf("state: %q", s)
	}
}
