package netns

// The cloud network of issue 16 on real namespaces: VPCs, vSwitches,
// instances, peering connections and route tables.
//
// Layout (every namespace is the testbed's, <prefix>-<name>, so that
// Cleanup, and Clean after a crash of the run, remove it and with it
// every link, route and nftables table inside; nothing is made in the
// caller's namespace):
//
//   - a VPC is a router namespace r-<vpc>: IPv4 forwarding on, a
//     blackhole default route (a packet with no route is dropped
//     silently, a timeout for its sender, as the cloud's vRouter answers
//     nothing), and the nftables table ip lblab_vpc that makes peering
//     non-transitive (below);
//   - a vSwitch is a Segment sw-<vswitch> (a bridge in a namespace of its
//     own) with a veth vsw<n> from the router into it, holding the
//     vSwitch's gateway address (VSwitchGateway). Its own namespace, not a
//     bridge inside the router, for two reasons: the labs of the earlier
//     issues (and their faults: Link.Down, Disconnect, Segment.Block,
//     Shape) work on Segments and Links unchanged inside a vSwitch; and
//     the traffic between two instances of one vSwitch never meets the
//     router's netfilter hooks (with br_netfilter loaded, as Docker loads
//     it, bridged frames would run through the router's forward chain);
//   - an instance is a Host with eth0 on its vSwitch's bridge and a
//     default route via the gateway;
//   - a peering connection is a veth pair peer<n> between two routers,
//     with the link addresses of PeeringLinkAddrs;
//   - a route table entry is a route in the router namespace, set with
//     netlink: via the other router's link address for a peering, via the
//     instance's address for an instance.
//
// Peering is not transitive: a packet that came in over a peering is never
// forwarded out over another one. A Linux router would forward it, so
// every router holds the rule iifname "peer*" oifname "peer*" drop (with
// a counter: TransitDrops); that rule, not the routes, gives the cloud's
// semantics when route tables point past a peer.
//
// rp_filter is 0 (off) in every router and instance, explicitly (all,
// default and each interface): with a one-sided peering route the request
// must reach the destination and only its reply be lost (the cloud's
// NO_REPLY_ROUTE); a strict rp_filter in the destination's router would
// drop the request already, since that router has no route back. ICMP
// redirects are off in routers (the cloud sends none).

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VPCSpec is a virtual private cloud: a name and an IPv4 CIDR block.
type VPCSpec struct {
	// Name is the VPC's name: lower-case letters, digits, - and _, at
	// most 29 bytes (its router namespace is r-<name>).
	Name string
	// CIDR is the VPC's IPv4 block, e.g. 192.168.6.0/25.
	CIDR netip.Prefix
}

// VSwitchSpec is a vSwitch (a subnet) of a VPC, in a zone.
type VSwitchSpec struct {
	// Name is the vSwitch's name (its namespace is sw-<name>).
	Name string
	// VPC names its VPC.
	VPC string
	// CIDR is the vSwitch's block, inside the VPC's, overlapping no other
	// vSwitch of the VPC; at most /29 (the cloud's smallest vSwitch).
	CIDR netip.Prefix
	// Zone is the vSwitch's zone (kept; no effect on the network).
	Zone string
}

// InstanceSpec is an instance (an ECS, an RDS-like database host, an
// SLB's address) placed in a vSwitch.
type InstanceSpec struct {
	// Name is the instance's name (its namespace is <name>).
	Name string
	// VSwitch names its vSwitch.
	VSwitch string
	// Addr is its private address, inside the vSwitch's CIDR and not one
	// the cloud reserves (the first and the last three).
	Addr netip.Addr
	// Listen are TCP ports the testbed listens on in the instance,
	// accepting and closing each connection (optional).
	Listen []uint16
}

// NextHopKind is the kind of a route entry's next hop.
type NextHopKind string

const (
	// NextHopPeering sends the destination over a peering connection.
	NextHopPeering NextHopKind = "peering"
	// NextHopInstance sends the destination to an instance of the VPC
	// (which the testbed then makes forward).
	NextHopInstance NextHopKind = "instance"
)

// NextHop is a route entry's next hop: a peering connection or an
// instance, by name.
type NextHop struct {
	Kind NextHopKind
	Name string
}

