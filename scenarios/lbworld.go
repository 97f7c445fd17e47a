package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen"
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/scenarios/labfile"
)

// A load-balancer lab on real hosts.
//
// A load-balancer lab has no topology: the simulator puts its clients,
// its load balancer and its servers on a network of two latencies
// (lab.network: client_latency one way between a client and the load
// balancer, backend_latency between the load balancer and a server). On
// real hosts that network is one L2 segment (made by the world's lbBed:
// a bridge in a namespace of its own in netns, a bridge network in
// docker), in lbNet (198.18.0.0/16, reserved for benchmarking networks
// by RFC 2544, so it meets no address a lab uses): the load balancer is
// a host of its own at 198.18.0.1 running `lblab proxy`; each host name
// the servers' addresses name ("p1" in "p1:80") is a host at 198.18.1.N
// running one `lblab backend --spec` per server of that name; each
// clients: element is a host at 198.18.2.N running `lblab load --spec`,
// holding the source addresses its users come from (addresses:, via:).
// Every host routes everything onto the segment, so a reply finds any
// address a host holds. Where the bed has it, netem on the client's and the server's
// interfaces gives the two latencies (the load balancer's interface has
// none: a client's packet to the load balancer crosses the client's
// interface once, one way). The proxy connects to a server by its lab
// name (--resolve p1=198.18.1.N), so its history names servers as the
// lab does.
//
// The histories are merged by mergeLBHistories: the load generators'
// requests with the proxy's side of each, the proxy's health
// transitions, and the faults as this player applied them through the
// bed, each stamped when it took effect:
//
//	crash      SIGKILL of the server's process, stamped when it is gone
//	           (netns) or when kill(2) returned (docker: lbProc.Kill)
//	power_off  the host's link down (stamped then), and SIGKILL (every
//	           server of that host name goes: it is one machine)
//	hang       every thread stopped (SIGSTOP in netns, the cgroup
//	           freezer in docker), stamped then
//	slow       PUT /_lblab/slow?factor=F on the server's control listener
//	health_fail, health_ok
//	           PUT /_lblab/health?status=503 or 200 on the same
//	health_path
//	           PUT /health-path?group=G&path=P on the proxy's admin API
//	restore    a crashed, powered-off or hung server: the link up and a
//	           fresh process (a hung one is killed first), stamped when
//	           it listens; a slowed one: factor 1 again
////	scale      a service's containers started, or stopped and removed
//	           (lbservices.go; a bed that runs services only)
//
// A tcp listener's clients get a tcp:// target and its servers run the
// tcp echo (lblab backend --mode tcp).
//
// Faults of one moment on different hosts are applied at once
// (lbApartFaults).
//
// as the simulator has them (loadgen/simload's Backend).

// lbNet is the segment of a load-balancer lab on real hosts.
var lbNet = netip.MustParsePrefix("198.18.0.0/16")

// lbProxyIP is the load balancer's address on lbNet; servers' hosts are
// 198.18.1.N and clients' hosts 198.18.2.N.
var lbProxyIP = netip.MustParseAddr("198.18.0.1")

// lbStartLead is how long after the proxy is started the lab's time 0
// is: the proxy gets ready and the load generators start meanwhile, and
// wait for it (--epoch, --start-at), so that every role counts from the
// same time 0 however long its process takes to start.
const lbStartLead = time.Second

// lbReadyWait bounds the wait for a role's process to listen.
const lbReadyWait = 10 * time.Second

// lbFaultsOnly are the fault kinds of load-balancer labs alone (a
// server's); lbFaultKinds all those a load-balancer lab can have on
// real hosts.
var lbFaultsOnly = []labfile.FaultKind{labfile.FaultPowerOff, labfile.FaultHang, labfile.FaultSlow,
	labfile.FaultHealthFail, labfile.FaultHealthOK, labfile.FaultHealthPath}

// lbFaultKinds are the faults a load-balancer lab can have on real
// hosts.
var lbFaultKinds = []labfile.FaultKind{labfile.FaultCrash, labfile.FaultRestore, labfile.FaultHang, labfile.FaultSlow,
	labfile.FaultPowerOff, labfile.FaultHealthFail, labfile.FaultHealthOK, labfile.FaultHealthPath, labfile.FaultScale}

// newLBWorld makes the world of a load-balancer lab whose hosts live in
// bed (the netns and docker factories' New, for a lab with an lb
// section).
func newLBWorld(lab *labfile.Lab, seed uint64, bed lbBed) (World, error) {
	if err := lbRealRefusal(lab); err != nil {
		return nil, err
	}
	if _, ok := bed.(lbServiceBed); len(lab.Services) > 0 && !ok {
		return nil, &labfile.InputError{Err: i18n.Errorf("lab %s: %s", lab.Name, i18n.T("its services run only where the load balancer can watch a Docker engine (--mode docker)"))}
	}
	w := &lbWorld{lab: lab, seed: seed, bed: bed, hosts: map[string]*lbHost{},
		backends: map[string]*lbBackend{}, faults: &history.Log{}}
	w.standbyCtx, w.stopStandbys = context.WithCancel(context.Background())
	w.together = lbApartFaults(faultPlan(lab, seed))
	return w, nil
}

