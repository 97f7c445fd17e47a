// Package vrrplinux is the Linux driver of the VRRP agent: it feeds each
// instance's vrrpsim.Executor received packets, timer expiries, link
// changes and track-script results from real sockets, timers and
// processes, and gives it the host to act on (vrrpsim.IO): adverts on a
// raw IP protocol-112 socket, virtual addresses with netlink, gratuitous
// ARP on an AF_PACKET socket, notify scripts as processes, history events
// to a file. Every protocol decision is the state machine's and every
// action the executor's; this package only does I/O, exactly as
// vrrpsim/simdriver does on virtual time.
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
	"strings"
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
	// Start, when set, holds the instances back until the agent may
	// start: the agent calls it once its sockets are open, bound to their
	// interfaces and joined to 224.0.0.18 (so that it hears every advert
	// sent from then on), and starts every instance when it returns. A
	// nonzero time it returns replaces Epoch. The runner of a lab starts
	// every agent, waits until each is ready, and releases them together
	// at the lab's time 0, however long each process took to get there.
	// An error from Start ends Run with it. Nil (default): the instances
	// start at once.
	Start func(ctx context.Context) (epoch time.Time, err error)
}

// maxHeard is how many sources of adverts an instance records its first
// advert from (history.KindAgent): the peers of a lab, not a flood.
const maxHeard = 16

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
	outMu   sync.Mutex // one writer at a time on Log
	// hist is the history (nil without Options.History): each event
	// written in one Write of a whole line as it happens.
	hist        *history.Writer
	histErrSaid bool // the first error writing the history was logged
	// statusReq asks the loop, which owns the routers, for a Status.
	statusReq chan chan Status
}

// instance is one executor with the interface it acts on (it is the
// executor's vrrpsim.IO) and the log of its drops.
type instance struct {
	a     *agent
	ifc   *iface
	cfg   vrrpsim.Config
	x     *vrrpsim.Executor
	drops dropLog
	// sent is whether an advert went out (its first is recorded); heard
	// the sources an advert came from (the first of each is recorded, up
	// to maxHeard sources).
	sent  bool
	heard map[netip.Addr]bool
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
	a.setEpoch(opts.Epoch)
	if opts.History != nil {
		a.hist = history.NewWriter(opts.History, history.WriterOptions{EveryLine: true})
	}
	return a
}

// setEpoch makes history stamps count from epoch (zero: the agent's
// start).
func (a *agent) setEpoch(epoch time.Time) {
	if !epoch.IsZero() {
		a.offset = a.start.Round(0).Sub(epoch)
	}
}

// addInstance adds the state machine of in, run on ifc (in.VRRP's
// PrimaryIP must be set).
func (a *agent) addInstance(ifc *iface, in Instance) (*instance, error) {
	vc := in.VRRP
	vc.Interface = in.Interface
	inst := &instance{a: a, ifc: ifc, heard: map[netip.Addr]bool{}}
	x, err := vrrpsim.NewExecutor(a.cfg.Name, vc, inst)
	if err != nil {
		return nil, err
	}
	inst.x, inst.cfg = x, x.Config()
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

// record writes ev, stamped in agent time, to the history in history
// time.
func (a *agent) record(ev history.Event) {
	if a.hist == nil {
		return
	}
	ev.T = a.stamp(ev.T.Duration())
	a.hist.Add(ev)
	if err := a.hist.Err(); err != nil && a.opts.Log != nil {
		a.outMu.Lock()
		defer a.outMu.Unlock()
		if !a.histErrSaid {
			a.histErrSaid = true
			fmt.Fprintf(a.opts.Log, "history: %v\n", err)
		}
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
	// The sockets are open and joined (newAgent): wait for the start.
	ready := a.now()
	if a.opts.Start != nil {
		epoch, err := a.opts.Start(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped before it started: nothing to shut down
			}
			return err
		}
		a.setEpoch(epoch)
	}
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
				in.x.LinkChange(now, st.name, st.up) // recorded for Startup
			}
		}
	}
	now := a.now()
	a.recordBoot(now, now-ready)
	for _, in := range a.insts {
		in.x.Startup(now)
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
				in.x.TrackResult(now, res.name, res.ok)
			}
		case ev := <-a.links:
			now := a.now()
			for _, in := range a.insts {
				in.x.LinkChange(now, ev.name, ev.up)
			}
		case <-timer.C:
			a.tick()
		case failure = <-a.errs:
		}
	}
	a.shutdown()
	return failure
}

