package cloud

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lblab/lblab/i18n"
)

// Outcome is the verdict of a traced probe.
type Outcome string

// The outcomes of [Trace].
const (
	// Accepted: the request arrived and its answer came back (an ICMP
	// echo reply, a TCP SYN-ACK).
	Accepted Outcome = "ACCEPTED"
	// NoRoute: the request was dropped on its way: no route entry
	// matched, a peering would have been crossed a second time (peering
	// is not transitive), no instance holds the address, or an instance
	// that does not forward got it. A timeout.
	NoRoute Outcome = "NO_ROUTE"
	// DeniedOut: a security group's outbound rule dropped the request at
	// the sender. A timeout.
	DeniedOut Outcome = "DENIED_OUT"
	// DeniedIn: a security group's inbound rule (or its default deny) or
	// a whitelist dropped the request, or a packet of the reply at an
	// instance that did not see the request. A timeout.
	DeniedIn Outcome = "DENIED_IN"
	// NoReplyRoute: the request arrived but its reply found no way back
	// (a one-sided peering route), or reached another instance holding
	// the sender's address. A timeout, not a refusal.
	NoReplyRoute Outcome = "NO_REPLY_ROUTE"
	// Refused: a TCP connect reached a port nobody listens on; its RST
	// came back. A refusal.
	Refused Outcome = "REFUSED"
	// TTLExceeded: the packet looped (a route back and forth through
	// forwarding instances) until its TTL ran out.
	TTLExceeded Outcome = "TTL_EXCEEDED"
)

// Outcomes lists every outcome, in a stable order.
var Outcomes = []Outcome{Accepted, NoRoute, DeniedOut, DeniedIn, NoReplyRoute, Refused, TTLExceeded}

// Protocols of a flow.
const (
	ICMP = "icmp"
	TCP  = "tcp"
)

// InitialTTL is the TTL a probe leaves with, Linux's default: 64. Each VPC
// router it crosses takes one.
const InitialTTL = 64

// Flow is one probe to trace.
type Flow struct {
	// Src is the sending instance: its name, or an address one of its NICs
	// holds (an address two VPCs' instances hold is ambiguous: name it).
	Src string `json:"src"`
	// Dst is the address probed.
	Dst netip.Addr `json:"dst"`
	// Protocol is icmp (an echo request) or tcp (a connect). Default icmp.
	Protocol string `json:"protocol"`
	// Port is the TCP port, 1..65535 (tcp only).
	Port int `json:"port,omitempty"`
}

// Hop is one place a packet passed or was dropped, and what decided.
type Hop struct {
	// Kind is where: instance, vswitch, router (a VPC's router and its
	// route table) or peering.
	Kind string `json:"kind"`
	// At names the instance, vswitch, VPC or peering connection.
	At string `json:"at"`
	// Verdict is pass, drop or answer (the destination answered).
	Verdict string `json:"verdict"`
	// Reason says why, as a code: sg_rule, sg_default_in,
	// sg_default_out, sg_inner, sg_stateful, route, no_route,
	// not_transitive, no_vswitch, no_instance, not_forwarding, peering,
	// vswitch, whitelist, whitelist_default, echo, listen, closed, ttl,
	// other_host, self.
	Reason string `json:"reason"`
	// Rule is the entry that decided, in the file's words (a route
	// entry, a security-group rule, a whitelist entry); "" for none.
	Rule string `json:"rule,omitempty"`
	// Field is that entry's field path in the model (security_groups[0].
	// rules[1]); "" for a system or default decision.
	Field string `json:"field,omitempty"`
}

// Hop kinds and verdicts.
const (
	HopInstance = "instance"
	HopVSwitch  = "vswitch"
	HopRouter   = "router"
	HopPeering  = "peering"

	VerdictPass   = "pass"
	VerdictDrop   = "drop"
	VerdictAnswer = "answer"
)

