package vrrplinux

import (
	"os/exec"
	"strings"
	"testing"
)

// The real agent runs the state machine and its executor, not the
// simulator: neither it nor the core package links lblab/sim (the
// simulator driver lives in vrrpsim/simdriver).
func TestAgentLinksNoSimulator(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/lblab/lblab/vrrpsim/linux").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "github.com/lblab/lblab/sim" || strings.HasPrefix(p, "github.com/lblab/lblab/vrrpsim/simdriver") {
			t.Errorf("vrrpsim/linux links %s", p)
		}
	}
}
