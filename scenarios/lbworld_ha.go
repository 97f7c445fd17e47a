package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios/labfile"
)

// The load-balancer roles of a high-availability lab (labfile.Lab.HA)
// on real hosts: lbWorld, the one player of those roles, hosted by the
// world that builds the lab's topology and runs its VRRP routers
// (netnsWorld, netns_ha.go). The hosting world hands the lbWorld an
// lbBed whose AddHosts returns the topology's own hosts by their lab
// names (netnsBed with topo set), and the lbWorld places the roles on
// them as the lab says:
//
//	proxy    on each host with the proxy role, `lblab proxy --bind
//	         0.0.0.0` (so it answers on the host's addresses and on a
//	         VIP while the host holds it), its servers resolved to their
//	         hosts' addresses (--resolve web1=ADDR); each process it
//	         starts writes a history of its own
//	         (proxy.HOST.N.history.jsonl), whose requests name the node
//	         (Answer = HOST)
//	backend  `lblab backend --spec` at the first address of the host its
//	         address names (web1:8080: host web1, port 8080)
//	client   `lblab load --spec` on the host from:, sending to to: at
//	         its listener's port, with -k unless keepalive: false
//
// The hosting world chooses the lab's time 0: startNodes sets the epoch
// (the proxies' --epoch) a Lead ahead, the hosting world releases its
// agents and probes at the same epoch and then starts the clients
// (startClients, --start-at). Faults: the hosting world applies those on
// hosts (a crash kills every process of the host: nodeDown and
// nodeUp keep the roles' state) and hands proxy_crash (crashNode) and
// the servers' faults (do) to the lbWorld.

// lbNode is a proxy host of a high-availability lab.
type lbNode struct {
	host  *lbHost
	p     lbProc
	admin string
	runs  int  // processes started: the history files
	dead  bool // killed (proxy_crash, its host crashed)
}

// topoAddr returns the first address of the topology host name.
func topoAddr(lab *labfile.Lab, name string) (netip.Addr, bool) {
	for _, h := range lab.Topology.Hosts {
		if h.Name != name || len(h.Interfaces) == 0 {
			continue
		}
		p, err := netip.ParsePrefix(h.Interfaces[0].Address)
		if err != nil {
			return netip.Addr{}, false
		}
		return p.Addr(), true
	}
	return netip.Addr{}, false
}

// buildHA places the roles on the topology's hosts (the bed's) and
// starts the servers; the proxies start with the clock (startNodes).
func (w *lbWorld) buildHA(ctx context.Context) error {
	lab := w.lab
	if err := w.bed.Open(ctx); err != nil {
		return err
	}
	byName := map[string]*lbHost{}
	var hosts []*lbHost
	host := func(name string) (*lbHost, error) {
		if h := byName[name]; h != nil {
			return h, nil
		}
		ip, ok := topoAddr(lab, name)
		if !ok {
			return nil, i18n.Errorf("no topology host %q with an address", name)
		}
		h := &lbHost{name: name, ip: ip}
		byName[name] = h
		hosts = append(hosts, h)
		return h, nil
	}
	for _, name := range lab.ProxyHosts() {
		h, err := host(name)
		if err != nil {
			return err
		}
		w.nodes = append(w.nodes, &lbNode{host: h})
	}
	for i, b := range lab.Backends {
		hostPart, port, err := net.SplitHostPort(b.Address)
		if err != nil {
			return i18n.Errorf("backends[%d]: %w", i, err)
		}
		h, err := host(hostPart)
		if err != nil {
			return i18n.Errorf("backends[%d]: its server runs on a topology host: %w", i, err)
		}
		w.hosts[hostPart] = h
		if err := w.addBackend(i, b, h, port); err != nil {
			return err
		}
	}
	for i, c := range lab.Clients {
		if c.Name == "" {
			c.Name = fmt.Sprintf("clients%d", i) // its draws are the simulator's clients' of that name
		}
		h, err := host(c.From)
		if err != nil {
			return i18n.Errorf("clients[%d]: %w", i, err)
		}
		if err := w.addClients(i, c, h, c.To); err != nil {
			return err
		}
	}
	lbf, err := specFile("lb.yaml", lab.LB)
	if err != nil {
		return err
	}
	w.files = []lbFile{lbf}
	if err := w.addHosts(ctx, hosts); err != nil {
		return err
	}
	// The clients reach the proxies across the lab's network: no latency
	// of the network section between them.
	w.clientLat = 0
	return w.startServers(ctx)
}

