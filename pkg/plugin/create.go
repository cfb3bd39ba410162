package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// CreateOptions holds the create flags as typed; Complete turns them into a TeamSpec.
type CreateOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	output  *outputFlag
	explain bool

	presets             []string
	envoySelector       string
	envoyNamespace      string
	clusterScope        bool
	retention           string
	retentionSize       string
	storage             string
	storageClass        string
	replicas            int32
	shards              int32
	cpu                 string
	memory              string
	memoryLimit         string
	scrapeInterval      string
	envoyScrapeInterval string
	evaluationInterval  string
	remoteWrite         []string
	remoteWriteTenant   string
	remoteWriteBasic    string
	remoteWriteBearer   string
	externalLabels      []string
	prometheusVersion   string
	targetLimit         int64
	sampleLimit         int64
	slo                 string
	alerts              bool
	noAlerts            bool
	grafanaDashboard    bool
	networkPolicy       bool
	nativeHistograms    bool

	thanos              bool
	thanosVersion       string
	thanosImage         string
	thanosObjstore      string
	thanosQueryReplicas int32

	alertmanager        string
	alertmanagerService string
	serviceGiven        bool // --alertmanager-service was given, not read from the cluster
	alertmanagerLabels  []string
	alertmanagerVersion string
	notify              []string
	runbookURL          string

	apply           bool
	dryRun          dryRunFlag
	createNamespace bool
	forceConflicts  bool
	timeout         time.Duration // bounds --apply and diff
	diffing         bool          // the options are diff's

	spec manifests.TeamSpec
}

