package sim

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// Segment is an L2 broadcast domain (a switch) with a link quality, a
// neighbour (ARP) table shared by all its interfaces, and an optional
// partition.
//
// A packet sent on a segment goes to:
//   - multicast destinations: every other interface that has joined the
//     group at send time;
//   - 255.255.255.255 or the subnet broadcast of the sender's primary
//     prefix: every other interface;
//   - a unicast address: the interface the neighbour table maps it to. An
//     unknown address resolves to the first interface in attach order that
//     currently holds it (primary or secondary), whatever its state, and the
//     answer is cached like an ARP reply. Entries change only by
//     [Iface.GratuitousARP]: a stale entry (the interface no longer holds the
//     address, or is down) blackholes the address. A unicast packet to an
//     address nobody (or only the sender) holds is dropped as NoRoute.
//
// For each receiver, at send time: a receiver in another partition group is
// dropped (Partition); then the copy is lost with probability
// 1-(1-segment.Loss)(1-sender.Loss)(1-receiver.Loss) (Loss); else it is
// delivered after segment.Latency + sender.Latency + receiver.Latency plus a
// uniform jitter in [0, sum of the three Jitters). At delivery time the
// receiving host and link must be up (else Down), a unicast receiver must
// still hold the destination (else NoRoute), and the host must have a
// handler for the protocol (else NoRoute). Receivers are visited in attach
// order, and all random draws (loss, then jitter, per receiver) come from the
// kernel stream "net/"+name.
type Segment struct {
	net    *Network
	name   string
	link   Link
	ifaces []*Iface              // attach order
	neigh  map[netip.Addr]*Iface // neighbour table
	part   map[string]int        // host name -> partition group (1-based); nil when whole
	rules  []blockRule           // firewall rules (Block), in the order added
	rng    *rand.Rand            // lazily k.Rand("net/"+name)
}

// Name returns the segment's name.
func (s *Segment) Name() string { return s.name }

// Owner returns the interface the segment's neighbour table maps a to, or
// nil if a has not been resolved or announced yet.
func (s *Segment) Owner(a netip.Addr) *Iface { return s.neigh[a] }

// Partition splits the segment: hosts named in different groups cannot
// reach each other over it, and hosts named in no group form one further
// group. It replaces any previous partition and applies to packets sent from
// now on. It fails, changing nothing, if a name is not a host of the network
// or appears twice.
func (s *Segment) Partition(groups [][]string) error {
	m := make(map[string]int)
	for gi, g := range groups {
		for _, name := range g {
			if s.net.hostByName[name] == nil {
				return fmt.Errorf("sim: segment %q: partition: unknown host %q", s.name, name)
			}
			if _, dup := m[name]; dup {
				return fmt.Errorf("sim: segment %q: partition: host %q named twice", s.name, name)
			}
			m[name] = gi + 1
		}
	}
	s.part = m
	return nil
}

// Heal removes the segment's partition.
func (s *Segment) Heal() { s.part = nil }

// blockRule drops IP protocol proto between any two of hosts; proto
// garpProto drops gratuitous ARP instead (BlockGARP).
type blockRule struct {
	proto uint8
	mcast bool // only the copies of multicast packets (BlockMulticast)
	hosts []string
}

// Block drops, from now on, packets of IP protocol proto sent by one of
// the named hosts to another of them on this segment (counted
// Dropped.Firewall), as a firewall rule on each of them would; packets
// to and from other hosts, and of other protocols, pass. Gratuitous ARP
// is not IP and passes (proto 0 is BlockGARP's rule). It fails, changing
// nothing, if a name is not a host of the network.
func (s *Segment) Block(proto uint8, hosts []string) error {
	for _, name := range hosts {
		if s.net.hostByName[name] == nil {
			return fmt.Errorf("sim: segment %q: block: unknown host %q", s.name, name)
		}
	}
	s.rules = append(s.rules, blockRule{proto: proto, hosts: append([]string(nil), hosts...)})
	return nil
}

// garpProto marks a rule of BlockGARP: ARP is not IP, and IP protocol 0
// (IPv6 hop-by-hop options) is never Block's.
const garpProto = 0

// BlockGARP drops, from now on, the gratuitous ARP one of the named hosts
// sends, at the others of them, as a switch with dynamic ARP inspection
// or an arptables/nftables arp rule on the receivers would: their
// neighbour caches ([Neigh]) do not hear it; the segment's shared table
// still follows it. Other ARP (requests, their answers, the unicast probes
// of a neighbour cache) passes. Unblock removes it. It fails, changing
// nothing, if a name is not a host of the network.
func (s *Segment) BlockGARP(hosts []string) error { return s.Block(garpProto, hosts) }

