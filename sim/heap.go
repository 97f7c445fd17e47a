package sim

import "time"

// event is one entry of the kernel's queue: a pending call of the function in
// slot slot, valid while the slot's generation still equals gen.
type event struct {
	at   time.Duration // absolute virtual time
	seq  uint64        // scheduling order, the tie-break for equal times
	slot uint32        // index into Kernel.slots
	gen  uint32        // Kernel.slots[slot].gen when scheduled
}

// before reports whether e runs before o.
func (e *event) before(o *event) bool {
	return e.at < o.at || (e.at == o.at && e.seq < o.seq)
}

// The queue is an implicit 4-ary min-heap in a slice: the children of i are
// 4i+1 .. 4i+4, its parent is (i-1)/4. A 4-ary heap has half the depth of a
// binary one and keeps siblings in one cache line.

// heapPush appends e and restores the heap order.
func heapPush(h []event, e event) []event {
	h = append(h, e)
	siftUp(h, len(h)-1)
	return h
}

// heapPop removes and returns the minimum of a non-empty heap.
func heapPop(h []event) (event, []event) {
	top := h[0]
	n := len(h) - 1
	if n > 0 {
		h[0] = h[n]
		h = h[:n]
		siftDown(h, 0)
	} else {
		h = h[:0]
	}
	return top, h
}

// heapInit establishes the heap order over an arbitrary slice.
func heapInit(h []event) {
	if len(h) < 2 {
		return
	}
	for i := (len(h) - 2) / 4; i >= 0; i-- {
		siftDown(h, i)
	}
}

// siftUp moves h[i] up to its place.
func siftUp(h []event, i int) {
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if !e.before(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
}

// siftDown moves h[i] down to its place.
func siftDown(h []event, i int) {
	n := len(h)
	e := h[i]
	for {
		c := 4*i + 1
		if c+3 < n {
			// Four children, the common case: pick the least with flag
			// arithmetic rather than unpredictable branches.
			q := (*[4]event)(h[c : c+4])
			x := yFirst(&q[0], &q[1])
			y := 2 + yFirst(&q[2], &q[3])
			m := (x + (y-x)*yFirst(&q[x&3], &q[y&3])) & 3 // &3: no bounds checks
			if !q[m].before(&e) {
				break
			}
			h[i] = q[m]
			i = c + m
			continue
		}
		if c >= n {
			break
		}
		m := c
		for j := c + 1; j < n; j++ {
			if h[j].before(&h[m]) {
				m = j
			}
		}
		if !h[m].before(&e) {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = e
}

// yFirst returns 1 if y runs before x, else 0, without branching.
func yFirst(x, y *event) int {
	return b2i(y.at < x.at) | (b2i(y.at == x.at) & b2i(y.seq < x.seq))
}

// b2i converts a bool to 0 or 1 (compiled to a SETcc).
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}
