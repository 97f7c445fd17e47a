package vrrpsim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	groupIP = netip.MustParseAddr("224.0.0.18")
	vipIP   = netip.MustParseAddr("10.77.0.100")
)

// checkVectorIP checks the IPv4 header fields every captured advert shares.
func checkVectorIP(t *testing.T, i int, ip pcapIPv4, src netip.Addr) {
	t.Helper()
	if ip.Protocol != Protocol || ip.TTL != 255 || ip.Dst != groupIP || ip.Src != src || ip.TOS != 0xc0 {
		t.Errorf("packet %d: IPv4 proto %d TTL %d TOS %#x %v -> %v, want proto 112 TTL 255 TOS 0xc0 %v -> %v",
			i, ip.Protocol, ip.TTL, ip.TOS, ip.Src, ip.Dst, src, groupIP)
	}
}

func TestVectorV2AuthPass(t *testing.T) {
	pkts := loadVector(t, vectorV2)
	if len(pkts) != 3 {
		t.Fatalf("%d packets, want 3", len(pkts))
	}
	src := netip.MustParseAddr("10.77.0.12")
	want := &Packet{
		Version:  2,
		Type:     TypeAdvertisement,
		VRID:     51,
		Priority: 100,
		Interval: time.Second,
		AuthType: AuthPass,
		AuthData: PasswordData("1111"),
		Addrs:    []netip.Addr{vipIP},
		Checksum: 0x0cb7,
	}
	for i, ip := range pkts {
		checkVectorIP(t, i, ip, src)
		if len(ip.Payload) != 20 {
			t.Errorf("packet %d: payload %d bytes, want 20", i, len(ip.Payload))
		}
		p, err := Parse(ip.Payload)
		if err != nil {
			t.Fatalf("packet %d: Parse: %v", i, err)
		}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("packet %d: Parse = %+v, want %+v", i, p, want)
		}
		if f := VerifyChecksum(ip.Payload, ip.Src, ip.Dst); f != ChecksumMessage {
			t.Errorf("packet %d: VerifyChecksum = %v, want message", i, f)
		}
		out, err := p.Marshal(ip.Src, ip.Dst)
		if err != nil || !bytes.Equal(out, ip.Payload) {
			t.Errorf("packet %d: Marshal = %x, %v; want %x", i, out, err, ip.Payload)
		}
	}

	// v2 never accepts the pseudo-header form.
	b := bytes.Clone(pkts[0].Payload)
	setChecksum(b, pseudoHeaderSum(pkts[0].Src, pkts[0].Dst, len(b)))
	if f := VerifyChecksum(b, pkts[0].Src, pkts[0].Dst); f != ChecksumBad {
		t.Errorf("v2 with pseudo-header checksum: %v, want bad", f)
	}
}

func TestVectorV3(t *testing.T) {
	pkts := loadVector(t, vectorV3)
	if len(pkts) != 3 {
		t.Fatalf("%d packets, want 3", len(pkts))
	}
	src := netip.MustParseAddr("10.77.0.11")
	want := &Packet{
		Version:  3,
		Type:     TypeAdvertisement,
		VRID:     51,
		Priority: 150,
		Interval: 100 * 10 * time.Millisecond,
		Addrs:    []netip.Addr{vipIP},
		Checksum: 0x42cf,
	}
	for i, ip := range pkts {
		checkVectorIP(t, i, ip, src)
		if len(ip.Payload) != 12 {
			t.Errorf("packet %d: payload %d bytes, want 12", i, len(ip.Payload))
		}
		p, err := Parse(ip.Payload)
		if err != nil {
			t.Fatalf("packet %d: Parse: %v", i, err)
		}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("packet %d: Parse = %+v, want %+v", i, p, want)
		}
		if f := VerifyChecksum(ip.Payload, ip.Src, ip.Dst); f != ChecksumPseudoHeader {
			t.Errorf("packet %d: VerifyChecksum = %v, want pseudo-header", i, f)
		}
		out, err := p.Marshal(ip.Src, ip.Dst)
		if err != nil || !bytes.Equal(out, ip.Payload) {
			t.Errorf("packet %d: Marshal = %x, %v; want %x", i, out, err, ip.Payload)
		}
	}

	ip := pkts[0]
	// Re-checksummed over the message alone, as some implementations send.
	b := bytes.Clone(ip.Payload)
	setChecksum(b, 0)
	if c := binary.BigEndian.Uint16(b[6:]); c != 0x2db6 {
		t.Errorf("message-only checksum %#04x, want 0x2db6", c)
	}
	if f := VerifyChecksum(b, ip.Src, ip.Dst); f != ChecksumMessage {
		t.Errorf("message-only checksum: %v, want message", f)
	}
	// The pseudo-header form needs the right addresses.
	if f := VerifyChecksum(ip.Payload, netip.MustParseAddr("10.77.0.12"), ip.Dst); f != ChecksumBad {
		t.Errorf("wrong source: %v, want bad", f)
	}
	if f := VerifyChecksum(ip.Payload, netip.Addr{}, ip.Dst); f != ChecksumBad {
		t.Errorf("invalid source: %v, want bad", f)
	}
	// IPv4-mapped IPv6 addresses (as from a dual-stack socket) work too.
	s6, d6 := netip.AddrFrom16(ip.Src.As16()), netip.AddrFrom16(ip.Dst.As16())
	if f := VerifyChecksum(ip.Payload, s6, d6); f != ChecksumPseudoHeader {
		t.Errorf("mapped addresses: %v, want pseudo-header", f)
	}
	p, _ := Parse(ip.Payload)
	if out, err := p.Marshal(s6, d6); err != nil || !bytes.Equal(out, ip.Payload) {
		t.Errorf("Marshal with mapped addresses = %x, %v; want %x", out, err, ip.Payload)
	}
	// A flipped bit is caught.
	b = bytes.Clone(ip.Payload)
	b[2] ^= 1
	if f := VerifyChecksum(b, ip.Src, ip.Dst); f != ChecksumBad {
		t.Errorf("corrupted: %v, want bad", f)
	}
}

