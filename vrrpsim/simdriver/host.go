// Package simdriver is the simulator driver of the VRRP agent: it runs
// each instance's vrrpsim.Executor on a simulated host (package sim), on
// virtual time. It feeds the executor received protocol-112 packets,
// timer expiries, track-script results and link changes, and gives it
// the host's interface to act on (vrrpsim.IO). Every protocol decision is
// the state machine's and every action the executor's, exactly as on a
// Linux host (vrrpsim/linux).
package simdriver

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/sim"
	"github.com/lblab/lblab/vrrpsim"
)

// Journal is where the simulated routers of one run record: the run's
// log, with every event passed through one vrrpsim.Chain as it happens,
// so that the owner chain of each virtual address is kept live.
type Journal struct {
	log   history.Sink
	chain vrrpsim.Chain
}

// NewJournal returns a journal writing to log.
func NewJournal(log history.Sink) *Journal { return &Journal{log: log} }

// add writes e, completed by the chain, and what it implies.
func (j *Journal) add(e history.Event) {
	for _, e := range j.chain.Add(e) {
		j.log.Add(e)
	}
}

// Script is a vrrp_script on a simulated host: it "runs" every Interval
// and returns whatever the lab's timeline last set (Host.SetScript).
type Script struct {
	// Name is the vrrp_script name.
	Name string
	// Interval is how often it runs. Default 1 s
	// (vrrpsim.DefaultScriptInterval).
	Interval time.Duration
	// OK is its result until the timeline changes it. Default false, so
	// set it true for a script that starts healthy.
	OK bool
	// Run, when set, is the script's body: called at each run, on the
	// kernel's time, its result is the run's (OK is then unused). A
	// script that acts on the host (vrrpsim.RestartCheck) does so here.
	// Default nil.
	Run func() bool
}

// Host runs the VRRP instances of one simulated host: it receives
// protocol 112 for them, runs their track scripts, and stops and restarts
// them with the host.
type Host struct {
	host    *sim.Host
	k       *sim.Kernel
	journal *Journal
	agents  []*agent
	// scripts run in the order they were added: a list, not a map, so
	// that scripts due at the same time report in the same order on
	// every run.
	scripts []*script
	up      bool // agents are running
	// paused agents (SIGSTOP) run no timers; packets wait in the socket
	// buffer until they resume.
	paused bool
	queue  []queued
}

// queued is a packet that arrived while the agents were paused.
type queued struct {
	in *sim.Iface
	p  sim.Packet
}

// queueMax is how many packets a paused agent's socket buffer holds (a
// default Linux receive buffer holds a few hundred adverts).
const queueMax = 256

type script struct {
	Script
	timer sim.Timer
}

// agent is one instance: its executor and the simulated interface it
// acts on (its vrrpsim.IO).
type agent struct {
	h     *Host
	ifc   *sim.Iface
	x     *vrrpsim.Executor
	timer sim.Timer
	links []*sim.Iface // the links the instance tracks
}

// NewHost prepares host to run VRRP instances; they record in journal.
func NewHost(k *sim.Kernel, host *sim.Host, journal *Journal) *Host {
	h := &Host{host: host, k: k, journal: journal}
	host.Listen(vrrpsim.Protocol, h.receive)
	host.OnDown(func() { h.paused, h.queue = false, nil; h.halt("host crashed") })
	host.OnUp(func() { h.Start() })
	return h
}

// AddScript declares a vrrp_script on the host; scripts run in the order
// they are added. Adding a name again replaces that script in its place.
func (h *Host) AddScript(s Script) {
	if s.Interval <= 0 {
		s.Interval = vrrpsim.DefaultScriptInterval
	}
	if old := h.script(s.Name); old != nil {
		old.Script = s
		return
	}
	h.scripts = append(h.scripts, &script{Script: s})
}

