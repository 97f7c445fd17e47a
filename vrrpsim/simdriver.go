package vrrpsim

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/sim"
)

// GARPDelay and GARPRepeat are keepalived's garp_master_delay (5 s) and
// garp_master_repeat (5): on becoming master a router sends GARPRepeat
// gratuitous ARPs per address at once and again GARPDelay later.
const (
	GARPDelay  = 5 * time.Second
	GARPRepeat = 5
)

// VIPBook tracks which router holds each virtual address in a run and
// writes a "vip" history event each time that changes.
type VIPBook struct {
	log    *history.Log
	owners map[netip.Addr]string
}

// NewVIPBook returns an empty book writing to log.
func NewVIPBook(log *history.Log) *VIPBook {
	return &VIPBook{log: log, owners: map[netip.Addr]string{}}
}

func (b *VIPBook) set(now time.Duration, vip netip.Addr, owner, reason string) {
	prev := b.owners[vip]
	if prev == owner {
		return
	}
	b.owners[vip] = owner
	b.log.Add(history.Event{T: history.Stamp(now), Kind: history.KindVIP, VIP: vip.String(), Owner: owner, Prev: prev, Reason: reason})
}

// release clears the owner of vip if it is router.
func (b *VIPBook) release(now time.Duration, vip netip.Addr, router, reason string) {
	if b.owners[vip] == router {
		b.set(now, vip, "", reason)
	}
}

// SimScript is a vrrp_script on a simulated host: it "runs" every Interval
// and returns whatever the lab's timeline last set (SimHost.SetScript).
type SimScript struct {
	// Name is the vrrp_script name.
	Name string
	// Interval is how often it runs. Default 1 s.
	Interval time.Duration
	// OK is its result until the timeline changes it. Default false, so
	// set it true for a script that starts healthy.
	OK bool
}

