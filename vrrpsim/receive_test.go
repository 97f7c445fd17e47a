package vrrpsim

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestReceiveDestinationAndPeers is keepalived 2.2.7's vrrp_check_packet
// on the destination and the source: without unicast_peer an advert must
// come to a multicast address (one sent to this router's own address is
// dropped, addr_list_err); with unicast_peer it must come unicast (a
// multicast one is dropped the same way), its TTL is not checked, and a
// source outside the peers is dropped only with check_unicast_src.
func TestReceiveDestinationAndPeers(t *testing.T) {
	other := netip.MustParseAddr("10.77.0.99")
	otherGroup := netip.MustParseAddr("224.0.0.19")
	peersA := []netip.Addr{ipA}
	cases := []struct {
		name      string
		peers     []netip.Addr
		checkSrc  bool
		version   int
		src, dst  netip.Addr
		ttl       uint8
		wantCause Stat // NumStats: accepted
	}{
		{"multicast: group", nil, false, 2, ipA, GroupAddr, 255, NumStats},
		{"multicast: another group", nil, false, 2, ipA, otherGroup, 255, NumStats},
		{"multicast: own unicast address", nil, false, 2, ipA, ipB, 255, StatAddrListErr},
		{"multicast: own unicast address, v3", nil, false, 3, ipA, ipB, 255, StatAddrListErr},
		{"multicast: another unicast address", nil, false, 2, ipA, other, 255, StatAddrListErr},
		{"multicast: TTL 64", nil, false, 2, ipA, GroupAddr, 64, StatIPTTLErr},
		{"unicast: from the peer", peersA, false, 2, ipA, ipB, 255, NumStats},
		{"unicast: from the peer, v3", peersA, false, 3, ipA, ipB, 255, NumStats},
		{"unicast: TTL 64 is not checked", peersA, false, 2, ipA, ipB, 64, NumStats},
		{"unicast: multicast advert", peersA, false, 2, ipA, GroupAddr, 255, StatAddrListErr},
		{"unicast: multicast advert, v3", peersA, false, 3, ipA, GroupAddr, 255, StatAddrListErr},
		{"unicast: from a non-peer", peersA, false, 2, ipC, ipB, 255, NumStats},
		{"unicast: from a non-peer, check_unicast_src", peersA, true, 2, ipC, ipB, 255, StatUnicastSrcErr},
		{"unicast: from the peer, check_unicast_src", peersA, true, 2, ipA, ipB, 255, NumStats},
		{"unicast: from self", peersA, false, 2, ipB, ipB, 255, StatOwnAdvert},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			local, peer := cfg(100, ipB), cfg(150, c.src)
			if c.version == 3 {
				local.Version, local.AuthType, local.AuthPass = 3, AuthNone, ""
				peer.Version, peer.AuthType, peer.AuthPass = 3, AuthNone, ""
			}
			local.UnicastPeers, local.CheckUnicastSrc = c.peers, c.checkSrc
			r := mustRouter(t, local)
			r.Startup(0)
			in := advertTo(t, peer, 150, c.dst)
			in.TTL = c.ttl
			acts := r.Receive(time.Second, in)
			st := r.Stats()
			if c.wantCause == NumStats {
				if len(acts) != 0 || st.Dropped() != 0 || st[StatAdvertRcvd] != 1 {
					t.Fatalf("want accepted, got %+v, stats %v", acts, st.Map(true))
				}
				if d := deadline(t, r); d != time.Second+r.MasterDownInterval() {
					t.Fatalf("accepted advert did not restart the down timer: %v", d)
				}
				return
			}
			if len(acts) != 1 || acts[0].Kind != ActDrop || acts[0].Cause != c.wantCause {
				t.Fatalf("want a drop for %v, got %+v", c.wantCause, acts)
			}
			if st[c.wantCause] != 1 || st.Dropped() != 1 {
				t.Fatalf("counters %v, want %v = 1 and nothing else dropped", st.Map(true), c.wantCause)
			}
		})
	}
}