// recordBoot records that the agent starts its instances now, its
// sockets having been ready for waited (history.KindAgent).
func (a *agent) recordBoot(now, waited time.Duration) {
	names := make([]string, 0, len(a.ifaces))
	for name := range a.ifaces {
		names = append(names, name)
	}
	slices.Sort(names)
	a.record(history.Event{T: history.Stamp(now), Kind: history.KindAgent, Router: a.cfg.Name,
		Reason: fmt.Sprintf("booted: sockets joined to %v on %s %s before", vrrpsim.GroupAddr, strings.Join(names, ","),
			waited.Round(time.Microsecond))})
}

// deadline is the earliest deadline of every executor and pending drop
// log line.
func (a *agent) deadline() (time.Duration, bool) {
	var at time.Duration
	found := false
	for _, in := range a.insts {
		if d, ok := in.x.Deadline(); ok && (!found || d < at) {
			at, found = d, true
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
		if d, ok := in.x.Deadline(); ok && d <= now {
			in.x.Tick(now)
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
		in.x.Shutdown(now)
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
		first := !in.heard[p.src] && len(in.heard) < maxHeard
		dropped := ""
		for _, act := range in.x.Receive(now, vrrpsim.Received{Src: p.src, Dst: p.dst, TTL: p.ttl, Payload: p.payload}) {
			if act.Kind == vrrpsim.ActDrop {
				dropped = act.Reason
				if l := in.drops.drop(now, act.Cause, p.src, act.Reason); l != "" {
					a.logf("%s: %s", in.cfg.Name, l)
				}
			}
		}
		if first {
			in.heard[p.src] = true
			reason := "first advert received"
			if dropped != "" {
				reason += ", discarded: " + dropped
			}
			a.record(history.Event{T: history.Stamp(now), Kind: history.KindAgent, Router: a.cfg.Name, Instance: in.cfg.Name,
				VRID: int(in.cfg.VRID), Priority: advertPriority(p.payload), Src: p.src.String(), Dst: p.dst.String(), Reason: reason})
		}
	}
}

// advertPriority is the priority field of a VRRP message (v2 and v3
// alike), 0 when it is too short to hold one.
func advertPriority(b []byte) int {
	if len(b) < 3 {
		return 0
	}
	return int(b[2])
}

// The instance is its executor's vrrpsim.IO on a Linux interface.

// Send sends one advert on the interface's raw socket; the first one
// sent is recorded (history.KindAgent).
func (in *instance) Send(src, dst netip.Addr, b []byte) error {
	if err := in.ifc.send(src, dst, b); err != nil {
		return err
	}
	if !in.sent {
		in.sent = true
		in.a.record(history.Event{T: history.Stamp(in.a.now()), Kind: history.KindAgent, Router: in.a.cfg.Name,
			Instance: in.cfg.Name, VRID: int(in.cfg.VRID), Priority: advertPriority(b), Src: src.String(), Dst: dst.String(),
			Reason: "first advert sent"})
	}
	return nil
}

// AddVIP adds the address to the interface with netlink.
func (in *instance) AddVIP(v netip.Prefix) error { return in.ifc.addVIP(v) }

// RemoveVIP removes the address from the interface with netlink.
func (in *instance) RemoveVIP(v netip.Prefix) error { return in.ifc.delVIP(v) }

// GARP broadcasts one gratuitous ARP from the interface.
func (in *instance) GARP(v netip.Addr) error { return in.ifc.garp(v) }

// Notify starts the notify commands; those of STOP are waited for when
// the agent exits.
func (in *instance) Notify(cmds [][]string, to vrrpsim.State) {
	in.a.notify.run(cmds, to == vrrpsim.StateStop, in.a.logf)
}

// Record appends the event to the history file.
func (in *instance) Record(e history.Event) { in.a.record(e) }

// Logf writes a line to the agent's log.
func (in *instance) Logf(format string, args ...any) { in.a.logf(format, args...) }
