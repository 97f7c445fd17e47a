package netns

// Security groups, whitelists and the routers' non-transitive peering
// rule as nftables rules, through github.com/google/nftables (netlink; no
// nft binary). Each change is one transaction (one Flush): the table is
// made if missing, deleted and made again with its chains and rules, so a
// packet meets either the old rules or the new, never a mix, and nothing
// is left of the old.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Table names, in the ip (IPv4) family of the namespaces.
const (
	// RouterTable holds a VPC router's forward chain (non-transitive
	// peering).
	RouterTable = "lblab_vpc"
	// SecurityGroupTable holds an instance's security group.
	SecurityGroupTable = "lblab_sg"
	// WhitelistTable holds a service host's whitelist.
	WhitelistTable = "lblab_wl"
)

// Direction is a security group rule's direction.
type Direction string

const (
	// Ingress rules match packets to the instance (by source).
	Ingress Direction = "ingress"
	// Egress rules match packets from the instance (by destination).
	Egress Direction = "egress"
)

// Policy is what a security group rule does with what it matches.
type Policy string

const (
	// Accept lets the packet (and so its flow, both ways) pass.
	Accept Policy = "accept"
	// Drop drops it silently: the sender times out.
	Drop Policy = "drop"
)

// Protocol is an IP protocol a rule matches.
type Protocol string

const (
	// ProtoAll matches every IPv4 packet.
	ProtoAll Protocol = "all"
	ProtoTCP Protocol = "tcp"
	ProtoUDP Protocol = "udp"
	// ProtoICMP matches ICMP (echo and the rest).
	ProtoICMP Protocol = "icmp"
)

// SGRule is a security group rule.
type SGRule struct {
	Direction Direction
	Policy    Policy
	// Protocol defaults to ProtoAll when empty.
	Protocol Protocol
	// PortFrom..PortTo is the destination port range (TCP and UDP only);
	// 0..0 means every port. PortTo 0 means PortFrom alone.
	PortFrom, PortTo uint16
	// CIDR is the peer: the source of an ingress rule, the destination of
	// an egress rule. The zero Prefix means 0.0.0.0/0.
	CIDR netip.Prefix
}

// SecurityGroupSpec is a security group: stateful, default deny inbound,
// allow outbound (the default of a new basic security group of Alibaba
// Cloud ECS). Rules are matched in order, the first that matches decides
// (the cloud's priorities, 1 first and drop before accept at equal
// priority, map onto this order); a packet of a flow already accepted
// (ct state established or related) passes before any rule, both ways,
// as does loopback traffic.
type SecurityGroupSpec struct {
	Name  string
	Rules []SGRule
}

// WhitelistSpec is a whitelist entry of a service (an RDS-like database):
// only Sources may reach TCP Port; others' packets are dropped (the
// client times out, as with the cloud's whitelist, which is not a
// refusal). It holds for every packet to the port, not only new flows:
// a source taken off the list is cut off at once.
type WhitelistSpec struct {
	Port    uint16
	Sources []netip.Prefix
}

// SetSecurityGroup applies sg to the instance, replacing its previous
// group: the table ip lblab_sg in the instance's namespace, in one
// transaction. A zero SecurityGroupSpec (no rules) still denies inbound.
func (c *Cloud) SetSecurityGroup(instance string, sg SecurityGroupSpec) error {
	in := c.Instance(instance)
	if in == nil {
		return fmt.Errorf("netns: security group %s: no instance %q", sg.Name, instance)
	}
	for i, r := range sg.Rules {
		if err := r.check(); err != nil {
			return fmt.Errorf("netns: security group %s rule %d: %w", sg.Name, i+1, err)
		}
	}
	return inNamespace(in.Host.NS, func(cc *nftables.Conn) {
		t := replaceTable(cc, SecurityGroupTable)
		input := cc.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: policy(nftables.ChainPolicyDrop)})
		output := cc.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: policy(nftables.ChainPolicyAccept)})
		for _, ch := range []struct {
			chain *nftables.Chain
			key   expr.MetaKey
		}{{input, expr.MetaKeyIIFNAME}, {output, expr.MetaKeyOIFNAME}} {
			cc.AddRule(&nftables.Rule{Table: t, Chain: ch.chain, Exprs: established()})
			cc.AddRule(&nftables.Rule{Table: t, Chain: ch.chain, Exprs: []expr.Any{
				&expr.Meta{Key: ch.key, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("lo")},
				&expr.Verdict{Kind: expr.VerdictAccept},
			}})
		}
		for _, r := range sg.Rules {
			chain, offset := input, uint32(12) // ip saddr
			if r.Direction == Egress {
				chain, offset = output, 16 // ip daddr
			}
			cc.AddRule(&nftables.Rule{Table: t, Chain: chain, Exprs: r.exprs(offset)})
		}
	})
}

