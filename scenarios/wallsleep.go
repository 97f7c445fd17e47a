package scenarios

import (
	"context"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// ctxPoll is how often sleepPrecisely looks at its context: the most a
// cancelled run (SIGINT) waits for the clock to notice.
const ctxPoll = 50 * time.Millisecond

// sleepPrecisely sleeps until t, or until ctx is done (its error), on
// the calling goroutine's own thread, raised to the lowest real-time
// round-robin priority for the sleep where the process may (root; as the
// VRRP agents run, chrt --rr 1), so that the kernel wakes it at t even
// when the cores are busy: on the runtime's timer, faults on real hosts
// were applied 10 ms late here, up to 365 ms with the cores busy (the
// timer fires when a thread of the process gets the CPU back). It leaves
// the thread's policy as it found it. Where raising is not permitted it
// still sleeps on its thread, at the normal priority.
func sleepPrecisely(ctx context.Context, t time.Time) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if old, err := unix.SchedGetAttr(0, 0); err == nil {
		rt := &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: 1}
		if unix.SchedSetAttr(0, rt, 0) == nil {
			defer unix.SchedSetAttr(0, old, 0)
		}
	}
	for d := time.Until(t); d > 0; d = time.Until(t) {
		if err := ctx.Err(); err != nil {
			return err
		}
		ts := unix.NsecToTimespec(int64(min(d, ctxPoll)))
		_ = unix.Nanosleep(&ts, nil) // EINTR: sleep the rest
	}
	return ctx.Err()
}
