package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// The -o formats. Every command that prints a result takes the ones that fit it, named the same
// way: table for what a person reads (the default where there is one), wide for a table with
// more columns, json and yaml for programs.
const (
	formatTable = "table"
	formatWide  = "wide"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

// outputFlag is a command's -o. It refuses a format the command does not print when the flag is
// parsed, so every command words the mistake the same way and nothing has run yet.
type outputFlag struct {
	value   string
	given   bool
	formats []string
	aliases map[string]string // hidden names kept for scripts written against an earlier release
}

// newOutputFlag accepts formats; the first is the default.
func newOutputFlag(formats ...string) *outputFlag {
	return &outputFlag{value: formats[0], formats: formats}
}

// alias makes old a hidden name for format.
func (f *outputFlag) alias(old, format string) *outputFlag {
	if f.aliases == nil {
		f.aliases = map[string]string{}
	}
	f.aliases[old] = format
	return f
}

// add registers -o/--output on cmd with its completion; help follows the list of formats.
func (f *outputFlag) add(cmd *cobra.Command, help string) {
	usage := "Output format: " + orList(f.formats)
	if help != "" {
		usage += "; " + help
	}
	cmd.Flags().VarP(f, "output", "o", usage)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(f.formats, cobra.ShellCompDirectiveNoFileComp))
}

func (f *outputFlag) String() string { return f.value }
func (f *outputFlag) Type() string   { return "string" }

func (f *outputFlag) Set(s string) error {
	if to, ok := f.aliases[s]; ok {
		s = to
	}
	for _, format := range f.formats {
		if s == format {
			f.value, f.given = s, true
			return nil
		}
	}
	return fmt.Errorf("unknown output format")
}

// accepted is the fix setFlagErrors prints for a value Set refused.
func (f *outputFlag) accepted() string { return "use " + orList(f.formats) }

// format is the chosen format.
func (f *outputFlag) format() string { return f.value }

// structured reports whether a program reads the output (json or yaml).
func (f *outputFlag) structured() bool { return f.value == formatJSON || f.value == formatYAML }

// orList writes "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// writeDocument writes v as indented JSON or as YAML, with every string safe for a terminal.
func writeDocument(w io.Writer, format string, v any) error {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	switch format {
	case formatYAML:
		if out, err = termtext.YAML(out); err != nil {
			return err
		}
	default:
		out = append(termtext.JSON(out), '\n')
	}
	_, err = w.Write(out)
	return err
}

// writeYAML writes as YAML the JSON document renderJSON writes, for results whose JSON has a
// renderer of its own (top's snapshot, compare's result).
func writeYAML(w io.Writer, renderJSON func(io.Writer) error) error {
	var doc bytes.Buffer
	if err := renderJSON(&doc); err != nil {
		return err
	}
	out, err := termtext.YAML(doc.Bytes())
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}