// RouteSpec is an entry of a VPC's route table: destination CIDR → next
// hop. The VPC's own vSwitches are the system entries, always present.
type RouteSpec struct {
	VPC     string
	Dest    netip.Prefix
	NextHop NextHop
}

// PeeringSpec is a peering connection between VPCs A and B.
type PeeringSpec struct {
	Name string
	A, B string
}

// VPC is a VPC of a Cloud.
type VPC struct {
	Spec VPCSpec
	// Router is the VPC's router namespace.
	Router *Host
	peers  int // peering interfaces made, for the next name
	vsws   int // vSwitch interfaces made, for the next name
}

// VSwitch is a vSwitch of a Cloud.
type VSwitch struct {
	Spec VSwitchSpec
	// Segment is its bridge; Uplink the router's interface on it.
	Segment *Segment
	Uplink  *Link
	// Gateway is the router's address on it (VSwitchGateway).
	Gateway netip.Addr
}

// Instance is an instance of a Cloud.
type Instance struct {
	Spec InstanceSpec
	// Host is its namespace; Link its eth0 on the vSwitch.
	Host *Host
	Link *Link
	// VPC is the name of its VPC.
	VPC string
}

// Peering is a peering connection of a Cloud.
type Peering struct {
	Spec PeeringSpec
	// IfA is the interface in A's router, IfB in B's.
	IfA, IfB string
	// AddrA and AddrB are the link addresses (PeeringLinkAddrs).
	AddrA, AddrB netip.Prefix
}

// Cloud builds the cloud network of issue 16 in a testbed (see the
// comment at the top of vpc.go for the layout). Its methods are safe for
// concurrent use; each change is in the kernel when it returns.
type Cloud struct {
	tb *Testbed

	mu        sync.Mutex
	vpcs      map[string]*VPC
	vswitches map[string]*VSwitch
	instances map[string]*Instance
	peerings  map[string]*Peering
	npeer     int
}

// Cloud returns the testbed's cloud network, made empty on the first
// call.
func (tb *Testbed) Cloud() *Cloud {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.cloud == nil {
		tb.cloud = &Cloud{tb: tb, vpcs: map[string]*VPC{}, vswitches: map[string]*VSwitch{},
			instances: map[string]*Instance{}, peerings: map[string]*Peering{}}
	}
	return tb.cloud
}

// VSwitchGateway is the gateway address of a vSwitch of block cidr: its
// last address but two (192.168.5.253 in 192.168.5.0/24). Alibaba Cloud
// reserves the first and the last three addresses of every vSwitch (its
// CreateVSwitch documentation: 192.168.1.0, .253, .254 and .255 of
// 192.168.1.0/24), so the first host address (.1) can be an instance's
// and is not the gateway; ECS instances see the gateway at .253 of a /24.
func VSwitchGateway(cidr netip.Prefix) netip.Addr {
	return lastAddr(cidr.Masked()).Prev().Prev()
}

// lastAddr is the last address of an IPv4 block.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= ^uint32(0) >> p.Bits()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// reserved reports whether a is one of the addresses the cloud reserves
// in a vSwitch of block p: the first and the last three.
func reserved(p netip.Prefix, a netip.Addr) bool {
	last := lastAddr(p)
	return a == p.Addr() || a == last || a == last.Prev() || a == last.Prev().Prev()
}

// PeeringLinkBase is where the link addresses of peering connections
// come from: 169.254.0.0/16 (link-local: no VPC can hold it), from
// 169.254.1.0 on (RFC 3927 reserves the first and last /24).
var PeeringLinkBase = netip.MustParseAddr("169.254.1.0")

// MaxPeerings is how many peering connections a Cloud can hold: the /30s
// of 169.254.1.0–169.254.254.255.
const MaxPeerings = 254 * 64

// PeeringLinkAddrs are the link addresses of the n-th peering connection
// of a Cloud (n from 0, in the order AddPeering made them): the /30 at
// 169.254.1.0 + 4n, its first host address on A's side, its second on
// B's (peering 0: 169.254.1.1/30 and 169.254.1.2/30).
func PeeringLinkAddrs(n int) (a, b netip.Prefix, err error) {
	if n < 0 || n >= MaxPeerings {
		return a, b, fmt.Errorf("netns: peering %d out of 0..%d", n, MaxPeerings-1)
	}
	base := PeeringLinkBase.As4()
	v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3]) + uint32(4*n)
	at := func(off uint32) netip.Prefix {
		w := v + off
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w)}), 30)
	}
	return at(1), at(2), nil
}

