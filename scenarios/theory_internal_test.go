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

// A theoretical window of no width (vrrp-graceful-shutdown: Skew_Time
// plus the link latency, the same on every seed) is a point mass: the
// distance is 0 when every value sits on it, else the larger of the
// shares of values below and above it, never NaN (which made the sweep's report.json unwritable).
func TestKSUniformPointWindow(t *testing.T) {
	for _, c := range []struct {
		values []float64
		want   float64
	}{
		{[]float64{0.609475, 0.609475, 0.609475, 0.609475}, 0},
		{[]float64{0.609475, 0.609475, 0.609475, 0.7}, 0.25},
		{[]float64{0.5, 0.609475, 0.609475, 0.609475}, 0.25},
		{[]float64{0.5, 0.5, 0.7, 0.7}, 0.5},
		{[]float64{0.5, 0.5, 0.5, 0.7}, 0.75},
	} {
		if got := ksUniform(c.values, 0.609475, 0.609475); got != c.want {
			t.Errorf("ksUniform(%v) on [0.609475, 0.609475] = %v, want %v", c.values, got, c.want)
		}
	}
	// A window of some width is unchanged: four values at the quarters'
	// ends are 0.25 from the uniform law.
	if got := ksUniform([]float64{1, 2, 3, 4}, 0, 4); got != 0.25 {
		t.Errorf("ksUniform on [0, 4] = %v, want 0.25", got)
	}
}
