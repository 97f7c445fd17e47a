package sim

import (
	"net/netip"
	"testing"
	"time"
)

// neighLab is a lan with hosts c (a client with a neighbour cache), a and
// b, 100 µs apart, a holding the VIP.
func neighLab(t *testing.T, cfg NeighConfig) (*lab, *Neigh, *[]string) {
	t.Helper()
	l := newLab(t, 1, Link{Latency: 100 * time.Microsecond}, "c", "a", "b")
	l.eth0["a"].AddAddr(vip)
	n := NewNeigh(l.eth0["c"], cfg)
	var log []string
	n.OnChange = func(_ netip.Addr, st NeighState, to *Iface) {
		who := "-"
		if to != nil {
			who = to.Host().Name()
		}
		log = append(log, l.k.Now().String()+" "+st.String()+" "+who)
	}
	return l, n, &log
}

// resolveAt resolves the VIP at t and returns where the packet went
// ("" while it waits or when it was dropped).
func resolveAt(l *lab, n *Neigh, t time.Duration, got *[]string) {
	l.k.At(t, func() {
		n.Resolve(vip, func(to *Iface) { *got = append(*got, l.k.Now().String()+" to "+to.Host().Name()) })
	})
}

func wantLog(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// Linux's life of an entry: resolved by broadcast (a round trip), stale
// after the reachable time, DELAY on the next packet, PROBE after 5 s, the
// unicast probes answered by a live holder.
func TestNeighLifecycle(t *testing.T) {
	l, n, log := neighLab(t, NeighConfig{ReachableTime: 30 * time.Second})
	var sent []string
	resolveAt(l, n, 0, &sent)
	resolveAt(l, n, 40*time.Second, &sent)
	l.k.Run(time.Minute)
	wantLog(t, sent, "200µs to a", "40s to a")
	wantLog(t, *log, "0s INCOMPLETE -", "200µs REACHABLE a", "40s DELAY a", "45s PROBE a", "45.0002s REACHABLE a")
}

// A dead holder: the probes go unanswered, 3 of them 1 s apart, and the
// entry fails; the next packet resolves again by broadcast and finds the
// address's new holder.
func TestNeighProbesFailThenResolveAgain(t *testing.T) {
	l, n, log := neighLab(t, NeighConfig{ReachableTime: 10 * time.Second})
	var sent []string
	resolveAt(l, n, 0, &sent)
	l.k.At(time.Second, func() { l.eth0["a"].Host().Crash(); l.eth0["b"].AddAddr(vip) })
	resolveAt(l, n, 20*time.Second, &sent) // stale: goes to a (dead), DELAY
	resolveAt(l, n, 30*time.Second, &sent) // failed: broadcast, b answers
	l.k.Run(time.Minute)
	wantLog(t, sent, "200µs to a", "20s to a", "30.0002s to b")
	wantLog(t, *log, "0s INCOMPLETE -", "200µs REACHABLE a", "20s DELAY a", "25s PROBE a", "28s FAILED -",
		"30s INCOMPLETE -", "30.0002s REACHABLE b")
}

// A gratuitous ARP moves an existing entry to its sender, STALE; it
// creates no entry (arp_accept=0); a confirmation makes it REACHABLE.
func TestNeighGratuitousARP(t *testing.T) {
	l, n, log := neighLab(t, NeighConfig{})
	l.k.At(time.Second, func() { l.eth0["b"].GratuitousARP(vip) }) // no entry yet: nothing
	var sent []string
	resolveAt(l, n, 2*time.Second, &sent)
	l.k.At(3*time.Second, func() { l.eth0["a"].RemoveAddr(vip); l.eth0["b"].AddAddr(vip); l.eth0["b"].GratuitousARP(vip) })
	resolveAt(l, n, 4*time.Second, &sent)
	l.k.At(4*time.Second+time.Millisecond, func() { n.Confirm(vip) })
	l.k.Run(10 * time.Second)
	wantLog(t, sent, "2.0002s to a", "4s to b")
	wantLog(t, *log, "2s INCOMPLETE -", "2.0002s REACHABLE a", "3.0001s STALE b", "4s DELAY b", "4.001s REACHABLE b")
}

// Nobody holds the address: three broadcasts 1 s apart, then FAILED; the
// packet that waited is dropped.
func TestNeighNoHolder(t *testing.T) {
	l, n, log := neighLab(t, NeighConfig{})
	l.eth0["a"].RemoveAddr(vip)
	var sent []string
	resolveAt(l, n, 0, &sent)
	l.k.Run(10 * time.Second)
	wantLog(t, sent)
	wantLog(t, *log, "0s INCOMPLETE -", "3s FAILED -")
}

// A firewall rule drops one protocol between the named hosts only.
func TestSegmentBlock(t *testing.T) {
	l := newLab(t, 1, Link{}, "a", "b", "c")
	if err := l.lan.Block(112, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if l.lan.Block(112, []string{"a", "zz"}) == nil {
		t.Fatal("a rule naming an unknown host was taken")
	}
	got := 0
	for _, h := range []string{"a", "b", "c"} {
		l.eth0[h].Host().Listen(112, func(*Iface, Packet) { got++ })
		l.eth0[h].Host().Listen(6, func(*Iface, Packet) { got += 100 })
	}
	l.eth0["a"].Send(Packet{Dst: l.eth0["b"].Addr().Addr(), Proto: 112}) // dropped
	l.eth0["a"].Send(Packet{Dst: l.eth0["c"].Addr().Addr(), Proto: 112}) // passes
	l.eth0["a"].Send(Packet{Dst: l.eth0["b"].Addr().Addr(), Proto: 6})   // passes
	l.k.Run(time.Second)
	if got != 101 || l.n.Stats().Dropped.Firewall != 1 {
		t.Fatalf("got %d, firewall drops %d", got, l.n.Stats().Dropped.Firewall)
	}
	l.lan.Unblock([]string{"a", "b"})
	l.eth0["a"].Send(Packet{Dst: l.eth0["b"].Addr().Addr(), Proto: 112})
	l.k.Run(2 * time.Second)
	if got != 102 {
		t.Fatalf("after Unblock: got %d", got)
	}
}

// A gratuitous ARP that BlockGARP drops leaves the client's entry on the
// dead holder: it goes stale, its probes fail, and only the broadcast
// after FAILED finds the new holder; the same GARP without the rule moves
// the entry at once; Unblock lets it through again.
func TestSegmentBlockGARP(t *testing.T) {
	l, n, log := neighLab(t, NeighConfig{ReachableTime: 10 * time.Second})
	if err := l.lan.BlockGARP([]string{"b", "c"}); err != nil {
		t.Fatal(err)
	}
	if l.lan.BlockGARP([]string{"b", "zz"}) == nil {
		t.Fatal("a rule naming an unknown host was taken")
	}
	var sent []string
	resolveAt(l, n, 0, &sent)
	l.k.At(time.Second, func() {
		l.eth0["a"].Host().Crash()
		l.eth0["b"].AddAddr(vip)
		l.eth0["b"].GratuitousARP(vip) // dropped at c
	})
	resolveAt(l, n, 11*time.Second, &sent) // stale, to the dead a
	resolveAt(l, n, 20*time.Second, &sent) // failed: broadcast, b answers
	l.k.At(25*time.Second, func() {
		l.lan.Unblock([]string{"b", "c"})
		l.eth0["a"].Host().Restore()
		l.eth0["b"].RemoveAddr(vip)
		l.eth0["a"].GratuitousARP(vip) // not blocked: c follows at once
	})
	l.k.Run(time.Minute)
	wantLog(t, sent, "200µs to a", "11s to a", "20.0002s to b")
	wantLog(t, *log, "0s INCOMPLETE -", "200µs REACHABLE a", "11s DELAY a", "16s PROBE a", "19s FAILED -",
		"20s INCOMPLETE -", "20.0002s REACHABLE b", "25.0001s STALE a")
	if l.n.Stats().Dropped.Firewall != 0 {
		t.Fatalf("a dropped GARP counted as a dropped packet: %+v", l.n.Stats().Dropped)
	}
}

// BlockMulticast drops a protocol's multicast copies between the hosts;
// its unicast packets pass.
func TestSegmentBlockMulticast(t *testing.T) {
	l := newLab(t, 1, Link{}, "a", "b")
	if err := l.lan.BlockMulticast(112, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	group := netip.MustParseAddr("224.0.0.18")
	l.eth0["b"].JoinGroup(group)
	got := 0
	l.eth0["b"].Host().Listen(112, func(*Iface, Packet) { got++ })
	l.eth0["a"].Send(Packet{Dst: group, Proto: 112})                     // dropped
	l.eth0["a"].Send(Packet{Dst: l.eth0["b"].Addr().Addr(), Proto: 112}) // passes
	l.k.Run(time.Second)
	if got != 1 || l.n.Stats().Dropped.Firewall != 1 {
		t.Fatalf("got %d, firewall drops %d", got, l.n.Stats().Dropped.Firewall)
	}
}
