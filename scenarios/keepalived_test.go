package scenarios_test

import (
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

const keepalivedLab = `name: vrrp-failover-keepalived
title: "vrrp-failover, written as keepalived.conf"
duration: 20s
topology:
  segments: [{name: lan, latency: 100us}]
  hosts:
    - {name: r1, interfaces: [{segment: lan, address: 10.77.0.11/24}]}
    - {name: r2, interfaces: [{segment: lan, address: 10.77.0.12/24}]}
vrrp:
  keepalived:
    r1: |
      vrrp_instance VI_1 {
          state MASTER
          interface eth0
          virtual_router_id 51
          priority 150
          advert_int 1
          authentication {
              auth_type PASS
              auth_pass 1111
          }
          virtual_ipaddress {
              10.77.0.100/24
          }
      }
    r2: |
      vrrp_instance VI_1 {
          state BACKUP
          interface eth0
          virtual_router_id 51
          priority 100
          advert_int 1
          authentication {
              auth_type PASS
              auth_pass 1111
          }
          virtual_ipaddress {
              10.77.0.100/24
          }
      }
faults:
  - {name: master dies, at: 10s, jitter: 1s, kind: crash, target: r1}
expect:
  - name: r2 takes over
    failover: {fault: master dies, by: r2, window: theory}
`

// A lab may give its routers as keepalived.conf text; the physics must be
// exactly those of the same lab written in lblab's own words.
func TestLabWithKeepalivedConf(t *testing.T) {
	lab, err := labfile.Parse("k.yaml", []byte(keepalivedLab), nil)
	if err != nil {
		t.Fatal(err)
	}
	native, err := scenarios.Load("vrrp-failover", nil)
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 5; seed++ {
		a, err := scenarios.RunSim(lab, seed)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := scenarios.RunSim(native, seed)
		if !a.Results.Passed || a.Results.Metrics["failover_s"] != b.Results.Metrics["failover_s"] {
			t.Fatalf("seed %d: keepalived.conf lab failover %v (passed %v), native %v",
				seed, a.Results.Metrics["failover_s"], a.Results.Passed, b.Results.Metrics["failover_s"])
		}
	}
	bad := strings.Replace(keepalivedLab, "priority 100", "priority 900", 1)
	_, err = labfile.Parse("k.yaml", []byte(bad), nil)
	if err == nil || !strings.Contains(err.Error(), "k.yaml:31:1: vrrp.keepalived.r2: priority: want a whole number 1..255") ||
		!strings.Contains(err.Error(), "line 5 of r2's keepalived.conf") {
		t.Fatalf("error: %v", err)
	}
}
