package sim

import "net/netip"

// Packet is an IP packet as seen by the simulated network. It is passed by
// value; the network copies Payload on send, so each receiver owns its copy.
type Packet struct {
	// Src is the source address; zero means the sending interface's primary
	// address.
	Src netip.Addr
	// Dst is the destination: a multicast group (224.0.0.0/4, or IPv6
	// multicast), the limited broadcast 255.255.255.255, the subnet broadcast
	// of the sender's primary prefix, or a unicast address.
	Dst netip.Addr
	// Proto is the IP protocol number (e.g. 112 for VRRP); it selects the
	// receiver's handler ([Host.Listen]).
	Proto uint8
	// TTL is the IP time to live; zero means 64. The network does not route,
	// so it arrives unchanged.
	TTL uint8
	// Payload is the packet's content above the IP header.
	Payload []byte
}

// DefaultTTL is the TTL given to packets sent with TTL zero.
const DefaultTTL = 64

// limitedBroadcast is 255.255.255.255.
var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// subnetBroadcast returns the directed broadcast address of an IPv4 prefix
// with at most 30 bits, else the zero Addr.
func subnetBroadcast(p netip.Prefix) netip.Addr {
	if !p.IsValid() || !p.Addr().Is4() || p.Bits() > 30 {
		return netip.Addr{}
	}
	a := p.Masked().Addr().As4()
	hostBits := uint32(1)<<(32-p.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | hostBits
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
