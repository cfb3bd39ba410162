package doctor

import (
	"context"
	"errors"
	"fmt"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// The IDs of the checks, in the order Run reports them.
const (
	CheckAPI         = "api"
	CheckCRDs        = "crds"
	CheckStack       = "stack"
	CheckReconciled  = "reconciled"
	CheckSelectors   = "selectors"
	CheckSelection   = "selection"
	CheckService     = "service"
	CheckPorts       = "ports"
	CheckRBAC        = "rbac"
	CheckStorage     = "storage"
	CheckPodSecurity = "podsecurity"
	CheckRules       = "rules"
	CheckDuplicates  = "duplicates"
	CheckDelivery    = "alert-delivery"
	CheckRouting     = "alert-routing"
	CheckSecrets     = "receiver-secrets"
	CheckTargets     = "targets"
	CheckEnvoySeries = "envoy-series"
	CheckCapacity    = "capacity"
	CheckDiscovered  = "alertmanagers"
	CheckNotify      = "notifications"
	CheckSharding    = "sharding"
	CheckThanosStore = "thanos-stores"
	CheckThanosShip  = "thanos-uploads"
)

// CheckIDs lists every check in the order Run reports them.
var CheckIDs = []string{
	CheckAPI, CheckCRDs, CheckStack, CheckReconciled, CheckSelectors, CheckSelection, CheckService,
	CheckPorts, CheckRBAC, CheckStorage, CheckSharding, CheckPodSecurity, CheckRules, CheckDuplicates,
	CheckDelivery, CheckRouting, CheckSecrets, CheckTargets, CheckEnvoySeries, CheckCapacity, CheckDiscovered, CheckNotify,
	CheckThanosStore, CheckThanosShip,
}

// DefaultReconcileWait is how long Run waits for the operator to write a status.
const DefaultReconcileWait = 30 * time.Second

// liveTimeout bounds each request to Prometheus.
const liveTimeout = 15 * time.Second

// Options tune Run.
type Options struct {
	// ReconcileWait is how long to wait for the operator to write the Prometheus' status before
	// concluding that no operator watches it; 0 means DefaultReconcileWait.
	ReconcileWait time.Duration
	// Thanos reaches the team's Thanos Query and its sidecars, for a stack with Thanos; nil
	// skips the Thanos checks.
	Thanos Thanos
}

func (o Options) withDefaults() Options {
	if o.ReconcileWait <= 0 {
		o.ReconcileWait = DefaultReconcileWait
	}
	return o
}

// title is the one-line description of check id for a team's stack.
func title(id, team, namespace string) string {
	switch id {
	case CheckAPI:
		return "API server reachable and credentials valid"
	case CheckCRDs:
		return "Prometheus Operator CRDs installed"
	case CheckStack:
		return fmt.Sprintf("Prometheus %s exists in namespace %s", team, namespace)
	case CheckReconciled:
		return fmt.Sprintf("an operator reconciles Prometheus %s", team)
	case CheckSelectors:
		return "monitor and rule selectors are set (null selects nothing)"
	case CheckSelection:
		return "the Prometheus selects the team's monitors and rules"
	case CheckService:
		return "the governing Service selects only this Prometheus"
	case CheckPorts:
		return "monitors find Envoy pods or Services and the ports they name"
	case CheckRBAC:
		return "the Prometheus ServiceAccount may discover targets"
	case CheckStorage:
		return "storage and retention keep the data"
	case CheckPodSecurity:
		return "the Prometheus pods meet the namespace's Pod Security level"
	case CheckRules:
		return "PrometheusRules exist, are selected and were accepted"
	case CheckDuplicates:
		return "no other Prometheus scrapes the team's Envoys as well"
	case CheckTargets:
		return "scrape targets are up"
	case CheckEnvoySeries:
		return "Envoy request series reach Prometheus (envoy_cluster_upstream_rq_total)"
	case CheckCapacity:
		return "scrapes, scrape pools and the head stay within the stack's limits"
	case CheckDelivery:
		return "alerts go to an Alertmanager that reads the team's AlertmanagerConfig"
	case CheckRouting:
		return "every alert carries the labels its route matches, and only the team's"
	case CheckSecrets:
		return "the Secret keys the receivers read exist"
	case CheckDiscovered:
		return "Prometheus discovered the Alertmanager it sends alerts to"
	case CheckNotify:
		return "the Alertmanager's notifications do not fail"
	case CheckSharding:
		return "a sharded Prometheus is seen as one (Thanos or remote write)"
	case CheckThanosStore:
		return "the Thanos Query sees the sidecar of every shard and replica"
	case CheckThanosShip:
		return "the Thanos sidecars upload blocks to object storage"
	}
	return id
}

// Run runs every check for team's stack in namespace and returns the report. The cluster checks
// read c; the live checks (targets, envoy-series) read p, which may be nil, in which case they
// are skipped. Run never returns an error: what it could not read becomes a failed or skipped
// check with the reason.
func Run(ctx context.Context, c Cluster, p Prometheus, team, namespace string, opts Options) Report {
	d := &doctor{ctx: ctx, c: c, p: p, team: team, ns: namespace, opts: opts.withDefaults()}
	return d.run()
}

// doctor holds one Run's inputs.
type doctor struct {
	ctx  context.Context
	c    Cluster
	p    Prometheus
	team string
	ns   string
	opts Options
}

// report collects results and fills in the titles.
type report struct {
	Report
}

func (r *report) add(id string, res Result) Result {
	res.ID = id
	res.Title = title(id, r.Team, r.Namespace)
	if res.Status != StatusFailed {
		res.Fix = ""
	}
	r.Results = append(r.Results, res)
	return res
}

// skip marks every check in ids as skipped for reason.
func (r *report) skip(reason string, ids ...string) {
	for _, id := range ids {
		r.add(id, skipped(reason))
	}
}

func passed(reason string) Result { return Result{Status: StatusPassed, Reason: reason} }

func failed(reason, fix string) Result {
	return Result{Status: StatusFailed, Reason: reason, Fix: fix}
}

func skipped(reason string) Result { return Result{Status: StatusSkipped, Reason: reason} }

func (d *doctor) run() Report {
	r := &report{Report{Team: d.team, Namespace: d.ns}}
	api := r.add(CheckAPI, evalAPI(d.gatherAPI()))
	if api.Status != StatusPassed {
		r.skip(api.Reason, CheckIDs[1:]...)
		return r.Report
	}

	var prom *monitoringv1.Prometheus
	// noStack is why there is no Prometheus to check, when there is none.
	var noStack string
	clusterChecks := []string{CheckStack, CheckReconciled, CheckSelectors, CheckSelection, CheckService,
		CheckPorts, CheckRBAC, CheckStorage, CheckSharding, CheckPodSecurity, CheckRules, CheckDuplicates,
		CheckDelivery, CheckRouting, CheckSecrets}
	crds := r.add(CheckCRDs, evalCRDs(d.gatherCRDs()))
	if crds.Status != StatusPassed {
		noStack = crds.Reason
		r.skip(crds.Reason, clusterChecks...)
	} else {
		sf := d.gatherStack()
		stack := r.add(CheckStack, evalStack(sf))
		if stack.Status != StatusPassed {
			noStack = stack.Reason
			r.skip(stack.Reason, clusterChecks[1:]...)
		} else {
			prom = d.waitReconciled(sf.prom)
			r.add(CheckReconciled, evalReconciled(prom, d.opts.ReconcileWait))
			r.add(CheckSelectors, evalSelectors(prom))
			objs := d.gatherObjects(prom)
			r.add(CheckSelection, evalSelection(prom, objs))
			r.add(CheckService, evalService(prom, d.gatherService(prom)))
			r.add(CheckPorts, evalPorts(prom, objs, d.gatherPorts(prom, objs)))
			r.add(CheckRBAC, evalRBAC(prom, d.gatherRBAC(prom, objs)))
			r.add(CheckStorage, evalStorage(prom, d.gatherStorage()))
			r.add(CheckSharding, evalSharding(prom))
			r.add(CheckPodSecurity, evalPodSecurity(prom, d.gatherPodSecurity(prom)))
			r.add(CheckRules, evalRules(prom, objs, d.gatherRuleEvents(prom, objs)))
			r.add(CheckDuplicates, evalDuplicates(prom, objs, d.gatherDuplicates(prom)))
			af := d.gatherAlerting(prom)
			r.add(CheckDelivery, evalAlertDelivery(prom, d.team, af))
			r.add(CheckRouting, evalAlertRouting(prom, d.team, objs, af))
			r.add(CheckSecrets, evalReceiverSecrets(prom, af))
		}
	}
	d.runLive(r, prom)
	d.runThanos(r, prom, noStack)
	return r.Report
}

// runLive runs the checks that read the team's Prometheus.
func (d *doctor) runLive(r *report, prom *monitoringv1.Prometheus) {
	live := []string{CheckTargets, CheckEnvoySeries, CheckCapacity, CheckDiscovered, CheckNotify}
	if d.p == nil {
		r.skip("not connected to the team's Prometheus (the live checks need a port-forward or the API server's service proxy to it)",
			live...)
		return
	}
	lf := d.gatherLive()
	if lf.targetsErr != nil {
		r.skip(fmt.Sprintf("Prometheus is not reachable: %v", lf.targetsErr), live...)
		return
	}
	r.add(CheckTargets, evalTargets(lf))
	r.add(CheckEnvoySeries, evalEnvoySeries(prom, lf))
	r.add(CheckCapacity, evalCapacity(prom, lf.targets, lf.capacity, lf.capacityErr))
	r.add(CheckDiscovered, evalAlertmanagersDiscovered(prom, lf.alertmanagers, lf.alertmanagersErr))
	r.add(CheckNotify, evalNotifications(prom, d.team, d.gatherNotifications(prom)))
}

// runThanos runs the checks of a stack's Thanos Query and sidecars; noStack is why there is no
// Prometheus to check, when prom is nil. A stack without Thanos passes them: there is nothing
// to check.
func (d *doctor) runThanos(r *report, prom *monitoringv1.Prometheus, noStack string) {
	switch {
	case prom == nil:
		r.skip(noStack, CheckThanosStore, CheckThanosShip)
		return
	case prom.Spec.Thanos == nil:
		r.add(CheckThanosStore, passed("the stack has no Thanos sidecars, nothing to check (kubectl promteam create --thanos adds them and a Thanos Query)"))
		r.add(CheckThanosShip, passed("the stack has no Thanos sidecars: nothing uploads blocks"))
		return
	case d.opts.Thanos == nil:
		r.skip("not connected to the team's Thanos Query", CheckThanosStore, CheckThanosShip)
		return
	}
	f := d.gatherThanos(prom)
	var u UnreachableThanos
	if errors.As(f.storesErr, &u) {
		r.skip(fmt.Sprintf("the Thanos Query is not reachable: %v", u.Err), CheckThanosStore, CheckThanosShip)
		return
	}
	r.add(CheckThanosStore, evalThanosStores(prom, f))
	if prom.Spec.Thanos.ObjectStorageConfig == nil {
		r.add(CheckThanosShip, passed("no object storage configured (spec.thanos.objectStorageConfig): the sidecars upload nothing, history stays local"))
		return
	}
	r.add(CheckThanosShip, evalThanosUploads(prom, f))
}