// NewCreateOptions returns the options with the defaults a team gets without flags.
func NewCreateOptions(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *CreateOptions {
	return &CreateOptions{
		configFlags:         configFlags,
		IOStreams:           streams,
		output:              newOutputFlag(formatYAML, formatJSON),
		presets:             []string{string(manifests.PresetEnvoy)},
		retention:           manifests.DefaultRetention,
		storage:             manifests.DefaultStorage,
		replicas:            manifests.DefaultReplicas,
		shards:              manifests.DefaultShards,
		cpu:                 manifests.DefaultCPU,
		memory:              manifests.DefaultMemory,
		memoryLimit:         manifests.DefaultMemoryLimit,
		scrapeInterval:      manifests.DefaultScrapeInterval,
		envoyScrapeInterval: manifests.DefaultEnvoyScrapeInterval,
		evaluationInterval:  manifests.DefaultEvaluationInterval,
		prometheusVersion:   manifests.DefaultPrometheusVersion,
		targetLimit:         manifests.DefaultTargetLimit,
		sampleLimit:         manifests.DefaultSampleLimit,
		alerts:              true,
		alertmanagerService: manifests.DefaultAlertmanagerService,
		alertmanagerVersion: manifests.DefaultAlertmanagerVersion,
		thanosVersion:       manifests.DefaultThanosVersion,
		thanosQueryReplicas: manifests.DefaultThanosQueryReplicas,
		timeout:             defaultTimeout,
	}
}

const createLong = `Create prints the Prometheus Operator stack of one team: its own Prometheus with a
ServiceAccount and a Role that allow only service discovery, a headless Service of its own,
selectors that pick exactly the team's monitors and rules, Envoy PodMonitors or ServiceMonitors,
RED recording rules and traffic-gated alerts.

Objects are printed in apply order, labelled app.kubernetes.io/managed-by=kubectl-promteam and
promteam.io/team=TEAM, and are the same bytes for the same flags. Nothing is sent to a cluster
unless --apply is given: then every permission the stack needs is checked first (and, when one
is missing, listed with the commands that grant it, and nothing is applied), and each object is
applied with server-side apply, field manager kubectl-promteam, printing a line per object.

Envoy presets (--envoy, repeatable):
%s
Recording rules (the names kubectl promteam top reads, labelled namespace and envoy_cluster_name):
  %s, %s, %s,
  %s, %s, %s,
  %s (Envoy, Istio; by le) or
  %s (statsd; by le), %s;
  with --slo also envoy_cluster:upstream_rq_error_ratio:rate{30m,1h,6h,3d}. They record sums only,
  which add up across --shards: readers derive success ratios and percentiles from them.
  With --shards above 1 every shard carries the external label prometheus_shard.`

const createExample = `  # The stack for team-a in namespace team-a, with plain Envoy sidecars
  kubectl promteam create team-a -n team-a

  # Apply it (again: every object unchanged)
  kubectl promteam create team-a -n team-a --apply

  # What the API server would admit, nothing stored
  kubectl promteam create team-a -n team-a --apply --dry-run=server

  # Contour's Envoy, three replicas, remote write, a 99.9% SLO with burn-rate alerts
  kubectl promteam create checkout -n shop --envoy contour --replicas 3 \
    --remote-write https://metrics.example.com/api/v1/write --external-label cluster=prod-eu --slo 99.9

  # Remote write to a multi-tenant store as tenant team-a, with basic auth from Secret mimir-auth
  kubectl promteam create team-a -n team-a --remote-write https://mimir.example.com/api/v1/push \
    --remote-write-tenant team-a --remote-write-basic-auth mimir-auth

  # Two shards of two replicas each, one view of them through a Thanos Query, blocks uploaded
  kubectl promteam create big-team -n big-team --shards 2 --thanos --thanos-objstore objstore/thanos.yaml

  # What the flags chose, in plain language
  kubectl promteam create team-a --explain`

// NewCmdCreate builds `create TEAM`.
func NewCmdCreate(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := NewCreateOptions(streams, configFlags)
	var presetHelp strings.Builder
	for _, p := range strings.Split(manifests.PresetNames(), ", ") {
		fmt.Fprintf(&presetHelp, "  %-14s %s\n", p, manifests.PresetDescription(manifests.Preset(p)))
	}
	cmd := &cobra.Command{
		Use:   "create TEAM [flags]",
		Short: "Print or apply a team's Prometheus Operator stack",
		Long: fmt.Sprintf(createLong, presetHelp.String(),
			promql.RecordRequestRate, promql.RecordResponseRate, promql.RecordNot5xxRate,
			promql.Record5xxRate, promql.Record4xxRate, promql.RecordErrorRatio(promql.RuleWindow),
			promql.RecordLatencyBucketsMs, promql.RecordLatencyBucketsSeconds, promql.RecordActiveRequests),
		Example:           createExample,
		Args:              exactlyOneArg("team name"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.output.add(cmd, "yaml is a multi-document stream, json one v1 List")
	o.AddFlags(cmd.Flags())
	o.AddApplyFlags(cmd)
	addTimeoutFlag(cmd.Flags(), &o.timeout)
	o.registerCompletions(cmd)
	return cmd
}

// AddFlags binds every create flag to o, with o's values as defaults.
func (o *CreateOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.explain, "explain", o.explain, "Print a plain-language account of the stack and the choices the flags made instead of the objects")

	fs.StringSliceVar(&o.presets, "envoy", o.presets, "Envoy scrape preset, repeatable: "+manifests.PresetNames())
	fs.StringVar(&o.envoySelector, "envoy-selector", o.envoySelector, "Label selector for the Envoy pods (or, for emissary, the admin Service) instead of the preset's, e.g. app=edge-envoy")
	fs.StringVar(&o.envoyNamespace, "envoy-namespace", o.envoyNamespace, "Namespace where the Envoy pods run, if not the team's: adds a Role and RoleBinding there and points the monitors at it")
	fs.BoolVar(&o.clusterScope, "cluster-scope", o.clusterScope, "Let the monitors discover Envoy in every namespace: uses a ClusterRole and ClusterRoleBinding instead of Roles (needs cluster-admin to apply)")

	fs.StringVar(&o.retention, "retention", o.retention, "How long Prometheus keeps data, a Prometheus duration such as 15d or 1w2d (the operator's own default is 24h)")
	fs.StringVar(&o.retentionSize, "retention-size", o.retentionSize, "Delete old data once the TSDB is this big, e.g. 16Gi or 16GiB (default 80% of --storage)")
	fs.StringVar(&o.storage, "storage", o.storage, "Size of each replica's PersistentVolumeClaim in binary units (20Gi, not 20G); 0 keeps data in an emptyDir that is lost on restart")
	fs.StringVar(&o.storageClass, "storage-class", o.storageClass, "StorageClass of the volume claims (default: the cluster's default class); NFS-like storage is not supported by Prometheus")
	fs.Int32Var(&o.replicas, "replicas", o.replicas, "Prometheus replicas, each scraping everything; more than 1 adds a PodDisruptionBudget")
	fs.Int32Var(&o.shards, "shards", o.shards, "Split targets across this many Prometheus shards (each with --replicas pods); only for very large teams, and only with --thanos or --remote-write to see them as one")
	fs.StringVar(&o.cpu, "cpu", o.cpu, "CPU request of each Prometheus pod")
	fs.StringVar(&o.memory, "memory", o.memory, "Memory request of each Prometheus pod, in binary units (512Mi, not 512M)")
	fs.StringVar(&o.memoryLimit, "memory-limit", o.memoryLimit, "Memory limit of each Prometheus pod, in binary units (Prometheus 3 sets GOMEMLIMIT from it); 0 for none")
	fs.StringVar(&o.scrapeInterval, "scrape-interval", o.scrapeInterval, "Default scrape interval for the team's monitors")
	fs.StringVar(&o.envoyScrapeInterval, "envoy-scrape-interval", o.envoyScrapeInterval, "Scrape interval of the Envoy monitors; at most 75s so the 5m rules see four samples")
	fs.StringVar(&o.evaluationInterval, "evaluation-interval", o.evaluationInterval, "How often recording and alerting rules are evaluated: at most half the 5m rule window (2m30s), and with --slo half the 2m for of the fastest burn-rate alert (1m)")
	fs.StringArrayVar(&o.remoteWrite, "remote-write", o.remoteWrite, "Also send samples to this remote-write URL, repeatable; put credentials in a Secret, not the URL")
	fs.StringVar(&o.remoteWriteTenant, "remote-write-tenant", o.remoteWriteTenant, "With --remote-write: the tenant of a multi-tenant store (Mimir, Cortex, Thanos Receive), sent as header "+manifests.TenantHeader)
	fs.StringVar(&o.remoteWriteBasic, "remote-write-basic-auth", o.remoteWriteBasic, "With --remote-write: SECRET, a Secret with keys username and password for basic auth")
	fs.StringVar(&o.remoteWriteBearer, "remote-write-bearer", o.remoteWriteBearer, "With --remote-write: SECRET/KEY of a Secret key holding a bearer token (instead of --remote-write-basic-auth)")
	fs.StringArrayVar(&o.externalLabels, "external-label", o.externalLabels, "Label name=value added to every series leaving this Prometheus, repeatable (team=TEAM is always set)")
	fs.StringVar(&o.prometheusVersion, "prometheus-version", o.prometheusVersion, "Prometheus release to run, pinned so operator upgrades do not upgrade it: v3, or v2.45.0 and later with --memory-limit 0 (Prometheus 2 sets no GOMEMLIMIT)")
	fs.Int64Var(&o.targetLimit, "target-limit", o.targetLimit, "Most targets one monitor may find, one per Envoy pod or sidecar (past it none of the monitor's targets are scraped); 0 for no limit; --envoy istio makes the default 1000")
	fs.Int64Var(&o.sampleLimit, "sample-limit", o.sampleLimit, "Most samples one scrape may bring after relabelling (past it the scrape fails); 0 for no limit")

	fs.StringVar(&o.slo, "slo", o.slo, "Availability objective in percent, e.g. 99.9: adds multiwindow burn-rate alerts on the 5xx ratio over 30 days")
	fs.BoolVar(&o.alerts, "alerts", o.alerts, "Add traffic-gated alerts (5xx ratio, p99 latency, open circuit breakers)")
	fs.BoolVar(&o.noAlerts, "no-alerts", o.noAlerts, "Only recording rules, no alerts (same as --alerts=false)")
	fs.BoolVar(&o.grafanaDashboard, "grafana-dashboard", o.grafanaDashboard, "Add a ConfigMap labelled grafana_dashboard=1 holding a RED dashboard for the Grafana sidecar")
	fs.BoolVar(&o.nativeHistograms, "native-histograms", o.nativeHistograms, "Scrape Envoy's latency as native histograms too (protobuf first, classic buckets kept for the rules); needs --prometheus-version v3.8.0 or later and the Prometheus Operator v0.93.1 or later")
	fs.BoolVar(&o.networkPolicy, "network-policy", o.networkPolicy, "Add a NetworkPolicy that admits port 9090 from the team namespace only (may block the API server's service proxy); with --thanos the sidecars' port 10901 from the Thanos Query only, and the Query's 10902 from the team namespace")

	fs.BoolVar(&o.thanos, "thanos", o.thanos, "Add a Thanos sidecar to every Prometheus pod and a Thanos Query of the team's own that merges the shards and deduplicates the replicas")
	fs.StringVar(&o.thanosVersion, "thanos-version", o.thanosVersion, "With --thanos: the Thanos release the sidecars and the Query run, pinned")
	fs.StringVar(&o.thanosImage, "thanos-image", o.thanosImage, "With --thanos: the image of the sidecars and the Query, pinned by tag or digest, such as a registry mirror's (default "+manifests.ThanosImageRepository+":<--thanos-version>)")
	fs.StringVar(&o.thanosObjstore, "thanos-objstore", o.thanosObjstore, "With --thanos: SECRET/KEY of a Secret key holding a Thanos objstore YAML; the sidecars upload every block there and --retention becomes local retention")
	fs.Int32Var(&o.thanosQueryReplicas, "thanos-query-replicas", o.thanosQueryReplicas, "With --thanos: Thanos Query replicas; more than 1 adds a PodDisruptionBudget")

	fs.StringVar(&o.alertmanager, "alertmanager", o.alertmanager, "Where the alerts go: own (an Alertmanager of the team's own) or NAMESPACE/NAME of the platform's Alertmanager resource; without it they reach nobody")
	fs.StringVar(&o.alertmanagerService, "alertmanager-service", o.alertmanagerService, "With --alertmanager NAMESPACE/NAME: the Service in front of its pods, port web")
	fs.StringArrayVar(&o.alertmanagerLabels, "alertmanager-config-label", o.alertmanagerLabels, "With --alertmanager NAMESPACE/NAME: label key=value its alertmanagerConfigSelector matches, put on the team's AlertmanagerConfig; repeatable")
	fs.StringVar(&o.alertmanagerVersion, "alertmanager-version", o.alertmanagerVersion, "With --alertmanager own: the Alertmanager release to run, pinned")
	fs.StringArrayVar(&o.notify, "notify", o.notify, "Receiver of the team's alerts, repeatable: slack=SECRET/KEY[,channel=NAME], pagerduty=SECRET/KEY, webhook=SECRET/KEY, msteams=SECRET/KEY "+
		"or email=ADDRESS,smarthost=HOST:PORT,from=ADDRESS[,username=NAME,password=SECRET/KEY]; add severity=critical|warning|all (default all; pagerduty critical). The Secret key holds the URL, key or password")
	fs.StringVar(&o.runbookURL, "runbook-url", o.runbookURL, "Runbook of every alert: {alert} is replaced by the alert's name, otherwise #<alert name> is appended (default: the alert's section of docs/alerts.md)")
}

// AddApplyFlags binds the flags that send the stack to the cluster.
func (o *CreateOptions) AddApplyFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&o.apply, "apply", o.apply, "Apply the stack with server-side apply (field manager kubectl-promteam) after checking the permissions it needs")
	addDryRunFlag(cmd, &o.dryRun, "with --apply, client sends nothing and server has the API server validate and admit without storing")
	fs.BoolVar(&o.createNamespace, "create-namespace", o.createNamespace, "With --apply: create the namespace if it does not exist")
	fs.BoolVar(&o.forceConflicts, "force-conflicts", o.forceConflicts, "With --apply: take over fields another field manager owns")
}

