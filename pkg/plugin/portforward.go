package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/portforward"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// defaultLocalPort is Prometheus' own port, used locally when it is free.
const defaultLocalPort = 9090

// PortForwardOptions holds the port-forward flags.
type PortForwardOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	team    string
	port    int
	portSet bool
	address string
	open    bool
	timeout time.Duration
	// direct forwards to a Prometheus pod even when the stack has a Thanos Query.
	direct bool

	// openBrowser opens a URL; tests replace it.
	openBrowser func(string) error
}

const portForwardLong = `Port-forward opens a local port to a team's Prometheus, the way kubectl port-forward
svc/prometheus-TEAM does, and keeps it open: when the connection drops, the pod is deleted,
stops being ready or another pod becomes the right one, it reconnects by itself (watching the
pods, backing off with jitter) on the same local port, says what it is doing on standard error,
and stops only on Ctrl-C. Connections that arrive while it reconnects wait for it.

The team's Service (prometheus-TEAM, in -n or the context's namespace) leads to its pods; the
pod is chosen as kubectl chooses one (running and ready, ready the longest, fewest restarts) and
the Service's web port is mapped to the pod's named container port. The connection goes through
the API server as kubectl's does: SPDY tunnelled in a WebSocket, or plain SPDY when the WebSocket
is refused (KUBECTL_PORT_FORWARD_WEBSOCKETS=false skips the WebSocket). It needs get or create on
pods/portforward, and get services, list and watch pods.

The local port is 9090 if it is free, else any free port (--port picks one; 0 means any). The
URL is printed once the first connection is up; --open opens it in a browser ($BROWSER, else the
system's opener). top, doctor and compare reach a team's Prometheus the same way on their own.

When the stack has a Thanos Query (create --thanos; the Prometheus' promteam.io/thanos-query
annotation names its Service), the port leads to the Query's http port instead, which sees every
shard and replica; --direct forwards to a Prometheus pod as without Thanos. When the Prometheus
object cannot be read, a Prometheus pod is used and a warning says numbers may be partial.`

const portForwardExample = `  # Prometheus of team-a on http://127.0.0.1:9090 (or another port if 9090 is taken)
  kubectl promteam port-forward team-a -n team-a

  # On a port of your choice, reachable from other machines, opened in a browser
  kubectl promteam port-forward team-a -n team-a --port 19090 --address 0.0.0.0 --open`

// NewCmdPortForward builds `port-forward TEAM`.
func NewCmdPortForward(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &PortForwardOptions{
		configFlags: configFlags, IOStreams: streams,
		port: defaultLocalPort, address: "127.0.0.1", timeout: time.Minute,
		openBrowser: openURL,
	}
	cmd := &cobra.Command{
		Use:               "port-forward TEAM [flags]",
		Short:             "Forward a local port to a team's Prometheus, reconnecting by itself",
		Long:              portForwardLong,
		Example:           portForwardExample,
		Args:              exactlyOneArg("team name"),
		ValidArgsFunction: teamCompletion(configFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(cmd, args)
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().IntVar(&o.port, "port", o.port, "Local port (unset: 9090 if free, else any free port; 0: any free port)")
	cmd.Flags().StringVar(&o.address, "address", o.address, "Local address to listen on: an IP address, or localhost for 127.0.0.1 and ::1")
	cmd.Flags().BoolVar(&o.open, "open", o.open, "Open Prometheus in a browser once forwarding")
	cmd.Flags().BoolVar(&o.direct, "direct", o.direct, "Forward to one of TEAM's Prometheus pods even when the stack has a Thanos Query")
	cmd.Flags().DurationVar(&o.timeout, "timeout", o.timeout, "How long to wait for a ready Prometheus pod before giving up, and (with a few seconds more) for the API server to answer (reconnects later never give up)")
	_ = cmd.RegisterFlagCompletionFunc("address", cobra.FixedCompletions([]string{"127.0.0.1", "localhost", "0.0.0.0", "::1"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete reads the team argument and which flags were given.
func (o *PortForwardOptions) Complete(cmd *cobra.Command, args []string) {
	o.team = args[0]
	o.portSet = cmd.Flags().Changed("port")
}

// Validate checks the flags.
func (o *PortForwardOptions) Validate() error {
	if err := validateTeam(o.team); err != nil {
		return err
	}
	if o.port < 0 || o.port > 65535 {
		return flagError("port", strconv.Itoa(o.port), errors.New("use 0 (any free port) to 65535"))
	}
	if o.address != "localhost" && net.ParseIP(o.address) == nil {
		return flagError("address", o.address, errors.New("use an IP address such as 127.0.0.1 or 0.0.0.0, or localhost"))
	}
	if o.timeout < 0 {
		return flagError("timeout", o.timeout.String(), errors.New("use 0 or more, e.g. 1m"))
	}
	return nil
}

// Run forwards until ctx ends (Ctrl-C).
func (o *PortForwardOptions) Run(ctx context.Context) error {
	ports := []int{o.port}
	if !o.portSet {
		ports = []int{defaultLocalPort, 0}
	}
	var (
		ns string
		r  route
	)
	fw, err := bounded(ctx, o.configFlags, o.timeout+connectGrace, func(ctx context.Context) (*portforward.Forwarder, error) {
		var (
			cfg    *rest.Config
			client kubernetes.Interface
			err    error
		)
		if ns, cfg, client, err = cluster(o.configFlags); err != nil {
			return nil, err
		}
		if r, err = findRoute(ctx, cfg, client, ns, o.team, o.direct); err != nil {
			return nil, err
		}
		if r.warning != "" {
			fmt.Fprintf(o.ErrOut, "warning: %s\n", termtext.Sanitize(r.warning))
		}
		return startTunnel(ctx, r.tunnel(tunnelOptions{
			config: cfg, client: client, namespace: ns, team: o.team, address: o.address, ports: ports,
			wait: o.timeout, log: o.ErrOut, logAlways: true,
		}))
	}, func(fw *portforward.Forwarder) { _ = fw.Close() })
	if err != nil {
		return err
	}
	defer fw.Close()
	fmt.Fprintf(o.ErrOut, "%s\n", termtext.Sanitize(fw.State().String()))
	u := browsableURL(o.address, fw.Addr())
	fmt.Fprintf(o.Out, "%s of team %s in namespace %s: %s\n", r.what(), o.team, ns, u)
	if o.open {
		if err := o.openBrowser(u); err != nil {
			fmt.Fprintf(o.ErrOut, "warning: cannot open a browser: %v\n", err)
		}
	}
	select {
	case <-ctx.Done():
	case <-fw.Done():
	}
	return nil
}

// browsableURL is the URL to print for the local address: loopback for a wildcard address, the
// name localhost when that was asked for.
func browsableURL(address string, addr *net.TCPAddr) string {
	host := addr.IP.String()
	switch {
	case address == "localhost":
		host = "localhost"
	case addr.IP.IsUnspecified():
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// openURL opens u in $BROWSER or the system's opener without waiting for it.
func openURL(u string) error {
	var cmd *exec.Cmd
	switch {
	case os.Getenv("BROWSER") != "":
		cmd = exec.Command(os.Getenv("BROWSER"), u)
	case runtime.GOOS == "darwin":
		cmd = exec.Command("open", u)
	case runtime.GOOS == "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
