package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
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
	"github.com/lblab/lblab/loadgen/workload"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/testbed/netns"
)

// A load-balancer lab on real hosts.
//
// A load-balancer lab has no topology: the simulator puts its clients,
// its load balancer and its servers on a network of two latencies
// (lab.network: client_latency one way between a client and the load
// balancer, backend_latency between the load balancer and a server). On
// real hosts that network is one L2 segment, a bridge in a namespace of
// its own, in lbNet (198.18.0.0/16, reserved for benchmarking networks
// by RFC 2544, so it meets no address a lab uses): the load balancer is
// a host of its own at 198.18.0.1 running `lblab proxy`; each host name
// the servers' addresses name ("p1" in "p1:80") is a host at 198.18.1.N
// running one `lblab backend --spec` per server of that name; each
// clients: element is a host at 198.18.2.N running `lblab load --spec`,
// holding the source addresses its users come from (addresses:, via:).
// Every host routes everything onto the segment, so a reply finds any
// address a host holds. netem on the client's and the server's
// interfaces gives the two latencies (the load balancer's interface has
// none: a client's packet to the load balancer crosses the client's
// interface once, one way). The proxy connects to a server by its lab
// name (--resolve p1=198.18.1.N), so its history names servers as the
// lab does.
//
// The histories are merged by mergeLBHistories: the load generators'
// requests with the proxy's side of each, the proxy's health
// transitions, and the faults as this runner applied them, each stamped
// when it took effect:
//
//	crash      SIGKILL of the server's process, stamped when it is gone
//	power_off  the host's link down (stamped then), and SIGKILL (every
//	           server of that host name goes: it is one machine)
//	hang       SIGSTOP, stamped when every thread is stopped
//	slow       PUT /_lblab/slow?factor=F on the server's control listener
//	health_fail, health_ok
//	           PUT /_lblab/health?status=503 or 200 on the same
//	health_path
//	           PUT /health-path?group=G&path=P on the proxy's admin API
//	restore    a crashed, powered-off or hung server: the link up and a
//	           fresh process (a hung one is killed first), stamped when
//	           it listens; a slow one: factor 1 again
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
	labfile.FaultPowerOff, labfile.FaultHealthFail, labfile.FaultHealthOK, labfile.FaultHealthPath}

// newNetnsLBWorld makes the netns world of a load-balancer lab (the
// netns factory's New, for a lab with an lb section).
func newNetnsLBWorld(lab *labfile.Lab, seed uint64, opt Options) (World, error) {
	if err := lbNetnsRefusal(lab); err != nil {
		return nil, err
	}
	if opt.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		opt.Binary = exe
	}
	return &netnsLB{lab: lab, seed: seed, opt: opt, hosts: map[string]*lbHost{},
		backends: map[string]*lbBackend{}, faults: &history.Log{}}, nil
}

var _ World = (*netnsLB)(nil)

