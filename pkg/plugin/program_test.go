package plugin

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// TestSignalContext: SIGINT cancels the context with the signal as its cause, whose exit status
// is 130; stopping it without a signal is no signal.
func TestSignalContext(t *testing.T) {
	ctx, stop := SignalContext(context.Background())
	defer stop()
	if _, ok := Signaled(ctx); ok {
		t.Fatal("signaled before any signal")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
	s, ok := Signaled(ctx)
	if !ok || s.ExitCode() != 130 {
		t.Errorf("Signaled = %v, %v; want SIGINT, exit status 130", s, ok)
	}

	ctx, stop2 := SignalContext(context.Background())
	stop2()
	if _, ok := Signaled(ctx); ok || !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("a stopped context reads as signaled (%v)", context.Cause(ctx))
	}
}
