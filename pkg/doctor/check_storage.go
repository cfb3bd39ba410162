package doctor

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// storage

type storageFacts struct {
	classes []storagev1.StorageClass
	err     error
}

func (d *doctor) gatherStorage() storageFacts {
	classes, err := d.c.StorageClasses(d.ctx)
	return storageFacts{classes: classes, err: err}
}

// defaultClassAnnotations mark the default StorageClass (the beta one is still honoured).
var defaultClassAnnotations = []string{"storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"}

func defaultClass(classes []storagev1.StorageClass) string {
	for _, c := range classes {
		for _, a := range defaultClassAnnotations {
			if c.Annotations[a] == "true" {
				return c.Name
			}
		}
	}
	return ""
}

func classNames(classes []storagev1.StorageClass) []string {
	var out []string
	for _, c := range classes {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}

func evalStorage(p *monitoringv1.Prometheus, f storageFacts) Result {
	var reasons, fixes, unknown []string
	fail := func(reason, fix string) {
		reasons = append(reasons, reason)
		fixes = append(fixes, fix)
	}
	team, name, ns := teamOf(p), p.Name, p.Namespace
	s := p.Spec.Storage
	var volume resource.Quantity
	switch {
	case s == nil || s.EmptyDir != nil:
		fail(fmt.Sprintf("Prometheus %s keeps its data in an emptyDir volume: data is lost on restart", name),
			"data is lost on restart: set --storage (e.g. --storage 20Gi) so that each replica gets a PersistentVolumeClaim")
	case s.Ephemeral != nil:
		fail(fmt.Sprintf("Prometheus %s keeps its data in an ephemeral volume: data is lost on restart", name),
			"data is lost on restart: set --storage (e.g. --storage 20Gi) so that each replica gets a PersistentVolumeClaim")
	default:
		pvc := s.VolumeClaimTemplate.Spec
		volume = pvc.Resources.Requests[corev1.ResourceStorage]
		if volume.IsZero() {
			fail(fmt.Sprintf("the volumeClaimTemplate of Prometheus %s requests no storage", name),
				"set --storage (e.g. --storage 20Gi)")
		}
		switch {
		case f.err != nil:
			unknown = append(unknown, "cannot list StorageClasses: "+f.err.Error())
		case pvc.StorageClassName == nil:
			if defaultClass(f.classes) == "" {
				fail("the volumeClaimTemplate names no storage class and the cluster has no default StorageClass: the volume claims stay Pending",
					storageClassFix(f.classes))
			}
		case *pvc.StorageClassName != "":
			if !slices.Contains(classNames(f.classes), *pvc.StorageClassName) {
				fail(fmt.Sprintf("storage class %s does not exist (the cluster has: %s)", *pvc.StorageClassName, quoteList(classNames(f.classes))),
					storageClassFix(f.classes))
			}
		}
	}

	if p.Spec.Retention == "" && p.Spec.RetentionSize == "" && (p.Spec.RetentionPercentage == nil || p.Spec.RetentionPercentage.IsZero()) {
		fail("retention is unset: the operator keeps 24h of data",
			fmt.Sprintf("the operator keeps 24h: set --retention (e.g. --retention %s): kubectl promteam create %s -n %s --retention %s --apply",
				manifests.DefaultRetention, team, ns, manifests.DefaultRetention))
	}
	if p.Spec.RetentionSize != "" {
		size, err := parseByteSize(string(p.Spec.RetentionSize))
		switch {
		case err != nil:
			fail(fmt.Sprintf("retentionSize %q: %v", p.Spec.RetentionSize, err),
				"set --retention-size to a size such as 16GiB (retentionSize uses GiB, not Gi)")
		case !volume.IsZero() && size > volume.Value():
			fail(fmt.Sprintf("retentionSize %s is larger than the %s volume: Prometheus fills the disk before it deletes old data",
				p.Spec.RetentionSize, volume.String()),
				fmt.Sprintf("set --retention-size to at most %s (80%% of %s; retentionSize uses GiB, not Gi)",
					manifests.DefaultRetentionSize(volume), volume.String()))
		}
	}
	switch {
	case len(reasons) > 0:
		return failed(strings.Join(append(reasons, unknown...), "\n"), strings.Join(fixes, "\n"))
	case len(unknown) > 0:
		return skipped(strings.Join(unknown, "\n"))
	}
	reason := "volume " + volume.String()
	if sc := s.VolumeClaimTemplate.Spec.StorageClassName; sc != nil && *sc != "" {
		reason += " of storage class " + *sc
	} else if sc == nil {
		reason += " of the default storage class " + defaultClass(f.classes)
	}
	if p.Spec.Retention != "" {
		reason += ", retention " + string(p.Spec.Retention)
	}
	if p.Spec.RetentionSize != "" {
		reason += ", retentionSize " + string(p.Spec.RetentionSize)
	}
	return passed(reason)
}

func storageClassFix(classes []storagev1.StorageClass) string {
	if len(classes) == 0 {
		return "the cluster has no StorageClass: ask cluster admins for one, or set --storage 0 (an emptyDir: data is lost on restart)"
	}
	return "set --storage-class to an existing class: " + strings.Join(classNames(classes), ", ") + " (kubectl get storageclass)"
}

// byteSizePattern is the operator's ByteSize pattern; Prometheus reads KB, KiB (and so on) as
// powers of 1024 alike.
var byteSizePattern = regexp.MustCompile(`^(0|([0-9]*\.)?[0-9]+)((K|M|G|T|P|E)i?)?B$`)

func parseByteSize(s string) (int64, error) {
	m := byteSizePattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("not a size such as 16GiB or 500MB (the Kubernetes quantity 16Gi is not accepted)")
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	shift := strings.Index("KMGTPE", m[4]) + 1
	if m[4] == "" {
		shift = 0
	}
	return int64(n * float64(int64(1)<<(10*shift))), nil
}

// podsecurity

const enforceLabel = "pod-security.kubernetes.io/enforce"

type podSecurityFacts struct {
	namespace *corev1.Namespace
	nsErr     error
	events    []corev1.Event // events on the Prometheus' StatefulSet
}

func (d *doctor) gatherPodSecurity(p *monitoringv1.Prometheus) podSecurityFacts {
	var f podSecurityFacts
	f.namespace, f.nsErr = d.c.GetNamespace(d.ctx, p.Namespace)
	f.events, _ = d.c.Events(d.ctx, p.Namespace, "StatefulSet", "prometheus-"+p.Name)
	return f
}

func evalPodSecurity(p *monitoringv1.Prometheus, f podSecurityFacts) Result {
	var violations []string
	for _, e := range f.events {
		if e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "violates PodSecurity") {
			violations = append(violations, fmt.Sprintf("StatefulSet prometheus-%s: %s", p.Name, e.Message))
		}
	}
	level := ""
	switch {
	case f.nsErr != nil:
		if len(violations) == 0 {
			return skipped(fmt.Sprintf("cannot read namespace %s for its Pod Security level: %v", p.Namespace, f.nsErr))
		}
	case f.namespace == nil:
		return skipped("namespace " + p.Namespace + " does not exist")
	default:
		level = f.namespace.Labels[enforceLabel]
	}
	var missing []string
	if level == "restricted" || len(violations) > 0 {
		sc := p.Spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			missing = append(missing, "runAsNonRoot: true")
		}
		if sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			missing = append(missing, "a runAsUser other than 0")
		}
		if sc == nil || sc.SeccompProfile == nil ||
			(sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault && sc.SeccompProfile.Type != corev1.SeccompProfileTypeLocalhost) {
			missing = append(missing, "seccompProfile: RuntimeDefault")
		}
	}
	if len(missing) == 0 && len(violations) == 0 {
		if level == "" {
			return passed("namespace " + p.Namespace + " enforces no Pod Security level")
		}
		return passed("namespace " + p.Namespace + " enforces " + level)
	}
	var reasons []string
	if len(missing) > 0 {
		reasons = append(reasons, fmt.Sprintf("namespace %s enforces Pod Security %q and the securityContext of Prometheus %s lacks %s: the operator's StatefulSet cannot create pods",
			p.Namespace, level, p.Name, strings.Join(missing, ", ")))
	}
	reasons = append(reasons, violations...)
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"securityContext": map[string]any{
		"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 2000,
		"seccompProfile": map[string]string{"type": "RuntimeDefault"},
	}}})
	return failed(strings.Join(reasons, "\n"),
		fmt.Sprintf("Add runAsNonRoot + seccompProfile RuntimeDefault: kubectl patch prometheus %s -n %s --type merge -p '%s'", p.Name, p.Namespace, patch))
}

