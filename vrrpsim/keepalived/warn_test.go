package keepalived

import (
	"strings"
	"testing"
)

const syncGroupConf = `vrrp_sync_group VG_1 {
    group {
        VI_1
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100/24
    }
}
`

// A sync group is read as nothing at all: say so, with its line, and say
// what that means (the instances fail over each on its own).
func TestSyncGroupWarns(t *testing.T) {
	_, warns, err := Parse("k.conf", []byte(syncGroupConf))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || warns[0].Line != 1 ||
		warns[0].String() != "k.conf:1: vrrp_sync_group VG_1: sync groups are not modelled: each of its instances fails over on its own, with its weighted track_script and track_interface as written (keepalived ignores those weights in a sync group unless sync_group_tracking_weight)" {
		t.Fatalf("warnings: %v", warns)
	}
}

// A Unicode hyphen, a full-width digit or a full-width space in a value
// gets a hint naming the character and what to write instead.
func TestLookalikeHints(t *testing.T) {
	conf := `vrrp_script chk {
    script /bin/true
    weight ‐60
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id ５1
    priority　100
    virtual_ipaddress {
        10.0.0.100/24
    }
}
`
	_, warns, err := Parse("k.conf", []byte(conf))
	if err == nil {
		t.Fatal("accepted")
	}
	got := err.Error()
	for _, want := range []string{
		`k.conf:3: weight: want a whole number -253..253, got "‐60" ("‐" looks like a Unicode hyphen (U+2010); use '-')`,
		`k.conf:7: virtual_router_id: want a whole number 1..255, got "５1" ("５" looks like a full-width digit (U+FF15); use '5')`,
		// keepalived splits on ASCII blanks: "priority　100" is one word,
		// a keyword it does not know.
		`k.conf:8: Unknown keyword 'priority　100' (keepalived 2.2.7 does not know it here: keepalived -t fails, and keepalived ignores the line) ("\u3000" looks like a full-width space (U+3000); use an ASCII space)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors:\n%s\nwant a line:\n%s", got, want)
		}
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
}
