package scenarios_test

import (
	"strings"
	"testing"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// A segment's firewall fault is any lab's, in the simulator as on real
// hosts: in vrrp-failover (no load balancer) a rule dropping protocol 112
// between r1 and r2 from 2 s splits the pair, so r2 becomes master too
// while r1 still is (before, the simulator ignored the fault in a lab
// without a load balancer, and only netns played it).
func TestSegmentFirewallInAVRRPLab(t *testing.T) {
	lab, err := scenarios.Load("vrrp-failover", nil)
	if err != nil {
		t.Fatal(err)
	}
	lab.Faults = []labfile.Fault{{Name: "firewall blocks VRRP", At: lab.Faults[0].At, Kind: labfile.FaultFirewall, Target: "lan", Proto: 112, Between: []string{"r1", "r2"}}}
	lab.Expect = nil
	o, err := scenarios.RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	master := map[string]bool{}
	most := 0
	for _, e := range o.Events {
		if e.Kind != history.KindVRRP {
			continue
		}
		master[e.Router] = e.To == "MASTER"
		n := 0
		for _, m := range master {
			if m {
				n++
			}
		}
		most = max(most, n)
	}
	if most != 2 {
		t.Fatalf("at most %d masters at once, want 2: the firewall between r1 and r2 was not played", most)
	}
}

// garp_drop drops the gratuitous ARP of the lab's VIPs: a lab without a
// vrrp instance is refused at the fault's kind, not played (netns read
// its VIPs from a nil vrrp section).
func TestGARPDropWithoutVRRPRefused(t *testing.T) {
	src := `name: no-vrrp
title: a garp_drop without VIPs
duration: 5s
topology:
  segments:
    - name: lan
  hosts:
    - {name: h1, interfaces: [{segment: lan, address: 10.9.0.1/24}]}
    - {name: h2, interfaces: [{segment: lan, address: 10.9.0.2/24}]}
faults:
  - {name: drop, at: 1s, kind: garp_drop, target: lan, between: [h1, h2]}
`
	_, err := labfile.Parse("no-vrrp.yaml", []byte(src), nil)
	if err == nil || !strings.Contains(err.Error(), "no-vrrp.yaml:11:") || !strings.Contains(err.Error(), "faults[0].kind") || !strings.Contains(err.Error(), "no vrrp instance") {
		t.Fatalf("err %v, want no-vrrp.yaml:11: faults[0].kind refused: no vrrp instance", err)
	}
}
