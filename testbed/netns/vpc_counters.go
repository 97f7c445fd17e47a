package netns

import (
	"errors"
	"fmt"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	vns "github.com/vishvananda/netns"
)

// ChainDrops is how many packets the drop rules of one chain of an
// nftables table in host h's namespace dropped: the counters of its rules
// whose verdict is drop (a chain's policy has no counter, and the
// counters of accept rules are not summed). A table or chain that does
// not exist counts 0. It is how `lblab trace --verify` places a drop: a
// security group's input or output chain (SecurityGroupTable), a
// whitelist's input chain (WhitelistTable), a router's forward chain
// (RouterTable).
func ChainDrops(h *Host, table, chain string) (uint64, error) {
	nsh, err := vns.GetFromName(h.NS)
	if err != nil {
		return 0, fmt.Errorf("netns: namespace %s: %w", h.NS, err)
	}
	defer nsh.Close()
	cc, err := nftables.New(nftables.WithNetNSFd(int(nsh)))
	if err != nil {
		return 0, fmt.Errorf("netns: nftables in %s: %w", h.NS, err)
	}
	t := &nftables.Table{Name: table, Family: nftables.TableFamilyIPv4}
	rules, err := cc.GetRules(t, &nftables.Chain{Name: chain, Table: t})
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("netns: nftables in %s: rules of %s %s: %w", h.NS, table, chain, err)
	}
	var n uint64
	for _, r := range rules {
		var count uint64
		drop := false
		for _, e := range r.Exprs {
			switch e := e.(type) {
			case *expr.Counter:
				count += e.Packets
			case *expr.Verdict:
				drop = e.Kind == expr.VerdictDrop
			}
		}
		if drop {
			n += count
		}
	}
	return n, nil
}
