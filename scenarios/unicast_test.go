package scenarios_test

import (
	"strings"
	"testing"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// unicastLab is keepalivedLab's pair talking unicast, without its fault,
// expecting one master: r1 sends its adverts to peer1, r2 to peer2.
func unicastLab(peer1, peer2 string) string {
	peers := func(a string) string { return "\n          unicast_peer {\n              " + a + "\n          }\n" }
	s := strings.Replace(keepalivedLab, "priority 150\n", "priority 150"+peers(peer1)+"          notify_master /etc/keepalived/master.sh\n", 1)
	s = strings.Replace(s, "priority 100\n", "priority 100"+peers(peer2), 1)
	return s[:strings.Index(s, "faults:")] + "expect:\n  - name: one master\n    single_master: {vrid: 51}\n"
}

// masters returns the routers that became MASTER, in order.
func masters(events []history.Event) []string {
	var out []string
	for _, e := range events {
		if e.Kind == history.KindVRRP && e.To == "MASTER" {
			out = append(out, e.Router)
		}
	}
	return out
}

// A keepalived.conf whose unicast_peer points at addresses nobody holds
// sends its adverts nowhere: keepalived's routers each hear nothing and
// both become MASTER (split brain), and so must the lab's. Before the
// conversion kept unicast_peer, both worlds ran the pair multicast and
// the lab passed.
func TestUnicastLabWithPeersThatDoNotExist(t *testing.T) {
	lab, err := labfile.Parse("u.yaml", []byte(unicastLab("10.77.0.91", "10.77.0.92")), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := scenarios.RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := masters(out.Events); strings.Join(got, " ") != "r1 r2" {
		t.Errorf("routers that became MASTER: %v, want r1 then r2 (split brain)", got)
	}
	if out.Results.Passed {
		t.Error("single_master passed: the adverts reached a peer that does not exist")
	}

	// The same pair with each other's addresses as peers: one master.
	lab, err = labfile.Parse("u.yaml", []byte(unicastLab("10.77.0.12", "10.77.0.11")), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err = scenarios.RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := masters(out.Events); strings.Join(got, " ") != "r1" || !out.Results.Passed {
		t.Errorf("unicast pair: MASTER %v, passed %v; want r1 only", got, out.Results.Passed)
	}
	// Its notify_master is recorded where keepalived would run it.
	var notes []string
	for _, e := range out.Events {
		if e.Kind == history.KindNotify {
			notes = append(notes, e.Router+" "+e.To+" "+e.Reason)
		}
	}
	if want := "r1 MASTER /etc/keepalived/master.sh"; strings.Join(notes, "; ") != want {
		t.Errorf("notify events %q, want %q", notes, want)
	}
}

// A unicast_peer that is not an IPv4 address is refused with its field.
func TestUnicastPeerMustBeIPv4(t *testing.T) {
	src := strings.Replace(unicastLab("10.77.0.12", "10.77.0.11"), "vrrp:\n  keepalived:", "vrrp:\n  vrrp_instance:\n    - {host: r1, virtual_router_id: 7, virtual_ipaddress: [10.77.0.7], unicast_peer: [fe80::1]}\n  keepalived:", 1)
	_, err := labfile.Parse("u.yaml", []byte(src), nil)
	if err == nil || !strings.Contains(err.Error(), "vrrp.vrrp_instance[0].unicast_peer[0]") {
		t.Fatalf("error %v, want one naming vrrp.vrrp_instance[0].unicast_peer[0]", err)
	}
}
