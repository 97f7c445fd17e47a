// Package prober is the real driver of lblab's network probes (the core
// is loadgen/probe): it sends ICMP echo requests and TCP connects from
// this host's network namespace on each probe's schedule, waits for their
// answers at most their timeout, and writes one history net event a
// probe (probe.Spec.Event) when it ends. lblab probe runs it.
//
// ICMP goes over a raw socket ("ip4:icmp", as root or with CAP_NET_RAW),
// else over an unprivileged ping socket ("udp4", when
// net.ipv4.ping_group_range holds the user's group). Replies are matched
// to their request by identifier and sequence number and by their source;
// with a raw socket an ICMP destination unreachable quoting a request
// ends it as unreachable (a ping socket does not read those: such probes
// time out). Memory is bounded whatever comes back: a probe awaits its
// answer at most its timeout, so at most Timeout/Interval + 1 probes of a
// spec are awaited at once.
package prober

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/probe"
)

// MaxSpecs bounds how many probes one Prober runs.
const MaxSpecs = 64

// Options configure a Prober.
type Options struct {
	// Sink receives the net events (required; it must be safe for
	// concurrent use, as history.Writer is).
	Sink history.Sink
	// Answer names who answered a probe to dst; nil: NeighbourMAC (the
	// MAC address of the neighbour entry the reply came through).
	Answer func(dst netip.Addr) string
	// Log receives the driver's notes (a probe's unexpected error); nil:
	// slog.Default().
	Log *slog.Logger
	// ICMPNetwork forces the ICMP socket: "ip4:icmp" (raw) or "udp4"
	// (ping socket); "": raw, else ping socket.
	ICMPNetwork string
}

// Prober runs a set of probes. Open it (sockets first), then Run it.
type Prober struct {
	specs []probe.Spec
	opt   Options
	conns []*icmpConn // by spec; nil for tcp specs
}

// icmpConn is one icmp spec's socket.
type icmpConn struct {
	c   *icmp.PacketConn
	raw bool
	id  int // the echo identifier (raw sockets; a ping socket's is its port)
}

