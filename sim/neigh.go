package sim

import (
	"net/netip"
	"time"
)

// NeighState is the state of a neighbour (ARP) entry, Linux's NUD_*
// states.
type NeighState uint8

// The states of a neighbour entry.
const (
	// NeighNone: no entry.
	NeighNone NeighState = iota
	// NeighIncomplete: a broadcast resolution is under way; packets wait.
	NeighIncomplete
	// NeighReachable: confirmed less than ReachableTime ago.
	NeighReachable
	// NeighStale: usable, unconfirmed; the next packet moves it to DELAY.
	NeighStale
	// NeighDelay: a packet went out on a stale entry; a confirmation
	// within DelayFirstProbe makes it REACHABLE, else PROBE.
	NeighDelay
	// NeighProbe: unicast ARP probes to the entry's host, RetransTime
	// apart, UcastProbes at most.
	NeighProbe
	// NeighFailed: the resolution or the probes went unanswered.
	NeighFailed
)

var neighStates = [...]string{"NONE", "INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE", "FAILED"}

// String returns the state's name as ip neigh prints it.
func (s NeighState) String() string {
	if int(s) < len(neighStates) {
		return neighStates[s]
	}
	return "?"
}

// NeighConfig holds a neighbour cache's timers, Linux's
// net.ipv4.neigh.* settings. The zero value means Linux's defaults.
type NeighConfig struct {
	// ReachableTime is how long an entry stays REACHABLE after its last
	// confirmation: Linux's base_reachable_time without its random factor
	// (Linux draws it in [0.5, 1.5] × base). Default 30s.
	ReachableTime time.Duration
	// DelayFirstProbe is how long a DELAY entry waits for a confirmation
	// before it probes: delay_first_probe_time. Default 5s.
	DelayFirstProbe time.Duration
	// RetransTime is the time between two ARP requests (broadcast or
	// unicast probes): retrans_time_ms. Default 1s.
	RetransTime time.Duration
	// UcastProbes is how many unicast probes a PROBE entry sends before it
	// fails: ucast_solicit. Default 3.
	UcastProbes int
	// McastProbes is how many broadcast requests a resolution sends
	// before it fails: mcast_solicit. Default 3.
	McastProbes int
}

func (c NeighConfig) withDefaults() NeighConfig {
	if c.ReachableTime <= 0 {
		c.ReachableTime = 30 * time.Second
	}
	if c.DelayFirstProbe <= 0 {
		c.DelayFirstProbe = 5 * time.Second
	}
	if c.RetransTime <= 0 {
		c.RetransTime = time.Second
	}
	if c.UcastProbes <= 0 {
		c.UcastProbes = 3
	}
	if c.McastProbes <= 0 {
		c.McastProbes = 3
	}
	return c
}

// Neigh is one interface's neighbour (ARP) cache, as a Linux host keeps
// it, in place of the segment's shared table for the packets the host
// sends with it ([Iface.SendTo]). It follows Linux's states:
//
//   - a packet to an address without an entry (or a FAILED one) starts a
//     resolution (INCOMPLETE): a broadcast request every RetransTime, up
//     to McastProbes; the first holder that hears one ([Segment.Holder])
//     answers, and the entry is REACHABLE when the answer is back (a
//     round trip later); the packets that waited go then. Unanswered, the
//     entry is FAILED and the waiting packets are dropped.
//   - REACHABLE lasts ReachableTime after the last confirmation
//     ([Neigh.Confirm]), then the entry is STALE. Linux's TCP confirms
//     an entry with the next segment a connection sends after an ACK
//     that acknowledged new data (tcp_ack: FLAG_FORWARD_PROGRESS →
//     sk_dst_confirm sets sk_dst_pending_confirm; sock_confirm_neigh →
//     neigh_confirm as that segment goes out), not at the ACK itself;
//     the caller confirms then (loadgen/simload's Stack: a SYN-ACK or a
//     response at once, as the client's ACK follows within ms; a
//     request's own ACK at the connection's next request or close).
//     Linux only stamps the confirmation and lets the timers look at it;
//     Confirm makes a usable entry REACHABLE at once.
//   - a packet sent on a STALE entry goes to the entry's interface and
//     moves it to DELAY; without a confirmation within DelayFirstProbe it
//     is PROBE: a unicast request to the entry's interface every
//     RetransTime, up to UcastProbes; answered, REACHABLE; else FAILED.
//     Packets go to the entry's interface meanwhile.
//   - a gratuitous ARP for an address with an entry points the entry at
//     its sender and makes it STALE (arp_accept=0: none is created).
//
// An ARP request and its answer each take the segment's fixed latency
// between the two interfaces; they are not lost.
type Neigh struct {
	in      *Iface
	cfg     NeighConfig
	entries map[netip.Addr]*neighEntry
	// OnChange, when set, is called after an entry changes state or
	// interface.
	OnChange func(a netip.Addr, st NeighState, to *Iface)
}

