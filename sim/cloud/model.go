// Package cloud is the model of a cloud network around a load balancer, in
// Alibaba Cloud's words: VPCs, vSwitches (交换机) in zones (可用区), a route
// table (路由表) per VPC, peering connections (对等连接), security groups
// and whitelists (白名单) on instances; and its analysis: [Validate] refuses
// what the cloud refuses, [Trace] follows one probe (ICMP echo, TCP
// connect) hop by hop, for the request and for the reply, and says which
// route entry, security-group rule or whitelist entry decided.
//
// The package is pure: no clock, no sockets, no lab files. The lab format
// (scenarios/labfile) fills a [Model]; the simulator and the real network
// read the same model, so that one truth is checked in both worlds.
//
// The semantics, shared by every world:
//   - Each VPC has one route table; longest-prefix match over its entries
//     and the system entry (the VPC's CIDR → local, always present).
//   - A peering connection is not transitive: a packet that came into a
//     VPC over a peering is never forwarded out over another peering.
//   - Security groups are stateful (the reply to an allowed flow passes)
//     and follow Alibaba Cloud's ECS basic security group: inbound denied
//     and outbound allowed when no rule matches; instances of one group
//     reach each other unless its inner_access is drop.
//   - A one-sided peering route gives NO_REPLY_ROUTE (a timeout, not a
//     refusal); a whitelist drop is a timeout (DENIED_IN); a closed port is
//     a refusal (REFUSED, a TCP RST).
package cloud

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/units"
)

// Model is a cloud network: every list is in the order the lab file gives
// it, and the field paths of [Problem] index them.
type Model struct {
	// VPCs are the virtual private clouds.
	VPCs []VPC `yaml:"vpcs" json:"vpcs"`
	// VSwitches are the subnets of the VPCs, each in one zone.
	VSwitches []VSwitch `yaml:"vswitches" json:"vswitches"`
	// RouteTables are the VPCs' custom route entries, at most one table
	// per VPC. A VPC without one has only its system entry (local).
	RouteTables []RouteTable `yaml:"route_tables" json:"route_tables"`
	// Peerings are the peering connections between two VPCs.
	Peerings []Peering `yaml:"peerings" json:"peerings"`
	// SecurityGroups are the security groups instances belong to.
	SecurityGroups []SecurityGroup `yaml:"security_groups" json:"security_groups"`
	// Whitelists are the services' allowed sources (an RDS's IP whitelist).
	Whitelists []Whitelist `yaml:"whitelists" json:"whitelists"`
	// Instances are the machines (ECS, RDS-like hosts) placed in vswitches.
	Instances []Instance `yaml:"instances" json:"instances"`
}

// VPC is a virtual private cloud: an isolated network. Two VPCs may use
// the same or overlapping CIDRs: they never see each other unless a
// peering connection and routes join them.
type VPC struct {
	// Name identifies the VPC (e.g. vpc-a). Required; names are unique
	// over every object of the model, as the cloud's resource IDs are.
	Name string `yaml:"name" json:"name"`
	// CIDR is the VPC's IPv4 block, e.g. 192.168.0.0/16; prefix length 8
	// to 28, as Alibaba Cloud allows. Required.
	CIDR string `yaml:"cidr" json:"cidr"`
}

// VSwitch is a subnet of a VPC in one zone (交换机). Instances are placed in
// vswitches; their L2 domain is the vswitch.
type VSwitch struct {
	// Name identifies the vswitch. Required.
	Name string `yaml:"name" json:"name"`
	// VPC is the VPC the vswitch belongs to. Required.
	VPC string `yaml:"vpc" json:"vpc"`
	// Zone is the availability zone (可用区), e.g. cn-hangzhou-h. Default
	// "" (no zone said).
	Zone string `yaml:"zone" json:"zone,omitempty"`
	// CIDR is the vswitch's block: inside its VPC's CIDR and not
	// overlapping another vswitch of the VPC; prefix length 16 to 29.
	// Required.
	CIDR string `yaml:"cidr" json:"cidr"`
}

// RouteTable is the custom entries of a VPC's route table (路由表). The
// system entry (the VPC's CIDR → local) is always there and need not be
// written.
type RouteTable struct {
	// Name identifies the table. Default rtb-<vpc>.
	Name string `yaml:"name" json:"name"`
	// VPC is the VPC whose router uses the table. Required; one table per
	// VPC.
	VPC string `yaml:"vpc" json:"vpc"`
	// Entries are the custom route entries, at most MaxItems.
	Entries []RouteEntry `yaml:"entries" json:"entries"`
}

