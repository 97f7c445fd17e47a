package vrrpsim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func addrFromUint32(v uint32) netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

func uint32FromAddr(a netip.Addr) uint32 {
	a4 := a.As4()
	return binary.BigEndian.Uint32(a4[:])
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives Marshal and Parse again unchanged (except the checksum), with a
// valid checksum.
func FuzzParse(f *testing.F) {
	for _, name := range []string{vectorV2, vectorV3} {
		for _, ip := range loadVector(f, name) {
			f.Add(ip.Payload, uint32FromAddr(ip.Src), uint32FromAddr(ip.Dst))
		}
	}
	g := uint32FromAddr(groupIP)
	for _, b := range [][]byte{
		{},
		{0x21, 1, 100, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},           // v2, no addresses
		{0x31, 255, 255, 1, 0xff, 0xff, 0, 0, 10, 0, 0, 1},              // v3, reserved bits set
		{0x3f, 0, 0, 2, 0, 0, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8},       // v3, odd type, 2 addresses
		{0x21, 1, 100, 2, 2, 255, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9},         // v2, count too big
		{0x41, 1, 100, 0, 0, 1, 0, 0},                                   // version 4
		{0x31, 1, 100, 1, 0, 100, 0, 0, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0}, // v3 truncated IPv6
	} {
		f.Add(b, uint32(0x0a000001), g)
	}
	f.Fuzz(func(t *testing.T, b []byte, src32, dst32 uint32) {
		src, dst := addrFromUint32(src32), addrFromUint32(dst32)
		p, err := Parse(b)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a packet and error %v", err)
			}
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrLength) {
				t.Fatalf("Parse error %v wraps no sentinel", err)
			}
			return
		}
		fits := p.Version == 3 ||
			p.Interval%time.Second == 0 && p.Interval <= 255*time.Second
		out, err := p.Marshal(src, dst)
		if err != nil {
			if fits {
				t.Fatalf("Marshal(Parse(%x)) failed: %v", b, err)
			}
			return
		}
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal) = %v for %x", err, out)
		}
		p2 := *p
		p2.Checksum = q.Checksum
		if !reflect.DeepEqual(&p2, q) {
			t.Fatalf("round trip changed the packet:\n in  %+v\n out %+v", p, q)
		}
		want := ChecksumMessage
		if p.Version == 3 {
			want = ChecksumPseudoHeader
		}
		if form := VerifyChecksum(out, src, dst); form != want {
			t.Fatalf("VerifyChecksum(Marshal) = %v, want %v", form, want)
		}
		// The output is the input with a new checksum and, for v3, the
		// reserved bits cleared.
		in := bytes.Clone(b)
		in[6], in[7], out[6], out[7] = 0, 0, 0, 0
		if p.Version == 3 {
			in[4] &= 0x0f
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("Marshal(Parse(%x)) = %x beyond checksum and reserved bits", b, out)
		}
	})
}

// FuzzReceive feeds any packet to a backup and a master, multicast and
// unicast: Receive never panics, a dropped packet adds one to exactly one
// drop counter (the one its ActDrop names), and a packet it takes is one
// that passed the checks (advert_rcvd grew).
func FuzzReceive(f *testing.F) {
	for _, name := range []string{vectorV2, vectorV3} {
		for _, ip := range loadVector(f, name) {
			f.Add(ip.Payload, uint32FromAddr(ip.Src), uint32FromAddr(ip.Dst), ip.TTL, false)
			f.Add(ip.Payload, uint32FromAddr(ip.Src), uint32FromAddr(ipB), ip.TTL, true)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, src32, dst32 uint32, ttl uint8, unicast bool) {
		for _, version := range []int{2, 3} {
			for _, master := range []bool{false, true} {
				c := cfg(100, ipB)
				c.VIPs = []netip.Prefix{netip.MustParsePrefix("10.77.0.100/24")}
				if version == 3 {
					c.Version, c.AuthType, c.AuthPass = 3, AuthNone, ""
				}
				if unicast {
					c.UnicastPeers, c.CheckUnicastSrc = []netip.Addr{ipA, netip.MustParseAddr("10.77.0.12")}, true
				}
				r, err := New(c)
				if err != nil {
					t.Fatal(err)
				}
				r.Startup(0)
				if master {
					r.Tick(r.MasterDownInterval())
				}
				before := r.Stats()
				acts := r.Receive(10*time.Second, Received{Src: addrFromUint32(src32), Dst: addrFromUint32(dst32), TTL: ttl, Payload: b})
				after := r.Stats()
				drops := 0
				for _, a := range acts {
					if a.Kind == ActDrop {
						drops++
						if !a.Cause.IsDrop() || after[a.Cause] != before[a.Cause]+1 || a.Reason == "" {
							t.Fatalf("drop %+v: counter %v went %d -> %d", a, a.Cause, before[a.Cause], after[a.Cause])
						}
					}
				}
				if got := after.Dropped() - before.Dropped(); got != uint64(drops) || drops > 1 {
					t.Fatalf("%d drops counted, %d ActDrop", got, drops)
				}
				if drops == 0 && after[StatAdvertRcvd] != before[StatAdvertRcvd]+1 {
					t.Fatalf("a packet was taken without counting as advert_rcvd: %x", b)
				}
			}
		}
	})
}
