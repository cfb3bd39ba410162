package plugin

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	tea "charm.land/bubbletea/v2"
)

// SignalError is the cause of a SignalContext's cancellation: the signal that arrived.
type SignalError struct {
	Signal syscall.Signal
}

func (e *SignalError) Error() string { return "interrupted by " + e.Signal.String() }

// ExitCode is the shell's status of a process ended by the signal: 128 + its number (130 for
// SIGINT, 143 for SIGTERM).
func (e *SignalError) ExitCode() int { return 128 + int(e.Signal) }

// exitInterrupted is the exit status of a program interrupted by ctrl+c or SIGINT.
const exitInterrupted = 128 + int(syscall.SIGINT)

// SignalContext is parent, cancelled when SIGINT or SIGTERM arrives, with a *SignalError cause
// (context.Cause). stop releases the signals; call it once the command returned.
func SignalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			if n, ok := s.(syscall.Signal); ok {
				cancel(&SignalError{Signal: n})
			} else {
				cancel(&SignalError{Signal: syscall.SIGINT})
			}
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		cancel(nil)
	}
}

// Signaled is the signal that cancelled ctx, if a SignalContext's signal did.
func Signaled(ctx context.Context) (*SignalError, bool) {
	var s *SignalError
	if ctx.Err() == nil || !errors.As(context.Cause(ctx), &s) {
		return nil, false
	}
	return s, true
}

// runProgram runs a full-screen Bubble Tea program (top's dashboard, compare --watch) until it
// quits, and returns its final model. Interrupted, by ctrl+c (a key in the terminal's raw mode)
// or by a signal, it returns an *ExitError with the signal's status and no message: 130 for
// ctrl+c and SIGINT, 143 for SIGTERM. Signals are the context's (SignalContext), not Bubble
// Tea's own handler's, so the status is the signal's whichever arrives.
func runProgram(ctx context.Context, model tea.Model, in io.Reader, out io.Writer) (tea.Model, error) {
	final, err := tea.NewProgram(model, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out),
		tea.WithoutSignalHandler()).Run()
	if s, ok := Signaled(ctx); ok {
		return final, &ExitError{Code: s.ExitCode()}
	}
	switch {
	case errors.Is(err, tea.ErrInterrupted):
		return final, &ExitError{Code: exitInterrupted}
	case errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil:
		return final, nil
	}
	return final, err
}
