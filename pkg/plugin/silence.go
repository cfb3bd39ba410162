package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/am"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// NewCmdSilence builds `silence`, whose subcommands create, list and expire a team's silences.
func NewCmdSilence(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "silence",
		Short: "Create, list and expire a team's silences in its Alertmanager",
		Long: `Silence mutes a team's alerts in the Alertmanager its Prometheus sends them to, through
Alertmanager's API v2. Every silence it creates carries the matchers team=TEAM and
namespace=NAMESPACE, which every alert of the team's stack carries, so a team silences its own
alerts and no one else's; list and expire see only such silences.

The Alertmanager is the one TEAM's Prometheus in namespace -n names (its own, or a shared one),
reached through a port-forward to a ready pod, the API server's service proxy (--via-proxy), or
--alertmanager-url.`,
		Args: unknownCommand,
		Run:  func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
	}
	cmd.AddCommand(
		NewCmdSilenceCreate(streams, configFlags),
		NewCmdSilenceList(streams, configFlags),
		NewCmdSilenceExpire(streams, configFlags),
	)
	return cmd
}

// silenceTarget is what every silence subcommand takes: the team, its namespace and the way to
// its Alertmanager.
type silenceTarget struct {
	configFlags *genericclioptions.ConfigFlags
	am          *AlertmanagerFlags
	team        string
	namespace   string
}

// connect bounds the whole run by --timeout (and the grace a tunnel needs to connect once a pod
// is ready) and connects to the team's Alertmanager; done releases both.
func (t *silenceTarget) connect(ctx context.Context) (context.Context, *am.Client, string, func(), error) {
	ctx, cancel := context.WithTimeout(ctx, t.am.Timeout+connectGrace)
	c, target, closeFn, err := t.am.Connect(ctx, t.team, t.namespace)
	if err != nil {
		cancel()
		return nil, nil, "", nil, withTimeoutHint(err)
	}
	return ctx, c, target, func() { closeFn(); cancel() }, nil
}

// withTimeoutHint says how to wait longer when err is the end of --timeout.
func withTimeoutHint(err error) error {
	if errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "--timeout") {
		return fmt.Errorf("%w; pass a longer --timeout", err)
	}
	return err
}

func (t *silenceTarget) complete(team string) error {
	t.team = team
	if err := validateTeam(team); err != nil {
		return err
	}
	ns, err := namespaceOf(t.configFlags)
	if err != nil {
		return err
	}
	t.namespace = ns
	return nil
}

// SilenceCreateOptions holds the flags of `silence create`.
type SilenceCreateOptions struct {
	silenceTarget
	genericiooptions.IOStreams

	matcherArgs []string
	duration    time.Duration
	until       string
	comment     string
	author      string

	matchers []am.Matcher
	end      time.Time
	// now is the clock; tests set it.
	now func() time.Time
}

