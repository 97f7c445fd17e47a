package keepalived

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/vrrpsim"
)

func TestParseRealisticFile(t *testing.T) {
	c, warns, err := ParseFile("testdata/keepalived.conf")
	if err != nil {
		t.Fatal(err)
	}
	if c.RouterID != "LVS_DEVEL" || c.Version != 2 || c.GARPMasterDelay != 2*time.Second || c.GARPMasterRepeat != 5 {
		t.Errorf("global_defs: %+v", c)
	}
	s := c.Scripts["chk_nginx"]
	if s == nil || s.Command != "/usr/bin/ps -C nginx --no-headers" || s.Interval != 2*time.Second ||
		s.Timeout != 2*time.Second || s.Weight != -60 || s.Fall != 2 || s.Rise != 2 {
		t.Fatalf("vrrp_script: %+v", s)
	}
	if len(c.Instances) != 2 {
		t.Fatalf("%d instances", len(c.Instances))
	}
	v1 := c.Instances[0]
	if v1.Name != "VI_1" || v1.State != "MASTER" || v1.Interface != "eth0" || v1.VRID != 51 || v1.Priority != 150 ||
		v1.AdvertInt != time.Second || v1.AuthType != "PASS" || v1.AuthPass != "1111" || len(v1.VIPs) != 2 ||
		v1.VIPs[0] != netip.MustParsePrefix("10.77.0.100/24") || v1.VIPs[1] != netip.MustParsePrefix("10.77.0.101/32") ||
		len(v1.TrackScripts) != 1 || *v1.TrackScripts[0].Weight != -70 || v1.TrackInterfaces[0].Name != "eth1" || v1.TrackInterfaces[0].Weight != 0 ||
		v1.UnicastSrc != netip.MustParseAddr("10.77.0.11") || v1.UnicastPeers[0] != netip.MustParseAddr("10.77.0.12") ||
		v1.Notify["notify_master"] != "/etc/keepalived/notify.sh master" || v1.Notify["notify"] != "/etc/keepalived/notify.sh" {
		t.Errorf("VI_1: %+v", v1)
	}
	v2 := c.Instances[1]
	if v2.Name != "VI_2" || v2.AdvertInt != 500*time.Millisecond || v2.Version != 3 || !v2.NoPreempt || v2.PreemptDelay != 5*time.Second {
		t.Errorf("VI_2 (brace on its own line): %+v", v2)
	}
	var wl []string
	for _, w := range warns {
		wl = append(wl, w.String())
	}
	want := []string{
		"testdata/keepalived.conf:6: ignored: global_defs notification_email",
		"testdata/keepalived.conf:45: ignored: vrrp_instance smtp_alert",
	}
	if strings.Join(wl, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(wl, "\n"), strings.Join(want, "\n"))
	}
	// The state machine's configuration, with keepalived's defaults.
	vc := c.VRRPConfig(v1, netip.MustParseAddr("10.77.0.99"))
	if vc.Priority != 150 || vc.PrimaryIP != v1.UnicastSrc || vc.AuthType != vrrpsim.AuthPass ||
		len(vc.Tracks) != 1 || vc.Tracks[0].Weight != -70 || vc.Tracks[0].Fall != 2 || vc.InitialState != vrrpsim.StateMaster {
		t.Errorf("VRRPConfig(VI_1): %+v", vc)
	}
	if _, err := vrrpsim.New(vc); err != nil {
		t.Errorf("VI_1 does not make a state machine: %v", err)
	}
	vc2 := c.VRRPConfig(v2, netip.MustParseAddr("10.77.0.11"))
	if vc2.Version != 3 || vc2.PrimaryIP != netip.MustParseAddr("10.77.0.11") {
		t.Errorf("VRRPConfig(VI_2): %+v", vc2)
	}
	if r, err := vrrpsim.New(vc2); err != nil || r.Config().Priority != 100 {
		t.Errorf("VI_2: %v, priority %d, want 100", err, r.Config().Priority)
	}
}

