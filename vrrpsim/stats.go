package vrrpsim

import (
	"fmt"

	"github.com/lblab/lblab/history"
)

// Stat names one counter of an instance (Router.Stats). The counters that
// keepalived keeps carry its names (String): keepalived's JSON dump
// (vrrp_json.c) writes the first fourteen by these names, and its SNMP
// agent vers_err, chk_err and vrid_err; own_advert and unicast_src_err
// are lblab's (keepalived discards those packets without a counter).
type Stat uint8

// The counters. Every packet Router.Receive discards adds one to exactly
// one drop cause (Stat.IsDrop), the first check it fails, in keepalived's
// order of checks (Router.Receive).
const (
	// StatAdvertRcvd (advert_rcvd): adverts that passed the checks of
	// length, TTL, version, authentication, interval, type, address count,
	// checksum and destination; counted, as keepalived does, before the
	// address list and the unicast source are checked.
	StatAdvertRcvd Stat = iota
	// StatAdvertSent (advert_sent): adverts sent (one per advert, however
	// many unicast peers it goes to).
	StatAdvertSent
	// StatBecomeMaster (become_master): transitions to MASTER.
	StatBecomeMaster
	// StatReleaseMaster (release_master): transitions from MASTER to BACKUP
	// or FAULT (not a shutdown).
	StatReleaseMaster
	// StatPriZeroRcvd (pri_zero_rcvd): accepted adverts with priority 0.
	StatPriZeroRcvd
	// StatPriZeroSent (pri_zero_sent): adverts sent with priority 0.
	StatPriZeroSent

	// StatPacketLenErr (packet_len_err), a drop: shorter than the 8-byte
	// header, or a length that does not match the address count.
	StatPacketLenErr
	// StatAdvertIntervalErr (advert_interval_err), a drop: a VRRPv2
	// advert interval other than the configured one.
	StatAdvertIntervalErr
	// StatIPTTLErr (ip_ttl_err), a drop: an IP TTL other than 255 on a
	// multicast instance (a unicast one does not check it).
	StatIPTTLErr
	// StatInvalidTypeRcvd (invalid_type_rcvd), a drop: a type other than 1.
	StatInvalidTypeRcvd
	// StatAddrListErr (addr_list_err), a drop: the virtual addresses differ
	// from the configuration, or the advert came unicast to a multicast
	// instance (even to this router's own address) or multicast to a
	// unicast one.
	StatAddrListErr
	// StatInvalidAuthType (invalid_authtype), a drop: a VRRPv2 auth type
	// that is none of 0, 1 and 2.
	StatInvalidAuthType
	// StatAuthTypeMismatch (authtype_mismatch), a drop: a VRRPv2 auth type
	// other than the configured one.
	StatAuthTypeMismatch
	// StatAuthFailure (auth_failure), a drop: a wrong VRRPv2 password.
	StatAuthFailure
	// StatVersErr (vers_err), a drop: a version other than the configured
	// one, or neither 2 nor 3.
	StatVersErr
	// StatChkErr (chk_err), a drop: a bad checksum.
	StatChkErr
	// StatVRIDErr (vrid_err), a drop: another virtual router ID (a driver
	// that sorts packets by VRID never hands the router one).
	StatVRIDErr
	// StatOwnAdvert (own_advert), a drop: an advert from this router's own
	// primary address.
	StatOwnAdvert
	// StatUnicastSrcErr (unicast_src_err), a drop: with CheckUnicastSrc, a
	// unicast advert from an address that is not a unicast peer.
	StatUnicastSrcErr

	// NumStats is the number of counters.
	NumStats
)

var statNames = [NumStats]string{
	"advert_rcvd", "advert_sent", "become_master", "release_master", "pri_zero_rcvd", "pri_zero_sent",
	"packet_len_err", "advert_interval_err", "ip_ttl_err", "invalid_type_rcvd", "addr_list_err",
	"invalid_authtype", "authtype_mismatch", "auth_failure",
	"vers_err", "chk_err", "vrid_err", "own_advert", "unicast_src_err",
}

// String returns the counter's name: keepalived's (advert_rcvd,
// packet_len_err, ...) where keepalived keeps the counter.
func (s Stat) String() string {
	if s >= NumStats {
		return fmt.Sprintf("Stat(%d)", uint8(s))
	}
	return statNames[s]
}

// ParseStat returns the counter of a name String gives; ok is false for
// a name it does not know.
func ParseStat(name string) (s Stat, ok bool) {
	for i, n := range statNames {
		if n == name {
			return Stat(i), true
		}
	}
	return 0, false
}

// IsDrop reports whether the counter counts discarded packets.
func (s Stat) IsDrop() bool { return s >= StatPacketLenErr && s < NumStats }

// Stats are an instance's counters, indexed by Stat. They count from the
// router's creation and survive Shutdown and Startup, as keepalived's
// survive a state change.
type Stats [NumStats]uint64

// Dropped returns the number of discarded packets: the sum of the drop
// causes.
func (s Stats) Dropped() uint64 {
	var n uint64
	for i := StatPacketLenErr; i < NumStats; i++ {
		n += s[i]
	}
	return n
}

// Map returns the counters by name, for JSON (encoding/json writes the
// keys sorted). With nonzero set, counters at zero are left out.
func (s Stats) Map(nonzero bool) map[string]uint64 {
	m := make(map[string]uint64, NumStats)
	for i, n := range s {
		if n != 0 || !nonzero {
			m[Stat(i).String()] = n
		}
	}
	return m
}

// Events returns one history.KindVRRPStats event at t for each nonzero
// counter of router's instance (name, vrid), in counter order; with
// dropsOnly, only for the drop causes (Stat.IsDrop). The simulator writes
// the drops only, so that a run that discarded nothing keeps its history;
// the real agent writes every counter.
func (s Stats) Events(t history.Stamp, router, instance string, vrid int, dropsOnly bool) []history.Event {
	var evs []history.Event
	for i, n := range s {
		if n == 0 || dropsOnly && !Stat(i).IsDrop() {
			continue
		}
		evs = append(evs, history.Event{T: t, Kind: history.KindVRRPStats, Router: router,
			Instance: instance, VRID: vrid, Counter: Stat(i).String(), Count: n})
	}
	return evs
}
