// Package vrrplinux is the Linux driver of the VRRP state machine
// (vrrpsim.Router): it feeds the router received packets, timer expiries
// and track-script results from real sockets, timers and processes, and
// carries out the router's actions: adverts on a raw IP protocol-112
// socket, virtual addresses with netlink, gratuitous ARP on an AF_PACKET
// socket, notify scripts, and history events. Every protocol decision is
// the router's; this package only does I/O, exactly as vrrpsim's
// simulator driver does on virtual time.
package vrrplinux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/vrrpsim"
)

// Options are where an agent reports.
type Options struct {
	// Epoch is the time history stamps count from, so that the agents of
	// one lab share a time base. Zero: the agent's start.
	Epoch time.Time
	// History receives a JSON line per vrrp and vip event, one Write per
	// line (so several agents may append to one file), and, when the
	// agent stops, a vrrp_stats event per nonzero counter of each
	// instance (history.KindVRRPStats). Nil: none.
	History io.Writer
	// Log receives a human-readable line per state change and I/O error,
	// and about discarded packets at most one line per cause and instance
	// every DropLogInterval. Nil: none.
	Log io.Writer
	// Admin, when set, is the TCP address (host:port) where the agent
	// serves GET /status: JSON with each instance's state, priority and
	// counters (Status). Default "": none.
	Admin string
}

// stopNotifyWait is how long an exiting agent waits for its notify_stop
// scripts (keepalived gives them one second).
const stopNotifyWait = time.Second

// Run runs the agent until ctx ends, then shuts every instance down as
// keepalived does on SIGTERM (a master sends priority 0 and removes its
// addresses), waits for the STOP notifies and returns nil. It returns an
// error when it cannot start, or when a socket fails.
func Run(ctx context.Context, cfg Config, opts Options) error {
	a, err := newAgent(cfg, opts)
	if err != nil {
		return err
	}
	defer a.close()
	if opts.Admin != "" {
		stop, err := a.serveAdmin(opts.Admin)
		if err != nil {
			return err
		}
		defer stop()
	}
	return a.loop(ctx)
}

type agent struct {
	cfg    Config
	opts   Options
	start  time.Time     // carries the monotonic clock
	offset time.Duration // start − epoch
	ifaces map[string]*iface
	insts  []*instance

	pkts    chan packet
	results chan trackResult
	links   chan linkEvent
	tracked map[string]bool // the links some instance tracks
	errs    chan error
	done    chan struct{}
	wg      sync.WaitGroup
	notify  notifier
	outMu   sync.Mutex // one writer at a time on History and Log
	// statusReq asks the loop, which owns the routers, for a Status.
	statusReq chan chan Status
}

// instance is one Router with its interface and pending gratuitous ARPs.
type instance struct {
	a         *agent
	ifc       *iface
	cfg       vrrpsim.Config
	notify    map[string]string
	r         *vrrpsim.Router
	garpAt    time.Duration
	garpArmed bool
	buf       []byte
	drops     dropLog
}

type packet struct {
	ifc      *iface
	src, dst netip.Addr
	ttl      uint8
	payload  []byte
}

func newAgent(cfg Config, opts Options) (*agent, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Instances) == 0 {
		return nil, errors.New("vrrp: no instance to run")
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	a := initAgent(cfg, opts)
	scripts := map[string]bool{}
	for _, s := range cfg.Scripts {
		scripts[s.Name] = true
	}
	for _, in := range cfg.Instances {
		for _, t := range in.VRRP.Tracks {
			if !scripts[t.Name] {
				a.close()
				return nil, fmt.Errorf("vrrp_instance %s tracks unknown vrrp_script %s", in.VRRP.Name, t.Name)
			}
		}
		ifc := a.ifaces[in.Interface]
		if ifc == nil {
			var err error
			if ifc, err = openIface(in.Interface); err != nil {
				a.close()
				return nil, err
			}
			a.ifaces[in.Interface] = ifc
		}
		vc := in.VRRP
		// Leftovers of an earlier run (a crash leaves the addresses up).
		for _, v := range vc.VIPs {
			if err := ifc.delVIP(v); err != nil {
				a.close()
				return nil, fmt.Errorf("vrrp_instance %s: remove leftover %v: %w", vc.Name, v, err)
			}
		}
		if !vc.PrimaryIP.IsValid() {
			ip, err := ifc.primaryIPv4(vc.VIPs)
			if err != nil {
				a.close()
				return nil, fmt.Errorf("vrrp_instance %s: %w", vc.Name, err)
			}
			in.VRRP.PrimaryIP = ip
		}
		inst, err := a.addInstance(ifc, in)
		if err != nil {
			a.close()
			return nil, err
		}
		for _, t := range inst.cfg.TrackedLinks() {
			if _, err := linkStates(map[string]bool{t.Name: true}); err != nil {
				a.close()
				return nil, fmt.Errorf("vrrp_instance %s: %w", vc.Name, err)
			}
			a.tracked[t.Name] = true
		}
	}
	return a, nil
}