// advertTo is advert sent to dst (the v3 checksum covers it).
func advertTo(t *testing.T, c Config, prio uint8, dst netip.Addr) Received {
	t.Helper()
	in := advert(t, c, prio)
	p, err := Parse(in.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if in.Payload, err = p.Marshal(in.Src, dst); err != nil {
		t.Fatal(err)
	}
	in.Dst = dst
	return in
}

// TestDropCausesAreKeepalivedsCounters sends one packet failing each check
// and asserts the counter it lands in, by keepalived's name, and that
// every drop is counted exactly once.
func TestDropCausesAreKeepalivedsCounters(t *testing.T) {
	peer := cfg(150, ipA)
	cases := []struct {
		mutate func(*Received)
		want   string
	}{
		{func(r *Received) { r.Payload = r.Payload[:6] }, "packet_len_err"},
		{func(r *Received) { r.Payload = append(r.Payload, 0) }, "packet_len_err"},
		{func(r *Received) { r.TTL = 1 }, "ip_ttl_err"},
		{func(r *Received) { r.Payload[0] = 0x41 }, "vers_err"},
		{func(r *Received) { r.Payload[0] = 0x31 }, "packet_len_err"}, // a v3 length is the packet's own version's
		{func(r *Received) { r.Payload[0] = 0x31; r.Payload = r.Payload[:12] }, "vers_err"},
		{func(r *Received) { r.Payload[1] = 52 }, "vrid_err"},
		{func(r *Received) { r.Payload[4] = 7 }, "invalid_authtype"},
		{func(r *Received) { r.Payload[4] = AuthNone }, "authtype_mismatch"},
		{func(r *Received) { r.Payload[4] = AuthAH }, "authtype_mismatch"},
		{func(r *Received) { r.Payload[len(r.Payload)-1] ^= 1 }, "auth_failure"},
		{func(r *Received) { r.Payload[5] = 2 }, "advert_interval_err"},
		{func(r *Received) { r.Payload[0] = 0x22 }, "invalid_type_rcvd"},
		{func(r *Received) { r.Payload[7] ^= 0xff }, "chk_err"},
		{func(r *Received) { r.Dst = ipB }, "addr_list_err"},
		{func(r *Received) { r.Src = ipB }, "own_advert"},
	}
	r := mustRouter(t, cfg(100, ipB))
	r.Startup(0)
	for i, c := range cases {
		in := advert(t, peer, 150)
		c.mutate(&in)
		acts := r.Receive(time.Duration(i+1)*time.Millisecond, in)
		if len(acts) != 1 || acts[0].Kind != ActDrop || acts[0].Cause.String() != c.want {
			t.Errorf("case %d: want a drop counted as %s, got %+v", i, c.want, acts)
		}
	}
	// The address list: one address more (count) and another address (list).
	two := cfg(150, ipA)
	two.VIPs = append(two.VIPs, netip.MustParsePrefix("10.77.0.101/24"))
	other := cfg(150, ipA)
	other.VIPs = []netip.Prefix{netip.MustParsePrefix("10.77.0.101/24")}
	for _, c := range []Config{two, other} {
		if acts := r.Receive(time.Second, advert(t, c, 150)); len(acts) != 1 || acts[0].Cause != StatAddrListErr {
			t.Errorf("VIPs %v: want addr_list_err, got %+v", c.VIPs, acts)
		}
	}
	r.Receive(2*time.Second, advert(t, peer, 0))
	st := r.Stats()
	want := map[string]uint64{"packet_len_err": 3, "ip_ttl_err": 1, "vers_err": 2, "vrid_err": 1,
		"invalid_authtype": 1, "authtype_mismatch": 2, "auth_failure": 1, "advert_interval_err": 1,
		"invalid_type_rcvd": 1, "chk_err": 1, "addr_list_err": 3, "own_advert": 1,
		// the other address passes the checks before the list, so it is an advert received
		"advert_rcvd": 2, "pri_zero_rcvd": 1}
	got := st.Map(true)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s = %d, want 0", k, v)
		}
	}
	if st.Dropped() != uint64(len(cases)+2) {
		t.Errorf("Dropped() = %d, want %d", st.Dropped(), len(cases)+2)
	}
}

// TestStatsCountTheLifeOfAMaster follows keepalived's activity counters
// through a takeover, a higher-priority advert and a shutdown.
func TestStatsCountTheLifeOfAMaster(t *testing.T) {
	r := mustRouter(t, cfg(100, ipB))
	r.Startup(0)
	r.Tick(deadline(t, r)) // master: one advert
	at := deadline(t, r)
	r.Tick(at) // a second advert
	r.Receive(at, advert(t, cfg(150, ipA), 150))
	if r.State() != StateBackup {
		t.Fatalf("state %v after a higher priority advert", r.State())
	}
	r.Tick(deadline(t, r)) // master again
	r.Shutdown(deadline(t, r))
	got := r.Stats().Map(true)
	want := map[string]uint64{"advert_sent": 4, "pri_zero_sent": 1, "become_master": 2, "release_master": 1, "advert_rcvd": 1}
	if len(got) != len(want) {
		t.Errorf("counters %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	var names []string
	for s := Stat(0); s < NumStats; s++ {
		names = append(names, s.String())
	}
	if !strings.Contains(strings.Join(names, " "), "advert_rcvd advert_sent become_master release_master pri_zero_rcvd pri_zero_sent packet_len_err advert_interval_err ip_ttl_err invalid_type_rcvd addr_list_err invalid_authtype authtype_mismatch auth_failure") {
		t.Errorf("keepalived's JSON counters are not named and ordered as vrrp_json.c writes them: %v", names)
	}
}
