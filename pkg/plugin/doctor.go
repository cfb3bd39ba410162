package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor/kubecluster"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor/promhttp"
)

// DoctorOptions holds the doctor flags.
type DoctorOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	team          string
	output        string
	prometheusURL string
	wait          time.Duration
}

// NewCmdDoctor builds `doctor TEAM`.
func NewCmdDoctor(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &DoctorOptions{configFlags: configFlags, IOStreams: streams, wait: doctor.DefaultReconcileWait}
	cmd := &cobra.Command{
		Use:   "doctor TEAM [flags]",
		Short: "Explain why a team's monitoring is broken, and how to fix it",
		Long: `Doctor checks a team's stack the way the Prometheus Operator's most common support questions go,
and prints one line per check (passed, failed or skipped, with the reason) and the exact fix for
every failure:

  api           the API server answers and the credentials work
  crds          the operator's CRDs are installed, and which operator version made them
  stack         the team's Prometheus exists
  reconciled    an operator reconciles it (no status at all: no operator watches the namespace)
  selectors     no null selector (null selects nothing, {} selects everything)
  selection     the selectors pick every monitor and rule of the team
  service       the Prometheus has its own Service, not the shared prometheus-operated
  ports         each monitor's port name exists on the pods or Services it selects
  rbac          the Prometheus ServiceAccount may discover where its monitors look
  storage       retention, volume and storage class
  podsecurity   the pods meet the namespace's Pod Security level
  rules         the rules are selected and the operator did not reject them
  targets       scrape targets are up (when Prometheus can be reached)
  envoy-series  Envoy's statistics arrive

Prometheus is reached through the API server's service proxy, or at --prometheus-url. The exit
status is 1 when a check failed.`,
		Example: `  kubectl promteam doctor team-a -n team-a
  kubectl promteam doctor team-a -n team-a -o json
  kubectl promteam doctor team-a -n team-a --prometheus-url http://localhost:9090`,
		Args:              exactlyOneArg("team name"),
		ValidArgsFunction: teamCompletion(configFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.team = args[0]
			if o.output != "" && o.output != "json" && o.output != "text" {
				return flagError("output", o.output, fmt.Errorf("use text or json"))
			}
			if o.wait < 0 {
				return flagError("wait", o.wait.String(), fmt.Errorf("use 0 or more, e.g. 30s"))
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", o.output, "Output format: text (default) or json")
	cmd.Flags().StringVar(&o.prometheusURL, "prometheus-url", o.prometheusURL, "Reach the team's Prometheus here instead of through the API server's service proxy")
	cmd.Flags().DurationVar(&o.wait, "wait", o.wait, "How long to wait for the operator to report on a Prometheus without status")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Run checks the stack and prints the report; the exit status is 1 when a check failed.
func (o *DoctorOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ns, err := namespaceOf(o.configFlags)
	if err != nil {
		return err
	}
	cfg, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("cannot read the kubeconfig: %v", firstLine(err.Error()))
	}
	cluster, err := kubecluster.New(cfg)
	if err != nil {
		return err
	}
	prom, err := o.prometheus(cfg, ns)
	if err != nil {
		return err
	}
	if isTerminal(o.ErrOut) && o.output != "json" {
		fmt.Fprintf(o.ErrOut, "Checking team %s in namespace %s…\n", o.team, ns)
	}
	report := doctor.Run(ctx, cluster, prom, o.team, ns, doctor.Options{ReconcileWait: o.wait})
	if o.output == "json" {
		out, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(o.Out, "%s\n", out); err != nil {
			return err
		}
	} else if err := report.WriteText(o.Out, isTerminal(o.Out) && !noColor()); err != nil {
		return err
	}
	if report.Failed() {
		return &ExitError{Code: 1}
	}
	return nil
}

// prometheus reaches the team's Prometheus at --prometheus-url or through the API server's
// service proxy to the stack's own Service.
func (o *DoctorOptions) prometheus(cfg *rest.Config, ns string) (doctor.Prometheus, error) {
	if o.prometheusURL != "" {
		p, err := promhttp.New(o.prometheusURL, nil)
		if err != nil {
			return nil, flagError("prometheus-url", o.prometheusURL, err)
		}
		return p, nil
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	base := cfg.Host + "/api/v1/namespaces/" + url.PathEscape(ns) + "/services/" + url.PathEscape("prometheus-"+o.team) + ":web/proxy"
	return promhttp.New(base, rt)
}