// lbApartFaults reports whether the faults of each moment of plan touch
// each host at most once (the proxy's counting as one host): they are
// then applied at once (wallClock.together), none waiting for another
// (a restore takes a container's start), and the order among them does
// not matter.
func lbApartFaults(plan []faultStep) bool {
	type key struct {
		at   time.Duration
		host string
	}
	seen := map[key]bool{}
	for _, s := range plan {
		host := "lb" // health_path: the proxy's
		if s.f.Kind == labfile.FaultScale {
			host = "server " + s.f.Target // its containers are named for it
		} else if s.f.Kind != labfile.FaultHealthPath {
			h, _, err := net.SplitHostPort(s.f.Target)
			if err != nil {
				return false
			}
			host = "server " + h
		}
		k := key{s.at, host}
		if seen[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

var _ World = (*lbWorld)(nil)

// lbRealRefusal says why a lab cannot run as a load-balancer lab on
// real hosts, or nil.
func lbRealRefusal(lab *labfile.Lab) error {
	refuse := func(why i18n.Text) error {
		return &labfile.InputError{Err: i18n.Errorf("lab %s: %s", lab.Name, why)}
	}
	switch {
	case lab.LB == nil:
		return refuse(i18n.T("it has no load balancer"))
	case !lab.HA() && (lab.VRRP != nil || len(lab.Topology.Hosts) > 0):
		return refuse(i18n.T("a load balancer with a topology or VRRP does not run on real hosts yet"))
	}
	if why := nginxRefusal(lab); !why.IsZero() {
		return refuse(why) // lb_nginx.go
	}
	for _, l := range lab.LB.Listeners {
		if l.Protocol != "" && l.Protocol != "http" && l.Protocol != "tcp" {
			return refuse(i18n.T("listener %s: only http and tcp listeners run on real hosts yet, not %s", l.Name, l.Protocol))
		}
	}
	for _, f := range lab.Faults {
		// A high-availability lab's faults are its hosting world's to
		// refuse (its capabilities): it hands the servers' to lbWorld.
		if !lab.HA() && !slices.Contains(lbFaultKinds, f.Kind) {
			return refuse(i18n.T("fault %s: %s is not available for a load balancer on real hosts", f.Name, string(f.Kind)))
		}
	}
	for i, c := range lab.Clients {
		if p, err := netip.ParsePrefix(c.Addresses); err == nil && p.Overlaps(lbNet) {
			return refuse(i18n.T("clients[%d]: address %s is in %s, the real hosts' own segment", i, p, lbNet))
		}
		if a, err := netip.ParseAddr(c.Via); err == nil && lbNet.Contains(a) {
			return refuse(i18n.T("clients[%d]: address %s is in %s, the real hosts' own segment", i, a, lbNet))
		}
	}
	return nil
}

// lbTCPServer reports whether the server at addr serves a tcp listener
// of lab's load balancer: it runs the tcp echo (lblab backend --mode
// tcp), as the simulator's backend answers a tcp exchange.
func lbTCPServer(lab *labfile.Lab, addr string) bool {
	for _, g := range lab.LB.Groups {
		if !labfile.TCPGroup(lab, g.Name) {
			continue
		}
		for _, s := range g.Servers {
			if s.Address == addr {
				return true
			}
		}
	}
	return false
}

// lbClientAddrs returns the source addresses the clients' connections
// come from that their host must hold (their users' with addresses:, or
// via:), as `lblab load --seed seed` draws them; none when the kernel
// picks the source.
func lbClientAddrs(c workload.Clients, seed uint64) []netip.Addr {
	if c.Check() != nil {
		return nil
	}
	if c.Via != "" {
		if a, err := netip.ParseAddr(c.Via); err == nil {
			return []netip.Addr{a}
		}
		return nil
	}
	if c.Addresses == "" {
		return nil
	}
	c = c.WithDefaults()
	// The draw of loadgen's normaliseSpec: the same seed, the same users.
	addrs := c.UserAddrs(c.Users, loadgen.Draws(c, seed))
	slices.SortFunc(addrs, netip.Addr.Compare)
	return slices.Compact(addrs)
}

// lbWorld is a load-balancer lab being played on real hosts: the one
// player of such labs, over the seam lbBed (network namespaces, Docker
// containers).
type lbWorld struct {
	lab  *labfile.Lab
	seed uint64
	bed  lbBed

	proxy    *lbRole
	nodes    []*lbNode             // a high-availability lab's proxies (lbworld_ha.go), else none
	hosts    map[string]*lbHost    // servers' hosts, by the name in their addresses
	backends map[string]*lbBackend // by address
	services []*lbBackend          // the servers that are services' containers, in the lab's order
	clients  []*lbClients
	files    []lbFile // the proxy's

	// wallClock is the lab's clock; its epoch is the lab's time 0.
	wallClock
	reached time.Duration // where Run stopped
	mu      sync.Mutex    // guards faults: faults of one moment are applied at once
	faults  *history.Log
	admin   string // the proxy's admin address, in its host
	closed  bool
	// clientLat is the one-way latency between clients and the proxy.
	clientLat time.Duration
	// standbyCtx ends the standbys' starts (prepareStandby) at Close,
	// which waits for them (standbys) before the bed goes.
	standbyCtx   context.Context
	stopStandbys context.CancelFunc
	standbys     sync.WaitGroup
	// pidFile, when set, is where each node's running proxy's process
	// id is written at its start (a restarting vrrp_script looks at it:
	// netns_restart.go). Default nil: nowhere.
	pidFile func(host string) string
}

// lbHost is a host of the segment.
type lbHost struct {
	name string
	h    lbBedHost
	ip   netip.Addr
}

// lbRole is a role of the run on its host, with its process once
// started.
type lbRole struct {
	host *lbHost
	p    lbProc
}

// lbBackend is one server of the lab.
type lbBackend struct {
	spec  workload.Backend
	index int
	host  *lbHost
	port  string
	admin string // its control listener, on the host's loopback
	spare string // the other control address: a standby's, while admin's process lives
	spec0 lbFile // its spec file
	// standby delivers the fresh process a restore brings back, started
	// held (lblab backend --hold) once the server went down; nil when
	// none was started.
	standby chan standby
	run     *lbRole
	dead    bool // crashed or powered off
	off     bool // powered off: its host's link is down
	hung    bool
	slow    bool // a slow fault made it slower
	healthy bool
	// tcp: it serves a tcp listener (lblab backend --mode tcp, the echo).
	tcp bool
	// svc: it is a container of a lab's service (lbservices.go); nil
	// for a server of the lab's backends.
	svc *lbService
}

// standby is a held server process started ahead of a restore, or why
// it could not be.
type standby struct {
	run   *lbRole
	admin string
	err   error
}

// lbClients is one clients: element of the lab.
type lbClients struct {
	spec     workload.Clients
	index    int
	host     *lbHost
	listener string // as the simulator names it in request events
	group    string
	target   string
	tcp      bool // its listener is a tcp one: each request a tcp exchange
	spec0    lbFile
	out      string // its --out folder, as its process sees it
	run      *lbRole
}

// Build makes the testbed: the segment, the hosts and the roles' files,
// and starts the servers and the proxy (the load generators start in
// Run); it gives up with ctx's error once ctx is done.
func (w *lbWorld) Build(ctx context.Context) error {
	lab := w.lab
	if lab.HA() {
		return w.buildHA(ctx) // lbworld_ha.go
	}
	if err := w.bed.Open(ctx); err != nil {
		return err
	}
	clientLat, backendLat := time.Millisecond, 250*time.Microsecond // simproxy's defaults
	if nw := lab.Network; nw != nil {
		clientLat, backendLat = nw.ClientLatency.Or(clientLat), nw.BackendLatency.Or(backendLat)
	}
	w.clientLat = clientLat
	// The hosts, planned first and made at once (lbBed.AddHosts): the
	// proxy's, the servers' (one per host name, in the lab's order),
	// the clients'.
	hosts := []*lbHost{{name: "lb", ip: lbProxyIP}}
	w.proxy = &lbRole{host: hosts[0]}
	extra := map[*lbHost][]netip.Prefix{}
	latency := map[*lbHost]time.Duration{}
	for i, b := range lab.Backends {
		hostPart, port, err := net.SplitHostPort(b.Address)
		if err != nil {
			return i18n.Errorf("backends[%d]: %w", i, err)
		}
		h := w.hosts[hostPart]
		if h == nil {
			n := len(w.hosts) + 1
			if n > 254 {
				return i18n.Errorf("more than 254 server hosts")
			}
			h = &lbHost{name: hostPart, ip: netip.AddrFrom4([4]byte{198, 18, 1, byte(n)})}
			if a, err := netip.ParseAddr(hostPart); err == nil {
				// A server named by its address holds it.
				extra[h] = append(extra[h], netip.PrefixFrom(a, a.BitLen()))
			}
			latency[h] = backendLat
			w.hosts[hostPart] = h
			hosts = append(hosts, h)
		}
		if err := w.addBackend(i, b, h, port); err != nil {
			return err
		}
	}
	held := map[netip.Addr]*lbHost{} // the client hosts' source addresses
	for i, c := range lab.Clients {
		if i >= 254 {
			return i18n.Errorf("more than 254 clients: elements")
		}
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("clients%d", i)
		}
		// An address is one host's: clients coming from an address
		// another clients: element's host holds already (one proxy in
		// front of both, via:) run on that host.
		c.Name = name // its draws are the simulator's clients' of that name (loadgen.Draws)
		addrs := lbClientAddrs(c, w.seed)
		var h *lbHost
		for _, a := range addrs {
			if h = held[a]; h != nil {
				break
			}
		}
		if h == nil {
			h = &lbHost{name: name, ip: netip.AddrFrom4([4]byte{198, 18, 2, byte(i + 1)})}
			latency[h] = clientLat
			hosts = append(hosts, h)
		}
		for _, a := range addrs {
			if held[a] == nil {
				held[a] = h
				extra[h] = append(extra[h], netip.PrefixFrom(a, a.BitLen()))
			}
		}
		if err := w.addClients(i, c, h, lbProxyIP.String()); err != nil {
			return err
		}
	}
	lbf, err := specFile("lb.yaml", lab.LB)
	if err != nil {
		return err
	}
	w.files = []lbFile{lbf}
	if err := w.planServices(&hosts); err != nil {
		return err
	}
	if err := w.addHosts(ctx, hosts); err != nil {
		return err
	}
	for _, h := range hosts {
		if len(extra[h]) > 0 {
			if err := h.h.AddAddrs(extra[h]...); err != nil {
				return err
			}
		}
		if err := h.h.Shape(latency[h]); err != nil {
			return err
		}
	}
	if err := w.startServices(ctx); err != nil {
		return err
	}
	if err := w.startServers(ctx); err != nil {
		return err
	}
	return w.startProxy(ctx)
}

// addBackend plans server b, the i-th of the lab, on host h at port.
func (w *lbWorld) addBackend(i int, b workload.Backend, h *lbHost, port string) error {
	be := &lbBackend{spec: b, index: i, host: h, port: port, healthy: true, tcp: lbTCPServer(w.lab, b.Address)}
	var err error
	if be.spec0, err = specFile(fmt.Sprintf("backend%d.yaml", i), map[string]any{"backends": []workload.Backend{b}}); err != nil {
		return err
	}
	w.backends[b.Address] = be
	return nil
}

// addClients plans clients c, the i-th element of the lab, on host h,
// sending to the address to at their listener's port.
func (w *lbWorld) addClients(i int, c workload.Clients, h *lbHost, to string) error {
	l := clientListener(w.lab, c)
	to = net.JoinHostPort(to, strconv.Itoa(l.Port))
	cl := &lbClients{spec: c, index: i, host: h, listener: c.Listener, group: l.Group,
		target: "http://" + to + "/", out: path.Join(w.bed.Dir(), fmt.Sprintf("clients%d", i))}
	if l.Protocol == "tcp" {
		cl.tcp, cl.target = true, "tcp://"+to
	}
	var err error
	if cl.spec0, err = specFile(fmt.Sprintf("clients%d.yaml", i), map[string]any{"clients": []workload.Clients{c}}); err != nil {
		return err
	}
	w.clients = append(w.clients, cl)
	return nil
}

// addHosts makes the planned hosts on the bed (lbBed.AddHosts).
func (w *lbWorld) addHosts(ctx context.Context, hosts []*lbHost) error {
	specs := make([]lbHostSpec, len(hosts))
	for i, h := range hosts {
		specs[i] = lbHostSpec{Name: h.name, IP: h.ip}
	}
	made, err := w.bed.AddHosts(ctx, specs)
	if err != nil {
		return err
	}
	for i, h := range hosts {
		h.h = made[i]
	}
	return nil
}

// clientListener is the listener of lab's load balancer that clients c
// call: the one named, or the first.
func clientListener(lab *labfile.Lab, c workload.Clients) proxy.Listener {
	l := lab.LB.Listeners[0]
	for _, x := range lab.LB.Listeners {
		if c.Listener != "" && x.Name == c.Listener {
			l = x
		}
	}
	return l
}

// startServers starts the lab's servers at once, their control ports
// chosen first, and waits until each listens.
func (w *lbWorld) startServers(ctx context.Context) error {
	lab := w.lab
	for _, b := range lab.Backends {
		w.controlAddr(w.backends[b.Address])
	}
	errs := make([]error, len(lab.Backends))
	var wg sync.WaitGroup
	for i, b := range lab.Backends {
		wg.Go(func() { errs[i] = w.startBackend(ctx, w.backends[b.Address]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// backendSeed is the seed of the i-th server's draws.
func (w *lbWorld) backendSeed(i int) uint64 { return w.seed*1_000_003 + 500_000 + uint64(i) }

// specFile is a role's file name holding v as YAML, leaving out the
// fields the lab did not write, so that lblab reads back the same
// (TestSpecFilesReadBack).
func specFile(name string, v any) (lbFile, error) {
	b, err := yaml.MarshalWithOptions(v, yaml.OmitZero())
	if err != nil {
		return lbFile{}, err
	}
	return lbFile{Name: name, Data: b}, nil
}

// at is where a role finds file f (the bed's folder).
func (w *lbWorld) at(f lbFile) string { return path.Join(w.bed.Dir(), f.Name) }

// lbControlPort is the first port of the servers' control listeners on
// their hosts' loopback, and the proxy's admin port on its own; a port a
// listener of the lab uses is skipped.
const lbControlPort = 19000

// freePort returns the first port from p up that no server of host h
// and no listener of the lab uses.
func (w *lbWorld) freePort(p int, h *lbHost) int {
	used := map[int]bool{}
	for _, b := range w.backends {
		if b.host == h {
			n, _ := strconv.Atoi(b.port)
			used[n] = true
			for _, a := range []string{b.admin, b.spare} {
				if a != "" {
					_, ap, _ := net.SplitHostPort(a)
					n, _ := strconv.Atoi(ap)
					used[n] = true
				}
			}
		}
	}
	for _, l := range w.lab.LB.Listeners {
		used[l.Port] = true
	}
	for used[p] {
		p++
	}
	return p
}

// controlAddr chooses a server's two control listeners' addresses, once:
// its process's, and a standby's (lbWorld.prepareStandby).
func (w *lbWorld) controlAddr(b *lbBackend) {
	if b.admin == "" {
		b.admin = net.JoinHostPort("127.0.0.1", strconv.Itoa(w.freePort(lbControlPort+b.index, b.host)))
		b.spare = net.JoinHostPort("127.0.0.1", strconv.Itoa(w.freePort(lbControlPort+lbStandbyPorts+b.index, b.host)))
	}
}

// lbStandbyPorts is how far above lbControlPort the standbys' control
// listeners start.
const lbStandbyPorts = 500

// backendArgs are lblab backend's arguments for server b with its
// control listener on admin.
func (w *lbWorld) backendArgs(b *lbBackend, admin string) (mode string, args []string) {
	mode = "http"
	if b.tcp {
		mode = "tcp"
	}
	return mode, []string{"backend", "--spec", w.at(b.spec0),
		"--mode", mode, "--listen", net.JoinHostPort(b.host.ip.String(), b.port), "--admin", admin,
		"--seed", strconv.FormatUint(w.backendSeed(b.index), 10), "--grace", "0s"}
}

// prepareStandby starts, in the background, the fresh process that a
// restore of server b brings back: held (lblab backend --hold) on the
// spare control address, so that the restore only orders it to listen
// and the server returns at the restore's moment, not a process (or a
// container: seconds) later. Its health switch is set as the server's
// is at the restore. A server of a service (a container registered by
// its labels) gets none: the engine's start event is its return.
func (w *lbWorld) prepareStandby(b *lbBackend) {
	if b.svc != nil || b.standby != nil {
		return
	}
	ch := make(chan standby, 1)
	b.standby = ch
	admin := b.spare
	mode, args := w.backendArgs(b, admin)
	w.standbys.Add(1)
	go func() {
		defer w.standbys.Done()
		ctx, cancel := context.WithTimeout(w.standbyCtx, lbOpWait)
		defer cancel()
		p, err := b.host.h.Start(ctx, fmt.Sprintf("backend%d", b.index), []lbFile{b.spec0}, append(args, "--hold")...)
		if err == nil {
			err = waitOutputCtx(ctx, p, "backend "+b.spec.Address+": control on ", 1)
		}
		if err != nil {
			err = i18n.Errorf("server %s: standby (%s): %w", b.spec.Address, mode, err)
		}
		ch <- standby{run: &lbRole{host: b.host, p: p}, admin: admin, err: err}
	}()
}

// bringBack returns server b by its standby: it sets the standby's
// health switch as the server's is, orders it to listen, and returns
// when it listens. ok is false when there was no standby or it failed
// (its process is killed): the caller starts a fresh one.
func (w *lbWorld) bringBack(b *lbBackend) (at time.Time, ok bool) {
	if b.standby == nil {
		return time.Time{}, false
	}
	ch := b.standby
	b.standby = nil
	var sb standby
	select {
	case sb = <-ch:
	case <-time.After(lbOpWait):
		return time.Time{}, false
	}
	if sb.err == nil && !b.healthy {
		sb.err = w.control(b.host, sb.admin, "/_lblab/health?status=503")
	}
	if sb.err == nil {
		sb.err = w.control(b.host, sb.admin, "/_lblab/listen")
	}
	if sb.err != nil {
		slog.Warn("restore without its standby", "server", b.spec.Address, "err", sb.err)
		if sb.run.p != nil {
			_, _ = sb.run.p.Kill()
		}
		return time.Time{}, false
	}
	at = time.Now()
	b.run = sb.run
	b.admin, b.spare = sb.admin, b.admin
	b.slow = false
	return at, true
}

// startBackend starts a fresh process for a server and waits until it
// listens.
func (w *lbWorld) startBackend(ctx context.Context, b *lbBackend) error {
	if b.svc != nil {
		return w.startReplica(ctx, b)
	}
	w.controlAddr(b)
	mode, args := w.backendArgs(b, b.admin)
	p, err := b.host.h.Start(ctx, fmt.Sprintf("backend%d", b.index), []lbFile{b.spec0}, args...)
	if err != nil {
		return i18n.Errorf("server %s: %w", b.spec.Address, err)
	}
	b.run = &lbRole{host: b.host, p: p}
	if err := waitOutput(p, "backend "+b.spec.Address+": "+mode+" on ", 1); err != nil {
		return i18n.Errorf("server %s: %w", b.spec.Address, err)
	}
	b.slow = false
	if !b.healthy {
		// A fresh process answers its health endpoint; the simulator's
		// restore leaves the health switch as it was.
		return w.control(b.host, b.admin, "/_lblab/health?status=503")
	}
	return nil
}

// startProxy starts the proxy and waits until every listener listens.
func (w *lbWorld) startProxy(ctx context.Context) error {
	if w.lab.ProxyImpl() == labfile.ImplNginx {
		return w.startNginx(ctx) // lb_nginx.go
	}
	w.admin = net.JoinHostPort("127.0.0.1", strconv.Itoa(w.freePort(lbControlPort-1, nil)))
	// The lab's time 0 is a moment ahead: the proxy's clock counts from
	// it and its checks start then, each server's first probe at its
	// phase drawn from the seed, as in the simulator run of that seed.
	w.epoch = time.Now().Add(w.bed.Lead(len(w.clients)))
	p, err := w.startProxyOn(ctx, w.proxy.host, w.proxyHistory(), w.admin)
	if err != nil {
		return err
	}
	w.proxy.p = p
	return nil
}

// startProxyOn starts a proxy on host h writing its history to hist,
// its admin API on admin, its clock counting from the epoch, and waits
// until every listener listens.
func (w *lbWorld) startProxyOn(ctx context.Context, h *lbHost, hist, admin string) (lbProc, error) {
	args := []string{"proxy", "--config", w.at(w.files[0]), "--history", hist,
		"--bind", "0.0.0.0", "--admin", admin, "--drain", "1s"}
	names := make([]string, 0, len(w.hosts))
	for name := range w.hosts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := netip.ParseAddr(name); err != nil {
			args = append(args, "--resolve", name+"="+w.hosts[name].ip.String())
		}
	}
	args = append(args, "--epoch", strconv.FormatInt(w.epoch.UnixNano(), 10),
		"--seed", strconv.FormatUint(w.seed, 10))
	if len(w.lab.Services) > 0 {
		more, err := w.bed.(lbServiceBed).Discovery()
		if err != nil {
			return nil, i18n.Errorf("proxy: %w", err)
		}
		args = append(args, more...)
	}
	p, err := h.h.Start(ctx, "proxy", w.files, args...)
	if err != nil {
		return nil, i18n.Errorf("proxy on %s: %w", h.name, err)
	}
	if err := waitOutput(p, "msg=listening ", len(w.lab.LB.Listeners)); err != nil {
		return p, i18n.Errorf("proxy on %s: %w", h.name, err)
	}
	return p, nil
}

func (w *lbWorld) proxyHistory() string { return path.Join(w.bed.Dir(), "proxy.history.jsonl") }

// lbPoll is how often waitOutput looks at a process's output.
const lbPoll = 5 * time.Millisecond

// waitOutput waits until p's output holds n lines containing what, or
// the process ends, or lbReadyWait passes.
func waitOutput(p lbProc, what string, n int) error {
	return waitOutputCtx(context.Background(), p, what, n)
}

// waitOutputCtx is waitOutput, giving up with ctx's error once ctx is
// done.
func waitOutputCtx(ctx context.Context, p lbProc, what string, n int) error {
	deadline := time.Now().Add(lbReadyWait)
	for strings.Count(p.Output(), what) < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		if done, code := p.Exited(); done {
			return i18n.Errorf("exited with status %d: %s", code, strings.TrimSpace(p.Output()))
		}
		if time.Now().After(deadline) {
			return i18n.Errorf("not ready after %s: %s", lbReadyWait, strings.TrimSpace(p.Output()))
		}
		time.Sleep(lbPoll)
	}
	return nil
}

// control sends PUT path to a control listener at addr inside host h and
// returns when it answered 200.
func (w *lbWorld) control(h *lbHost, addr, path string) error {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: h.h.Dial}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	req, err := http.NewRequest(http.MethodPut, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return i18n.Errorf("%s: %d %s", path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// startClients starts the load generators, at once, each waiting for
// the lab's time 0.
func (w *lbWorld) startClients(ctx context.Context, dur time.Duration) error {
	errs := make([]error, len(w.clients))
	var wg sync.WaitGroup
	for i, c := range w.clients {
		args := []string{"load", "--spec", w.at(c.spec0), "--seed", strconv.FormatUint(w.seed, 10),
			"--start-at", strconv.FormatInt(w.epoch.UnixNano(), 10), "--out", c.out,
			"-t", dur.String(), "-c", "1000", c.target}
		if c.spec.KeepaliveOr() {
			// Connections are reused, as browsers do (a new one after a
			// reset or a timeout).
			args = append(args[:len(args)-1], "-k", c.target)
		}
		wg.Go(func() {
			p, err := c.host.h.Start(ctx, fmt.Sprintf("clients%d", c.index), []lbFile{c.spec0}, args...)
			if err != nil {
				errs[i] = i18n.Errorf("clients %d: %w", c.index, err)
				return
			}
			c.run = &lbRole{host: c.host, p: p}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if late := time.Since(w.epoch); late > 0 {
		slog.Warn("the load generators started after the lab's time 0", "late", late.String())
	}
	return nil
}

// Run starts the load generators, which wait for the lab's time 0 (the
// clock's epoch, set when the proxy started), applies the faults on time
// (At) and waits until end. When ctx is done first it returns,
// interrupted; Finish then stops the roles.
func (w *lbWorld) Run(ctx context.Context, end time.Duration) (time.Duration, bool, error) {
	if err := w.startClients(ctx, end); err != nil {
		return 0, false, err
	}
	reached, interrupted, err := w.runClock(ctx, end)
	w.reached = max(0, reached)
	return w.reached, interrupted, err
}

// lbClientsStop bounds the wait for the load generators to end after
// SIGINT; lbProxyStop that for the proxy after SIGTERM (it drains for
// one second).
const (
	lbClientsStop = 10 * time.Second
	lbProxyStop   = 5 * time.Second
)

// Finish ends the run: the load generators stop (what is under way is
// cancelled: unknown), then the proxy (it flushes its history); it
// returns the merged history and the requests the clients sent.
func (w *lbWorld) Finish(ctx context.Context) ([]history.Event, int, error) {
	if !w.proxyStarted() {
		return nil, 0, nil // never built
	}
	for _, c := range w.clients {
		if c.run != nil {
			_ = c.run.p.Signal(syscall.SIGINT)
		}
	}
	for _, c := range w.clients {
		// It exits with its own status (1 when a request failed), or dies
		// of the SIGINT when it was already on its way out.
		if c.run != nil && !c.run.p.Wait(lbClientsStop) {
			return nil, 0, i18n.Errorf("clients %d: still running %s after SIGINT: %s", c.index, lbClientsStop, strings.TrimSpace(c.run.p.Output()))
		}
	}
	w.stopProxies()
	if w.clients != nil && w.clients[0].run == nil {
		return nil, 0, nil // stopped before the clients started
	}
	return w.merge(w.reached)
}

// merge reads the roles' histories and merges them (mergeLBHistories).
func (w *lbWorld) merge(end time.Duration) ([]history.Event, int, error) {
	read := func(p lbProc, file string) ([]history.Event, error) {
		b, err := p.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return history.ReadJSONL(bytes.NewReader(b), file)
	}
	var proxy []history.Event
	var err error
	if w.lab.HA() {
		proxy, err = w.nodeHistories() // lbworld_ha.go
	} else if w.lab.ProxyImpl() == labfile.ImplNginx {
		proxy, err = w.nginxHistory()
	} else {
		proxy, err = read(w.proxy.p, w.proxyHistory())
	}
	if err != nil {
		return nil, 0, i18n.Errorf("proxy history: %w", err)
	}
	renameServers(proxy, w.serviceNames())
	var clients []clientHistory
	sent := 0
	for _, c := range w.clients {
		evs, err := read(c.run.p, path.Join(c.out, "history.jsonl"))
		if err != nil {
			return nil, 0, i18n.Errorf("clients %d: history: %w (%s)", c.index, err, strings.TrimSpace(c.run.p.Output()))
		}
		for _, e := range evs {
			if e.Kind == history.KindRequest {
				sent++
			}
		}
		clients = append(clients, clientHistory{Listener: c.listener, Group: c.group, Via: c.spec.Via, Latency: w.clientLat,
			TCP: c.tcp, Slack: w.mergeSlack(), Src: c.spec.From, Events: evs})
	}
	return mergeLBHistories(clients, proxy, w.faults.Events(), end), sent, nil
}

// Apply carries out one fault and records it, stamped when it took
// effect.
func (w *lbWorld) Apply(f labfile.Fault) error {
	began := time.Now()
	effect, err := w.do(f)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults.Add(history.Event{T: history.Stamp(effect.Sub(w.epoch)), Kind: history.KindFault, Fault: string(f.Kind),
		Target: f.Target, Name: f.Name, Reason: fmt.Sprintf("applied in %s", time.Since(began).Round(time.Microsecond))})
	return nil
}

// lbOpWait bounds one fault's work on a role (a fresh process of a
// restore, the bed's calls).
const lbOpWait = 30 * time.Second

// do carries out one fault and returns when it took effect.
func (w *lbWorld) do(f labfile.Fault) (time.Time, error) {
	if f.Kind == labfile.FaultHealthPath {
		err := w.control(w.proxy.host, w.admin, "/health-path?group="+urlQuery(f.Target)+"&path="+urlQuery(f.Path))
		return time.Now(), err
	}
	if f.Kind == labfile.FaultScale {
		return w.scale(f.Target, *f.Count)
	}
	b := w.backends[f.Target]
	if b == nil {
		return time.Time{}, i18n.Errorf("no server %s", f.Target)
	}
	if b.svc != nil && f.Kind != labfile.FaultCrash && f.Kind != labfile.FaultRestore {
		return time.Time{}, i18n.Errorf("fault kind %s is not available for a service's container (%s)", f.Kind, f.Target)
	}
	switch f.Kind {
	case labfile.FaultCrash:
		if b.dead {
			return time.Now(), nil
		}
		at, err := w.kill(b)
		if err == nil {
			w.prepareStandby(b)
		}
		return at, err
	case labfile.FaultPowerOff:
		if err := b.host.h.SetLink(false); err != nil {
			return time.Time{}, err
		}
		at := time.Now()
		b.off = true
		if !b.dead {
			if _, err := w.kill(b); err != nil {
				return time.Time{}, err
			}
			w.prepareStandby(b)
		}
		return at, nil
	case labfile.FaultHang:
		if b.dead || b.hung {
			return time.Now(), nil
		}
		at, err := b.run.p.Freeze()
		if err != nil {
			return time.Time{}, i18n.Errorf("server %s: %w", f.Target, err)
		}
		b.hung = true
		w.prepareStandby(b)
		return at, nil
	case labfile.FaultSlow:
		factor := f.Factor
		if factor == 0 {
			factor = 10 // the lab's default
		}
		if b.dead {
			return time.Now(), nil
		}
		b.slow = true
		err := w.control(b.host, b.admin, "/_lblab/slow?factor="+strconv.FormatFloat(factor, 'g', -1, 64))
		return time.Now(), err
	case labfile.FaultHealthFail, labfile.FaultHealthOK:
		b.healthy = f.Kind == labfile.FaultHealthOK
		if b.dead {
			return time.Now(), nil
		}
		status := "503"
		if b.healthy {
			status = "200"
		}
		err := w.control(b.host, b.admin, "/_lblab/health?status="+status)
		return time.Now(), err
	case labfile.FaultRestore:
		if b.off {
			if err := b.host.h.SetLink(true); err != nil {
				return time.Time{}, err
			}
			b.off = false
		}
		if b.hung && !b.dead {
			if _, err := w.kill(b); err != nil {
				return time.Time{}, err
			}
		}
		if b.dead {
			if at, ok := w.bringBack(b); ok {
				b.dead, b.hung = false, false
				return at, nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), lbOpWait)
			defer cancel()
			if err := w.startBackend(ctx, b); err != nil {
				return time.Time{}, err
			}
			b.dead, b.hung = false, false
			return time.Now(), nil
		}
		if !b.slow {
			return time.Now(), nil
		}
		b.slow = false
		err := w.control(b.host, b.admin, "/_lblab/slow?factor=1")
		return time.Now(), err
	}
	return time.Time{}, i18n.Errorf("fault kind %s is not available here", f.Kind)
}

// kill SIGKILLs a server's process and returns when it took effect
// (lbProc.Kill).
func (w *lbWorld) kill(b *lbBackend) (time.Time, error) {
	at, err := b.run.p.Kill()
	if err != nil {
		return time.Time{}, i18n.Errorf("server %s: %w", b.spec.Address, err)
	}
	b.dead = true
	return at, nil
}

// Close kills every process the run started and removes the testbed
// (lbBed.Close). Later calls do nothing.
func (w *lbWorld) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.stopStandbys()
	w.standbys.Wait()
	return w.bed.Close()
}

// urlQuery escapes a query value.
func urlQuery(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