// RouteEntry sends packets for a destination CIDR to a next hop. The
// longest matching prefix wins.
type RouteEntry struct {
	// Destination is an IPv4 CIDR. It may not lie inside the VPC's own
	// CIDR (that is the system entry's; a larger block such as
	// 0.0.0.0/0 is fine, local still wins by longest prefix), and two
	// entries of one table may not have the same destination. Required.
	Destination string `yaml:"destination" json:"destination"`
	// NextHop is "local" (only with the VPC's own CIDR as destination:
	// the system entry written out), the name of a peering connection of
	// this VPC, or the name of an instance in this VPC. Required.
	NextHop string `yaml:"next_hop" json:"next_hop"`
}

// Peering is a peering connection (对等连接) between two VPCs of one
// region. No packet crosses it until a route entry on each side names it;
// their CIDRs may not overlap.
type Peering struct {
	// Name identifies the connection (e.g. pcc-ab). Required.
	Name string `yaml:"name" json:"name"`
	// VPC is the requester's VPC. Required.
	VPC string `yaml:"vpc" json:"vpc"`
	// PeerVPC is the accepter's VPC, another VPC. Required; one
	// connection per pair of VPCs.
	PeerVPC string `yaml:"peer_vpc" json:"peer_vpc"`
}

// SecurityGroup is a stateful firewall on instances, Alibaba Cloud's ECS
// basic security group: rules ordered by priority (1 first, then 2, ...; at
// one priority a drop rule before an accept rule); no matching inbound rule
// drops, no matching outbound rule accepts.
type SecurityGroup struct {
	// Name identifies the group (e.g. sg-web). Required.
	Name string `yaml:"name" json:"name"`
	// VPC is the VPC the group belongs to; its instances are in that
	// VPC. Required.
	VPC string `yaml:"vpc" json:"vpc"`
	// InnerAccess is the basic group's InnerAccessPolicy: accept (instances
	// of the group reach each other when no rule decides) or drop.
	// Default accept.
	InnerAccess string `yaml:"inner_access" json:"inner_access,omitempty"`
	// Rules are the group's rules, at most MaxItems.
	Rules []Rule `yaml:"rules" json:"rules"`
}

// Rule is one security-group rule.
type Rule struct {
	// Direction is ingress (inbound) or egress (outbound). Required.
	Direction string `yaml:"direction" json:"direction"`
	// Protocol is tcp, udp, icmp or all. Default all.
	Protocol string `yaml:"ip_protocol" json:"ip_protocol,omitempty"`
	// PortRange is the destination ports, START/END (80/80, 1/65535) or
	// one port (80); -1/-1 for icmp and all. Default every port.
	PortRange string `yaml:"port_range" json:"port_range,omitempty"`
	// SourceCIDR is an ingress rule's source block. Default 0.0.0.0/0.
	SourceCIDR string `yaml:"source_cidr_ip" json:"source_cidr_ip,omitempty"`
	// DestCIDR is an egress rule's destination block. Default 0.0.0.0/0.
	DestCIDR string `yaml:"dest_cidr_ip" json:"dest_cidr_ip,omitempty"`
	// Policy is accept or drop. Default accept.
	Policy string `yaml:"policy" json:"policy,omitempty"`
	// Priority is 1..100, 1 first. Default 1.
	Priority int `yaml:"priority" json:"priority,omitempty"`
}

// Whitelist is a service's IP whitelist (白名单), as an RDS instance has:
// only the listed sources reach the port; the others' packets are dropped
// (a timeout, not a refusal).
type Whitelist struct {
	// Name identifies the whitelist. Required.
	Name string `yaml:"name" json:"name"`
	// Host is the instance that serves. Required.
	Host string `yaml:"host" json:"host"`
	// Port is the TCP port it guards, 1..65535; 0 guards every packet to
	// the host (ICMP too). Default 0.
	Port int `yaml:"port" json:"port,omitempty"`
	// SecurityIPs are the allowed sources, addresses or CIDRs, at most
	// MaxItems. Default none: nobody is allowed (an RDS's 127.0.0.1).
	SecurityIPs []string `yaml:"security_ips" json:"security_ips"`
}

