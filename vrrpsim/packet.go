// Package vrrpsim is the VRRP agent's core, the same in every world: the
// packet codec (this file: VRRPv2, RFC 3768, and VRRPv3 over IPv4, RFC
// 5798/9568), the pure state machine (Router), keepalived's defaults
// (Config), and the one executor of the machine's actions over a small
// IO (Executor). Its drivers are vrrpsim/simdriver (simulated hosts) and
// vrrpsim/linux (a real host).
package vrrpsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Protocol is the IP protocol number of VRRP (112).
const Protocol = 112

// TypeAdvertisement is the only VRRP message type (1).
const TypeAdvertisement = 1

// Auth types (v2, RFC 3768 section 5.3.6): the value of the auth type byte.
const (
	// AuthNone is no authentication (0).
	AuthNone = 0
	// AuthPass is a simple text password of at most 8 bytes (1).
	AuthPass = 1
	// AuthAH is IP Authentication Header (2).
	AuthAH = 2
)

const (
	vrrpHeaderLen   = 8                     // fixed header, bytes
	vrrpAuthLen     = 8                     // v2 authentication data, bytes
	vrrpCentisecond = 10 * time.Millisecond // v3 interval unit
	vrrpMaxV2       = 255 * time.Second     // 8-bit seconds
	vrrpMaxV3       = 0x0fff * vrrpCentisecond
)

// Sentinel errors of Parse (and ErrVersion of Marshal); the returned errors
// wrap them with detail, so test them with errors.Is.
var (
	// ErrShort means the message is shorter than the 8-byte header.
	ErrShort = errors.New("vrrp: packet too short")
	// ErrVersion means the version is not 2 or 3.
	ErrVersion = errors.New("vrrp: unsupported version")
	// ErrLength means the length does not match the address count.
	ErrLength = errors.New("vrrp: length does not match address count")
)

// Packet is a decoded VRRP advertisement.
type Packet struct {
	Version  uint8         // 2 or 3
	Type     uint8         // 1 for an advertisement (4 bits on the wire)
	VRID     uint8         // 1..255
	Priority uint8         // 0 = leaving, 255 = address owner
	Interval time.Duration // advertisement interval: whole seconds in v2, centiseconds in v3 (12 bits, max 40.95 s)
	AuthType uint8         // v2 only
	AuthData [8]byte       // v2 only, the raw 8 bytes
	Addrs    []netip.Addr  // IPv4 addresses
	Checksum uint16        // as read from the wire by Parse; ignored by Marshal, which computes it
}

// vrrpLen is the length in bytes of a message of the given version with n
// IPv4 addresses.
func vrrpLen(version uint8, n int) int {
	l := vrrpHeaderLen + 4*n
	if version == 2 {
		l += vrrpAuthLen
	}
	return l
}

// Parse decodes a VRRP message (the IP payload). It checks structure only:
// length >= 8 bytes (ErrShort), version 2 or 3 (ErrVersion), and a length of
// exactly 8 + 4n + 8 bytes for v2 or 8 + 4n bytes for v3 where n is the
// address count (ErrLength; trailing bytes are an error too). Addresses are
// always IPv4, so a VRRPv3-over-IPv6 message (16-byte addresses) fails the
// length check. The type, auth type and v3 reserved bits are not checked,
// and neither is the checksum (see VerifyChecksum).
func Parse(b []byte) (*Packet, error) {
	if len(b) < vrrpHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrShort, len(b), vrrpHeaderLen)
	}
	p := &Packet{
		Version:  b[0] >> 4,
		Type:     b[0] & 0x0f,
		VRID:     b[1],
		Priority: b[2],
		Checksum: binary.BigEndian.Uint16(b[6:8]),
	}
	if p.Version != 2 && p.Version != 3 {
		return nil, fmt.Errorf("%w: %d", ErrVersion, p.Version)
	}
	n := int(b[3])
	if want := vrrpLen(p.Version, n); len(b) != want {
		return nil, fmt.Errorf("%w: VRRPv%d with %d addresses is %d bytes, got %d",
			ErrLength, p.Version, n, want, len(b))
	}
	if p.Version == 2 {
		p.AuthType = b[4]
		p.Interval = time.Duration(b[5]) * time.Second
		copy(p.AuthData[:], b[len(b)-vrrpAuthLen:])
	} else {
		p.Interval = time.Duration(binary.BigEndian.Uint16(b[4:6])&0x0fff) * vrrpCentisecond
	}
	if n > 0 {
		p.Addrs = make([]netip.Addr, n)
		for i := range p.Addrs {
			o := vrrpHeaderLen + 4*i
			p.Addrs[i] = netip.AddrFrom4([4]byte(b[o : o+4]))
		}
	}
	return p, nil
}

