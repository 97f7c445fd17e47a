package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The real roles run the cores over sockets and clocks, never the
// simulator: the packages that implement lblab proxy, backend, load, vrrp
// and probe, and everything they import, hold no simulator kernel (lblab/sim)
// and no simulator driver (proxy/simproxy, loadgen/simload,
// vrrpsim/simdriver). The load generator and the prober link no plotting either
// (lblab/reports and gonum): it measures, the command writes results.json.
// The lab format (scenarios/labfile: what lblab validate, lblab proxy
// --lb, lblab load --spec and lblab backend --spec read) links no driver
// of any world, real or simulated, no runner (scenarios) and no plotting.
// The one package under sim/ the lab format may link is sim/cloud: the
// cloud network's pure model (its validation and Trace), which every
// world and lblab trace share; it links no kernel and no driver (checked
// below with the drivers' list).
// A forbidden path is a package; one ending in "/" is every package under
// it.
func TestRolesLinkNoSimulator(t *testing.T) {
	const mod = "github.com/lblab/lblab/"
	simulator := []string{mod + "sim", mod + "sim/", mod + "proxy/simproxy", mod + "loadgen/simload", mod + "vrrpsim/simdriver"}
	plots := []string{mod + "reports", "gonum.org/"}
	drivers := []string{mod + "proxy/server", mod + "loadgen", mod + "loadgen/backend", mod + "vrrpsim/linux", mod + "testbed/netns"}
	format := append(append(append([]string{mod + "scenarios"}, simulator...), drivers...), plots...)
	for _, role := range []struct {
		name      string
		pkgs      []string
		forbidden []string
	}{
		{"lblab proxy", []string{"proxy/server", "proxy/nginxconf"}, simulator},
		{"lblab backend", []string{"loadgen/backend"}, simulator},
		{"lblab load", []string{"loadgen"}, append(simulator, plots...)},
		{"lblab vrrp", []string{"vrrpsim/linux", "vrrpsim/keepalived"}, simulator},
		{"lblab probe", []string{"loadgen/prober", "loadgen/probe"}, append(simulator, plots...)},
		{"the lab format", []string{"scenarios/labfile"}, format},
		{"the cloud network's model", []string{"sim/cloud"}, format},
	} {
		args := []string{"list", "-deps"}
		for _, p := range role.pkgs {
			args = append(args, mod+p)
		}
		out, err := exec.Command("go", args...).Output()
		if err != nil {
			t.Fatalf("go %s: %v", strings.Join(args, " "), err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == mod+"sim/cloud" && (role.name == "the lab format" || role.name == "the cloud network's model") {
				continue // the model itself: see the doc comment
			}
			for _, f := range role.forbidden {
				if dep == f || strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f) {
					t.Errorf("%s (%s) links %s", role.name, strings.Join(role.pkgs, ", "), dep)
				}
			}
		}
	}
}