func (o *CreateOptions) registerCompletions(cmd *cobra.Command) {
	noFiles := cobra.ShellCompDirectiveNoFileComp
	_ = cmd.RegisterFlagCompletionFunc("envoy", cobra.FixedCompletions(strings.Split(manifests.PresetNames(), ", "), noFiles))
	_ = cmd.RegisterFlagCompletionFunc("envoy-namespace", namespaceCompletion(o.configFlags))
	for _, name := range []string{"retention", "scrape-interval", "envoy-scrape-interval", "evaluation-interval", "remote-write", "remote-write-tenant", "remote-write-basic-auth", "remote-write-bearer"} {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
}

// Complete turns the flags and the team argument into a TeamSpec. Every value is parsed here,
// before anything is printed.
func (o *CreateOptions) Complete(cmd *cobra.Command, args []string) error {
	ns, err := namespaceOf(o.configFlags)
	if err != nil {
		return err
	}
	s := manifests.DefaultTeamSpec(args[0], ns)
	if err := manifests.ValidateTeamName(s.Team, o.shards); err != nil {
		return &manifests.FieldError{Value: s.Team, Reason: err.Error()}
	}
	fail := func(flag, value string, err error) error {
		return &manifests.FieldError{Field: flag, Value: value, Reason: err.Error()}
	}
	if s.Presets, err = manifests.ParsePresets(o.presets); err != nil {
		return fail("envoy", strings.Join(o.presets, ","), err)
	}
	if o.envoySelector != "" {
		if s.EnvoySelector, err = manifests.ParseSelector(o.envoySelector); err != nil {
			return fail("envoy-selector", o.envoySelector, err)
		}
	}
	if o.envoyNamespace != "" && o.envoyNamespace != ns {
		if err := manifests.ValidateNamespace(o.envoyNamespace); err != nil {
			return fail("envoy-namespace", o.envoyNamespace, err)
		}
		s.EnvoyNamespace = o.envoyNamespace
	}
	s.ClusterScope = o.clusterScope
	for _, d := range []struct {
		flag  string
		value string
		into  *monitoringv1.Duration
		parse func(string) (monitoringv1.Duration, error)
	}{
		{"retention", o.retention, &s.Retention, manifests.ParseDuration},
		{"scrape-interval", o.scrapeInterval, &s.ScrapeInterval, manifests.ParseInterval},
		{"envoy-scrape-interval", o.envoyScrapeInterval, &s.EnvoyScrapeInterval, manifests.ParseInterval},
		{"evaluation-interval", o.evaluationInterval, &s.EvaluationInterval, manifests.ParseInterval},
	} {
		v, err := d.parse(d.value)
		if err != nil {
			return fail(d.flag, d.value, err)
		}
		*d.into = v
	}
	if s.Storage, err = manifests.ParseStorage(o.storage); err != nil {
		return fail("storage", o.storage, err)
	}
	if o.retentionSize != "" {
		if s.RetentionSize, err = manifests.ParseByteSize(o.retentionSize); err != nil {
			return fail("retention-size", o.retentionSize, err)
		}
	}
	s.StorageClass = o.storageClass
	s.TargetLimit, s.SampleLimit = o.targetLimit, o.sampleLimit
	if !cmd.Flags().Changed("target-limit") && slices.Contains(s.Presets, manifests.PresetIstio) {
		// Istio's monitor finds a target per sidecar: every pod of the mesh the stack watches.
		s.TargetLimit = manifests.DefaultIstioTargetLimit
	}
	s.Replicas, s.Shards = o.replicas, o.shards
	if s.CPU, err = manifests.ParseCPU(o.cpu); err != nil {
		return fail("cpu", o.cpu, err)
	}
	if s.Memory, err = manifests.ParseMemory(o.memory, false); err != nil {
		return fail("memory", o.memory, err)
	}
	if s.MemoryLimit, err = manifests.ParseMemory(o.memoryLimit, true); err != nil {
		return fail("memory-limit", o.memoryLimit, err)
	}
	for _, u := range o.remoteWrite {
		if _, err := manifests.ParseRemoteWriteURL(u); err != nil {
			return fail("remote-write", u, err)
		}
		s.RemoteWrite = append(s.RemoteWrite, u)
	}
	if err := o.completeRemoteWrite(cmd, &s); err != nil {
		return err
	}
	for _, pair := range o.externalLabels {
		k, v, err := manifests.ParseLabelPair(pair)
		if err != nil {
			return fail("external-label", pair, err)
		}
		if s.ExternalLabels == nil {
			s.ExternalLabels = map[string]string{}
		}
		if _, dup := s.ExternalLabels[k]; dup {
			return fail("external-label", pair, fmt.Errorf("%q is given twice", k))
		}
		s.ExternalLabels[k] = v
	}
	if s.PrometheusVersion, err = manifests.ParsePrometheusVersion(o.prometheusVersion); err != nil {
		return fail("prometheus-version", o.prometheusVersion, err)
	}
	if o.slo != "" {
		if s.SLO, err = manifests.ParseSLO(o.slo); err != nil {
			return fail("slo", o.slo, err)
		}
	}
	if cmd.Flags().Changed("alerts") && o.alerts && o.noAlerts {
		return fail("no-alerts", "true", errors.New("contradicts --alerts; use one of the two"))
	}
	s.Alerts = o.alerts && !o.noAlerts
	s.GrafanaDashboard = o.grafanaDashboard
	s.NetworkPolicy = o.networkPolicy
	s.NativeHistograms = o.nativeHistograms
	if s.Alerting, err = o.completeAlerting(cmd); err != nil {
		return err
	}
	if s.Thanos, err = o.completeThanos(cmd); err != nil {
		return err
	}
	if o.runbookURL != "" {
		if s.RunbookURL, err = manifests.ParseRunbookURL(o.runbookURL); err != nil {
			return fail("runbook-url", o.runbookURL, err)
		}
	}
	o.spec = s
	return nil
}

// completeRemoteWrite parses the tenant and the credentials of the remote writes; without
// --remote-write they are refused rather than ignored.
func (o *CreateOptions) completeRemoteWrite(cmd *cobra.Command, s *manifests.TeamSpec) error {
	fail := func(flag, value string, err error) error {
		return &manifests.FieldError{Field: flag, Value: value, Reason: err.Error()}
	}
	for _, flag := range []string{"remote-write-tenant", "remote-write-basic-auth", "remote-write-bearer"} {
		if f := cmd.Flags().Lookup(flag); f != nil && f.Changed && len(o.remoteWrite) == 0 {
			return fail(flag, f.Value.String(), errors.New("only applies with --remote-write; add --remote-write URL"))
		}
	}
	var err error
	if cmd.Flags().Changed("remote-write-tenant") {
		if s.RemoteWriteTenant, err = manifests.ParseTenant(o.remoteWriteTenant); err != nil {
			return fail("remote-write-tenant", o.remoteWriteTenant, err)
		}
	}
	if cmd.Flags().Changed("remote-write-basic-auth") {
		if s.RemoteWriteAuth.BasicAuth, err = manifests.ParseBasicAuthSecret(o.remoteWriteBasic); err != nil {
			return fail("remote-write-basic-auth", o.remoteWriteBasic, err)
		}
	}
	if cmd.Flags().Changed("remote-write-bearer") {
		if s.RemoteWriteAuth.Bearer, err = manifests.ParseBearerSecret(o.remoteWriteBearer); err != nil {
			return fail("remote-write-bearer", o.remoteWriteBearer, err)
		}
		if s.RemoteWriteAuth.BasicAuth != "" {
			return fail("remote-write-bearer", o.remoteWriteBearer, errors.New("contradicts --remote-write-basic-auth: a remote write sends one kind of credentials; use one of the two"))
		}
	}
	return nil
}

// completeAlerting parses where the alerts go and whom they notify.
func (o *CreateOptions) completeAlerting(cmd *cobra.Command) (manifests.Alerting, error) {
	fail := func(flag, value string, err error) (manifests.Alerting, error) {
		return manifests.Alerting{}, &manifests.FieldError{Field: flag, Value: value, Reason: err.Error()}
	}
	a := manifests.Alerting{AlertmanagerVersion: manifests.DefaultAlertmanagerVersion}
	if o.alertmanager != "" {
		var err error
		if a.Delivery, a.Namespace, a.Name, err = manifests.ParseAlertmanager(o.alertmanager); err != nil {
			return fail("alertmanager", o.alertmanager, err)
		}
	}
	// The flags of the other delivery are refused rather than ignored.
	for flag, only := range map[string]manifests.Delivery{
		"alertmanager-service": manifests.DeliverShared, "alertmanager-config-label": manifests.DeliverShared,
		"alertmanager-version": manifests.DeliverOwn,
	} {
		if f := cmd.Flags().Lookup(flag); f != nil && f.Changed && a.Delivery != only {
			want := "NAMESPACE/NAME"
			if only == manifests.DeliverOwn {
				want = manifests.AlertmanagerOwn
			}
			return fail(flag, f.Value.String(), fmt.Errorf("only applies with --alertmanager %s", want))
		}
	}
	if a.Delivery == manifests.DeliverOwn {
		v, err := manifests.ParseAlertmanagerVersion(o.alertmanagerVersion)
		if err != nil {
			return fail("alertmanager-version", o.alertmanagerVersion, err)
		}
		a.AlertmanagerVersion = v
	}
	if a.Delivery == manifests.DeliverShared {
		a.Service = o.alertmanagerService
		o.serviceGiven = cmd.Flags().Changed("alertmanager-service")
		for _, pair := range o.alertmanagerLabels {
			k, v, ok := strings.Cut(pair, "=")
			if !ok || k == "" {
				return fail("alertmanager-config-label", pair, errors.New("use key=value, a label the Alertmanager's alertmanagerConfigSelector matches, such as alertmanagerConfig=main"))
			}
			if a.ConfigLabels == nil {
				a.ConfigLabels = map[string]string{}
			}
			if _, dup := a.ConfigLabels[k]; dup {
				return fail("alertmanager-config-label", pair, fmt.Errorf("%q is given twice", k))
			}
			a.ConfigLabels[k] = v
		}
	}
	for _, n := range o.notify {
		r, err := manifests.ParseReceiver(n)
		if err != nil {
			return fail("notify", n, err)
		}
		a.Receivers = append(a.Receivers, r)
	}
	return a, nil
}

// completeThanos parses the Thanos flags; without --thanos they are refused rather than ignored.
func (o *CreateOptions) completeThanos(cmd *cobra.Command) (manifests.Thanos, error) {
	fail := func(flag, value string, err error) (manifests.Thanos, error) {
		return manifests.Thanos{}, &manifests.FieldError{Field: flag, Value: value, Reason: err.Error()}
	}
	t := manifests.Thanos{Enabled: o.thanos, Version: manifests.DefaultThanosVersion, QueryReplicas: manifests.DefaultThanosQueryReplicas}
	if !o.thanos {
		for _, flag := range []string{"thanos-objstore", "thanos-version", "thanos-image", "thanos-query-replicas"} {
			if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
				return fail(flag, f.Value.String(), manifests.ErrOnlyWithThanos)
			}
		}
		return t, nil
	}
	var err error
	if t.Version, err = manifests.ParseThanosVersion(o.thanosVersion); err != nil {
		return fail("thanos-version", o.thanosVersion, err)
	}
	if o.thanosImage != "" {
		if err := manifests.ValidateThanosImage(o.thanosImage, t.Version); err != nil {
			return fail("thanos-image", o.thanosImage, err)
		}
		t.Image = o.thanosImage
	}
	if o.thanosObjstore != "" {
		if t.ObjectStorage, err = manifests.ParseThanosObjstore(o.thanosObjstore); err != nil {
			return fail("thanos-objstore", o.thanosObjstore, err)
		}
	}
	if o.thanosQueryReplicas < 1 {
		return fail("thanos-query-replicas", fmt.Sprint(o.thanosQueryReplicas), errors.New("use 1 or more"))
	}
	t.QueryReplicas = o.thanosQueryReplicas
	return t, nil
}

