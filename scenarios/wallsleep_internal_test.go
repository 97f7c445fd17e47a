package scenarios

import (
	"context"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSleepPreciselyNeverEarlyAndRestoresPolicy: it returns no earlier
// than its time, also for a time already past, stops at once for a
// context already done, and leaves the thread's
// scheduling policy as it was (a thread back in the runtime's pool at
// real-time priority would run goroutines ahead of every process).
func TestSleepPreciselyNeverEarlyAndRestoresPolicy(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Skipf("sched_getattr: %v", err)
	}
	for _, d := range []time.Duration{-time.Millisecond, 0, 2 * time.Millisecond} {
		at := time.Now().Add(d)
		if err := sleepPrecisely(context.Background(), at); err != nil {
			t.Fatal(err)
		}
		if now := time.Now(); now.Before(at) {
			t.Errorf("woke %v before its time", at.Sub(now))
		}
		after, err := unix.SchedGetAttr(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if after.Policy != before.Policy || after.Priority != before.Priority {
			t.Errorf("policy %d priority %d after the sleep, want %d %d", after.Policy, after.Priority, before.Policy, before.Priority)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepPrecisely(ctx, time.Now().Add(time.Hour)); err != context.Canceled {
		t.Errorf("a cancelled sleep of an hour returned %v, want context.Canceled", err)
	}
}
