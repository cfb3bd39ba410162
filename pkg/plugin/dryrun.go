package plugin

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// dryRunFlag is kubectl's --dry-run: none, client or server, and a bare --dry-run means client.
// Every command that changes the cluster takes it the same way.
type dryRunFlag struct{ mode kube.DryRun }

var dryRunModes = []string{kube.DryRunNone.String(), kube.DryRunClient.String(), kube.DryRunServer.String()}

// addDryRunFlag registers --dry-run on cmd with its completion.
func addDryRunFlag(cmd *cobra.Command, f *dryRunFlag, help string) {
	flag := cmd.Flags().VarPF(f, "dry-run", "", "Dry run: "+orList(dryRunModes)+" (a bare --dry-run means client); "+help)
	flag.NoOptDefVal = kube.DryRunClient.String()
	_ = cmd.RegisterFlagCompletionFunc("dry-run", cobra.FixedCompletions(dryRunModes, cobra.ShellCompDirectiveNoFileComp))
}

func (f *dryRunFlag) String() string { return f.mode.String() }
func (f *dryRunFlag) Type() string   { return "string" }

func (f *dryRunFlag) Set(s string) error {
	for _, m := range []kube.DryRun{kube.DryRunNone, kube.DryRunClient, kube.DryRunServer} {
		if s == m.String() {
			f.mode = m
			return nil
		}
	}
	return fmt.Errorf("unknown dry-run mode")
}

// accepted is the fix setFlagErrors prints for a value Set refused.
func (f *dryRunFlag) accepted() string { return "use " + orList(dryRunModes) }

// suffix is what a line about an object ends with in this mode.
func (f *dryRunFlag) suffix() string {
	switch f.mode {
	case kube.DryRunClient:
		return " (dry run)"
	case kube.DryRunServer:
		return " (server dry run)"
	}
	return ""
}
