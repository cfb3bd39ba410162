package plugin

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// trafficNamespaces are the namespaces top and compare select by. Three meanings, three flags:
//   - -n, kubectl's namespace, is the team's: where TEAM's Prometheus runs. Without a TEAM it
//     would mean nothing, so it is refused rather than silently read as one of the others.
//   - --envoy-namespace selects the Envoy pods that report (their series' namespace label).
//   - --service-namespace (top only) selects the upstream services shown, the NAMESPACE column.
type trafficNamespaces struct {
	configFlags *genericclioptions.ConfigFlags
	envoy       string
	service     string
	withService bool
	// namespace is -n when given.
	namespace string
}

func (n *trafficNamespaces) AddFlags(fs *pflag.FlagSet, withService bool) {
	n.withService = withService
	fs.StringVar(&n.envoy, "envoy-namespace", n.envoy, "Read only the Envoys running in this namespace (the pods' namespace, not the services')")
	if withService {
		fs.StringVar(&n.service, "service-namespace", n.service, "Show only the upstream services of this namespace (the NAMESPACE column)")
	}
}

// Complete reads -n when it is given on the command line.
func (n *trafficNamespaces) Complete(cmd *cobra.Command) {
	if f := cmd.Flags().Lookup("namespace"); f != nil && f.Changed && n.configFlags != nil && n.configFlags.Namespace != nil {
		n.namespace = *n.configFlags.Namespace
	}
}

// Validate checks the names and refuses -n without a TEAM.
func (n *trafficNamespaces) Validate(team string) error {
	if n.envoy != "" {
		if err := manifests.ValidateNamespace(n.envoy); err != nil {
			return flagError("envoy-namespace", n.envoy, err)
		}
	}
	if n.service != "" {
		if err := manifests.ValidateNamespace(n.service); err != nil {
			return flagError("service-namespace", n.service, err)
		}
	}
	if n.namespace != "" && team == "" {
		hint := fmt.Sprintf("for the Envoys running in namespace %[1]s use --envoy-namespace %[1]s", n.namespace)
		if n.withService {
			hint = fmt.Sprintf("to show the services of namespace %[1]s use --service-namespace %[1]s, %[2]s", n.namespace, hint)
		}
		return flagError("namespace", n.namespace, errors.New("-n is the namespace of TEAM's Prometheus and needs a TEAM (TEAM -n NAMESPACE); "+hint))
	}
	return nil
}

// selector selects the Envoys' series.
func (n *trafficNamespaces) selector() promql.Selector {
	if n.envoy == "" {
		return promql.Everything
	}
	return promql.Namespace(n.envoy)
}
