// Package freelist is a free list of objects a simulator part reuses, so
// that its hot path (a request, a try, a job) costs no heap object of its
// own. The user of a list states each type's ownership rule: an object
// goes back (Put) only when nothing holds it any more, the kernel's
// pending events and the callbacks handed out included.
package freelist

// List is a free list of *T. The zero List makes new objects with new(T);
// New gives it a maker of its own (one that binds method values once, for
// instance). A List is not safe for concurrent use.
type List[T any] struct {
	spare []*T
	make  func() *T
}

// New returns an empty list that makes an object with make when it has
// none to give.
func New[T any](make func() *T) List[T] { return List[T]{make: make} }

// Get returns the object put back last, or a new one when there is none.
func (l *List[T]) Get() *T {
	if n := len(l.spare); n > 0 {
		x := l.spare[n-1]
		l.spare[n-1] = nil
		l.spare = l.spare[:n-1]
		return x
	}
	if l.make == nil {
		return new(T)
	}
	return l.make()
}

// Put gives x back for a later Get. The caller resets first what must not
// leak into x's next use.
func (l *List[T]) Put(x *T) { l.spare = append(l.spare, x) }

// Len returns how many objects the list holds.
func (l *List[T]) Len() int { return len(l.spare) }
