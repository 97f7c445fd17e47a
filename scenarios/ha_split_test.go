package scenarios_test

import (
	"testing"

	"github.com/lblab/lblab/history"
)

// A split brain in the simulator, seed 1: client1 follows lb2's
// gratuitous ARP at the split and lb1's when the firewall is fixed, and
// each time its idle kept-alive connections to the other node are reset
// there. A request reset so, before any of its response came, is sent
// once more on a new connection, as lblab load does on real hosts (and
// browsers and net/http): no request fails, and the requests sent in the
// 100 ms after each flip are answered by the node the client flipped to.
func TestHASplitBrainStaleConnectionsRetried(t *testing.T) {
	o := runCatalogSource(t, "ha-pair-split-brain", catalogSource(t, "ha-pair-split-brain"), 1)
	var split, healed history.Stamp
	for _, e := range o.Events {
		if e.Kind == history.KindVRRP && e.Router == "lb2" && e.To == "MASTER" {
			split = e.T
		}
		if e.Kind == history.KindVRRP && e.Router == "lb2" && e.From == "MASTER" && e.To == "BACKUP" {
			healed = e.T
		}
	}
	if split == 0 || healed <= split {
		t.Fatalf("lb2 master at %v, back to backup at %v", split, healed)
	}
	const flip = history.Stamp(100e6) // 100 ms
	var after [2]int
	for _, e := range o.Events {
		if e.Kind != history.KindRequest {
			continue
		}
		if e.Error != "" {
			t.Errorf("request sent at %v failed: %s", e.Start, e.Error)
		}
		for i, f := range []struct {
			at   history.Stamp
			node string
		}{{split, "lb2"}, {healed, "lb1"}} {
			if e.Start > f.at && e.Start < f.at+flip {
				after[i]++
				if e.Answer != f.node {
					t.Errorf("request sent at %v, after the flip at %v, answered by %q, want %s", e.Start, f.at, e.Answer, f.node)
				}
			}
		}
	}
	if after[0] == 0 || after[1] == 0 {
		t.Fatalf("requests sent after the flips: %v", after)
	}
}
