package plugin

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"
)

// convention is what CONTRIBUTING.md's "Command conventions" promise of one command.
type convention struct {
	// formats are the -o formats, the default first; none means the command has no -o.
	formats []string
	// errorExit is the exit status of every error, usage errors included.
	errorExit int
	// dryRun: the command changes the cluster and takes kubectl's --dry-run.
	dryRun bool
	// args is a complete invocation that needs no cluster, for the checks of each -o format; nil
	// when every invocation needs one (those formats are proven against the API server in the
	// cluster tests).
	args []string
	// valid is an invocation whose arguments are right, for the checks of flags and -o.
	valid []string
	// tooMany has one positional argument too many; nil for a command that takes any number.
	tooMany []string
}

var demoArms = []string{"--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080"}

var conventions = map[string]convention{
	"alerts": {formats: []string{"table", "wide", "json", "yaml"}, errorExit: 1, valid: []string{"alerts", "team-a"}, tooMany: []string{"alerts", "a", "b"}},
	"alerts test": {formats: []string{"table", "wide", "json", "yaml"}, errorExit: alertsTestErrorExit,
		args:  []string{"alerts", "test", "team-a", "-n", "team-a", "--labels", "severity=critical", "--config-file", operatorConfig},
		valid: []string{"alerts", "test", "team-a", "--labels", "severity=critical"}, tooMany: []string{"alerts", "test", "a", "b", "--labels", "a=b"}},
	"create":       {formats: []string{"yaml", "json"}, errorExit: 1, dryRun: true, args: []string{"create", "team-a", "-n", "team-a"}, valid: []string{"create", "team-a"}, tooMany: []string{"create", "a", "b"}},
	"diff":         {errorExit: diffErrorExit, valid: []string{"diff", "team-a"}, tooMany: []string{"diff", "a", "b"}},
	"list":         {formats: []string{"table", "wide", "json", "yaml"}, errorExit: 1, valid: []string{"list"}, tooMany: []string{"list", "a"}},
	"delete":       {errorExit: 1, dryRun: true, valid: []string{"delete", "team-a"}, tooMany: []string{"delete", "a", "b"}},
	"doctor":       {formats: []string{"table", "json", "yaml"}, errorExit: doctorErrorExit, valid: []string{"doctor", "team-a"}, tooMany: []string{"doctor", "a", "b"}},
	"why":          {formats: []string{"table", "json", "yaml"}, errorExit: doctorErrorExit, valid: []string{"why", "team-a", "service/envoy"}, tooMany: []string{"why", "a", "pod", "b", "c"}},
	"port-forward": {errorExit: 1, valid: []string{"port-forward", "team-a"}, tooMany: []string{"port-forward", "a", "b"}},
	"silence create": {errorExit: 1, valid: []string{"silence", "create", "team-a", "-m", "a=b", "--comment", "x"},
		tooMany: []string{"silence", "create", "a", "b", "-m", "a=b", "--comment", "x"}},
	"silence list":   {formats: []string{"table", "wide", "json", "yaml"}, errorExit: 1, valid: []string{"silence", "list", "team-a"}, tooMany: []string{"silence", "list", "a", "b"}},
	"silence expire": {errorExit: 1, valid: []string{"silence", "expire", "team-a", "0a1b"}},
	"top":            {formats: []string{"table", "wide", "json", "yaml"}, errorExit: 1, args: []string{"top", "--demo", "--once"}, valid: []string{"top", "--demo"}, tooMany: []string{"top", "a", "b"}},
	"compare": {formats: []string{"table", "json", "yaml"}, errorExit: compareErrorExit,
		args: append([]string{"compare", "--demo"}, demoArms...), valid: append([]string{"compare", "--demo"}, demoArms...),
		tooMany: append([]string{"compare", "a", "b"}, demoArms...)},
	"version": {formats: []string{"table", "json", "yaml"}, errorExit: 1, args: []string{"version"}, valid: []string{"version"}, tooMany: []string{"version", "a"}},
}

// TestEveryCommandFollowsTheConventions holds every command to one convention for -o, --dry-run
// and exit statuses. A command without a row fails it.
func TestEveryCommandFollowsTheConventions(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	var names []string
	var commands []*cobra.Command
	for _, cmd := range NewCmdRoot(streams).Commands() {
		if cmd.Name() == "help" || cmd.Name() == "completion" {
			continue
		}
		// Subcommands (alerts test, silence create) have rows of their own, named by their path
		// below the root; a group that only holds subcommands (silence) has none.
		for _, c := range append([]*cobra.Command{cmd}, cmd.Commands()...) {
			if group := c.HasSubCommands() && c.RunE == nil; !group {
				commands = append(commands, c)
			}
		}
	}
	for _, cmd := range commands {
		name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().CommandPath()+" ")
		names = append(names, name)
		c, ok := conventions[name]
		if !ok {
			t.Errorf("command %q has no row in conventions: add one", name)
			continue
		}
		t.Run(name, func(t *testing.T) { checkConvention(t, cmd, c) })
	}
	for name := range conventions {
		if !slices.Contains(names, name) {
			t.Errorf("conventions has a row for %q, which is no command", name)
		}
	}
}