// NewCmdSilenceCreate builds `silence create TEAM`.
func NewCmdSilenceCreate(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &SilenceCreateOptions{
		silenceTarget: silenceTarget{configFlags: configFlags, am: NewAlertmanagerFlags(configFlags, streams)},
		IOStreams:     streams, duration: 2 * time.Hour, now: time.Now,
	}
	cmd := &cobra.Command{
		Use:   "create TEAM -m MATCHER [-m MATCHER ...] --comment TEXT [flags]",
		Short: "Silence some of a team's alerts for a while",
		Long: `Create mutes the team's alerts that every matcher matches, from now for --duration (or
until --until), and prints the silence's ID. Matchers are Alertmanager's: name=value,
name!=value, name=~regex and name!~regex, the value bare or double-quoted; a regex matches whole
values. The silence also carries team=TEAM and namespace=NAMESPACE, so it mutes nothing of
another team.`,
		Example: `  # Mute the alerts of one upstream cluster for two hours
  kubectl promteam silence create team-a -n team-a -m envoy_cluster_name=checkout --comment "checkout migration"

  # Mute the warnings until a time
  kubectl promteam silence create team-a -n team-a -m severity=warning --until 2026-12-06T08:00:00Z --comment "noisy overnight"`,
		Args:              exactlyOneArg("team name"),
		ValidArgsFunction: teamCompletion(configFlags),
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
	return cmd
}

// AddFlags binds the flags of `silence create`.
func (o *SilenceCreateOptions) AddFlags(fs *pflag.FlagSet) {
	o.am.AddFlags(fs)
	fs.StringArrayVarP(&o.matcherArgs, "matcher", "m", o.matcherArgs, `Alerts to mute, in Alertmanager's syntax (name=value, name!=value, name=~regex, name!~regex); repeat for more, all must match`)
	fs.DurationVarP(&o.duration, "duration", "d", o.duration, "How long the silence lasts from now")
	fs.StringVar(&o.until, "until", o.until, "When the silence ends, in RFC 3339 (2026-12-06T08:00:00Z); replaces --duration")
	fs.StringVarP(&o.comment, "comment", "c", o.comment, "Why the alerts are muted (required, as amtool requires it)")
	fs.StringVarP(&o.author, "author", "a", o.author, "Who creates the silence; default the kubeconfig's user, else $USER")
}

// Complete takes the team and reads the matchers, the end and the author.
func (o *SilenceCreateOptions) Complete(cmd *cobra.Command, args []string) error {
	if err := o.complete(args[0]); err != nil {
		return err
	}
	for _, s := range o.matcherArgs {
		m, err := am.ParseMatcher(s)
		if err != nil {
			return flagError("matcher", s, err)
		}
		if m.Name == am.LabelTeam || m.Name == am.LabelNamespace {
			return flagError("matcher", s, fmt.Errorf("every silence of team %s carries %s already; drop this matcher", o.team, strings.Join([]string{am.TeamMatchers(o.team, o.namespace)[0].String(), am.TeamMatchers(o.team, o.namespace)[1].String()}, " and ")))
		}
		o.matchers = append(o.matchers, m)
	}
	switch {
	case o.until != "" && cmd.Flags().Changed("duration"):
		return flagError("until", o.until, errors.New("--duration says when the silence ends too; use one of the two"))
	case o.until != "":
		end, err := time.Parse(time.RFC3339, o.until)
		if err != nil {
			return flagError("until", o.until, errors.New("use an RFC 3339 time such as 2026-12-06T08:00:00Z"))
		}
		o.end = end
	default:
		o.end = o.now().Add(o.duration)
	}
	if o.author == "" {
		o.author = kubeconfigUser(o.configFlags)
	}
	if o.author == "" {
		o.author = os.Getenv("USER")
	}
	return nil
}

// kubeconfigUser is the user entry of the kubeconfig's current context, or "".
func kubeconfigUser(flags *genericclioptions.ConfigFlags) string {
	raw, err := flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	name := raw.CurrentContext
	if flags.Context != nil && *flags.Context != "" {
		name = *flags.Context
	}
	if flags.AuthInfoName != nil && *flags.AuthInfoName != "" {
		return *flags.AuthInfoName
	}
	if c := raw.Contexts[name]; c != nil {
		return c.AuthInfo
	}
	return ""
}

// Validate checks the options as a whole.
func (o *SilenceCreateOptions) Validate() error {
	switch {
	case len(o.matchers) == 0:
		return flagError("matcher", "", errors.New(`name the alerts to mute, e.g. -m envoy_cluster_name=checkout (-m 'alertname=~".+"' mutes all of the team's)`))
	case strings.TrimSpace(o.comment) == "":
		return flagError("comment", o.comment, errors.New(`say why the alerts are muted, e.g. --comment "checkout migration"`))
	case o.until == "" && o.duration <= 0:
		return flagError("duration", o.duration.String(), errors.New("use a positive duration, e.g. 2h"))
	case !o.end.After(o.now()):
		return flagError("until", o.until, errors.New("the time has passed; name a later one"))
	case strings.TrimSpace(o.author) == "":
		return flagError("author", o.author, errors.New("no kubeconfig user or $USER to take it from; pass --author NAME"))
	}
	return o.am.Validate()
}

// Run creates the silence and prints its ID.
func (o *SilenceCreateOptions) Run(ctx context.Context) error {
	ctx, c, _, done, err := o.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	id, err := c.CreateSilence(ctx, am.NewSilence{
		Matchers: append(slices.Clone(o.matchers), am.TeamMatchers(o.team, o.namespace)...),
		StartsAt: o.now().UTC(), EndsAt: o.end.UTC(), CreatedBy: o.author, Comment: o.comment,
	})
	if err != nil {
		return withTimeoutHint(err)
	}
	_, err = fmt.Fprintln(o.Out, termtext.Sanitize(id))
	return err
}

// SilenceListOptions holds the flags of `silence list`.
type SilenceListOptions struct {
	silenceTarget
	genericiooptions.IOStreams

	output *outputFlag
	state  string
	now    func() time.Time
}

// The states `silence list --state` takes besides Alertmanager's.
const silenceStateCurrent = "active+pending"

var silenceStates = []string{silenceStateCurrent, am.SilenceActive, am.SilencePending, am.SilenceExpired, stateAll}

// NewCmdSilenceList builds `silence list TEAM`.
func NewCmdSilenceList(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &SilenceListOptions{
		silenceTarget: silenceTarget{configFlags: configFlags, am: NewAlertmanagerFlags(configFlags, streams)},
		IOStreams:     streams, output: newOutputFlag(formatTable, formatWide, formatJSON, formatYAML),
		state: silenceStateCurrent, now: time.Now,
	}
	cmd := &cobra.Command{
		Use:   "list TEAM [flags]",
		Short: "List a team's silences",
		Long: `List shows the silences scoped to the team (those carrying team=TEAM and
namespace=NAMESPACE): the ID, state, matchers besides the team's, when they start and end, the
author and the comment. -o wide adds the exact times, -o json and -o yaml print
{"via", "silences": [{"id", "state", "matchers", "startsAt", "endsAt", "createdBy", "comment"}]}.`,
		Example: `  # The team's active and pending silences
  kubectl promteam silence list team-a -n team-a

  # Every silence, expired ones included, as JSON
  kubectl promteam silence list team-a -n team-a --state all -o json`,
		Args:              exactlyOneArg("team name"),
		ValidArgsFunction: teamCompletion(configFlags),
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
	o.output.add(cmd, "")
	o.AddFlags(cmd.Flags())
	_ = cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions(silenceStates, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// AddFlags binds the flags of `silence list`.
func (o *SilenceListOptions) AddFlags(fs *pflag.FlagSet) {
	o.am.AddFlags(fs)
	fs.StringVar(&o.state, "state", o.state, "Which silences to show: active+pending, active, pending, expired or all")
}

// Complete takes the team.
func (o *SilenceListOptions) Complete(_ *cobra.Command, args []string) error {
	return o.complete(args[0])
}

// Validate checks the options as a whole.
func (o *SilenceListOptions) Validate() error {
	if !slices.Contains(silenceStates, o.state) {
		return flagError("state", o.state, errors.New("use "+orList(silenceStates)))
	}
	return o.am.Validate()
}

// silenceRow is one silence as list shows it.
type silenceRow struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	Matchers  []string  `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
}

type silencesDocument struct {
	Via      string       `json:"via"`
	Silences []silenceRow `json:"silences"`
}

// Run lists the team's silences.
func (o *SilenceListOptions) Run(ctx context.Context) error {
	ctx, c, target, done, err := o.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	list, err := c.Silences(ctx, am.TeamMatchers(o.team, o.namespace))
	if err != nil {
		return withTimeoutHint(err)
	}
	rows := silenceRows(list, o.team, o.namespace, o.state)
	var buf bytes.Buffer
	if o.output.structured() {
		if err := writeDocument(&buf, o.output.format(), silencesDocument{Via: target, Silences: rows}); err != nil {
			return err
		}
	} else {
		writeSilencesTable(&buf, rows, o.now(), o.output.format() == formatWide)
	}
	_, err = o.Out.Write(buf.Bytes())
	return err
}

// silenceRows keeps the silences scoped to team in namespace in the state asked for, ends
// soonest first, and shows their matchers without the team's.
func silenceRows(list []am.Silence, team, namespace, state string) []silenceRow {
	var rows []silenceRow
	for _, s := range list {
		if !am.ScopedTo(s.Matchers, team, namespace) {
			continue
		}
		st := s.Status.State
		switch state {
		case stateAll:
		case silenceStateCurrent:
			if st != am.SilenceActive && st != am.SilencePending {
				continue
			}
		default:
			if st != state {
				continue
			}
		}
		r := silenceRow{ID: s.ID, State: st, StartsAt: s.StartsAt, EndsAt: s.EndsAt, CreatedBy: s.CreatedBy, Comment: s.Comment, Matchers: []string{}}
		scope := am.TeamMatchers(team, namespace)
		for _, m := range s.Matchers {
			if !slices.Contains(scope, m) {
				r.Matchers = append(r.Matchers, m.String())
			}
		}
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, func(a, b silenceRow) int {
		if d := a.EndsAt.Compare(b.EndsAt); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return rows
}

// writeSilencesTable writes rows as a table; every value from Alertmanager is sanitized.
func writeSilencesTable(w io.Writer, rows []silenceRow, now time.Time, wide bool) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "No silences.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	header := "ID\tSTATE\tMATCHERS\tSTARTS\tENDS\tAUTHOR\tCOMMENT"
	if wide {
		header += "\tSTARTS AT\tENDS AT"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		line := []string{r.ID, r.State, dash(strings.Join(r.Matchers, ",")), relative(r.StartsAt, now), relative(r.EndsAt, now), dash(r.CreatedBy), dash(r.Comment)}
		if wide {
			line = append(line, r.StartsAt.UTC().Format(time.RFC3339), r.EndsAt.UTC().Format(time.RFC3339))
		}
		for i := range line {
			line[i] = strings.ReplaceAll(termtext.Sanitize(line[i]), "\t", " ")
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	_ = tw.Flush()
}

// relative writes t against now: "5m ago", "in 2h".
func relative(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if d := t.Sub(now); d > 0 {
		return "in " + duration.HumanDuration(d)
	}
	return duration.HumanDuration(now.Sub(t)) + " ago"
}

// SilenceExpireOptions holds the flags of `silence expire`.
type SilenceExpireOptions struct {
	silenceTarget
	genericiooptions.IOStreams

	ids []string
}

// NewCmdSilenceExpire builds `silence expire TEAM ID...`.
func NewCmdSilenceExpire(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &SilenceExpireOptions{
		silenceTarget: silenceTarget{configFlags: configFlags, am: NewAlertmanagerFlags(configFlags, streams)},
		IOStreams:     streams,
	}
	cmd := &cobra.Command{
		Use:   "expire TEAM ID... [flags]",
		Short: "Expire a team's silences now",
		Long: `Expire ends the team's silences with the IDs given (as silence list shows them). A silence
that is not the team's (it lacks team=TEAM or namespace=NAMESPACE) is refused, and nothing is
expired when any ID is refused.`,
		Example: `  kubectl promteam silence expire team-a -n team-a 3e1b2c4d-5f60-4a7b-8c9d-0e1f2a3b4c5d`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return fmt.Errorf("%s needs a team name and at least one silence ID: %s", cmd.CommandPath(), cmd.UseLine())
			}
			return nil
		},
		ValidArgsFunction: teamCompletion(configFlags),
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
	return cmd
}

// AddFlags binds the flags of `silence expire`.
func (o *SilenceExpireOptions) AddFlags(fs *pflag.FlagSet) { o.am.AddFlags(fs) }

// Complete takes the team and the IDs.
func (o *SilenceExpireOptions) Complete(_ *cobra.Command, args []string) error {
	if err := o.complete(args[0]); err != nil {
		return err
	}
	o.ids = args[1:]
	return nil
}

// Validate checks the IDs and the connection flags.
func (o *SilenceExpireOptions) Validate() error {
	for _, id := range o.ids {
		if err := am.ValidateID(id); err != nil {
			return err
		}
	}
	return o.am.Validate()
}

// Run checks that every silence is the team's, then expires them, printing each ID.
func (o *SilenceExpireOptions) Run(ctx context.Context) error {
	ctx, c, _, done, err := o.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	for _, id := range o.ids {
		s, err := c.Silence(ctx, id)
		if err != nil {
			return withTimeoutHint(err)
		}
		if !am.ScopedTo(s.Matchers, o.team, o.namespace) {
			return fmt.Errorf("silence %s is not team %s's (it does not carry team=%q and namespace=%q); a team expires its own silences only", id, o.team, o.team, o.namespace)
		}
	}
	for _, id := range o.ids {
		if err := c.ExpireSilence(ctx, id); err != nil {
			return withTimeoutHint(err)
		}
		fmt.Fprintf(o.Out, "silence %s expired\n", termtext.Sanitize(id))
	}
	return nil
}
