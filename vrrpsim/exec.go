package vrrpsim

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
)

// IO is what an Executor needs from its world: the simulator's hosts and
// segments, or a Linux host's sockets, netlink and processes. A method
// only does what it says; every decision (what to send, when, to whom,
// what to record) is the Executor's.
type IO interface {
	// Send sends one VRRP message b from src to dst (the group address or
	// one unicast peer) as IP protocol 112 with TTL 255.
	Send(src, dst netip.Addr, b []byte) error
	// AddVIP configures the virtual address v on the instance's interface.
	AddVIP(v netip.Prefix) error
	// RemoveVIP removes v from the interface.
	RemoveVIP(v netip.Prefix) error
	// GARP sends one gratuitous ARP for a from the instance's interface.
	GARP(a netip.Addr) error
	// Notify runs the notify commands of a change to state to, without
	// waiting for them: cmd[0] of each is a shell command line, cmd[1:]
	// its arguments (NotifyCommands). The Executor has recorded each in
	// the history first.
	Notify(cmds [][]string, to State)
	// Record writes one history event; its time is on the Executor's
	// clock (the now of the call that made it).
	Record(e history.Event)
	// Logf writes a line for people: a state change, an I/O error.
	Logf(format string, args ...any)
}

// Executor carries out the actions of one instance's state machine
// (Router) over an IO, the same way in every world: it marshals adverts
// from Config.PrimaryIP to the group or to each unicast peer, adds and
// removes the virtual addresses, sends the gratuitous ARP bursts (the
// second one Config.GARPDelay later is one of its deadlines), runs the
// notify scripts, and records every state and priority change, every
// virtual address taken or released, and a silent death (Halt) in the
// history. A driver feeds it inputs with the current time and calls Tick
// at Deadline; it never reads a clock itself.
type Executor struct {
	name string
	cfg  Config
	io   IO
	r    *Router

	garpAt    time.Duration
	garpArmed bool
	halted    bool
	buf       []byte
	// sent counts adverts sent (one per destination), dropped received
	// packets discarded, since the Executor was made.
	sent, dropped int
}

// NewExecutor checks cfg and returns the executor of one instance of the
// router named name (its host name in the history), acting on io. Its
// state machine is in INIT until Startup.
func NewExecutor(name string, cfg Config, io IO) (*Executor, error) {
	r, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &Executor{name: name, cfg: r.Config(), io: io, r: r}, nil
}

// Router returns the state machine, for status pages and tests.
func (x *Executor) Router() *Router { return x.r }

// Config returns the instance's configuration with defaults filled in.
func (x *Executor) Config() Config { return x.cfg }

// Counts returns how many adverts were sent (one per destination) and how
// many received packets were discarded since the Executor was made.
func (x *Executor) Counts() (sent, dropped int) { return x.sent, x.dropped }

// Reset replaces the state machine by a fresh one in INIT, as a newly
// started keepalived process has: counters at zero, tracked links up
// until told otherwise. The GARP deadline is dropped.
func (x *Executor) Reset() {
	x.r, _ = New(x.cfg) // checked by NewExecutor
	x.garpArmed, x.halted = false, false
}

// Deadline returns when Tick must next be called: the state machine's
// timer or the second gratuitous ARP burst, whichever is first; false
// when none runs (and after Halt).
func (x *Executor) Deadline() (time.Duration, bool) {
	if x.halted {
		return 0, false
	}
	at, ok := x.r.Deadline()
	if x.garpArmed && (!ok || x.garpAt < at) {
		at, ok = x.garpAt, true
	}
	return at, ok
}

// Startup starts the instance (Router.Startup).
func (x *Executor) Startup(now time.Duration) {
	x.halted = false
	x.apply(now, x.r.Startup(now))
}

// Shutdown stops the instance as keepalived does on SIGTERM
// (Router.Shutdown); the second GARP burst is cancelled.
func (x *Executor) Shutdown(now time.Duration) {
	x.apply(now, x.r.Shutdown(now))
	x.garpArmed = false
}

// Tick runs what is due at now: the second gratuitous ARP burst, then
// the state machine's timer.
func (x *Executor) Tick(now time.Duration) {
	if x.halted {
		return
	}
	if x.garpArmed && x.garpAt <= now {
		x.garpArmed = false
		x.announce()
	}
	if at, ok := x.r.Deadline(); ok && at <= now {
		x.apply(now, x.r.Tick(now))
	}
}

// Receive hands a received packet to the state machine and carries out
// its answer. It returns the actions, valid until the next call, so that
// a driver can log the drops (ActDrop).
func (x *Executor) Receive(now time.Duration, in Received) []Action {
	acts := x.r.Receive(now, in)
	x.apply(now, acts)
	return acts
}

// TrackResult feeds one result of a vrrp_script (Router.TrackResult).
func (x *Executor) TrackResult(now time.Duration, name string, ok bool) {
	x.apply(now, x.r.TrackResult(now, name, ok))
}

// LinkChange tells the instance a link went up or down
// (Router.LinkChange).
func (x *Executor) LinkChange(now time.Duration, name string, up bool) {
	x.apply(now, x.r.LinkChange(now, name, up))
}

// Halt records that the instance died without a word (its host crashed,
// its process was killed): a STOP event with reason, from the state it
// was in, unless it was stopped already. No advert is sent and no address
// is removed; nothing runs until Reset and Startup.
func (x *Executor) Halt(now time.Duration, reason string) {
	if x.halted {
		return
	}
	x.halted, x.garpArmed = true, false
	if st := x.r.State(); st != StateStop {
		x.record(now, st, StateStop, x.r.Priority(), reason)
	}
}

