package reports

import (
	"fmt"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// A priority track ends where its router stops or crashes (the history
// holds no priority for a router that is not running) and starts again
// when it boots.
func TestPriorityTrackEndsAtStop(t *testing.T) {
	h := append(splitBrainHistory(),
		vrrpEv(36, "r3", "INIT", "BACKUP", 50, "startup"))
	tl, ok := buildTimeline(Report{Lab: "split", History: h, Duration: 40 * time.Second})
	if !ok {
		t.Fatal("no timeline")
	}
	want := map[int]string{ // lane index -> track
		1: "[{0 150} {30 90}]",
		3: fmt.Sprintf("[{0 100} {32 %d}]", noPrio),
		5: fmt.Sprintf("[{0 50} {25 %d} {36 50}]", noPrio),
	}
	for i, w := range want {
		if got := fmt.Sprint(tl.lanes[i].prio); got != w {
			t.Errorf("lane %d (%s under %s): track %s, want %s", i, tl.lanes[i].name, tl.lanes[i-1].name, got, w)
		}
	}
	if tl.prioLo != 50 || tl.prioHi != 150 {
		t.Errorf("priority scale %d..%d, want 50..150", tl.prioLo, tl.prioHi)
	}
}

// A vip event naming several holders (a split brain, as the VIP owner
// chain records it) is drawn with every holder, never as "nobody".
func TestVIPRowHolders(t *testing.T) {
	split := vipEv(13.6, "", "r1")
	split.Holders = "r1,r2"
	h := []history.Event{vipEv(3.4, "r1", ""), split, vipEv(20.1, "r1", "r2")}
	tl, ok := buildTimeline(Report{Lab: "split", History: h, Duration: 40 * time.Second})
	if !ok {
		t.Fatal("no timeline")
	}
	var got []string
	for _, b := range tl.lanes[0].bars {
		got = append(got, fmt.Sprintf("%s@%g", b.label, b.from))
	}
	if s := fmt.Sprint(got); s != "[r1@3.4 r1 + r2@13.6 r1@20.1]" {
		t.Errorf("VIP row %s", s)
	}
}