// initAgent returns an agent of cfg (with its defaults) with no instance
// and no interface open.
func initAgent(cfg Config, opts Options) *agent {
	a := &agent{cfg: cfg, opts: opts, start: time.Now(), ifaces: map[string]*iface{},
		pkts: make(chan packet, 64), results: make(chan trackResult, 16), links: make(chan linkEvent, 16),
		tracked: map[string]bool{}, errs: make(chan error, 1), done: make(chan struct{}),
		statusReq: make(chan chan Status)}
	if !opts.Epoch.IsZero() {
		a.offset = a.start.Round(0).Sub(opts.Epoch)
	}
	return a
}

// addInstance adds the state machine of in, run on ifc (in.VRRP's
// PrimaryIP must be set).
func (a *agent) addInstance(ifc *iface, in Instance) (*instance, error) {
	vc := in.VRRP
	vc.Interface = in.Interface
	r, err := vrrpsim.New(vc)
	if err != nil {
		return nil, err
	}
	inst := &instance{a: a, ifc: ifc, cfg: r.Config(), notify: in.Notify, r: r}
	a.insts = append(a.insts, inst)
	return inst, nil
}

func (a *agent) close() {
	for _, f := range a.ifaces {
		f.close()
	}
}

// now is the time since the agent started, on the monotonic clock: the
// state machine's clock.
func (a *agent) now() time.Duration { return time.Since(a.start) }

// stamp turns agent time into history time (since the epoch).
func (a *agent) stamp(now time.Duration) history.Stamp { return history.Stamp(a.offset + now) }

func (a *agent) logf(format string, args ...any) {
	if a.opts.Log == nil {
		return
	}
	line := fmt.Sprintf("%.6f %s: ", a.stamp(a.now()).Seconds(), a.cfg.Name) + fmt.Sprintf(format, args...) + "\n"
	a.outMu.Lock()
	io.WriteString(a.opts.Log, line)
	a.outMu.Unlock()
}

func (a *agent) record(ev history.Event) {
	if a.opts.History == nil {
		return
	}
	a.outMu.Lock()
	defer a.outMu.Unlock()
	if err := history.WriteJSONL(a.opts.History, []history.Event{ev}); err != nil && a.opts.Log != nil {
		fmt.Fprintf(a.opts.Log, "history: %v\n", err)
	}
}

