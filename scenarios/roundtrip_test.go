package scenarios

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/vrrpsim"
	"github.com/lblab/lblab/vrrpsim/keepalived"
)

// roundTripConf uses every keepalived keyword a lab keeps.
const roundTripConf = `global_defs {
    vrrp_garp_master_delay 2
    vrrp_garp_master_repeat 3
    vrrp_check_unicast_src
}
vrrp_script chk_nginx {
    script "/usr/bin/pgrep nginx"
    interval 2
    timeout 1.5
    weight -30
    fall 2
    rise 3
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 120
    advert_int 2
    nopreempt
    preempt_delay 4
    authentication {
        auth_type PASS
        auth_pass secret
    }
    unicast_src_ip 10.77.0.21
    unicast_peer {
        10.77.0.12
        10.77.0.13
    }
    notify_master "/etc/keepalived/master.sh"
    notify "/etc/keepalived/notify.sh"
    virtual_ipaddress {
        10.77.0.100/24
    }
    track_script {
        chk_nginx
    }
    track_interface {
        eth1 weight -20
    }
    dont_track_primary
}
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 52
    version 3
    advert_int 0.5
    virtual_ipaddress {
        10.77.0.200/24
    }
}
`

// A keepalived.conf, the lab it becomes, and the keepalived.conf a real
// world writes from that lab give every world the same state machine and
// executor configuration: nothing is lost on the way (unicast_*, notify*,
// the GARP settings and the script timeout were).
func TestKeepalivedConfRoundTrip(t *testing.T) {
	src := "name: rt\ntitle: round trip\ntopology:\n  segments: [{name: lan}, {name: wan}]\n  hosts:\n" +
		"    - {name: r1, interfaces: [{segment: lan, address: 10.77.0.11/24}, {segment: wan, address: 10.78.0.11/24}]}\n" +
		"vrrp:\n  keepalived:\n    r1: |\n      " + strings.ReplaceAll(strings.TrimSpace(roundTripConf), "\n", "\n      ") + "\n"
	lab, err := labfile.Parse("rt.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	direct, _, err := keepalived.Parse("direct", []byte(roundTripConf))
	if err != nil {
		t.Fatal(err)
	}
	exported := keepalivedConf(lab, "r1", func(host, script string) string { return "/flags/" + host + "." + script })
	again, _, err := keepalived.Parse("exported", []byte(exported))
	if err != nil {
		t.Fatalf("%v\n%s", err, exported)
	}
	primary := netip.MustParseAddr("10.77.0.11")
	for i := range direct.Instances {
		want := filled(t, direct.VRRPConfig(direct.Instances[i], primary))
		sim := filled(t, labfile.InstanceConfig(lab, &lab.VRRP.Instances[i], &lab.Topology.Hosts[0]))
		real := filled(t, again.VRRPConfig(again.Instances[i], primary))
		if !reflect.DeepEqual(sim, want) {
			t.Errorf("%s in the simulator:\n%+v\nkeepalived.conf says:\n%+v", want.Name, sim, want)
		}
		if !reflect.DeepEqual(real, want) {
			t.Errorf("%s in a real world:\n%+v\nkeepalived.conf says:\n%+v\nexported:\n%s", want.Name, real, want, exported)
		}
	}
	if s, d := again.Scripts["chk_nginx"], direct.Scripts["chk_nginx"]; s.Interval != d.Interval || s.Timeout != d.Timeout {
		t.Errorf("exported chk_nginx interval %v timeout %v, want %v and %v", s.Interval, s.Timeout, d.Interval, d.Timeout)
	}
}

// filled is c with the state machine's defaults filled in.
func filled(t *testing.T, c vrrpsim.Config) vrrpsim.Config {
	t.Helper()
	r, err := vrrpsim.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r.Config()
}