func TestMasterWithoutPriorityIsOwner(t *testing.T) {
	c, _, err := Parse("k.conf", []byte("vrrp_instance X {\n state MASTER\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := vrrpsim.New(c.VRRPConfig(c.Instances[0], netip.MustParseAddr("10.0.0.2")))
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Config().Priority; p != 255 {
		t.Fatalf("keepalived gives state MASTER without priority 255, got %d", p)
	}
}

func TestTrackInterfaceWeightsAndDontTrackPrimary(t *testing.T) {
	src := "vrrp_instance X {\n interface eth0\n dont_track_primary\n virtual_router_id 9\n virtual_ipaddress {\n 10.0.0.1\n }\n" +
		" track_interface {\n eth1 weight -30\n eth2\n }\n}\n"
	c, warns, err := Parse("k.conf", []byte(src))
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v, warnings %v", err, warns)
	}
	vc := c.VRRPConfig(c.Instances[0], netip.MustParseAddr("10.0.0.2"))
	want := []vrrpsim.TrackInterface{{Name: "eth1", Weight: -30}, {Name: "eth2"}}
	if vc.Interface != "eth0" || !vc.DontTrackPrimary || !slices.Equal(vc.TrackInterfaces, want) {
		t.Fatalf("interface %q, dont_track_primary %v, track_interface %+v", vc.Interface, vc.DontTrackPrimary, vc.TrackInterfaces)
	}
	if got := vc.TrackedLinks(); !slices.Equal(got, want) {
		t.Fatalf("tracked links %+v, want %+v (eth0 not tracked)", got, want)
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	base, err := os.ReadFile("testdata/keepalived.conf")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		old, new string
		line     int
		msg      string
	}{
		{"priority 150", "priority 300", 23, "priority: want a whole number 1..255"},
		{"priority 150", "priority high", 23, `got "high"`},
		{"advert_int 1\n", "advert_int soon\n", 24, "advert_int: want seconds"},
		{"state MASTER", "state LEADER", 20, `state: want MASTER or BACKUP, got "LEADER"`},
		{"virtual_router_id 51", "virtual_router_id 0", 22, "virtual_router_id: want a whole number 1..255"},
		{"auth_type PASS", "auth_type AH", 26, "auth_type AH is not supported"},
		{"10.77.0.101", "10.77.0.999", 31, "virtual_ipaddress: want an IPv4 address"},
		{"chk_nginx weight -70", "chk_ngnix", 34, "no vrrp_script chk_ngnix"},
		{"weight -60", "weight -300", 14, "weight: want a whole number -253..253"},
		{"unicast_src_ip 10.77.0.11", "unicast_src_ip nowhere", 39, "unicast_src_ip: want an IPv4 address"},
		{"        eth1\n", "        eth1 weight -254\n", 37, "track_interface eth1: weight must be -253..253"},
		{"        eth1\n", "        eth1 heavy\n", 37, "track_interface: want IFACE [weight N]"},
		{"    interface eth0\n    virtual_router_id 52", "    virtual_router_id 52", 48, "VI_2 has no interface"},
		{`"/etc/keepalived/notify.sh"`, `"/etc/keepalived/notify.sh`, 44, "unterminated quoted string"},
	}
	for _, c := range cases {
		src := strings.Replace(string(base), c.old, c.new, 1)
		if src == string(base) {
			t.Fatalf("%q not found", c.old)
		}
		_, _, err := Parse("k.conf", []byte(src))
		es, ok := err.(Errors)
		if !ok || len(es) == 0 {
			t.Errorf("%s → %s: no error (%v)", c.old, c.new, err)
			continue
		}
		if es[0].Line != c.line || !strings.Contains(es[0].Msg, c.msg) || !strings.HasPrefix(es[0].Error(), "k.conf:") {
			t.Errorf("%s → %s: got %v, want line %d containing %q", c.old, c.new, es, c.line, c.msg)
		}
	}
	for _, broken := range []string{"vrrp_instance X {\n", "}\n", "{\n", ""} {
		if _, _, err := Parse("b.conf", []byte(broken)); err == nil {
			t.Errorf("%q accepted", broken)
		}
	}
}

func FuzzParse(f *testing.F) {
	base, _ := os.ReadFile("testdata/keepalived.conf")
	f.Add(base)
	f.Add([]byte("vrrp_instance X {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n"))
	f.Add([]byte("global_defs { vrrp_version 3 }\nvrrp_script s { script \"x\" }\n"))
	f.Add([]byte("{ } } { \" ! # \n\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, _, err := Parse("f.conf", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.conf") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, in := range c.Instances {
			vc := c.VRRPConfig(in, netip.MustParseAddr("10.0.0.2"))
			_, _ = vrrpsim.New(vc) // may refuse (e.g. v2 with 0.5 s), must not panic
		}
		// What Parse takes, Export writes back (or refuses, an empty
		// word) as the same configuration.
		if text, diff, err := RoundTrip(c); err == nil && diff != "" {
			t.Fatalf("the export reads back differently:\n%s\n%s", diff, text)
		} else if err != nil && !strings.Contains(err.Error(), "empty") {
			t.Fatalf("export: %v\n%s", err, text)
		}
	})
}

