package vrrpsim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorsDir holds the keepalived captures the tests and fuzz seeds read,
// relative to this package's folder (go test runs in it). They are part
// of the repository: testdata/vectors/README.md says where they came from.
const vectorsDir = "testdata/vectors"

// The capture files and what they hold (see vectorsDir/README.md).
const (
	vectorV2 = "keepalived-vrrpv2-auth-pass.pcap"
	vectorV3 = "keepalived-vrrpv3.pcap"
)

// pcapIPv4 is one captured IPv4 packet.
type pcapIPv4 struct {
	TOS, TTL, Protocol uint8
	Src, Dst           netip.Addr
	Payload            []byte // the IP payload, trimmed to the IP total length
}

// readPcap returns the link type and the captured frames of a classic
// libpcap file: a 24-byte global header (magic, version, zone, sigfigs,
// snaplen, link type) and records of a 16-byte header (ts sec, ts usec or
// nsec, captured length, original length) plus the captured bytes. Both byte
// orders and both timestamp resolutions are accepted.
func readPcap(b []byte) (linkType uint32, frames [][]byte, err error) {
	if len(b) < 24 {
		return 0, nil, errors.New("pcap: global header truncated")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return 0, nil, fmt.Errorf("pcap: bad magic %#08x", binary.LittleEndian.Uint32(b))
	}
	linkType = bo.Uint32(b[20:24])
	for rest := b[24:]; len(rest) > 0; {
		if len(rest) < 16 {
			return 0, nil, errors.New("pcap: record header truncated")
		}
		n := bo.Uint32(rest[8:12])
		if uint64(n) > uint64(len(rest)-16) {
			return 0, nil, fmt.Errorf("pcap: record of %d bytes truncated", n)
		}
		frames = append(frames, rest[16:16+n])
		rest = rest[16+n:]
	}
	return linkType, frames, nil
}

// parseEtherIPv4 decodes an Ethernet II frame carrying IPv4 and checks the
// IPv4 header (version, IHL, total length, header checksum).
func parseEtherIPv4(f []byte) (pcapIPv4, error) {
	if len(f) < 14 {
		return pcapIPv4{}, errors.New("ethernet: frame truncated")
	}
	if et := binary.BigEndian.Uint16(f[12:14]); et != 0x0800 {
		return pcapIPv4{}, fmt.Errorf("ethernet: ethertype %#04x is not IPv4", et)
	}
	ip := f[14:]
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return pcapIPv4{}, errors.New("ipv4: truncated or not version 4")
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ihl < 20 || total < ihl || total > len(ip) {
		return pcapIPv4{}, fmt.Errorf("ipv4: bad IHL %d or total length %d (have %d bytes)", ihl, total, len(ip))
	}
	if onesFold(onesSum(0, ip[:ihl])) != 0xffff {
		return pcapIPv4{}, errors.New("ipv4: bad header checksum")
	}
	return pcapIPv4{
		TOS:      ip[1],
		TTL:      ip[8],
		Protocol: ip[9],
		Src:      netip.AddrFrom4([4]byte(ip[12:16])),
		Dst:      netip.AddrFrom4([4]byte(ip[16:20])),
		Payload:  ip[ihl:total],
	}, nil
}

// readVector returns the bytes of the named capture in vectorsDir. A
// missing file is fatal, and the message names the path looked at: the
// vectors are part of the test.
func readVector(tb testing.TB, name string) []byte {
	tb.Helper()
	path := filepath.Join(vectorsDir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		abs, _ := filepath.Abs(path)
		tb.Fatalf("test vector %s (in the repository, see %s/README.md): %v", abs, vectorsDir, err)
	}
	return b
}

// loadVector reads the named capture (readVector) and returns its IPv4
// packets.
func loadVector(tb testing.TB, name string) []pcapIPv4 {
	tb.Helper()
	b := readVector(tb, name)
	lt, frames, err := readPcap(b)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	if lt != 1 {
		tb.Fatalf("%s: link type %d, want 1 (Ethernet)", name, lt)
	}
	var pkts []pcapIPv4
	for i, f := range frames {
		p, err := parseEtherIPv4(f)
		if err != nil {
			tb.Fatalf("%s: frame %d: %v", name, i, err)
		}
		pkts = append(pkts, p)
	}
	return pkts
}

func TestVectorPcapReaderErrors(t *testing.T) {
	good := readVector(t, vectorV3)
	// A big-endian, nanosecond file with one 2-byte record.
	be := []byte{0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1,
		0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0xab, 0xcd}
	lt, frames, err := readPcap(be)
	if err != nil || lt != 1 || len(frames) != 1 || string(frames[0]) != "\xab\xcd" {
		t.Errorf("big-endian file: link %d frames %x err %v", lt, frames, err)
	}
	for name, b := range map[string][]byte{
		"short header":     good[:23],
		"bad magic":        append([]byte{1, 2, 3, 4}, good[4:]...),
		"short record hdr": good[:24+15],
		"short record":     good[:len(good)-1],
	} {
		if _, _, err := readPcap(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	_, frames, _ = readPcap(good)
	f := append([]byte(nil), frames[0]...)
	f[14+10] ^= 0xff // break the IPv4 header checksum
	if _, err := parseEtherIPv4(f); err == nil {
		t.Error("bad IPv4 header checksum accepted")
	}
	if _, err := parseEtherIPv4(frames[0][:14+19]); err == nil {
		t.Error("truncated IPv4 header accepted")
	}
}

// TestVectorsAreTheRecordedCaptures checks that every capture in
// vectorsDir is the one its README records (by SHA-256), so that a changed
// or replaced file cannot pass for keepalived's.
func TestVectorsAreTheRecordedCaptures(t *testing.T) {
	readme := string(readVector(t, "README.md"))
	for _, name := range []string{vectorV2, vectorV3} {
		sum := sha256.Sum256(readVector(t, name))
		row := "| " + name + " | " + hex.EncodeToString(sum[:]) + " |"
		if !strings.Contains(readme, row) {
			t.Errorf("%s/README.md has no row %q: the file is not the recorded capture", vectorsDir, row)
		}
	}
}
