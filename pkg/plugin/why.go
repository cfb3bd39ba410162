package plugin

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor/kubecluster"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// WhyOptions holds the why flags: doctor's, and what to follow.
type WhyOptions struct {
	DoctorOptions

	subject doctor.Subject
	// envoyNamespace is --envoy-namespace: where the Service or pod lives.
	envoyNamespace string
}

// NewWhyOptions returns the options with their defaults.
func NewWhyOptions(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *WhyOptions {
	return &WhyOptions{DoctorOptions: *NewDoctorOptions(streams, configFlags)}
}

// NewCmdWhy builds `why TEAM KIND/NAME`.
func NewCmdWhy(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := NewWhyOptions(streams, configFlags)
	cmd := &cobra.Command{
		Use:   "why TEAM (service|pod|metric|alert)/NAME [flags]",
		Short: "Follow one Service, pod, metric or alert through a team's stack to the first broken link",
		Long: `Why answers "why is my target, metric or alert not there?" for one named thing. It follows the
thing through the chain the Prometheus Operator builds, link by link, and stops at the first broken
link with the fix; the links after it are shown as not followed. On a healthy chain every link
passes.

  service/NAME, pod/NAME (in the namespace where the team's Envoy runs, or --envoy-namespace):
    stack      the team's Prometheus exists and an operator reconciles it
    object     the Service (and the pods it selects) or the pod exists and has an IP
    monitor    a PodMonitor or ServiceMonitor of the team selects it: its labels (wrong label)
               and its namespace (namespace not selected)
    port       the port the monitor names exists on the pods or the Service (wrong port name)
    selected   the Prometheus selects the monitor: its selector and namespace selector, and the
               operator's status bindings where the operator reports them
    rbac       the Prometheus ServiceAccount may get, list and watch pods, services and
               endpoints there (missing RBAC)
    target     Prometheus has its target, and the last scrape succeeded (target down, with the
               scrape's error: sample limit, timeout, 404, refused)
    series     the scrapes keep series (not all dropped by metricRelabelings)
    rules      the team's rules that read them are loaded and evaluate
  metric/NAME:
    stack, selected (the Prometheus selects the team's monitors), target (at least one target
    up), series (series of NAME exist now; if not, the metricRelabelings rule that drops NAME, or
    the recording rule that should record it), rules (the rules that read NAME are loaded)
  alert/NAME:
    stack, rule (a PrometheusRule of the team defines it), selected (the Prometheus selects that
    PrometheusRule and the operator did not reject it), loaded (Prometheus loaded the alert and
    evaluates it without error), series (the metrics its expression reads have series now),
    state (inactive, pending or firing)

Prometheus is reached as doctor reaches it (port-forward, --via-proxy, --prometheus-url; its
Thanos Query for a stack with one). When it cannot be reached the live links are skipped with the
reason. The exit status is 1 when a link is broken and 2 on error.`,
		Example: `  kubectl promteam why team-a service/envoy -n team-a
  kubectl promteam why team-a pod envoy-7d9f8-x2x4z -n team-a
  kubectl promteam why team-a metric/envoy_cluster_upstream_rq_total -n team-a
  kubectl promteam why team-a alert/EnvoyUpstreamHigh5xxRatio -n team-a -o json`,
		Annotations:       map[string]string{errorExitAnnotation: strconv.Itoa(doctorErrorExit)},
		Args:              whyArgs,
		ValidArgsFunction: whyCompletion(configFlags),
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
	o.AddFlags(cmd.Flags())
	o.output.add(cmd, "table is a line per link and the fix for the broken one")
	return cmd
}

// whyArgs takes TEAM and KIND/NAME, or TEAM, KIND and NAME.
func whyArgs(cmd *cobra.Command, args []string) error {
	if len(args) < 2 || len(args) > 3 {
		return fmt.Errorf("%s takes a team and what to follow, e.g. service/envoy, got %d arguments (%s): %s",
			cmd.CommandPath(), len(args), strings.Join(args, " "), cmd.UseLine())
	}
	return nil
}

// whyCompletion completes the team, then the kinds of subject and, once a kind is typed, the
// names of the pods, Services or alerts there are (in --envoy-namespace, else the namespace).
func whyCompletion(flags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	teams := teamCompletion(flags)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return teams(cmd, args, toComplete)
		case 1:
			kind, _, typed := strings.Cut(toComplete, "/")
			if !typed {
				var out []string
				for _, k := range doctor.SubjectKinds {
					out = append(out, string(k)+"/")
				}
				return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
			}
			names := subjectNames(cmd, flags, args[0], kind)
			out := make([]string, 0, len(names))
			for _, n := range names {
				out = append(out, kind+"/"+n)
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// subjectNames lists the names of one kind of subject for completion: pods or Services in
// --envoy-namespace (else the namespace), or the alerts the team's PrometheusRules define.
// Lookups that fail list nothing.
func subjectNames(cmd *cobra.Command, flags *genericclioptions.ConfigFlags, team, kind string) []string {
	k, ok := doctor.ParseSubjectKind(kind)
	if !ok || k == doctor.SubjectMetric {
		return nil
	}
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil
	}
	if f := cmd.Flags().Lookup("envoy-namespace"); f != nil && f.Value.String() != "" && k != doctor.SubjectAlert {
		ns = f.Value.String()
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil
	}
	cfg.Timeout = completionTimeout
	c, err := kubecluster.New(cfg)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(cmdContext(cmd), completionTimeout)
	defer cancel()
	names := map[string]bool{}
	switch k {
	case doctor.SubjectPod:
		pods, _ := c.ListPods(ctx, ns, nil)
		for _, p := range pods {
			names[p.Name] = true
		}
	case doctor.SubjectService:
		services, _ := c.ListServices(ctx, ns, nil)
		for _, svc := range services {
			names[svc.Name] = true
		}
	case doctor.SubjectAlert:
		rules, _ := c.ListPrometheusRules(ctx, ns, labels.SelectorFromSet(labels.Set{manifests.LabelTeam: team}))
		for _, r := range rules {
			for _, g := range r.Spec.Groups {
				for _, rule := range g.Rules {
					names[rule.Alert] = true
				}
			}
		}
	}
	return sortedNames(names)
}

// AddFlags binds the why flags.
func (o *WhyOptions) AddFlags(fs *pflag.FlagSet) {
	o.DoctorOptions.AddFlags(fs)
	fs.StringVar(&o.envoyNamespace, "envoy-namespace", "", "Where the Service or pod lives (default: where the team's Envoy runs, as create was told)")
}

// Complete reads the team and the subject.
func (o *WhyOptions) Complete(cmd *cobra.Command, args []string) error {
	if err := o.DoctorOptions.Complete(cmd, args[:1]); err != nil {
		return err
	}
	kind, name := args[1], ""
	if len(args) == 3 {
		name = args[2]
	}
	s, err := doctor.ParseSubject(kind, name)
	if err != nil {
		return fmt.Errorf("invalid subject %q: %w", strings.Join(args[1:], " "), err)
	}
	o.subject = s
	return nil
}

// Validate checks doctor's flags and --envoy-namespace.
func (o *WhyOptions) Validate() error {
	if o.envoyNamespace != "" {
		if errs := validation.IsDNS1123Label(o.envoyNamespace); len(errs) > 0 {
			return flagError("envoy-namespace", o.envoyNamespace, fmt.Errorf("%s; name a namespace, e.g. shop", errs[0]))
		}
		if o.subject.Kind != doctor.SubjectService && o.subject.Kind != doctor.SubjectPod {
			return flagError("envoy-namespace", o.envoyNamespace, fmt.Errorf("it names where a Service or pod lives; %s has no namespace", o.subject))
		}
		o.subject.Namespace = o.envoyNamespace
	}
	return o.DoctorOptions.Validate()
}

// Run follows the subject and prints the trace, within --timeout; the exit status is
// doctorFailedExit when a link is broken.
func (o *WhyOptions) Run(ctx context.Context) error {
	return o.diagnose(ctx, fmt.Sprintf("Following %s through team %s", o.subject, o.team), func(ctx context.Context, c doctor.Cluster, live doctorLive, ns string) diagnosis {
		t := doctor.Why(ctx, c, live.prometheus, o.team, ns, o.subject, doctor.Options{ReconcileWait: o.wait})
		t.Backend = live.backend
		return t
	})
}
