package plugin

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// connectGrace is the time a tunnel gets to connect beyond its wait for a ready pod, so that
// "no ready pod" is what a user hears when the API server answers.
const connectGrace = 3 * time.Second

// errTimedOut is the cause of a context that bounded ended.
var errTimedOut = errors.New("timed out")

// bounded runs f and returns what it returns, or a *kube.TimeoutError naming the API server of
// flags once d has passed. f's context is cancelled then (and only then: what f starts, a
// tunnel say, outlives the call when f returns in time), and anything f returns afterwards is
// handed to release. So a command that waits on the API server returns within d however the
// server behaves, even in calls that take no context (discovery, credential plugins).
func bounded[T any](ctx context.Context, flags *genericclioptions.ConfigFlags, d time.Duration,
	f func(context.Context) (T, error), release func(T)) (T, error) {
	fctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(d, func() { cancel(errTimedOut) })
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f(fctx)
		done <- result{v, err}
	}()
	timeout := func() error { return &kube.TimeoutError{Server: apiServer(flags), After: d, Flag: "timeout"} }
	select {
	case r := <-done:
		if !timer.Stop() && errors.Is(context.Cause(fctx), errTimedOut) && r.err != nil {
			return r.v, timeout()
		}
		return r.v, r.err
	case <-fctx.Done():
		if !errors.Is(context.Cause(fctx), errTimedOut) {
			var zero T
			return zero, ctx.Err()
		}
		go func() {
			if r := <-done; r.err == nil && release != nil {
				release(r.v)
			}
		}()
		var zero T
		return zero, timeout()
	}
}

// boundCall is bounded for a command whose whole run ends within d, and that holds nothing
// open once it returns. kubectl's --request-timeout, when given, still bounds each API request.
func boundCall[T any](ctx context.Context, flags *genericclioptions.ConfigFlags, d time.Duration, f func(context.Context) (T, error)) (T, error) {
	return bounded(ctx, flags, d, f, nil)
}

// boundRun is boundCall for a run that returns only an error.
func boundRun(ctx context.Context, flags *genericclioptions.ConfigFlags, d time.Duration, f func(context.Context) error) error {
	_, err := boundCall(ctx, flags, d, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

// defaultTimeout bounds the commands that make a few requests and end: list, diff, delete and
// create --apply.
const defaultTimeout = time.Minute

// addTimeoutFlag binds --timeout for a command whose whole run it bounds.
func addTimeoutFlag(fs *pflag.FlagSet, into *time.Duration) {
	fs.DurationVar(into, "timeout", *into, "How long the whole command may take before it gives up (--request-timeout bounds each API request)")
}

// validateTimeout checks a --timeout.
func validateTimeout(d time.Duration) error {
	if d <= 0 {
		return flagError("timeout", d.String(), errors.New("use a positive duration, e.g. 30s"))
	}
	return nil
}

// apiServer is the API server the kubeconfig names, for messages.
func apiServer(flags *genericclioptions.ConfigFlags) string {
	if flags == nil {
		return "the configured server"
	}
	cfg, err := flags.ToRawKubeConfigLoader().ClientConfig()
	if err != nil || cfg.Host == "" {
		return "the configured server"
	}
	return cfg.Host
}