// maxCloudName bounds the names of VPCs and vSwitches: their namespaces
// are r-<name> and sw-<name>, at most 31 bytes (AddHost, AddSegment).
const maxCloudName = 28

func checkName(what, name string) error {
	if len(name) > maxCloudName || !validName.MatchString(name) {
		return fmt.Errorf("netns: %s name %q: lower-case letters, digits, - and _, at most %d", what, name, maxCloudName)
	}
	return nil
}

func checkV4Block(what string, p netip.Prefix) error {
	if !p.IsValid() || !p.Addr().Is4() {
		return fmt.Errorf("netns: %s: CIDR %v is not an IPv4 block", what, p)
	}
	if p.Masked() != p {
		return fmt.Errorf("netns: %s: CIDR %v has host bits set (%v)", what, p, p.Masked())
	}
	return nil
}

// AddVPC makes a VPC: its router namespace r-<name>, forwarding on,
// rp_filter and redirects off, the blackhole default route and the
// non-transitive peering rule. Two VPCs may hold the same CIDR.
func (c *Cloud) AddVPC(spec VPCSpec) (*VPC, error) {
	if err := checkName("VPC", spec.Name); err != nil {
		return nil, err
	}
	if err := checkV4Block("VPC "+spec.Name, spec.CIDR); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.vpcs[spec.Name]; ok {
		return nil, fmt.Errorf("netns: VPC %s exists already", spec.Name)
	}
	r, err := c.tb.AddHost("r-" + spec.Name)
	if err != nil {
		return nil, err
	}
	if err := setSysctls(r.NS, routerSysctls("all", "default")...); err != nil {
		return nil, err
	}
	nl, err := r.handle()
	if err != nil {
		return nil, err
	}
	defer nl.Close()
	_, all, _ := net.ParseCIDR("0.0.0.0/0")
	if err := nl.RouteReplace(&netlink.Route{Dst: all, Type: unix.RTN_BLACKHOLE}); err != nil {
		return nil, fmt.Errorf("netns: VPC %s: blackhole default route: %w", spec.Name, err)
	}
	if err := setRouterRules(r.NS); err != nil {
		return nil, fmt.Errorf("netns: VPC %s: %w", spec.Name, err)
	}
	v := &VPC{Spec: spec, Router: r}
	c.vpcs[spec.Name] = v
	return v, nil
}

// routerSysctls are a router's settings for each of ifaces (all,
// default, or an interface): forwarding on, rp_filter off, no redirects.
func routerSysctls(ifaces ...string) []sysctl {
	var out []sysctl
	for _, i := range ifaces {
		out = append(out, sysctl{"net/ipv4/conf/" + i + "/forwarding", "1"},
			sysctl{"net/ipv4/conf/" + i + "/rp_filter", "0"},
			sysctl{"net/ipv4/conf/" + i + "/send_redirects", "0"})
	}
	return out
}

// hostSysctls are an instance's settings for ifaces: rp_filter off.
func hostSysctls(ifaces ...string) []sysctl {
	var out []sysctl
	for _, i := range ifaces {
		out = append(out, sysctl{"net/ipv4/conf/" + i + "/rp_filter", "0"})
	}
	return out
}

