package scenarios_test

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy/balance"
	"github.com/lblab/lblab/scenarios"
)

// The xff shares of ip-hash-behind-proxy are the ketama ring's, not 1/3:
// each server's share of the users' addresses (every address a user can
// draw from workload.DefaultAddresses) through the lab's own ring is the
// expected share of its check, to the 4 decimals the lab writes.
func TestXFFSharesAreTheRings(t *testing.T) {
	lab, err := scenarios.Load("ip-hash-behind-proxy", nil)
	if err != nil {
		t.Fatal(err)
	}
	var g *balance.Group
	for i := range lab.LB.Groups {
		if lab.LB.Groups[i].Name == "xff" {
			if g, err = balance.NewGroup(lab.LB.Groups[i].BalanceConfig()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if g == nil {
		t.Fatal("ip-hash-behind-proxy has no group xff")
	}
	prefix := netip.MustParsePrefix(workload.DefaultAddresses)
	base := prefix.Masked().Addr().As4()
	hosts := uint32(1)<<(32-prefix.Bits()) - 2 // UserAddrs draws 1 .. 2^bits − 2
	count := map[string]int{}
	rnd := rand.New(rand.NewPCG(1, 1))
	for k := uint32(1); k <= hosts; k++ {
		a := base
		a[2], a[3] = byte(k>>8), byte(k)
		at := g.Start(balance.Request{Key: netip.AddrFrom4(a).String()})
		p, err := at.Next(0, rnd)
		if err != nil {
			t.Fatal(err)
		}
		count[p.Name()]++
		at.Done(0, p, false, 0)
	}
	checked := 0
	for _, e := range lab.Expect {
		if e.Share == nil || e.Share.Group != "xff" {
			continue
		}
		checked++
		q := float64(count[e.Share.Server]) / float64(hosts)
		switch {
		case e.Share.Expected == nil:
			t.Errorf("check %q on %s gives no expected share; its ring arcs hold %.4f of the addresses", e.Name, e.Share.Server, q)
		case math.Abs(*e.Share.Expected-q) > 0.00005:
			t.Errorf("check %q expects %.4f of the requests on %s; its ring arcs hold %.4f of the addresses", e.Name, *e.Share.Expected, e.Share.Server, q)
		}
	}
	if checked == 0 {
		t.Error("ip-hash-behind-proxy checks no xff share")
	}
}
