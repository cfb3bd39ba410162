package portforward

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// Target is where a team's Prometheus answers right now: a pod and a port of it.
type Target struct {
	Namespace string
	Service   string
	Pod       string
	// Port is the container port the Service's web port leads to on Pod.
	Port int
}

func (t Target) String() string { return fmt.Sprintf("pod %s/%s port %d", t.Namespace, t.Pod, t.Port) }

// NoStackError says a team has no stack (no Service of its Prometheus) in a namespace.
type NoStackError struct {
	Team, Namespace string
	// Elsewhere lists the namespaces where a stack of the team exists, if any were found.
	Elsewhere []string
}

func (e *NoStackError) Error() string {
	msg := fmt.Sprintf("no promteam stack named %s in namespace %s", e.Team, e.Namespace)
	if len(e.Elsewhere) > 0 {
		msg += fmt.Sprintf("; a stack of team %s exists in namespace %s (pass -n %s)", e.Team, strings.Join(e.Elsewhere, ", "), e.Elsewhere[0])
	}
	return msg
}

// NoReadyPodError says no pod of the Service can take a port-forward yet.
type NoReadyPodError struct {
	Namespace, Service string
	// Pods describes the pods the Service selects, best first ("prometheus-a-0 Pending").
	Pods []string
}

func (e *NoReadyPodError) Error() string {
	if len(e.Pods) == 0 {
		return fmt.Sprintf("no pod of Service %s/%s exists", e.Namespace, e.Service)
	}
	return fmt.Sprintf("no pod of Service %s/%s is running and ready (%s)", e.Namespace, e.Service, strings.Join(e.Pods, ", "))
}

// IsNoReadyPod reports whether err says no pod is ready yet, which may change by waiting.
func IsNoReadyPod(err error) bool {
	var e *NoReadyPodError
	return errors.As(err, &e)
}

// Resolve finds the pod and port of team's Prometheus in namespace the way kubectl port-forward
// svc/prometheus-TEAM does: the Service's selector, the pods it selects ranked as kubectl ranks
// them, and the Service's web port mapped to its target port on the chosen pod. The pod must be
// running, ready and not terminating ([*NoReadyPodError] otherwise); a missing Service is a
// [*NoStackError].
func Resolve(ctx context.Context, client kubernetes.Interface, namespace, team string) (Target, error) {
	svc, err := getService(ctx, client, namespace, team, "")
	if err != nil {
		return Target{}, err
	}
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		return Target{}, err
	}
	return Choose(svc, pods.Items)
}

// getService reads team's Service, or the Service named service when it is set; a missing
// Service of team's Prometheus is a [*NoStackError] naming the namespaces where Services of the
// team's stacks exist, when the user may list them.
func getService(ctx context.Context, client kubernetes.Interface, namespace, team, service string) (*corev1.Service, error) {
	if service != "" {
		svc, err := client.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("no Service %s in namespace %s", service, namespace)
		}
		if err != nil {
			return nil, err
		}
		if len(svc.Spec.Selector) == 0 {
			return nil, fmt.Errorf("service %s/%s has no selector: it does not lead to pods", namespace, svc.Name)
		}
		return svc, nil
	}
	svc, err := client.CoreV1().Services(namespace).Get(ctx, manifests.ServiceName(team), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		e := &NoStackError{Team: team, Namespace: namespace}
		sel := labels.SelectorFromSet(manifests.ServiceLabels(team))
		if list, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: sel.String()}); err == nil {
			for _, s := range list.Items {
				if s.Name == manifests.ServiceName(team) && s.Namespace != namespace && !slices.Contains(e.Elsewhere, s.Namespace) {
					e.Elsewhere = append(e.Elsewhere, s.Namespace)
				}
			}
			slices.Sort(e.Elsewhere)
		}
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	if len(svc.Spec.Selector) == 0 {
		return nil, fmt.Errorf("service %s/%s has no selector: it does not lead to pods", namespace, svc.Name)
	}
	return svc, nil
}

// Choose picks the pod to forward to among the pods svc selects and maps svc's web port to a
// port of that pod.
func Choose(svc *corev1.Service, pods []corev1.Pod) (Target, error) {
	return ChoosePort(svc, pods, "")
}

