package scenarios_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// TestWorldsRegistered: the simulator, the netns and the docker world
// register themselves, with what they can do.
func TestWorldsRegistered(t *testing.T) {
	got := strings.Join(scenarios.WorldNames(), ",")
	if got != "docker,netns,sim" {
		t.Fatalf("worlds %q, want docker,netns,sim", got)
	}
	for _, w := range scenarios.Worlds() {
		if len(w.Caps.Roles) == 0 || len(w.Caps.Faults) == 0 || w.New == nil || w.Doc.IsZero() {
			t.Errorf("world %s: incomplete factory %+v", w.Name, w.Caps)
		}
	}
}

// TestWorldRefusesWhatItCannotDo: a lab that asks a world for a role, a
// fault kind or a link shaping it lacks is refused before anything
// starts, with the capability named; what it can do passes.
func TestWorldRefusesWhatItCannotDo(t *testing.T) {
	cases := []struct {
		name, lab, mode string
		sets            []string
		want            string // "" for no refusal
	}{
		{"lb lab in netns", "backend-crash", "netns", nil, ""},
		{"lb latency past the tolerance", "backend-crash", "netns", []string{"network={client_latency: 80ms}"}, "more than its timing tolerance of 50ms"},
		{"partition in netns", "vrrp-failover", "netns", []string{"faults[0].kind=partition", "faults[0].target=lan", "faults[0].groups=[[r1],[r2]]", "expect[0].failover.min=1s", "expect[0].failover.max=5s"}, "faults of kind partition"},
		{"loss in netns", "vrrp-failover", "netns", []string{"topology.segments[0].loss=0.01"}, "loss 0.01"},
		{"latency past the tolerance", "vrrp-failover", "netns", []string{"topology.segments[0].latency=80ms"}, "more than its timing tolerance of 50ms"},
		{"latency within the tolerance", "vrrp-failover", "netns", nil, ""},
		{"lb lab in docker", "backend-crash", "docker", nil, ""},
		{"services in docker", "container-labels", "docker", nil, ""},
		{"services in netns", "container-labels", "netns", nil, "run the lab's services"},
		{"partition in docker", "vrrp-failover", "docker", []string{"faults[0].kind=partition", "faults[0].target=lan", "faults[0].groups=[[r1],[r2]]", "expect[0].failover.min=1s", "expect[0].failover.max=5s"}, "faults of kind partition"},
		{"loss in docker", "vrrp-failover", "docker", []string{"topology.segments[0].loss=0.01"}, "loss 0.01"},
		{"everything in sim", "backend-crash", "sim", nil, ""},
		{"loss in sim", "vrrp-failover", "sim", []string{"topology.segments[0].loss=0.01"}, ""},
		{"no such world", "vrrp-failover", "moon", nil, `no world "moon"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lab, err := scenarios.Load(c.lab, c.sets)
			if err != nil {
				t.Fatal(err)
			}
			err = scenarios.CheckWorld(c.mode, lab)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var in *labfile.InputError
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &in) {
				t.Fatalf("got %v, want an input error containing %q", err, c.want)
			}
			// Run refuses it the same way, before building anything.
			if _, err := scenarios.Run(context.Background(), c.mode, lab, 1, scenarios.Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Run: got %v, want %q", err, c.want)
			}
		})
	}
}

// TestUnshapedWarns: a world without link shaping says which latencies it
// left out, in the results; the simulator says nothing.
func TestUnshapedWarns(t *testing.T) {
	lab, err := scenarios.Load("vrrp-failover", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range scenarios.Worlds() {
		got := w.Caps.Unshaped(w.Name, lab)
		switch {
		case w.Caps.LinkShaping && len(got) != 0:
			t.Errorf("%s shapes links but warns %v", w.Name, got)
		case !w.Caps.LinkShaping && (len(got) != 1 || !strings.Contains(got[0].String(), "segment lan's up to 100µs")):
			t.Errorf("%s: warnings %v, want one for segment lan's 100µs", w.Name, got)
		}
	}
}
