package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// marshalStd is what encoding/json writes for ev (no HTML escaping), the
// form AppendJSON must reproduce byte for byte.
func marshalStd(t testing.TB, ev *Event) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// randomEvent sets each field of an event or leaves it unset, with
// strings that need escaping among them.
func randomEvent(r *rand.Rand) Event {
	strs := []string{"", "r1", "10.0.0.1:80", "session moved from a:80", `say "hi"`, `back\slash`,
		"tab\there", "new\nline", "\x00\x1f\b\f", "<html>&", "p3 宕机", "\u2028\u2029", "bad \xff utf8", "\x7f"}
	s := func() string { return strs[r.IntN(len(strs))] }
	n := func() int {
		if r.IntN(2) == 0 {
			return 0
		}
		return r.IntN(2000) - 500
	}
	st := func() Stamp {
		if r.IntN(2) == 0 {
			return 0
		}
		return Stamp(r.Int64N(1e12) - 1e11)
	}
	// Every field is filled by its type, so that a field added to Event
	// and forgotten by AppendJSON fails this test.
	var ev Event
	v := reflect.ValueOf(&ev).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Type() == reflect.TypeOf(Stamp(0)):
			f.SetInt(int64(st()))
		case f.Type() == reflect.TypeOf(Kind("")):
			f.SetString(s())
		case f.Kind() == reflect.String:
			f.SetString(s())
		case f.Kind() == reflect.Int:
			f.SetInt(int64(n()))
		case f.Kind() == reflect.Uint64:
			if r.IntN(2) == 0 {
				f.SetUint(r.Uint64())
			}
		case f.Type() == reflect.TypeOf((*bool)(nil)):
			if r.IntN(3) > 0 {
				ok := r.IntN(2) == 0
				f.Set(reflect.ValueOf(&ok))
			}
		default:
			panic("randomEvent: no generator for field " + v.Type().Field(i).Name + " of type " + f.Type().String())
		}
	}
	return ev
}

// AppendJSON writes what encoding/json writes, for every field set or
// unset and strings that need escaping.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		ev := randomEvent(r)
		if got, want := string(AppendJSON(nil, &ev)), marshalStd(t, &ev); got != want {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
	if got := string(AppendJSON(nil, &Event{})); got != `{"t":0,"kind":""}`+"\n" {
		t.Fatalf("empty event: %s", got)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("r1", "x\ny", int64(10609375000), 200)
	f.Fuzz(func(t *testing.T, s, u string, ns int64, n int) {
		ev := Event{T: Stamp(ns), Kind: Kind(s), Router: u, Reason: s + u, Status: n, Latency: Stamp(-ns)}
		if got, want := string(AppendJSON(nil, &ev)), marshalStd(t, &ev); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
}

// Adding a request event to a Writer allocates nothing: the proxy adds
// one per request.
func TestWriterAddRequestDoesNotAllocate(t *testing.T) {
	w := NewWriter(ioDiscard{}, WriterOptions{})
	ev := Event{T: 1234567891, Kind: KindRequest, Client: "10.1.0.7", Listener: "web", Group: "web",
		Backend: "10.0.0.3:80", Status: 200, Start: 1200000000, Latency: 34567891, Tries: 1}
	w.Add(ev)
	if n := testing.AllocsPerRun(1000, func() { w.Add(ev) }); n != 0 {
		t.Fatalf("%v allocations a request event, want 0", n)
	}
}

type ioDiscard struct{}

func (ioDiscard) Write(b []byte) (int, error) { return len(b), nil }

// countingWriter records each Write it gets.
type countingWriter struct {
	mu     sync.Mutex
	writes []string
	fail   bool
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return 0, errors.New("disk full")
	}
	c.writes = append(c.writes, string(b))
	return len(b), nil
}

// Every write of a Writer ends at the end of a line: a small buffer is
// flushed before a line that does not fit; EveryLine writes each line
// alone; an error is kept and returned by Close.
func TestWriterWritesWholeLines(t *testing.T) {
	var c countingWriter
	w := NewWriter(&c, WriterOptions{Buffer: 100})
	for i := range 50 {
		w.Add(Event{T: Stamp(i) * Stamp(time.Millisecond), Kind: KindNet, Src: strings.Repeat("h", i%7+1)})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(c.writes) < 10 {
		t.Fatalf("%d writes for 50 lines through a 100-byte buffer", len(c.writes))
	}
	for _, s := range c.writes {
		if !strings.HasSuffix(s, "\n") {
			t.Fatalf("a write ends mid-line: %q", s)
		}
	}
	var l countingWriter
	e := NewWriter(&l, WriterOptions{EveryLine: true})
	e.Add(Event{T: 1, Kind: KindVRRP})
	e.Add(Event{T: 2, Kind: KindVRRP})
	if len(l.writes) != 2 || l.writes[1] != `{"t":0.000000002,"kind":"vrrp"}`+"\n" {
		t.Fatalf("EveryLine writes: %q", l.writes)
	}
	f := countingWriter{fail: true}
	bad := NewWriter(&f, WriterOptions{EveryLine: true})
	bad.Add(Event{Kind: KindVRRP})
	if err := bad.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close after a failed write: %v", err)
	}
}