// TestUnicastPeersReachTheStateMachine: unicast_peer and check_unicast_src
// (or global_defs vrrp_check_unicast_src) are the state machine's receive
// checks, not only the driver's send list.
func TestUnicastPeersReachTheStateMachine(t *testing.T) {
	const inst = "vrrp_instance X {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n 10.0.0.1\n }\n%s}\n"
	peer := netip.MustParseAddr("10.0.0.3")
	cases := []struct {
		global, body string
		peers        int
		check        bool
	}{
		{"", "", 0, false},
		{"", "unicast_peer {\n 10.0.0.3\n }\n", 1, false},
		{"", "unicast_peer {\n 10.0.0.3\n }\n check_unicast_src\n", 1, true},
		{"global_defs {\n vrrp_check_unicast_src\n}\n", "unicast_peer {\n 10.0.0.3\n }\n", 1, true},
		{"global_defs {\n vrrp_check_unicast_src\n}\n", "", 0, false}, // multicast: nothing to check against
	}
	for i, c := range cases {
		src := c.global + strings.Replace(inst, "%s", c.body, 1)
		kc, warns, err := Parse("k.conf", []byte(src))
		if err != nil || len(warns) != 0 {
			t.Fatalf("case %d: %v, warnings %v", i, err, warns)
		}
		vc := kc.VRRPConfig(kc.Instances[0], netip.MustParseAddr("10.0.0.2"))
		if len(vc.UnicastPeers) != c.peers || (c.peers > 0 && vc.UnicastPeers[0] != peer) || vc.CheckUnicastSrc != c.check {
			t.Errorf("case %d: peers %v, check_unicast_src %v; want %d peers, %v", i, vc.UnicastPeers, vc.CheckUnicastSrc, c.peers, c.check)
		}
	}
}

// TestUnicastPeerOptionsAreWarned: keepalived's per-peer options (min_ttl,
// max_ttl) are not applied, and the warning says so with the line.
func TestUnicastPeerOptionsAreWarned(t *testing.T) {
	src := "vrrp_instance X {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n 10.0.0.1\n }\n unicast_peer {\n 10.0.0.3 min_ttl 250 max_ttl 255\n }\n}\n"
	kc, warns, err := Parse("k.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || warns[0].String() != "k.conf:8: ignored: unicast_peer 10.0.0.3 min_ttl 250 max_ttl 255" {
		t.Errorf("warnings %v", warns)
	}
	if got := kc.Instances[0].UnicastPeers; len(got) != 1 || got[0] != netip.MustParseAddr("10.0.0.3") {
		t.Errorf("peers %v", got)
	}
}
