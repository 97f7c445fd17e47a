// Package server is the load balancer's real data plane: HTTP/1.1
// listeners on real sockets that route each request to a server group
// and forward it over pooled keep-alive connections.
//
// Every decision is made by the same cores the simulator drives
// (proxy/simproxy): proxy/balance picks the server (Next, Take for
// persistence, Done with the try's failure), proxy/attempt decides after
// each try whether to pass the request on and with which status it ends,
// and proxy/health turns probes on real timers into up/down transitions.
// The server adds only I/O: parsing, forwarding, timeouts, pools.
//
// The forwarder is written on net.Conn for speed: it parses only the
// request line and the fields it acts on, copies the other header lines
// through, streams bodies in both directions (Content-Length and chunked,
// re-framed), and reuses its buffers, so the hot path of a keep-alive
// request allocates nothing. A request costs the system calls nginx makes
// (two reads, two writes): the write of the request to the server and the
// last write of a response to the client are made in a way that waits
// for the answer without a read that would find nothing (see rawIO).
//
// Limits and defaults: a request header line of at most 8 KiB and a header
// of at most 16 KiB and 100 fields (else 431); 10 s for a whole request
// header from its first byte (the slowloris cut, HeaderTimeout); 75 s for
// an idle keep-alive client (IdleTimeout); 60 s for a blocked write to a
// client or read of a request body (SendTimeout); per server, up to 128
// idle connections kept for 30 s. Request bodies up to 64 KiB are read
// before the first try (as nginx buffers them) so that a failed try can be
// passed on; a larger or chunked body streams, and a try that began
// sending it is the request's last.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/flow"
)

// Options are the server-level settings that a proxy.Config does not
// hold. The zero value gives the defaults.
type Options struct {
	// HeaderTimeout is how long a client may take to send a whole request
	// header, from its first byte (nginx's client_header_timeout): a
	// slowloris client is cut after it. Default 10s.
	HeaderTimeout time.Duration
	// IdleTimeout is how long a keep-alive client connection may wait for
	// its next request (nginx's keepalive_timeout). Default 75s.
	IdleTimeout time.Duration
	// SendTimeout bounds a blocked write to a client and a blocked read of
	// a request body (nginx's send_timeout and client_body_timeout), and a
	// blocked write of a request body to a server. Default 60s.
	SendTimeout time.Duration
	// MaxIdlePerServer is how many idle keep-alive connections to each
	// server are kept. Default 128.
	MaxIdlePerServer int
	// UpstreamIdleTimeout is how long an idle connection to a server is
	// kept. Default 30s.
	UpstreamIdleTimeout time.Duration
	// UDPIdleTimeout is how long a UDP session (a client address) lives
	// without a datagram either way. Default 30s.
	UDPIdleTimeout time.Duration
	// UDPMaxSessions bounds the UDP sessions of one listener; datagrams of
	// new clients beyond it are dropped. Default 10000.
	UDPMaxSessions int
	// Certificates are the certificates of https listeners, picked by the
	// client's server name (SNI); the first is the default.
	Certificates []Certificate
	// RedirectHTTP, when set, is an address (":80") where every request is
	// answered 301 to the same host and path on https.
	RedirectHTTP string
	// Admin, when set, is the address of the admin listener (/status,
	// /metrics).
	Admin string
	// Bind is the address of the listeners whose configuration names
	// none (proxy.Listener.Address): an IP address (0.0.0.0 for every
	// IPv4 address, :: for every IPv6 one) or a host name. Default
	// 127.0.0.1, loopback only.
	Bind string
	// Listen, when set, binds a listener in place of net.Listen (tests
	// listen on 127.0.0.1:0).
	Listen func(l proxy.Listener) (net.Listener, error)
	// ListenPacket, when set, binds a udp listener in place of
	// net.ListenPacket.
	ListenPacket func(l proxy.Listener) (net.PacketConn, error)
	// Dial, when set, connects to servers in place of a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Hosts maps a server's host name, as its address names it ("p1" in
	// "p1:80"), to the IP address connected to, as an /etc/hosts of the
	// proxy's own would (curl's --resolve): the server keeps its name in
	// the history, the status and the logs. Names not in the map are
	// resolved as usual. Default none.
	Hosts map[string]netip.Addr
	// History, when set, receives the history as JSON Lines: a request
	// event per request and a health event per transition.
	History io.Writer
	// Logger logs; default slog.Default().
	Logger *slog.Logger
	// Epoch, when set, is the time the proxy's clock and so the
	// history's t count from (a run that merges several histories gives
	// them one origin); default when New is called. It may be ahead (the
	// run's time 0, a moment after the proxy is ready): active checks
	// then start at it, as the simulator's start at its time 0.
	Epoch time.Time
	// Seed, when set, puts each server's first active health probe at its
	// phase drawn from the seed (health.Phase of the seed, the group's and
	// the server's names, uniform in [0, interval)), where the simulator
	// given the same seed puts it, so that a real run and a simulated one
	// detect a fault after the same delay. Default (nil): the probes of a
	// group of n servers are staggered, server i's first at i × interval
	// / n after the checks start, the same at every start (as HAProxy
	// spreads its first checks).
	Seed *uint64
}