// loop is the agent's one event loop: it owns every Router.
func (a *agent) loop(ctx context.Context) error {
	sctx, stopScripts := context.WithCancel(context.Background())
	defer func() {
		stopScripts()
		close(a.done)
		a.close()
		a.wg.Wait()
	}()
	for _, f := range a.ifaces {
		a.wg.Add(1)
		go a.read(f)
	}
	for _, s := range a.cfg.Scripts {
		a.wg.Add(1)
		go func() { defer a.wg.Done(); runScript(sctx, s, a.results) }()
	}
	if len(a.tracked) > 0 {
		// Subscribe first, then read: no change falls between the two.
		if err := a.watchLinks(a.tracked, a.links); err != nil {
			return err
		}
		states, err := linkStates(a.tracked)
		if err != nil {
			return err
		}
		now := a.now()
		for _, st := range states {
			for _, in := range a.insts {
				in.apply(now, in.r.LinkChange(now, st.name, st.up)) // recorded for Startup
			}
		}
	}
	now := a.now()
	for _, in := range a.insts {
		in.apply(now, in.r.Startup(now))
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var failure error
	for failure == nil {
		if at, ok := a.deadline(); ok {
			timer.Reset(max(at-a.now(), 0))
		} else {
			timer.Reset(time.Hour)
		}
		select {
		case <-ctx.Done():
			a.shutdown()
			return nil
		case reply := <-a.statusReq:
			reply <- a.status()
		case p := <-a.pkts:
			a.receive(p)
		case res := <-a.results:
			now := a.now()
			for _, in := range a.insts {
				in.apply(now, in.r.TrackResult(now, res.name, res.ok))
			}
		case ev := <-a.links:
			now := a.now()
			for _, in := range a.insts {
				in.apply(now, in.r.LinkChange(now, ev.name, ev.up))
			}
		case <-timer.C:
			a.tick()
		case failure = <-a.errs:
		}
	}
	a.shutdown()
	return failure
}

// deadline is the earliest timer of every router, pending GARP burst and
// pending drop log line.
func (a *agent) deadline() (time.Duration, bool) {
	var at time.Duration
	found := false
	for _, in := range a.insts {
		if d, ok := in.r.Deadline(); ok && (!found || d < at) {
			at, found = d, true
		}
		if in.garpArmed && (!found || in.garpAt < at) {
			at, found = in.garpAt, true
		}
		if d, ok := in.drops.due(); ok && (!found || d < at) {
			at, found = d, true
		}
	}
	return at, found
}

func (a *agent) tick() {
	now := a.now()
	for _, in := range a.insts {
		if d, ok := in.r.Deadline(); ok && d <= now {
			in.apply(now, in.r.Tick(now))
		}
		if in.garpArmed && in.garpAt <= now {
			in.garpArmed = false
			if in.r.State() == vrrpsim.StateMaster {
				in.announce()
			}
		}
		for _, l := range in.drops.flush(now, false) {
			a.logf("%s: %s", in.cfg.Name, l)
		}
	}
}

// shutdown stops every instance, logs the drops not yet logged and
// records each instance's counters.
func (a *agent) shutdown() {
	now := a.now()
	for _, in := range a.insts {
		in.apply(now, in.r.Shutdown(now))
		in.garpArmed = false
	}
	for _, in := range a.insts {
		for _, l := range in.drops.flush(now, true) {
			a.logf("%s: %s", in.cfg.Name, l)
		}
		in.recordStats(now)
	}
	a.notify.waitStops(stopNotifyWait)
}

// read receives protocol 112 on one interface until its socket closes.
func (a *agent) read(f *iface) {
	defer a.wg.Done()
	buf := make([]byte, 65536)
	for {
		h, p, _, err := f.conn.ReadFrom(buf)
		if err != nil {
			select {
			case <-a.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case a.errs <- fmt.Errorf("interface %s: receive: %w", f.name, err):
			default:
			}
			return
		}
		src, ok1 := netip.AddrFromSlice(h.Src.To4())
		dst, ok2 := netip.AddrFromSlice(h.Dst.To4())
		if !ok1 || !ok2 {
			continue
		}
		pk := packet{ifc: f, src: src, dst: dst, ttl: uint8(h.TTL), payload: slices.Clone(p)}
		select {
		case a.pkts <- pk:
		case <-a.done:
			return
		}
	}
}

// receive hands a packet to the instances of its VRID on its interface;
// like keepalived, an unknown VRID is ignored. Every receive check,
// including the destination (multicast, or unicast with unicast peers)
// and the source, is the state machine's.
func (a *agent) receive(p packet) {
	if len(p.payload) < 2 {
		return
	}
	now := a.now()
	for _, in := range a.insts {
		if in.ifc != p.ifc || in.cfg.VRID != p.payload[1] {
			continue
		}
		acts := in.r.Receive(now, vrrpsim.Received{Src: p.src, Dst: p.dst, TTL: p.ttl, Payload: p.payload})
		for _, act := range acts {
			if act.Kind == vrrpsim.ActDrop {
				if l := in.drops.drop(now, act.Cause, p.src, act.Reason); l != "" {
					a.logf("%s: %s", in.cfg.Name, l)
				}
			}
		}
		in.apply(now, acts)
	}
}

// apply carries out the actions a router returned for time now, in order.
func (in *instance) apply(now time.Duration, acts []vrrpsim.Action) {
	a := in.a
	for _, act := range acts {
		switch act.Kind {
		case vrrpsim.ActSend:
			in.send(act.Advert)
		case vrrpsim.ActAddVIPs:
			for _, v := range in.cfg.VIPs {
				if err := in.ifc.addVIP(v); err != nil {
					a.logf("%s: add %v on %s: %v", in.cfg.Name, v, in.ifc.name, err)
					continue
				}
				a.record(history.Event{T: a.stamp(now), Kind: history.KindVIP, VIP: v.Addr().String(), Owner: a.cfg.Name, Reason: "became master"})
			}
		case vrrpsim.ActRemoveVIPs:
			for _, v := range in.cfg.VIPs {
				if err := in.ifc.delVIP(v); err != nil {
					a.logf("%s: remove %v from %s: %v", in.cfg.Name, v, in.ifc.name, err)
					continue
				}
				a.record(history.Event{T: a.stamp(now), Kind: history.KindVIP, VIP: v.Addr().String(), Prev: a.cfg.Name, Reason: "left master"})
			}
		case vrrpsim.ActGARP:
			in.announce()
			in.garpArmed = a.cfg.GARPDelay > 0
			in.garpAt = now + a.cfg.GARPDelay
		case vrrpsim.ActState:
			in.event(now, act.From, act.To, act.Priority, act.Reason)
			a.logf("%s: %v -> %v, priority %d: %s", in.cfg.Name, act.From, act.To, act.Priority, act.Reason)
			a.notify.run(notifyCommands(in.notify, in.cfg.Name, act.To, act.Priority), act.To == vrrpsim.StateStop, a.logf)
		case vrrpsim.ActPriority:
			st := in.r.State()
			in.event(now, st, st, act.Priority, act.Reason)
			a.logf("%s: priority %d: %s", in.cfg.Name, act.Priority, act.Reason)
		case vrrpsim.ActDrop:
			// counted by the router, logged by receive (dropLog)
		}
	}
}

func (in *instance) event(now time.Duration, from, to vrrpsim.State, prio uint8, reason string) {
	in.a.record(history.Event{
		T: in.a.stamp(now), Kind: history.KindVRRP,
		Router: in.a.cfg.Name, Instance: in.cfg.Name, VRID: int(in.cfg.VRID),
		From: from.String(), To: to.String(), Priority: int(prio), Reason: reason,
	})
}

// send marshals and sends an advert to the group, or to each unicast peer
// (the v3 checksum covers each destination).
func (in *instance) send(p *vrrpsim.Packet) {
	dsts := in.cfg.UnicastPeers
	if len(dsts) == 0 {
		dsts = []netip.Addr{vrrpsim.GroupAddr}
	}
	for _, dst := range dsts {
		b, err := p.AppendMarshal(in.buf[:0], in.cfg.PrimaryIP, dst)
		if err != nil {
			in.a.logf("%s: encode advert: %v", in.cfg.Name, err)
			return
		}
		in.buf = b
		if err := in.ifc.send(in.cfg.PrimaryIP, dst, b); err != nil {
			in.a.logf("%s: send advert to %v: %v", in.cfg.Name, dst, err)
		}
	}
}

// announce sends GARPRepeat gratuitous ARPs for every virtual address.
func (in *instance) announce() {
	for range in.a.cfg.GARPRepeat {
		for _, v := range in.cfg.VIPs {
			if err := in.ifc.garp(v.Addr()); err != nil {
				in.a.logf("%s: gratuitous ARP for %v: %v", in.cfg.Name, v.Addr(), err)
				return
			}
		}
	}
}
