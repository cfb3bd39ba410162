// Command kubectl-promteam is the kubectl promteam plugin.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/plugin"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

func main() {
	ctx, stop := plugin.SignalContext(context.Background())
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := plugin.Execute(ctx, streams, os.Args[1:])
	stop()
	if err == nil {
		return
	}
	// Interrupted: the shell's status of the signal (130 for ctrl+c), and no message, whatever
	// the cancelled work returned.
	if s, ok := plugin.Signaled(ctx); ok {
		os.Exit(s.ExitCode())
	}
	code := 1
	var exit *plugin.ExitError
	if errors.As(err, &exit) {
		code = exit.Code
		err = exit.Err
	}
	if err != nil {
		// Errors carry Prometheus' and the API server's text: shown, never acted on by the
		// terminal, and on one line unless the message is several lines by design.
		msg := termtext.Sanitize(err.Error())
		var lines plugin.MultiLine
		if errors.As(err, &lines) {
			msg = termtext.Lines(err.Error())
		}
		fmt.Fprintf(os.Stderr, "error: %s\n", msg)
	}
	os.Exit(code)
}