type neighEntry struct {
	state     NeighState
	to        *Iface
	confirmed time.Duration
	timer     Timer
	tries     int
	waiting   []func(*Iface)
}

// NewNeigh returns the neighbour cache of interface in with timers cfg
// (zero fields: Linux's defaults); it takes the gratuitous ARPs that
// reach in.
func NewNeigh(in *Iface, cfg NeighConfig) *Neigh {
	n := &Neigh{in: in, cfg: cfg.withDefaults(), entries: map[netip.Addr]*neighEntry{}}
	in.host.OnGARP(func(at *Iface, a netip.Addr, from *Iface) {
		if at == in {
			n.garp(a, from)
		}
	})
	in.host.OnDown(func() {
		// A reboot empties the cache.
		for _, e := range n.entries {
			e.timer.Stop()
		}
		clear(n.entries)
	})
	return n
}

// State returns the entry's state and interface for a.
func (n *Neigh) State(a netip.Addr) (NeighState, *Iface) {
	e := n.entries[a]
	if e == nil {
		return NeighNone, nil
	}
	n.age(e)
	return e.state, e.to
}

func (n *Neigh) now() time.Duration { return n.in.host.net.k.Now() }

// age moves a REACHABLE entry past its time to STALE.
func (n *Neigh) age(e *neighEntry) {
	if e.state == NeighReachable && n.now()-e.confirmed >= n.cfg.ReachableTime {
		e.state = NeighStale
	}
}

func (n *Neigh) changed(a netip.Addr, e *neighEntry) {
	if n.OnChange != nil {
		n.OnChange(a, e.state, e.to)
	}
}

// Lookup returns the interface a packet to a goes to now when the entry
// is usable without waiting (REACHABLE, DELAY, PROBE; a STALE one moves
// to DELAY, as Resolve does), and false otherwise: then Resolve queues
// the packet. It lets a sender skip building a callback on the common
// path.
func (n *Neigh) Lookup(a netip.Addr) (*Iface, bool) {
	e := n.entries[a]
	if e == nil {
		return nil, false
	}
	n.age(e)
	switch e.state {
	case NeighReachable, NeighDelay, NeighProbe:
		return e.to, true
	case NeighStale:
		n.delay(a, e)
		return e.to, true
	}
	return nil, false
}

// delay moves a STALE entry to DELAY: a packet went out on it.
func (n *Neigh) delay(a netip.Addr, e *neighEntry) {
	e.state = NeighDelay
	e.timer.Stop()
	e.timer = n.in.host.After(n.cfg.DelayFirstProbe, func() { n.probe(a, e) })
	n.changed(a, e)
}