// apply carries out the actions in order.
func (x *Executor) apply(now time.Duration, acts []Action) {
	for _, act := range acts {
		switch act.Kind {
		case ActSend:
			x.send(act.Advert)
		case ActAddVIPs:
			x.vips(now, true)
		case ActRemoveVIPs:
			x.vips(now, false)
		case ActGARP:
			x.announce()
			x.garpArmed = x.cfg.GARPDelay > 0
			x.garpAt = now + x.cfg.GARPDelay
		case ActState:
			if act.From == StateMaster {
				x.garpArmed = false // the second burst is a master's
			}
			x.record(now, act.From, act.To, act.Priority, act.Reason)
			x.io.Logf("%s: %v -> %v, priority %d: %s", x.cfg.Name, act.From, act.To, act.Priority, act.Reason)
			if cmds := NotifyCommands(x.cfg.Notify, x.cfg.Name, act.To, act.Priority); len(cmds) > 0 {
				for _, c := range cmds {
					line := strings.Join(append([]string{strings.TrimSuffix(c[0], ` "$@"`)}, c[1:]...), " ")
					x.io.Record(history.Event{T: history.Stamp(now), Kind: history.KindNotify, Router: x.name,
						Instance: x.cfg.Name, VRID: int(x.cfg.VRID), To: act.To.String(), Reason: line})
				}
				x.io.Notify(cmds, act.To)
			}
		case ActPriority:
			st := x.r.State()
			x.record(now, st, st, act.Priority, act.Reason)
			x.io.Logf("%s: priority %d: %s", x.cfg.Name, act.Priority, act.Reason)
		case ActDrop:
			x.dropped++
		}
	}
}

// vips adds (take) or removes every virtual address and records each
// that it could: taken with this router as Owner, released with it as
// Prev (a Chain fills in the rest).
func (x *Executor) vips(now time.Duration, take bool) {
	op, verb, prep, reason := x.io.RemoveVIP, "remove", "from", "left master"
	if take {
		op, verb, prep, reason = x.io.AddVIP, "add", "on", "became master"
	}
	for _, v := range x.cfg.VIPs {
		if err := op(v); err != nil {
			x.io.Logf("%s: %s %v %s %s: %v", x.cfg.Name, verb, v, prep, x.cfg.Interface, err)
			continue
		}
		e := history.Event{T: history.Stamp(now), Kind: history.KindVIP, VIP: v.Addr().String(), Instance: x.cfg.Name,
			Prev: x.name, Reason: reason}
		if take {
			e.Owner, e.Prev = x.name, ""
		}
		x.io.Record(e)
	}
}

func (x *Executor) record(now time.Duration, from, to State, prio uint8, reason string) {
	x.io.Record(history.Event{
		T: history.Stamp(now), Kind: history.KindVRRP,
		Router: x.name, Instance: x.cfg.Name, VRID: int(x.cfg.VRID),
		From: from.String(), To: to.String(), Priority: int(prio), Reason: reason,
	})
}

// send marshals an advert from Config.PrimaryIP to the group, or to each
// unicast peer (the v3 checksum covers each destination), and sends it.
func (x *Executor) send(p *Packet) {
	dsts := x.cfg.UnicastPeers
	if len(dsts) == 0 {
		dsts = []netip.Addr{GroupAddr}
	}
	for _, dst := range dsts {
		b, err := p.AppendMarshal(x.buf[:0], x.cfg.PrimaryIP, dst)
		if err != nil {
			x.io.Logf("%s: encode advert: %v", x.cfg.Name, err)
			return
		}
		x.buf = b
		if err := x.io.Send(x.cfg.PrimaryIP, dst, b); err != nil {
			x.io.Logf("%s: send advert to %v: %v", x.cfg.Name, dst, err)
		}
		x.sent++
	}
}

// announce sends Config.GARPRepeat gratuitous ARPs for every virtual
// address.
func (x *Executor) announce() {
	for range x.cfg.GARPRepeat {
		for _, v := range x.cfg.VIPs {
			if err := x.io.GARP(v.Addr()); err != nil {
				x.io.Logf("%s: gratuitous ARP for %v: %v", x.cfg.Name, v.Addr(), err)
				return
			}
		}
	}
}

// notifyKey is keepalived's notify_* keyword for a state, "" for none.
func notifyKey(s State) string {
	switch s {
	case StateMaster:
		return "notify_master"
	case StateBackup:
		return "notify_backup"
	case StateFault:
		return "notify_fault"
	case StateStop:
		return "notify_stop"
	}
	return ""
}

// NotifyCommands returns the shell command lines and their arguments that
// keepalived runs when instance enters state with priority: first
// notify_<state> as written, then notify with INSTANCE NAME STATE PRIORITY
// appended to what is written (keepalived's vrrp_notify.c). None for INIT.
func NotifyCommands(notify map[string]string, instance string, state State, priority uint8) [][]string {
	key := notifyKey(state)
	if key == "" {
		return nil
	}
	var cmds [][]string
	if c := notify[key]; c != "" {
		cmds = append(cmds, []string{c})
	}
	if c := notify["notify"]; c != "" {
		cmds = append(cmds, []string{c + ` "$@"`, "INSTANCE", instance, state.String(), strconv.Itoa(int(priority))})
	}
	return cmds
}
