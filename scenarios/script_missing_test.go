package scenarios

import (
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios/labfile"
	vrrplinux "github.com/lblab/lblab/vrrpsim/linux"
)

// A lab never runs a vrrp_script's program: its result is the lab's
// script_fail and script_ok faults, in the simulator and in netns, whose
// generated keepalived.conf runs a check of a flag file in its place. So
// a script naming a program this host lacks (keepalived would disable
// it) changes nothing in a lab, and a failover a script_fail predicts
// happens in netns too: the agent has a program to run, which it does not
// disable.
func TestLabNeverRunsTheScriptsProgram(t *testing.T) {
	src := `name: missing
title: t
topology:
  segments: [{name: lan}]
  hosts:
    - {name: r1, interfaces: [{segment: lan, address: 10.77.0.11/24}]}
vrrp:
  keepalived:
    r1: |
      vrrp_script chk {
          script "/nonexistent/lblab/check.sh"
          weight -60
      }
      vrrp_instance VI_1 {
          interface eth0
          virtual_router_id 51
          priority 150
          virtual_ipaddress {
              10.77.0.100/24
          }
          track_script {
              chk
          }
      }
faults:
  - {at: 5s, kind: script_fail, target: r1, script: chk}
`
	lab, err := labfile.Parse("missing.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := lab.Warnings(); len(w) > 0 {
		t.Errorf("the lab warns: %v", w)
	}
	conf := keepalivedConf(lab, "r1", func(host, script string) string { return "/flags/" + host + "." + script })
	if strings.Contains(conf, "/nonexistent") || !strings.Contains(conf, `script "/bin/test ! -e /flags/r1.chk"`) {
		t.Fatalf("the netns keepalived.conf of r1:\n%s", conf)
	}
	if why, _ := vrrplinux.ScriptDisabled("/bin/test ! -e /flags/r1.chk"); !why.IsZero() {
		t.Errorf("the agent would disable the netns check: %s", why)
	}
}