// BlockMulticast is Block for the copies of multicast packets only (a
// switch whose IGMP snooping has no querier, a cloud network without
// multicast): unicast packets of proto between the hosts pass, as VRRP
// with unicast_peer does.
func (s *Segment) BlockMulticast(proto uint8, hosts []string) error {
	if err := s.Block(proto, hosts); err != nil {
		return err
	}
	s.rules[len(s.rules)-1].mcast = true
	return nil
}

// Unblock removes the rules of Block that drop a protocol between two or
// more of the named hosts (every protocol's: firewall_clear flushes the
// rules between them).
func (s *Segment) Unblock(hosts []string) {
	s.rules = slices.DeleteFunc(s.rules, func(r blockRule) bool {
		n := 0
		for _, h := range r.hosts {
			if slices.Contains(hosts, h) {
				n++
			}
		}
		return n >= 2
	})
}

// blocked reports whether a rule drops proto from a to b.
func (s *Segment) blocked(proto uint8, a, b *Host) bool {
	for _, r := range s.rules {
		if r.proto == proto && slices.Contains(r.hosts, a.name) && slices.Contains(r.hosts, b.name) {
			return true
		}
	}
	return false
}

// blockedCopy reports whether a rule drops a copy of a packet of proto
// from a to b (sent to a multicast group when mcast).
func (s *Segment) blockedCopy(proto uint8, a, b *Host, mcast bool) bool {
	for _, r := range s.rules {
		if r.proto == proto && (!r.mcast || mcast) && slices.Contains(r.hosts, a.name) && slices.Contains(r.hosts, b.name) {
			return true
		}
	}
	return false
}

// Latency returns the fixed one-way delay from interface a to interface
// b on this segment: the segment's latency plus both links' (jitter
// left out).
func (s *Segment) Latency(a, b *Iface) time.Duration {
	return s.link.Latency + a.link.Latency + b.link.Latency
}

// Holder returns the interface that answers an ARP request for a sent by
// from now: the first in attach order, other than from, whose host and
// link are up, that holds a and that from can reach (partition); nil if
// none.
func (s *Segment) Holder(a netip.Addr, from *Iface) *Iface {
	for _, i := range s.ifaces {
		if i != from && i.host.up && i.up && i.HasAddr(a) && s.reachable(from.host, i.host) {
			return i
		}
	}
	return nil
}

// reachable reports whether a and b are in the same partition group.
func (s *Segment) reachable(a, b *Host) bool {
	return s.part == nil || s.part[a.name] == s.part[b.name]
}

// resolve returns the interface that receives unicast packets for a, filling
// the neighbour table on a miss; nil if no interface holds a.
func (s *Segment) resolve(a netip.Addr) *Iface {
	if i, ok := s.neigh[a]; ok {
		return i
	}
	for _, i := range s.ifaces {
		if i.HasAddr(a) {
			s.neigh[a] = i
			return i
		}
	}
	return nil
}

// transmit sends p, already completed by Iface.Send, from the interface from.
func (s *Segment) transmit(from *Iface, p Packet) {
	st := &s.net.stats
	st.Sent++
	switch {
	case p.Dst.IsMulticast():
		for _, to := range s.ifaces {
			if to != from && to.joined(p.Dst) {
				s.forward(from, to, p, false)
			}
		}
	case p.Dst == limitedBroadcast || (from.bcast.IsValid() && p.Dst == from.bcast):
		for _, to := range s.ifaces {
			if to != from {
				s.forward(from, to, p, false)
			}
		}
	default:
		to := s.resolve(p.Dst)
		if to == nil || to == from {
			st.Dropped.NoRoute++
			return
		}
		s.forward(from, to, p, true)
	}
}

// forward applies partition, loss and delay to one copy of p from from to to.
func (s *Segment) forward(from, to *Iface, p Packet, unicast bool) {
	st := &s.net.stats
	if !s.reachable(from.host, to.host) {
		st.Dropped.Partition++
		return
	}
	if len(s.rules) > 0 && p.Proto != garpProto && s.blockedCopy(p.Proto, from.host, to.host, p.Dst.IsMulticast()) {
		st.Dropped.Firewall++
		return
	}
	if s.rng == nil {
		s.rng = s.net.k.Rand("net/" + s.name)
	}
	if loss := 1 - (1-s.link.Loss)*(1-from.link.Loss)*(1-to.link.Loss); loss > 0 && s.rng.Float64() < loss {
		st.Dropped.Loss++
		return
	}
	d := s.link.Latency + from.link.Latency + to.link.Latency
	if j := s.link.Jitter + from.link.Jitter + to.link.Jitter; j > 0 {
		d += time.Duration(s.rng.Int64N(int64(j)))
	}
	p.Payload = bytes.Clone(p.Payload)
	s.net.k.After(d, func() { to.receive(p, unicast) })
}