// Instance is a machine placed in vswitches (an ECS, an RDS-like host).
type Instance struct {
	// Name identifies the instance. Required.
	Name string `yaml:"name" json:"name"`
	// NICs are its network interfaces, at least one; all in one VPC.
	NICs []NIC `yaml:"nics" json:"nics"`
	// SecurityGroups are the groups it belongs to, at least one (the
	// cloud puts every ECS in a group), each of its VPC.
	SecurityGroups []string `yaml:"security_groups" json:"security_groups"`
	// Listen are the TCP ports it accepts connections on; a connect to
	// another port is refused (RST). ICMP echo is always answered.
	// Default none.
	Listen []int `yaml:"listen" json:"listen,omitempty"`
	// Forward makes it route packets that are not for it (a NAT or VPN
	// instance a route entry names); Linux's ip_forward. Default false:
	// such packets are dropped.
	Forward bool `yaml:"forward" json:"forward,omitempty"`
}

// NIC is an instance's interface in a vswitch.
type NIC struct {
	// VSwitch is the vswitch it is in. Required.
	VSwitch string `yaml:"vswitch" json:"vswitch"`
	// Address is its IPv4 address, inside the vswitch's CIDR, with or
	// without a prefix length. Unique within a VPC (two VPCs may reuse
	// it). Required.
	Address string `yaml:"address" json:"address"`
}

// MaxItems bounds every list of a model (VPCs, vswitches, rules of one
// group, entries of one table, ...): 1,000, above the cloud's own quotas
// (200 rules per group, 200 custom routes per table), so that a hostile
// file costs at most a few million comparisons.
const MaxItems = 1000

// Policies and directions of a security-group rule.
const (
	PolicyAccept = "accept"
	PolicyDrop   = "drop"
	Ingress      = "ingress"
	Egress       = "egress"
	// NextHopLocal is the system entry's next hop.
	NextHopLocal = "local"
)

// Problem is one thing the cloud would refuse, with the field path in the
// model (vswitches[1].cidr, instances[0].nics[0].address).
type Problem struct {
	// Path is the field's path.
	Path string
	// Text says what is wrong.
	Text i18n.Text
}

// Error returns PATH: MESSAGE.
func (p Problem) Error() string { return p.Path + ": " + p.Text.String() }

type checker struct{ problems []Problem }

func (c *checker) bad(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Text: i18n.T(format, units.CutArgs(format, args)...)})
}

// prefix parses an IPv4 CIDR in its canonical form.
func (c *checker) prefix(path, s string, minBits, maxBits int) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil || !p.Addr().Is4():
		c.bad(path, "want an IPv4 CIDR like 192.168.0.0/16, got %q", s)
	case p.Masked() != p:
		c.bad(path, "%s has host bits set; the block is %s", s, p.Masked())
	case p.Bits() < minBits || p.Bits() > maxBits:
		c.bad(path, "want a prefix length from %d to %d, got %d", minBits, maxBits, p.Bits())
	default:
		return p, true
	}
	return netip.Prefix{}, false
}

// ParseAddr parses an instance address, with or without a prefix length;
// ok is false for anything else.
func ParseAddr(s string) (a netip.Addr, ok bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return a, true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Addr{}, false
	}
	return p.Addr(), true
}

// ParseSource parses a whitelist entry or a rule's block: a CIDR or an
// address (a /32); ok is false for anything else.
func ParseSource(s string) (p netip.Prefix, ok bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return netip.PrefixFrom(a, 32), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

// ParsePorts parses a rule's port range: "" and -1/-1 are every port
// (1..65535); ok is false for anything but START/END or one port.
func ParsePorts(s string) (lo, hi int, ok bool) {
	if s == "" || s == "-1/-1" {
		return 1, 65535, true
	}
	a, b, cut := strings.Cut(s, "/")
	if !cut {
		b = a
	}
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, false
	}
	return lo, hi, true
}

func overlap(a, b netip.Prefix) bool { return a.Overlaps(b) }

