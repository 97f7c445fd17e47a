package sim

import (
	"net/netip"
	"slices"
)

// Iface is a host's network interface on one segment: a primary address,
// secondary addresses (virtual IPs), multicast group memberships and a link
// state. A new interface is up.
type Iface struct {
	host      *Host
	seg       *Segment
	name      string
	addr      netip.Prefix
	bcast     netip.Addr // subnet broadcast of addr, or zero
	link      Link
	mac       [6]byte
	up        bool
	secondary []netip.Addr
	groups    []netip.Addr
	onLink    []func(up bool)
}

// Name returns the interface's name, unique on its host.
func (i *Iface) Name() string { return i.name }

// Host returns the host the interface belongs to.
func (i *Iface) Host() *Host { return i.host }

// Segment returns the segment the interface is attached to.
func (i *Iface) Segment() *Segment { return i.seg }

// Addr returns the primary address with its prefix length (zero if none).
func (i *Iface) Addr() netip.Prefix { return i.addr }

// MAC returns the interface's hardware address: locally administered
// unicast, 02:00:HH:HH:II:II where HHHH is the host's 1-based creation order
// in the network and IIII the interface's 1-based attach order on the host.
func (i *Iface) MAC() [6]byte { return i.mac }

// Up reports whether the interface's link is up. It does not consider the
// host's state; see [Host.Up].
func (i *Iface) Up() bool { return i.up }

// SetUp sets the link state. A down link neither sends nor receives; packets
// already in flight from it are still delivered. A change runs the OnLink
// hooks in registration order, as a carrier change reaches netlink
// listeners on the host; setting the current state runs none.
func (i *Iface) SetUp(up bool) {
	if i.up == up {
		return
	}
	i.up = up
	for _, fn := range i.onLink {
		fn(up)
	}
}

// OnLink registers fn to run each time the link goes up or down.
func (i *Iface) OnLink(fn func(up bool)) { i.onLink = append(i.onLink, fn) }

// Send transmits p on the interface's segment. A zero p.Src becomes the
// primary address, a zero p.TTL becomes [DefaultTTL], and the payload is
// copied. Send returns false, sending nothing, if the host or the link is
// down (counted Dropped.Down); otherwise it returns true, even if no receiver
// exists (see [Segment] for delivery rules).
func (i *Iface) Send(p Packet) bool {
	if !i.host.up || !i.up {
		i.host.net.stats.Dropped.Down++
		return false
	}
	i.seg.transmit(i, i.complete(p))
	return true
}

// complete fills in a packet's zero source address and TTL.
func (i *Iface) complete(p Packet) Packet {
	if !p.Src.IsValid() {
		p.Src = i.addr.Addr()
	}
	if p.TTL == 0 {
		p.TTL = DefaultTTL
	}
	return p
}

// SendTo transmits the unicast packet p to the interface to on the same
// segment, the one the sender's own neighbour cache resolved p.Dst to
// ([Neigh]), instead of the segment's shared table. p is completed as
// by Send, and delivered, lost or dropped as a unicast packet: to must
// still hold p.Dst when the copy arrives (a stale entry blackholes it).
// SendTo returns false, sending nothing, if the host or the link is
// down, or to is nil or on another segment.
func (i *Iface) SendTo(to *Iface, p Packet) bool {
	if !i.host.up || !i.up || to == nil || to.seg != i.seg {
		i.host.net.stats.Dropped.Down++
		return false
	}
	p = i.complete(p)
	i.seg.net.stats.Sent++
	if to == i {
		i.seg.net.stats.Dropped.NoRoute++
		return true
	}
	i.seg.forward(i, to, p, true)
	return true
}

// JoinGroup makes the interface receive multicast packets sent to group g.
// Joining twice is the same as once.
func (i *Iface) JoinGroup(g netip.Addr) {
	if !slices.Contains(i.groups, g) {
		i.groups = append(i.groups, g)
	}
}

// LeaveGroup stops receiving multicast packets sent to group g.
func (i *Iface) LeaveGroup(g netip.Addr) {
	i.groups = slices.DeleteFunc(i.groups, func(x netip.Addr) bool { return x == g })
}

// joined reports whether the interface is a member of group g.
func (i *Iface) joined(g netip.Addr) bool { return slices.Contains(i.groups, g) }

// AddAddr adds a as a secondary address (e.g. a VIP). It does not announce
// it: the segment's neighbour table keeps any existing entry for a until
// [Iface.GratuitousARP]. Adding an address already held does nothing.
func (i *Iface) AddAddr(a netip.Addr) {
	if !i.HasAddr(a) {
		i.secondary = append(i.secondary, a)
	}
}

// RemoveAddr removes the secondary address a; it does not remove the
// primary address.
func (i *Iface) RemoveAddr(a netip.Addr) {
	i.secondary = slices.DeleteFunc(i.secondary, func(x netip.Addr) bool { return x == a })
}

// HasAddr reports whether a is the interface's primary or one of its
// secondary addresses.
func (i *Iface) HasAddr(a netip.Addr) bool {
	return (a.IsValid() && i.addr.Addr() == a) || slices.Contains(i.secondary, a)
}

// GratuitousARP announces on the segment that a is at this interface: after
// the segment's latency (only the segment's Link.Latency; no jitter, loss or
// partition applies), the segment's neighbour table maps a to i. It does
// nothing if the host or link is down. It is not counted in [Stats]. The
// hosts a rule of [Segment.BlockGARP] shields from i's host do not hear it.
func (i *Iface) GratuitousARP(a netip.Addr) {
	if !i.host.up || !i.up || !a.IsValid() {
		return
	}
	s := i.seg
	s.net.k.After(s.link.Latency, func() {
		s.neigh[a] = i
		for _, to := range s.ifaces {
			if to != i && to.host.up && to.up && !s.blocked(garpProto, i.host, to.host) {
				for _, fn := range to.host.onGARP {
					fn(to, a, i)
				}
			}
		}
	})
}

// receive is the arrival of one packet copy at i.
func (i *Iface) receive(p Packet, unicast bool) {
	st := &i.host.net.stats
	if !i.host.up || !i.up {
		st.Dropped.Down++
		return
	}
	if unicast && !i.HasAddr(p.Dst) {
		st.Dropped.NoRoute++
		return
	}
	fn := i.host.handlers[p.Proto]
	if fn == nil {
		st.Dropped.NoRoute++
		return
	}
	st.Delivered++
	fn(i, p)
}
