package netns

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// fwRule drops IP protocol proto on the bridge from port in to port out.
type fwRule struct {
	proto   uint8
	in, out string
}

// Block drops the packets of IP protocol proto that the segment's bridge
// forwards from one of ports (Link.Port of the segment's links) to
// another: a firewall between those hosts only; the others pass. It
// returns once the rules are in the kernel (nftables' bridge family,
// the segment's namespace).
func (s *Segment) Block(proto uint8, ports []string) error {
	return s.setRules(func(r map[fwRule]bool) {
		for _, in := range ports {
			for _, out := range ports {
				if in != out {
					r[fwRule{proto, in, out}] = true
				}
			}
		}
	})
}

// Unblock removes every rule between ports (Block), whatever its
// protocol.
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
	var b strings.Builder
	b.WriteString("table bridge lblab_fw\ndelete table bridge lblab_fw\n")
	b.WriteString("table bridge lblab_fw {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n")
	keys := make([]fwRule, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b fwRule) int {
		return strings.Compare(fmt.Sprint(a.proto, a.in, a.out), fmt.Sprint(b.proto, b.in, b.out))
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "    iifname %q oifname %q ip protocol %d drop\n", k.in, k.out, k.proto)
	}
	b.WriteString("  }\n}\n")
	cmd := exec.Command("ip", "netns", "exec", s.NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("netns: segment %s: nft: %w: %s", s.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
