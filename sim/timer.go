package sim

// Timer is a small value handle to an event scheduled with [Kernel.At] or
// [Kernel.After]. The zero Timer refers to no event: Stop and Pending on it
// return false. Copies of a Timer refer to the same event.
//
// A Timer stays safe to use after its event ran or was stopped, even once the
// kernel has reused the event's storage for a new event: each storage slot has
// a generation counter, and a handle only matches the generation it was
// issued for.
type Timer struct {
	k    *Kernel
	slot uint32
	gen  uint32
}

// Stop cancels the event. It reports whether the event was pending, that is,
// false if it already ran, was already stopped, or t is the zero Timer.
// Stopping the event that is currently running returns false.
func (t Timer) Stop() bool {
	if !t.Pending() {
		return false
	}
	t.k.release(t.slot)
	t.k.dead++
	t.k.maybeCompact()
	return true
}

// Pending reports whether the event is still scheduled: it has neither run
// (or started running) nor been stopped.
func (t Timer) Pending() bool {
	if t.k == nil || int(t.slot) >= len(t.k.slots) {
		return false
	}
	s := &t.k.slots[t.slot]
	return s.gen == t.gen && s.fn != nil
}