// nodeHistory is the history file of node n's run-th proxy process.
func (w *lbWorld) nodeHistory(n *lbNode, run int) string {
	return path.Join(w.bed.Dir(), fmt.Sprintf("proxy.%s.%d.history.jsonl", n.host.name, run))
}

// startNodes sets the lab's time 0 to epoch (zero: a Lead ahead) and
// starts the proxy of every node at once, each counting from it; it
// returns when they listen.
func (w *lbWorld) startNodes(ctx context.Context, epoch time.Time) error {
	w.epoch = epoch
	if epoch.IsZero() {
		w.epoch = time.Now().Add(w.bed.Lead(len(w.clients)))
	}
	errs := make([]error, len(w.nodes))
	var wg sync.WaitGroup
	for i, n := range w.nodes {
		wg.Go(func() { errs[i] = w.startNode(ctx, n) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startNode starts a fresh proxy on node n.
func (w *lbWorld) startNode(ctx context.Context, n *lbNode) error {
	if n.admin == "" {
		n.admin = net.JoinHostPort("127.0.0.1", strconv.Itoa(w.freePort(lbControlPort-1, n.host)))
	}
	n.runs++
	var p lbProc
	var err error
	if w.lab.ProxyImpl() == labfile.ImplNginx {
		p, err = w.startNginxIn(ctx, n.host, w.nodeNginxDir(n, n.runs), fmt.Sprintf("nginx-%s-%d.conf", n.host.name, n.runs))
	} else {
		p, err = w.startProxyOn(ctx, n.host, w.nodeHistory(n, n.runs), n.admin)
	}
	if p != nil {
		n.p = p
	}
	if err != nil {
		return err
	}
	n.dead = false
	if pp, ok := p.(interface{ Pid() int }); ok && w.pidFile != nil {
		if err := os.WriteFile(w.pidFile(n.host.name), []byte(strconv.Itoa(pp.Pid())+"\n"), 0o644); err != nil {
			return i18n.Errorf("proxy on %s: %w", n.host.name, err)
		}
	}
	return nil
}

// node returns the node on host, or nil.
func (w *lbWorld) node(host string) *lbNode {
	for _, n := range w.nodes {
		if n.host.name == host {
			return n
		}
	}
	return nil
}

// crashNode SIGKILLs the proxy on host (proxy_crash) and returns when it
// is gone; the host and its VRRP router stay up.
func (w *lbWorld) crashNode(host string) (time.Time, error) {
	n := w.node(host)
	if n == nil {
		return time.Time{}, i18n.Errorf("no proxy on %s", host)
	}
	if n.dead || n.p == nil {
		return time.Now(), nil
	}
	at, err := n.p.Kill()
	if err != nil {
		return time.Time{}, i18n.Errorf("proxy on %s: %w", host, err)
	}
	n.dead = true
	return at, nil
}

// nodeDown records that every process of host died with it (the hosting
// world killed them: a crash): its proxy, its servers (each gets its
// standby, held, for the restore).
func (w *lbWorld) nodeDown(host string) {
	if n := w.node(host); n != nil {
		n.dead = true
	}
	for _, b := range w.lab.Backends {
		if be := w.backends[b.Address]; be.host.name == host && !be.dead {
			be.dead, be.hung = true, false
			w.prepareStandby(be)
		}
	}
}

// nodeUp brings back host's roles that died (a restore, start): a fresh
// proxy (its clock still the lab's), its servers.
func (w *lbWorld) nodeUp(ctx context.Context, host string) error {
	var errs []error
	if n := w.node(host); n != nil && n.dead {
		errs = append(errs, w.startNode(ctx, n))
	}
	for _, b := range w.lab.Backends {
		be := w.backends[b.Address]
		if be.host.name != host || !be.dead {
			continue
		}
		if _, ok := w.bringBack(be); !ok {
			if err := w.startBackend(ctx, be); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		be.dead, be.hung = false, false
	}
	return errors.Join(errs...)
}

// proxyStarted reports whether a proxy was started (Build got there).
func (w *lbWorld) proxyStarted() bool {
	for _, n := range w.nodes {
		if n.p != nil {
			return true
		}
	}
	return w.proxy != nil && w.proxy.p != nil
}

// stopProxies stops the running proxies with their clean signal
// (proxyStopSignal: each flushes its history), killing one still running
// after lbProxyStop.
func (w *lbWorld) stopProxies() {
	var ps []lbProc
	if w.proxy != nil && w.proxy.p != nil {
		ps = append(ps, w.proxy.p)
	}
	for _, n := range w.nodes {
		if n.p != nil && !n.dead {
			ps = append(ps, n.p)
		}
	}
	for _, p := range ps {
		_ = p.Signal(w.proxyStopSignal())
	}
	for _, p := range ps {
		if !p.Wait(lbProxyStop) {
			_, _ = p.Kill()
		}
	}
}

// nodeHistories reads the histories of every proxy process of the nodes
// (a killed one's holds what it flushed: all but its last second), each
// request naming its node (Answer).
func (w *lbWorld) nodeHistories() ([]history.Event, error) {
	var out []history.Event
	for _, n := range w.nodes {
		for run := 1; run <= n.runs; run++ {
			if w.lab.ProxyImpl() == labfile.ImplNginx {
				evs, err := w.nginxHistoryIn(n.p, w.nodeNginxDir(n, run))
				if err != nil {
					return nil, err
				}
				out = append(out, servedBy(evs, n.host.name)...)
				continue
			}
			file := w.nodeHistory(n, run)
			b, err := n.p.ReadFile(file)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			evs, err := history.ReadJSONL(bytes.NewReader(b), file)
			if err != nil {
				return nil, err
			}
			out = append(out, servedBy(evs, n.host.name)...)
		}
	}
	return out, nil
}

// servedBy names node as the one that served each request of evs.
func servedBy(evs []history.Event, node string) []history.Event {
	for i := range evs {
		if evs[i].Kind == history.KindRequest {
			evs[i].Answer = node
		}
	}
	return evs
}

// hostFault follows a stop, restore or start of a whole host with the
// load balancer's roles there, the same in every world: a stop kills
// the node's proxy (the node shuts down); a restore or a start brings
// its roles back and makes the host's scripts that check its proxy pass
// (scripts, the world's way of setting them). Other kinds do nothing.
func (w *lbWorld) hostFault(kind labfile.FaultKind, host string, scripts func(host string, up bool) error) error {
	switch kind {
	case labfile.FaultStop:
		if w.node(host) != nil {
			if _, err := w.crashNode(host); err != nil {
				return err
			}
		}
	case labfile.FaultRestore, labfile.FaultStart:
		ctx, cancel := context.WithTimeout(context.Background(), lbOpWait)
		defer cancel()
		if err := w.nodeUp(ctx, host); err != nil {
			return i18n.Errorf("host %s: %w", host, err)
		}
		return scripts(host, true)
	}
	return nil
}

// haFault carries out, for the netns and docker worlds alike, the faults
// of a high-availability lab that are not the VRRP world's alone:
// proxy_crash (then the host's check scripts see the proxy down:
// scripts), and a server's faults (target HOST:PORT). It reports whether
// f was one, and when it took effect (time since epoch; 0 for when it
// returned).
func (lb *lbWorld) haFault(f labfile.Fault, scripts func(host string, up bool) error, epoch time.Time) (bool, time.Duration, error) {
	var at time.Time
	var err error
	switch {
	case f.Kind == labfile.FaultProxyCrash:
		at, err = lb.crashNode(f.Target)
		if err == nil {
			err = scripts(f.Target, false)
		}
	case strings.Contains(f.Target, ":") && lb.backends[f.Target] != nil:
		at, err = lb.do(f)
	default:
		return false, 0, nil
	}
	if err != nil {
		return true, 0, err
	}
	return true, max(at.Sub(epoch), 0), nil
}