// lbNetnsRefusal says why a lab cannot run as a load-balancer lab on
// real hosts, or nil.
func lbNetnsRefusal(lab *labfile.Lab) error {
	refuse := func(why i18n.Text) error {
		return &labfile.InputError{Err: i18n.Errorf("lab %s: %s", lab.Name, why)}
	}
	switch {
	case lab.LB == nil:
		return refuse(i18n.T("it has no load balancer"))
	case lab.VRRP != nil || len(lab.Topology.Hosts) > 0:
		return refuse(i18n.T("a load balancer with a topology or VRRP does not run on real hosts yet"))
	}
	for _, l := range lab.LB.Listeners {
		if l.Protocol != "" && l.Protocol != "http" {
			return refuse(i18n.T("listener %s: only http listeners run on real hosts yet, not %s", l.Name, l.Protocol))
		}
	}
	for _, f := range lab.Faults {
		if !slices.Contains(lbFaultKinds, f.Kind) {
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
	addrs := c.UserAddrs(c.Users, rand.New(rand.NewPCG(seed, 0)))
	slices.SortFunc(addrs, netip.Addr.Compare)
	return slices.Compact(addrs)
}

// netnsLB is a load-balancer lab being played on real hosts.
type netnsLB struct {
	lab  *labfile.Lab
	seed uint64
	tb   *netns.Testbed
	opt  NetnsOptions

	seg      *netns.Segment
	proxy    *lbRole
	hosts    map[string]*lbHost    // servers' hosts, by the name in their addresses
	backends map[string]*lbBackend // by address
	clients  []*lbClients
	hosts0   []string // host names in the order made

	// wallClock is the lab's clock; its epoch is the lab's time 0.
	wallClock
	reached time.Duration // where Run stopped
	faults  *history.Log
	admin   string // the proxy's admin address, in its namespace
	closed  bool
	// clientLat is the one-way latency between clients and the proxy.
	clientLat time.Duration
}

// lbHost is a host of the segment.
type lbHost struct {
	name string
	h    *netns.Host
	link *netns.Link
	ip   netip.Addr
}

// lbRole is a process of the run with its output.
type lbRole struct {
	host *lbHost
	p    *netns.Process
	out  *tailBuffer
}

// lbBackend is one server of the lab.
type lbBackend struct {
	spec    workload.Backend
	index   int
	host    *lbHost
	port    string
	admin   string // its control listener, on the host's loopback
	specAt  string // its spec file
	run     *lbRole
	dead    bool // crashed or powered off
	off     bool // powered off: its host's link is down
	hung    bool
	healthy bool
}

// lbClients is one clients: element of the lab.
type lbClients struct {
	spec     workload.Clients
	index    int
	host     *lbHost
	listener string // as the simulator names it in request events
	group    string
	target   string
	specAt   string
	out      string // its --out folder
	run      *lbRole
}

// hostName makes a valid, unused namespace name from a lab's name.
var badNameChars = regexp.MustCompile(`[^a-z0-9_-]+`)

func (w *netnsLB) hostName(want string) string {
	base := strings.Trim(badNameChars.ReplaceAllString(strings.ToLower(want), "-"), "-_")
	if base == "" {
		base = "h"
	}
	if len(base) > 24 {
		base = base[:24]
	}
	name := base
	for i := 1; slices.Contains(w.hosts0, name); i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	w.hosts0 = append(w.hosts0, name)
	return name
}

// addHost makes a host on the segment at ip.
func (w *netnsLB) addHost(name string, ip netip.Addr) (*lbHost, error) {
	h, err := w.tb.AddHost(w.hostName(name))
	if err != nil {
		return nil, err
	}
	l, err := w.tb.Connect(h, "eth0", w.seg, netip.PrefixFrom(ip, lbNet.Bits()))
	if err != nil {
		return nil, err
	}
	if err := l.RouteAll(); err != nil {
		return nil, err
	}
	return &lbHost{name: name, h: h, link: l, ip: ip}, nil
}

// shape gives a host's interface its one-way latency. Without netem it
// is left out: the world's capabilities say it has no link shaping, so a
// lab asking for more than its timing tolerance was refused before
// anything started, and the results warn of what is left out
// (Capabilities.Refuse, Unshaped).
func (w *netnsLB) shape(h *lbHost, lat time.Duration) error {
	if lat <= 0 {
		return nil
	}
	err := h.link.Shape(netns.Shape{Latency: lat}, netns.Shape{})
	if errors.Is(err, netns.ErrNoNetem) {
		return nil
	}
	return err
}

// Build makes the testbed: the segment, the hosts and the roles' files,
// and starts the servers and the proxy (the load generators start in
// Run); it gives up with ctx's error once ctx is done.
func (w *netnsLB) Build(ctx context.Context) error {
	lab := w.lab
	var err error
	if w.tb, err = newTestbed(&w.opt); err != nil {
		return err
	}
	if w.seg, err = w.tb.AddSegment("lan"); err != nil {
		return err
	}
	if w.proxy, err = w.role("lb", lbProxyIP); err != nil {
		return err
	}
	clientLat, backendLat := time.Millisecond, 250*time.Microsecond // simproxy's defaults
	if nw := lab.Network; nw != nil {
		clientLat, backendLat = nw.ClientLatency.Or(clientLat), nw.BackendLatency.Or(backendLat)
	}
	w.clientLat = clientLat
	// The servers' hosts, one per host name, in the lab's order.
	for i, b := range lab.Backends {
		if err := ctx.Err(); err != nil {
			return err
		}
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
			if h, err = w.addHost(hostPart, netip.AddrFrom4([4]byte{198, 18, 1, byte(n)})); err != nil {
				return err
			}
			if a, err := netip.ParseAddr(hostPart); err == nil {
				// A server named by its address holds it.
				if err := h.link.AddAddrs(netip.PrefixFrom(a, a.BitLen())); err != nil {
					return err
				}
			}
			if err := w.shape(h, backendLat); err != nil {
				return err
			}
			w.hosts[hostPart] = h
		}
		be := &lbBackend{spec: b, index: i, host: h, port: port, healthy: true,
			specAt: filepath.Join(w.opt.Work, fmt.Sprintf("backend%d.yaml", i))}
		if err := writeSpecFile(be.specAt, map[string]any{"backends": []workload.Backend{b}}); err != nil {
			return err
		}
		w.backends[b.Address] = be
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
		addrs := lbClientAddrs(c, w.loadSeed(i))
		var h *lbHost
		for _, a := range addrs {
			if h = held[a]; h != nil {
				break
			}
		}
		if h == nil {
			if h, err = w.addHost(name, netip.AddrFrom4([4]byte{198, 18, 2, byte(i + 1)})); err != nil {
				return err
			}
			if err := w.shape(h, clientLat); err != nil {
				return err
			}
		}
		var extra []netip.Prefix
		for _, a := range addrs {
			if held[a] == nil {
				held[a] = h
				extra = append(extra, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		if err := h.link.AddAddrs(extra...); err != nil {
			return err
		}
		l := lab.LB.Listeners[0]
		for _, x := range lab.LB.Listeners {
			if c.Listener != "" && x.Name == c.Listener {
				l = x
			}
		}
		cl := &lbClients{spec: c, index: i, host: h, listener: c.Listener, group: l.Group,
			target: "http://" + net.JoinHostPort(lbProxyIP.String(), strconv.Itoa(l.Port)) + "/",
			specAt: filepath.Join(w.opt.Work, fmt.Sprintf("clients%d.yaml", i)),
			out:    filepath.Join(w.opt.Work, fmt.Sprintf("clients%d", i))}
		if err := writeSpecFile(cl.specAt, map[string]any{"clients": []workload.Clients{c}}); err != nil {
			return err
		}
		w.clients = append(w.clients, cl)
	}
	if err := writeSpecFile(filepath.Join(w.opt.Work, "lb.yaml"), lab.LB); err != nil {
		return err
	}
	for _, b := range lab.Backends {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.startBackend(w.backends[b.Address]); err != nil {
			return err
		}
	}
	return w.startProxy()
}

// role makes the host of a role of the run.
func (w *netnsLB) role(name string, ip netip.Addr) (*lbRole, error) {
	h, err := w.addHost(name, ip)
	if err != nil {
		return nil, err
	}
	return &lbRole{host: h}, nil
}

// loadSeed is the seed of the i-th clients: element's load generator.
func (w *netnsLB) loadSeed(i int) uint64 { return w.seed*1_000_003 + uint64(i) }

// backendSeed is the seed of the i-th server's draws.
func (w *netnsLB) backendSeed(i int) uint64 { return w.seed*1_000_003 + 500_000 + uint64(i) }

// writeSpecFile writes v as YAML, leaving out the fields the lab did not
// write, so that lblab reads back the same (TestSpecFilesReadBack).
func writeSpecFile(path string, v any) error {
	b, err := yaml.MarshalWithOptions(v, yaml.OmitZero())
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// lbControlPort is the first port of the servers' control listeners on
// their hosts' loopback, and the proxy's admin port on its own; a port a
// listener of the lab uses is skipped.
const lbControlPort = 19000

// freePort returns the first port from p up that no server of host h
// and no listener of the lab uses.
func (w *netnsLB) freePort(p int, h *lbHost) int {
	used := map[int]bool{}
	for _, b := range w.backends {
		if b.host == h {
			n, _ := strconv.Atoi(b.port)
			used[n] = true
			if b.admin != "" {
				_, ap, _ := net.SplitHostPort(b.admin)
				n, _ := strconv.Atoi(ap)
				used[n] = true
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

// startBackend starts a fresh process for a server and waits until it
// listens.
func (w *netnsLB) startBackend(b *lbBackend) error {
	if b.admin == "" {
		b.admin = net.JoinHostPort("127.0.0.1", strconv.Itoa(w.freePort(lbControlPort+b.index, b.host)))
	}
	out := &tailBuffer{}
	p, err := b.host.h.Start(out, out, w.opt.Binary, "backend", "--spec", b.specAt,
		"--listen", net.JoinHostPort(b.host.ip.String(), b.port), "--admin", b.admin,
		"--seed", strconv.FormatUint(w.backendSeed(b.index), 10), "--grace", "0s")
	if err != nil {
		return i18n.Errorf("server %s: %w", b.spec.Address, err)
	}
	b.run = &lbRole{host: b.host, p: p, out: out}
	if err := waitOutput(p, out, "backend "+b.spec.Address+": http on ", 1); err != nil {
		return i18n.Errorf("server %s: %w", b.spec.Address, err)
	}
	if !b.healthy {
		// A fresh process answers its health endpoint; the simulator's
		// restore leaves the health switch as it was.
		return w.control(b.host, b.admin, "/_lblab/health?status=503")
	}
	return nil
}

// startProxy starts the proxy and waits until every listener listens.
func (w *netnsLB) startProxy() error {
	w.admin = net.JoinHostPort("127.0.0.1", strconv.Itoa(w.freePort(lbControlPort-1, nil)))
	args := []string{"proxy", "--config", filepath.Join(w.opt.Work, "lb.yaml"), "--history", w.proxyHistory(),
		"--bind", "0.0.0.0", "--admin", w.admin, "--drain", "1s"}
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
	// The lab's time 0 is a moment ahead: the proxy's clock counts from
	// it and its checks start then, each server's first probe at its
	// phase drawn from the seed, as in the simulator run of that seed.
	w.epoch = time.Now().Add(lbStartLead)
	args = append(args, "--epoch", strconv.FormatInt(w.epoch.UnixNano(), 10),
		"--seed", strconv.FormatUint(w.seed, 10))
	out := &tailBuffer{}
	p, err := w.proxy.host.h.Start(out, out, w.opt.Binary, args...)
	if err != nil {
		return i18n.Errorf("proxy: %w", err)
	}
	w.proxy.p, w.proxy.out = p, out
	if err := waitOutput(p, out, "msg=listening ", len(w.lab.LB.Listeners)); err != nil {
		return i18n.Errorf("proxy: %w", err)
	}
	return nil
}

func (w *netnsLB) proxyHistory() string { return filepath.Join(w.opt.Work, "proxy.history.jsonl") }

// waitOutput waits until out holds n lines containing what, or the
// process ends, or lbReadyWait passes.
func waitOutput(p *netns.Process, out *tailBuffer, what string, n int) error {
	deadline := time.Now().Add(lbReadyWait)
	for strings.Count(out.String(), what) < n {
		select {
		case <-p.Done():
			return i18n.Errorf("exited with status %d: %s", p.ExitCode(), strings.TrimSpace(out.String()))
		default:
		}
		if time.Now().After(deadline) {
			return i18n.Errorf("not ready after %s: %s", lbReadyWait, strings.TrimSpace(out.String()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// control sends PUT path to a control listener at addr inside host h and
// returns when it answered 200.
func (w *netnsLB) control(h *lbHost, addr, path string) error {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		var c net.Conn
		err := h.h.Do(func() (err error) {
			c, err = (&net.Dialer{}).DialContext(ctx, network, a)
			return err
		})
		return c, err
	}}
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

// startClients starts the load generators, each waiting for the lab's
// time 0.
func (w *netnsLB) startClients(dur time.Duration) error {
	for _, c := range w.clients {
		args := []string{"load", "--spec", c.specAt, "--seed", strconv.FormatUint(w.loadSeed(c.index), 10),
			"--start-at", strconv.FormatInt(w.epoch.UnixNano(), 10), "--out", c.out,
			"-t", dur.String(), "-c", "1000", c.target}
		out := &tailBuffer{}
		p, err := c.host.h.Start(out, out, w.opt.Binary, args...)
		if err != nil {
			return i18n.Errorf("clients %d: %w", c.index, err)
		}
		c.run = &lbRole{host: c.host, p: p, out: out}
	}
	return nil
}

// Run starts the load generators, which wait for the lab's time 0 (the
// clock's epoch, set when the proxy started), applies the faults on time
// (At) and waits until end. When ctx is done first it returns,
// interrupted; Finish then stops the roles.
func (w *netnsLB) Run(ctx context.Context, end time.Duration) (time.Duration, bool, error) {
	if err := w.startClients(end); err != nil {
		return 0, false, err
	}
	reached, interrupted, err := w.runClock(ctx, end)
	w.reached = max(0, reached)
	return w.reached, interrupted, err
}

// Finish ends the run: the load generators stop (what is under way is
// cancelled: unknown), then the proxy (it flushes its history); it
// returns the merged history and the requests the clients sent.
func (w *netnsLB) Finish(ctx context.Context) ([]history.Event, int, error) {
	if w.proxy == nil || w.proxy.p == nil {
		return nil, 0, nil // never built
	}
	for _, c := range w.clients {
		if c.run != nil {
			_ = c.run.p.Signal(syscall.SIGINT)
		}
	}
	for _, c := range w.clients {
		if c.run != nil {
			// It exits with its own status (1 when a request failed), or
			// dies of the SIGINT when it was already on its way out.
			select {
			case <-c.run.p.Done():
			case <-time.After(10 * time.Second):
				return nil, 0, i18n.Errorf("clients %d: still running 10s after SIGINT: %s", c.index, strings.TrimSpace(c.run.out.String()))
			}
		}
	}
	_ = w.proxy.p.Terminate()
	_ = w.proxy.p.Wait(5 * time.Second)
	if w.clients != nil && w.clients[0].run == nil {
		return nil, 0, nil // stopped before the clients started
	}
	return w.merge(w.reached)
}

// merge reads the roles' histories and merges them (mergeLBHistories).
func (w *netnsLB) merge(end time.Duration) ([]history.Event, int, error) {
	read := func(path string) ([]history.Event, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return history.ReadJSONL(f, path)
	}
	proxy, err := read(w.proxyHistory())
	if err != nil {
		return nil, 0, i18n.Errorf("proxy history: %w", err)
	}
	var clients []clientHistory
	sent := 0
	for _, c := range w.clients {
		evs, err := read(filepath.Join(c.out, "history.jsonl"))
		if err != nil {
			return nil, 0, i18n.Errorf("clients %d: history: %w (%s)", c.index, err, strings.TrimSpace(c.run.out.String()))
		}
		for _, e := range evs {
			if e.Kind == history.KindRequest {
				sent++
			}
		}
		clients = append(clients, clientHistory{Listener: c.listener, Group: c.group, Via: c.spec.Via, Latency: w.clientLat, Events: evs})
	}
	return mergeLBHistories(clients, proxy, w.faults.Events(), end), sent, nil
}

// Apply carries out one fault and records it, stamped when it took
// effect.
func (w *netnsLB) Apply(f labfile.Fault) error {
	began := time.Now()
	effect, err := w.do(f)
	if err != nil {
		return err
	}
	w.faults.Add(history.Event{T: history.Stamp(effect.Sub(w.epoch)), Kind: history.KindFault, Fault: string(f.Kind),
		Target: f.Target, Name: f.Name, Reason: fmt.Sprintf("applied in %s", time.Since(began).Round(time.Microsecond))})
	return nil
}

// do carries out one fault and returns when it took effect.
func (w *netnsLB) do(f labfile.Fault) (time.Time, error) {
	if f.Kind == "health_path" {
		err := w.control(w.proxy.host, w.admin, "/health-path?group="+urlQuery(f.Target)+"&path="+urlQuery(f.Path))
		return time.Now(), err
	}
	b := w.backends[f.Target]
	if b == nil {
		return time.Time{}, i18n.Errorf("no server %s", f.Target)
	}
	switch f.Kind {
	case "crash":
		if b.dead {
			return time.Now(), nil
		}
		return w.kill(b)
	case "power_off":
		if err := b.host.link.Down(); err != nil {
			return time.Time{}, err
		}
		at := time.Now()
		b.off = true
		if !b.dead {
			if _, err := w.kill(b); err != nil {
				return time.Time{}, err
			}
		}
		return at, nil
	case "hang":
		if b.dead || b.hung {
			return time.Now(), nil
		}
		if err := b.run.p.Pause(); err != nil {
			return time.Time{}, err
		}
		deadline := time.Now().Add(freezeWait)
		for !stopped(b.run.p.Pid()) {
			if time.Now().After(deadline) {
				return time.Time{}, i18n.Errorf("server %s not stopped %v after SIGSTOP", f.Target, freezeWait)
			}
			time.Sleep(100 * time.Microsecond)
		}
		b.hung = true
		return time.Now(), nil
	case "slow":
		factor := f.Factor
		if factor == 0 {
			factor = 10 // the lab's default
		}
		if b.dead {
			return time.Now(), nil
		}
		err := w.control(b.host, b.admin, "/_lblab/slow?factor="+strconv.FormatFloat(factor, 'g', -1, 64))
		return time.Now(), err
	case "health_fail", "health_ok":
		b.healthy = f.Kind == "health_ok"
		if b.dead {
			return time.Now(), nil
		}
		status := "503"
		if b.healthy {
			status = "200"
		}
		err := w.control(b.host, b.admin, "/_lblab/health?status="+status)
		return time.Now(), err
	case "restore":
		if b.off {
			if err := b.host.link.Up(); err != nil {
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
			if err := w.startBackend(b); err != nil {
				return time.Time{}, err
			}
			b.dead, b.hung = false, false
			return time.Now(), nil
		}
		err := w.control(b.host, b.admin, "/_lblab/slow?factor=1")
		return time.Now(), err
	}
	return time.Time{}, i18n.Errorf("fault kind %s is not available here", f.Kind)
}

// kill SIGKILLs a server's process and returns when it is gone (its
// sockets closed by the kernel).
func (w *netnsLB) kill(b *lbBackend) (time.Time, error) {
	if err := b.run.p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return time.Time{}, err
	}
	select {
	case <-b.run.p.Done():
	case <-time.After(5 * time.Second):
		return time.Time{}, i18n.Errorf("server %s does not die", b.spec.Address)
	}
	b.dead = true
	return time.Now(), nil
}

// Close kills every process the run started and removes the testbed:
// namespaces, links, the work folder. Later calls do nothing.
func (w *netnsLB) Close() error {
	if w.tb == nil || w.closed {
		return nil
	}
	w.closed = true
	for _, b := range w.backends {
		if b.run != nil {
			_ = b.run.p.Kill()
		}
	}
	if w.proxy != nil && w.proxy.p != nil {
		_ = w.proxy.p.Kill()
	}
	for _, c := range w.clients {
		if c.run != nil {
			_ = c.run.p.Kill()
		}
	}
	return w.tb.Cleanup()
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

// tailBuffer keeps what a process writes, up to its last tailMax bytes,
// safe to read while the process writes.
type tailBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

const tailMax = 256 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if t.b.Len() > 2*tailMax {
		rest := append([]byte(nil), t.b.Bytes()[t.b.Len()-tailMax:]...)
		t.b.Reset()
		t.b.Write(rest)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String()
}