// Resolve calls send with the interface a packet to a goes to: at once
// for a usable entry (REACHABLE, STALE, DELAY, PROBE; a STALE one moves
// to DELAY), when the resolution is answered for a new one; never when it
// fails (the packet is dropped).
func (n *Neigh) Resolve(a netip.Addr, send func(to *Iface)) {
	e := n.entries[a]
	if e == nil {
		e = &neighEntry{}
		n.entries[a] = e
	}
	n.age(e)
	switch e.state {
	case NeighReachable, NeighDelay, NeighProbe:
		send(e.to)
	case NeighStale:
		n.delay(a, e)
		send(e.to)
	case NeighIncomplete:
		e.waiting = append(e.waiting, send)
	default: // none, failed
		e.state, e.to, e.tries = NeighIncomplete, nil, 0
		e.waiting = append(e.waiting[:0], send)
		n.changed(a, e)
		n.request(a, e)
	}
}

// request sends one broadcast ARP request for a; the holder that hears
// it answers.
func (n *Neigh) request(a netip.Addr, e *neighEntry) {
	e.tries++
	seg := n.in.seg
	if h := seg.Holder(a, n.in); h != nil && n.in.up {
		rtt := 2 * seg.Latency(n.in, h)
		e.timer = n.in.host.After(rtt, func() { n.answered(a, e, h) })
		return
	}
	e.timer = n.in.host.After(n.cfg.RetransTime, func() {
		if e.tries >= n.cfg.McastProbes {
			n.fail(a, e)
			return
		}
		n.request(a, e)
	})
}

// answered is an ARP reply from h reaching the host.
func (n *Neigh) answered(a netip.Addr, e *neighEntry, h *Iface) {
	e.timer.Stop()
	e.state, e.to, e.confirmed, e.tries = NeighReachable, h, n.now(), 0
	n.changed(a, e)
	w := e.waiting
	e.waiting = nil
	for _, send := range w {
		send(h)
	}
}

// fail makes the entry FAILED and drops the packets that waited.
func (n *Neigh) fail(a netip.Addr, e *neighEntry) {
	e.state, e.to, e.waiting = NeighFailed, nil, nil
	n.changed(a, e)
}

// probe sends one unicast ARP probe to the entry's interface (a DELAY
// entry past its wait becomes PROBE).
func (n *Neigh) probe(a netip.Addr, e *neighEntry) {
	if e.state == NeighDelay {
		e.state, e.tries = NeighProbe, 0
		n.changed(a, e)
	}
	if e.state != NeighProbe {
		return
	}
	e.tries++
	to, seg := e.to, n.in.seg
	if to != nil && to.host.up && to.up && to.HasAddr(a) && n.in.up && seg.reachable(n.in.host, to.host) {
		e.timer = n.in.host.After(2*seg.Latency(n.in, to), func() { n.answered(a, e, to) })
		return
	}
	e.timer = n.in.host.After(n.cfg.RetransTime, func() {
		if e.tries >= n.cfg.UcastProbes {
			n.fail(a, e)
			return
		}
		n.probe(a, e)
	})
}

// Confirm says a connection through the entry for a made progress (the
// segment it sends now follows an ACK of new data): a usable entry is
// REACHABLE again from now.
func (n *Neigh) Confirm(a netip.Addr) {
	e := n.entries[a]
	if e == nil || e.to == nil {
		return
	}
	switch e.state {
	case NeighReachable:
		e.confirmed = n.now()
	case NeighStale, NeighDelay, NeighProbe:
		e.timer.Stop()
		e.state, e.confirmed = NeighReachable, n.now()
		n.changed(a, e)
	}
}

// garp is a gratuitous ARP for a from the interface from: an existing
// entry points at from, STALE (the packets of a resolution under way go
// there).
func (n *Neigh) garp(a netip.Addr, from *Iface) {
	e := n.entries[a]
	if e == nil || e.state == NeighNone {
		return
	}
	if e.state == NeighIncomplete {
		n.answered(a, e, from)
		return
	}
	if e.to == from && e.state != NeighFailed {
		return // the same address: nothing changes
	}
	e.timer.Stop()
	e.state, e.to, e.tries = NeighStale, from, 0
	n.changed(a, e)
}
