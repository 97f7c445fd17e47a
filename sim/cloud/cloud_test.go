package cloud

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// seed is the VPC peering seed's network: vpc-a 192.168.6.0/25 with ECS
// 192.168.6.76, vpc-b 192.168.5.0/24 with ECS 192.168.5.130 (and a second
// ECS and an RDS-like host), vpc-c 10.0.0.0/16; no peering yet.
func seed() *Model {
	return &Model{
		VPCs: []VPC{{Name: "vpc-a", CIDR: "192.168.6.0/25"}, {Name: "vpc-b", CIDR: "192.168.5.0/24"}, {Name: "vpc-c", CIDR: "10.0.0.0/16"}},
		VSwitches: []VSwitch{
			{Name: "vsw-a", VPC: "vpc-a", Zone: "cn-hangzhou-h", CIDR: "192.168.6.0/25"},
			{Name: "vsw-b", VPC: "vpc-b", Zone: "cn-hangzhou-i", CIDR: "192.168.5.128/25"},
			{Name: "vsw-c", VPC: "vpc-c", Zone: "cn-hangzhou-h", CIDR: "10.0.1.0/24"},
		},
		SecurityGroups: []SecurityGroup{
			{Name: "sg-a", VPC: "vpc-a", Rules: []Rule{
				{Direction: Ingress, Protocol: "icmp", SourceCIDR: "192.168.5.0/24"},
				{Direction: Egress, Protocol: "tcp", PortRange: "3306/3306", Policy: PolicyDrop},
			}},
			{Name: "sg-b", VPC: "vpc-b", Rules: []Rule{
				{Direction: Ingress, Protocol: "icmp", SourceCIDR: "192.168.6.0/25"},
				{Direction: Ingress, Protocol: "tcp", PortRange: "1/65535", SourceCIDR: "192.168.6.0/25", Priority: 2},
				{Direction: Ingress, Protocol: "all", SourceCIDR: "10.0.0.0/16"},
			}},
			{Name: "sg-c", VPC: "vpc-c", Rules: []Rule{{Direction: Ingress, Protocol: "all"}}},
		},
		Instances: []Instance{
			{Name: "ecs-a", NICs: []NIC{{VSwitch: "vsw-a", Address: "192.168.6.76/25"}}, SecurityGroups: []string{"sg-a"}},
			{Name: "ecs-b", NICs: []NIC{{VSwitch: "vsw-b", Address: "192.168.5.130"}}, SecurityGroups: []string{"sg-b"}, Listen: []int{80}},
			{Name: "ecs-b2", NICs: []NIC{{VSwitch: "vsw-b", Address: "192.168.5.131"}}, SecurityGroups: []string{"sg-b"}},
			{Name: "rds", NICs: []NIC{{VSwitch: "vsw-b", Address: "192.168.5.140"}}, SecurityGroups: []string{"sg-b"}, Listen: []int{3306}},
			{Name: "ecs-c", NICs: []NIC{{VSwitch: "vsw-c", Address: "10.0.1.10"}}, SecurityGroups: []string{"sg-c"}},
		},
		Whitelists: []Whitelist{{Name: "rds-wl", Host: "rds", Port: 3306, SecurityIPs: []string{"192.168.5.130"}}},
	}
}

func peerAB(m *Model) {
	m.Peerings = append(m.Peerings, Peering{Name: "pcc-ab", VPC: "vpc-a", PeerVPC: "vpc-b"})
}

func route(m *Model, vpc, dst, next string) {
	for i := range m.RouteTables {
		if m.RouteTables[i].VPC == vpc {
			m.RouteTables[i].Entries = append(m.RouteTables[i].Entries, RouteEntry{Destination: dst, NextHop: next})
			return
		}
	}
	m.RouteTables = append(m.RouteTables, RouteTable{VPC: vpc, Entries: []RouteEntry{{Destination: dst, NextHop: next}}})
}

func bothRoutes(m *Model) {
	peerAB(m)
	route(m, "vpc-a", "192.168.5.0/24", "pcc-ab")
	route(m, "vpc-b", "192.168.6.0/25", "pcc-ab")
}

// where is a drop's place: "request|reply KIND AT REASON".
func where(r Result) string {
	h, reply, ok := r.Drop()
	if !ok {
		return ""
	}
	leg := "request"
	if reply {
		leg = "reply"
	}
	return strings.Join([]string{leg, h.Kind, h.At, h.Reason}, " ")
}