// Validate returns every problem of m the cloud would refuse: bad CIDRs, a
// vswitch outside its VPC's CIDR, overlapping vswitches in one VPC, a
// peering between VPCs whose CIDRs overlap, a route whose destination lies
// inside the local CIDR, a next hop that does not exist, an instance
// address outside its vswitch, names given twice or naming nothing. It
// fills in defaults (a route table's name). Lists longer than MaxItems are
// refused before anything else of them is looked at.
func Validate(m *Model) []Problem {
	c := &checker{}
	for _, l := range []struct {
		path string
		n    int
	}{{"vpcs", len(m.VPCs)}, {"vswitches", len(m.VSwitches)}, {"route_tables", len(m.RouteTables)},
		{"peerings", len(m.Peerings)}, {"security_groups", len(m.SecurityGroups)},
		{"whitelists", len(m.Whitelists)}, {"instances", len(m.Instances)}} {
		if l.n > MaxItems {
			c.bad(l.path, "at most %d, got %d", MaxItems, l.n)
		}
	}
	if len(c.problems) > 0 {
		return c.problems
	}
	names := map[string]string{} // name → path of its owner
	name := func(path, n string) {
		switch {
		case n == "" || strings.ContainsAny(n, " \t\n:/") || n == NextHopLocal:
			c.bad(path, "want a name without spaces, ':' or '/' (not %q), got %q", NextHopLocal, n)
		case names[n] != "":
			c.bad(path, "%q is also the name of %s", n, names[n])
		default:
			names[n] = path
		}
	}
	vpcs := map[string]netip.Prefix{}
	for i := range m.VPCs {
		v := &m.VPCs[i]
		p := fmt.Sprintf("vpcs[%d]", i)
		name(p+".name", v.Name)
		if pfx, ok := c.prefix(p+".cidr", v.CIDR, 8, 28); ok {
			vpcs[v.Name] = pfx
		} else {
			vpcs[v.Name] = netip.Prefix{}
		}
	}
	vpcOf := func(path, n string) (netip.Prefix, bool) {
		pfx, ok := vpcs[n]
		if !ok {
			c.bad(path, "no VPC %q in vpcs", n)
		}
		return pfx, ok && pfx.IsValid()
	}
	type vsw struct {
		vpc  string
		cidr netip.Prefix
	}
	vsws := map[string]vsw{}
	for i := range m.VSwitches {
		s := &m.VSwitches[i]
		p := fmt.Sprintf("vswitches[%d]", i)
		name(p+".name", s.Name)
		vp, vok := vpcOf(p+".vpc", s.VPC)
		pfx, ok := c.prefix(p+".cidr", s.CIDR, 16, 29)
		vsws[s.Name] = vsw{s.VPC, pfx}
		if !ok || !vok {
			continue
		}
		if !vp.Contains(pfx.Addr()) || pfx.Bits() < vp.Bits() {
			c.bad(p+".cidr", "%s is not inside the CIDR %s of VPC %s", pfx, vp, s.VPC)
			continue
		}
		for j := range i {
			o := &m.VSwitches[j]
			if op := vsws[o.Name].cidr; o.VPC == s.VPC && op.IsValid() && overlap(op, pfx) {
				c.bad(p+".cidr", "%s overlaps vswitch %s (%s) in VPC %s", pfx, o.Name, op, s.VPC)
				break
			}
		}
	}
	// Peerings.
	pairs := map[[2]string]string{}
	peerings := map[string]*Peering{}
	for i := range m.Peerings {
		pe := &m.Peerings[i]
		p := fmt.Sprintf("peerings[%d]", i)
		name(p+".name", pe.Name)
		peerings[pe.Name] = pe
		a, aok := vpcOf(p+".vpc", pe.VPC)
		b, bok := vpcOf(p+".peer_vpc", pe.PeerVPC)
		if pe.VPC == pe.PeerVPC {
			c.bad(p+".peer_vpc", "a VPC cannot peer with itself (%s)", pe.VPC)
			continue
		}
		key := [2]string{min(pe.VPC, pe.PeerVPC), max(pe.VPC, pe.PeerVPC)}
		if o := pairs[key]; o != "" {
			c.bad(p, "VPCs %s and %s are already peered by %s", pe.VPC, pe.PeerVPC, o)
		}
		pairs[key] = pe.Name
		if aok && bok && overlap(a, b) {
			c.bad(p+".peer_vpc", "VPC %s (%s) and VPC %s (%s) overlap: the cloud refuses to peer them, a route could not tell one side from the other", pe.VPC, a, pe.PeerVPC, b)
		}
	}
	// Security groups.
	groups := map[string]*SecurityGroup{}
	for i := range m.SecurityGroups {
		g := &m.SecurityGroups[i]
		p := fmt.Sprintf("security_groups[%d]", i)
		name(p+".name", g.Name)
		groups[g.Name] = g
		vpcOf(p+".vpc", g.VPC)
		if g.InnerAccess != "" && g.InnerAccess != PolicyAccept && g.InnerAccess != PolicyDrop {
			c.bad(p+".inner_access", "want accept or drop, got %q", g.InnerAccess)
		}
		if len(g.Rules) > MaxItems {
			c.bad(p+".rules", "at most %d, got %d", MaxItems, len(g.Rules))
			continue
		}
		for j, r := range g.Rules {
			checkRule(c, fmt.Sprintf("%s.rules[%d]", p, j), r)
		}
	}
	// Instances.
	instances := map[string]*Instance{}
	held := map[string]map[netip.Addr]string{} // VPC → address → instance
	for i := range m.Instances {
		in := &m.Instances[i]
		p := fmt.Sprintf("instances[%d]", i)
		name(p+".name", in.Name)
		instances[in.Name] = in
		if len(in.NICs) == 0 {
			c.bad(p+".nics", "an instance needs a NIC in a vswitch")
		}
		if len(in.NICs) > MaxItems || len(in.SecurityGroups) > MaxItems || len(in.Listen) > MaxItems {
			c.bad(p, "at most %d NICs, security groups and ports", MaxItems)
			continue
		}
		vpc := ""
		for j, nic := range in.NICs {
			np := fmt.Sprintf("%s.nics[%d]", p, j)
			s, ok := vsws[nic.VSwitch]
			if !ok {
				c.bad(np+".vswitch", "no vswitch %q in vswitches", nic.VSwitch)
				continue
			}
			if vpc == "" {
				vpc = s.vpc
			} else if s.vpc != vpc {
				c.bad(np+".vswitch", "vswitch %s is in VPC %s, the instance's first NIC in VPC %s", nic.VSwitch, s.vpc, vpc)
			}
			a, ok := ParseAddr(nic.Address)
			if !ok {
				c.bad(np+".address", "want an IPv4 address, got %q", nic.Address)
				continue
			}
			if s.cidr.IsValid() && !s.cidr.Contains(a) {
				c.bad(np+".address", "%s is outside vswitch %s (%s)", a, nic.VSwitch, s.cidr)
				continue
			}
			if s.cidr.IsValid() && (a == s.cidr.Addr() || a == lastAddr(s.cidr)) {
				c.bad(np+".address", "%s is the network or broadcast address of vswitch %s (%s)", a, nic.VSwitch, s.cidr)
				continue
			}
			if held[s.vpc] == nil {
				held[s.vpc] = map[netip.Addr]string{}
			}
			if o := held[s.vpc][a]; o != "" {
				c.bad(np+".address", "%s is also the address of %s in VPC %s", a, o, s.vpc)
			}
			held[s.vpc][a] = in.Name
		}
		if len(in.SecurityGroups) == 0 {
			c.bad(p+".security_groups", "an instance belongs to at least one security group (the cloud puts every ECS in one)")
		}
		seen := map[string]bool{}
		for j, gn := range in.SecurityGroups {
			gp := fmt.Sprintf("%s.security_groups[%d]", p, j)
			g := groups[gn]
			switch {
			case g == nil:
				c.bad(gp, "no security group %q in security_groups", gn)
			case seen[gn]:
				c.bad(gp, "security group %s is listed twice", gn)
			case vpc != "" && g.VPC != vpc:
				c.bad(gp, "security group %s is in VPC %s, the instance in VPC %s", gn, g.VPC, vpc)
			}
			seen[gn] = true
		}
		for j, port := range in.Listen {
			if port < 1 || port > 65535 {
				c.bad(fmt.Sprintf("%s.listen[%d]", p, j), "want a port from 1 to 65535, got %d", port)
			}
		}
	}
	instVPC := func(n string) string {
		in := instances[n]
		if in == nil || len(in.NICs) == 0 {
			return ""
		}
		return vsws[in.NICs[0].VSwitch].vpc
	}
	// Route tables.
	tables := map[string]string{}
	for i := range m.RouteTables {
		t := &m.RouteTables[i]
		p := fmt.Sprintf("route_tables[%d]", i)
		if t.Name == "" {
			t.Name = "rtb-" + t.VPC
		}
		name(p+".name", t.Name)
		local, ok := vpcOf(p+".vpc", t.VPC)
		if o := tables[t.VPC]; o != "" {
			c.bad(p+".vpc", "VPC %s already has route table %s", t.VPC, o)
		}
		tables[t.VPC] = t.Name
		if len(t.Entries) > MaxItems {
			c.bad(p+".entries", "at most %d, got %d", MaxItems, len(t.Entries))
			continue
		}
		dests := map[netip.Prefix]int{}
		for j, e := range t.Entries {
			ep := fmt.Sprintf("%s.entries[%d]", p, j)
			d, dok := c.prefix(ep+".destination", e.Destination, 0, 32)
			if dok {
				if k, dup := dests[d]; dup {
					c.bad(ep+".destination", "entry %d already has destination %s", k, d)
				}
				dests[d] = j
			}
			switch nh := e.NextHop; {
			case nh == NextHopLocal:
				if dok && ok && d != local {
					c.bad(ep+".next_hop", "local is the system entry of the VPC's own CIDR %s, not of %s", local, d)
				}
				continue
			case peerings[nh] != nil:
				if pe := peerings[nh]; pe.VPC != t.VPC && pe.PeerVPC != t.VPC {
					c.bad(ep+".next_hop", "peering %s joins %s and %s, not VPC %s", nh, pe.VPC, pe.PeerVPC, t.VPC)
				}
			case instances[nh] != nil:
				if iv := instVPC(nh); iv != "" && iv != t.VPC {
					c.bad(ep+".next_hop", "instance %s is in VPC %s, not in VPC %s", nh, iv, t.VPC)
				}
			default:
				c.bad(ep+".next_hop", "want local, a peering or an instance, got %q", nh)
			}
			if dok && ok && local.Bits() <= d.Bits() && local.Contains(d.Addr()) {
				c.bad(ep+".destination", "%s lies inside the VPC's own CIDR %s (the system entry, local)", d, local)
			}
		}
	}
	// Whitelists.
	for i := range m.Whitelists {
		w := &m.Whitelists[i]
		p := fmt.Sprintf("whitelists[%d]", i)
		name(p+".name", w.Name)
		if instances[w.Host] == nil {
			c.bad(p+".host", "no instance %q", w.Host)
		}
		if w.Port < 0 || w.Port > 65535 {
			c.bad(p+".port", "want a port from 1 to 65535 (0: every packet), got %d", w.Port)
		}
		if len(w.SecurityIPs) > MaxItems {
			c.bad(p+".security_ips", "at most %d, got %d", MaxItems, len(w.SecurityIPs))
			continue
		}
		for j, s := range w.SecurityIPs {
			if _, ok := ParseSource(s); !ok {
				c.bad(fmt.Sprintf("%s.security_ips[%d]", p, j), "want an IPv4 CIDR or address, got %q", s)
			}
		}
	}
	return c.problems
}

