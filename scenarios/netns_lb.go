package scenarios

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/testbed/netns"
)

// A load-balancer lab in network namespaces: the player of lbworld.go
// over netnsBed, each host a namespace connected to one bridge, each
// role a process of the lblab binary in its host's namespace, files in
// the testbed's work folder.

// newNetnsLBWorld makes the netns world of a load-balancer lab (the
// netns factory's New, for a lab with an lb section).
func newNetnsLBWorld(lab *labfile.Lab, seed uint64, opt Options) (World, error) {
	if opt.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		opt.Binary = exe
	}
	return newLBWorld(lab, seed, &netnsBed{opt: opt})
}

var (
	_ lbBed     = (*netnsBed)(nil)
	_ lbBedHost = (*netnsBedHost)(nil)
	_ lbProc    = (*netnsProc)(nil)
)

// netnsBed is an lbBed of network namespaces.
type netnsBed struct {
	opt   Options
	tb    *netns.Testbed
	seg   *netns.Segment
	names []string // namespace names made, in order
	// topo, when set, is the world that built the lab's topology and
	// hosts this bed (a high-availability lab, netns_ha.go): the testbed
	// is its, AddHosts returns its hosts by their lab names, and Close
	// leaves the testbed to it.
	topo *netnsWorld

	mu     sync.Mutex
	procs  []*netnsProc
	closed bool
}

// Open makes the testbed and its segment.
func (b *netnsBed) Open(context.Context) error {
	if b.topo != nil {
		b.tb = b.topo.tb
		return nil
	}
	var err error
	if b.tb, err = newTestbed(&b.opt); err != nil {
		return err
	}
	b.seg, err = b.tb.AddSegment("lan")
	return err
}

// Dir is the testbed's work folder.
func (b *netnsBed) Dir() string { return b.opt.Work }

// Lead is lbStartLead: a process starts in a few milliseconds; on a
// topology, agentStartLead more: the agents and probes are released
// (their start file written) after the proxies and the clients started.
func (b *netnsBed) Lead(int) time.Duration {
	if b.topo != nil {
		return lbStartLead + agentStartLead
	}
	return lbStartLead
}

// hostName makes a valid, unused namespace name from a lab's name.
func (b *netnsBed) hostName(want string) string {
	base := bedName(want)
	name := base
	for i := 1; slices.Contains(b.names, name); i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	b.names = append(b.names, name)
	return name
}

// AddHosts makes the hosts one after the other (AddHost).
func (b *netnsBed) AddHosts(ctx context.Context, specs []lbHostSpec) ([]lbBedHost, error) {
	out := make([]lbBedHost, len(specs))
	for i, s := range specs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if b.topo != nil {
			h, ls := b.topo.hosts[s.Name], b.topo.links[s.Name]
			if h == nil || len(ls) == 0 {
				return nil, i18n.Errorf("no topology host %q", s.Name)
			}
			out[i] = &netnsBedHost{bed: b, h: h, link: ls[0]}
			continue
		}
		h, err := b.AddHost(s.Name, s.IP)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// AddHost makes a namespace connected to the segment at ip.
func (b *netnsBed) AddHost(name string, ip netip.Addr) (*netnsBedHost, error) {
	h, err := b.tb.AddHost(b.hostName(name))
	if err != nil {
		return nil, err
	}
	l, err := b.tb.Connect(h, "eth0", b.seg, netip.PrefixFrom(ip, lbNet.Bits()))
	if err != nil {
		return nil, err
	}
	if err := l.RouteAll(); err != nil {
		return nil, err
	}
	return &netnsBedHost{bed: b, h: h, link: l}, nil
}

// Close kills every process the bed started and removes the testbed:
// namespaces, links, the work folder.
func (b *netnsBed) Close() error {
	b.mu.Lock()
	if b.closed || b.tb == nil {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	procs := b.procs
	b.mu.Unlock()
	for _, p := range procs {
		_ = p.p.Kill()
	}
	if b.topo != nil {
		return nil // the topology's world removes the testbed
	}
	return b.tb.Cleanup()
}

// netnsBedHost is a namespace of a netnsBed.
type netnsBedHost struct {
	bed  *netnsBed
	h    *netns.Host
	link *netns.Link
}

// AddAddrs adds the addresses to the host's eth0.
func (h *netnsBedHost) AddAddrs(addrs ...netip.Prefix) error { return h.link.AddAddrs(addrs...) }

// Shape sets netem's latency on the host's eth0; without netem it does
// nothing: the world's capabilities say it has no link shaping, so a
// lab asking for more than its timing tolerance was refused before
// anything started, and the results warn of what is left out
// (Capabilities.Refuse, Unshaped).
func (h *netnsBedHost) Shape(lat time.Duration) error {
	if lat <= 0 {
		return nil
	}
	err := h.link.Shape(netns.Shape{Latency: lat}, netns.Shape{})
	if errors.Is(err, netns.ErrNoNetem) {
		return nil
	}
	return err
}

// SetLink sets the switch's end of the host's link down or up.
func (h *netnsBedHost) SetLink(up bool) error {
	if up {
		return h.link.Up()
	}
	return h.link.Down()
}

// Start writes the files into the work folder and starts lblab args...
// in the host's namespace.
func (h *netnsBedHost) Start(ctx context.Context, role string, files []lbFile, args ...string) (lbProc, error) {
	return h.StartProgram(ctx, role, files, h.bed.opt.Binary, args...)
}

// StartProgram is Start of the program bin (a path on this machine), in
// a process group of its own (netns.Host.Start).
func (h *netnsBedHost) StartProgram(_ context.Context, _ string, files []lbFile, bin string, args ...string) (lbProc, error) {
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(h.bed.opt.Work, f.Name), f.Data, 0o644); err != nil {
			return nil, err
		}
	}
	out := &tailBuffer{}
	p, err := h.h.Start(out, out, bin, args...)
	if err != nil {
		return nil, err
	}
	np := &netnsProc{p: p, out: out}
	h.bed.mu.Lock()
	h.bed.procs = append(h.bed.procs, np)
	h.bed.mu.Unlock()
	return np, nil
}

