package scenarios

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/lblab/lblab/sim/cloud"
	"github.com/lblab/lblab/testbed/netns"
)

// TestSecurityGroupRulesInAlibabaOrder: netns matches rules in the order
// given, so the mapper must give Alibaba Cloud's: priority 1 first, a drop
// before an accept at one priority, the lab's order otherwise, across
// the instance's groups; then inner access from the other members; then
// the counted default deny.
func TestSecurityGroupRulesInAlibabaOrder(t *testing.T) {
	m := &cloud.Model{
		SecurityGroups: []cloud.SecurityGroup{
			{Name: "sg-1", VPC: "v", Rules: []cloud.Rule{
				{Direction: cloud.Ingress, Protocol: "icmp", SourceCIDR: "192.168.6.0/24", Priority: 2},
				{Direction: cloud.Ingress, Protocol: "tcp", PortRange: "80/80"},
				{Direction: cloud.Ingress, Protocol: "icmp", SourceCIDR: "192.168.6.140", Policy: cloud.PolicyDrop, Priority: 2},
			}},
			{Name: "sg-2", VPC: "v", InnerAccess: cloud.PolicyDrop, Rules: []cloud.Rule{
				{Direction: cloud.Egress, Protocol: "all", PortRange: "22/23", DestCIDR: "10.0.0.0/8", Policy: cloud.PolicyDrop, Priority: 1},
			}},
		},
		Instances: []cloud.Instance{
			{Name: "a", NICs: []cloud.NIC{{VSwitch: "s", Address: "192.168.6.10/24"}}, SecurityGroups: []string{"sg-1", "sg-2"}},
			{Name: "b", NICs: []cloud.NIC{{VSwitch: "s", Address: "192.168.6.11/24"}}, SecurityGroups: []string{"sg-1"}},
			{Name: "c", NICs: []cloud.NIC{{VSwitch: "s", Address: "192.168.6.12/24"}}, SecurityGroups: []string{"sg-2"}},
		},
	}
	got, err := SecurityGroupRules(m, "a")
	if err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix
	ten := p("10.0.0.0/8")
	want := []netns.SGRule{
		{Direction: netns.Egress, Policy: netns.Drop, Protocol: netns.ProtoTCP, PortFrom: 22, PortTo: 23, CIDR: ten},
		{Direction: netns.Egress, Policy: netns.Drop, Protocol: netns.ProtoUDP, PortFrom: 22, PortTo: 23, CIDR: ten},
		{Direction: netns.Egress, Policy: netns.Drop, Protocol: netns.ProtoICMP, CIDR: ten},
		// priority 1's accept after its drop, then priority 2's drop
		// before its accept.
		{Direction: netns.Ingress, Policy: netns.Accept, Protocol: netns.ProtoTCP, PortFrom: 80, PortTo: 80},
		{Direction: netns.Ingress, Policy: netns.Drop, Protocol: netns.ProtoICMP, CIDR: p("192.168.6.140/32")},
		{Direction: netns.Ingress, Policy: netns.Accept, Protocol: netns.ProtoICMP, CIDR: p("192.168.6.0/24")},
		// sg-1's inner access (b); sg-2's is drop (c is not let in).
		{Direction: netns.Ingress, Policy: netns.Accept, Protocol: netns.ProtoAll, CIDR: p("192.168.6.11/32")},
		{Direction: netns.Ingress, Policy: netns.Drop, Protocol: netns.ProtoAll},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules of a:\n got %+v\nwant %+v", got, want)
	}
	if _, err := SecurityGroupRules(m, "nobody"); err == nil {
		t.Error("no error for an unknown instance")
	}
}

// TestVerdictNeedsTheSamePlace: a timeout agrees with a drop only at the
// same place, on the same leg; an answer only with ACCEPTED, a refusal
// only with REFUSED.
func TestVerdictNeedsTheSamePlace(t *testing.T) {
	drop := cloud.Result{Outcome: cloud.NoReplyRoute, Request: []cloud.Hop{{Kind: cloud.HopInstance, At: "b", Verdict: cloud.VerdictAnswer}},
		Reply: []cloud.Hop{{Kind: cloud.HopRouter, At: "vpc-b", Verdict: cloud.VerdictDrop, Reason: "no_route"}}}
	at := Place{Reply: true, Kind: cloud.HopRouter, At: "vpc-b", Why: "no_route"}
	for _, c := range []struct {
		m    cloud.Result
		r    Real
		want bool
	}{
		{drop, Real{Outcome: RealTimeout, Drop: at, Dropped: true}, true},
		{drop, Real{Outcome: RealTimeout, Drop: Place{Kind: cloud.HopRouter, At: "vpc-b", Why: "no_route"}, Dropped: true}, false},
		{drop, Real{Outcome: RealTimeout, Drop: Place{Reply: true, Kind: cloud.HopRouter, At: "vpc-a", Why: "no_route"}, Dropped: true}, false},
		{drop, Real{Outcome: RealTimeout}, false},
		{drop, Real{Outcome: RealAnswered}, false},
		{cloud.Result{Outcome: cloud.Accepted}, Real{Outcome: RealAnswered}, true},
		{cloud.Result{Outcome: cloud.Accepted}, Real{Outcome: RealRefused}, false},
		{cloud.Result{Outcome: cloud.Refused}, Real{Outcome: RealRefused}, true},
		{cloud.Result{Outcome: cloud.Refused}, Real{Outcome: RealTimeout}, false},
	} {
		if got := Verdict(c.m, c.r); got != c.want {
			t.Errorf("Verdict(%s, %+v) = %v, want %v", c.m.Outcome, c.r, got, c.want)
		}
	}
}
