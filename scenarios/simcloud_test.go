package scenarios

import (
	"strings"
	"testing"

	"github.com/lblab/lblab/history"
)

// TestReachEvents: the simulator records each reach check of a cloud lab
// as a net event at t = 0 with the hop path, the rule that decided and the
// outcome code; a world without the cloud refuses the lab.
func TestReachEvents(t *testing.T) {
	lab, err := Load("vpc-peering", nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range o.Events {
		if e.Kind == history.KindNet {
			got = append(got, strings.Join([]string{e.T.Duration().String(), e.Src, e.Dst, e.Probe, e.Reason, e.Error, e.Path, e.Rule}, " | "))
		}
	}
	want := []string{
		"0s | ecs-a | 192.168.5.130 | icmp | ACCEPTED |  | ecs-a > vsw-a > vpc-a > pcc-ab > vpc-b > vsw-b > ecs-b | ecs-b > vsw-b > vpc-b > pcc-ab > vpc-a > vsw-a > ecs-a | ",
		"0s | ecs-a | 192.168.5.130:80 | tcp | ACCEPTED |  | ecs-a > vsw-a > vpc-a > pcc-ab > vpc-b > vsw-b > ecs-b | ecs-b > vsw-b > vpc-b > pcc-ab > vpc-a > vsw-a > ecs-a | ",
		"0s | ecs-a | 172.16.0.10 | icmp | NO_REPLY_ROUTE | timeout | ecs-a > vsw-a > vpc-a > pcc-ad > vpc-d > vsw-d > ecs-d | ecs-d > vsw-d > vpc-d ✗ | no_route",
		"0s | ecs-a | 172.17.0.10 | icmp | NO_ROUTE | timeout | ecs-a > vsw-a > vpc-a ✗ | no_route",
		"0s | ecs-a | 10.0.1.10 | icmp | NO_ROUTE | timeout | ecs-a > vsw-a > vpc-a > pcc-ab > vpc-b ✗ | not_transitive rtb-vpc-b 10.0.0.0/16 → pcc-bc [network.route_tables[1].entries[1]]",
		"0s | ecs-b | 10.0.1.10 | icmp | ACCEPTED |  | ecs-b > vsw-b > vpc-b > pcc-bc > vpc-c > vsw-c > ecs-c | ecs-c > vsw-c > vpc-c > pcc-bc > vpc-b > vsw-b > ecs-b | ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("net events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !o.Results.Passed {
		t.Errorf("the lab failed: %+v", o.Results.Expectations)
	}
	// A reach check that does not hold fails, with what was observed.
	lab, err = Load("vpc-peering", []string{"expect[2].reach.outcome=ACCEPTED"})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = RunSim(lab, 1); err != nil || o.Results.Passed || !strings.Contains(o.Results.Expectations[2].Observed, "NO_REPLY_ROUTE via ecs-a > vsw-a") {
		t.Errorf("%v %+v", err, o.Results.Expectations[2])
	}
	// netns builds the cloud network (netns_cloud.go); docker does not.
	fac, err := LookupWorld("docker")
	if err != nil {
		t.Fatal(err)
	}
	if err := fac.Caps.Refuse("docker", lab); err == nil || !strings.Contains(err.Error(), "cannot build the lab's cloud network") {
		t.Errorf("docker: %v", err)
	}
	if fac, err = LookupWorld("netns"); err != nil {
		t.Fatal(err)
	}
	if err := fac.Caps.Refuse("netns", lab); err != nil {
		t.Errorf("netns: %v", err)
	}
}
