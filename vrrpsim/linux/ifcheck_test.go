package vrrplinux

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/lblab/lblab/vrrpsim/keepalived"
)

// An interface the host does not have is named with the line that names
// it, and the host's interfaces are listed: no "route ip+net" text.
func TestCheckLinksNamesTheLine(t *testing.T) {
	conf := `vrrp_instance VI_1 {
    state MASTER
    interface eth9
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100/24
    }
    track_interface {
        eth0
        wan7 weight -20
    }
}
vrrp_instance VI_2 {
    interface lo
    virtual_router_id 52
    virtual_ipaddress {
        10.0.0.101/24
    }
}
`
	kc, _, err := keepalived.Parse("k.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	links := []Link{{Name: "lo", Loopback: true, Multicast: true}, {Name: "eth0", Multicast: true}}
	got := CheckLinks("k.conf", kc, "", links).Error()
	want := strings.Join([]string{
		"k.conf:3: interface eth9 (vrrp_instance VI_1) does not exist on this host (this host has eth0, lo)",
		"k.conf:10: track_interface wan7 (vrrp_instance VI_1) does not exist on this host (this host has eth0, lo)",
		"k.conf:14: interface lo (vrrp_instance VI_2) is a loopback interface: VRRP cannot run on it",
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if errs := CheckLinks("k.conf", kc, "VI_2", links); len(errs) != 1 {
		t.Errorf("--instance VI_2: %v", errs)
	}
	links = append(links, Link{Name: "eth9", Multicast: true}, Link{Name: "wan7"})
	if errs := CheckLinks("k.conf", kc, "VI_1", links); len(errs) != 0 {
		t.Errorf("every link present: %v", errs)
	}
	// Without multicast on its interface an instance needs unicast peers,
	// as keepalived says ("does not support multicast, specify unicast
	// peers - disabling").
	links[2].Multicast = false
	if got, want := CheckLinks("k.conf", kc, "VI_1", links).Error(),
		"k.conf:3: interface eth9 (vrrp_instance VI_1) does not support multicast: give unicast_peer addresses"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	kc.Instances[0].UnicastPeers = []netip.Addr{netip.MustParseAddr("10.0.0.2")}
	if errs := CheckLinks("k.conf", kc, "VI_1", links); len(errs) != 0 {
		t.Errorf("unicast peers on a link without multicast: %v", errs)
	}
}