// Validate checks the options as a whole.
func (o *CreateOptions) Validate() error {
	if !o.apply {
		// Printing is a client dry run already; a server dry run needs something to send.
		if o.dryRun.mode == kube.DryRunServer {
			return &manifests.FieldError{Field: "dry-run", Value: o.dryRun.String(), Reason: "asks the API server to check what --apply would send; add --apply"}
		}
		for flag, set := range map[string]bool{"create-namespace": o.createNamespace, "force-conflicts": o.forceConflicts} {
			if set {
				return &manifests.FieldError{Field: flag, Value: "true", Reason: "only applies with --apply"}
			}
		}
	}
	if err := validateTimeout(o.timeout); err != nil {
		return err
	}
	if o.apply && o.explain {
		return &manifests.FieldError{Field: "explain", Value: "true", Reason: "prints instead of applying; drop --apply or --explain"}
	}
	if a := o.spec.Alerting; a.Delivery == manifests.DeliverShared && len(a.Receivers) > 0 && len(a.ConfigLabels) == 0 && !o.contactsCluster() {
		// An AlertmanagerConfig the Alertmanager does not select delivers nothing, silently.
		return &manifests.FieldError{Field: "alertmanager-config-label", Value: "",
			Reason: fmt.Sprintf("name a label the alertmanagerConfigSelector of %s/%s matches (kubectl get alertmanager -n %s %s -o jsonpath='{.spec.alertmanagerConfigSelector}'), such as --alertmanager-config-label alertmanagerConfig=%s",
				a.Namespace, a.Name, a.Namespace, a.Name, a.Name)}
	}
	return o.spec.Validate()
}

// Run builds the stack and prints it, or applies it. The whole output is built before anything
// is written, so a failure prints nothing.
func (o *CreateOptions) Run(ctx context.Context) error {
	stack, err := manifests.Build(o.spec)
	if err != nil {
		return err
	}
	if o.apply {
		return boundRun(ctx, o.configFlags, o.timeout, o.runApply)
	}
	if !o.explain {
		o.noteDelivery(o.spec.Secrets())
	}
	var buf bytes.Buffer
	switch {
	case o.explain:
		err = stack.Explain(&buf)
	case o.output.format() == formatJSON:
		err = stack.WriteJSON(&buf)
	default:
		err = stack.WriteYAML(&buf)
	}
	if err != nil {
		return err
	}
	_, err = o.Out.Write(buf.Bytes())
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