// resolve returns addr ("HOST:PORT") with HOST replaced by its entry in
// o.Hosts, or addr as it is.
func (o *Options) resolve(addr string) string {
	if len(o.Hosts) == 0 {
		return addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip, ok := o.Hosts[host]; ok {
		return net.JoinHostPort(ip.String(), port)
	}
	return addr
}

func (o *Options) defaults() {
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 75 * time.Second
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 60 * time.Second
	}
	if o.MaxIdlePerServer <= 0 {
		o.MaxIdlePerServer = 128
	}
	if o.UpstreamIdleTimeout <= 0 {
		o.UpstreamIdleTimeout = 30 * time.Second
	}
	if o.UDPIdleTimeout <= 0 {
		o.UDPIdleTimeout = 30 * time.Second
	}
	if o.UDPMaxSessions <= 0 {
		o.UDPMaxSessions = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Bind == "" {
		o.Bind = "127.0.0.1"
	}
}

// Server is the data plane of one proxy.Config (replaced by Reload).
type Server struct {
	opt   Options
	log   *slog.Logger
	start time.Time
	tls   *tls.Config // nil without certificates

	// rmu serialises Start, Reload and Shutdown, and guards the fields
	// below it that they change.
	rmu       sync.Mutex
	cfg       *proxy.Config
	groups    map[string]*group
	upstreams map[string]*upstream
	listeners []*listener
	genStop   context.CancelFunc // stops the current groups' health checks

	hist *history.Writer
	base *stats // requests without a group (bad headers)

	shutting atomic.Bool
	started  bool

	mu     sync.Mutex
	conns  map[*conn]struct{}
	connWG sync.WaitGroup

	acceptWG sync.WaitGroup
	hcWG     sync.WaitGroup
	hcCtx    context.Context
	hcStop   context.CancelFunc
	// dialCtx ends when Shutdown cuts the requests in flight.
	dialCtx    context.Context
	dialCancel context.CancelFunc

	side     []*http.Server // redirect and admin listeners
	sideAddr map[string]net.Addr
}

// listener is a listener at run time: its socket stays across reloads
// while the port and protocol stay; its routes are swapped.
type listener struct {
	proto string
	key   string // transport/port
	ln    net.Listener
	pc    net.PacketConn
	udp   *udpProxy
	rt    atomic.Pointer[routes]
}

// routes are a listener's configuration of one generation.
type routes struct {
	cfg    *proxy.Listener
	name   string
	routes flow.Routes[*group]
}

func listenerKey(lc *proxy.Listener) string {
	t := "tcp"
	if lc.Protocol == proxy.ProtoUDP {
		t = "udp"
	}
	return t + "/" + lc.Protocol + "/" + lc.Address + "/" + strconv.Itoa(lc.Port)
}

// listenOn returns the network and address to bind lc to: its own
// address or the Bind option, with the family's network for an IP
// address (tcp6 for ::, which then takes IPv6 only, as nginx's [::]).
func (s *Server) listenOn(lc *proxy.Listener) (network, addr string) {
	network = "tcp"
	if lc.Protocol == proxy.ProtoUDP {
		network = "udp"
	}
	host := lc.Address
	if host == "" {
		host = s.opt.Bind
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Is4() {
			network += "4"
		} else {
			network += "6"
		}
	}
	return network, net.JoinHostPort(host, strconv.Itoa(lc.Port))
}

// New builds the server for cfg, which must pass proxy.Validate.
func New(cfg *proxy.Config, opt Options) (*Server, error) {
	opt.defaults()
	start := time.Now()
	if !opt.Epoch.IsZero() {
		// Keep the monotonic clock: the epoch's wall time, as a reading
		// of now plus the time to it.
		start = start.Add(opt.Epoch.Sub(start))
	}
	s := &Server{opt: opt, log: opt.Logger, start: start,
		upstreams: map[string]*upstream{}, conns: map[*conn]struct{}{}, base: newStats(), sideAddr: map[string]net.Addr{}}
	s.dialCtx, s.dialCancel = context.WithCancel(context.Background())
	s.hcCtx, s.hcStop = context.WithCancel(context.Background())
	if len(opt.Certificates) > 0 {
		s.tls = tlsConfig(opt.Certificates)
	}
	groups, rts, err := s.build(cfg)
	if err != nil {
		return nil, err
	}
	s.cfg, s.groups = cfg, groups
	for _, rt := range rts {
		l := &listener{proto: rt.cfg.Protocol, key: listenerKey(rt.cfg)}
		l.rt.Store(rt)
		s.listeners = append(s.listeners, l)
	}
	if opt.History != nil {
		s.hist = newHistory(opt.History)
	}
	return s, nil
}

// build makes the groups and listener routes of cfg.
func (s *Server) build(cfg *proxy.Config) (map[string]*group, []*routes, error) {
	if ps := proxy.Validate(cfg); len(ps) > 0 {
		var msgs []string
		for _, p := range ps {
			msgs = append(msgs, p.Path+": "+p.Msg)
		}
		return nil, nil, fmt.Errorf("invalid load balancer: %s", strings.Join(msgs, "; "))
	}
	groups := map[string]*group{}
	for i := range cfg.Groups {
		g, err := newGroup(s, &cfg.Groups[i])
		if err != nil {
			return nil, nil, fmt.Errorf("group %s: %w", cfg.Groups[i].Name, err)
		}
		groups[g.name] = g
	}
	var rts []*routes
	for i := range cfg.Listeners {
		lc := &cfg.Listeners[i]
		if lc.Protocol == proxy.ProtoHTTPS && s.tls == nil {
			return nil, nil, fmt.Errorf("listener %s: https needs certificates (--cert HOST=CERT,KEY or --certs DIR)", lc.Name)
		}
		rts = append(rts, &routes{cfg: lc, name: lc.Name,
			routes: flow.NewRoutes(lc, func(name string) *group { return groups[name] })})
	}
	return groups, rts, nil
}

func (s *Server) upstreamFor(addr string) *upstream {
	u := s.upstreams[addr]
	if u == nil {
		u = &upstream{addr: addr, max: s.opt.MaxIdlePerServer, ttl: s.opt.UpstreamIdleTimeout}
		s.upstreams[addr] = u
	}
	return u
}

// now is the time since the server started: the clock of the cores and
// of the history.
func (s *Server) now() time.Duration { return time.Since(s.start) }

// bind opens l's socket.
func (s *Server) bind(l *listener) error {
	lc := l.rt.Load().cfg
	var err error
	if l.proto == proxy.ProtoUDP {
		if s.opt.ListenPacket != nil {
			l.pc, err = s.opt.ListenPacket(*lc)
		} else {
			l.pc, err = net.ListenPacket(s.listenOn(lc))
		}
		return err
	}
	if s.opt.Listen != nil {
		l.ln, err = s.opt.Listen(*lc)
	} else {
		l.ln, err = net.Listen(s.listenOn(lc))
	}
	return err
}

func (l *listener) close() {
	if l.ln != nil {
		l.ln.Close()
	}
	if l.pc != nil {
		l.pc.Close()
	}
}

func (l *listener) addr() net.Addr {
	if l.ln != nil {
		return l.ln.Addr()
	}
	if l.pc != nil {
		return l.pc.LocalAddr()
	}
	return nil
}

// serve starts l's accept loop (or datagram loop).
func (s *Server) serve(l *listener) {
	s.log.Info("listening", "listener", l.rt.Load().name, "protocol", l.proto, "addr", l.addr().String())
	s.acceptWG.Add(1)
	if l.proto == proxy.ProtoUDP {
		l.udp = newUDPProxy(s, l)
		go l.udp.run()
		return
	}
	go s.accept(l)
}

// startHealth starts the active health checks of groups until ctx ends.
func (s *Server) startHealth(ctx context.Context, groups map[string]*group) {
	for _, g := range groups {
		if g.fg.Checker() != nil {
			s.hcWG.Add(1)
			go g.runHealth(ctx, &s.hcWG)
		}
	}
}

// Start binds every listener, then starts serving them and the active
// health checks. It returns once the listeners are bound.
func (s *Server) Start() error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.started {
		return errors.New("server already started")
	}
	for _, l := range s.listeners {
		if err := s.bind(l); err != nil {
			for _, o := range s.listeners {
				o.close()
			}
			return fmt.Errorf("listener %s: %w", l.rt.Load().name, err)
		}
	}
	if err := s.startSide(); err != nil {
		for _, o := range s.listeners {
			o.close()
		}
		return err
	}
	s.started = true
	ctx, cancel := context.WithCancel(s.hcCtx)
	s.genStop = cancel
	s.startHealth(ctx, s.groups)
	for _, l := range s.listeners {
		s.serve(l)
	}
	return nil
}

