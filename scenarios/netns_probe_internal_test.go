package scenarios

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen/probe"
	"github.com/lblab/lblab/testbed/netns"
)

// TestNetnsProbes runs a lab's probes on real hosts as a netns world
// does: grouped into one prober per host and (interval, timeout),
// released by the start file at the lab's epoch, their events read back
// with the answering MAC mapped to its host. It needs root (skipped
// without, a failure with CI=true).
func TestNetnsProbes(t *testing.T) {
	if err := netns.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but probes in namespaces cannot run: %v", err)
		}
		t.Skipf("probes in namespaces skipped: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "lblab")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/lblab").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tb, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tb.Cleanup(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	lan, err := tb.AddSegment("lan")
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]*netns.Host{}
	links := map[string][]*netns.Link{}
	for i, name := range []string{"c1", "t1"} {
		h, err := tb.AddHost(name)
		if err != nil {
			t.Fatal(err)
		}
		l, err := tb.Connect(h, "eth0", lan, netip.MustParsePrefix("10.79.0."+strconv.Itoa(11+i)+"/24"))
		if err != nil {
			t.Fatal(err)
		}
		hosts[name], links[name] = h, []*netns.Link{l}
	}
	const interval, timeout = 50 * time.Millisecond, 200 * time.Millisecond
	specs := []probe.Spec{
		{From: "c1", To: "10.79.0.12", Interval: interval, Timeout: timeout},
		{From: "c1", To: "10.79.0.12:8081", Interval: interval, Timeout: timeout},
		{From: "c1", To: "10.79.0.12:8082", Interval: 2 * interval, Timeout: timeout},
	}
	start := filepath.Join(dir, "start")
	ps, err := newNetnsProbes(bin, dir, start, hosts, specs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.groups) != 2 {
		t.Fatalf("%d groups, want 2 (one per interval)", len(ps.groups))
	}
	if err := ps.start(); err != nil {
		t.Fatal(err)
	}
	defer ps.stop(time.Second)
	if _, err := ps.waitReady(context.Background(), agentReadyWait); err != nil {
		t.Fatal(err)
	}
	epoch := time.Now()
	if err := os.WriteFile(start, []byte(strconv.FormatInt(epoch.UnixNano(), 10)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Two probes of each spec: sent by 2 × 2 intervals, ended by their
	// timeout (a refused connect at once), written an interval later.
	deadline := time.Now().Add(4*interval + timeout + interval)
	count := func() map[string]int {
		n := map[string]int{}
		for _, g := range ps.groups {
			b, _ := os.ReadFile(ps.historyPath(g))
			b = b[:bytes.LastIndexByte(b, '\n')+1]
			evs, err := history.ReadJSONL(bytes.NewReader(b), ps.historyPath(g))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				n[e.Dst]++
			}
		}
		return n
	}
	for n := count(); n[specs[0].To] < 2 || n[specs[1].To] < 2 || n[specs[2].To] < 2; n = count() {
		if time.Now().After(deadline) {
			t.Fatalf("events by destination %v after %v, want 2 each", n, 4*interval+timeout+interval)
		}
		time.Sleep(interval / 5)
	}
	ps.stop(timeout + 5*time.Second)
	macs, err := hostMACs(links)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ps.events(macs)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if i > 0 && e.T < evs[i-1].T {
			t.Errorf("event %d at %v before the one before", i, e.T)
		}
		switch e.Dst {
		case specs[0].To:
			if !*e.OK || e.Answer != "t1" || e.Src != "c1" || e.RTT <= 0 {
				t.Errorf("icmp: %+v, want answered by t1", e)
			}
		default:
			if *e.OK || e.Error != "refused" || e.Answer != "" {
				t.Errorf("tcp to a closed port: %+v, want refused", e)
			}
		}
	}
}
