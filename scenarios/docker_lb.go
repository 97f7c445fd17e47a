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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/testbed/dockerbed"
)

// A load-balancer lab in Docker containers: the player of lbworld.go
// over dockerBed. The segment lbNet is a bridge network; each host a
// holder container on it (lblab hold, doing nothing) owning the host's
// network namespace, with the host's address on eth0; each role a
// container of its own joined to its host's namespace (network mode
// container:<holder>), so that a role is killed, frozen or restarted
// alone while its host keeps its addresses and routes:
//
//	crash      kill(2) of the role container's first process from here
//	           (dockerbed's Container.Kill), stamped when it returns
//	hang       the cgroup freezer (docker pause), stamped when frozen
//	restore    a fresh container
//	power_off  the host's link down at the bridge (netlink), and crash
//
// A role's files go in with the container (dockerbed.File, under
// dockerDir); its histories come out with Container.ReadFile. Extra
// addresses and the all-onto-the-segment route are set from this
// machine in the holder's namespace with netlink, and the control
// listeners (on a host's loopback) are dialled from inside that
// namespace: a local engine only. On a remote engine (DOCKER_HOST) a
// lab needing them is refused before anything starts
// (dockerLBRemoteRefusal).

// dockerDir is the folder of the roles' files in their containers.
const dockerDir = "/lblab/run"

// dockerLBGateway is the bridge's address (this machine's) on lbNet: one
// no lab host uses.
var dockerLBGateway = netip.MustParseAddr("198.18.255.254")

// dockerLBLead is the lab's time 0 after the proxy's start: a container
// is made and started in a few hundred milliseconds on an idle machine,
// seconds on a busy one; the load generators' containers start at once,
// and each adds dockerLBStartEach.
const (
	dockerLBLead      = 3 * time.Second
	dockerLBStartEach = 500 * time.Millisecond
)

// newDockerLBWorld makes the docker world of a load-balancer lab.
func newDockerLBWorld(lab *labfile.Lab, seed uint64, opt Options) (World, error) {
	if err := lbRealRefusal(lab); err != nil {
		return nil, err
	}
	if !dockerbed.Local() {
		if err := dockerLBRemoteRefusal(lab); err != nil {
			return nil, err
		}
	}
	if len(lab.Services) > 0 && !dockerbed.Local() {
		return nil, &labfile.InputError{Err: i18n.Errorf("lab %s: the %s world cannot %s", lab.Name, "docker",
			i18n.T("run the lab's services on a remote Docker engine (DOCKER_HOST): the load balancer watches the engine through its socket, bind-mounted from this machine"))}
	}
	return newLBWorld(lab, seed, &dockerBed{opt: opt, names: map[string]int{}})
}

// dockerLBRemoteRefusal returns an input error for what a load-balancer
// lab asks that a remote engine cannot do: what needs netlink in a
// container's namespace (power_off, extra client addresses, a server
// named by its address) or a dial from inside it (the control
// listeners: slow, health faults, health_path).
func dockerLBRemoteRefusal(lab *labfile.Lab) error {
	refuse := func(what i18n.Text) error {
		return &labfile.InputError{Err: i18n.Errorf("lab %s: the %s world cannot %s", lab.Name, "docker", what)}
	}
	for _, f := range lab.Faults {
		switch f.Kind {
		case labfile.FaultPowerOff, labfile.FaultSlow, labfile.FaultHealthFail, labfile.FaultHealthOK, labfile.FaultHealthPath:
			return refuse(i18n.T("apply fault %s on a remote Docker engine (DOCKER_HOST): faults of kind %s need the engine on this machine", f.Name, string(f.Kind)))
		}
	}
	for i, c := range lab.Clients {
		if c.Addresses != "" || c.Via != "" {
			return refuse(i18n.T("give clients[%d] their source addresses on a remote Docker engine (DOCKER_HOST): that needs the engine on this machine", i))
		}
	}
	for _, b := range lab.Backends {
		if h, _, err := net.SplitHostPort(b.Address); err == nil {
			if _, err := netip.ParseAddr(h); err == nil {
				return refuse(i18n.T("give server %s its address on a remote Docker engine (DOCKER_HOST): that needs the engine on this machine", b.Address))
			}
		}
	}
	return nil
}