// ChoosePort is Choose for svc's port named portName; empty means the web port.
func ChoosePort(svc *corev1.Service, pods []corev1.Pod, portName string) (Target, error) {
	sp, err := servicePort(svc, portName)
	if err != nil {
		return Target{}, err
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var candidates []*corev1.Pod
	for i := range pods {
		if pods[i].Namespace == svc.Namespace && sel.Matches(labels.Set(pods[i].Labels)) {
			candidates = append(candidates, &pods[i])
		}
	}
	slices.SortStableFunc(candidates, compareActive)
	if len(candidates) == 0 || !usable(candidates[0]) {
		e := &NoReadyPodError{Namespace: svc.Namespace, Service: svc.Name}
		for _, p := range candidates {
			e.Pods = append(e.Pods, p.Name+" "+describe(p))
		}
		return Target{}, e
	}
	pod := candidates[0]
	port, err := containerPort(pod, sp)
	if err != nil {
		return Target{}, err
	}
	return Target{Namespace: svc.Namespace, Service: svc.Name, Pod: pod.Name, Port: port}, nil
}

// servicePort is the Service's port named name, or its only port; empty name means the web port.
func servicePort(svc *corev1.Service, name string) (corev1.ServicePort, error) {
	if name == "" {
		name = manifests.WebPortName
	}
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p, nil
		}
	}
	if len(svc.Spec.Ports) == 1 {
		return svc.Spec.Ports[0], nil
	}
	return corev1.ServicePort{}, fmt.Errorf("service %s/%s has no port named %s", svc.Namespace, svc.Name, name)
}

// containerPort maps a Service port to a port of pod as kubectl does: a numeric target port as it
// is (0: the Service port), a named one looked up among the pod's container ports.
func containerPort(pod *corev1.Pod, sp corev1.ServicePort) (int, error) {
	switch {
	case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
		name := sp.TargetPort.StrVal
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == name && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
					return int(p.ContainerPort), nil
				}
			}
		}
		return 0, fmt.Errorf("pod %s/%s has no container port named %s (the target port of the Service's %s port)", pod.Namespace, pod.Name, name, sp.Name)
	case sp.TargetPort.IntValue() != 0:
		return sp.TargetPort.IntValue(), nil
	}
	return int(sp.Port), nil
}

// usable reports whether a port-forward to pod makes sense: running, ready, not terminating.
func usable(p *corev1.Pod) bool {
	return p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning && podReady(p) && p.DeletionTimestamp == nil
}

// Unusable says why a port-forward to pod no longer makes sense, or "" when it does.
func Unusable(p *corev1.Pod) string {
	switch {
	case p == nil:
		return "deleted"
	case p.DeletionTimestamp != nil:
		return "terminating"
	case p.Status.Phase != corev1.PodRunning:
		return strings.ToLower(string(p.Status.Phase))
	case !podReady(p):
		return "not ready"
	}
	return ""
}

// describe is the state of a pod in a few words.
func describe(p *corev1.Pod) string {
	switch {
	case p.DeletionTimestamp != nil:
		return "Terminating"
	case p.Spec.NodeName == "":
		return "Pending (not scheduled)"
	case p.Status.Phase == corev1.PodRunning && !podReady(p):
		return "Running, not ready"
	case p.Status.Phase == "":
		return "Pending"
	}
	return string(p.Status.Phase)
}

func podReady(p *corev1.Pod) bool {
	c := readyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

func readyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// phaseRank orders phases as kubectl does: Running over Unknown over Pending; finished pods last.
func phaseRank(p corev1.PodPhase) int {
	switch p {
	case corev1.PodRunning:
		return 3
	case corev1.PodUnknown:
		return 2
	case corev1.PodPending, "":
		return 1
	}
	return 0
}

// compareActive orders pods the way kubectl picks the pod of a Service (podutils.ActivePods,
// most active first): assigned to a node, then Running over Unknown over Pending, ready, not
// terminating, ready for longer, fewer container restarts, older; the name breaks ties.
func compareActive(a, b *corev1.Pod) int {
	if d := compareRank(a, b); d != 0 {
		return d
	}
	return strings.Compare(a.Name, b.Name)
}

// compareRank is compareActive without the tie-break by name: 0 means neither pod is a better
// choice.
func compareRank(a, b *corev1.Pod) int {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return boolFirst(a.Spec.NodeName != "")
	}
	if ra, rb := phaseRank(a.Status.Phase), phaseRank(b.Status.Phase); ra != rb {
		return rb - ra
	}
	if podReady(a) != podReady(b) {
		return boolFirst(podReady(a))
	}
	if (a.DeletionTimestamp == nil) != (b.DeletionTimestamp == nil) {
		return boolFirst(a.DeletionTimestamp == nil)
	}
	if podReady(a) && podReady(b) {
		if d := compareEarlier(readyCondition(a).LastTransitionTime.Time, readyCondition(b).LastTransitionTime.Time); d != 0 {
			return d
		}
	}
	if ra, rb := restarts(a), restarts(b); ra != rb {
		return int(ra - rb)
	}
	return compareEarlier(a.CreationTimestamp.Time, b.CreationTimestamp.Time)
}

// compareEarlier puts the earlier time first and a zero time last.
func compareEarlier(a, b time.Time) int {
	switch {
	case a.Equal(b):
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	case a.Before(b):
		return -1
	}
	return 1
}

func boolFirst(aFirst bool) int {
	if aFirst {
		return -1
	}
	return 1
}

// restarts is the highest restart count of the pod's containers.
func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, c := range p.Status.ContainerStatuses {
		n = max(n, c.RestartCount)
	}
	return n
}
