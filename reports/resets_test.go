package reports

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// Each client host's operations that met a reset are counted once, over
// the whole run: a request failed with one, one resent after one (ok,
// failed or in flight at the end), a tcp probe reset; a request resent
// and answered is no failure. The outage table shows them in a column
// of their own, apart from the failures by class.
func TestOutageCountsResets(t *testing.T) {
	sec := func(s float64) history.Stamp { return history.Stamp(s * float64(time.Second)) }
	req := func(at float64, status int, err, resent string) history.Event {
		return history.Event{T: sec(at), Kind: history.KindRequest, Src: "c1", Status: status, Error: err,
			Start: sec(at - 0.1), Resent: resent}
	}
	evs := []history.Event{
		req(1, 200, "", ""),
		req(2, 0, "timeout", ""),
		req(3, 200, "", "reset"),
		req(4, 0, "reset", ""),
		req(5, 0, "reset", "reset"),
		req(6, 200, "", ""),
		req(9, 0, "in_flight", "reset"),
		{T: sec(2), Kind: history.KindNet, Src: "c1", Probe: "tcp", Error: "reset"},
		{T: sec(3), Kind: history.KindNet, Src: "c1", Probe: "tcp", OK: new(bool)},
	}
	slices.SortStableFunc(evs, func(a, b history.Event) int { return cmp.Compare(a.T, b.T) })
	outs := Outages(evs, 10*time.Second)
	req1, tcp := outageOf(t, outs, "c1", "requests"), outageOf(t, outs, "c1", "tcp")
	if req1.Resets != 4 || tcp.Resets != 1 {
		t.Fatalf("resets: requests %d, tcp probes %d; want 4 and 1", req1.Resets, tcp.Resets)
	}
	if req1.Failures != 3 || req1.Unknown != 1 {
		t.Fatalf("%d failures, %d unknown: want 3 (a timeout, two resets) and 1", req1.Failures, req1.Unknown)
	}
	v := outageSection(langOf(LangEnglish), Report{History: evs, Duration: 10 * time.Second})
	if len(v.Rows) != 1 || v.Rows[0][6].Text != "4" || v.Head[6] != "connections reset" ||
		!strings.Contains(v.Intro, "connections_reset") {
		t.Fatalf("outage table %q %v, intro %q: want 4 connections reset for c1", v.Head, v.Rows, v.Intro)
	}
}
