package scenarios

// The cloud network of a lab (sim/cloud's model) on real namespaces
// (testbed/netns's Cloud), and a probe sent in it whose fate is read from
// the kernel's counters: what `lblab trace --verify` compares with
// cloud.Trace.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/probe"
	"github.com/lblab/lblab/loadgen/prober"
	"github.com/lblab/lblab/sim/cloud"
	"github.com/lblab/lblab/testbed/netns"
)

// CloudNet is a lab's cloud network built in a testbed.
type CloudNet struct {
	// Model is the lab's model it was built from.
	Model *cloud.Model
	// Net is the testbed's cloud network.
	Net *netns.Cloud

	tb       *netns.Testbed
	unsignal func()
}

// StartCloud builds m in a testbed of its own (root), after removing what
// dead runs left; SIGINT and SIGTERM clean it up too (CleanupOnSignal).
// Close removes it.
func StartCloud(m *cloud.Model) (*CloudNet, error) {
	_ = netns.CleanStale()
	tb, err := netns.New()
	if err != nil {
		return nil, i18n.Errorf("netns mode: %w", err)
	}
	stop := netns.CleanupOnSignal(tb)
	n, err := BuildCloud(tb, m)
	if err != nil {
		stop()
		return nil, errors.Join(err, tb.Cleanup())
	}
	n.tb, n.unsignal = tb, stop
	return n, nil
}

// Close removes the testbed StartCloud made: namespaces, links,
// listeners.
func (n *CloudNet) Close() error {
	if n.tb == nil {
		return nil
	}
	n.unsignal()
	err := n.tb.Cleanup()
	n.tb = nil
	return err
}

