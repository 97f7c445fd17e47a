package scenarios

import (
	"os"
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios/labfile"
)

// On equal priorities the router with the higher primary IP takes over
// (keepalived's tie-break), and the simulator agrees with the order.
func TestTakeoverOrderTieBreak(t *testing.T) {
	b, err := os.ReadFile("testdata/truth/vrrp-three-routers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "host: r2, virtual_router_id: 51, priority: 100", "host: r2, virtual_router_id: 51, priority: 120", 1)
	src = src[:strings.Index(src, "expect:")] + "expect:\n  - name: r3 wins the tie\n    state: {router: r3, state: MASTER}\n"
	lab, err := labfile.Parse("three.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range lab.TakeoverOrder(51) {
		names = append(names, c.Name)
	}
	if strings.Join(names, " ") != "r1 r3 r2" {
		t.Errorf("takeover order %v, want r1 r3 r2 (r3's 10.77.0.13 above r2's 10.77.0.12)", names)
	}
	out, err := RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Results.Passed {
		t.Errorf("the simulator did not make r3 master: %+v", out.Results.Expectations)
	}
}