// SimHost runs the VRRP instances of one simulated host: it receives
// protocol 112 for them, runs their track scripts, and stops and restarts
// them with the host.
type SimHost struct {
	host   *sim.Host
	k      *sim.Kernel
	log    *history.Log
	book   *VIPBook
	agents []*simAgent
	// scripts run in the order they were added: a list, not a map, so
	// that scripts due at the same time report in the same order on
	// every run.
	scripts []*simScript
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

type simScript struct {
	SimScript
	timer sim.Timer
}

type simAgent struct {
	h     *SimHost
	ifc   *sim.Iface
	cfg   Config
	r     *Router
	timer sim.Timer
	garp  sim.Timer
	buf   []byte
	links []*sim.Iface // the links the instance tracks
	// sent counts adverts sent (one per destination), dropped received
	// packets discarded.
	sent, dropped int
}

// NewSimHost prepares host to run VRRP instances; history goes to log and
// VIP ownership to book.
func NewSimHost(k *sim.Kernel, host *sim.Host, log *history.Log, book *VIPBook) *SimHost {
	h := &SimHost{host: host, k: k, log: log, book: book}
	host.Listen(Protocol, h.receive)
	host.OnDown(func() { h.paused, h.queue = false, nil; h.halt("host crashed") })
	host.OnUp(func() { h.Start() })
	return h
}

// AddScript declares a vrrp_script on the host; scripts run in the order
// they are added. Adding a name again replaces that script in its place.
func (h *SimHost) AddScript(s SimScript) {
	if s.Interval <= 0 {
		s.Interval = time.Second
	}
	if old := h.script(s.Name); old != nil {
		old.SimScript = s
		return
	}
	h.scripts = append(h.scripts, &simScript{SimScript: s})
}

// script returns the script named name, or nil.
func (h *SimHost) script(name string) *simScript {
	for _, s := range h.scripts {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// AddInstance adds a VRRP instance on the host's interface ifname (which
// becomes cfg.Interface, tracked unless cfg.DontTrackPrimary). It starts
// with Start. The links it tracks tell it when they go down or up.
func (h *SimHost) AddInstance(ifname string, cfg Config) error {
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
	a := &simAgent{h: h, ifc: ifc, cfg: cfg}
	for _, t := range cfg.TrackedLinks() {
		l := h.host.Iface(t.Name)
		if l == nil {
			return fmt.Errorf("instance %s tracks interface %s, which host %s does not have", cfg.Name, t.Name, h.host.Name())
		}
		a.links = append(a.links, l)
	}
	if _, err := New(cfg); err != nil {
		return err
	}
	h.agents = append(h.agents, a)
	for _, l := range a.links {
		l.OnLink(func(up bool) {
			// A stopped or frozen agent reads the link state when it
			// starts or thaws.
			if h.up && !h.paused {
				a.apply(a.r.LinkChange(h.k.Now(), l.Name(), up))
			}
		})
	}
	return nil
}

// syncLinks tells the state machine the current state of every link it
// tracks (nothing happens for links that did not change).
func (a *simAgent) syncLinks(now time.Duration) {
	for _, l := range a.links {
		a.apply(a.r.LinkChange(now, l.Name(), l.Up()))
	}
}

// Start starts (or restarts) every instance as a freshly started
// keepalived: new state machines, no virtual addresses configured, scripts
// running from now.
func (h *SimHost) Start() {
	if h.up || !h.host.Up() {
		return
	}
	h.up = true
	now := h.k.Now()
	for _, a := range h.agents {
		for _, v := range a.cfg.VIPs {
			a.ifc.RemoveAddr(v.Addr())
		}
		a.ifc.JoinGroup(GroupAddr)
		a.r, _ = New(a.cfg) // checked in AddInstance
		a.syncLinks(now)    // recorded before startup, as keepalived reads them
		a.apply(a.r.Startup(now))
	}
	for _, s := range h.scripts {
		s := s
		var run func()
		run = func() {
			s.timer = h.k.After(s.Interval, run)
			for _, a := range h.agents {
				a.apply(a.r.TrackResult(h.k.Now(), s.Name, s.OK))
			}
		}
		s.timer = h.k.At(now, run)
	}
}

// Stop shuts every instance down cleanly (keepalived stopping): a master
// sends priority 0 and releases its addresses.
func (h *SimHost) Stop() {
	if !h.up {
		return
	}
	now := h.k.Now()
	for _, a := range h.agents {
		a.apply(a.r.Shutdown(now))
	}
	h.halt("")
}

// halt stops every timer; with a reason it also records that the agents
// died without a word (their state machines cannot say so themselves).
func (h *SimHost) halt(reason string) {
	if !h.up {
		return
	}
	h.up = false
	h.stopTimers()
	for _, a := range h.agents {
		if reason != "" && a.r.State() != StateStop {
			a.event(StateStop, reason)
		}
	}
}

// Pause freezes every agent of the host, as SIGSTOP does: no timer fires
// and received packets wait in the socket buffer.
func (h *SimHost) Pause() {
	if !h.up || h.paused {
		return
	}
	h.paused = true
	h.stopTimers()
}

// stopTimers stops every script, protocol and GARP timer of the host.
func (h *SimHost) stopTimers() {
	for _, s := range h.scripts {
		s.timer.Stop()
	}
	for _, a := range h.agents {
		a.timer.Stop()
		a.garp.Stop()
	}
}

// Resume thaws the agents, as SIGCONT does: overdue timers fire at once,
// then the packets that waited are handled in order, and scripts run
// again from now.
func (h *SimHost) Resume() {
	if !h.paused {
		return
	}
	h.paused = false
	if !h.up {
		return
	}
	for _, a := range h.agents {
		a.apply(nil) // rearms the timer; an overdue deadline fires now
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
	now := h.k.Now()
	for _, s := range h.scripts {
		s := s
		var run func()
		run = func() {
			s.timer = h.k.After(s.Interval, run)
			for _, a := range h.agents {
				a.apply(a.r.TrackResult(h.k.Now(), s.Name, s.OK))
			}
		}
		s.timer = h.k.At(now+s.Interval, run)
	}
}

// SetScript sets what the script name returns from its next run on.
func (h *SimHost) SetScript(name string, ok bool) error {
	s := h.script(name)
	if s == nil {
		return fmt.Errorf("host %s has no vrrp_script %s", h.host.Name(), name)
	}
	s.OK = ok
	return nil
}

// Stats returns how many adverts the host's instances sent and how many
// received packets they discarded.
func (h *SimHost) Stats() (sent, dropped int) {
	for _, a := range h.agents {
		sent += a.sent
		dropped += a.dropped
	}
	return sent, dropped
}

// RecordDrops writes, now, one history.KindVRRPStats event per instance
// and drop cause (Stat.IsDrop) that discarded at least one advert since
// the host was built, with its count: the record of why adverts were
// ignored (a wrong password, interval or TTL). A run whose routers
// discarded nothing gets no event. Call it once, at the end of a run.
func (h *SimHost) RecordDrops() {
	now := history.Stamp(h.k.Now())
	for _, a := range h.agents {
		if a.r == nil {
			continue // never started (a run stopped before)
		}
		for _, ev := range a.r.Stats().Events(now, h.host.Name(), a.cfg.Name, int(a.cfg.VRID), true) {
			h.log.Add(ev)
		}
	}
}

// Routers returns the state machines of the host's instances, for tests.
func (h *SimHost) Routers() []*Router {
	var rs []*Router
	for _, a := range h.agents {
		rs = append(rs, a.r)
	}
	return rs
}

// receive hands a packet to the instance of its VRID on that interface;
// like keepalived, packets for an unknown VRID are ignored.
func (h *SimHost) receive(in *sim.Iface, p sim.Packet) {
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
		if a.ifc == in && a.cfg.VRID == p.Payload[1] {
			a.apply(a.r.Receive(h.k.Now(), Received{Src: p.Src, Dst: p.Dst, TTL: p.TTL, Payload: p.Payload}))
		}
	}
}

// apply carries out a state machine's actions and rearms its timer.
func (a *simAgent) apply(acts []Action) {
	now := a.h.k.Now()
	for _, act := range acts {
		switch act.Kind {
		case ActSend:
			a.send(act.Advert)
		case ActAddVIPs:
			for _, v := range a.cfg.VIPs {
				a.ifc.AddAddr(v.Addr())
				a.h.book.set(now, v.Addr(), a.h.host.Name(), "became master")
			}
		case ActRemoveVIPs:
			for _, v := range a.cfg.VIPs {
				a.ifc.RemoveAddr(v.Addr())
				a.h.book.release(now, v.Addr(), a.h.host.Name(), "left master")
			}
		case ActGARP:
			a.announce()
			a.garp.Stop()
			a.garp = a.h.k.After(GARPDelay, func() {
				if a.r.State() == StateMaster {
					a.announce()
				}
			})
		case ActState, ActPriority:
			a.log(act)
		case ActDrop:
			a.dropped++
		}
	}
	a.timer.Stop()
	if at, ok := a.r.Deadline(); ok {
		a.timer = a.h.k.At(at, func() { a.apply(a.r.Tick(a.h.k.Now())) })
	}
}

// send sends an advert to the group, or to each unicast peer (the v3
// checksum covers each destination), as the Linux driver does.
func (a *simAgent) send(p *Packet) {
	src := a.ifc.Addr().Addr()
	dsts := a.cfg.UnicastPeers
	if len(dsts) == 0 {
		dsts = []netip.Addr{GroupAddr}
	}
	for _, dst := range dsts {
		b, err := p.AppendMarshal(a.buf[:0], src, dst)
		if err != nil {
			slog.Error("vrrp: cannot encode advert", "router", a.h.host.Name(), "err", err)
			return
		}
		a.buf = b
		a.ifc.Send(sim.Packet{Src: src, Dst: dst, Proto: Protocol, TTL: 255, Payload: b})
		a.sent++
	}
}

// announce sends the gratuitous ARPs for every virtual address. The
// simulated segment learns from the first; the repeats matter only on a
// lossy link, so one is sent per repeat.
func (a *simAgent) announce() {
	for range GARPRepeat {
		for _, v := range a.cfg.VIPs {
			a.ifc.GratuitousARP(v.Addr())
		}
	}
}

func (a *simAgent) log(act Action) {
	to := act.To
	if act.Kind == ActPriority {
		to = a.r.State()
		act.From = to
	}
	a.h.log.Add(history.Event{
		T: history.Stamp(a.h.k.Now()), Kind: history.KindVRRP,
		Router: a.h.host.Name(), Instance: a.cfg.Name, VRID: int(a.cfg.VRID),
		From: act.From.String(), To: to.String(), Priority: int(act.Priority), Reason: act.Reason,
	})
}

// event records a state the driver knows of and the state machine does
// not (a silent death).
func (a *simAgent) event(to State, reason string) {
	a.log(Action{Kind: ActState, From: a.r.State(), To: to, Priority: a.r.Priority(), Reason: reason})
}
