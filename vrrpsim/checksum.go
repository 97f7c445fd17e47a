package vrrpsim

import (
	"fmt"
	"net/netip"
)

// ChecksumForm says how a received checksum was computed.
type ChecksumForm int

// The outcomes of VerifyChecksum.
const (
	// ChecksumBad means the checksum matches no accepted form.
	ChecksumBad ChecksumForm = iota
	// ChecksumMessage means it covers the VRRP message alone (v2, and some
	// v3 implementations).
	ChecksumMessage
	// ChecksumPseudoHeader means it covers an IPv4 pseudo-header plus the
	// message (v3 as RFC 5798 and keepalived send it).
	ChecksumPseudoHeader
)

// String returns "bad", "message" or "pseudo-header".
func (f ChecksumForm) String() string {
	switch f {
	case ChecksumBad:
		return "bad"
	case ChecksumMessage:
		return "message"
	case ChecksumPseudoHeader:
		return "pseudo-header"
	}
	return fmt.Sprintf("ChecksumForm(%d)", int(f))
}

// VerifyChecksum checks the checksum of the raw message b: v2 accepts only
// the message form; v3 accepts the pseudo-header form (with src, dst; IPv4 or
// IPv4-mapped) and the message-only form, preferring the pseudo-header form.
// A message shorter than 8 bytes or of another version is ChecksumBad.
func VerifyChecksum(b []byte, src, dst netip.Addr) ChecksumForm {
	if len(b) < vrrpHeaderLen {
		return ChecksumBad
	}
	msg := onesSum(0, b)
	switch b[0] >> 4 {
	case 2:
		if onesFold(msg) == 0xffff {
			return ChecksumMessage
		}
	case 3:
		src, dst = src.Unmap(), dst.Unmap()
		if src.Is4() && dst.Is4() && onesFold(msg+pseudoHeaderSum(src, dst, len(b))) == 0xffff {
			return ChecksumPseudoHeader
		}
		if onesFold(msg) == 0xffff {
			return ChecksumMessage
		}
	}
	return ChecksumBad
}

// onesSum adds b to s as big-endian 16-bit words, padding an odd last byte
// with zero. The carries are folded by onesFold.
func onesSum(s uint64, b []byte) uint64 {
	for len(b) >= 2 {
		s += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// onesFold folds the carries of s into 16 bits: the one's complement sum.
func onesFold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// pseudoHeaderSum is the sum of the IPv4 pseudo-header: src (4 bytes), dst
// (4 bytes), a zero byte, the protocol (112) and the 16-bit message length
// n in bytes. src and dst must be IPv4.
func pseudoHeaderSum(src, dst netip.Addr, n int) uint64 {
	s4, d4 := src.As4(), dst.As4()
	return onesSum(onesSum(0, s4[:]), d4[:]) + Protocol + uint64(uint16(n))
}
