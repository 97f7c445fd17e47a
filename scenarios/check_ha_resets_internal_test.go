package scenarios

import (
	"testing"

	"github.com/lblab/lblab/history"
)

// connections_reset counts each request that met a reset once: failed
// with one, resent after one (answered, failed otherwise, or still in
// flight at the end); requests_failed_by_class counts only failures.
func TestHATallyResets(t *testing.T) {
	tally := newHATally()
	for _, e := range []history.Event{
		{Src: "c", Status: 200},                         // plain
		{Src: "c", Status: 200, Resent: "reset"},        // resent, answered
		{Src: "c", Error: "reset"},                      // failed with a reset
		{Src: "c", Error: "reset", Resent: "reset"},     // reset twice: one request
		{Src: "c", Error: "timeout", Resent: "reset"},   // resent, then timed out
		{Src: "c", Error: "in_flight", Resent: "reset"}, // resent, unknown at the end
		{Src: "c", Error: "timeout"},                    // no reset
		{Status: 200, Resent: "reset"},                  // not a client host's
	} {
		tally.add(&e)
	}
	if tally.resets != 5 {
		t.Fatalf("%d requests met a reset, want 5", tally.resets)
	}
	if want := map[string]int{"reset": 2, "timeout": 2}; len(tally.byClass) != 2 ||
		tally.byClass["reset"] != want["reset"] || tally.byClass["timeout"] != want["timeout"] {
		t.Fatalf("failed by class %v, want %v", tally.byClass, want)
	}
}
