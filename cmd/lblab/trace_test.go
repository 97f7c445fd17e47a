package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lblab/lblab/sim/cloud"
)

// TestTrace runs lblab trace over the VPC labs' cases: the outcome, the
// place of the drop, and the exit status.
func TestTrace(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"vpc-isolation", "ecs-a", "192.168.5.130"}, 1, []string{": NO_ROUTE", "router of vpc-a        DROP    no route entry matches 192.168.5.130"}},
		{[]string{"vpc-isolation", "ecs-b2", "ecs-b"}, 0, []string{": ACCEPTED", "2  vswitch vsw-b          pass    zone cn-hangzhou-h\n   3  instance ecs-b"}},
		{[]string{"vpc-peering", "ecs-a", "192.168.5.130"}, 0, []string{"icmp echo: ACCEPTED", "[network.route_tables[0].entries[0]]"}},
		{[]string{"vpc-peering", "ecs-a", "192.168.5.130", "--set", "network.route_tables[1].entries=[]"}, 1,
			[]string{": NO_REPLY_ROUTE", "reply 192.168.5.130 → 192.168.6.76", "router of vpc-b        DROP    no route entry matches 192.168.6.76", "not a refusal"}},
		{[]string{"vpc-peering", "ecs-a", "192.168.5.130", "--set", "network.route_tables[1].entries=[]", "--set", "network.route_tables[0].entries=[]"}, 1,
			[]string{": NO_ROUTE", "router of vpc-a        DROP"}},
		{[]string{"vpc-peering", "ecs-a", "10.0.1.10"}, 1, []string{": NO_ROUTE", "peering is not transitive  [network.route_tables[1].entries[1]]"}},
		{[]string{"vpc-peering", "ecs-b", "10.0.1.10"}, 0, []string{": ACCEPTED"}},
		{[]string{"vpc-peering", "192.168.6.76", "ecs-b:80"}, 0, []string{"tcp connect to port 80: ACCEPTED", "tcp 80 listens: SYN-ACK"}},
		{[]string{"vpc-peering", "ecs-a", "ecs-b:22"}, 1, []string{": DENIED_IN", "no inbound rule matches"}},
		{[]string{"vpc-overlap", "ecs-a2", "ecs-a"}, 0, []string{": ACCEPTED"}},
		{[]string{"vpc-overlap", "ecs-b2", "192.168.5.130"}, 0, []string{"ecs-b2 (192.168.5.131) → 192.168.5.130", "instance ecs-b         answer"}},
		{[]string{"--lang", "zh", "vpc-peering", "ecs-a", "10.0.1.10"}, 1, []string{"对等连接不可传递", "请求 192.168.6.76 → 10.0.1.10"}},
		// Bad input: exit 2.
		{[]string{"vpc-overlap", "192.168.5.130", "192.168.5.131"}, 2, []string{"name the instance"}},
		{[]string{"vpc-peering", "ecs-a", "nobody"}, 2, []string{`DST "nobody": want ADDR or HOST`}},
		{[]string{"vpc-peering", "ecs-a", "ecs-b:0"}, 2, []string{":PORT (1..65535)"}},
		{[]string{"vpc-peering", "ecs-q", "ecs-b"}, 2, []string{`no instance "ecs-q"`}},
		{[]string{"vrrp-failover", "r1", "10.0.0.1"}, 2, []string{"has no cloud network"}},
		{[]string{"vpc-overlap", "ecs-a", "ecs-b", "--set", "network.peerings=[{name: pcc-ab, vpc: vpc-a, peer_vpc: vpc-b}]"}, 2,
			[]string{"network.peerings[0].peer_vpc: VPC vpc-a (192.168.5.0/24) and VPC vpc-b (192.168.5.0/24) overlap"}},
	} {
		args := append([]string{"trace"}, tc.args...)
		code, out, errOut := lblab(t, args...)
		all := out + errOut
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, all)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("%v: no %q in\n%s", tc.args, w, all)
			}
		}
	}
}

// TestTraceJSON: --json is the Result, the same twice, with the lab's
// fields.
func TestTraceJSON(t *testing.T) {
	args := []string{"trace", "vpc-peering", "ecs-a", "192.168.5.130", "--json", "--set", "network.route_tables[1].entries=[]"}
	code, out, _ := lblab(t, args...)
	_, again, _ := lblab(t, args...)
	var r cloud.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 || out != again {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	h, reply, ok := r.Drop()
	if r.Outcome != cloud.NoReplyRoute || !ok || !reply || h.At != "vpc-b" || r.Request[2].Field != "network.route_tables[0].entries[0]" {
		t.Errorf("%+v", r)
	}
}
