package freelist

import "testing"

type obj struct {
	n    int
	self func() int
}

// TestGetPut checks that Get returns the object put back last, makes one
// with the list's maker when it has none, and with new(T) without one.
func TestGetPut(t *testing.T) {
	made := 0
	l := New(func() *obj {
		made++
		o := &obj{}
		o.self = func() int { return o.n }
		return o
	})
	a, b := l.Get(), l.Get()
	if made != 2 || a == b || a.self == nil {
		t.Fatalf("made %d, a %p, b %p", made, a, b)
	}
	a.n = 7
	l.Put(b)
	l.Put(a)
	if l.Len() != 2 {
		t.Fatalf("len %d, want 2", l.Len())
	}
	if got := l.Get(); got != a || got.self() != 7 {
		t.Fatalf("got %p (%d), want a (7)", got, got.self())
	}
	if got := l.Get(); got != b || made != 2 {
		t.Fatalf("got %p, made %d; want b, 2", got, made)
	}
	var z List[obj]
	if o := z.Get(); o == nil || o.n != 0 {
		t.Fatalf("zero list: %+v", o)
	}
}