// BuildCloud builds m (which passed cloud.Validate) in tb: a router
// namespace per VPC, a segment per vswitch, an instance namespace per
// instance with its listening ports, the peerings, the custom route
// entries, each instance's security groups as one ordered rule list
// (SecurityGroupRules) and the whitelists. What netns cannot build is
// refused with the model's field path: an instance with more than one
// NIC, a whitelist of port 0 (every packet). The caller cleans tb up.
func BuildCloud(tb *netns.Testbed, m *cloud.Model) (*CloudNet, error) {
	c := tb.Cloud()
	for i, v := range m.VPCs {
		p, err := netip.ParsePrefix(v.CIDR)
		if err != nil {
			return nil, i18n.Errorf("vpcs[%d].cidr: %w", i, err)
		}
		if _, err := c.AddVPC(netns.VPCSpec{Name: v.Name, CIDR: p.Masked()}); err != nil {
			return nil, i18n.Errorf("vpcs[%d]: %w", i, err)
		}
	}
	for i, s := range m.VSwitches {
		p, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			return nil, i18n.Errorf("vswitches[%d].cidr: %w", i, err)
		}
		if _, err := c.AddVSwitch(netns.VSwitchSpec{Name: s.Name, VPC: s.VPC, CIDR: p.Masked(), Zone: s.Zone}); err != nil {
			return nil, i18n.Errorf("vswitches[%d]: %w", i, err)
		}
	}
	for i, in := range m.Instances {
		if len(in.NICs) != 1 {
			return nil, i18n.Errorf("instances[%d].nics: the real network builds instances with one NIC, %s has %d", i, in.Name, len(in.NICs))
		}
		a, ok := cloud.ParseAddr(in.NICs[0].Address)
		if !ok {
			return nil, i18n.Errorf("instances[%d].nics[0].address: %q", i, in.NICs[0].Address)
		}
		var listen []uint16
		for _, p := range in.Listen {
			listen = append(listen, uint16(p))
		}
		if _, err := c.AddInstance(netns.InstanceSpec{Name: in.Name, VSwitch: in.NICs[0].VSwitch, Addr: a, Listen: listen}); err != nil {
			return nil, i18n.Errorf("instances[%d]: %w", i, err)
		}
	}
	for i, p := range m.Peerings {
		if _, err := c.AddPeering(netns.PeeringSpec{Name: p.Name, A: p.VPC, B: p.PeerVPC}); err != nil {
			return nil, i18n.Errorf("peerings[%d]: %w", i, err)
		}
	}
	peerings := map[string]bool{}
	for _, p := range m.Peerings {
		peerings[p.Name] = true
	}
	for i, t := range m.RouteTables {
		for j, e := range t.Entries {
			if e.NextHop == cloud.NextHopLocal {
				continue // the system entry: the vswitches' own routes
			}
			d, err := netip.ParsePrefix(e.Destination)
			if err != nil {
				return nil, i18n.Errorf("route_tables[%d].entries[%d].destination: %w", i, j, err)
			}
			nh := netns.NextHop{Kind: netns.NextHopInstance, Name: e.NextHop}
			if peerings[e.NextHop] {
				nh.Kind = netns.NextHopPeering
			}
			if err := c.AddRoute(netns.RouteSpec{VPC: t.VPC, Dest: d.Masked(), NextHop: nh}); err != nil {
				return nil, i18n.Errorf("route_tables[%d].entries[%d]: %w", i, j, err)
			}
		}
	}
	for i, in := range m.Instances {
		// AddRoute makes an instance it names forward; the model's
		// forward: says whether it does.
		fwd := "0"
		if in.Forward {
			fwd = "1"
		}
		if err := c.Instance(in.Name).Host.Do(func() error {
			return os.WriteFile("/proc/sys/net/ipv4/conf/all/forwarding", []byte(fwd), 0o644)
		}); err != nil {
			return nil, i18n.Errorf("instances[%d].forward: %w", i, err)
		}
		rules, err := SecurityGroupRules(m, in.Name)
		if err != nil {
			return nil, i18n.Errorf("instances[%d].security_groups: %w", i, err)
		}
		if err := c.SetSecurityGroup(in.Name, netns.SecurityGroupSpec{Name: strings.Join(in.SecurityGroups, ","), Rules: rules}); err != nil {
			return nil, i18n.Errorf("instances[%d].security_groups: %w", i, err)
		}
	}
	lists := map[string][]netns.WhitelistSpec{}
	var hosts []string
	for i, w := range m.Whitelists {
		if w.Port == 0 {
			return nil, i18n.Errorf("whitelists[%d].port: the real network guards one TCP port, not every packet (port 0)", i)
		}
		e := netns.WhitelistSpec{Port: uint16(w.Port)}
		for j, s := range w.SecurityIPs {
			p, ok := cloud.ParseSource(s)
			if !ok {
				return nil, i18n.Errorf("whitelists[%d].security_ips[%d]: %q", i, j, s)
			}
			e.Sources = append(e.Sources, p)
		}
		if lists[w.Host] == nil {
			hosts = append(hosts, w.Host)
		}
		lists[w.Host] = append(lists[w.Host], e)
	}
	for _, h := range hosts {
		if err := c.SetWhitelist(h, lists[h]); err != nil {
			return nil, i18n.Errorf("whitelists of %s: %w", h, err)
		}
	}
	return &CloudNet{Model: m, Net: c}, nil
}