func checkRule(c *checker, p string, r Rule) {
	switch r.Direction {
	case Ingress:
		if r.DestCIDR != "" {
			c.bad(p+".dest_cidr_ip", "an ingress rule matches its source (source_cidr_ip), not dest_cidr_ip")
		}
	case Egress:
		if r.SourceCIDR != "" {
			c.bad(p+".source_cidr_ip", "an egress rule matches its destination (dest_cidr_ip), not source_cidr_ip")
		}
	default:
		c.bad(p+".direction", "want ingress or egress, got %q", r.Direction)
	}
	if !slices.Contains([]string{"", "all", "tcp", "udp", "icmp"}, r.Protocol) {
		c.bad(p+".ip_protocol", "want tcp, udp, icmp or all, got %q", r.Protocol)
	}
	if _, _, ok := ParsePorts(r.PortRange); !ok {
		c.bad(p+".port_range", "want START/END ports from 1 to 65535 (80/80, 1/65535) or -1/-1, got %q", r.PortRange)
	}
	for _, f := range []struct{ path, v string }{{".source_cidr_ip", r.SourceCIDR}, {".dest_cidr_ip", r.DestCIDR}} {
		if f.v != "" {
			if _, ok := ParseSource(f.v); !ok {
				c.bad(p+f.path, "want an IPv4 CIDR or address, got %q", f.v)
			}
		}
	}
	if r.Policy != "" && r.Policy != PolicyAccept && r.Policy != PolicyDrop {
		c.bad(p+".policy", "want accept or drop, got %q", r.Policy)
	}
	if r.Priority != 0 && (r.Priority < 1 || r.Priority > 100) {
		c.bad(p+".priority", "want a priority from 1 (first) to 100, got %d", r.Priority)
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n |= ^uint32(0) >> p.Bits()
	if p.Bits() == 0 {
		n = ^uint32(0)
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}