// setChecksum rewrites the checksum of message b, starting from sum s
// (0 for the message-only form).
func setChecksum(b []byte, s uint64) {
	b[6], b[7] = 0, 0
	binary.BigEndian.PutUint16(b[6:], ^onesFold(onesSum(s, b)))
}

func TestParseErrors(t *testing.T) {
	v2 := func(n byte, extra int) []byte { // header with count n, then extra bytes
		return append([]byte{0x21, 1, 100, n, 0, 1, 0, 0}, make([]byte, extra)...)
	}
	v3 := func(n byte, extra int) []byte {
		return append([]byte{0x31, 1, 100, n, 0, 100, 0, 0}, make([]byte, extra)...)
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"nil", nil, ErrShort},
		{"7 bytes", v3(0, 0)[:7], ErrShort},
		{"version 0", []byte{0x01, 1, 100, 0, 0, 1, 0, 0}, ErrVersion},
		{"version 1", []byte{0x11, 1, 100, 0, 0, 1, 0, 0}, ErrVersion},
		{"version 4", []byte{0x41, 1, 100, 0, 0, 1, 0, 0}, ErrVersion},
		{"version 15", []byte{0xf1, 1, 100, 0, 0, 1, 0, 0}, ErrVersion},
		{"v2 no auth data", v2(0, 0), ErrLength},
		{"v2 short auth data", v2(0, 7), ErrLength},
		{"v2 missing address", v2(1, 8), ErrLength},
		{"v2 trailing byte", v2(1, 4+8+1), ErrLength},
		{"v2 count 255, 1 address", v2(255, 4+8), ErrLength},
		{"v3 missing address", v3(1, 0), ErrLength},
		{"v3 partial address", v3(2, 7), ErrLength},
		{"v3 trailing byte", v3(1, 5), ErrLength},
		{"v3 with auth data", v3(1, 4+8), ErrLength},
		{"v3 over IPv6", v3(1, 16), ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.b)
			if !errors.Is(err, tt.want) || p != nil {
				t.Fatalf("Parse(%x) = %v, %v; want nil, %v", tt.b, p, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want.Error()+": ") {
				t.Errorf("error %q lacks detail after %q", err, tt.want)
			}
		})
	}
}

