package netns

import (
	"net/netip"
	"testing"
)

// TestCloudAddresses: the vSwitch gateway is the last address but two
// (the cloud reserves the first and the last three), and the n-th
// peering's link is the /30 at 169.254.1.0 + 4n; it needs no root.
func TestCloudAddresses(t *testing.T) {
	for _, tc := range []struct{ cidr, gw string }{
		{"192.168.5.0/24", "192.168.5.253"},
		{"192.168.6.0/25", "192.168.6.125"},
		{"172.16.0.0/20", "172.16.15.253"},
		{"10.0.0.0/29", "10.0.0.5"},
	} {
		p := netip.MustParsePrefix(tc.cidr)
		if got := VSwitchGateway(p); got.String() != tc.gw {
			t.Errorf("VSwitchGateway(%s) = %v, want %s", tc.cidr, got, tc.gw)
		}
		if !reserved(p, VSwitchGateway(p)) || !reserved(p, p.Addr()) || reserved(p, p.Addr().Next()) {
			t.Errorf("%s: the gateway and the first address are reserved, the first host address is not", tc.cidr)
		}
	}
	for _, tc := range []struct {
		n    int
		a, b string
	}{{0, "169.254.1.1/30", "169.254.1.2/30"}, {65, "169.254.2.5/30", "169.254.2.6/30"}, {MaxPeerings - 1, "169.254.254.253/30", "169.254.254.254/30"}} {
		a, b, err := PeeringLinkAddrs(tc.n)
		if err != nil || a.String() != tc.a || b.String() != tc.b {
			t.Errorf("PeeringLinkAddrs(%d) = %v, %v, %v; want %s, %s", tc.n, a, b, err, tc.a, tc.b)
		}
	}
	for _, n := range []int{-1, MaxPeerings} {
		if _, _, err := PeeringLinkAddrs(n); err == nil {
			t.Errorf("PeeringLinkAddrs(%d): no error", n)
		}
	}
}