// ClearSecurityGroup removes the instance's security group: everything
// passes again.
func (c *Cloud) ClearSecurityGroup(instance string) error {
	return c.deleteTable(instance, SecurityGroupTable)
}

// SetWhitelist applies the whitelist entries to the instance (a service
// host), replacing the previous ones: the table ip lblab_wl in its
// namespace, in one transaction. It is independent of the instance's
// security group: a packet must pass both.
func (c *Cloud) SetWhitelist(instance string, entries []WhitelistSpec) error {
	in := c.Instance(instance)
	if in == nil {
		return fmt.Errorf("netns: whitelist: no instance %q", instance)
	}
	for _, e := range entries {
		if e.Port == 0 {
			return fmt.Errorf("netns: whitelist of %s: port 0", instance)
		}
		for _, s := range e.Sources {
			if err := checkV4Block("whitelist of "+instance, s); err != nil {
				return err
			}
		}
	}
	return inNamespace(in.Host.NS, func(cc *nftables.Conn) {
		t := replaceTable(cc, WhitelistTable)
		input := cc.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: policy(nftables.ChainPolicyAccept)})
		for _, e := range entries {
			port := SGRule{Protocol: ProtoTCP, PortFrom: e.Port}
			for _, s := range e.Sources {
				r := port
				r.CIDR, r.Policy = s, Accept
				cc.AddRule(&nftables.Rule{Table: t, Chain: input, Exprs: r.exprs(12)})
			}
			port.Policy = Drop
			cc.AddRule(&nftables.Rule{Table: t, Chain: input, Exprs: port.exprs(12)})
		}
	})
}

// ClearWhitelist removes the instance's whitelist.
func (c *Cloud) ClearWhitelist(instance string) error {
	return c.deleteTable(instance, WhitelistTable)
}

// WhitelistDrops is how many packets the instance's whitelist dropped.
func (c *Cloud) WhitelistDrops(instance string) (uint64, error) {
	in := c.Instance(instance)
	if in == nil {
		return 0, fmt.Errorf("netns: whitelist: no instance %q", instance)
	}
	return dropCount(in.Host.NS, WhitelistTable, "input")
}

// TransitDrops is how many packets the VPC's router dropped because they
// came in over a peering and would have left over another (peering is
// not transitive).
func (c *Cloud) TransitDrops(vpc string) (uint64, error) {
	v := c.VPC(vpc)
	if v == nil {
		return 0, fmt.Errorf("netns: no VPC %q", vpc)
	}
	return dropCount(v.Router.NS, RouterTable, "forward")
}

func (c *Cloud) deleteTable(instance, table string) error {
	in := c.Instance(instance)
	if in == nil {
		return fmt.Errorf("netns: no instance %q", instance)
	}
	return inNamespace(in.Host.NS, func(cc *nftables.Conn) {
		t := &nftables.Table{Name: table, Family: nftables.TableFamilyIPv4}
		cc.AddTable(t)
		cc.DelTable(t)
	})
}

// setRouterRules loads a router's table: in its forward chain, a packet
// that came in over a peering (peer*) and would leave over one is
// dropped, counted.
func setRouterRules(ns string) error {
	return inNamespace(ns, func(cc *nftables.Conn) {
		t := replaceTable(cc, RouterTable)
		fwd := cc.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: policy(nftables.ChainPolicyAccept)})
		cc.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: []expr.Any{
			// iifname "peer*": a prefix match compares the name's first
			// bytes only.
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("peer")},
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("peer")},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}})
	})
}

// inNamespace runs build on an nftables connection into the namespace ns
// and sends what it queued as one transaction.
func inNamespace(ns string, build func(cc *nftables.Conn)) error {
	h, err := vns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("netns: namespace %s: %w", ns, err)
	}
	defer h.Close()
	cc, err := nftables.New(nftables.WithNetNSFd(int(h)))
	if err != nil {
		return fmt.Errorf("netns: nftables in %s: %w", ns, err)
	}
	build(cc)
	if err := cc.Flush(); err != nil {
		return fmt.Errorf("netns: nftables in %s: %w", ns, err)
	}
	return nil
}