var (
	_ lbBed        = (*dockerBed)(nil)
	_ lbServiceBed = (*dockerBed)(nil)
	_ lbReplica    = (*dockerProc)(nil)
	_ lbBedHost    = (*dockerBedHost)(nil)
	_ lbProc       = (*dockerProc)(nil)
)

// dockerBed is an lbBed of Docker containers.
type dockerBed struct {
	opt   Options
	bed   *dockerbed.Bed
	image dockerbed.Image
	net   *dockerbed.Network

	// ctx ends the roles' followers at Close.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex     // guards names and closed (roles restart at once)
	names  map[string]int // containers made, by name: the next number
	closed bool
	// engine are the proxy's binds that let it reach the engine
	// (Discovery): its socket.
	engine []string
	// topo, when set, is the world that built the lab's topology and
	// hosts this bed (a high-availability lab, docker_ha.go): the bed
	// and image are its, AddHosts returns its containers by their lab
	// names, and Close leaves the containers and networks to it.
	topo *dockerWorld
}

// dockerReadyWait bounds the proxy's wait for a started container's
// server to accept connections before it joins (lblab proxy
// --docker-ready): a container service registers a container once it
// answers, and the simulator's container serves from its start.
const dockerReadyWait = 10 * time.Second

// dockerSocket is where a local engine's socket is (DOCKER_HOST's
// unix:// path, or Docker's default), and where the proxy's container
// finds it (the client's default).
func dockerSocket() string {
	if h, ok := strings.CutPrefix(os.Getenv("DOCKER_HOST"), "unix://"); ok && h != "" {
		return h
	}
	return "/var/run/docker.sock"
}

// Discovery bind-mounts the engine's socket into the proxy's container
// and returns --docker with the run's label (dockerbed.LabelRun) and the
// segment's network: the proxy registers only this run's containers, by
// their addresses on the segment.
func (b *dockerBed) Discovery() ([]string, error) {
	if !b.bed.Local() {
		return nil, i18n.Errorf("the load balancer watches the engine through its socket: the engine must be on this machine")
	}
	b.engine = []string{dockerSocket() + ":/var/run/docker.sock"}
	return []string{"--docker", "--docker-ready", dockerReadyWait.String(), "--docker-label", dockerbed.LabelRun + "=" + b.bed.Run(), "--docker-network", b.net.Docker}, nil
}

