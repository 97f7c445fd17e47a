package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// interrupted is the cause of the command's context when SIGINT or
// SIGTERM arrived: the command stops, writes what it has (lblab run: the
// results so far, marked interrupted), cleans up and returns; lblab then
// exits with 128 + the signal's number, as a shell reports a process
// killed by it (130 for SIGINT, 143 for SIGTERM).
type interrupted struct{ sig syscall.Signal }

func (e interrupted) Error() string { return "interrupted by " + unix.SignalName(e.sig) }

// Is makes errors.Is(cause, context.Canceled) hold, as for any
// cancellation.
func (interrupted) Is(target error) bool { return target == context.Canceled }

// code is the exit status: 128 + the signal's number.
func (e interrupted) code() int { return 128 + int(e.sig) }

// signalContext returns a context that is cancelled, with cause
// interrupted, at the first SIGINT or SIGTERM. Later ones are ignored
// until stop, so that a second Ctrl-C does not cut the cleanup short
// (SIGKILL still does; lblab clean then removes what is left).
func signalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			cancel(interrupted{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
	}
}

// interruption returns the signal that stopped ctx, if one did.
func interruption(ctx context.Context) (interrupted, bool) {
	var in interrupted
	ok := errors.As(context.Cause(ctx), &in)
	return in, ok
}

// unlessInterrupted runs f, or returns ctx's cause as soon as ctx is done,
// for work that does not look at a context (parsing a lab file): f goes
// on in the background, and lblab exits without it.
func unlessInterrupted[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}