// AddVSwitch makes a vSwitch: the segment sw-<name> and the router's
// interface on it, holding the gateway address.
func (c *Cloud) AddVSwitch(spec VSwitchSpec) (*VSwitch, error) {
	if err := checkName("vSwitch", spec.Name); err != nil {
		return nil, err
	}
	if err := checkV4Block("vSwitch "+spec.Name, spec.CIDR); err != nil {
		return nil, err
	}
	if spec.CIDR.Bits() > 29 {
		return nil, fmt.Errorf("netns: vSwitch %s: CIDR %v is smaller than /29", spec.Name, spec.CIDR)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.vpcs[spec.VPC]
	if !ok {
		return nil, fmt.Errorf("netns: vSwitch %s: no VPC %q", spec.Name, spec.VPC)
	}
	if _, ok := c.vswitches[spec.Name]; ok {
		return nil, fmt.Errorf("netns: vSwitch %s exists already", spec.Name)
	}
	if !v.Spec.CIDR.Contains(spec.CIDR.Addr()) || spec.CIDR.Bits() < v.Spec.CIDR.Bits() {
		return nil, fmt.Errorf("netns: vSwitch %s: CIDR %v is not inside VPC %s's %v", spec.Name, spec.CIDR, v.Spec.Name, v.Spec.CIDR)
	}
	for _, o := range c.vswitches {
		if o.Spec.VPC == spec.VPC && o.Spec.CIDR.Overlaps(spec.CIDR) {
			return nil, fmt.Errorf("netns: vSwitch %s: CIDR %v overlaps vSwitch %s's %v", spec.Name, spec.CIDR, o.Spec.Name, o.Spec.CIDR)
		}
	}
	seg, err := c.tb.AddSegment("sw-" + spec.Name)
	if err != nil {
		return nil, err
	}
	gw := VSwitchGateway(spec.CIDR)
	iface := "vsw" + strconv.Itoa(v.vsws)
	v.vsws++
	up, err := c.tb.Connect(v.Router, iface, seg, netip.PrefixFrom(gw, spec.CIDR.Bits()))
	if err != nil {
		return nil, err
	}
	if err := setSysctls(v.Router.NS, routerSysctls(iface)...); err != nil {
		return nil, err
	}
	s := &VSwitch{Spec: spec, Segment: seg, Uplink: up, Gateway: gw}
	c.vswitches[spec.Name] = s
	return s, nil
}

// AddInstance makes an instance: its namespace, eth0 on the vSwitch with
// its address, a default route via the gateway, and its listening ports.
func (c *Cloud) AddInstance(spec InstanceSpec) (*Instance, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.instances[spec.Name]; ok {
		return nil, fmt.Errorf("netns: instance %s exists already", spec.Name)
	}
	sw, ok := c.vswitches[spec.VSwitch]
	if !ok {
		return nil, fmt.Errorf("netns: instance %s: no vSwitch %q", spec.Name, spec.VSwitch)
	}
	if !spec.Addr.Is4() || !sw.Spec.CIDR.Contains(spec.Addr) {
		return nil, fmt.Errorf("netns: instance %s: address %v is not in vSwitch %s's %v", spec.Name, spec.Addr, sw.Spec.Name, sw.Spec.CIDR)
	}
	if reserved(sw.Spec.CIDR, spec.Addr) {
		return nil, fmt.Errorf("netns: instance %s: address %v is reserved in vSwitch %s (the first and the last three of %v)", spec.Name, spec.Addr, sw.Spec.Name, sw.Spec.CIDR)
	}
	for _, o := range c.instances {
		if o.Spec.Addr == spec.Addr && c.vswitches[o.Spec.VSwitch].Spec.VPC == sw.Spec.VPC {
			return nil, fmt.Errorf("netns: instance %s: address %v is instance %s's already", spec.Name, spec.Addr, o.Spec.Name)
		}
	}
	for _, port := range spec.Listen {
		if port == 0 {
			return nil, fmt.Errorf("netns: instance %s: listen on port 0", spec.Name)
		}
	}
	h, err := c.tb.AddHost(spec.Name)
	if err != nil {
		return nil, err
	}
	if err := setSysctls(h.NS, hostSysctls("all", "default")...); err != nil {
		return nil, err
	}
	l, err := c.tb.Connect(h, "eth0", sw.Segment, netip.PrefixFrom(spec.Addr, sw.Spec.CIDR.Bits()))
	if err != nil {
		return nil, err
	}
	if err := setSysctls(h.NS, hostSysctls("eth0")...); err != nil {
		return nil, err
	}
	nl, link, err := l.hostLink()
	if err != nil {
		return nil, err
	}
	defer nl.Close()
	_, all, _ := net.ParseCIDR("0.0.0.0/0")
	if err := nl.RouteReplace(&netlink.Route{Dst: all, Gw: sw.Gateway.AsSlice(), LinkIndex: link.Attrs().Index}); err != nil {
		return nil, fmt.Errorf("netns: instance %s: default route via %v: %w", spec.Name, sw.Gateway, err)
	}
	for _, port := range spec.Listen {
		if err := c.listen(h, port); err != nil {
			return nil, err
		}
	}
	in := &Instance{Spec: spec, Host: h, Link: l, VPC: sw.Spec.VPC}
	c.instances[spec.Name] = in
	return in, nil
}

// listen opens a TCP listener on port in h, accepting and closing every
// connection until Cleanup closes it.
func (c *Cloud) listen(h *Host, port uint16) error {
	var ln net.Listener
	err := h.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", ":"+strconv.Itoa(int(port)))
		return err
	})
	if err != nil {
		return fmt.Errorf("netns: instance %s: listen on %d: %w", h.Name, port, err)
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	c.tb.mu.Lock()
	defer c.tb.mu.Unlock()
	c.tb.closers = append(c.tb.closers, func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("netns: close listener %s:%d: %w", h.Name, port, err)
		}
		return nil
	})
	return nil
}