// Result is a traced probe: both legs hop by hop and the outcome.
type Result struct {
	// Src is the sending instance, SrcAddr the address it sent from.
	Src     string `json:"src"`
	SrcAddr string `json:"src_addr"`
	// Dst is the address probed; DstInstance the instance that got the
	// request ("" when it got nowhere).
	Dst         string `json:"dst"`
	DstInstance string `json:"dst_instance,omitempty"`
	// Protocol and Port are the flow's.
	Protocol string `json:"protocol"`
	Port     int    `json:"port,omitempty"`
	// Outcome is the verdict.
	Outcome Outcome `json:"outcome"`
	// Request and Reply are the hops of each leg, in order; Reply is
	// empty when the request never arrived.
	Request []Hop `json:"request"`
	Reply   []Hop `json:"reply"`
}

// Drop returns the hop that dropped the probe, and whether it was on the
// reply; ok is false when nothing dropped it (ACCEPTED, REFUSED).
func (r Result) Drop() (h Hop, reply, ok bool) {
	for i, leg := range [][]Hop{r.Request, r.Reply} {
		for _, h := range leg {
			if h.Verdict == VerdictDrop {
				return h, i == 1, true
			}
		}
	}
	return Hop{}, false, false
}

// FlowError is a flow Trace cannot follow: an unknown or ambiguous
// source, a bad protocol or port.
type FlowError struct{ Text i18n.Text }

// Error says the problem in English.
func (e *FlowError) Error() string { return e.Text.String() }

// In says the problem in lang.
func (e *FlowError) In(lang string) string { return e.Text.In(lang) }

// net is a model parsed for tracing.
type net struct {
	m         *Model
	vpcs      map[string]netip.Prefix
	vsw       map[string]*VSwitch
	vswCIDR   map[string]netip.Prefix
	peerings  map[string]*Peering
	tables    map[string]int // VPC → index in m.RouteTables
	inst      map[string]*Instance
	groups    map[string]int // name → index in m.SecurityGroups
	whitelist map[string][]int
}

func build(m *Model) *net {
	n := &net{m: m, vpcs: map[string]netip.Prefix{}, vsw: map[string]*VSwitch{}, vswCIDR: map[string]netip.Prefix{},
		peerings: map[string]*Peering{}, tables: map[string]int{}, inst: map[string]*Instance{},
		groups: map[string]int{}, whitelist: map[string][]int{}}
	for _, v := range m.VPCs {
		if p, err := netip.ParsePrefix(v.CIDR); err == nil {
			n.vpcs[v.Name] = p.Masked()
		}
	}
	for i := range m.VSwitches {
		s := &m.VSwitches[i]
		n.vsw[s.Name] = s
		if p, err := netip.ParsePrefix(s.CIDR); err == nil {
			n.vswCIDR[s.Name] = p.Masked()
		}
	}
	for i := range m.Peerings {
		n.peerings[m.Peerings[i].Name] = &m.Peerings[i]
	}
	for i := range m.RouteTables {
		if _, ok := n.tables[m.RouteTables[i].VPC]; !ok {
			n.tables[m.RouteTables[i].VPC] = i
		}
	}
	for i := range m.Instances {
		n.inst[m.Instances[i].Name] = &m.Instances[i]
	}
	for i := range m.SecurityGroups {
		n.groups[m.SecurityGroups[i].Name] = i
	}
	for i := range m.Whitelists {
		n.whitelist[m.Whitelists[i].Host] = append(n.whitelist[m.Whitelists[i].Host], i)
	}
	return n
}

// vpcOf returns an instance's VPC (its first NIC's).
func (n *net) vpcOf(in *Instance) string {
	if len(in.NICs) == 0 || n.vsw[in.NICs[0].VSwitch] == nil {
		return ""
	}
	return n.vsw[in.NICs[0].VSwitch].VPC
}

// holds reports whether in has addr on a NIC, and which NIC.
func holds(in *Instance, a netip.Addr) (NIC, bool) {
	for _, nic := range in.NICs {
		if x, ok := ParseAddr(nic.Address); ok && x == a {
			return nic, true
		}
	}
	return NIC{}, false
}

