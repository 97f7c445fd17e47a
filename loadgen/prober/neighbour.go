package prober

import (
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// NeighbourMAC returns the MAC address of the neighbour entry through
// which this network namespace reaches dst (dst's own, or its route's
// gateway's), read with netlink; "" when there is none (a local address,
// an entry not resolved, an error). A world maps it to the host that
// holds that MAC.
func NeighbourMAC(dst netip.Addr) string {
	ip := net.IP(dst.AsSlice())
	routes, err := netlink.RouteGet(ip)
	if err != nil || len(routes) == 0 {
		return ""
	}
	hop := ip
	if routes[0].Gw != nil {
		hop = routes[0].Gw
	}
	neighs, err := netlink.NeighList(routes[0].LinkIndex, netlink.FAMILY_V4)
	if err != nil {
		return ""
	}
	for _, n := range neighs {
		if n.IP.Equal(hop) && len(n.HardwareAddr) > 0 && n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 {
			return n.HardwareAddr.String()
		}
	}
	return ""
}
