package doctor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// api

type apiFacts struct {
	version    string
	versionErr error
	user       string
	userErr    error
}

func (d *doctor) gatherAPI() apiFacts {
	var f apiFacts
	f.version, f.versionErr = d.c.ServerVersion(d.ctx)
	if f.versionErr == nil {
		f.user, f.userErr = d.c.User(d.ctx)
	}
	return f
}

func evalAPI(f apiFacts) Result {
	err := f.versionErr
	if err == nil {
		err = f.userErr
	}
	if err != nil {
		if apierrors.IsUnauthorized(err) {
			return failed("the API server rejected the credentials: "+err.Error(),
				"log in again or fix the kubeconfig user's token or certificate, then check with kubectl auth whoami")
		}
		// client-go's exec credential plugin fails before anything is sent.
		if strings.Contains(err.Error(), "getting credentials: ") {
			return failed("the kubeconfig's credential plugin failed: "+err.Error(),
				"run the plugin by hand or log in again, then check with kubectl auth whoami")
		}
		return failed("cannot reach the API server: "+err.Error(),
			"check the kubeconfig context, the server address and the credentials: kubectl version; kubectl auth whoami")
	}
	reason := "Kubernetes " + f.version
	if f.user != "" {
		reason += ", authenticated as " + f.user
	}
	return passed(reason)
}

// crds

// requiredCRDs are the resources a promteam stack uses, all served in monitoring.coreos.com/v1.
var requiredCRDs = []string{"prometheuses", "podmonitors", "servicemonitors", "prometheusrules"}

const (
	operatorGroup = "monitoring.coreos.com"
	// minOperator is the oldest operator release with spec.serviceName.
	minOperator = "0.81.0"
	fixNoCRDs   = "Prometheus Operator CRDs are not installed; ask cluster admins to install the operator."
)

type crdFacts struct {
	crds []CRD
	err  error
}

func (d *doctor) gatherCRDs() crdFacts {
	crds, err := d.c.OperatorCRDs(d.ctx)
	return crdFacts{crds: crds, err: err}
}

func evalCRDs(f crdFacts) Result {
	if f.err != nil {
		return failed("cannot tell whether the Prometheus Operator CRDs are installed: "+f.err.Error(),
			"check with kubectl api-resources --api-group="+operatorGroup+"; if it lists nothing: "+fixNoCRDs)
	}
	byName := map[string]CRD{}
	for _, c := range f.crds {
		byName[c.Name] = c
	}
	var missing, versions []string
	for _, r := range requiredCRDs {
		c, ok := byName[r+"."+operatorGroup]
		switch {
		case !ok:
			missing = append(missing, r+"."+operatorGroup)
		case !slices.Contains(c.Served, "v1"):
			missing = append(missing, r+"."+operatorGroup+" (v1 not served)")
		default:
			if c.Version != "" && !slices.Contains(versions, c.Version) {
				versions = append(versions, c.Version)
			}
		}
	}
	if len(missing) > 0 {
		return failed("missing in "+operatorGroup+"/v1: "+strings.Join(missing, ", "), fixNoCRDs)
	}
	slices.SortFunc(versions, compareVersions)
	if len(versions) > 0 && compareVersions(versions[0], minOperator) < 0 {
		return failed(fmt.Sprintf("the CRDs are from operator v%s; promteam stacks need v%s or later (spec.serviceName)",
			strings.TrimPrefix(versions[0], "v"), minOperator),
			fmt.Sprintf("ask cluster admins to upgrade the Prometheus Operator and its CRDs to v%s or later", minOperator))
	}
	reason := strings.Join(requiredCRDs, ", ") + " served in " + operatorGroup + "/v1"
	switch len(versions) {
	case 0:
		reason += "; operator version unknown (the CRDs cannot be read)"
	case 1:
		reason += "; operator v" + strings.TrimPrefix(versions[0], "v")
	default:
		reason += "; CRDs of several operator versions: v" + strings.Join(versions, ", v")
	}
	return passed(reason)
}

