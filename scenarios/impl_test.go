package scenarios_test

import (
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// TestImplRefusals: impl names a known program for a role the lab has,
// at its field; the simulator, which plays lblab's cores only, refuses a
// peer by name.
func TestImplRefusals(t *testing.T) {
	vrrp := failoverSource(t)
	crash := catalogSource(t, "backend-crash")
	wantRefusals(t, []refusal{
		{"unknown vrrp impl", vrrp, "duration: 20s\n", "duration: 20s\nimpl: {vrrp: bird}\n", "bird",
			"impl.vrrp", `want lblab or keepalived, got "bird"`},
		{"keepalived without vrrp", crash, "duration: 60s\n", "duration: 60s\nimpl: {vrrp: keepalived}\n", "keepalived",
			"impl.vrrp", "the lab has no vrrp section for keepalived to play"},
		{"unknown proxy impl", crash, "duration: 60s\n", "duration: 60s\nimpl: {proxy: haproxy}\n", "haproxy",
			"impl.proxy", `want lblab or nginx, got "haproxy"`},
		{"nginx without lb", vrrp, "duration: 20s\n", "duration: 20s\nimpl: {proxy: nginx}\n", "nginx",
			"impl.proxy", "the lab has no load balancer (lb, nginx) for nginx to play"},
	})
	lab, err := labfile.Parse(labFile, []byte(variant(t, vrrp, "duration: 20s\n", "duration: 20s\nimpl: {vrrp: keepalived}\n")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if lab.VRRPImpl() != labfile.ImplKeepalived || lab.ProxyImpl() != labfile.ImplLblab {
		t.Errorf("impls %s, %s; want keepalived, lblab", lab.VRRPImpl(), lab.ProxyImpl())
	}
	err = scenarios.CheckWorld("sim", lab)
	if err == nil || !strings.Contains(err.Error(), "run keepalived as the role vrrp (impl)") {
		t.Errorf("sim world: %v; want a refusal of keepalived", err)
	}
}

// TestMulticastFirewallOnRealHosts: netns drops only the multicast of
// a protocol for a firewall fault with multicast: true
// (netns.Segment.BlockMulticast), and plays ha-pair-unicast-peer as the
// simulator does; docker has no firewall fault at all, and refuses it by
// its kind.
func TestMulticastFirewallOnRealHosts(t *testing.T) {
	lab, err := scenarios.Load("ha-pair-unicast-peer", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, world := range []string{"sim", "netns"} {
		if err := scenarios.CheckWorld(world, lab); err != nil {
			t.Errorf("%s: %v", world, err)
		}
	}
	if err := scenarios.CheckWorld("docker", lab); err == nil || !strings.Contains(err.Error(), "faults of kind firewall") {
		t.Errorf("docker: %v; want a refusal of the firewall fault's kind", err)
	}
}
