package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestEqualTimeFIFO(t *testing.T) {
	tests := []struct {
		name  string
		times []time.Duration // scheduling order
		want  []int           // execution order (indices into times)
	}{
		{"all equal", []time.Duration{5, 5, 5, 5}, []int{0, 1, 2, 3}},
		{"interleaved", []time.Duration{3, 1, 3, 1, 2}, []int{1, 3, 4, 0, 2}},
		{"past clamps to now", []time.Duration{-5, 0, -1}, []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKernel(1)
			var got []int
			for i, at := range tt.times {
				k.At(at, func() { got = append(got, i) })
			}
			k.Run(time.Hour)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestManyEqualTimesFIFO(t *testing.T) {
	// Enough events to exercise deep heap paths with equal keys.
	k := NewKernel(1)
	var got []int
	for i := range 5000 {
		k.At(time.Duration(i%7), func() { got = append(got, i) })
	}
	k.Run(10)
	for j := 1; j < len(got); j++ {
		a, b := got[j-1], got[j]
		if a%7 > b%7 || (a%7 == b%7 && a > b) {
			t.Fatalf("events %d then %d out of order", a, b)
		}
	}
	if len(got) != 5000 {
		t.Fatalf("ran %d events, want 5000", len(got))
	}
}

func TestRunBoundary(t *testing.T) {
	tests := []struct {
		name    string
		until   time.Duration
		wantRan []time.Duration
		wantNow time.Duration
	}{
		{"before first", 9, nil, 9},
		{"exactly first", 10, []time.Duration{10}, 10},
		{"between", 15, []time.Duration{10}, 15},
		{"exactly second", 20, []time.Duration{10, 20}, 20},
		{"after all", 100, []time.Duration{10, 20}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKernel(1)
			var ran []time.Duration
			for _, at := range []time.Duration{20, 10} {
				k.At(at, func() { ran = append(ran, k.Now()) })
			}
			k.Run(tt.until)
			if !slices.Equal(ran, tt.wantRan) {
				t.Errorf("ran at %v, want %v", ran, tt.wantRan)
			}
			if k.Now() != tt.wantNow {
				t.Errorf("Now = %v, want %v", k.Now(), tt.wantNow)
			}
			if k.Executed() != uint64(len(tt.wantRan)) {
				t.Errorf("Executed = %d, want %d", k.Executed(), len(tt.wantRan))
			}
		})
	}
}

func TestRunDoesNotGoBack(t *testing.T) {
	k := NewKernel(1)
	k.Run(50)
	k.Run(10)
	if k.Now() != 50 {
		t.Fatalf("Now = %v, want 50", k.Now())
	}
	fired := false
	k.At(10, func() { fired = k.Now() == 50 })
	k.Run(50)
	if !fired {
		t.Fatal("event in the past did not run at Now")
	}
}

func TestEventsScheduledDuringRun(t *testing.T) {
	k := NewKernel(1)
	var got []string
	k.At(10, func() {
		got = append(got, "a")
		k.After(0, func() { got = append(got, "a+0") })
		k.After(5, func() { got = append(got, "a+5") })
		k.After(11, func() { got = append(got, "a+11") })
	})
	k.At(10, func() { got = append(got, "b") })
	k.Run(20)
	want := []string{"a", "b", "a+0", "a+5"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	k.Run(21)
	if got[len(got)-1] != "a+11" {
		t.Fatalf("a+11 did not run at 21: %v", got)
	}
}

func TestStep(t *testing.T) {
	k := NewKernel(1)
	if k.Step() {
		t.Fatal("Step on empty kernel returned true")
	}
	k.At(7, func() {})
	stopped := k.At(3, func() { t.Error("stopped event ran") })
	stopped.Stop()
	if !k.Step() || k.Now() != 7 || k.Executed() != 1 {
		t.Fatalf("Step: Now=%v Executed=%d", k.Now(), k.Executed())
	}
	if k.Step() {
		t.Fatal("Step with only stopped events returned true")
	}
}

func TestStop(t *testing.T) {
	tests := []struct {
		name        string
		stopAt      time.Duration // when Stop is called (Run up to it first)
		fireAt      time.Duration
		wantStop    bool
		wantFired   bool
		wantPending bool // before Stop
	}{
		{"before firing", 5, 10, true, false, true},
		{"after firing", 15, 10, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKernel(1)
			fired := false
			tm := k.At(tt.fireAt, func() { fired = true })
			k.Run(tt.stopAt)
			if tm.Pending() != tt.wantPending {
				t.Errorf("Pending = %v, want %v", tm.Pending(), tt.wantPending)
			}
			if got := tm.Stop(); got != tt.wantStop {
				t.Errorf("Stop = %v, want %v", got, tt.wantStop)
			}
			if tm.Stop() {
				t.Error("second Stop returned true")
			}
			if tm.Pending() {
				t.Error("Pending after Stop")
			}
			k.Run(100)
			if fired != tt.wantFired {
				t.Errorf("fired = %v, want %v", fired, tt.wantFired)
			}
		})
	}
}

func TestStopZeroAndSelf(t *testing.T) {
	var zero Timer
	if zero.Stop() || zero.Pending() {
		t.Fatal("zero Timer is pending or stoppable")
	}
	k := NewKernel(1)
	var self Timer
	self = k.At(1, func() {
		if self.Pending() || self.Stop() {
			t.Error("running event is pending or stoppable")
		}
	})
	k.Run(1)
}

func TestStopGenerationAfterReuse(t *testing.T) {
	k := NewKernel(1)
	old := k.At(10, func() { t.Error("stopped event ran") })
	if !old.Stop() {
		t.Fatal("Stop of pending event returned false")
	}
	fired := false
	reused := k.At(10, func() { fired = true })
	if reused.slot != old.slot {
		t.Fatalf("slot not reused (%d vs %d); test does not exercise reuse", reused.slot, old.slot)
	}
	if old.Pending() || old.Stop() {
		t.Fatal("stale handle affects the event that reused its slot")
	}
	if !reused.Pending() {
		t.Fatal("new event not pending")
	}
	k.Run(10)
	if !fired {
		t.Fatal("new event did not run")
	}

	// Same after the first event fired rather than was stopped.
	first := k.After(1, func() {})
	k.Run(k.Now() + 1)
	second := k.After(1, func() {})
	if second.slot != first.slot {
		t.Fatalf("slot not reused after firing")
	}
	if first.Stop() || !second.Pending() {
		t.Fatal("handle of fired event stopped its slot's new event")
	}
}

func TestCompaction(t *testing.T) {
	// Reset one far timer many times (like a watchdog) alongside live ones:
	// the queue must stay bounded and order must be preserved.
	k := NewKernel(1)
	var got []int
	for i := range 100 {
		k.At(time.Duration(1000+i), func() { got = append(got, i) })
	}
	var wd Timer
	for i := range 100_000 {
		wd.Stop()
		wd = k.At(time.Duration(5000+i), func() { got = append(got, -1) })
	}
	if n := len(k.queue); n > 100+1+2*compactMin+2 {
		t.Fatalf("queue holds %d entries, want it compacted", n)
	}
	k.Run(time.Hour)
	if len(got) != 101 || got[100] != -1 {
		t.Fatalf("ran %d events, last %v", len(got), got[len(got)-1])
	}
	for i := range 100 {
		if got[i] != i {
			t.Fatalf("event %d ran at position %d", got[i], i)
		}
	}
}

func TestReentrantRunPanics(t *testing.T) {
	k := NewKernel(1)
	var rec any
	k.At(1, func() {
		defer func() { rec = recover() }()
		k.Run(5)
	})
	k.Run(1)
	if rec == nil {
		t.Fatal("Run from within an event did not panic")
	}
	// The kernel is still usable afterwards.
	ran := false
	k.After(1, func() { ran = true })
	k.Run(10)
	if !ran {
		t.Fatal("kernel unusable after recovered re-entrant Run")
	}
}

// randomSchedule runs a random self-extending schedule of n events with
// cancellations and returns the execution trace.
func randomSchedule(seed uint64, n int) string {
	k := NewKernel(seed)
	r := k.Rand("test/schedule")
	var trace []byte
	var timers []Timer
	id := 0
	var schedule func()
	schedule = func() {
		id++
		me := id
		d := time.Duration(r.IntN(50)) * time.Microsecond // many equal times
		timers = append(timers, k.After(d, func() {
			trace = fmt.Appendf(trace, "%d@%d ", me, k.Now())
			if id < n {
				for range r.IntN(3) {
					schedule()
				}
			}
			if len(timers) > 0 && r.IntN(4) == 0 {
				timers[r.IntN(len(timers))].Stop()
			}
		}))
	}
	for range 100 {
		schedule()
	}
	for k.Step() {
	}
	return fmt.Sprintf("executed=%d now=%d\n%s", k.Executed(), k.Now(), trace)
}

func TestRandomScheduleDeterministic(t *testing.T) {
	for _, seed := range []uint64{0, 1, 42, 1 << 63} {
		a := randomSchedule(seed, 10_000)
		b := randomSchedule(seed, 10_000)
		if a != b {
			t.Fatalf("seed %d: two runs differ", seed)
		}
		if len(a) < 10_000 {
			t.Fatalf("seed %d: trace too short (%d bytes)", seed, len(a))
		}
	}
	if randomSchedule(1, 10_000) == randomSchedule(2, 10_000) {
		t.Fatal("different seeds gave the same run")
	}
}

func TestScheduleMatchesReferenceOrder(t *testing.T) {
	// Against a sort of (time, seq): the heap must produce exactly that order.
	k := NewKernel(7)
	r := k.Rand("test/ref")
	type ev struct {
		at  time.Duration
		seq int
	}
	var want []ev
	var got []int
	stopped := map[int]bool{}
	var timers []Timer
	for i := range 10_000 {
		at := time.Duration(r.IntN(1000))
		want = append(want, ev{at, i})
		timers = append(timers, k.At(at, func() { got = append(got, i) }))
	}
	for range 3000 {
		i := r.IntN(len(timers))
		if timers[i].Stop() {
			stopped[i] = true
		}
	}
	slices.SortStableFunc(want, func(a, b ev) int { return int(a.at - b.at) })
	k.Run(time.Hour)
	var wantIDs []int
	for _, e := range want {
		if !stopped[e.seq] {
			wantIDs = append(wantIDs, e.seq)
		}
	}
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("order differs from reference (got %d events, want %d)", len(got), len(wantIDs))
	}
}

func TestNoAllocsPerEvent(t *testing.T) {
	k := NewKernel(1)
	var fn func()
	fn = func() { k.After(3, fn) }
	for range 100 {
		k.After(1, fn)
	}
	k.Run(1000) // grow the queue and slots to working size
	allocs := testing.AllocsPerRun(100, func() {
		for range 1000 {
			k.Step()
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 1000 events, want 0", allocs)
	}
}

// TestRunContextStops: an endless stream of events stops within ctxEvery
// events of its context being cancelled (from inside an event here), leaves
// Now at the last event run, and keeps the rest queued for a later Run.
func TestRunContextStops(t *testing.T) {
	k := NewKernel(1)
	ctx, cancel := context.WithCancel(context.Background())
	ran, cancelledAt := 0, 0
	var tick func()
	tick = func() {
		ran++
		if ran == 10000 {
			cancel()
			cancelledAt = ran
		}
		k.After(time.Millisecond, tick)
	}
	k.At(0, tick)
	err := k.RunContext(ctx, 1000*time.Hour)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunContext = %v, want context.Canceled", err)
	}
	if ran < cancelledAt || ran > cancelledAt+ctxEvery {
		t.Errorf("ran %d events, cancelled after %d: want at most %d more", ran, cancelledAt, ctxEvery)
	}
	if want := time.Duration(ran-1) * time.Millisecond; k.Now() != want {
		t.Errorf("Now = %v, want the last event's time %v", k.Now(), want)
	}
	before := ran
	k.Run(k.Now() + 10*time.Millisecond)
	if ran != before+10 {
		t.Errorf("a later Run ran %d events, want the 10 still due", ran-before)
	}
}

// TestRunContextNeverDone: with a context that is never done, RunContext
// is Run.
func TestRunContextNeverDone(t *testing.T) {
	k := NewKernel(1)
	n := 0
	for i := range 100 {
		k.At(time.Duration(i)*time.Second, func() { n++ })
	}
	if err := k.RunContext(context.Background(), time.Hour); err != nil || n != 100 || k.Now() != time.Hour {
		t.Errorf("RunContext = %v, ran %d of 100, Now %v (want 1h)", err, n, k.Now())
	}
}