// Open checks specs (each with its defaults) and opens a socket for each
// icmp probe. Close it when it is not run.
func Open(specs []probe.Spec, opt Options) (*Prober, error) {
	if len(specs) == 0 {
		return nil, i18n.Errorf("no probe to run")
	}
	if len(specs) > MaxSpecs {
		return nil, i18n.Errorf("at most %d probes, got %d", MaxSpecs, len(specs))
	}
	if opt.Sink == nil {
		return nil, i18n.Errorf("probes need a history sink")
	}
	if opt.Answer == nil {
		opt.Answer = NeighbourMAC
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	p := &Prober{opt: opt, conns: make([]*icmpConn, len(specs))}
	for i, s := range specs {
		s = s.Defaults()
		if err := s.Validate(); err != nil {
			return nil, i18n.Errorf("probe %s: %w", s.Name, err)
		}
		p.specs = append(p.specs, s)
		if s.Kind != probe.ICMP {
			continue
		}
		c, err := listenICMP(opt.ICMPNetwork)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.conns[i] = c
	}
	return p, nil
}

// listenICMP opens a raw ICMP socket, else a ping socket (or the one
// network asks for), saying why neither works when neither does.
func listenICMP(network string) (*icmpConn, error) {
	var rawErr, pingErr error
	if network == "" || network == "ip4:icmp" {
		c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		if err == nil {
			return &icmpConn{c: c, raw: true, id: rand.IntN(1 << 16)}, nil
		}
		rawErr = err
		if network != "" {
			return nil, i18n.Errorf("icmp: a raw socket (ip4:icmp) needs root or CAP_NET_RAW: %w", err)
		}
	}
	c, err := icmp.ListenPacket("udp4", "0.0.0.0")
	if err == nil {
		return &icmpConn{c: c}, nil
	}
	pingErr = err
	if network != "" {
		return nil, i18n.Errorf("icmp: a ping socket (udp4) needs the user's group in net.ipv4.ping_group_range: %w", err)
	}
	return nil, i18n.Errorf("icmp: no raw socket (ip4:icmp needs root or CAP_NET_RAW: %v) and no ping socket (udp4 needs the user's group in net.ipv4.ping_group_range: %v)", rawErr, pingErr)
}

// Close closes the sockets.
func (p *Prober) Close() {
	for _, c := range p.conns {
		if c != nil {
			c.c.Close()
		}
	}
}

// Specs returns the probes with their defaults.
func (p *Prober) Specs() []probe.Spec { return p.specs }

// Run sends every probe on its schedule, probe.Schedule{Phase: phase,
// Interval: spec's} counted from epoch (the history's time 0; a probe
// whose send time has passed is skipped), until ctx is done. Probes still
// awaited then write nothing (their end is unknown). It closes the
// sockets and returns once every probe has ended or been given up.
func (p *Prober) Run(ctx context.Context, epoch time.Time, phase time.Duration) error {
	defer p.Close()
	anchor := time.Now()
	offset := anchor.Sub(epoch)
	clock := func() time.Duration { return offset + time.Since(anchor) }
	var wg sync.WaitGroup
	for i, s := range p.specs {
		r := runner{spec: s, opt: p.opt, clock: clock, sched: s.Schedule(phase)}
		r.dst, r.port = s.Dst()
		wg.Go(func() {
			if c := p.conns[i]; c != nil {
				r.runICMP(ctx, c)
			} else {
				r.runTCP(ctx)
			}
		})
	}
	wg.Wait()
	return nil
}

// runner runs one spec.
type runner struct {
	spec  probe.Spec
	opt   Options
	clock func() time.Duration
	sched probe.Schedule
	dst   netip.Addr
	port  uint16
}

// end writes the event of one probe.
func (r *runner) end(res probe.Result) {
	ev := r.spec.Event(res)
	r.opt.Sink.Add(ev)
}

// first returns the first probe to send and its send time: the first
// whose send time is at most half an interval ago (a start a little after
// the epoch still sends probe 0).
func (r *runner) first() (int64, time.Duration) {
	return r.sched.Next(r.clock() - r.sched.Interval/2)
}

// next returns the probe after k and its send time: k+1, or a later one
// when the driver is late by half an interval or more (the probes missed
// are skipped, not sent in a burst).
func (r *runner) next(k int64) (int64, time.Duration) {
	k2, at := r.first()
	if k2 <= k {
		k2, at = k+1, r.sched.At(k+1)
	}
	return k2, at
}

// sleepUntil waits until the run's time at, or until ctx is done (false).
func (r *runner) sleepUntil(ctx context.Context, t *time.Timer, at time.Duration) bool {
	t.Reset(at - r.clock())
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runTCP connects on the schedule, each connect in its own goroutine (at
// most Timeout/Interval + 1 at once), and waits for them when ctx is done.
func (r *runner) runTCP(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	addr := netip.AddrPortFrom(r.dst, r.port).String()
	k, at := r.first()
	for r.sleepUntil(ctx, t, at) {
		wg.Go(func() { r.connect(ctx, addr) })
		k, at = r.next(k)
	}
}

// connect runs one tcp probe: a connect with a deadline of its timeout,
// closed at once when it is set up.
func (r *runner) connect(ctx context.Context, addr string) {
	sent := r.clock()
	dctx, cancel := context.WithTimeout(ctx, r.spec.Timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(dctx, "tcp4", addr)
	ended := r.clock()
	if err == nil {
		c.Close()
		r.end(probe.Result{Sent: sent, Ended: ended, Answered: true, Answer: r.opt.Answer(r.dst)})
		return
	}
	if ctx.Err() != nil {
		return // stopped: the probe's end is unknown
	}
	class := Classify(err)
	if class == probe.Timeout {
		ended = sent + r.spec.Timeout
	}
	r.end(probe.Result{Sent: sent, Ended: ended, Error: class})
}

// Classify returns the failure class of a probe's socket error: refused
// (ECONNREFUSED), reset (ECONNRESET, ECONNABORTED, EPIPE), unreachable
// (EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EADDRNOTAVAIL), timeout
// (a deadline, and any other error).
func Classify(err error) probe.Class {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return probe.Refused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return probe.Reset
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.ENETDOWN), errors.Is(err, syscall.EADDRNOTAVAIL):
		return probe.Unreachable
	}
	return probe.Timeout
}

// echo is an ICMP message read from the socket that may end a probe.
type echo struct {
	at          time.Duration // when it was read
	seq         int
	from        netip.Addr
	unreachable bool // a destination unreachable quoting the request
}

// maxPending bounds the probes of one spec awaited at once: a probe is
// awaited at most its timeout, so at most Timeout/Interval + 1 are, and
// probe.MaxTimeout/probe.MinInterval + 1 in all; a sequence number (16
// bits) names one probe in this window.
const maxPending = int(probe.MaxTimeout/probe.MinInterval) + 1

// runICMP sends echo requests on the schedule and ends each at its reply,
// a destination unreachable, a send error or its timeout.
func (r *runner) runICMP(ctx context.Context, c *icmpConn) {
	echoes := make(chan echo, 64)
	rctx, stopRead := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.read(rctx, c, echoes) })
	defer func() {
		stopRead()
		c.c.Close() // ends a blocked read
		wg.Wait()
	}()

	type awaited struct {
		seq  int
		sent time.Duration
	}
	var queue []awaited          // in send order: the first ends first by timeout
	pending := map[int]awaited{} // by sequence number; removed when answered
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	k, at := r.first()
	var dst net.Addr = &net.IPAddr{IP: r.dst.AsSlice()}
	if !c.raw {
		dst = &net.UDPAddr{IP: r.dst.AsSlice()}
	}
	buf := make([]byte, 0, 64)
	for {
		wake := at
		if len(queue) > 0 {
			wake = min(wake, queue[0].sent+r.spec.Timeout)
		}
		t.Reset(wake - r.clock())
		select {
		case <-ctx.Done():
			return // the probes awaited have no known end
		case e := <-echoes:
			a, ok := pending[e.seq]
			if !ok || e.from != r.dst && !e.unreachable {
				continue // late (ended by its timeout), or not ours
			}
			delete(pending, e.seq)
			if e.unreachable {
				r.end(probe.Result{Sent: a.sent, Ended: e.at, Error: probe.Unreachable})
			} else {
				r.end(probe.Result{Sent: a.sent, Ended: e.at, Answered: true, Answer: r.opt.Answer(r.dst)})
			}
		case <-t.C:
		}
		now := r.clock()
		for len(queue) > 0 && queue[0].sent+r.spec.Timeout <= now {
			a := queue[0]
			queue = queue[1:]
			if p, ok := pending[a.seq]; ok && p.sent == a.sent {
				delete(pending, a.seq)
				r.end(probe.Result{Sent: a.sent, Ended: a.sent + r.spec.Timeout, Error: probe.Timeout})
			}
		}
		if now < at {
			continue
		}
		seq := int(uint16(k))
		m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: c.id, Seq: seq, Data: []byte("lblab probe")}}
		b, err := m.Marshal(buf[:0])
		if err != nil {
			r.opt.Log.Error("probe: marshal echo", "probe", r.spec.Name, "err", err)
			return
		}
		sent := r.clock()
		if _, err := c.c.WriteTo(b, dst); err != nil {
			if ctx.Err() != nil {
				return
			}
			class := Classify(err)
			if class == probe.Timeout {
				r.opt.Log.Warn("probe: send", "probe", r.spec.Name, "err", err)
			}
			r.end(probe.Result{Sent: sent, Ended: r.clock(), Error: class})
		} else if len(queue) < maxPending {
			a := awaited{seq: seq, sent: sent}
			queue = append(queue, a)
			pending[seq] = a
		}
		if len(queue) == 0 {
			queue = nil // let the backing array go after a long outage
		}
		k, at = r.next(k)
	}
}