// Addr returns the address listener name is bound to (nil before Start
// or for an unknown name).
func (s *Server) Addr(name string) net.Addr {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for _, l := range s.listeners {
		if l.rt.Load().name == name {
			return l.addr()
		}
	}
	return nil
}

func (s *Server) accept(l *listener) {
	defer s.acceptWG.Done()
	var delay time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if s.shutting.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, as net/http
			// does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept", "listener", l.rt.Load().name, "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if l.proto == proxy.ProtoHTTPS {
			nc = tls.Server(nc, s.tls)
		}
		c := newConn(s, l, nc)
		s.mu.Lock()
		if s.shutting.Load() {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		if l.proto == proxy.ProtoTCP {
			go c.serveTCP()
		} else {
			go c.serve()
		}
	}
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.connWG.Done()
}

// Shutdown stops accepting, closes idle client connections, lets the
// requests in flight finish (their responses say Connection: close) until
// ctx ends, then closes whatever is left, stops the health checks and
// flushes the history. It returns ctx's error when it had to cut requests.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.shutting.CompareAndSwap(false, true) {
		return errors.New("server already shut down")
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for _, l := range s.listeners {
		l.close()
	}
	for _, h := range s.side {
		h.Close()
	}
	s.acceptWG.Wait()
	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var cut error