// AddPeering makes a peering connection: a veth pair between the two
// routers, peer<n> in each, with the link addresses of PeeringLinkAddrs.
// It is refused between VPCs whose CIDRs overlap (as the cloud refuses
// it) and between a VPC and itself. No traffic passes until both route
// tables have an entry through it (AddRoute).
func (c *Cloud) AddPeering(spec PeeringSpec) (*Peering, error) {
	if spec.Name == "" {
		return nil, errors.New("netns: a peering connection needs a name")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.peerings[spec.Name]; ok {
		return nil, fmt.Errorf("netns: peering %s exists already", spec.Name)
	}
	a, okA := c.vpcs[spec.A]
	b, okB := c.vpcs[spec.B]
	switch {
	case !okA:
		return nil, fmt.Errorf("netns: peering %s: no VPC %q", spec.Name, spec.A)
	case !okB:
		return nil, fmt.Errorf("netns: peering %s: no VPC %q", spec.Name, spec.B)
	case a == b:
		return nil, fmt.Errorf("netns: peering %s: a VPC cannot peer with itself", spec.Name)
	case a.Spec.CIDR.Overlaps(b.Spec.CIDR):
		return nil, fmt.Errorf("netns: peering %s: VPC %s's %v overlaps VPC %s's %v", spec.Name, a.Spec.Name, a.Spec.CIDR, b.Spec.Name, b.Spec.CIDR)
	}
	for _, o := range c.peerings {
		if o.Spec.A == spec.A && o.Spec.B == spec.B || o.Spec.A == spec.B && o.Spec.B == spec.A {
			return nil, fmt.Errorf("netns: peering %s: VPCs %s and %s are peered already (%s)", spec.Name, spec.A, spec.B, o.Spec.Name)
		}
	}
	addrA, addrB, err := PeeringLinkAddrs(c.npeer)
	if err != nil {
		return nil, err
	}
	p := &Peering{Spec: spec, IfA: "peer" + strconv.Itoa(a.peers), IfB: "peer" + strconv.Itoa(b.peers), AddrA: addrA, AddrB: addrB}
	steps := [][]string{
		{"-n", a.Router.NS, "link", "add", "name", p.IfA, "type", "veth", "peer", "name", p.IfB, "netns", b.Router.NS},
		{"-n", a.Router.NS, "addr", "add", addrA.String(), "dev", p.IfA},
		{"-n", b.Router.NS, "addr", "add", addrB.String(), "dev", p.IfB},
	}
	for _, st := range steps {
		if err := ipCmd(st...); err != nil {
			return nil, fmt.Errorf("netns: peering %s: %w", spec.Name, err)
		}
	}
	a.peers++
	b.peers++
	c.npeer++
	if err := setSysctls(a.Router.NS, routerSysctls(p.IfA)...); err != nil {
		return nil, err
	}
	if err := setSysctls(b.Router.NS, routerSysctls(p.IfB)...); err != nil {
		return nil, err
	}
	for _, end := range []struct{ ns, iface string }{{a.Router.NS, p.IfA}, {b.Router.NS, p.IfB}} {
		if err := ipCmd("-n", end.ns, "link", "set", "dev", end.iface, "up"); err != nil {
			return nil, fmt.Errorf("netns: peering %s: %w", spec.Name, err)
		}
	}
	c.peerings[spec.Name] = p
	return p, nil
}

// AddRoute adds an entry to a VPC's route table (replacing one for the
// same destination). A destination that overlaps the VPC's own CIDR is
// refused (the system entries own it), as is a peering the VPC is not a
// side of, or an instance of another VPC.
func (c *Cloud) AddRoute(spec RouteSpec) error {
	return c.route(spec, true)
}

// DelRoute removes an entry from a VPC's route table.
func (c *Cloud) DelRoute(spec RouteSpec) error {
	return c.route(spec, false)
}

func (c *Cloud) route(spec RouteSpec, add bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.vpcs[spec.VPC]
	if !ok {
		return fmt.Errorf("netns: route %v: no VPC %q", spec.Dest, spec.VPC)
	}
	if err := checkV4Block("route in VPC "+spec.VPC, spec.Dest); err != nil {
		return err
	}
	if spec.Dest.Overlaps(v.Spec.CIDR) {
		return fmt.Errorf("netns: route %v in VPC %s: overlaps the VPC's own %v", spec.Dest, spec.VPC, v.Spec.CIDR)
	}
	var iface string
	var gw netip.Addr
	switch spec.NextHop.Kind {
	case NextHopPeering:
		p, ok := c.peerings[spec.NextHop.Name]
		switch {
		case !ok:
			return fmt.Errorf("netns: route %v in VPC %s: no peering %q", spec.Dest, spec.VPC, spec.NextHop.Name)
		case p.Spec.A == spec.VPC:
			iface, gw = p.IfA, p.AddrB.Addr()
		case p.Spec.B == spec.VPC:
			iface, gw = p.IfB, p.AddrA.Addr()
		default:
			return fmt.Errorf("netns: route %v in VPC %s: peering %s joins %s and %s", spec.Dest, spec.VPC, p.Spec.Name, p.Spec.A, p.Spec.B)
		}
	case NextHopInstance:
		in, ok := c.instances[spec.NextHop.Name]
		if !ok || in.VPC != spec.VPC {
			return fmt.Errorf("netns: route %v in VPC %s: no instance %q in the VPC", spec.Dest, spec.VPC, spec.NextHop.Name)
		}
		iface, gw = c.vswitches[in.Spec.VSwitch].Uplink.Iface, in.Spec.Addr
		if add {
			// The instance forwards what the route sends it.
			if err := setSysctls(in.Host.NS, routerSysctls("all", "eth0")...); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("netns: route %v in VPC %s: next hop kind %q (want %q or %q)", spec.Dest, spec.VPC, spec.NextHop.Kind, NextHopPeering, NextHopInstance)
	}
	nl, err := v.Router.handle()
	if err != nil {
		return err
	}
	defer nl.Close()
	link, err := nl.LinkByName(iface)
	if err != nil {
		return fmt.Errorf("netns: VPC %s: %s: %w", spec.VPC, iface, err)
	}
	r := &netlink.Route{
		Dst:       &net.IPNet{IP: spec.Dest.Addr().AsSlice(), Mask: net.CIDRMask(spec.Dest.Bits(), 32)},
		Gw:        gw.AsSlice(),
		LinkIndex: link.Attrs().Index,
	}
	if add {
		err = nl.RouteReplace(r)
	} else {
		err = nl.RouteDel(r)
	}
	if err != nil {
		return fmt.Errorf("netns: VPC %s: route %v via %v (%s %s), add=%v: %w", spec.VPC, spec.Dest, gw, spec.NextHop.Kind, spec.NextHop.Name, add, err)
	}
	return nil
}

// VPC returns the VPC called name, or nil.
func (c *Cloud) VPC(name string) *VPC {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vpcs[name]
}

// VSwitch returns the vSwitch called name, or nil.
func (c *Cloud) VSwitch(name string) *VSwitch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vswitches[name]
}

// Instance returns the instance called name, or nil.
func (c *Cloud) Instance(name string) *Instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.instances[name]
}

// Peering returns the peering connection called name, or nil.
func (c *Cloud) Peering(name string) *Peering {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerings[name]
}

// sysctl is a setting under /proc/sys: its path from there and value.
type sysctl struct{ key, value string }

// setSysctls writes settings inside the namespace ns (the files of
// /proc/sys/net are those of the writing thread's namespace).
func setSysctls(ns string, settings ...sysctl) error {
	h := &Host{Name: ns, NS: ns}
	return h.Do(func() error {
		for _, s := range settings {
			if err := os.WriteFile("/proc/sys/"+s.key, []byte(s.value), 0o644); err != nil {
				return fmt.Errorf("netns: %s: sysctl %s=%s: %w", ns, s.key, s.value, err)
			}
		}
		return nil
	})
}