// read reads ICMP messages until ctx is done or the socket is closed and
// passes on those that may end a probe of this socket.
func (r *runner) read(ctx context.Context, c *icmpConn, out chan<- echo) {
	buf := make([]byte, 1500)
	for {
		n, peer, err := c.c.ReadFrom(buf)
		at := r.clock()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				r.opt.Log.Warn("probe: read", "probe", r.spec.Name, "err", err)
			}
			return
		}
		e, ok := parseEcho(buf[:n], peer, c, r.dst)
		if !ok {
			continue
		}
		e.at = at
		select {
		case out <- e:
		case <-ctx.Done():
			return
		}
	}
}

// parseEcho returns the echo reply to one of c's requests in b (from
// peer), or a destination unreachable quoting one of c's requests to dst.
func parseEcho(b []byte, peer net.Addr, c *icmpConn, dst netip.Addr) (echo, bool) {
	m, err := icmp.ParseMessage(1, b)
	if err != nil {
		return echo{}, false
	}
	switch body := m.Body.(type) {
	case *icmp.Echo:
		if m.Type != ipv4.ICMPTypeEchoReply || c.raw && body.ID != c.id {
			return echo{}, false
		}
		return echo{seq: body.Seq, from: addrOf(peer)}, true
	case *icmp.DstUnreach:
		// The original datagram: its IPv4 header, then the echo
		// request's first 8 bytes (type, code, checksum, id, seq).
		d := body.Data
		if !c.raw || len(d) < 20 {
			return echo{}, false
		}
		ihl := int(d[0]&0x0f) * 4
		if ihl < 20 || len(d) < ihl+8 || d[9] != 1 || netip.AddrFrom4([4]byte(d[16:20])) != dst {
			return echo{}, false
		}
		q := d[ihl:]
		if q[0] != byte(ipv4.ICMPTypeEcho) || int(binary.BigEndian.Uint16(q[4:6])) != c.id {
			return echo{}, false
		}
		return echo{seq: int(binary.BigEndian.Uint16(q[6:8])), from: addrOf(peer), unreachable: true}, true
	}
	return echo{}, false
}

// addrOf returns the IPv4 address of a raw or ping socket's peer.
func addrOf(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}
