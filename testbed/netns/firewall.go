package netns

import (
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
)

// fwKind is what a firewall rule drops.
type fwKind uint8

const (
	// fwProto drops IP protocol proto (Block).
	fwProto fwKind = iota
	// fwMulticast drops IP protocol proto sent to a multicast address
	// (BlockMulticast).
	fwMulticast
	// fwGARP drops gratuitous ARP for addr (BlockGARP).
	fwGARP
)

// fwRule is one rule of a segment's firewall: what it drops (kind,
// proto or addr) on the bridge from port in to port out.
type fwRule struct {
	kind    fwKind
	proto   uint8
	addr    netip.Addr
	in, out string
}

// nft returns the rule in nft's syntax (bridge family).
func (r fwRule) nft() string {
	ports := fmt.Sprintf("iifname %q oifname %q", r.in, r.out)
	switch r.kind {
	case fwMulticast:
		return fmt.Sprintf("%s ip daddr 224.0.0.0/4 ip protocol %d drop", ports, r.proto)
	case fwGARP:
		// A gratuitous ARP, as keepalived and lblab vrrp send it: an
		// Ethernet broadcast whose sender and target IP are both the
		// address announced (request or reply). An ordinary reply names
		// its asker as target and goes to its MAC; a request names the
		// asker as sender: both pass.
		return fmt.Sprintf("%s ether daddr ff:ff:ff:ff:ff:ff arp saddr ip %s arp daddr ip %s drop", ports, r.addr, r.addr)
	default:
		return fmt.Sprintf("%s ip protocol %d drop", ports, r.proto)
	}
}

// Block drops the packets of IP protocol proto that the segment's bridge
// forwards from one of ports (Link.Port of the segment's links) to
// another: a firewall between those hosts only; the others pass. It
// returns once the rules are in the kernel (nftables' bridge family,
// the segment's namespace).
func (s *Segment) Block(proto uint8, ports []string) error {
	return s.addRules(ports, fwRule{kind: fwProto, proto: proto})
}

// BlockMulticast is Block for the packets of proto sent to a multicast
// address (224.0.0.0/4: VRRP's 224.0.0.18) only, as a switch whose IGMP
// snooping has no querier drops them: unicast packets of proto between
// the ports (VRRP with unicast_peer) pass.
func (s *Segment) BlockMulticast(proto uint8, ports []string) error {
	return s.addRules(ports, fwRule{kind: fwMulticast, proto: proto})
}

// BlockGARP drops the gratuitous ARP for each of addrs (an Ethernet
// broadcast ARP request or reply whose sender and target IP are both the
// address) that the bridge forwards from one of ports to another, as a
// switch with dynamic ARP inspection without a binding for them would.
// Other ARP (requests for the addresses, their answers, a neighbour
// cache's unicast probes) passes.
func (s *Segment) BlockGARP(addrs []netip.Addr, ports []string) error {
	rules := make([]fwRule, len(addrs))
	for i, a := range addrs {
		if !a.Is4() {
			return fmt.Errorf("netns: segment %s: gratuitous ARP for %s: not an IPv4 address", s.Name, a)
		}
		rules[i] = fwRule{kind: fwGARP, addr: a}
	}
	return s.addRules(ports, rules...)
}

// addRules adds each of rules between any two of ports, both ways.
func (s *Segment) addRules(ports []string, rules ...fwRule) error {
	return s.setRules(func(r map[fwRule]bool) {
		for _, in := range ports {
			for _, out := range ports {
				if in == out {
					continue
				}
				for _, k := range rules {
					k.in, k.out = in, out
					r[k] = true
				}
			}
		}
	})
}

// Unblock removes every rule between ports (Block, BlockMulticast,
// BlockGARP), whatever it drops.
func (s *Segment) Unblock(ports []string) error {
	return s.setRules(func(r map[fwRule]bool) {
		for k := range r {
			if slices.Contains(ports, k.in) && slices.Contains(ports, k.out) {
				delete(r, k)
			}
		}
	})
}

// setRules changes the segment's rules with change and loads them all
// again, at once (one nft transaction).
func (s *Segment) setRules(change func(map[fwRule]bool)) error {
	s.fwMu.Lock()
	defer s.fwMu.Unlock()
	if s.fw == nil {
		s.fw = map[fwRule]bool{}
	}
	r := s.fw
	change(r)
	lines := make([]string, 0, len(r))
	for k := range r {
		lines = append(lines, k.nft())
	}
	slices.Sort(lines)
	var b strings.Builder
	b.WriteString("table bridge lblab_fw\ndelete table bridge lblab_fw\n")
	b.WriteString("table bridge lblab_fw {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	b.WriteString("  }\n}\n")
	cmd := exec.Command("ip", "netns", "exec", s.NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("netns: segment %s: nft: %w: %s", s.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
