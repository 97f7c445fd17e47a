package vrrpsim

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config is one VRRP instance, in keepalived's terms.
type Config struct {
	// Name is the instance name (keepalived's vrrp_instance NAME).
	Name string
	// VRID is virtual_router_id, 1..255. Required.
	VRID uint8
	// Version is the VRRP version, 2 or 3. Default 2 (keepalived's
	// vrrp_version default).
	Version int
	// Priority is the base priority, 1..255; 255 marks the address owner.
	// Default (0): 255 for InitialState StateMaster, else 100, as
	// keepalived derives it (DefaultPriority).
	Priority uint8
	// Interval is advert_int: whole seconds for v2, centiseconds for v3.
	// Default 1 s.
	Interval time.Duration
	// NoPreempt is keepalived's nopreempt: a backup never takes over from a
	// lower-priority master. Default false (preemption on).
	NoPreempt bool
	// PreemptDelay is preempt_delay: how long after startup (or after first
	// seeing a lower-priority master) a backup still accepts that master
	// before it preempts. Default 0.
	PreemptDelay time.Duration
	// InitialState is keepalived's state: StateBackup (default) or
	// StateMaster. A non-owner with StateMaster skips the wait for a master
	// at startup (see Router.Startup).
	InitialState State
	// PrimaryIP is the address adverts are sent from; it breaks priority
	// ties (the larger address wins). Required.
	PrimaryIP netip.Addr
	// VIPs are virtual_ipaddress. At least one.
	VIPs []netip.Prefix
	// AuthType is the v2 authentication type: AuthNone (default) or AuthPass.
	AuthType uint8
	// AuthPass is the v2 PASS password; only its first 8 bytes are used.
	AuthPass string
	// Tracks are the track_script entries with their vrrp_script settings.
	Tracks []Track
	// Interface is the instance's interface (keepalived's interface). Its
	// link is tracked as a weight-0 track_interface, so that it going down
	// puts the instance in FAULT, unless DontTrackPrimary is set or
	// TrackInterfaces names it with a weight. Default "" (none tracked
	// implicitly).
	Interface string
	// DontTrackPrimary is keepalived's dont_track_primary: the link of
	// Interface is not tracked. Default false.
	DontTrackPrimary bool
	// TrackInterfaces are the track_interface entries.
	TrackInterfaces []TrackInterface
	// UnicastPeers are keepalived's unicast_peer addresses (IPv4). Set,
	// the instance is unicast: adverts go to each peer instead of the
	// group, an advert must arrive on a unicast address (one sent to a
	// multicast address is dropped, addr_list_err), and its TTL is not
	// checked, as keepalived does. Empty (the default), the instance is
	// multicast: an advert must arrive on a multicast address, so one sent
	// unicast, even to this router's own address, is dropped.
	UnicastPeers []netip.Addr
	// CheckUnicastSrc is keepalived's check_unicast_src (or the global
	// vrrp_check_unicast_src): a unicast instance drops an advert from an
	// address that is not one of UnicastPeers (unicast_src_err). Default
	// false: keepalived then accepts an advert from any source.
	CheckUnicastSrc bool
	// GARPDelay is keepalived's garp_master_delay (vrrp_garp_master_delay
	// in global_defs): how long after becoming master a router sends its
	// second burst of gratuitous ARPs, if it is still master. Default (0)
	// 5 s (DefaultGARPDelay); negative: no second burst (keepalived's 0).
	GARPDelay time.Duration
	// GARPRepeat is keepalived's garp_master_repeat: how many gratuitous
	// ARPs per virtual address each burst sends. Default (0) 5
	// (DefaultGARPRepeat).
	GARPRepeat int
	// Notify holds the notify scripts by keepalived's keywords:
	// notify_master, notify_backup, notify_fault, notify_stop (run with no
	// added arguments) and notify (run with INSTANCE NAME STATE PRIORITY
	// appended). The state machine ignores them; the Executor asks its IO
	// to run them on each state change. Default none.
	Notify map[string]string
}

// keepalived's defaults, the one place they are written (keepalived
// 2.2.7, vrrp.h and vrrp.c vrrp_complete_instance).
const (
	// DefaultVersion is vrrp_version: 2.
	DefaultVersion = 2
	// DefaultPriority is VRRP_PRIO_DFL, the priority of an instance
	// without one and without state MASTER: 100.
	DefaultPriority uint8 = 100
	// OwnerPriority is VRRP_PRIO_OWNER, the address owner's priority and
	// the default of state MASTER without a priority: 255.
	OwnerPriority uint8 = 255
	// DefaultInterval is advert_int: 1 s.
	DefaultInterval = time.Second
	// DefaultGARPDelay is vrrp_garp_master_delay (VRRP_GARP_DELAY): 5 s.
	DefaultGARPDelay = 5 * time.Second
	// DefaultGARPRepeat is vrrp_garp_master_repeat (VRRP_GARP_REP): 5.
	DefaultGARPRepeat = 5
	// DefaultScriptInterval is a vrrp_script's interval: 1 s. Its
	// timeout defaults to its interval.
	DefaultScriptInterval = time.Second
)

// PriorityFor is keepalived's priority of an instance whose configured
// priority is prio (0: not written) and initial state is state: prio when
// written, else OwnerPriority for StateMaster and DefaultPriority
// otherwise (vrrp_complete_instance: "If no priority has been set, derive
// it from the initial state").
func PriorityFor(state State, prio uint8) uint8 {
	switch {
	case prio != 0:
		return prio
	case state == StateMaster:
		return OwnerPriority
	}
	return DefaultPriority
}

