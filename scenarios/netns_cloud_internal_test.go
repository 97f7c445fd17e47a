package scenarios

import (
	"testing"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/sim/cloud"
)

// TestRealReachEventClaimsOnlyWhatTheCountersSaw: a real probe's net
// event takes the model's outcome code only when the real verdict and drop
// place agree with the model's; otherwise it holds the real outcome, and
// the lab's reach check fails saying so. Its path is the sender, the
// answerer and the counted drop place, never the model's hops.
func TestRealReachEventClaimsOnlyWhatTheCountersSaw(t *testing.T) {
	lab, err := Load("vpc-peering", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := lab.Cloud()
	var results []cloud.Result
	var dsts []string
	if err := traceReaches(lab, m, func(r cloud.Result, dst string) error {
		results, dsts = append(results, r), append(dsts, dst)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// expect[2]: ecs-a → ecs-d, NO_REPLY_ROUTE at vpc-d's router.
	r, dst := results[2], dsts[2]
	if r.Outcome != cloud.NoReplyRoute {
		t.Fatalf("model: %s", r.Outcome)
	}
	agree := Real{Outcome: RealTimeout, Answerer: "ecs-d", Dropped: true,
		Drop: Place{Reply: true, Kind: cloud.HopRouter, At: "vpc-d", Why: "no_route"}}
	ev := realReachEvent(lab, r, agree, dst, 0)
	want := "ecs-a > ecs-d | ecs-d > vpc-d ✗"
	if ev.Reason != string(cloud.NoReplyRoute) || ev.Path != want || ev.Error != "timeout" || *ev.OK {
		t.Errorf("agreeing probe: %+v, want reason NO_REPLY_ROUTE path %q", ev, want)
	}
	if ev.Rule != "real: reply dropped at router vpc-d (no_route); model: no_route" {
		t.Errorf("rule %q", ev.Rule)
	}
	for _, real := range []Real{
		{Outcome: RealAnswered, Answerer: "ecs-d"},                                                              // the real network let it through
		{Outcome: RealTimeout, Dropped: true, Drop: Place{Kind: cloud.HopRouter, At: "vpc-a", Why: "no_route"}}, // another place
		{Outcome: RealTimeout}, // unplaced
	} {
		ev := realReachEvent(lab, r, real, dst, 0)
		if ev.Reason != real.Outcome {
			t.Errorf("%+v: reason %q, want the real outcome", real, ev.Reason)
		}
		lab.Expect[2].Reach.Outcome = string(cloud.NoReplyRoute)
		if x := reach(lab, lab.Expect[2].Reach, []history.Event{ev}); x.Passed {
			t.Errorf("%+v: the reach check passed on a disagreeing probe: %+v", real, x)
		}
	}
	if p := realPath("ecs-a", Real{Outcome: RealTimeout, Dropped: true, Drop: Place{Kind: cloud.HopInstance, At: "ecs-a", Why: "security_group"}}); p != "ecs-a ✗" {
		t.Errorf("a drop at the sender: %q", p)
	}
}