// source finds the sending instance of f.Src.
func (n *net) source(src string) (*Instance, error) {
	if in := n.inst[src]; in != nil {
		return in, nil
	}
	a, ok := ParseAddr(src)
	if !ok {
		return nil, &FlowError{i18n.T("no instance %q", src)}
	}
	var found []*Instance
	for i := range n.m.Instances {
		if _, ok := holds(&n.m.Instances[i], a); ok {
			found = append(found, &n.m.Instances[i])
		}
	}
	switch len(found) {
	case 0:
		return nil, &FlowError{i18n.T("no instance holds %s", a)}
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, in := range found {
		names[i] = in.Name
	}
	return nil, &FlowError{i18n.T("%s is held by %s (in other VPCs): name the instance", a, strings.Join(names, " and "))}
}

// tracer follows one leg.
type tracer struct {
	n     *net
	f     Flow
	hops  []Hop
	ttl   int
	reply bool
	// saw are the instances the request passed (for stateful groups).
	saw map[string]bool
	// from is the instance that sent the request, to the one it arrived at.
	from, to *Instance
	srcAddr  netip.Addr
}

func (t *tracer) hop(kind, at, verdict, reason, rule, field string) {
	t.hops = append(t.hops, Hop{Kind: kind, At: at, Verdict: verdict, Reason: reason, Rule: rule, Field: field})
}

// Trace follows f through m: the request from the source instance to f.Dst
// and the reply back, hop by hop, with the entry or rule that decided at
// each, and the outcome. m should have passed [Validate]; what it could
// not parse is skipped. The same model and flow always give the same
// result. An error is a flow it cannot follow ([FlowError]).
func Trace(m *Model, f Flow) (Result, error) {
	if f.Protocol == "" {
		f.Protocol = ICMP
	}
	switch {
	case f.Protocol != ICMP && f.Protocol != TCP:
		return Result{}, &FlowError{i18n.T("want icmp or tcp, got %q", f.Protocol)}
	case f.Protocol == TCP && (f.Port < 1 || f.Port > 65535):
		return Result{}, &FlowError{i18n.T("a tcp probe needs a port from 1 to 65535, got %d", f.Port)}
	case f.Protocol == ICMP && f.Port != 0:
		return Result{}, &FlowError{i18n.T("an icmp probe has no port")}
	case !f.Dst.Is4():
		return Result{}, &FlowError{i18n.T("want an IPv4 destination, got %v", f.Dst)}
	}
	n := build(m)
	src, err := n.source(f.Src)
	if err != nil {
		return Result{}, err
	}
	if len(src.NICs) == 0 {
		return Result{}, &FlowError{i18n.T("no instance holds %s", f.Src)}
	}
	nic := src.NICs[0]
	for _, c := range src.NICs {
		if p, ok := n.vswCIDR[c.VSwitch]; ok && p.Contains(f.Dst) {
			nic = c
			break
		}
	}
	srcAddr, _ := ParseAddr(nic.Address)
	res := Result{Src: src.Name, SrcAddr: srcAddr.String(), Dst: f.Dst.String(), Protocol: f.Protocol, Port: f.Port}

	t := &tracer{n: n, f: f, ttl: InitialTTL, saw: map[string]bool{src.Name: true}, from: src, srcAddr: srcAddr}
	out := t.request(src, nic)
	res.Request = t.hops
	if t.to != nil {
		res.DstInstance = t.to.Name
	}
	if out != "" {
		res.Outcome = out
		res.Reply = []Hop{}
		return res, nil
	}
	// The destination answers: an echo reply, a SYN-ACK or a RST.
	dst := t.to
	closed := f.Protocol == TCP && !slices.Contains(dst.Listen, f.Port)
	r := &tracer{n: n, f: f, ttl: InitialTTL, saw: t.saw, reply: true, from: dst, to: src, srcAddr: f.Dst}
	dnic, _ := holds(dst, f.Dst)
	out = r.replyLeg(dst, dnic, srcAddr)
	res.Reply = r.hops
	switch {
	case out != "":
		res.Outcome = out
	case closed:
		res.Outcome = Refused
	default:
		res.Outcome = Accepted
	}
	return res, nil
}

// request follows the request from src; "" when it arrived (t.to set).
func (t *tracer) request(src *Instance, nic NIC) Outcome {
	if _, self := holds(src, t.f.Dst); self {
		t.to = src
		t.hop(HopInstance, src.Name, VerdictPass, "self", "", "")
		return t.answer(src)
	}
	if !t.sg(src, Egress, t.f.Dst, nil) {
		return DeniedOut
	}
	return t.forward(nic.VSwitch, t.f.Dst)
}

// answer is the destination's own decision on the request: whitelist,
// then the protocol's answer.
func (t *tracer) answer(dst *Instance) Outcome {
	for _, wi := range t.n.whitelist[dst.Name] {
		w := &t.n.m.Whitelists[wi]
		if w.Port != 0 && (t.f.Protocol != TCP || t.f.Port != w.Port) {
			continue
		}
		field := fmt.Sprintf("whitelists[%d]", wi)
		ok := false
		for j, s := range w.SecurityIPs {
			if p, good := ParseSource(s); good && p.Contains(t.srcAddr) {
				t.hop(HopInstance, dst.Name, VerdictPass, "whitelist", w.Name+" "+s, fmt.Sprintf("%s.security_ips[%d]", field, j))
				ok = true
				break
			}
		}
		if !ok {
			t.hop(HopInstance, dst.Name, VerdictDrop, "whitelist_default", w.Name, field)
			return DeniedIn
		}
	}
	switch {
	case t.f.Protocol == ICMP:
		t.hop(HopInstance, dst.Name, VerdictAnswer, "echo", "", "")
	case slices.Contains(dst.Listen, t.f.Port):
		t.hop(HopInstance, dst.Name, VerdictAnswer, "listen", fmt.Sprintf("tcp %d", t.f.Port), "")
	default:
		t.hop(HopInstance, dst.Name, VerdictAnswer, "closed", fmt.Sprintf("tcp %d", t.f.Port), "")
	}
	return ""
}

// replyLeg follows the reply from dst back to the sender's address.
func (t *tracer) replyLeg(dst *Instance, nic NIC, to netip.Addr) Outcome {
	t.hop(HopInstance, dst.Name, VerdictPass, "sg_stateful", "", "")
	if _, self := holds(dst, to); self {
		return ""
	}
	return t.forward(nic.VSwitch, to)
}

// forward takes a packet for addr out of an instance's NIC into its
// vswitch vswName and through VPC routers until it reaches an instance holding
// addr. It returns "" on arrival at the right instance.
func (t *tracer) forward(vswName string, addr netip.Addr) Outcome {
	overPeering := false
	for {
		s := t.n.vsw[vswName]
		if s == nil {
			t.hop(HopVSwitch, vswName, VerdictDrop, "no_vswitch", "", "")
			return t.noRoute()
		}
		t.hop(HopVSwitch, s.Name, VerdictPass, "vswitch", s.Zone, "")
		vpc := s.VPC
		if p, ok := t.n.vswCIDR[s.Name]; ok && p.Contains(addr) {
			// The vswitch's own block: delivered on it, no router.
			next := t.n.onVSwitch(s.Name, addr)
			if next == nil {
				t.hop(HopVSwitch, s.Name, VerdictDrop, "no_instance", "", "")
				return t.noRoute()
			}
			return t.arrive(next, addr)
		}
	router:
		t.ttl--
		if t.ttl <= 0 {
			t.hop(HopRouter, vpc, VerdictDrop, "ttl", "", "")
			return TTLExceeded
		}
		e, rule, field := t.n.lookup(vpc, addr)
		switch {
		case e == "":
			t.hop(HopRouter, vpc, VerdictDrop, "no_route", "", "")
			return t.noRoute()
		case e == NextHopLocal:
			ns, next := t.n.local(vpc, addr)
			if ns == "" {
				t.hop(HopRouter, vpc, VerdictDrop, "no_vswitch", rule, field)
				return t.noRoute()
			}
			if next == nil {
				t.hop(HopRouter, vpc, VerdictPass, "route", rule, field)
				t.hop(HopVSwitch, ns, VerdictDrop, "no_instance", "", "")
				return t.noRoute()
			}
			t.hop(HopRouter, vpc, VerdictPass, "route", rule, field)
			t.hop(HopVSwitch, ns, VerdictPass, "vswitch", t.n.vsw[ns].Zone, "")
			return t.arrive(next, addr)
		case t.n.peerings[e] != nil:
			if overPeering {
				t.hop(HopRouter, vpc, VerdictDrop, "not_transitive", rule, field)
				return t.noRoute()
			}
			t.hop(HopRouter, vpc, VerdictPass, "route", rule, field)
			pe := t.n.peerings[e]
			other := pe.PeerVPC
			if other == vpc {
				other = pe.VPC
			}
			t.hop(HopPeering, pe.Name, VerdictPass, "peering", vpc+" → "+other, "")
			vpc, overPeering = other, true
			goto router
		default:
			next := t.n.inst[e]
			if next == nil || len(next.NICs) == 0 {
				t.hop(HopRouter, vpc, VerdictDrop, "no_route", rule, field)
				return t.noRoute()
			}
			t.hop(HopRouter, vpc, VerdictPass, "route", rule, field)
			t.hop(HopVSwitch, next.NICs[0].VSwitch, VerdictPass, "vswitch", t.zone(next.NICs[0].VSwitch), "")
			if out := t.arrive(next, addr); out != "" || t.holdsTarget(next, addr) {
				return out
			}
			// It forwards: out of its vswitch again, a new packet for the
			// peering rule.
			vswName, overPeering = next.NICs[0].VSwitch, false
		}
	}
}

func (t *tracer) zone(vsw string) string {
	if s := t.n.vsw[vsw]; s != nil {
		return s.Zone
	}
	return ""
}

func (t *tracer) holdsTarget(in *Instance, addr netip.Addr) bool {
	_, ok := holds(in, addr)
	return ok
}

// noRoute is the outcome of a routing drop on this leg.
func (t *tracer) noRoute() Outcome {
	if t.reply {
		return NoReplyRoute
	}
	return NoRoute
}

// arrive is a packet for addr at instance in: its inbound security group,
// then the destination's answer or forwarding. "" means it goes on: it
// arrived (t.to set, or the reply at the sender), or in forwards it.
func (t *tracer) arrive(in *Instance, addr netip.Addr) Outcome {
	_, mine := holds(in, addr)
	if t.reply && mine && in != t.to {
		t.hop(HopInstance, in.Name, VerdictDrop, "other_host", "", "")
		return NoReplyRoute
	}
	if !t.sg(in, Ingress, t.packetSrc(), t.from) {
		return DeniedIn
	}
	if mine {
		if t.reply {
			return ""
		}
		t.to = in
		t.saw[in.Name] = true
		return t.answer(in)
	}
	if !in.Forward {
		t.hop(HopInstance, in.Name, VerdictDrop, "not_forwarding", "", "")
		return t.noRoute()
	}
	t.saw[in.Name] = true
	if !t.sg(in, Egress, addr, nil) {
		if t.reply {
			return DeniedIn
		}
		return DeniedOut
	}
	return ""
}

func (t *tracer) packetSrc() netip.Addr { return t.srcAddr }

// lookup is the longest-prefix match of addr in vpc's route table and its
// system entry: the next hop ("" for none), the entry in the file's words
// and its field path.
func (n *net) lookup(vpc string, addr netip.Addr) (next, rule, field string) {
	best := -1
	if local, ok := n.vpcs[vpc]; ok && local.Contains(addr) {
		best, next, rule = local.Bits(), NextHopLocal, local.String()+" → local (system)"
	}
	ti, ok := n.tables[vpc]
	if !ok {
		return next, rule, field
	}
	t := &n.m.RouteTables[ti]
	for j, e := range t.Entries {
		d, err := netip.ParsePrefix(e.Destination)
		if err != nil || !d.Contains(addr) || d.Bits() <= best {
			continue
		}
		best, next = d.Bits(), e.NextHop
		rule = fmt.Sprintf("%s %s → %s", t.Name, d, e.NextHop)
		field = fmt.Sprintf("route_tables[%d].entries[%d]", ti, j)
	}
	return next, rule, field
}

// local finds the vswitch of vpc holding addr and the instance with addr.
func (n *net) local(vpc string, addr netip.Addr) (vsw string, in *Instance) {
	for _, s := range n.m.VSwitches {
		if p, ok := n.vswCIDR[s.Name]; ok && s.VPC == vpc && p.Contains(addr) {
			vsw = s.Name
			break
		}
	}
	if vsw == "" {
		return "", nil
	}
	return vsw, n.onVSwitch(vsw, addr)
}

// onVSwitch finds the instance holding addr on vswitch vsw.
func (n *net) onVSwitch(vsw string, addr netip.Addr) *Instance {
	for i := range n.m.Instances {
		if nic, ok := holds(&n.m.Instances[i], addr); ok && nic.VSwitch == vsw {
			return &n.m.Instances[i]
		}
	}
	return nil
}

// matched is a rule that matches a packet, with its place.
type matched struct {
	r            Rule
	group        string
	gi, ri, prio int
	drop         bool
}

// sg decides the security groups of in for a packet in direction dir
// whose remote end is remote (its source inbound, destination outbound);
// peer is the instance that sent it (for inner access). It records the
// hop and reports whether the packet passes.
func (t *tracer) sg(in *Instance, dir string, remote netip.Addr, peer *Instance) bool {
	if t.reply && t.saw[in.Name] {
		t.hop(HopInstance, in.Name, VerdictPass, "sg_stateful", "", "")
		return true
	}
	var ms []matched
	for _, gn := range in.SecurityGroups {
		gi, ok := t.n.groups[gn]
		if !ok {
			continue
		}
		g := &t.n.m.SecurityGroups[gi]
		for ri, r := range g.Rules {
			if r.Direction != dir || !t.ruleMatches(r, remote) {
				continue
			}
			prio := r.Priority
			if prio == 0 {
				prio = 1
			}
			ms = append(ms, matched{r: r, group: gn, gi: gi, ri: ri, prio: prio, drop: r.Policy == PolicyDrop})
		}
	}
	slices.SortStableFunc(ms, func(a, b matched) int {
		if a.prio != b.prio {
			return a.prio - b.prio
		}
		if a.drop != b.drop {
			if a.drop {
				return -1
			}
			return 1
		}
		return 0
	})
	if len(ms) > 0 {
		m := ms[0]
		v := VerdictPass
		if m.drop {
			v = VerdictDrop
		}
		t.hop(HopInstance, in.Name, v, "sg_rule", m.group+" "+ruleText(m.r), fmt.Sprintf("security_groups[%d].rules[%d]", m.gi, m.ri))
		return !m.drop
	}
	if dir == Egress {
		t.hop(HopInstance, in.Name, VerdictPass, "sg_default_out", strings.Join(in.SecurityGroups, ","), "")
		return true
	}
	if peer != nil && peer != in {
		for _, gn := range in.SecurityGroups {
			gi, ok := t.n.groups[gn]
			if !ok || t.n.m.SecurityGroups[gi].InnerAccess == PolicyDrop || !slices.Contains(peer.SecurityGroups, gn) {
				continue
			}
			if _, same := holds(peer, remote); same {
				t.hop(HopInstance, in.Name, VerdictPass, "sg_inner", gn, fmt.Sprintf("security_groups[%d]", gi))
				return true
			}
		}
	}
	t.hop(HopInstance, in.Name, VerdictDrop, "sg_default_in", strings.Join(in.SecurityGroups, ","), "")
	return false
}

func (t *tracer) ruleMatches(r Rule, remote netip.Addr) bool {
	switch r.Protocol {
	case "", "all":
	case t.f.Protocol:
	default:
		return false
	}
	if t.f.Protocol == TCP {
		lo, hi, ok := ParsePorts(r.PortRange)
		if !ok || t.f.Port < lo || t.f.Port > hi {
			return false
		}
	}
	block := r.SourceCIDR
	if r.Direction == Egress {
		block = r.DestCIDR
	}
	if block == "" {
		return true
	}
	p, ok := ParseSource(block)
	return ok && p.Contains(remote)
}

// ruleText says a rule in the file's words.
func ruleText(r Rule) string {
	proto, ports, policy, prio := r.Protocol, r.PortRange, r.Policy, r.Priority
	if proto == "" {
		proto = "all"
	}
	if ports == "" {
		ports = "-1/-1"
	}
	if policy == "" {
		policy = PolicyAccept
	}
	if prio == 0 {
		prio = 1
	}
	block, dir := r.SourceCIDR, "from"
	if r.Direction == Egress {
		block, dir = r.DestCIDR, "to"
	}
	if block == "" {
		block = "0.0.0.0/0"
	}
	return fmt.Sprintf("%s %s %s %s %s %s priority %d", r.Direction, proto, ports, dir, block, policy, prio)
}