// TrackInterface is one track_interface entry: a link whose state moves
// the instance (see Router.LinkChange).
type TrackInterface struct {
	// Name is the interface name.
	Name string
	// Weight is -253..253. 0: the instance goes to FAULT while the link is
	// down. Negative: added to the priority while the link is down.
	// Positive: added while it is up. Default 0.
	Weight int
}

// TrackedLinks returns the links the instance tracks: TrackInterfaces,
// then Interface with weight 0 unless DontTrackPrimary is set or it is
// already listed. Each name appears once (the first entry wins).
func (c Config) TrackedLinks() []TrackInterface {
	var out []TrackInterface
	seen := map[string]bool{}
	add := func(t TrackInterface) {
		if t.Name != "" && !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t)
		}
	}
	for _, t := range c.TrackInterfaces {
		add(t)
	}
	if !c.DontTrackPrimary {
		add(TrackInterface{Name: c.Interface})
	}
	return out
}

// Track is a vrrp_script as tracked by one instance.
type Track struct {
	// Name is the vrrp_script name.
	Name string
	// Weight is -253..253. Positive: added to the priority while the script
	// succeeds. Negative: added (so subtracted) while it fails. 0: the
	// instance goes to FAULT while it fails. Default 0.
	Weight int
	// Fall is how many failures in a row mark the script failed. Default 1.
	Fall int
	// Rise is how many successes in a row mark it OK again. Default 1.
	Rise int
	// InitFail starts the script failed instead of OK (keepalived init_fail).
	InitFail bool
}

// GroupAddr is the IPv4 multicast group of VRRP, 224.0.0.18.
var GroupAddr = netip.AddrFrom4([4]byte{224, 0, 0, 18})

// VirtualMAC returns the virtual router MAC 00:00:5e:00:01:{vrid}.
func VirtualMAC(vrid uint8) [6]byte { return [6]byte{0x00, 0x00, 0x5e, 0x00, 0x01, vrid} }

// withDefaults returns c with defaults filled in, or an error naming the
// first bad field.
func (c Config) withDefaults() (Config, error) {
	if c.Version == 0 {
		c.Version = DefaultVersion
	}
	if c.InitialState == StateInit {
		c.InitialState = StateBackup
	}
	c.Priority = PriorityFor(c.InitialState, c.Priority)
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.GARPDelay == 0 {
		c.GARPDelay = DefaultGARPDelay
	}
	if c.GARPRepeat == 0 {
		c.GARPRepeat = DefaultGARPRepeat
	}
	for i := range c.Tracks {
		if c.Tracks[i].Fall == 0 {
			c.Tracks[i].Fall = 1
		}
		if c.Tracks[i].Rise == 0 {
			c.Tracks[i].Rise = 1
		}
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.VRID == 0 {
		bad("virtual_router_id", "must be 1..255")
	}
	switch c.Version {
	case 2:
		if c.Interval%time.Second != 0 || c.Interval > 255*time.Second {
			bad("advert_int", "VRRPv2 needs whole seconds 1..255, got %v", c.Interval)
		}
		if c.AuthType != AuthNone && c.AuthType != AuthPass {
			bad("authentication.auth_type", "only none and PASS are supported")
		}
	case 3:
		if c.Interval%(10*time.Millisecond) != 0 || c.Interval > 4095*10*time.Millisecond {
			bad("advert_int", "VRRPv3 needs whole centiseconds up to 40.95 s, got %v", c.Interval)
		}
		if c.AuthType != AuthNone {
			bad("authentication", "VRRPv3 has no authentication")
		}
	default:
		bad("vrrp_version", "must be 2 or 3, got %d", c.Version)
	}
	if c.Interval <= 0 {
		bad("advert_int", "must be positive")
	}
	if c.InitialState != StateBackup && c.InitialState != StateMaster {
		bad("state", "must be MASTER or BACKUP")
	}
	if !c.PrimaryIP.Is4() {
		bad("address", "primary address must be IPv4, got %v", c.PrimaryIP)
	}
	if len(c.VIPs) == 0 {
		bad("virtual_ipaddress", "at least one address is needed")
	}
	for _, v := range c.VIPs {
		if !v.Addr().Is4() {
			bad("virtual_ipaddress", "%v is not IPv4", v)
		}
	}
	for _, a := range c.UnicastPeers {
		if !a.Is4() {
			bad("unicast_peer", "%v is not IPv4", a)
		}
	}
	if c.GARPRepeat < 0 {
		bad("garp_master_repeat", "must not be negative, got %d", c.GARPRepeat)
	}
	if c.PreemptDelay < 0 {
		bad("preempt_delay", "must not be negative")
	}
	for _, t := range c.Tracks {
		if t.Weight < -253 || t.Weight > 253 {
			bad("track_script "+t.Name+".weight", "must be -253..253, got %d", t.Weight)
		}
		if t.Fall < 1 || t.Rise < 1 {
			bad("track_script "+t.Name, "fall and rise must be at least 1")
		}
	}
	for _, t := range c.TrackInterfaces {
		if t.Name == "" {
			bad("track_interface", "an entry has no interface name")
		}
		if t.Weight < -253 || t.Weight > 253 {
			bad("track_interface "+t.Name+".weight", "must be -253..253, got %d", t.Weight)
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("vrrp_instance %s: %w", c.Name, errors.Join(errs...))
	}
	return c, nil
}