func checkConvention(t *testing.T, cmd *cobra.Command, c convention) {
	// Exit statuses of usage errors.
	expectError := func(what string, args []string, want ...string) {
		t.Helper()
		out, _, err := run(t, args...)
		if code := exitCode(err); code != c.errorExit {
			t.Errorf("%s %v: exit %d, want %d (%v)", what, args, code, c.errorExit, err)
		}
		if out != "" {
			t.Errorf("%s: stdout is not empty: %q", what, out)
		}
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v lacks %q", what, err, w)
			}
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is more than one line: %q", what, err)
		}
	}
	expectError("unknown flag", append(slices.Clone(c.valid), "--no-such-flag"), "unknown flag: --no-such-flag")
	if c.tooMany != nil {
		expectError("one argument too many", c.tooMany, "takes")
	}

	// -o
	flag := cmd.Flags().Lookup("output")
	switch {
	case len(c.formats) == 0 && flag != nil:
		t.Errorf("has -o; give its row the formats")
	case len(c.formats) > 0 && flag == nil:
		t.Errorf("has no -o, yet its row names %v", c.formats)
	case len(c.formats) > 0:
		of, ok := flag.Value.(*outputFlag)
		if !ok {
			t.Fatalf("-o is a %T, not an outputFlag", flag.Value)
		}
		if !slices.Equal(of.formats, c.formats) || flag.DefValue != c.formats[0] {
			t.Errorf("-o formats %v (default %s), want %v", of.formats, flag.DefValue, c.formats)
		}
		expectError("bad -o", append(slices.Clone(c.valid), "-o", "xml"), `invalid --output "xml": use `+orList(c.formats))
		for _, f := range c.formats {
			if f != "table" && f != "wide" && f != "json" && f != "yaml" {
				t.Errorf("-o %s is not one of the conventional formats", f)
			}
		}
	}
	if c.args != nil {
		for _, f := range c.formats {
			checkFormat(t, append(slices.Clone(c.args), "-o", f), f)
		}
	}

	// --dry-run
	dry := cmd.Flags().Lookup("dry-run")
	switch {
	case c.dryRun && dry == nil:
		t.Error("changes the cluster but has no --dry-run")
	case !c.dryRun && dry != nil:
		t.Error("has --dry-run; mark its row")
	case c.dryRun:
		if _, ok := dry.Value.(*dryRunFlag); !ok || dry.NoOptDefVal != "client" || dry.DefValue != "none" {
			t.Errorf("--dry-run is a %T defaulting to %q (bare: %q), want kubectl's none|client|server", dry.Value, dry.DefValue, dry.NoOptDefVal)
		}
		expectError("bad --dry-run", append(slices.Clone(c.valid), "--dry-run=maybe"), "use none, client or server")
	}
}

// exitCode is the status the binary would exit with for err.
func exitCode(err error) int {
	var exit *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.Code
	}
	return 1
}

// checkFormat runs one accepted -o format without a cluster and checks that the output is what
// the format promises.
func checkFormat(t *testing.T, args []string, format string) {
	t.Helper()
	out, stderr, err := run(t, args...)
	// compare's verdicts (FAIL, INCONCLUSIVE) are results, not errors.
	verdict := args[0] == "compare" && exitCode(err) < compareErrorExit
	if code := exitCode(err); code != 0 && !verdict {
		t.Errorf("%v: exit %d (%v)\n%s", args, code, err, stderr)
		return
	}
	if strings.TrimSpace(out) == "" {
		t.Errorf("%v printed nothing", args)
		return
	}
	switch format {
	case "json":
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%v: not one JSON object: %v\n%s", args, err, out)
		}
	case "yaml":
		for _, doc := range strings.Split(out, "\n---\n") {
			var v map[string]any
			if err := yaml.Unmarshal([]byte(doc), &v); err != nil || len(v) == 0 {
				t.Errorf("%v: a document is not a YAML mapping: %v\n%s", args, err, doc)
			}
		}
	default:
		if strings.HasPrefix(strings.TrimSpace(out), "{") {
			t.Errorf("%v: -o %s printed JSON", args, format)
		}
	}
}

// TestOutputTextStaysAnAliasOfTable: scripts written when compare and doctor called their table
// "text" keep working, and the name is not offered as a format of its own.
func TestOutputTextStaysAnAliasOfTable(t *testing.T) {
	args := append([]string{"compare", "--demo"}, demoArms...)
	table, _, errTable := run(t, append(slices.Clone(args), "-o", "table")...)
	text, _, errText := run(t, append(slices.Clone(args), "-o", "text")...)
	// The demo's traffic moves with the clock, so the two runs agree in shape, not in every digit.
	shape := func(s string) string {
		return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}
			return r
		}, s)), " ")
	}
	if exitCode(errTable) != exitCode(errText) || !strings.Contains(table, "verdict:") || shape(text) != shape(table) {
		t.Errorf("-o text (exit %d):\n%s\n-o table (exit %d):\n%s", exitCode(errText), text, exitCode(errTable), table)
	}
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	for _, cmd := range NewCmdRoot(streams).Commands() {
		if f := cmd.Flags().Lookup("output"); f != nil && strings.Contains(f.Usage, "text") {
			t.Errorf("%s -o still offers text: %q", cmd.Name(), f.Usage)
		}
	}
}