// Marshal encodes p; src and dst are the IPv4 source/destination used for
// the v3 pseudo-header checksum (ignored for v2; IPv4-mapped IPv6 addresses
// are unmapped). The checksum is computed, p.Checksum is ignored. Errors:
// bad version (wraps ErrVersion), type above 15, v2 interval not a whole
// number of seconds or > 255 s, v3 interval not a whole number of
// centiseconds or > 4095 cs (40.95 s), negative interval, more than 255
// addresses, non-IPv4 address (in Addrs, or src/dst for v3).
func (p *Packet) Marshal(src, dst netip.Addr) ([]byte, error) {
	return p.AppendMarshal(make([]byte, 0, vrrpLen(p.Version, len(p.Addrs))), src, dst)
}

// AppendMarshal is Marshal appending to b (no allocation when b has room).
// The checksum covers only the appended message. On error b is returned
// unchanged.
func (p *Packet) AppendMarshal(b []byte, src, dst netip.Addr) ([]byte, error) {
	var ival uint16 // seconds (v2) or centiseconds (v3)
	switch p.Version {
	case 2:
		if p.Interval < 0 || p.Interval > vrrpMaxV2 || p.Interval%time.Second != 0 {
			return b, fmt.Errorf("vrrp: VRRPv2 interval must be whole seconds 0..255 s, got %v", p.Interval)
		}
		ival = uint16(p.Interval / time.Second)
	case 3:
		if p.Interval < 0 || p.Interval > vrrpMaxV3 || p.Interval%vrrpCentisecond != 0 {
			return b, fmt.Errorf("vrrp: VRRPv3 interval must be whole centiseconds 0..4095 cs, got %v", p.Interval)
		}
		ival = uint16(p.Interval / vrrpCentisecond)
		src, dst = src.Unmap(), dst.Unmap()
		if !src.Is4() || !dst.Is4() {
			return b, fmt.Errorf("vrrp: VRRPv3 checksum needs IPv4 source and destination, got %v and %v", src, dst)
		}
	default:
		return b, fmt.Errorf("%w: %d", ErrVersion, p.Version)
	}
	if p.Type > 0x0f {
		return b, fmt.Errorf("vrrp: type %d does not fit in 4 bits", p.Type)
	}
	if len(p.Addrs) > 255 {
		return b, fmt.Errorf("vrrp: %d addresses, at most 255", len(p.Addrs))
	}
	for _, a := range p.Addrs {
		if !a.Is4() {
			return b, fmt.Errorf("vrrp: address %v is not IPv4", a)
		}
	}

	start := len(b)
	b = append(b, p.Version<<4|p.Type, p.VRID, p.Priority, byte(len(p.Addrs)))
	if p.Version == 2 {
		b = append(b, p.AuthType, byte(ival))
	} else {
		b = binary.BigEndian.AppendUint16(b, ival) // reserved bits stay 0
	}
	b = append(b, 0, 0) // checksum, filled in below
	for _, a := range p.Addrs {
		a4 := a.As4()
		b = append(b, a4[:]...)
	}
	if p.Version == 2 {
		b = append(b, p.AuthData[:]...)
	}

	msg := b[start:]
	var s uint64
	if p.Version == 3 {
		s = pseudoHeaderSum(src, dst, len(msg))
	}
	binary.BigEndian.PutUint16(msg[6:8], ^onesFold(onesSum(s, msg)))
	return b, nil
}

// PasswordData returns the 8-byte v2 auth data for a simple-text password as
// keepalived sends it: the first 8 bytes of pass, zero padded.
func PasswordData(pass string) [8]byte {
	var d [8]byte
	copy(d[:], pass)
	return d
}