drain:
	for {
		s.mu.Lock()
		for c := range s.conns {
			if c.state.Load() == stateIdle {
				c.nc.SetReadDeadline(aLongTimeAgo)
			}
		}
		s.mu.Unlock()
		select {
		case <-done:
			break drain
		case <-ctx.Done():
			cut = ctx.Err()
			s.dialCancel()
			s.mu.Lock()
			for c := range s.conns {
				c.abort()
			}
			s.mu.Unlock()
			<-done
			break drain
		case <-tick.C:
		}
	}
	for _, l := range s.listeners {
		if l.udp != nil {
			l.udp.closeAll()
		}
	}
	s.dialCancel()
	s.hcStop()
	s.hcWG.Wait()
	for _, u := range s.upstreams {
		u.closeIdle(true)
	}
	if s.hist != nil {
		if err := s.hist.Close(); err != nil && cut == nil {
			cut = fmt.Errorf("history: %w", err)
		}
	}
	return cut
}

// Run starts the server, serves until ctx ends, then shuts down with
// drain as the bound on the requests in flight.
func (s *Server) Run(ctx context.Context, drain time.Duration) error {
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	s.log.Info("shutting down", "drain", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	return s.Shutdown(sctx)
}

var aLongTimeAgo = time.Unix(1, 0)
