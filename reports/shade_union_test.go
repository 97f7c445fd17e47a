package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// Faults in effect at the same time (three backends crashed at 20 s, as
// in backend-crash) are shaded once, as their union: stacked translucent
// spans made a dark band unlike the legend's swatch.
func TestFaultShadesAreOneUnion(t *testing.T) {
	h := []history.Event{
		faultEv(20, "crash", "a1:80"), faultEv(20, "crash", "a2:80"), faultEv(20, "crash", "a3:80"),
		faultEv(30, "restore", "a1:80"), faultEv(35, "restore", "a2:80"),
		faultEv(45, "crash", "a1:80"), faultEv(50, "restore", "a1:80"),
	}
	_, shades := lbFaults(h, 60)
	if got := fmt.Sprint(unionSpans(shades)); got != "[{20 60}]" {
		t.Errorf("lb shades %v drawn as %s, want [{20 60}]", shades, got)
	}
	if got := fmt.Sprint(unionSpans([]tlSpan{{1, 2}, {2, 3}, {5, 6}, {5.5, 5.7}})); got != "[{1 3} {5 6}]" {
		t.Errorf("union %s, want [{1 3} {5 6}]", got)
	}
	// Drawn in every LB panel: three faults at once shade as much as one.
	shadesIn := func(faults ...history.Event) int {
		r := twoGroupsInFlight()
		r.History = append(r.History, faults...)
		dir := t.TempDir()
		if _, err := Write(dir, r); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, latencyName+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "fill:#D52627;fill-opacity:0.18039")
	}
	one := shadesIn(faultEv(2, "crash", "a1:80"))
	if three := shadesIn(faultEv(2, "crash", "a1:80"), faultEv(2, "crash", "a2:80"), faultEv(2, "crash", "a3:80")); one == 0 || three != one {
		t.Errorf("latency.svg: %d shades for one fault, %d for three at once", one, three)
	}
	// Drawn: one shade polygon in the timeline's lane area, not three.
	vh := append(failoverHistory(), faultEv(10, "crash", "r3"), faultEv(10, "link_down", "r2:eth0"))
	dir := t.TempDir()
	if _, err := Write(dir, Report{Lab: "x", History: vh, Duration: 40 * time.Second}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, timelineName+".svg"))
	if err != nil {
		t.Fatal(err)
	}
	// colShade as the SVG writes it, in the legend's swatch and the lanes.
	if n := strings.Count(string(b), "fill:#D52627;fill-opacity:0.18039"); n != 2 {
		t.Errorf("timeline.svg has %d fault shades, want 2 (the legend's swatch and one span)", n)
	}
}