func TestParseIgnoresUncheckedFields(t *testing.T) {
	// Type, auth type, the v3 reserved bits and the checksum are not checked.
	b := []byte{0x3f, 7, 0, 0, 0xf0 | 0x0f, 0xff, 0xde, 0xad}
	p, err := Parse(b)
	want := &Packet{Version: 3, Type: 15, VRID: 7, Interval: 4095 * 10 * time.Millisecond, Checksum: 0xdead}
	if err != nil || !reflect.DeepEqual(p, want) {
		t.Fatalf("Parse = %+v, %v; want %+v", p, err, want)
	}
	out, err := p.Marshal(vipIP, groupIP)
	if err != nil || out[4]&0xf0 != 0 || binary.BigEndian.Uint16(out[4:6]) != 4095 {
		t.Errorf("Marshal = %x, %v; want reserved bits 0, interval 4095", out, err)
	}
	b2 := []byte{0x29, 0, 255, 0, AuthAH, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}
	p, err = Parse(b2)
	want = &Packet{Version: 2, Type: 9, Priority: 255, AuthType: AuthAH, AuthData: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}
	if err != nil || !reflect.DeepEqual(p, want) {
		t.Fatalf("Parse = %+v, %v; want %+v", p, err, want)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	src, dst := netip.MustParseAddr("192.0.2.1"), groupIP
	many := make([]netip.Addr, 255)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
	}
	tests := []struct {
		name string
		p    Packet
		form ChecksumForm
		len  int
	}{
		{"v2 no addresses, interval 0", Packet{Version: 2, Type: 1, VRID: 1, Priority: 0}, ChecksumMessage, 16},
		{"v2 255 s, pass", Packet{Version: 2, Type: 1, VRID: 255, Priority: 255, Interval: 255 * time.Second,
			AuthType: AuthPass, AuthData: PasswordData("secret"), Addrs: []netip.Addr{vipIP}}, ChecksumMessage, 20},
		{"v2 255 addresses", Packet{Version: 2, Type: 1, VRID: 9, Priority: 1, Interval: 3 * time.Second,
			Addrs: many}, ChecksumMessage, 8 + 4*255 + 8},
		{"v3 40.95 s", Packet{Version: 3, Type: 1, VRID: 2, Priority: 100, Interval: 40950 * time.Millisecond,
			Addrs: []netip.Addr{vipIP, src}}, ChecksumPseudoHeader, 16},
		{"v3 10 ms, no addresses", Packet{Version: 3, Type: 1, VRID: 3, Interval: 10 * time.Millisecond},
			ChecksumPseudoHeader, 8},
		{"v3 255 addresses", Packet{Version: 3, Type: 1, VRID: 4, Interval: time.Second, Addrs: many},
			ChecksumPseudoHeader, 8 + 4*255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Checksum = 0x1234 // ignored by Marshal
			out, err := tt.p.Marshal(src, dst)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if len(out) != tt.len {
				t.Errorf("Marshal: %d bytes, want %d", len(out), tt.len)
			}
			if f := VerifyChecksum(out, src, dst); f != tt.form {
				t.Errorf("VerifyChecksum = %v, want %v", f, tt.form)
			}
			got, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := tt.p
			want.Checksum = binary.BigEndian.Uint16(out[6:])
			if want.Version == 3 {
				want.AuthType, want.AuthData = 0, [8]byte{}
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Parse(Marshal) = %+v, want %+v", *got, want)
			}
		})
	}
}

func TestMarshalV3IgnoresAuth(t *testing.T) {
	p := Packet{Version: 3, Type: 1, VRID: 1, Interval: time.Second, AuthType: AuthPass, AuthData: PasswordData("x")}
	out, err := p.Marshal(vipIP, groupIP)
	if err != nil || len(out) != 8 {
		t.Fatalf("Marshal = %x, %v; want 8 bytes", out, err)
	}
}

func TestMarshalErrors(t *testing.T) {
	ok2 := Packet{Version: 2, Type: 1, VRID: 1, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vipIP}}
	ok3 := ok2
	ok3.Version = 3
	with := func(p Packet, f func(*Packet)) Packet { f(&p); return p }
	tests := []struct {
		name     string
		p        Packet
		src, dst netip.Addr
		want     string
	}{
		{"version 0", with(ok2, func(p *Packet) { p.Version = 0 }), vipIP, groupIP, "unsupported version"},
		{"version 1", with(ok2, func(p *Packet) { p.Version = 1 }), vipIP, groupIP, "unsupported version"},
		{"version 4", with(ok2, func(p *Packet) { p.Version = 4 }), vipIP, groupIP, "unsupported version"},
		{"type 16", with(ok2, func(p *Packet) { p.Type = 16 }), vipIP, groupIP, "type 16"},
		{"v2 interval 1.5 s", with(ok2, func(p *Packet) { p.Interval = 1500 * time.Millisecond }), vipIP, groupIP, "whole seconds"},
		{"v2 interval 256 s", with(ok2, func(p *Packet) { p.Interval = 256 * time.Second }), vipIP, groupIP, "whole seconds"},
		{"v2 interval -1 s", with(ok2, func(p *Packet) { p.Interval = -time.Second }), vipIP, groupIP, "whole seconds"},
		{"v3 interval 15 ms", with(ok3, func(p *Packet) { p.Interval = 15 * time.Millisecond }), vipIP, groupIP, "whole centiseconds"},
		{"v3 interval 4096 cs", with(ok3, func(p *Packet) { p.Interval = 40960 * time.Millisecond }), vipIP, groupIP, "whole centiseconds"},
		{"v3 interval -10 ms", with(ok3, func(p *Packet) { p.Interval = -10 * time.Millisecond }), vipIP, groupIP, "whole centiseconds"},
		{"v2 256 addresses", with(ok2, func(p *Packet) { p.Addrs = make([]netip.Addr, 256) }), vipIP, groupIP, "at most 255"},
		{"v3 256 addresses", with(ok3, func(p *Packet) { p.Addrs = make([]netip.Addr, 256) }), vipIP, groupIP, "at most 255"},
		{"IPv6 address", with(ok2, func(p *Packet) { p.Addrs = []netip.Addr{netip.MustParseAddr("2001:db8::1")} }), vipIP, groupIP, "not IPv4"},
		{"mapped address", with(ok3, func(p *Packet) { p.Addrs = []netip.Addr{netip.AddrFrom16(vipIP.As16())} }), vipIP, groupIP, "not IPv4"},
		{"zero address", with(ok3, func(p *Packet) { p.Addrs = []netip.Addr{vipIP, {}} }), vipIP, groupIP, "not IPv4"},
		{"v3 IPv6 source", ok3, netip.MustParseAddr("fe80::1"), groupIP, "IPv4 source and destination"},
		{"v3 zero destination", ok3, vipIP, netip.Addr{}, "IPv4 source and destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.p.Marshal(tt.src, tt.dst)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "vrrp: ") {
				t.Fatalf("Marshal = %x, %v; want error containing %q", out, err, tt.want)
			}
			if strings.Contains(tt.want, "version") && !errors.Is(err, ErrVersion) {
				t.Errorf("error %v does not wrap ErrVersion", err)
			}
			prefix := []byte("keep")
			if out, err := tt.p.AppendMarshal(prefix, tt.src, tt.dst); err == nil || string(out) != "keep" {
				t.Errorf("AppendMarshal on error = %q, %v; want b unchanged and an error", out, err)
			}
		})
	}
	// v2 ignores src and dst entirely.
	if _, err := ok2.Marshal(netip.Addr{}, netip.Addr{}); err != nil {
		t.Errorf("v2 with zero src/dst: %v", err)
	}
}

