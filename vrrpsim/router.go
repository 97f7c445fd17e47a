package vrrpsim

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Router is the pure VRRP state machine of one instance (RFC 5798 and RFC
// 9568, with keepalived's FAULT state and track scripts). It never reads a
// clock or touches a socket: every input carries the current time, and
// every output is a list of Actions plus the next deadline (Deadline). The
// Actions returned by a call stay valid until the next call.
type Router struct {
	cfg   Config
	state State

	// effective is the priority after track scripts (1..254, or 255).
	effective uint8
	// masterAdverInt is Master_Adver_Interval: the local interval for v2,
	// learnt from the master's adverts for v3.
	masterAdverInt time.Duration
	// downAt is when Master_Down_Timer fires (Backup); adverAt when
	// Adver_Timer fires (Master). Zero means not running.
	downAt, adverAt time.Duration
	armedDown       bool
	armedAdver      bool
	// preemptAt is when a backup with preempt_delay may preempt a
	// lower-priority master; zero until it is set.
	preemptAt  time.Duration
	preemptSet bool

	tracks []trackState
	// links are the tracked interfaces; their state outlives a restart
	// (Startup), as a real link's does.
	links []linkState
	auth  [8]byte
	out   []Action
	stats Stats
}

type trackState struct {
	Track
	status scriptStatus
	ok     bool // last decided result (meaningless in scriptInit)
	streak int  // results in a row that disagree with ok
}

// New checks cfg, fills its defaults and returns a router in INIT.
func New(cfg Config) (*Router, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Router{cfg: cfg, state: StateInit, masterAdverInt: cfg.Interval}
	if cfg.AuthType == AuthPass {
		r.auth = PasswordData(cfg.AuthPass)
	}
	r.resetTracks()
	for _, t := range cfg.TrackedLinks() {
		r.links = append(r.links, linkState{TrackInterface: t, up: true})
	}
	r.effective = r.computePriority()
	return r, nil
}

// Config returns the instance's configuration with defaults filled in.
func (r *Router) Config() Config { return r.cfg }

// State returns the current state.
func (r *Router) State() State { return r.state }

// Priority returns the effective priority (base priority moved by track
// scripts, clamped to 1..254; 255 for the owner).
func (r *Router) Priority() uint8 { return r.effective }

// SkewTime returns Skew_Time for the effective priority: v2 (256 −
// priority)/256 s; v3 ((256 − priority) × Master_Adver_Interval)/256.
func (r *Router) SkewTime() time.Duration {
	return SkewTime(r.cfg.Version, r.effective, r.masterAdverInt)
}

// MasterDownInterval returns 3 × Master_Adver_Interval + Skew_Time.
func (r *Router) MasterDownInterval() time.Duration {
	return MasterDownInterval(r.cfg.Version, r.effective, r.masterAdverInt)
}

// SkewTime is Skew_Time for a priority, computed as keepalived does, in
// whole microseconds: v2 (256 − priority)/256 s; v3 ((256 − priority) ×
// masterAdverInt)/256, with the interval in centiseconds. For priority 100
// and 1 s both give 609375 µs.
func SkewTime(version int, priority uint8, masterAdverInt time.Duration) time.Duration {
	p := 256 - int64(priority)
	if version == 2 {
		return time.Duration(p*1_000_000/256) * time.Microsecond
	}
	cs := int64(masterAdverInt / (10 * time.Millisecond))
	return time.Duration(p*cs*625/16) * time.Microsecond
}

// MasterDownInterval is 3 × masterAdverInt + SkewTime: how long a backup
// waits without adverts before it becomes master.
func MasterDownInterval(version int, priority uint8, masterAdverInt time.Duration) time.Duration {
	return 3*masterAdverInt + SkewTime(version, priority, masterAdverInt)
}

// Deadline returns when Tick must next be called, and false when no timer
// runs (INIT, FAULT, STOP).
func (r *Router) Deadline() (time.Duration, bool) {
	switch {
	case r.state == StateBackup && r.armedDown:
		return r.downAt, true
	case r.state == StateMaster && r.armedAdver:
		return r.adverAt, true
	}
	return 0, false
}

// Startup starts the instance (RFC 5798 §6.4.1). The owner (priority 255)
// becomes master at once. Every other instance, whatever its configured
// state, becomes backup and waits Master_Down_Interval (keepalived does the
// same for state MASTER below 255). A weight-0 track script that has not
// yet succeeded (or failed), or a weight-0 tracked link that is down
// (Router.LinkChange), holds it in FAULT.
func (r *Router) Startup(now time.Duration) []Action {
	r.out = r.out[:0]
	if r.state != StateInit && r.state != StateStop {
		return r.out
	}
	r.masterAdverInt = r.cfg.Interval
	r.resetTracks()
	r.effective = r.computePriority()
	r.preemptSet = false
	switch {
	case r.faulted():
		r.setState(StateFault, r.faultCause()+" at startup")
	case r.cfg.Priority == 255:
		r.becomeMaster(now, "address owner (priority 255) at startup")
	default:
		r.setState(StateBackup, "startup")
		r.armDown(now + r.MasterDownInterval())
	}
	return r.out
}

// Shutdown stops the instance (RFC 5798 §6.4.2, §6.4.3): a master sends an
// advert with priority 0 and removes its addresses; every state goes to
// STOP.
func (r *Router) Shutdown(now time.Duration) []Action {
	r.out = r.out[:0]
	switch r.state {
	case StateMaster:
		r.armedAdver = false
		r.send(0)
		r.emit(Action{Kind: ActRemoveVIPs})
	case StateBackup:
		r.armedDown = false
	case StateInit, StateStop:
		return r.out
	}
	r.setState(StateStop, "shutdown")
	return r.out
}

// Tick runs the timers due at now.
func (r *Router) Tick(now time.Duration) []Action {
	r.out = r.out[:0]
	switch {
	case r.state == StateBackup && r.armedDown && now >= r.downAt:
		r.armedDown = false
		r.becomeMaster(now, "master down timer expired")
	case r.state == StateMaster && r.armedAdver && now >= r.adverAt:
		r.send(r.effective)
		r.armAdver(now + r.cfg.Interval)
	}
	return r.out
}

// Received is a VRRP packet as the driver got it from IP.
type Received struct {
	// Src and Dst are the IP source and destination addresses. Both are
	// required: the destination decides whether a multicast or a unicast
	// instance takes the packet (Config.UnicastPeers).
	Src, Dst netip.Addr
	// TTL is the IP time to live (must be 255 for a multicast instance).
	TTL uint8
	// Payload is the VRRP message.
	Payload []byte
}

// Receive handles an incoming packet in BACKUP or MASTER (in any other
// state it is ignored): the receive checks of RFC 5798 §7.1 (and RFC 3768
// for v2) as keepalived 2.2.7 makes them (vrrp_check_packet), then the
// rules of §6.4.2 (Backup) and §6.4.3 (Master). A packet that fails a
// check yields one ActDrop and adds one to the counter of the first check
// it failed (Stats), in this order: own address (own_advert); length and
// version 2 or 3 (packet_len_err, vers_err); TTL 255 unless unicast
// (ip_ttl_err); configured version (vers_err); VRID (vrid_err); for v2
// the auth type (invalid_authtype, authtype_mismatch), the password
// (auth_failure) and the interval (advert_interval_err); type 1
// (invalid_type_rcvd); address count (addr_list_err); checksum (chk_err);
// destination multicast for a multicast instance, unicast for a unicast
// one (addr_list_err); then, counted as advert_rcvd, the addresses
// themselves (addr_list_err) and, with CheckUnicastSrc, the source
// (unicast_src_err).
func (r *Router) Receive(now time.Duration, in Received) []Action {
	r.out = r.out[:0]
	if r.state != StateBackup && r.state != StateMaster {
		return r.out
	}
	p, cause, why := r.check(in)
	if why != "" {
		r.stats[cause]++
		r.emit(Action{Kind: ActDrop, Cause: cause, Reason: why})
		return r.out
	}
	if p.Priority == 0 {
		r.stats[StatPriZeroRcvd]++
	}
	if r.state == StateBackup {
		r.backupReceive(now, in.Src, p)
	} else {
		r.masterReceive(now, in.Src, p)
	}
	return r.out
}

// Stats returns the instance's counters.
func (r *Router) Stats() Stats { return r.stats }

// check applies the receive checks (see Receive) and returns the parsed
// packet, or the counter of the failed check and the reason in words.
func (r *Router) check(in Received) (*Packet, Stat, string) {
	if in.Src == r.cfg.PrimaryIP {
		return nil, StatOwnAdvert, "own advert"
	}
	p, err := Parse(in.Payload)
	if errors.Is(err, ErrVersion) {
		return nil, StatVersErr, err.Error()
	}
	if err != nil {
		return nil, StatPacketLenErr, err.Error()
	}
	unicast := len(r.cfg.UnicastPeers) > 0
	if !unicast && in.TTL != 255 {
		return nil, StatIPTTLErr, fmt.Sprintf("TTL %d, want 255", in.TTL)
	}
	if int(p.Version) != r.cfg.Version {
		return nil, StatVersErr, fmt.Sprintf("version %d, configured %d", p.Version, r.cfg.Version)
	}
	if p.VRID != r.cfg.VRID {
		return nil, StatVRIDErr, fmt.Sprintf("VRID %d, configured %d", p.VRID, r.cfg.VRID)
	}
	if r.cfg.Version == 2 {
		if p.AuthType > AuthAH {
			return nil, StatInvalidAuthType, fmt.Sprintf("auth type %d is none of 0, 1, 2", p.AuthType)
		}
		if p.AuthType != r.cfg.AuthType {
			return nil, StatAuthTypeMismatch, fmt.Sprintf("auth type %d, configured %d", p.AuthType, r.cfg.AuthType)
		}
		if r.cfg.AuthType == AuthPass && p.AuthData != r.auth {
			return nil, StatAuthFailure, "wrong authentication password"
		}
		if p.Interval != r.cfg.Interval {
			return nil, StatAdvertIntervalErr, fmt.Sprintf("advert interval %v, configured %v", p.Interval, r.cfg.Interval)
		}
	}
	if p.Type != TypeAdvertisement {
		return nil, StatInvalidTypeRcvd, fmt.Sprintf("type %d, want 1", p.Type)
	}
	if len(p.Addrs) != len(r.cfg.VIPs) {
		return nil, StatAddrListErr, fmt.Sprintf("%d virtual addresses, configured %d", len(p.Addrs), len(r.cfg.VIPs))
	}
	if VerifyChecksum(in.Payload, in.Src, in.Dst) == ChecksumBad {
		return nil, StatChkErr, "bad checksum"
	}
	if mc := in.Dst.IsMulticast(); mc == unicast {
		if unicast {
			return nil, StatAddrListErr, fmt.Sprintf("sent to multicast %v, but unicast_peer is set", in.Dst)
		}
		return nil, StatAddrListErr, fmt.Sprintf("sent to unicast %v, but no unicast_peer is set", in.Dst)
	}
	r.stats[StatAdvertRcvd]++
	if !r.sameAddrs(p.Addrs) {
		return nil, StatAddrListErr, "virtual addresses differ from the configuration"
	}
	if unicast && r.cfg.CheckUnicastSrc && !slices.Contains(r.cfg.UnicastPeers, in.Src) {
		return nil, StatUnicastSrcErr, fmt.Sprintf("source %v is not a unicast peer", in.Src)
	}
	return p, 0, ""
}

func (r *Router) sameAddrs(addrs []netip.Addr) bool {
	if len(addrs) != len(r.cfg.VIPs) {
		return false
	}
	for _, want := range r.cfg.VIPs {
		found := false
		for _, a := range addrs {
			if a == want.Addr() {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// backupReceive is RFC 5798 §6.4.2 with keepalived's preempt_delay: the
// first lower-priority advert starts the delay, during which such adverts
// are still accepted; an advert of equal or higher priority cancels it.
func (r *Router) backupReceive(now time.Duration, src netip.Addr, p *Packet) {
	if p.Priority == 0 {
		r.armDown(now + r.SkewTime())
		return
	}
	lower := p.Priority < r.effective
	if !lower {
		r.preemptSet = false
	}
	if lower && r.preempts() {
		delay := r.preemptDelay()
		if delay <= 0 {
			return // discard: the down timer runs out and we preempt
		}
		if !r.preemptSet {
			r.preemptAt, r.preemptSet = now+delay, true
		}
		if now >= r.preemptAt {
			return
		}
	}
	if r.cfg.Version == 3 {
		r.masterAdverInt = p.Interval
	}
	r.armDown(now + r.MasterDownInterval())
}

// preempts reports whether this backup takes over from a lower-priority
// master. keepalived ignores nopreempt and preempt_delay for state MASTER.
func (r *Router) preempts() bool {
	return !r.cfg.NoPreempt || r.cfg.InitialState == StateMaster
}

// preemptDelay is preempt_delay as keepalived applies it.
func (r *Router) preemptDelay() time.Duration {
	if r.cfg.InitialState == StateMaster {
		return 0
	}
	return r.cfg.PreemptDelay
}

// masterReceive is RFC 5798 §6.4.3 as keepalived does it: priority 0 is
// answered with an advert; a higher priority (or an equal one from a larger
// address) sends it to backup without a priority-0 advert; a lower one is
// answered with an advert and gratuitous ARPs to force a new election.
func (r *Router) masterReceive(now time.Duration, src netip.Addr, p *Packet) {
	switch {
	case p.Priority == 0:
		r.send(r.effective)
		r.armAdver(now + r.cfg.Interval)
	case p.Priority < r.effective || (p.Priority == r.effective && src.Compare(r.cfg.PrimaryIP) < 0):
		r.send(r.effective)
		r.emit(Action{Kind: ActGARP})
	default:
		r.armedAdver = false
		if r.cfg.Version == 3 {
			r.masterAdverInt = p.Interval
		}
		r.emit(Action{Kind: ActRemoveVIPs})
		reason := fmt.Sprintf("advert with higher priority %d from %v", p.Priority, src)
		if p.Priority == r.effective {
			reason = fmt.Sprintf("advert with equal priority %d from larger address %v", p.Priority, src)
		}
		r.setState(StateBackup, reason)
		r.armDown(now + r.MasterDownInterval())
	}
}

// becomeMaster sends an advert, takes the addresses, announces them and
// starts Adver_Timer.
func (r *Router) becomeMaster(now time.Duration, reason string) {
	r.masterAdverInt = r.cfg.Interval
	r.setState(StateMaster, reason)
	r.send(r.effective)
	r.emit(Action{Kind: ActAddVIPs})
	r.emit(Action{Kind: ActGARP})
	r.armAdver(now + r.cfg.Interval)
}

func (r *Router) setState(to State, reason string) {
	from := r.state
	r.state = to
	switch {
	case to == StateMaster && from != StateMaster:
		r.stats[StatBecomeMaster]++
	case from == StateMaster && (to == StateBackup || to == StateFault):
		r.stats[StatReleaseMaster]++
	}
	if to == StateBackup {
		r.preemptSet = false
	}
	r.emit(Action{Kind: ActState, From: from, To: to, Priority: r.effective, Reason: reason})
}

func (r *Router) armDown(at time.Duration)  { r.downAt, r.armedDown = at, true }
func (r *Router) armAdver(at time.Duration) { r.adverAt, r.armedAdver = at, true }

func (r *Router) emit(a Action) { r.out = append(r.out, a) }

// send emits an advertisement with the given priority.
func (r *Router) send(priority uint8) {
	p := &Packet{
		Version:  uint8(r.cfg.Version),
		Type:     TypeAdvertisement,
		VRID:     r.cfg.VRID,
		Priority: priority,
		Interval: r.cfg.Interval,
		Addrs:    make([]netip.Addr, len(r.cfg.VIPs)),
	}
	for i, v := range r.cfg.VIPs {
		p.Addrs[i] = v.Addr()
	}
	if r.cfg.Version == 2 {
		p.AuthType = r.cfg.AuthType
		p.AuthData = r.auth
	}
	r.stats[StatAdvertSent]++
	if priority == 0 {
		r.stats[StatPriZeroSent]++
	}
	r.emit(Action{Kind: ActSend, Advert: p, Priority: priority})
}
