package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lblab/lblab/testbed/netns"
)

// TestTraceVerify runs lblab trace --verify (root): a one-sided peering
// route agrees (the reply dropped at vpc-b's router in both worlds, exit
// 0), as JSON too, and for a TCP connect; a probe of the vswitch's gateway disagrees (the model
// has no instance there, the real VPC router answers: exit 1). Nothing
// of the runs' namespaces remains.
func TestTraceVerify(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("lblab trace --verify needs root (netns), and CI=true")
		}
		t.Skip("needs root: lblab trace --verify builds the lab's network in namespaces")
	}
	oneSided := []string{"trace", "vpc-peering", "ecs-a", "192.168.5.130", "--verify", "--set", "network.route_tables[1].entries=[]"}
	code, out, errOut := lblab(t, oneSided...)
	wantExit(t, code, 0, out, errOut)
	for _, w := range []string{"model: NO_REPLY_ROUTE, reply dropped at router of vpc-b (no_route)",
		"real (netns): TIMEOUT, reply dropped at router of vpc-b (no_route)", "instance/ecs-b/Icmp.OutEchoReps +1", "\nAGREE\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in\n%s", w, out)
		}
	}
	code, out, errOut = lblab(t, append(oneSided, "--json")...)
	wantExit(t, code, 0, out, errOut)
	var v verified
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	if !v.Agree || v.ModelDrop == nil || *v.ModelDrop != v.Real.Drop || !v.Real.Drop.Reply {
		t.Errorf("json: %+v", v)
	}
	// A TCP connect: the SYN-ACK is lost on its way back (the leg is read
	// from the SYN-ACK sent, before any passive open is counted).
	code, out, errOut = lblab(t, "trace", "vpc-peering", "ecs-a", "ecs-b:80", "--verify", "--set", "network.route_tables[1].entries=[]")
	wantExit(t, code, 0, out, errOut)
	if !strings.Contains(out, "real (netns): TIMEOUT, reply dropped at router of vpc-b (no_route)") {
		t.Errorf("tcp, one-sided: want the reply dropped at vpc-b's router, got\n%s", out)
	}
	// 192.168.5.253 is vsw-b's gateway (netns.VSwitchGateway).
	code, out, errOut = lblab(t, "trace", "vpc-peering", "ecs-b", "192.168.5.253", "--verify")
	wantExit(t, code, 1, out, errOut)
	if !strings.Contains(out, "real (netns): ANSWERED") || !strings.Contains(out, "\nDISAGREE\n") {
		t.Errorf("gateway: want a disagreement, got\n%s", out)
	}
	list, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if mine := fmt.Sprintf("%s%d-", netns.NamePrefix, os.Getpid()); strings.Contains(string(list), mine) {
		t.Errorf("namespaces left behind:\n%s", list)
	}
}