// Dial connects from inside the host's namespace.
func (h *netnsBedHost) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialInside(h.h.Do, ctx, network, addr)
}

// netnsProc is a role's process in a namespace.
type netnsProc struct {
	p   *netns.Process
	out *tailBuffer
}

// lbKillWait bounds the wait for a killed process to be gone.
const lbKillWait = 5 * time.Second

func (p *netnsProc) Output() string { return p.out.String() }

// Pid is the process's id (its process group's too).
func (p *netnsProc) Pid() int { return p.p.Pid() }

func (p *netnsProc) Exited() (bool, int) {
	select {
	case <-p.p.Done():
		return true, p.p.ExitCode()
	default:
		return false, 0
	}
}

// Kill returns when the process is gone (the kernel closed its
// sockets).
func (p *netnsProc) Kill() (time.Time, error) {
	if err := p.p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return time.Time{}, err
	}
	select {
	case <-p.p.Done():
	case <-time.After(lbKillWait):
		return time.Time{}, i18n.Errorf("pid %d does not die", p.p.Pid())
	}
	// Its children (nginx's workers) got the SIGKILL too: the group.
	if err := groupGone(p.p.Pid(), lbKillWait); err != nil {
		return time.Time{}, err
	}
	return time.Now(), nil
}

// groupGone waits up to wait for the process group pgid to have no
// living process left: none, or zombies only (whose parent, init, may
// not reap them at once).
func groupGone(pgid int, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for groupAlive(pgid) {
		if time.Now().After(deadline) {
			return i18n.Errorf("process group %d still has processes %s after SIGKILL", pgid, wait)
		}
		time.Sleep(lbPoll)
	}
	return nil
}

// Freeze sends SIGSTOP and returns when every thread is stopped.
func (p *netnsProc) Freeze() (time.Time, error) {
	if err := p.p.Pause(); err != nil {
		return time.Time{}, err
	}
	deadline := time.Now().Add(freezeWait)
	for !stopped(p.p.Pid()) {
		if time.Now().After(deadline) {
			return time.Time{}, i18n.Errorf("pid %d not stopped %v after SIGSTOP", p.p.Pid(), freezeWait)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return time.Now(), nil
}

func (p *netnsProc) Signal(sig syscall.Signal) error { return p.p.Signal(sig) }

func (p *netnsProc) Wait(timeout time.Duration) bool {
	select {
	case <-p.p.Done():
		return true
	case <-time.After(timeout):
		return false
	}
}

// ReadFile reads the file from this machine: the process's folder is
// the testbed's.
func (p *netnsProc) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

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

// groupAlive reports whether a process of group pgid runs (is not a
// zombie), from /proc/PID/stat: "PID (COMM) STATE PPID PGRP ...".
func groupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}