// compareVersions compares dotted release numbers such as 0.94.1 and v0.81.0.
func compareVersions(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "v"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(strings.SplitN(pa[i], "-", 2)[0])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(strings.SplitN(pb[i], "-", 2)[0])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// stack

type stackFacts struct {
	team, ns     string
	prom         *monitoringv1.Prometheus
	err          error
	elsewhere    []string // namespaces holding a Prometheus labelled with the team
	elsewhereErr error
}

func (d *doctor) gatherStack() stackFacts {
	f := stackFacts{team: d.team, ns: d.ns}
	f.prom, f.err = d.c.GetPrometheus(d.ctx, d.ns, d.team)
	if f.err != nil || f.prom != nil {
		return f
	}
	list, err := d.c.ListPrometheuses(d.ctx, "", labels.SelectorFromSet(labels.Set{manifests.LabelTeam: d.team}))
	f.elsewhereErr = err
	for _, p := range list {
		if !slices.Contains(f.elsewhere, p.Namespace) {
			f.elsewhere = append(f.elsewhere, p.Namespace)
		}
	}
	slices.Sort(f.elsewhere)
	return f
}

func evalStack(f stackFacts) Result {
	create := fmt.Sprintf("create it with kubectl promteam create %s -n %s --apply", f.team, f.ns)
	if f.err != nil {
		if apierrors.IsForbidden(f.err) {
			return failed("cannot read Prometheus objects: "+f.err.Error(),
				"Missing get on monitoring.coreos.com/prometheuses in namespace "+f.ns+"; admins: aggregated roles from rbac-crd.md (+scrapeconfigs, prometheusagents).")
		}
		return failed("cannot read Prometheus "+f.team+": "+f.err.Error(), "check access with kubectl get prometheus "+f.team+" -n "+f.ns)
	}
	if f.prom == nil {
		reason := fmt.Sprintf("no promteam stack named %s in namespace %s", f.team, f.ns)
		fix := create
		switch {
		case len(f.elsewhere) > 0:
			reason += fmt.Sprintf("; a Prometheus labelled %s=%s exists in namespace %s", manifests.LabelTeam, f.team, strings.Join(f.elsewhere, ", "))
			fix = fmt.Sprintf("%s\nor, if you meant that stack: kubectl promteam doctor %s -n %s", create, f.team, f.elsewhere[0])
		case f.elsewhereErr != nil:
			reason += " (other namespaces not searched: " + f.elsewhereErr.Error() + ")"
		}
		return failed(reason, fix)
	}
	reason := "Prometheus " + f.ns + "/" + f.team
	if f.prom.Labels[manifests.LabelManagedBy] != manifests.ManagedBy {
		reason += " (not created by kubectl promteam)"
	}
	return passed(reason)
}

// reconciled

// waitReconciled reads the Prometheus until the operator has written conditions for its current
// generation, or until the wait is over, and returns the last version read.
func (d *doctor) waitReconciled(p *monitoringv1.Prometheus) *monitoringv1.Prometheus {
	deadline := time.Now().Add(d.opts.ReconcileWait)
	poll := min(time.Second, d.opts.ReconcileWait/10)
	for !statusCurrent(p) && time.Now().Before(deadline) {
		select {
		case <-d.ctx.Done():
			return p
		case <-time.After(poll):
		}
		if fresh, err := d.c.GetPrometheus(d.ctx, p.Namespace, p.Name); err == nil && fresh != nil {
			p = fresh
		}
	}
	return p
}

// statusCurrent reports whether the operator has written a Reconciled condition for the
// Prometheus' current generation.
func statusCurrent(p *monitoringv1.Prometheus) bool {
	c := condition(p, monitoringv1.Reconciled)
	return c != nil && (c.ObservedGeneration == 0 || c.ObservedGeneration >= p.Generation)
}

func condition(p *monitoringv1.Prometheus, t monitoringv1.ConditionType) *monitoringv1.Condition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// controllerIDKey is the label or annotation that ties a Prometheus to operators started with the
// same --controller-id.
const controllerIDKey = "operator.prometheus.io/controller-id"

func evalReconciled(p *monitoringv1.Prometheus, waited time.Duration) Result {
	name, ns := p.Name, p.Namespace
	if p.Spec.Paused {
		return failed(fmt.Sprintf("Prometheus %s is paused: the operator does not change it", name),
			fmt.Sprintf(`kubectl patch prometheus %s -n %s --type merge -p '{"spec":{"paused":false}}'`, name, ns))
	}
	rec := condition(p, monitoringv1.Reconciled)
	if rec == nil {
		reason := fmt.Sprintf("Prometheus %s has no status after %s: no operator reconciles it", name, waited)
		fix := fmt.Sprintf("The operator does not watch namespace %s (or needs label/annotation %s): "+
			"ask cluster admins to check the operator's --namespaces, --deny-namespaces, --prometheus-instance-namespaces, "+
			"--prometheus-instance-selector and --controller-id flags.", ns, controllerIDKey)
		id := p.Annotations[controllerIDKey]
		if id == "" {
			id = p.Labels[controllerIDKey]
		}
		if id != "" {
			reason += fmt.Sprintf("; it asks for %s=%s", controllerIDKey, id)
			fix += fmt.Sprintf("\nonly an operator started with --controller-id=%s reconciles it: remove the %s label and annotation or run such an operator", id, controllerIDKey)
		}
		return failed(reason, fix)
	}
	if rec.ObservedGeneration != 0 && rec.ObservedGeneration < p.Generation {
		return failed(fmt.Sprintf("the status is for generation %d, the Prometheus is at generation %d: the operator has not caught up after %s",
			rec.ObservedGeneration, p.Generation, waited),
			"check that the operator runs and read its logs: kubectl get pods -A -l app.kubernetes.io/name=prometheus-operator")
	}
	describe := fmt.Sprintf("kubectl describe prometheus %s -n %s", name, ns)
	if rec.Status != monitoringv1.ConditionTrue {
		return failed(fmt.Sprintf("Reconciled=%s: %s", rec.Status, conditionText(rec)),
			"fix what the operator reports above, then re-apply; details: "+describe+" and the operator's logs")
	}
	avail := condition(p, monitoringv1.Available)
	switch {
	case avail == nil:
		return failed("the operator reconciled it but reports no Available condition",
			fmt.Sprintf("check the pods: kubectl get statefulset,pods -n %s -l app.kubernetes.io/instance=%s", ns, name))
	case avail.Status != monitoringv1.ConditionTrue:
		return failed(fmt.Sprintf("Available=%s: %s (%d of %d replicas available)", avail.Status, conditionText(avail),
			p.Status.AvailableReplicas, p.Status.Replicas),
			fmt.Sprintf("find out why the pods are not ready: kubectl get pods -n %s -l app.kubernetes.io/instance=%s; kubectl describe statefulset prometheus-%s -n %s",
				ns, name, name, ns))
	}
	return passed("Reconciled and Available")
}

func conditionText(c *monitoringv1.Condition) string {
	switch {
	case c.Reason != "" && c.Message != "":
		return c.Reason + ": " + c.Message
	case c.Message != "":
		return c.Message
	case c.Reason != "":
		return c.Reason
	}
	return "no reason given"
}
