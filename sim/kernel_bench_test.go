package sim

import (
	"container/heap"
	"testing"
	"time"
)

// The benchmark workload: benchTimers self-rescheduling timers, each
// rescheduling itself after the next delay of a fixed table (1µs..1ms, in a
// scrambled order), so the queue holds benchTimers events at all times.
const benchTimers = 1000

var benchDelays = func() [1024]time.Duration {
	var t [1024]time.Duration
	for i := range t {
		t[i] = time.Duration(1+(i*7919)%1000) * time.Microsecond
	}
	return t
}()

// BenchmarkKernel runs b.N events of the workload on a Kernel and reports
// events/s.
func BenchmarkKernel(b *testing.B) {
	k := NewKernel(1)
	for i := range benchTimers {
		n := i * 37
		var fn func()
		fn = func() {
			n++
			k.After(benchDelays[n&1023], fn)
		}
		k.After(benchDelays[n&1023], fn)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		k.Step()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// refEvent is the naive reference: one heap-allocated struct per event.
type refEvent struct {
	at    time.Duration
	seq   uint64
	fn    func()
	index int
}

type refQueue []*refEvent

func (q refQueue) Len() int { return len(q) }
func (q refQueue) Less(i, j int) bool {
	return q[i].at < q[j].at || (q[i].at == q[j].at && q[i].seq < q[j].seq)
}
func (q refQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}
func (q *refQueue) Push(x any) {
	e := x.(*refEvent)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *refQueue) Pop() any {
	old := *q
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*q = old[:n-1]
	return e
}

type refKernel struct {
	now time.Duration
	seq uint64
	q   refQueue
}

func (k *refKernel) after(d time.Duration, fn func()) *refEvent {
	k.seq++
	e := &refEvent{at: k.now + d, seq: k.seq, fn: fn}
	heap.Push(&k.q, e)
	return e
}

func (k *refKernel) step() bool {
	if len(k.q) == 0 {
		return false
	}
	e := heap.Pop(&k.q).(*refEvent)
	k.now = e.at
	e.fn()
	return true
}

// BenchmarkReferenceHeap runs the same workload on a container/heap queue of
// *refEvent, allocating one struct per event, for comparison.
func BenchmarkReferenceHeap(b *testing.B) {
	k := &refKernel{}
	for i := range benchTimers {
		n := i * 37
		var fn func()
		fn = func() {
			n++
			k.after(benchDelays[n&1023], fn)
		}
		k.after(benchDelays[n&1023], fn)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		k.step()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
