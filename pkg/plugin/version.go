package plugin

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Set at build time with -ldflags "-X github.com/kubectl-promteam/kubectl-promteam/pkg/plugin.version=…".
var (
	version = ""
	commit  = ""
	date    = ""
)

// BuildInfo is what `version` reports.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
}

// currentBuild fills what the linker did not stamp from the Go build information, so `go install`
// and `go run` builds still say something true.
func currentBuild() BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, Date: date}
	if info, ok := debug.ReadBuildInfo(); ok {
		b.GoVersion = info.GoVersion
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.Date == "":
				b.Date = s.Value
			}
		}
	}
	for _, f := range []*string{&b.Version, &b.Commit, &b.Date} {
		if *f == "" {
			*f = "unknown"
		}
	}
	if b.Version == "unknown" {
		b.Version = "dev"
	}
	return b
}

// NewCmdVersion prints the version, commit and build date.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	output := newOutputFlag(formatTable, formatJSON, formatYAML)
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			b := currentBuild()
			if output.structured() {
				return writeDocument(streams.Out, output.format(), b)
			}
			_, err := fmt.Fprintf(streams.Out, "kubectl-promteam %s (commit %s, built %s, %s)\n", b.Version, b.Commit, b.Date, b.GoVersion)
			return err
		},
	}
	output.add(cmd, "table is one line")
	return cmd
}
