package sim

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Host is a simulated machine: a name, interfaces on segments, one packet
// handler per IP protocol and an up/down state. A new host is up.
type Host struct {
	net      *Network
	name     string
	index    int // 1-based order of creation in the network
	up       bool
	epoch    uint64 // number of crashes so far
	ifaces   []*Iface
	handlers map[uint8]func(*Iface, Packet)
	onDown   []func()
	onUp     []func()
	onGARP   []func(in *Iface, a netip.Addr, from *Iface)
}

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// Attach adds an interface named ifname on segment s, with primary address
// addr (an address with its prefix length, e.g. 10.0.0.1/24; the zero Prefix
// means no primary address). l describes this attachment and adds to the
// segment's link: its latency and jitter add to every packet the interface
// sends or receives, its loss compounds with the segment's. The interface is
// up and in no multicast group. Attach fails if ifname is empty or taken on
// this host, s is nil or belongs to another network, addr is non-zero but
// invalid, or l is invalid.
func (h *Host) Attach(ifname string, s *Segment, addr netip.Prefix, l Link) (*Iface, error) {
	switch {
	case ifname == "":
		return nil, fmt.Errorf("sim: host %q: empty interface name", h.name)
	case h.Iface(ifname) != nil:
		return nil, fmt.Errorf("sim: host %q: duplicate interface %q", h.name, ifname)
	case s == nil:
		return nil, fmt.Errorf("sim: host %q: interface %q: nil segment", h.name, ifname)
	case s.net != h.net:
		return nil, fmt.Errorf("sim: host %q: segment %q is in another network", h.name, s.name)
	case addr != (netip.Prefix{}) && !addr.IsValid():
		return nil, fmt.Errorf("sim: host %q: interface %q: invalid address %v", h.name, ifname, addr)
	}
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("sim: host %q: interface %q: %w", h.name, ifname, err)
	}
	n := len(h.ifaces) + 1
	if h.index > 0xffff || n > 0xffff {
		return nil, errors.New("sim: too many hosts or interfaces for a MAC address")
	}
	i := &Iface{
		host:  h,
		seg:   s,
		name:  ifname,
		addr:  addr,
		bcast: subnetBroadcast(addr),
		link:  l,
		up:    true,
		mac:   [6]byte{0x02, 0x00, byte(h.index >> 8), byte(h.index), byte(n >> 8), byte(n)},
	}
	h.ifaces = append(h.ifaces, i)
	s.ifaces = append(s.ifaces, i)
	return i, nil
}

// Iface returns the host's interface named name, or nil.
func (h *Host) Iface(name string) *Iface {
	for _, i := range h.ifaces {
		if i.name == name {
			return i
		}
	}
	return nil
}

// Ifaces returns the host's interfaces in the order they were attached. The
// slice is a copy.
func (h *Host) Ifaces() []*Iface { return append([]*Iface(nil), h.ifaces...) }

// Up reports whether the host is running (not crashed).
func (h *Host) Up() bool { return h.up }

// Crash stops the host silently and at once: from now on it neither sends
// nor receives (packets it already sent are still delivered), and timers it
// scheduled with [Host.After] never run. Then it runs the OnDown hooks in
// registration order. Crash on a down host does nothing.
func (h *Host) Crash() {
	if !h.up {
		return
	}
	h.up = false
	h.epoch++
	for _, fn := range h.onDown {
		fn()
	}
}

// Restore brings a crashed host back up, then runs the OnUp hooks in
// registration order. Handlers, interfaces, addresses and group memberships
// are kept. Restore on an up host does nothing.
func (h *Host) Restore() {
	if h.up {
		return
	}
	h.up = true
	for _, fn := range h.onUp {
		fn()
	}
}

// OnDown registers fn to run each time the host crashes.
func (h *Host) OnDown(fn func()) { h.onDown = append(h.onDown, fn) }

// OnGARP registers fn to run each time a gratuitous ARP for address a,
// sent by the interface from, reaches the host's interface in (up, on a
// running host), when the segment's neighbour table takes it.
func (h *Host) OnGARP(fn func(in *Iface, a netip.Addr, from *Iface)) {
	h.onGARP = append(h.onGARP, fn)
}

// OnUp registers fn to run each time the host is restored.
func (h *Host) OnUp(fn func()) { h.onUp = append(h.onUp, fn) }

// Listen sets the handler for packets of IP protocol proto arriving on any of
// the host's interfaces, replacing the previous one; nil removes it. Packets
// of a protocol without a handler are dropped (counted NoRoute).
func (h *Host) Listen(proto uint8, fn func(in *Iface, p Packet)) {
	if fn == nil {
		delete(h.handlers, proto)
		return
	}
	if h.handlers == nil {
		h.handlers = make(map[uint8]func(*Iface, Packet))
	}
	h.handlers[proto] = fn
}

// After schedules fn on the network's kernel d from now, like
// [Kernel.After], but bound to the host: fn does not run if the host crashes
// (even if restored) before it is due, or is down when it is due. Use it for
// a protocol core's timers so that a crash kills them like a real reboot.
// (Extension to the kernel API.)
func (h *Host) After(d time.Duration, fn func()) Timer {
	epoch := h.epoch
	return h.net.k.After(d, func() {
		if h.up && h.epoch == epoch {
			fn()
		}
	})
}
