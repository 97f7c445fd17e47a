package simload

// links are an element's place in a chain: the elements before and after
// it.
type links[T any] struct{ prev, next *T }

// chained is *T that has its links in a chain.
type chained[T any] interface {
	*T
	chainLinks() *links[T]
}

// chain is a doubly linked list of *T in the order pushed: O(1) push and
// removal, and a defined order to walk (from first, by links.next). The
// links live in the elements, so a chain allocates nothing.
type chain[T any, P chained[T]] struct{ first, last *T }

// push appends e, which must be in no chain.
func (l *chain[T, P]) push(e *T) {
	el := P(e).chainLinks()
	el.prev, el.next = l.last, nil
	if l.last == nil {
		l.first = e
	} else {
		P(l.last).chainLinks().next = e
	}
	l.last = e
}

// remove unlinks e, which must be in l.
func (l *chain[T, P]) remove(e *T) {
	el := P(e).chainLinks()
	if el.prev == nil {
		l.first = el.next
	} else {
		P(el.prev).chainLinks().next = el.next
	}
	if el.next == nil {
		l.last = el.prev
	} else {
		P(el.next).chainLinks().prev = el.prev
	}
	el.prev, el.next = nil, nil
}
