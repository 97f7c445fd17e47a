package scenarios

import (
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// TestMergeKeepsResent: the load generator's word that a request met a
// reset and was resent (the proxy never saw the reset try) stays in the
// merged event, answered or in flight at the end.
func TestMergeKeepsResent(t *testing.T) {
	proxy := []history.Event{{Kind: history.KindRequest, Start: stamp(1.001), T: stamp(1.01), Client: "10.0.0.5",
		Group: "web", Status: 200, Backend: "a:80", Tries: 1}}
	clients := []clientHistory{{Listener: "web", Group: "web", Src: "client1", Events: []history.Event{
		{Kind: history.KindRequest, Start: stamp(1.0), T: stamp(1.011), Client: "10.0.0.5:40000", Status: 200, Backend: "a:80", Resent: "reset"},
		{Kind: history.KindRequest, Start: stamp(1.5), T: stamp(31), Client: "10.0.0.5:40001", Error: classCancelled, Resent: "reset"}}}}
	got := mergeLBHistories(clients, proxy, nil, 30*time.Second)
	if len(got) != 2 || got[0].Resent != "reset" || got[0].Tries != 1 || got[1].Resent != "reset" || got[1].Error != inFlight {
		t.Fatalf("merged %+v", got)
	}
}