// script returns the script named name, or nil.
func (h *Host) script(name string) *script {
	for _, s := range h.scripts {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// AddInstance adds a VRRP instance on the host's interface ifname (which
// becomes cfg.Interface, tracked unless cfg.DontTrackPrimary). A zero
// cfg.PrimaryIP (keepalived's unicast_src_ip unset) is the interface's
// address. It starts with Start. The links it tracks tell it when they go
// down or up.
func (h *Host) AddInstance(ifname string, cfg vrrpsim.Config) error {
	ifc := h.host.Iface(ifname)
	if ifc == nil {
		return fmt.Errorf("host %s has no interface %s", h.host.Name(), ifname)
	}
	if !cfg.PrimaryIP.IsValid() {
		cfg.PrimaryIP = ifc.Addr().Addr()
	}
	cfg.Interface = ifname
	for _, t := range cfg.Tracks {
		if h.script(t.Name) == nil {
			return fmt.Errorf("instance %s tracks unknown script %s", cfg.Name, t.Name)
		}
	}
	a := &agent{h: h, ifc: ifc}
	for _, t := range cfg.TrackedLinks() {
		l := h.host.Iface(t.Name)
		if l == nil {
			return fmt.Errorf("instance %s tracks interface %s, which host %s does not have", cfg.Name, t.Name, h.host.Name())
		}
		a.links = append(a.links, l)
	}
	x, err := vrrpsim.NewExecutor(h.host.Name(), cfg, a)
	if err != nil {
		return err
	}
	a.x = x
	h.agents = append(h.agents, a)
	for _, l := range a.links {
		l.OnLink(func(up bool) {
			// A stopped or frozen agent reads the link state when it
			// starts or thaws.
			if h.up && !h.paused {
				a.x.LinkChange(h.k.Now(), l.Name(), up)
				a.rearm()
			}
		})
	}
	return nil
}

// syncLinks tells the executor the current state of every link it
// tracks (nothing happens for links that did not change).
func (a *agent) syncLinks(now time.Duration) {
	for _, l := range a.links {
		a.x.LinkChange(now, l.Name(), l.Up())
	}
	a.rearm()
}

// Start starts (or restarts) every instance as a freshly started
// keepalived: new state machines, no virtual addresses configured, scripts
// running from now.
func (h *Host) Start() {
	if h.up || !h.host.Up() {
		return
	}
	h.up = true
	now := h.k.Now()
	for _, a := range h.agents {
		for _, v := range a.x.Config().VIPs {
			a.ifc.RemoveAddr(v.Addr())
		}
		a.ifc.JoinGroup(vrrpsim.GroupAddr)
		a.x.Reset()
		a.syncLinks(now) // recorded before startup, as keepalived reads them
		a.x.Startup(now)
		a.rearm()
	}
	h.runScripts(now, false)
}

// runScripts runs every script every Interval from now: first at once, or
// with wait one Interval from now.
func (h *Host) runScripts(now time.Duration, wait bool) {
	for _, s := range h.scripts {
		at := now
		if wait {
			at += s.Interval
		}
		var run func()
		run = func() {
			s.timer = h.k.After(s.Interval, run)
			ok := s.OK
			if s.Run != nil {
				ok = s.Run()
			}
			for _, a := range h.agents {
				a.x.TrackResult(h.k.Now(), s.Name, ok)
				a.rearm()
			}
		}
		s.timer = h.k.At(at, run)
	}
}

// Stop shuts every instance down cleanly (keepalived stopping): a master
// sends priority 0 and releases its addresses.
func (h *Host) Stop() {
	if !h.up {
		return
	}
	now := h.k.Now()
	for _, a := range h.agents {
		a.x.Shutdown(now)
	}
	h.halt("")
}

// halt stops every timer; with a reason it also records that the agents
// died without a word (their state machines cannot say so themselves).
func (h *Host) halt(reason string) {
	if !h.up {
		return
	}
	h.up = false
	h.stopTimers()
	if reason != "" {
		for _, a := range h.agents {
			a.x.Halt(h.k.Now(), reason)
		}
	}
}

// Pause freezes every agent of the host, as SIGSTOP does: no timer fires
// and received packets wait in the socket buffer.
func (h *Host) Pause() {
	if !h.up || h.paused {
		return
	}
	h.paused = true
	h.stopTimers()
}

// stopTimers stops every script timer and every executor's timer.
func (h *Host) stopTimers() {
	for _, s := range h.scripts {
		s.timer.Stop()
	}
	for _, a := range h.agents {
		a.timer.Stop()
	}
}

// Resume thaws the agents, as SIGCONT does: overdue timers (the state
// machine's and the second GARP burst) fire at once, then the packets
// that waited are handled in order, and scripts run again from now.
func (h *Host) Resume() {
	if !h.paused {
		return
	}
	h.paused = false
	if !h.up {
		return
	}
	for _, a := range h.agents {
		a.rearm() // an overdue deadline fires now
	}
	queue := h.queue
	h.queue = nil
	h.k.After(0, func() {
		for _, a := range h.agents {
			a.syncLinks(h.k.Now()) // link changes wait in the netlink socket
		}
		for _, q := range queue {
			h.receive(q.in, q.p)
		}
	})
	h.runScripts(h.k.Now(), true)
}

// SetScript sets what the script name returns from its next run on.
func (h *Host) SetScript(name string, ok bool) error {
	s := h.script(name)
	if s == nil {
		return fmt.Errorf("host %s has no vrrp_script %s", h.host.Name(), name)
	}
	s.OK = ok
	return nil
}

// Stats returns how many adverts the host's instances sent (one per
// destination) and how many received packets they discarded.
func (h *Host) Stats() (sent, dropped int) {
	for _, a := range h.agents {
		s, d := a.x.Counts()
		sent += s
		dropped += d
	}
	return sent, dropped
}

// RecordDrops writes, now, one history.KindVRRPStats event per instance
// and drop cause (vrrpsim.Stat.IsDrop) that discarded at least one advert
// since the instance last started, with its count: the record of why
// adverts were ignored (a wrong password, interval or TTL). A run whose
// routers discarded nothing gets no event. Call it once, at the end of a
// run.
func (h *Host) RecordDrops() {
	now := history.Stamp(h.k.Now())
	for _, a := range h.agents {
		cfg := a.x.Config()
		for _, ev := range a.x.Router().Stats().Events(now, h.host.Name(), cfg.Name, int(cfg.VRID), true) {
			h.journal.add(ev)
		}
	}
}

// Routers returns the state machines of the host's instances, for tests.
func (h *Host) Routers() []*vrrpsim.Router {
	var rs []*vrrpsim.Router
	for _, a := range h.agents {
		rs = append(rs, a.x.Router())
	}
	return rs
}

// receive hands a packet to the instance of its VRID on that interface;
// like keepalived, packets for an unknown VRID are ignored.
func (h *Host) receive(in *sim.Iface, p sim.Packet) {
	if !h.up || len(p.Payload) < 2 {
		return
	}
	if h.paused {
		if len(h.queue) < queueMax {
			h.queue = append(h.queue, queued{in, p})
		}
		return
	}
	for _, a := range h.agents {
		if a.ifc == in && a.x.Config().VRID == p.Payload[1] {
			a.x.Receive(h.k.Now(), vrrpsim.Received{Src: p.Src, Dst: p.Dst, TTL: p.TTL, Payload: p.Payload})
			a.rearm()
		}
	}
}

// rearm sets the agent's one timer to the executor's next deadline.
func (a *agent) rearm() {
	a.timer.Stop()
	if at, ok := a.x.Deadline(); ok {
		a.timer = a.h.k.At(at, func() {
			a.x.Tick(a.h.k.Now())
			a.rearm()
		})
	}
}

// The agent is its executor's vrrpsim.IO on the simulated interface.

// Send sends one advert on the instance's interface (TTL 255).
func (a *agent) Send(src, dst netip.Addr, b []byte) error {
	a.ifc.Send(sim.Packet{Src: src, Dst: dst, Proto: vrrpsim.Protocol, TTL: 255, Payload: b})
	return nil
}

// AddVIP adds the address to the interface.
func (a *agent) AddVIP(v netip.Prefix) error { a.ifc.AddAddr(v.Addr()); return nil }

// RemoveVIP removes the address from the interface.
func (a *agent) RemoveVIP(v netip.Prefix) error { a.ifc.RemoveAddr(v.Addr()); return nil }

// GARP sends one gratuitous ARP on the segment.
func (a *agent) GARP(v netip.Addr) error { a.ifc.GratuitousARP(v); return nil }

// Notify runs nothing: a simulated host has no processes, and the
// executor has recorded each command in the history.
func (a *agent) Notify([][]string, vrrpsim.State) {}

// Record writes the event to the run's journal.
func (a *agent) Record(e history.Event) { a.h.journal.add(e) }

// Logf drops the line: the simulator's record is the history.
func (a *agent) Logf(string, ...any) {}