// rules

type ruleEvents map[string][]corev1.Event // namespace/name → events

func (d *doctor) gatherRuleEvents(p *monitoringv1.Prometheus, objs objectFacts) ruleEvents {
	out := ruleEvents{}
	for _, r := range objs.rules {
		if team, ok := r.Labels[manifests.LabelTeam]; ok && team != d.team {
			continue
		}
		if events, err := d.c.Events(d.ctx, r.Namespace, "PrometheusRule", r.Name); err == nil {
			out[r.Namespace+"/"+r.Name] = events
		}
	}
	return out
}

// eventTime is when an event last happened.
func eventTime(e corev1.Event) time.Time {
	t := e.CreationTimestamp.Time
	for _, c := range []time.Time{e.FirstTimestamp.Time, e.LastTimestamp.Time, e.EventTime.Time} {
		if c.After(t) {
			t = c
		}
	}
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	return t
}

func evalRules(p *monitoringv1.Prometheus, objs objectFacts, events ruleEvents) Result {
	if objs.err != nil {
		return skipped(objs.err.Error())
	}
	team := objs.team
	var reasons, fixes []string
	if p.Spec.RuleSelector == nil {
		reasons = append(reasons, fmt.Sprintf("ruleSelector of Prometheus %s is null: no PrometheusRule loads", p.Name))
		fixes = append(fixes, fmt.Sprintf("Set ruleSelector: {} (or matchLabels %s=%s): kubectl patch prometheus %s -n %s --type merge -p '%s'",
			manifests.LabelTeam, team, p.Name, p.Namespace, selectorPatch([]string{"ruleSelector"}, manifests.LabelTeam, team)))
	}
	var teamRules int
	for _, r := range objs.rules {
		if t, ok := r.Labels[manifests.LabelTeam]; (ok && t == team) || selects(p, object{kindRule, r.Namespace, r.Name, r.Labels}, objs.nsLabels).selected {
			teamRules++
		}
	}
	if teamRules == 0 {
		if p.Annotations[manifests.AnnotationEnvoy] == string(manifests.PresetNone) {
			if len(reasons) == 0 {
				return skipped("the stack has no rules (--envoy none)")
			}
		} else {
			reasons = append(reasons, fmt.Sprintf("no PrometheusRule labelled %s=%s in namespace %s", manifests.LabelTeam, team, p.Namespace))
			fixes = append(fixes, fmt.Sprintf("create them with kubectl promteam create %s -n %s --apply", team, p.Namespace))
		}
	}
	if p.Spec.RuleSelector != nil {
		for _, u := range objs.unselected(p, kindRule) {
			reasons = append(reasons, fmt.Sprintf("PrometheusRule %s/%s is not selected: %s", u.namespace, u.name, u.why))
			fixes = append(fixes, unselectedFix(p, u.object, u.verdict, team))
		}
	}
	for _, r := range objs.rules {
		changed := r.CreationTimestamp.Time
		for _, mf := range r.ManagedFields {
			if mf.Time != nil && mf.Time.After(changed) {
				changed = mf.Time.Time
			}
		}
		for _, e := range events[r.Namespace+"/"+r.Name] {
			// A warning from before the rule's last change is about an older version of it.
			if e.Type != corev1.EventTypeWarning || eventTime(e).Before(changed) {
				continue
			}
			reasons = append(reasons, fmt.Sprintf("PrometheusRule %s/%s: Warning %s: %s", r.Namespace, r.Name, e.Reason, e.Message))
			fixes = append(fixes, fmt.Sprintf("fix PrometheusRule %s and re-apply it; the operator reports: %s", r.Name, e.Message))
		}
	}
	if len(reasons) > 0 {
		return failed(strings.Join(reasons, "\n"), strings.Join(fixes, "\n"))
	}
	return passed(fmt.Sprintf("%d PrometheusRules selected, no warnings", len(objs.selectedRules(p))))
}