// replaceTable queues the deletion of the table (made first if missing,
// so the deletion cannot fail) and its making anew.
func replaceTable(cc *nftables.Conn, name string) *nftables.Table {
	t := &nftables.Table{Name: name, Family: nftables.TableFamilyIPv4}
	cc.AddTable(t)
	cc.DelTable(t)
	return cc.AddTable(t)
}

// dropCount sums the counters of the chain's rules.
func dropCount(ns, table, chain string) (uint64, error) {
	h, err := vns.GetFromName(ns)
	if err != nil {
		return 0, fmt.Errorf("netns: namespace %s: %w", ns, err)
	}
	defer h.Close()
	cc, err := nftables.New(nftables.WithNetNSFd(int(h)))
	if err != nil {
		return 0, fmt.Errorf("netns: nftables in %s: %w", ns, err)
	}
	t := &nftables.Table{Name: table, Family: nftables.TableFamilyIPv4}
	rules, err := cc.GetRules(t, &nftables.Chain{Name: chain, Table: t})
	if err != nil {
		return 0, fmt.Errorf("netns: nftables in %s: rules of %s %s: %w", ns, table, chain, err)
	}
	var n uint64
	for _, r := range rules {
		for _, e := range r.Exprs {
			if ctr, ok := e.(*expr.Counter); ok {
				n += ctr.Packets
			}
		}
	}
	return n, nil
}

func policy(p nftables.ChainPolicy) *nftables.ChainPolicy { return &p }

// ifname is an interface name as the kernel compares it: NUL-padded to
// IFNAMSIZ.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// established accepts the packets of flows already accepted: ct state
// established,related.
func established() []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED),
			Xor:  binary.NativeEndian.AppendUint32(nil, 0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, 0)},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
}

var errBadRule = errors.New("bad rule")

func (r SGRule) check() error {
	switch r.Direction {
	case Ingress, Egress:
	default:
		return fmt.Errorf("%w: direction %q (want %q or %q)", errBadRule, r.Direction, Ingress, Egress)
	}
	switch r.Policy {
	case Accept, Drop:
	default:
		return fmt.Errorf("%w: policy %q (want %q or %q)", errBadRule, r.Policy, Accept, Drop)
	}
	switch r.Protocol {
	case "", ProtoAll, ProtoICMP:
		if r.PortFrom != 0 || r.PortTo != 0 {
			return fmt.Errorf("%w: ports with protocol %q", errBadRule, r.Protocol)
		}
	case ProtoTCP, ProtoUDP:
	default:
		return fmt.Errorf("%w: protocol %q", errBadRule, r.Protocol)
	}
	if r.PortTo != 0 && r.PortTo < r.PortFrom {
		return fmt.Errorf("%w: port range %d-%d", errBadRule, r.PortFrom, r.PortTo)
	}
	if r.CIDR.IsValid() {
		return checkV4Block("rule", r.CIDR)
	}
	return nil
}

// exprs is the rule as nftables expressions, matching the peer address
// at offset in the IPv4 header (12: source, 16: destination).
func (r SGRule) exprs(offset uint32) []expr.Any {
	var ex []expr.Any
	if r.CIDR.IsValid() && r.CIDR.Bits() > 0 {
		net4 := r.CIDR.Masked().Addr().As4()
		mask := binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-r.CIDR.Bits()))
		ex = append(ex,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: net4[:]})
	}
	proto := map[Protocol]byte{ProtoTCP: unix.IPPROTO_TCP, ProtoUDP: unix.IPPROTO_UDP, ProtoICMP: unix.IPPROTO_ICMP}
	if p, ok := proto[r.Protocol]; ok {
		ex = append(ex,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}})
	}
	if r.PortFrom != 0 || r.PortTo != 0 {
		to := r.PortTo
		if to == 0 {
			to = r.PortFrom
		}
		ex = append(ex, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
		if to == r.PortFrom {
			ex = append(ex, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, to)})
		} else {
			ex = append(ex, &expr.Range{Op: expr.CmpOpEq, Register: 1,
				FromData: binary.BigEndian.AppendUint16(nil, r.PortFrom), ToData: binary.BigEndian.AppendUint16(nil, to)})
		}
	}
	ex = append(ex, &expr.Counter{})
	if r.Policy == Drop {
		return append(ex, &expr.Verdict{Kind: expr.VerdictDrop})
	}
	return append(ex, &expr.Verdict{Kind: expr.VerdictAccept})
}