func TestMarshalAppend(t *testing.T) {
	src := netip.MustParseAddr("10.77.0.11")
	p := Packet{Version: 3, Type: 1, VRID: 51, Priority: 150, Interval: time.Second, Addrs: []netip.Addr{vipIP}}
	want, err := p.Marshal(src, groupIP)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.AppendMarshal([]byte("pre"), src, groupIP)
	if err != nil || string(out[:3]) != "pre" || !bytes.Equal(out[3:], want) {
		t.Errorf("AppendMarshal = %x, %v; want \"pre\" + %x", out, err, want)
	}
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		out, err = p.AppendMarshal(buf[:0], src, groupIP)
	})
	if allocs != 0 || err != nil || !bytes.Equal(out, want) {
		t.Errorf("AppendMarshal with room: %v allocs, %x, %v", allocs, out, err)
	}
}

func TestPacketPasswordData(t *testing.T) {
	for pass, want := range map[string][8]byte{
		"":           {},
		"1111":       {'1', '1', '1', '1'},
		"12345678":   {'1', '2', '3', '4', '5', '6', '7', '8'},
		"0123456789": {'0', '1', '2', '3', '4', '5', '6', '7'},
	} {
		if got := PasswordData(pass); got != want {
			t.Errorf("PasswordData(%q) = %x, want %x", pass, got, want)
		}
	}
}

func TestChecksumFormString(t *testing.T) {
	for f, want := range map[ChecksumForm]string{
		ChecksumBad: "bad", ChecksumMessage: "message", ChecksumPseudoHeader: "pseudo-header", 7: "ChecksumForm(7)",
	} {
		if got := f.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(f), got, want)
		}
	}
}

func TestChecksumVerifyMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"nil":       nil,
		"7 bytes":   {0x31, 1, 2, 3, 4, 5, 6},
		"version 4": {0x41, 0, 0, 0, 0, 0, 0xbe, 0xff}, // message sum would be valid
	} {
		if f := VerifyChecksum(b, vipIP, groupIP); f != ChecksumBad {
			t.Errorf("%s: %v, want bad", name, f)
		}
	}
	// Odd lengths are summed with a zero pad byte.
	b := []byte{0x21, 1, 2, 0, 0, 1, 0, 0, 0x80}
	setChecksum(b, 0)
	if f := VerifyChecksum(b, vipIP, groupIP); f != ChecksumMessage {
		t.Errorf("odd length: %v, want message", f)
	}
}

func TestChecksumOnesComplement(t *testing.T) {
	// RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
	if got := onesFold(onesSum(0, []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7})); got != 0xddf2 {
		t.Errorf("sum = %#04x, want 0xddf2", got)
	}
	if got := onesFold(0x1fffe); got != 0xffff {
		t.Errorf("fold(0x1fffe) = %#04x, want 0xffff", got)
	}
}
