package sim

import (
	"context"
	"math/rand/v2"
	"time"
)

// Kernel is a deterministic discrete-event scheduler on virtual time. Events
// run one at a time, ordered by time and, for equal times, by the order in
// which they were scheduled. Virtual time starts at 0 and only moves forward,
// when an event runs or when [Kernel.Run] reaches its bound.
//
// Scheduling and running an event does not allocate once the queue has grown
// to its working size: events live in a slice-backed 4-ary heap of small
// structs and their function slots are recycled through a free list.
// Stopped events are deleted lazily (their slot's generation no longer
// matches) and the queue is compacted when more than half of it is dead.
//
// A Kernel is not safe for concurrent use.
type Kernel struct {
	seed     uint64
	now      time.Duration
	seq      uint64
	executed uint64
	running  bool

	queue []event  // 4-ary min-heap on (at, seq)
	slots []slot   // event functions, indexed by event.slot
	free  []uint32 // released slot indices
	dead  int      // stopped events still in queue

	rands map[string]*rand.Rand
}

// slot holds the function of one scheduled event; fn == nil marks it free.
type slot struct {
	fn  func()
	gen uint32 // bumped on every release, so stale Timers and queue entries miss
}

// compactMin is the number of dead queue entries below which the kernel never
// compacts: compaction is O(n) and pointless for small queues.
const compactMin = 256

// NewKernel returns a kernel at virtual time 0 whose random streams derive
// from seed.
func NewKernel(seed uint64) *Kernel {
	return &Kernel{seed: seed, rands: make(map[string]*rand.Rand)}
}

// Seed returns the seed the kernel was created with.
func (k *Kernel) Seed() uint64 { return k.seed }

// Now returns the current virtual time since the start of the run, with
// nanosecond resolution.
func (k *Kernel) Now() time.Duration { return k.now }

// Executed returns the number of events run so far (stopped events excluded).
func (k *Kernel) Executed() uint64 { return k.executed }

// At schedules fn to run at absolute virtual time t; a t before Now runs at
// Now (after the events already due then). Events with equal times run in the
// order they were scheduled. fn must not be nil. At may be called from a
// running event.
func (k *Kernel) At(t time.Duration, fn func()) Timer {
	if fn == nil {
		panic("sim: Kernel.At with nil function")
	}
	if t < k.now {
		t = k.now
	}
	var i uint32
	if n := len(k.free); n > 0 {
		i = k.free[n-1]
		k.free = k.free[:n-1]
	} else {
		i = uint32(len(k.slots))
		k.slots = append(k.slots, slot{})
	}
	s := &k.slots[i]
	s.fn = fn
	k.seq++
	k.queue = heapPush(k.queue, event{at: t, seq: k.seq, slot: i, gen: s.gen})
	return Timer{k: k, slot: i, gen: s.gen}
}

// After schedules fn to run d after Now, that is At(Now()+d, fn). A negative
// d runs at Now.
func (k *Kernel) After(d time.Duration, fn func()) Timer {
	return k.At(k.now+d, fn)
}

// Step runs the next pending event, advancing Now to its time. It returns
// false, doing nothing, if no event is pending. Step must not be called from a
// running event.
func (k *Kernel) Step() bool {
	k.enter()
	defer k.leave()
	for len(k.queue) > 0 {
		if k.runTop() {
			return true
		}
	}
	return false
}

// Run runs, in order, every event whose time is at most until, including
// events scheduled meanwhile (at the current time or later) as long as their
// time is at most until. Then, if until is after Now, it sets Now to until.
// Run must not be called from a running event.
func (k *Kernel) Run(until time.Duration) { _ = k.RunContext(context.Background(), until) }

// ctxEvery is how many events RunContext runs between two looks at its
// context: a look costs a channel poll, an event about 100 ns, so a
// cancelled run stops within a millisecond or so.
const ctxEvery = 4096

// RunContext is Run that gives up, between two events, once ctx is done
// (it looks every ctxEvery events). It then returns ctx's error and leaves
// Now at the last event run; the events not run stay queued.
func (k *Kernel) RunContext(ctx context.Context, until time.Duration) error {
	k.enter()
	defer k.leave()
	done := ctx.Done() // nil for a context that is never done: no look
	for n := 0; len(k.queue) > 0 && k.queue[0].at <= until; n++ {
		if done != nil && n%ctxEvery == 0 {
			select {
			case <-done:
				return ctx.Err()
			default:
			}
		}
		k.runTop()
	}
	if until > k.now {
		k.now = until
	}
	return nil
}

// runTop pops the head of the queue and runs it. It reports false if the head
// was a stopped event.
func (k *Kernel) runTop() bool {
	var e event
	e, k.queue = heapPop(k.queue)
	s := &k.slots[e.slot]
	if s.gen != e.gen {
		k.dead--
		return false
	}
	fn := s.fn
	k.release(e.slot)
	k.now = e.at
	k.executed++
	fn()
	return true
}

// release frees slot i for reuse and invalidates every handle to it.
func (k *Kernel) release(i uint32) {
	s := &k.slots[i]
	s.fn = nil
	s.gen++
	k.free = append(k.free, i)
}

// maybeCompact drops stopped events from the queue once they are the
// majority, bounding memory when timers are reset far more often than they
// fire.
func (k *Kernel) maybeCompact() {
	if k.dead < compactMin || 2*k.dead < len(k.queue) {
		return
	}
	live := k.queue[:0]
	for _, e := range k.queue {
		if k.slots[e.slot].gen == e.gen {
			live = append(live, e)
		}
	}
	clear(k.queue[len(live):])
	k.queue = live
	k.dead = 0
	heapInit(k.queue)
}

func (k *Kernel) enter() {
	if k.running {
		panic("sim: Kernel.Run or Step called from a running event")
	}
	k.running = true
}

func (k *Kernel) leave() { k.running = false }