func TestTrace(t *testing.T) {
	for _, tc := range []struct {
		name     string
		change   func(*Model)
		src, dst string
		proto    string
		port     int
		want     Outcome
		drop     string
	}{
		{name: "isolation: no peering, no route", src: "ecs-a", dst: "192.168.5.130", want: NoRoute, drop: "request router vpc-a no_route"},
		{name: "inside one VPC (inner access)", src: "ecs-b", dst: "192.168.5.131", want: Accepted},
		{name: "source by address", src: "192.168.5.131", dst: "192.168.5.130", want: Accepted},
		{name: "peering without routes", change: peerAB, src: "ecs-a", dst: "192.168.5.130", want: NoRoute, drop: "request router vpc-a no_route"},
		{name: "one side's route: the reply has no way back", change: func(m *Model) {
			peerAB(m)
			route(m, "vpc-a", "192.168.5.0/24", "pcc-ab")
		}, src: "ecs-a", dst: "192.168.5.130", want: NoReplyRoute, drop: "reply router vpc-b no_route"},
		{name: "both routes", change: bothRoutes, src: "ecs-a", dst: "192.168.5.130", want: Accepted},
		{name: "both routes, back", change: bothRoutes, src: "ecs-b", dst: "192.168.6.76", want: Accepted},
		{name: "tcp to a listening port", change: bothRoutes, src: "ecs-a", dst: "192.168.5.130", proto: TCP, port: 80, want: Accepted},
		{name: "tcp to a closed port is refused", change: bothRoutes, src: "ecs-a", dst: "192.168.5.130", proto: TCP, port: 81, want: Refused},
		{name: "egress drop rule", change: bothRoutes, src: "ecs-a", dst: "192.168.5.140", proto: TCP, port: 3306, want: DeniedOut, drop: "request instance ecs-a sg_rule"},
		{name: "inbound default deny", change: bothRoutes, src: "ecs-b", dst: "192.168.6.76", proto: TCP, port: 22, want: DeniedIn, drop: "request instance ecs-a sg_default_in"},
		{name: "whitelist allows web01", src: "ecs-b", dst: "192.168.5.140", proto: TCP, port: 3306, want: Accepted},
		{name: "whitelist drops web02", src: "ecs-b2", dst: "192.168.5.140", proto: TCP, port: 3306, want: DeniedIn, drop: "request instance rds whitelist_default"},
		{name: "whitelist guards its port only", src: "ecs-b2", dst: "192.168.5.140", want: Accepted},
		{name: "not transitive", change: func(m *Model) {
			bothRoutes(m)
			m.Peerings = append(m.Peerings, Peering{Name: "pcc-bc", VPC: "vpc-b", PeerVPC: "vpc-c"})
			route(m, "vpc-a", "10.0.0.0/16", "pcc-ab")
			route(m, "vpc-b", "10.0.0.0/16", "pcc-bc")
			route(m, "vpc-c", "192.168.0.0/16", "pcc-bc")
		}, src: "ecs-a", dst: "10.0.1.10", want: NoRoute, drop: "request router vpc-b not_transitive"},
		{name: "b reaches c over its own peering", change: func(m *Model) {
			m.Peerings = append(m.Peerings, Peering{Name: "pcc-bc", VPC: "vpc-b", PeerVPC: "vpc-c"})
			route(m, "vpc-b", "10.0.0.0/16", "pcc-bc")
			route(m, "vpc-c", "192.168.5.0/24", "pcc-bc")
		}, src: "ecs-b", dst: "10.0.1.10", want: Accepted},
		{name: "no instance holds the address", change: bothRoutes, src: "ecs-a", dst: "192.168.5.200", want: NoRoute, drop: "request vswitch vsw-b no_instance"},
		{name: "no vswitch holds the address", change: bothRoutes, src: "ecs-a", dst: "192.168.5.10", want: NoRoute, drop: "request router vpc-b no_vswitch"},
		{name: "an instance next hop that does not forward", change: func(m *Model) {
			route(m, "vpc-a", "172.16.0.0/12", "ecs-a")
			m.Instances = append(m.Instances, Instance{Name: "ecs-a2", NICs: []NIC{{VSwitch: "vsw-a", Address: "192.168.6.77"}}, SecurityGroups: []string{"sg-a"}})
		}, src: "ecs-a2", dst: "172.16.0.1", want: NoRoute, drop: "request instance ecs-a not_forwarding"},
		{name: "a forwarding loop runs out of TTL", change: func(m *Model) {
			route(m, "vpc-a", "172.16.0.0/12", "ecs-a")
			m.Instances[0].Forward = true
			m.Instances = append(m.Instances, Instance{Name: "ecs-a2", NICs: []NIC{{VSwitch: "vsw-a", Address: "192.168.6.77"}}, SecurityGroups: []string{"sg-a"}})
		}, src: "ecs-a2", dst: "172.16.0.1", want: TTLExceeded, drop: "request router vpc-a ttl"},
		{name: "the reply reaches the other VPC's 192.168.6.76", change: func(m *Model) {
			peerAB(m)
			m.VPCs = append(m.VPCs, VPC{Name: "vpc-d", CIDR: "192.168.6.0/24"})
			m.VSwitches = append(m.VSwitches, VSwitch{Name: "vsw-d", VPC: "vpc-d", CIDR: "192.168.6.0/24"})
			m.SecurityGroups = append(m.SecurityGroups, SecurityGroup{Name: "sg-d", VPC: "vpc-d", Rules: []Rule{{Direction: Ingress}}})
			m.Instances = append(m.Instances, Instance{Name: "ecs-d", NICs: []NIC{{VSwitch: "vsw-d", Address: "192.168.6.76"}}, SecurityGroups: []string{"sg-d"}})
			m.Peerings = append(m.Peerings, Peering{Name: "pcc-bd", VPC: "vpc-b", PeerVPC: "vpc-d"})
			route(m, "vpc-a", "192.168.5.0/24", "pcc-ab")
			route(m, "vpc-b", "192.168.6.0/24", "pcc-bd")
		}, src: "ecs-a", dst: "192.168.5.130", want: NoReplyRoute, drop: "reply instance ecs-d other_host"},
		{name: "drop before accept at one priority", change: func(m *Model) {
			bothRoutes(m)
			g := &m.SecurityGroups[1]
			g.Rules = append(g.Rules, Rule{Direction: Ingress, Protocol: "icmp", SourceCIDR: "192.168.6.76", Policy: PolicyDrop})
		}, src: "ecs-a", dst: "192.168.5.130", want: DeniedIn, drop: "request instance ecs-b sg_rule"},
		{name: "priority 1 accept before priority 2 drop", change: func(m *Model) {
			bothRoutes(m)
			g := &m.SecurityGroups[1]
			g.Rules = append(g.Rules, Rule{Direction: Ingress, Protocol: "icmp", Policy: PolicyDrop, Priority: 2})
		}, src: "ecs-a", dst: "192.168.5.130", want: Accepted},
		{name: "inner access drop", change: func(m *Model) { m.SecurityGroups[1].InnerAccess = PolicyDrop },
			src: "ecs-b", dst: "192.168.5.131", want: DeniedIn, drop: "request instance ecs-b2 sg_default_in"},
		{name: "to itself", src: "ecs-a", dst: "192.168.6.76", want: Accepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := seed()
			if tc.change != nil {
				tc.change(m)
			}
			if ps := Validate(m); len(ps) > 0 {
				t.Fatalf("the model is refused: %v", ps)
			}
			r, err := Trace(m, Flow{Src: tc.src, Dst: netip.MustParseAddr(tc.dst), Protocol: tc.proto, Port: tc.port})
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != tc.want || where(r) != tc.drop {
				b, _ := json.MarshalIndent(r, "", " ")
				t.Errorf("got %s dropped at %q, want %s at %q\n%s", r.Outcome, where(r), tc.want, tc.drop, b)
			}
			again, _ := Trace(m, Flow{Src: tc.src, Dst: netip.MustParseAddr(tc.dst), Protocol: tc.proto, Port: tc.port})
			a, _ := json.Marshal(r)
			b, _ := json.Marshal(again)
			if string(a) != string(b) {
				t.Errorf("two traces differ:\n%s\n%s", a, b)
			}
		})
	}
}

