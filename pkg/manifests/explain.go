package manifests

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// Explain writes a plain-language account of the stack: what each object is for, the choices
// the flags made, and when a team should change them. Flag values such as external labels are
// printed through termtext.Sanitize: the account is text for a terminal.
func (st Stack) Explain(w io.Writer) error {
	s := st.Spec
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("Team %q gets its own Prometheus %s in namespace %q.\n\n", s.Team, s.PrometheusVersion, s.Namespace)
	p("Objects, in the order to apply them:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, o := range st.Objects {
		kind := o.GetObjectKind().GroupVersionKind().Kind
		name := o.GetName()
		if ns := o.GetNamespace(); ns != "" && ns != s.Namespace {
			name += " (namespace " + ns + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", kind, termtext.Sanitize(name), termtext.Sanitize(s.purpose(o)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	p("\nChoices:\n")
	for _, c := range s.choices() {
		p("%s", bullet(c))
	}
	p("\nWhen to change them:\n")
	for _, a := range s.advice() {
		p("%s", bullet(a))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// purpose is one line on what an object does for the team.
func (s TeamSpec) purpose(o Object) string {
	kind := o.GetObjectKind().GroupVersionKind().Kind
	name := o.GetName()
	switch {
	case kind == "ServiceAccount":
		return "the identity Prometheus uses to discover targets"
	case kind == "Role" && o.GetNamespace() != s.Namespace && o.GetNamespace() == s.Alerting.Namespace && o.GetNamespace() != s.EnvoyNamespace:
		return "lets that identity discover the shared Alertmanager's pods in its namespace"
	case kind == "Role" && o.GetNamespace() != s.Namespace:
		return "lets that identity discover the Envoy pods in this other namespace"
	case kind == "Role" || kind == "ClusterRole":
		return "get/list/watch on pods, services and endpointslices: service discovery and nothing else"
	case kind == "RoleBinding" || kind == "ClusterRoleBinding":
		return "grants that role to the Prometheus ServiceAccount"
	case kind == "Service" && name == s.accountName() && s.Thanos.Enabled:
		return "headless Service for this Prometheus only (the shared prometheus-operated one selects every Prometheus in the namespace); its grpc port lists every Thanos sidecar"
	case kind == "Service" && name == s.accountName():
		return "headless Service for this Prometheus only (the shared prometheus-operated one selects every Prometheus in the namespace)"
	case kind == "Deployment" && name == ThanosQueryName(s.Team):
		return "Thanos Query: one view of every shard and replica through their sidecars, replicas deduplicated"
	case kind == "Service" && name == ThanosQueryName(s.Team):
		return "the Thanos Query's address: HTTP API and UI on port http (10902), StoreAPI on grpc (10901)"
	case kind == "PodDisruptionBudget" && name == ThanosQueryName(s.Team):
		return "keeps one Thanos Query running while nodes are drained"
	case kind == "NetworkPolicy" && name == ThanosQueryName(s.Team):
		return "admits the Thanos Query's port 10902 from pods of this namespace only"
	case kind == "NetworkPolicy" && s.Thanos.Enabled:
		return "admits port 9090 from pods of this namespace only, and the sidecars' port 10901 from the Thanos Query only"
	case kind == "Prometheus":
		return "the Prometheus itself; the operator turns it into a StatefulSet named prometheus-" + s.Team
	case kind == "PodDisruptionBudget" && name == AlertmanagerServiceName(s.Team):
		return "keeps one Alertmanager running while nodes are drained"
	case kind == "PodDisruptionBudget" && s.Shards > 1:
		return "lets one Prometheus pod go at a time while nodes are drained, so every shard keeps a replica"
	case kind == "PodDisruptionBudget":
		return "keeps one replica running while nodes are drained"
	case kind == "Alertmanager":
		return "the team's own Alertmanager; the operator turns it into a StatefulSet named alertmanager-" + s.Team
	case kind == "Service" && name == AlertmanagerServiceName(s.Team):
		return "headless Service for this Alertmanager only, where the Prometheus sends alerts"
	case kind == "AlertmanagerConfig":
		return "routes the team's alerts to its receivers by severity; warnings are held back while a critical alert fires for the same cluster"
	case kind == "NetworkPolicy":
		return "admits port 9090 from pods of this namespace only"
	case kind == "ConfigMap" && name == s.statsdMappingName():
		return "statsd_exporter mapping: Envoy counter names kept, timers turned into seconds histograms"
	case kind == "Deployment" && name == s.statsdName():
		return "statsd_exporter, receiving Envoy's statsd sink on UDP/TCP 9125"
	case kind == "Service" && name == s.statsdName():
		return "the address for Envoy's statsd sink and the exporter's metrics port"
	case kind == "ServiceMonitor" && name == AlertmanagerServiceName(s.Team):
		return "scrapes the team's Alertmanager, so failing notifications show (alertmanager_notifications_failed_total)"
	case kind == "PodMonitor" || kind == "ServiceMonitor":
		return "scrapes Envoy: " + s.presetFor(name)
	case kind == "PrometheusRule":
		return "RED recording rules (the names top reads) and traffic-gated alerts"
	case kind == "ConfigMap" && name == s.dashboardName():
		return "Grafana dashboard, picked up by the Grafana sidecar through the grafana_dashboard=1 label"
	}
	return ""
}

func (s TeamSpec) presetFor(monitor string) string {
	for _, p := range s.Presets {
		if s.monitorName(p) == monitor {
			return presets[p].describe
		}
	}
	return ""
}

func (s TeamSpec) choices() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	add("The Prometheus selects only monitors and rules labelled %s=%s. Label your own monitors that way to have them scraped; an empty selector would also take other teams' monitors, a missing one would take none.", LabelTeam, s.Team)
	switch {
	case s.ClusterScope:
		add("--cluster-scope: the monitors may discover Envoy in every namespace, through a ClusterRole. Applying it needs cluster-admin.")
	case s.EnvoyNamespace != "":
		add("Envoy runs in namespace %q: the monitors look there, and a Role and RoleBinding in %q let the Prometheus ServiceAccount discover the pods. Whoever applies the stack needs rights in both namespaces.", s.EnvoyNamespace, s.EnvoyNamespace)
	default:
		add("Monitors may only discover targets in namespace %q (ignoreNamespaceSelectors), which is all the Role grants. No ClusterRole is needed, so a namespace admin can apply the stack.", s.Namespace)
	}
	if s.Replicas > 1 {
		read := "they differ slightly, so query one at a time"
		if s.Thanos.Enabled {
			read = "the Thanos Query deduplicates them"
		}
		add("%d replicas scrape the same targets, so alerts keep firing while one restarts; %s.", s.Replicas, read)
	} else {
		add("One replica: a restart or node drain leaves gaps in data and alerting.")
	}
	if s.Shards > 1 {
		merged := "remote write carries every shard's part to one store"
		if s.Thanos.Enabled {
			merged = "the Thanos Query merges them"
		}
		add("%d shards split the targets by hash; each shard has %d replica(s) and sees only its part of the data, and %s.", s.Shards, s.Replicas, merged)
	}
	if s.Storage.IsZero() {
		add("No volume (--storage=0): data lives in an emptyDir and is lost whenever a pod restarts.")
	} else {
		add("Each replica keeps %s of data (%s of the %s volume at most) on a ReadWriteOnce volume; the operator's own default would be 24h in an emptyDir.", s.Retention, s.retentionSize(), s.Storage.String())
	}
	add("Requests %s CPU and %s memory per pod%s.", s.CPU.String(), s.Memory.String(), memoryLimitText(s))
	add("Prometheus %s is pinned, so upgrading the operator does not upgrade it.", s.PrometheusVersion)
	add("%s", limitsText(s))
	if !s.noEnvoy() {
		names := make([]string, len(s.Presets))
		for i, p := range s.Presets {
			names[i] = string(p)
		}
		add("Envoy is scraped every %s with preset(s) %s; other monitors every %s. Rules run every %s over 5m windows.", s.EnvoyScrapeInterval, strings.Join(names, ", "), s.ScrapeInterval, s.EvaluationInterval)
		if s.NativeHistograms {
			add("The Envoy monitors scrape the protobuf exposition first and keep native histograms (scrapeNativeHistograms) beside the classic buckets (scrapeClassicHistograms), which the recording rules read; top and compare read the classic buckets where they exist, else the native histograms.")
		}
		add("Recording rules %s, %s, %s and the latency bucket rates are the names `kubectl promteam top` and the dashboard read; they record sums only, and the readers derive success ratios and percentiles from them.", promql.RecordRequestRate, promql.RecordResponseRate, promql.RecordNot5xxRate)
	} else {
		add("--envoy=none: no Envoy monitors or rules; the Prometheus scrapes whatever monitors the team labels %s=%s.", LabelTeam, s.Team)
	}
	switch {
	case !s.Alerts:
		add("No alerts (--no-alerts).")
	case s.SLO != 0:
		add("Alerts: 5xx ratio above %g%% and p99 above %gs, each only above %g request/s; burn-rate alerts for a %s%% objective page at 14.4x (1h and 5m) and 6x (6h and 30m) and open a ticket at 1x (3d and 6h).", alert5xxRatio*100, alertP99Seconds, alertMinRPS, formatSLO(s.SLO))
	case !s.noEnvoy():
		add("Alerts: 5xx ratio above %g%% and p99 above %gs, each only above %g request/s so quiet services do not page. Add --slo for error-budget burn-rate alerts.", alert5xxRatio*100, alertP99Seconds, alertMinRPS)
	}
	if s.Alerts {
		out = append(out, s.deliveryChoices()...)
	}
	if s.Thanos.Enabled {
		out = append(out, s.thanosChoices()...)
	}
	out = append(out, s.remoteWriteChoices()...)
	if s.NetworkPolicy {
		add("The NetworkPolicy may also block `kubectl port-forward` on some CNIs and the API server's service proxy, which connects from the control plane.")
	}
	return out
}

// explainWidth is where bullets wrap, so the account reads well in a 100-column terminal.
const explainWidth = 100

// bullet formats text as a list item wrapped at explainWidth with a hanging indent.
func bullet(text string) string {
	var b strings.Builder
	line := "  -"
	for _, word := range strings.Fields(text) {
		word = termtext.Sanitize(word)
		if len(line)+1+len(word) > explainWidth && len(line) > len("    ") {
			b.WriteString(line + "\n")
			line = "    " + word
			continue
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
	return b.String()
}

func memoryLimitText(s TeamSpec) string {
	if s.MemoryLimit.IsZero() {
		return ", with no memory limit"
	}
	return ", memory limited to " + s.MemoryLimit.String() + " (Prometheus 3 sets GOMEMLIMIT from it)"
}

// limitsText describes the target and sample limits and what happens past them.
func limitsText(s TeamSpec) string {
	target := "No target limit (--target-limit 0): a selector that matches far more pods than meant loads them all."
	if s.TargetLimit > 0 {
		target = fmt.Sprintf("Each monitor may find at most %d targets (--target-limit), one per Envoy pod or sidecar; past that, none of the monitor's targets are scraped.", s.TargetLimit)
	}
	sample := "No sample limit (--sample-limit 0): one Envoy with a huge number of clusters can exhaust the Prometheus' memory."
	if s.SampleLimit > 0 {
		sample = fmt.Sprintf("A scrape may bring at most %d samples after relabelling (--sample-limit); past that, the whole scrape fails.", s.SampleLimit)
	}
	return target + " " + sample
}

func externalLabelText(s TeamSpec) string {
	parts := []string{"team=" + s.Team}
	for _, k := range sortedKeys(s.ExternalLabels) {
		parts = append(parts, k+"="+s.ExternalLabels[k])
	}
	return strings.Join(parts, ",")
}

func (s TeamSpec) advice() []string {
	return []string{
		"Add replicas (--replicas 2 or 3) when the team pages on these alerts: one replica means no alerting while it restarts.",
		"Add shards only when one Prometheus cannot keep up (scrapes run late, memory near the limit at well over a million active series); most teams never need them, and sharding needs --thanos (or --remote-write) to see the shards as one.",
		"Add --thanos-objstore to --thanos when the data must outlive the volumes: the sidecars upload every block, and --retention only bounds what each Prometheus keeps locally.",
		"Add --remote-write when the data must outlive the retention or be queried next to other teams' data; keep the local retention short then.",
		"Keep --target-limit above the Envoy pods or sidecars one monitor finds, with room to grow: an Istio namespace with 300 sidecars needs more than 300, such as --target-limit 400.",
		fmt.Sprintf("Raise --sample-limit when doctor reports scrapes over the sample limit: Envoy exposes about a hundred series per upstream cluster, so a few thousand clusters on one Envoy pass the default %d.", DefaultSampleLimit),
		"Raise --storage with --retention: disk is roughly retention x samples per second x 1-2 bytes. Claims do not grow through the StatefulSet once created.",
		"A team needs no Prometheus of its own when a central one already scrapes its Envoys and it can query and alert there; use one when it wants its own retention, rules and alerts without waiting on others.",
	}
}