// StartService starts a role container joined to h's holder, as
// dockerBedHost.Start does, carrying labels: the proxy registers it with
// its holder's address (the holder keeps the address and the namespace
// when the role dies, as a server's host does).
func (b *dockerBed) StartService(ctx context.Context, h lbBedHost, role string, labels map[string]string, files []lbFile,
	args ...string) (lbReplica, error) {
	p, err := h.(*dockerBedHost).start(ctx, role, labels, files, args...)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Open finds or builds the image and makes the network.
func (b *dockerBed) Open(ctx context.Context) error {
	b.mu.Lock()
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.mu.Unlock()
	if b.topo != nil {
		b.bed, b.image = b.topo.bed, b.topo.image
		return nil
	}
	var err error
	b.image, err = openDockerBed(ctx, b.opt.Binary, func(bed *dockerbed.Bed) error {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.bed = bed
		if b.closed {
			// Closed while the bed was being made (SIGINT during the
			// build): remove it now.
			return errors.Join(context.Canceled, bed.Cleanup())
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.net, err = addNetwork(ctx, b.bed, "lan", subnet{prefix: lbNet, gateway: dockerLBGateway})
	return err
}

// Dir is dockerDir.
func (b *dockerBed) Dir() string { return dockerDir }

// Lead is dockerLBLead and dockerLBStartEach for each load generator;
// on a topology, agentStartLead more: the agents are released (the
// start file written) after the proxies and the clients started.
func (b *dockerBed) Lead(n int) time.Duration {
	lead := dockerLBLead + time.Duration(n)*dockerLBStartEach
	if b.topo != nil {
		lead += agentStartLead
	}
	return lead
}

// name returns an unused container name for want.
func (b *dockerBed) name(want string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	base := bedName(want)
	n := b.names[base]
	b.names[base] = n + 1
	if n == 0 {
		return base
	}
	return fmt.Sprintf("%s-%d", base, n)
}

// AddHosts starts the hosts' holder containers at once (AddHost).
func (b *dockerBed) AddHosts(ctx context.Context, specs []lbHostSpec) ([]lbBedHost, error) {
	out := make([]lbBedHost, len(specs))
	if b.topo != nil {
		for i, s := range specs {
			if _, ok := topoAddr(b.topo.lab, s.Name); !ok {
				return nil, i18n.Errorf("no topology host %q", s.Name)
			}
			out[i] = &dockerBedHost{bed: b, name: bedName(s.Name), topo: s.Name}
		}
		return out, nil
	}
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		name := b.name(s.Name) // in the order given
		wg.Go(func() {
			h, err := b.AddHost(ctx, name, s.Name, s.IP)
			out[i], errs[i] = h, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// AddHost starts the host's holder container on the network at ip and
// routes everything onto the network from inside it (on a local engine:
// on a remote one the hosts keep Docker's default route, through the
// bridge, and a lab whose replies need more was refused).
// n is the container's name (dockerBed.name), name the lab's.
func (b *dockerBed) AddHost(ctx context.Context, n, name string, ip netip.Addr) (*dockerBedHost, error) {
	c, err := b.bed.Start(ctx, dockerbed.Spec{Name: n, Host: name, Image: b.image.Ref, Args: []string{"hold"},
		Endpoints: []dockerbed.Endpoint{{Net: b.net, Addr: netip.PrefixFrom(ip, lbNet.Bits()), Iface: "eth0"}}})
	if err != nil {
		return nil, err
	}
	if b.bed.Local() {
		if err := c.RouteAll("eth0"); err != nil {
			return nil, err
		}
	}
	return &dockerBedHost{bed: b, name: n, holder: c}, nil
}

// Close removes every container and the network (by the run's label)
// and the bed's work folder.
func (b *dockerBed) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.cancel != nil {
		b.cancel()
	}
	if b.bed == nil || b.topo != nil {
		return nil // the topology's world removes its bed
	}
	return b.bed.Cleanup()
}

// dockerBedHost is a lab host: its holder container.
type dockerBedHost struct {
	bed    *dockerBed
	name   string
	holder *dockerbed.Container
	// topo, when the bed's topo is set, is the host's lab name: its
	// holder is the topology's container of it at the time (a router's
	// current one: a restore makes a fresh one).
	topo string
}

// container is the holder: the topology's container of the host, or
// the bed's own.
func (h *dockerBedHost) container() *dockerbed.Container {
	if h.topo != "" {
		return h.bed.topo.hostContainer(h.topo)
	}
	return h.holder
}

// AddAddrs adds the addresses to eth0 in the holder's namespace.
func (h *dockerBedHost) AddAddrs(addrs ...netip.Prefix) error {
	return h.container().AddAddrs("eth0", addrs...)
}

// Shape does nothing: this machine's kernel has no netem, and the
// docker world says it has no link shaping (Capabilities).
func (h *dockerBedHost) Shape(time.Duration) error { return nil }

// SetLink sets the bridge's end of the holder's eth0 down or up.
func (h *dockerBedHost) SetLink(up bool) error { return h.container().SetLink("eth0", up) }

// Start starts a container running lblab args... in the holder's
// namespace, with the files in dockerDir.
func (h *dockerBedHost) Start(ctx context.Context, role string, files []lbFile, args ...string) (lbProc, error) {
	p, err := h.start(ctx, role, nil, files, args...)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// start starts a role container carrying labels (Start, StartService).
func (h *dockerBedHost) start(ctx context.Context, role string, labels map[string]string, files []lbFile, args ...string) (*dockerProc, error) {
	holder := h.container()
	spec := dockerbed.Spec{Name: h.bed.name(h.name + "-" + role), Host: holder.Host, Image: h.bed.image.Ref,
		Args: args, Join: holder, Labels: labels}
	if role == "proxy" {
		spec.Binds = h.bed.engine
	}
	for _, f := range files {
		spec.Files = append(spec.Files, dockerbed.File{Path: path.Join(dockerDir, f.Name), Data: f.Data})
	}
	c, err := h.bed.bed.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return newDockerProc(h.bed.ctx, c, h.bed.bed.Local()), nil
}

// Dial connects from inside the holder's namespace.
func (h *dockerBedHost) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialInside(h.container().Do, ctx, network, addr)
}

// dockerProc is a role's container, its output followed and its end
// awaited from the start.
type dockerProc struct {
	c      *dockerbed.Container
	local  bool
	frozen bool
	out    *tailBuffer
	done   chan struct{} // closed when it stopped
	code   int           // its exit status, once done
}

// newDockerProc follows c's output and awaits its end, until ctx is
// done.
func newDockerProc(ctx context.Context, c *dockerbed.Container, local bool) *dockerProc {
	p := &dockerProc{c: c, local: local, out: &tailBuffer{}, done: make(chan struct{})}
	go func() { _ = c.Follow(ctx, p.out) }()
	go func() {
		code, err := c.Wait(ctx)
		if err != nil {
			code = -1
		}
		p.code = code
		close(p.done)
	}()
	return p
}

// opCtx bounds one call to the engine.
func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), dockerOpWait)
}

func (p *dockerProc) Output() string { return p.out.String() }

func (p *dockerProc) Exited() (bool, int) {
	select {
	case <-p.done:
		return true, p.code
	default:
		return false, 0
	}
}

// Kill is the container's Kill: on a local engine one kill(2) of its
// first process, stamped when it returns (the kernel kills every other
// process of the container with it); on a remote one the engine's kill,
// stamped when it was sent. It returns once the engine saw the
// container stop.
func (p *dockerProc) Kill() (time.Time, error) { return p.end(syscall.SIGKILL) }

// Stop is the container's SIGTERM (as docker stop sends it; a lab's
// backend exits at once), stamped and returning as Kill.
func (p *dockerProc) Stop() (time.Time, error) { return p.end(syscall.SIGTERM) }

// Remove removes the container.
func (p *dockerProc) Remove() error {
	ctx, cancel := opCtx()
	defer cancel()
	return p.c.Remove(ctx)
}

// end sends sig to the container's first process (Kill, Stop).
func (p *dockerProc) end(sig syscall.Signal) (time.Time, error) {
	ctx, cancel := opCtx()
	defer cancel()
	began := time.Now()
	if err := p.c.Signal(ctx, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return time.Time{}, err
	}
	at := time.Now()
	if p.frozen {
		// A frozen process dies once thawed (the cgroup v1 freezer).
		if err := p.c.Unpause(ctx); err != nil {
			return time.Time{}, err
		}
		p.frozen = false
	}
	if !p.local {
		if !p.Wait(lbKillWait) {
			return time.Time{}, i18n.Errorf("container %s does not die", p.c.Name)
		}
		return began, nil
	}
	// Its first process is gone (its sockets closed) once it is a
	// zombie: the engine sees the stop later, after its shim reaped it.
	deadline := time.Now().Add(lbKillWait)
	for !exited(p.c.Pid()) {
		if time.Now().After(deadline) {
			return time.Time{}, i18n.Errorf("container %s does not die", p.c.Name)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return at, nil
}

// exited reports whether pid has exited (a zombie, dead, or gone).
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || strings.ContainsRune("ZX", rune(b[i+2]))
}

// Freeze pauses the container: the engine returns once the cgroup
// freezer has frozen every process.
func (p *dockerProc) Freeze() (time.Time, error) {
	ctx, cancel := opCtx()
	defer cancel()
	if err := p.c.Pause(ctx); err != nil {
		return time.Time{}, err
	}
	p.frozen = true
	return time.Now(), nil
}

func (p *dockerProc) Signal(sig syscall.Signal) error {
	ctx, cancel := opCtx()
	defer cancel()
	return p.c.Signal(ctx, sig)
}

func (p *dockerProc) Wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// ReadFile copies the file out of the container.
func (p *dockerProc) ReadFile(file string) ([]byte, error) {
	ctx, cancel := opCtx()
	defer cancel()
	return p.c.ReadFile(ctx, file)
}
