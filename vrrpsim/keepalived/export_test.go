package keepalived

import (
	"testing"
)

func TestExportRoundTrip(t *testing.T) {
	c, _, err := ParseFile("testdata/keepalived.conf")
	if err != nil {
		t.Fatal(err)
	}
	extra := []string{
		// Every global this package models, and words that need quotes.
		`global_defs {
    vrrp_version 3
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 1
    vrrp_check_unicast_src
    script_user root root
    enable_script_security
    vrrp_notify_fifo /run/lblab/fifo
    vrrp_notify_priority_changes
}
vrrp_script chk {
    script "/bin/test ! -e /tmp/x y"
    interval 0.25
    timeout 0.1
    weight 20
    init_fail
}
vrrp_instance "VI 1" {
    interface eth0
    virtual_router_id 7
    advert_int 0.05
    preempt_delay 1.5
    virtual_ipaddress {
        10.0.0.1/24
    }
    track_script {
        chk
    }
    track_interface {
        eth1 weight -60
    }
    dont_track_primary
    unicast_peer {
        10.0.0.2
        10.0.0.3
    }
    check_unicast_src
    notify_stop "/bin/logger stop # not a comment"
    notify_fault /bin/true
}
`}
	cs := []*Config{c}
	for i, src := range extra {
		x, _, err := Parse("extra", []byte(src))
		if err != nil {
			t.Fatalf("extra %d: %v", i, err)
		}
		cs = append(cs, x)
	}
	for i, c := range cs {
		text, diff, err := RoundTrip(c)
		if err != nil {
			t.Fatalf("config %d: %v\n%s", i, err, text)
		}
		if diff != "" {
			t.Errorf("config %d: the export reads back differently:\n%s\n%s", i, diff, text)
		}
	}
}

func TestExportRefusesWhatKeepalivedCannotRead(t *testing.T) {
	for _, in := range []*Instance{
		{Name: "VI_1", Interface: "eth0", VRID: 1, Notify: map[string]string{"notify": `/bin/echo "x"`}},
		{Name: "VI\n1", Interface: "eth0", VRID: 1},
		{Name: "VI_1", Interface: "", VRID: 1},
	} {
		c := &Config{Version: 2, GARPMasterRepeat: 5, Instances: []*Instance{in}}
		if b, err := c.Export(); err == nil {
			t.Errorf("%+v: exported\n%s", in, b)
		}
	}
}