// TestTraceHops checks the hop path of the one-sided peering: the request
// crosses, the reply stops at vpc-b's router.
func TestTraceHops(t *testing.T) {
	m := seed()
	peerAB(m)
	route(m, "vpc-a", "192.168.5.0/24", "pcc-ab")
	r, err := Trace(m, Flow{Src: "ecs-a", Dst: netip.MustParseAddr("192.168.5.130")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range append(r.Request, r.Reply...) {
		got = append(got, h.Kind+" "+h.At+" "+h.Verdict+" "+h.Reason+" "+h.Field)
	}
	want := []string{
		"instance ecs-a pass sg_default_out ",
		"vswitch vsw-a pass vswitch ",
		"router vpc-a pass route route_tables[0].entries[0]",
		"peering pcc-ab pass peering ",
		"router vpc-b pass route ",
		"vswitch vsw-b pass vswitch ",
		"instance ecs-b pass sg_rule security_groups[1].rules[0]",
		"instance ecs-b answer echo ",
		"instance ecs-b pass sg_stateful ",
		"vswitch vsw-b pass vswitch ",
		"router vpc-b drop no_route ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("hops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTraceBadFlow(t *testing.T) {
	m := seed()
	m.VPCs = append(m.VPCs, VPC{Name: "vpc-x", CIDR: "192.168.5.0/24"})
	m.VSwitches = append(m.VSwitches, VSwitch{Name: "vsw-x", VPC: "vpc-x", CIDR: "192.168.5.0/24"})
	m.SecurityGroups = append(m.SecurityGroups, SecurityGroup{Name: "sg-x", VPC: "vpc-x"})
	m.Instances = append(m.Instances, Instance{Name: "ecs-x", NICs: []NIC{{VSwitch: "vsw-x", Address: "192.168.5.130"}}, SecurityGroups: []string{"sg-x"}})
	if ps := Validate(m); len(ps) > 0 {
		t.Fatalf("overlapping VPCs without peering are fine, got %v", ps)
	}
	for _, f := range []Flow{
		{Src: "nobody", Dst: netip.MustParseAddr("10.0.1.10")},
		{Src: "192.168.5.130", Dst: netip.MustParseAddr("10.0.1.10")}, // two VPCs hold it
		{Src: "ecs-a", Dst: netip.MustParseAddr("10.0.1.10"), Protocol: "udp"},
		{Src: "ecs-a", Dst: netip.MustParseAddr("10.0.1.10"), Protocol: TCP},
		{Src: "ecs-a", Dst: netip.MustParseAddr("10.0.1.10"), Port: 80},
		{Src: "ecs-a"},
	} {
		if _, err := Trace(m, f); err == nil {
			t.Errorf("%+v: want an error", f)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Model)
		path   string
		words  string
	}{
		{"bad VPC CIDR", func(m *Model) { m.VPCs[0].CIDR = "192.168.6.0/33" }, "vpcs[0].cidr", "IPv4 CIDR"},
		{"host bits", func(m *Model) { m.VPCs[0].CIDR = "192.168.6.1/25" }, "vpcs[0].cidr", "host bits"},
		{"vswitch outside its VPC", func(m *Model) { m.VSwitches[0].CIDR = "192.168.7.0/25" }, "vswitches[0].cidr", "not inside"},
		{"vswitch larger than its VPC", func(m *Model) { m.VSwitches[0].CIDR = "192.168.6.0/24" }, "vswitches[0].cidr", "not inside"},
		{"overlapping vswitches", func(m *Model) {
			m.VSwitches = append(m.VSwitches, VSwitch{Name: "vsw-b2", VPC: "vpc-b", CIDR: "192.168.5.192/26"})
		}, "vswitches[3].cidr", "overlaps vswitch vsw-b"},
		{"vswitch of no VPC", func(m *Model) { m.VSwitches[0].VPC = "vpc-z" }, "vswitches[0].vpc", "no VPC"},
		{"peering overlapping VPCs", func(m *Model) {
			m.VPCs = append(m.VPCs, VPC{Name: "vpc-x", CIDR: "192.168.5.0/24"})
			m.Peerings = append(m.Peerings, Peering{Name: "pcc-bx", VPC: "vpc-b", PeerVPC: "vpc-x"})
		}, "peerings[0].peer_vpc", "overlap"},
		{"peering itself", func(m *Model) { m.Peerings = []Peering{{Name: "p", VPC: "vpc-a", PeerVPC: "vpc-a"}} }, "peerings[0].peer_vpc", "itself"},
		{"peered twice", func(m *Model) {
			peerAB(m)
			m.Peerings = append(m.Peerings, Peering{Name: "pcc-ba", VPC: "vpc-b", PeerVPC: "vpc-a"})
		}, "peerings[1]", "already peered"},
		{"route inside the local CIDR", func(m *Model) { peerAB(m); route(m, "vpc-a", "192.168.6.64/26", "pcc-ab") }, "route_tables[0].entries[0].destination", "inside the VPC's own CIDR"},
		{"route to a next hop that does not exist", func(m *Model) { route(m, "vpc-a", "192.168.5.0/24", "pcc-zz") }, "route_tables[0].entries[0].next_hop", "want local, a peering or an instance"},
		{"route over a peering of other VPCs", func(m *Model) { peerAB(m); route(m, "vpc-c", "192.168.5.0/24", "pcc-ab") }, "route_tables[0].entries[0].next_hop", "not VPC vpc-c"},
		{"route to an instance of another VPC", func(m *Model) { route(m, "vpc-a", "172.16.0.0/12", "ecs-b") }, "route_tables[0].entries[0].next_hop", "in VPC vpc-b"},
		{"two routes to one destination", func(m *Model) {
			peerAB(m)
			route(m, "vpc-a", "192.168.5.0/24", "pcc-ab")
			route(m, "vpc-a", "192.168.5.0/24", "ecs-a")
		}, "route_tables[0].entries[1].destination", "already has"},
		{"two tables for a VPC", func(m *Model) {
			m.RouteTables = []RouteTable{{Name: "t1", VPC: "vpc-a"}, {Name: "t2", VPC: "vpc-a"}}
		}, "route_tables[1].vpc", "already has route table"},
		{"local elsewhere", func(m *Model) { route(m, "vpc-a", "172.16.0.0/12", "local") }, "route_tables[0].entries[0].next_hop", "system entry"},
		{"instance address outside its vswitch", func(m *Model) { m.Instances[0].NICs[0].Address = "192.168.5.76" }, "instances[0].nics[0].address", "outside vswitch vsw-a"},
		{"network address", func(m *Model) { m.Instances[0].NICs[0].Address = "192.168.6.0" }, "instances[0].nics[0].address", "network or broadcast"},
		{"two instances one address", func(m *Model) { m.Instances[2].NICs[0].Address = "192.168.5.130" }, "instances[2].nics[0].address", "also the address of ecs-b"},
		{"unknown vswitch", func(m *Model) { m.Instances[0].NICs[0].VSwitch = "vsw-z" }, "instances[0].nics[0].vswitch", "no vswitch"},
		{"no security group", func(m *Model) { m.Instances[0].SecurityGroups = nil }, "instances[0].security_groups", "at least one"},
		{"security group of another VPC", func(m *Model) { m.Instances[0].SecurityGroups = []string{"sg-b"} }, "instances[0].security_groups[0]", "in VPC vpc-b"},
		{"duplicate names", func(m *Model) { m.VSwitches[1].Name = "vpc-a" }, "vswitches[1].name", "also the name of vpcs[0]"},
		{"bad rule", func(m *Model) { m.SecurityGroups[0].Rules[0].Protocol = "gre" }, "security_groups[0].rules[0].ip_protocol", "want tcp"},
		{"bad ports", func(m *Model) { m.SecurityGroups[0].Rules[1].PortRange = "90/80" }, "security_groups[0].rules[1].port_range", "START/END"},
		{"bad priority", func(m *Model) { m.SecurityGroups[0].Rules[0].Priority = 101 }, "security_groups[0].rules[0].priority", "1 (first) to 100"},
		{"whitelist of nobody", func(m *Model) { m.Whitelists[0].Host = "db" }, "whitelists[0].host", "no instance"},
		{"whitelist bad entry", func(m *Model) { m.Whitelists[0].SecurityIPs = []string{"10.0.0.0/99"} }, "whitelists[0].security_ips[0]", "IPv4 CIDR"},
		{"too many VPCs", func(m *Model) { m.VPCs = make([]VPC, MaxItems+1) }, "vpcs", "at most 1000"},
		{"too many rules", func(m *Model) { m.SecurityGroups[0].Rules = make([]Rule, MaxItems+1) }, "security_groups[0].rules", "at most 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := seed()
			tc.change(m)
			ps := Validate(m)
			for _, p := range ps {
				if p.Path == tc.path && strings.Contains(p.Text.String(), tc.words) {
					return
				}
			}
			t.Errorf("want %s: ...%s..., got %v", tc.path, tc.words, ps)
		})
	}
	if ps := Validate(seed()); len(ps) > 0 {
		t.Errorf("the seed is refused: %v", ps)
	}
}

// TestTraceSameVSwitch: on one vswitch the packet crosses no router.
func TestTraceSameVSwitch(t *testing.T) {
	r, err := Trace(seed(), Flow{Src: "ecs-b2", Dst: netip.MustParseAddr("192.168.5.130")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range append(r.Request, r.Reply...) {
		got = append(got, h.Kind+" "+h.At+" "+h.Reason)
	}
	want := []string{"instance ecs-b2 sg_default_out", "vswitch vsw-b vswitch", "instance ecs-b sg_inner", "instance ecs-b echo",
		"instance ecs-b sg_stateful", "vswitch vsw-b vswitch", "instance ecs-b2 sg_stateful"}
	if !slices.Equal(got, want) || r.Outcome != Accepted {
		t.Errorf("%s hops:\n%s\nwant:\n%s", r.Outcome, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
