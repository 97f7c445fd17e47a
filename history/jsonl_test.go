package history

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStampExactSeconds(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{3 * time.Second, "3"},
		{3609375 * time.Microsecond, "3.609375"},
		{time.Nanosecond, "0.000000001"},
		{-500 * time.Millisecond, "-0.5"},
		{10*time.Second + 123456789, "10.123456789"},
	}
	for _, c := range cases {
		got, _ := Stamp(c.d).MarshalJSON()
		if string(got) != c.want {
			t.Errorf("Stamp(%v) = %s, want %s", c.d, got, c.want)
		}
		var back Stamp
		if err := back.UnmarshalJSON(got); err != nil || time.Duration(back) != c.d {
			t.Errorf("round trip of %s gave %v (%v), want %v", got, time.Duration(back), err, c.d)
		}
	}
}

func TestJSONLRoundTripAndLineErrors(t *testing.T) {
	ok := true
	in := []Event{
		{T: Stamp(10 * time.Second), Kind: KindFault, Fault: "crash", Target: "r1"},
		{T: Stamp(13214843750), Kind: KindVRRP, Router: "r2", VRID: 51, From: "BACKUP", To: "MASTER", Priority: 100, Reason: "master down timer expired"},
		{T: Stamp(13300000000), Kind: KindNet, Src: "client", Dst: "10.0.0.1", OK: &ok, RTT: Stamp(200 * time.Microsecond)},
	}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, in); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `{"t":10,"kind":"fault","fault":"crash","target":"r1"}`+"\n") {
		t.Fatalf("first line: %q", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	out, err := ReadJSONL(&buf, "h.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[1].T != in[1].T || out[1].To != "MASTER" || out[2].RTT != in[2].RTT || !*out[2].OK {
		t.Fatalf("round trip: %+v", out)
	}
	_, err = ReadJSONL(strings.NewReader("{\"t\":1,\"kind\":\"vrrp\"}\n{\"t\":2,\"kynd\":\"x\"}\n"), "bad.jsonl")
	if err == nil || !strings.Contains(err.Error(), "bad.jsonl:2:") {
		t.Fatalf("want an error naming line 2, got %v", err)
	}
}

func TestLogOrdersByTimeStably(t *testing.T) {
	var l Log
	for i := range 3*chunkLen + 7 {
		l.Add(Event{T: Stamp(i / 2), Kind: KindNet, Src: "a"})
	}
	l.Add(Event{T: 5, Kind: KindNet, Src: "late"}) // out of order: sorts, stably
	evs := l.Events()
	if len(evs) != 3*chunkLen+8 || l.Len() != len(evs) {
		t.Fatalf("%d events", len(evs))
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].T < evs[i-1].T {
			t.Fatalf("event %d at %v before %v", i, evs[i].T, evs[i-1].T)
		}
	}
	if evs[12].Src != "late" || evs[11].Src != "a" || evs[12].T != 5 {
		t.Fatalf("the late event is not after the earlier ones at its time: %+v %+v", evs[11], evs[12])
	}
	l.Add(Event{T: 1 << 40, Kind: KindNet})
	if got := l.Events(); len(got) != len(evs)+1 {
		t.Fatalf("add after Events: %d", len(got))
	}
}

// An event added after Events sorted the log is compared with the latest
// event, not with the last one added before the sort (the netns runner
// merges agents' histories, reads them, and then adds the faults).
func TestLogSortsAgainAfterEvents(t *testing.T) {
	var l Log
	l.Add(Event{T: 20, Src: "r2 stops"})
	l.Add(Event{T: 3, Src: "r1 master"})
	l.Add(Event{T: 10, Src: "r1 last advert"})
	l.Events()
	l.Add(Event{T: 11, Src: "crash"}) // after 10, the last added, but before 20
	var got []string
	for _, e := range l.Events() {
		got = append(got, e.Src)
	}
	want := []string{"r1 master", "r1 last advert", "crash", "r2 stops"}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// A writer killed in the middle of a line leaves half a line at the end of
// the file: the events before it are read, the cut line is left out; a bad
// line that is not the cut end is still an error.
func TestReadJSONLCutLastLine(t *testing.T) {
	var buf bytes.Buffer
	evs := []Event{{T: 1, Kind: "fault"}, {T: 2, Kind: "fault"}}
	if err := WriteJSONL(&buf, evs); err != nil {
		t.Fatal(err)
	}
	whole := buf.String()
	cut := whole + `{"t":3,"kind":"fau`
	got, err := ReadJSONL(strings.NewReader(cut), "h.jsonl")
	if err != nil || len(got) != 2 {
		t.Fatalf("cut last line: got %d events, err %v; want 2, nil", len(got), err)
	}
	if _, err := ReadJSONL(strings.NewReader(cut+"\n"), "h.jsonl"); err == nil || !strings.Contains(err.Error(), "h.jsonl:3") {
		t.Fatalf("a bad terminated last line: err %v, want h.jsonl:3", err)
	}
	if _, err := ReadJSONL(strings.NewReader(`{"t":3,"kind":"fau`+"\n"+whole), "h.jsonl"); err == nil || !strings.Contains(err.Error(), "h.jsonl:1") {
		t.Fatalf("a bad first line: err %v, want h.jsonl:1", err)
	}
	got, err = ReadJSONL(strings.NewReader(strings.TrimSuffix(whole, "\n")), "h.jsonl")
	if err != nil || len(got) != 2 {
		t.Fatalf("a good last line without its line end: got %d, %v", len(got), err)
	}
}