// SecurityGroupRules is the one ordered rule list netns matches for the
// instance called name: the rules of all its security groups in Alibaba
// Cloud's order (priority 1 first; at one priority a drop rule before an
// accept rule; then the lab's order, group by group as the instance lists
// them), then an ingress accept from each address of another instance
// sharing a group whose inner_access is not drop (the basic group's
// inner access, below every rule as in cloud.Trace), then an explicit
// ingress drop of everything (the default deny, with a counter that
// places the drop). A rule of protocol all with a port range becomes a
// tcp and a udp rule of that range and an icmp rule (netns takes ports
// only with tcp and udp; cloud.Trace matches an icmp flow to such a rule).
func SecurityGroupRules(m *cloud.Model, name string) ([]netns.SGRule, error) {
	var in *cloud.Instance
	for i := range m.Instances {
		if m.Instances[i].Name == name {
			in = &m.Instances[i]
		}
	}
	if in == nil {
		return nil, i18n.Errorf("no instance %q", name)
	}
	groups := map[string]*cloud.SecurityGroup{}
	for i := range m.SecurityGroups {
		groups[m.SecurityGroups[i].Name] = &m.SecurityGroups[i]
	}
	type ordered struct {
		r    cloud.Rule
		prio int
		drop bool
	}
	var all []ordered
	for _, gn := range in.SecurityGroups {
		g := groups[gn]
		if g == nil {
			return nil, i18n.Errorf("no security group %q", gn)
		}
		for _, r := range g.Rules {
			prio := r.Priority
			if prio == 0 {
				prio = 1
			}
			all = append(all, ordered{r, prio, r.Policy == cloud.PolicyDrop})
		}
	}
	slices.SortStableFunc(all, func(a, b ordered) int {
		if a.prio != b.prio {
			return a.prio - b.prio
		}
		switch {
		case a.drop == b.drop:
			return 0
		case a.drop:
			return -1
		}
		return 1
	})
	var out []netns.SGRule
	for _, o := range all {
		rs, err := sgRule(o.r)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	for _, gn := range in.SecurityGroups {
		if groups[gn].InnerAccess == cloud.PolicyDrop {
			continue
		}
		for _, peer := range m.Instances {
			if peer.Name == in.Name || !slices.Contains(peer.SecurityGroups, gn) {
				continue
			}
			for _, nic := range peer.NICs {
				if a, ok := cloud.ParseAddr(nic.Address); ok {
					out = append(out, netns.SGRule{Direction: netns.Ingress, Policy: netns.Accept, Protocol: netns.ProtoAll, CIDR: netip.PrefixFrom(a, 32)})
				}
			}
		}
	}
	return append(out, netns.SGRule{Direction: netns.Ingress, Policy: netns.Drop, Protocol: netns.ProtoAll}), nil
}

// sgRule is a model's rule as netns rules (see SecurityGroupRules).
func sgRule(r cloud.Rule) ([]netns.SGRule, error) {
	out := netns.SGRule{Direction: netns.Direction(r.Direction), Policy: netns.Accept}
	if r.Policy == cloud.PolicyDrop {
		out.Policy = netns.Drop
	}
	block := r.SourceCIDR
	if r.Direction == cloud.Egress {
		block = r.DestCIDR
	}
	if block != "" {
		p, ok := cloud.ParseSource(block)
		if !ok {
			return nil, i18n.Errorf("rule block %q", block)
		}
		out.CIDR = p
	}
	lo, hi, ok := cloud.ParsePorts(r.PortRange)
	if !ok {
		return nil, i18n.Errorf("rule port range %q", r.PortRange)
	}
	every := lo == 1 && hi == 65535
	ranged := func(p netns.Protocol) netns.SGRule {
		x := out
		x.Protocol = p
		if !every {
			x.PortFrom, x.PortTo = uint16(lo), uint16(hi)
		}
		return x
	}
	switch r.Protocol {
	case "tcp":
		return []netns.SGRule{ranged(netns.ProtoTCP)}, nil
	case "udp":
		return []netns.SGRule{ranged(netns.ProtoUDP)}, nil
	case "icmp":
		out.Protocol = netns.ProtoICMP
		return []netns.SGRule{out}, nil
	}
	if every {
		out.Protocol = netns.ProtoAll
		return []netns.SGRule{out}, nil
	}
	icmpRule := out
	icmpRule.Protocol = netns.ProtoICMP
	return []netns.SGRule{ranged(netns.ProtoTCP), ranged(netns.ProtoUDP), icmpRule}, nil
}

// ProbeTimeout is how long a real probe waits for its answer: the
// kernel's initial TCP retransmission timeout (TCP_TIMEOUT_INIT, 1 s,
// RFC 6298). On veths a round trip takes well under a millisecond and
// nothing queues, so an answer comes within milliseconds or never: a
// connect not answered by then has lost its first SYN, an echo request
// has no second chance; neighbour resolution gives up only after 3 × 1 s.
const ProbeTimeout = time.Second

// Real outcomes of a probe.
const (
	RealAnswered = "ANSWERED" // an echo reply, a completed handshake
	RealRefused  = "REFUSED"  // a TCP RST: connection refused
	RealTimeout  = "TIMEOUT"  // nothing came back
	RealUnreach  = "UNREACHABLE"
)

// Place is where a probe was dropped, in words both worlds share.
type Place struct {
	// Reply is true for a drop of the reply (the request arrived).
	Reply bool `json:"reply"`
	// Kind and At are a cloud.Hop's: instance, router (At a VPC) or
	// vswitch.
	Kind string `json:"kind"`
	At   string `json:"at"`
	// Why is the class of the drop: security_group, whitelist, no_route,
	// not_transitive, no_instance, not_forwarding, other_host, ttl.
	Why string `json:"why"`
}

// String says the place as request|reply dropped at KIND AT (WHY).
func (p Place) String() string {
	leg := "request"
	if p.Reply {
		leg = "reply"
	}
	return fmt.Sprintf("%s dropped at %s %s (%s)", leg, p.Kind, p.At, p.Why)
}

// ModelPlace is the place of the model's drop in r, and false when
// nothing dropped the probe.
func ModelPlace(r cloud.Result) (Place, bool) {
	h, reply, ok := r.Drop()
	if !ok {
		return Place{}, false
	}
	why := h.Reason
	switch h.Reason {
	case "sg_rule", "sg_default_in", "sg_default_out", "sg_inner", "sg_stateful":
		why = "security_group"
	case "whitelist", "whitelist_default":
		why = "whitelist"
	case "no_route", "no_vswitch":
		why = "no_route"
	}
	return Place{Reply: reply, Kind: h.Kind, At: h.At, Why: why}, true
}

// Real is how a probe ended in the real network and where it was
// dropped, read from the kernel's counters.
type Real struct {
	// Outcome is RealAnswered, RealRefused, RealTimeout or RealUnreach.
	Outcome string `json:"outcome"`
	// RTT is the time to the answer, or the wait.
	RTT time.Duration `json:"rtt_ns"`
	// Drop is where it was dropped (Dropped false: nowhere found).
	Drop    Place `json:"drop"`
	Dropped bool  `json:"dropped"`
	// Evidence is the counters that moved, as NAME +N (for the record).
	Evidence []string `json:"evidence"`
	// Answerer is the instance other than the sender whose counters say
	// it answered (sent an echo reply or a TCP segment: a SYN-ACK, a
	// RST), "" when none did.
	Answerer string `json:"answerer,omitempty"`
}

// Verdict compares the model's result with the real one: the same
// reachability (answered, refused, or not), and for a drop the same place.
func Verdict(m cloud.Result, r Real) bool {
	switch m.Outcome {
	case cloud.Accepted:
		return r.Outcome == RealAnswered
	case cloud.Refused:
		return r.Outcome == RealRefused
	}
	if r.Outcome != RealTimeout {
		return false
	}
	mp, ok := ModelPlace(m)
	return ok && r.Dropped && mp == r.Drop
}

// snapshot is the counters of every namespace of the network.
type snapshot map[string]int64

// counters reads, for each instance, its security group's input and
// output drops, its whitelist's drops and the kernel's IP, ICMP and TCP
// counters; for each VPC router, its non-transitive drops and IP counters.
func (n *CloudNet) counters() (snapshot, error) {
	s := snapshot{}
	read := func(key string, h *netns.Host, table, chain string) error {
		v, err := netns.ChainDrops(h, table, chain)
		s[key] = int64(v)
		return err
	}
	snmp := func(prefix string, h *netns.Host, keys ...string) error {
		c, err := h.SNMP()
		for _, k := range keys {
			s[prefix+k] = c[k]
		}
		return err
	}
	for _, in := range n.Model.Instances {
		h := n.Net.Instance(in.Name).Host
		p := "instance/" + in.Name + "/"
		if err := errors.Join(
			read(p+"sg_in", h, netns.SecurityGroupTable, "input"),
			read(p+"sg_out", h, netns.SecurityGroupTable, "output"),
			read(p+"whitelist", h, netns.WhitelistTable, "input"),
			snmp(p, h, "Ip.InReceives", "Ip.InAddrErrors", "Ip.ForwDatagrams", "Icmp.OutEchoReps", "Tcp.OutSegs", "Tcp.OutRsts")); err != nil {
			return nil, err
		}
	}
	for _, v := range n.Model.VPCs {
		h := n.Net.VPC(v.Name).Router
		p := "router/" + v.Name + "/"
		if err := errors.Join(
			read(p+"transit", h, netns.RouterTable, "forward"),
			snmp(p, h, "Ip.InReceives", "Ip.ForwDatagrams", "Ip.InDelivers")); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// quietEvery is how often quiet reads the counters.
const quietEvery = 20 * time.Millisecond

// quiet waits until two reads of the counters quietEvery apart are the
// same (the packets of the last probe, a TCP connection's teardown, are
// through: on veths in microseconds), at most ProbeTimeout, and returns
// the last read. Without it a packet still on its way would be counted
// against the next probe.
func (n *CloudNet) quiet(ctx context.Context) (snapshot, error) {
	last, err := n.counters()
	if err != nil {
		return nil, err
	}
	tick := time.NewTicker(quietEvery)
	defer tick.Stop()
	deadline := time.Now().Add(ProbeTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		now, err := n.counters()
		if err != nil {
			return nil, err
		}
		if maps.Equal(now, last) {
			return now, nil
		}
		last = now
	}
	return last, nil
}

// Probe sends the probe of res (ICMP echo, or TCP connect to res.Port)
// from res.Src's namespace to res.Dst, waits at most ProbeTimeout, and
// places a drop from the counters that moved: a security group's or a
// whitelist's drop rules, a router's non-transitive rule, a router that
// received more than it forwarded and delivered (its blackhole: no
// route), an instance that got a packet not for it and does not forward
// (Ip.InAddrErrors), a neighbour that never answered (no instance holds
// the address). The leg is the reply when an instance other than the
// sender answered (an echo reply, a TCP segment out).
func (n *CloudNet) Probe(ctx context.Context, res cloud.Result) (Real, error) {
	src := n.Net.Instance(res.Src)
	if src == nil {
		return Real{}, i18n.Errorf("no instance %q in the real network", res.Src)
	}
	dst, err := netip.ParseAddr(res.Dst)
	if err != nil {
		return Real{}, i18n.Errorf("destination %q: %w", res.Dst, err)
	}
	var r Real
	for attempt := 1; ; attempt++ {
		var places int
		r, places, err = n.probeOnce(ctx, res, src, dst)
		if err != nil || places <= 1 || attempt == probeAttempts {
			if places > 1 { // no one place: say none rather than guess
				r.Evidence = append(r.Evidence, fmt.Sprintf("the counters placed the drop at %d places in each of %d probes", places, attempt))
				r.Drop, r.Dropped = Place{}, false
			}
			return r, err
		}
	}
}

// probeAttempts is how many times Probe sends a probe whose counters
// place its drop at more than one place (a packet of another probe, or
// of the kernel's own, moved a counter in the same window): a drop is
// placed only where one probe's counters agree on one place.
const probeAttempts = 3

// probeOnce sends the probe once and places its drop; places is how many
// places the counters named (Real.Drop is the first, in the model's
// order).
func (n *CloudNet) probeOnce(ctx context.Context, res cloud.Result, src *netns.Instance, dst netip.Addr) (Real, int, error) {
	before, err := n.quiet(ctx)
	if err != nil {
		return Real{}, 0, err
	}
	var r Real
	if res.Protocol == cloud.TCP {
		r, err = connect(ctx, src.Host, netip.AddrPortFrom(dst, uint16(res.Port)))
	} else {
		r, err = ping(ctx, src.Host, dst)
	}
	if err != nil {
		return Real{}, 0, err
	}
	after, err := n.counters()
	if err != nil {
		return Real{}, 0, err
	}
	d := map[string]int64{}
	var keys []string
	for k, v := range after {
		if dv := v - before[k]; dv != 0 {
			d[k] = dv
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.Evidence = append(r.Evidence, fmt.Sprintf("%s +%d", k, d[k]))
	}
	r.Answerer = n.answerer(res.Src, d)
	places := 0
	if r.Outcome == RealTimeout {
		var all []Place
		all = n.places(res, src, dst, r.Answerer != "", d)
		if places = len(all); places > 0 {
			r.Drop, r.Dropped = all[0], true
		}
	}
	return r, places, nil
}

// answerer is the first instance, in the model's order, other than src
// that sent an echo reply or any TCP segment (a SYN-ACK, which counts no
// passive open until the handshake ends, or a RST) by the counters'
// deltas d, or "".
func (n *CloudNet) answerer(src string, d map[string]int64) string {
	for _, in := range n.Model.Instances {
		p := "instance/" + in.Name + "/"
		if in.Name != src && (d[p+"Icmp.OutEchoReps"] > 0 || d[p+"Tcp.OutSegs"] > 0) {
			return in.Name
		}
	}
	return ""
}

// places finds the drops in the counters' deltas d, in the model's
// order: every instance whose security group, whitelist or
// Ip.InAddrErrors moved, every router whose non-transitive rule dropped,
// then (only when no rule's counter moved) every router that received
// more than it forwarded and delivered (its blackhole: no route), then
// the vswitch where a neighbour never answered; reply says an instance
// answered (the drop is the reply's). More than one is an ambiguous
// probe (Probe sends it again).
func (n *CloudNet) places(res cloud.Result, src *netns.Instance, dst netip.Addr, reply bool, d map[string]int64) []Place {
	srcAddr := src.Spec.Addr
	var out []Place
	for _, in := range n.Model.Instances {
		p := "instance/" + in.Name + "/"
		why := ""
		switch {
		case d[p+"sg_in"] > 0 || d[p+"sg_out"] > 0:
			why = "security_group"
		case d[p+"whitelist"] > 0:
			why = "whitelist"
		case d[p+"Ip.InAddrErrors"] > 0:
			why = "not_forwarding"
		default:
			continue
		}
		if reply && in.Name != res.Src && n.Net.Instance(in.Name).Spec.Addr == srcAddr {
			why = "other_host"
		}
		out = append(out, Place{Reply: reply, Kind: cloud.HopInstance, At: in.Name, Why: why})
	}
	// A rule's counter says more than a difference of counters: every
	// router's non-transitive rule.
	for _, v := range n.Model.VPCs {
		if d["router/"+v.Name+"/transit"] > 0 {
			out = append(out, Place{Reply: reply, Kind: cloud.HopRouter, At: v.Name, Why: "not_transitive"})
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, v := range n.Model.VPCs {
		p := "router/" + v.Name + "/"
		if d[p+"Ip.InReceives"]-d[p+"Ip.ForwDatagrams"]-d[p+"Ip.InDelivers"] > 0 {
			out = append(out, Place{Reply: reply, Kind: cloud.HopRouter, At: v.Name, Why: "no_route"})
		}
	}
	if len(out) > 0 {
		return out
	}
	// A neighbour that never answered: the vswitch where nobody holds the
	// address, seen in the sender's or a router's neighbour table.
	target := dst
	if reply {
		target = srcAddr
	}
	if vsw := n.unresolved(target); vsw != "" {
		return []Place{{Reply: reply, Kind: cloud.HopVSwitch, At: vsw, Why: "no_instance"}}
	}
	return nil
}

// unresolved returns the vswitch on which a neighbour entry for addr is
// incomplete or failed, in an instance or a router, or "".
func (n *CloudNet) unresolved(addr netip.Addr) string {
	for _, in := range n.Model.Instances {
		x := n.Net.Instance(in.Name)
		if incomplete(x.Host, addr) {
			return x.Spec.VSwitch
		}
	}
	for _, s := range n.Model.VSwitches {
		sw := n.Net.VSwitch(s.Name)
		v := n.Net.VPC(s.VPC)
		if sw == nil || v == nil {
			continue
		}
		out, err := v.Router.Run("ip", "-4", "neigh", "show", "to", addr.String(), "dev", sw.Uplink.Iface)
		if err == nil && unresolvedState(string(out)) {
			return s.Name
		}
	}
	return ""
}

func incomplete(h *netns.Host, addr netip.Addr) bool {
	out, err := h.Run("ip", "-4", "neigh", "show", "to", addr.String())
	return err == nil && unresolvedState(string(out))
}

func unresolvedState(out string) bool {
	return strings.Contains(out, "INCOMPLETE") || strings.Contains(out, "FAILED")
}

var echoSeq atomic.Uint32

// ping sends one ICMP echo request from a raw socket in h's namespace and
// waits at most ProbeTimeout for its reply, or an ICMP error quoting it.
func ping(ctx context.Context, h *netns.Host, dst netip.Addr) (Real, error) {
	var conn *icmp.PacketConn
	if err := h.Do(func() error {
		var err error
		conn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		return Real{}, i18n.Errorf("ping from %s: %w", h.Name, err)
	}
	defer conn.Close()
	id := int(uint32(os.Getpid())+echoSeq.Add(1)) & 0xffff
	req, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("lblab trace")}}).Marshal(nil)
	if err != nil {
		return Real{}, err
	}
	start := time.Now()
	deadline := start.Add(ProbeTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := conn.SetReadDeadline(deadline); err != nil {
		return Real{}, err
	}
	if _, err := conn.WriteTo(req, &net.IPAddr{IP: dst.AsSlice()}); errors.Is(err, syscall.EPERM) {
		// The sender's own output filter (its security group) dropped
		// it: in the cloud a timeout; the kernel tells the sender.
		return Real{Outcome: RealTimeout, RTT: time.Since(start)}, nil
	} else if err != nil {
		return Real{}, i18n.Errorf("ping from %s to %s: %w", h.Name, dst, err)
	}
	buf := make([]byte, 1500)
	for ctx.Err() == nil {
		nb, peer, err := conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			return Real{}, i18n.Errorf("ping from %s to %s: %w", h.Name, dst, err)
		}
		m, err := icmp.ParseMessage(1, buf[:nb])
		if err != nil {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && m.Type == ipv4.ICMPTypeEchoReply && e.ID == id && peer.String() == dst.String() {
			return Real{Outcome: RealAnswered, RTT: time.Since(start)}, nil
		}
		if u, ok := m.Body.(*icmp.DstUnreach); ok && quotesEcho(u.Data, id) {
			return Real{Outcome: RealUnreach, RTT: time.Since(start)}, nil
		}
	}
	return Real{Outcome: RealTimeout, RTT: time.Since(start)}, ctx.Err()
}

// quotesEcho reports whether an ICMP error's quoted packet is our echo
// request of identifier id.
func quotesEcho(q []byte, id int) bool {
	if len(q) < 20 {
		return false
	}
	ihl := int(q[0]&0x0f) * 4
	return len(q) >= ihl+8 && q[9] == 1 && q[ihl] == 8 && int(q[ihl+4])<<8|int(q[ihl+5]) == id
}

// connect opens one TCP connection from h's namespace, waiting at most
// ProbeTimeout, and closes it; a failure is classed as lblab probe
// classes it.
func connect(ctx context.Context, h *netns.Host, to netip.AddrPort) (Real, error) {
	var r Real
	err := h.Do(func() error {
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
		defer cancel()
		conn, err := (&net.Dialer{}).DialContext(cctx, "tcp4", to.String())
		r.RTT = time.Since(start)
		if err != nil {
			if errors.Is(err, syscall.EPERM) {
				r.Outcome = RealTimeout // the sender's output filter: see ping
				return nil
			}
			switch prober.Classify(err) {
			case probe.Refused:
				r.Outcome = RealRefused
			case probe.Unreachable:
				r.Outcome = RealUnreach
			default:
				r.Outcome = RealTimeout
			}
			return nil
		}
		r.Outcome = RealAnswered
		// A reset, not a FIN: no teardown (and no delayed ACK, up to
		// TCP_DELACK_MAX 200 ms later) to land in the next probe's
		// counters.
		if tc, ok := conn.(*net.TCPConn); ok {
			if err := tc.SetLinger(0); err != nil {
				conn.Close()
				return err
			}
		}
		return conn.Close()
	})
	if err == nil {
		err = ctx.Err()
	}
	return r, err
}
