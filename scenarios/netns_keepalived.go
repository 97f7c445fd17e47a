package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/testbed/netns"
	"github.com/lblab/lblab/vrrpsim"
	"github.com/lblab/lblab/vrrpsim/keepalived"
)

// This file runs a VRRP lab's routers as the system's keepalived (impl:
// {vrrp: keepalived}) in the netns world: each router host runs
// `keepalived --vrrp` with a keepalived.conf exported from the lab
// (keepalivedConfig), and the history of its instances comes from
// keepalived's own notify FIFO (vrrp_notify_fifo, with
// vrrp_notify_priority_changes), read by the runner and stamped on the
// lab's clock as each line arrives: keepalived writes a line at each
// state change and each change of an instance's effective priority
// (INSTANCE "VI_1" MASTER 150, INSTANCE "VI_1" BACKUP_PRIORITY 90).
//
// What keepalived does not say, and how the history copes:
//   - the state left: the runner keeps each instance's last state (INIT
//     before the first line of a process);
//   - the reason of a change (an advert timeout, a higher priority, a
//     priority-0 advert): the reason says what keepalived wrote;
//   - the virtual addresses: keepalived adds them on entering MASTER and
//     removes them on leaving it, so the vip events are derived from
//     those changes (stamped with them);
//   - a death: SIGKILL leaves no line; the runner records it (silent), as
//     for lblab's agents.
//
// The stamps are the FIFO's read times: keepalived writes the line in
// its VRRP process at the change, so they are late by a pipe's wake-up
// (microseconds), not by a script's start, as notify scripts would be.

// kaProc is one keepalived process of a router host and what its FIFO
// said.
type kaProc struct {
	host string
	run  *agentRun
	fifo *os.File
	// conf is the configuration it runs: its instances' VRIDs and VIPs.
	conf *keepalived.Config
	// done is closed when the FIFO reader returns.
	done chan struct{}
	// ended ends the reader once (finish).
	ended sync.Once

	mu     sync.Mutex
	events []history.Event
	states map[string]string // instance -> last state
	lines  int
}

// keepalivedBinary is the program run for impl: {vrrp: keepalived}.
const keepalivedBinary = "keepalived"

// usesKeepalived reports whether the lab's routers run keepalived.
func (w *netnsWorld) usesKeepalived() bool { return w.lab.VRRPImpl() == labfile.ImplKeepalived }

// checkKeepalived says why the lab's keepalived cannot run here, or nil.
func checkKeepalived(lab *labfile.Lab) error {
	if lab.VRRPImpl() != labfile.ImplKeepalived {
		return nil
	}
	if lab.LB != nil && !lab.HA() {
		return i18n.Errorf("impl.vrrp keepalived: the netns world runs keepalived for VRRP labs without a load balancer only")
	}
	if _, err := exec.LookPath(keepalivedBinary); err != nil {
		return i18n.Errorf("impl.vrrp keepalived: %w (Debian: apt-get install keepalived)", err)
	}
	return nil
}

// kaPath is a file of host's keepalived run n in the work folder.
func (w *netnsWorld) kaPath(host string, n int, ext string) string {
	return filepath.Join(w.opt.Work, fmt.Sprintf("%s.keepalived%d.%s", host, n, ext))
}

// keepalivedConf exports host's keepalived.conf for run n (keepalivedConfig,
// with the run's FIFO).
func (w *netnsWorld) keepalivedText(host string, n int) (*keepalived.Config, []byte, error) {
	c, err := keepalivedConfig(w.lab, host, w.flagPath, w.kaPath(host, n, "fifo"), w.ifaceName(host))
	if err != nil {
		return nil, nil, err
	}
	b, err := c.Export()
	if err != nil {
		return nil, nil, i18n.Errorf("host %s: keepalived.conf: %w", host, err)
	}
	return c, b, nil
}

// ifaceName maps the lab's interface names of host to the world's.
func (w *netnsWorld) ifaceName(host string) func(string) string {
	return func(name string) string {
		for _, l := range w.links[host] {
			if l.Iface == name {
				return l.Iface
			}
		}
		return name
	}
}

// keepalivedConfig returns host's keepalived configuration in the netns
// world: the lab's keepalived.conf text for host when the lab holds one
// (vrrp.keepalived), else the lab's scripts and instances of host. What
// the world changes: each interface name (iface), each vrrp_script's
// command (a check of the flag file flag(host, script) that script_fail
// creates and script_ok removes: a lab never runs the program it names),
// the router_id when none is written (the host's name), and what the
// runner reads the history from: vrrp_notify_fifo fifo with
// vrrp_notify_priority_changes; scripts run as root with
// enable_script_security (keepalived -t refuses scripts without it).
func keepalivedConfig(lab *labfile.Lab, host string, flag func(host, script string) string, fifo string, iface func(string) string) (*keepalived.Config, error) {
	var c *keepalived.Config
	if text, ok := lab.VRRP.Keepalived[host]; ok {
		var err error
		if c, _, err = keepalived.Parse(host, []byte(text)); err != nil {
			return nil, i18n.Errorf("vrrp.keepalived.%s: %w", host, err)
		}
	} else {
		var err error
		if c, err = labKeepalived(lab, host); err != nil {
			return nil, err
		}
	}
	if c.RouterID == "" {
		c.RouterID = host
	}
	c.NotifyFIFO, c.NotifyPriorityChanges = fifo, true
	c.ScriptUser, c.ScriptSecurity = "root", true
	for name, s := range c.Scripts {
		s.Command = scriptCommand(lab, host, name, flag)
	}
	for _, in := range c.Instances {
		in.Interface = iface(in.Interface)
		for i := range in.TrackInterfaces {
			in.TrackInterfaces[i].Name = iface(in.TrackInterfaces[i].Name)
		}
	}
	return c, nil
}

// labKeepalived returns the lab's scripts (those host's instances
// track) and host's instances as a keepalived configuration.
func labKeepalived(lab *labfile.Lab, host string) (*keepalived.Config, error) {
	v := lab.VRRP
	c := &keepalived.Config{Version: max(v.Version, 2), GARPMasterDelay: vrrpsim.DefaultGARPDelay,
		GARPMasterRepeat: vrrpsim.DefaultGARPRepeat, Scripts: map[string]*keepalived.Script{}}
	if v.GARPMasterDelay.IsSet() {
		c.GARPMasterDelay = v.GARPMasterDelay.D
	}
	if v.GARPMasterRepeat != 0 {
		c.GARPMasterRepeat = v.GARPMasterRepeat
	}
	fieldErr := func(i int, field string, err error) error {
		return i18n.Errorf("vrrp.vrrp_instance[%d].%s: %w", i, field, err)
	}
	for i := range v.Instances {
		li := &v.Instances[i]
		if li.Host != host {
			continue
		}
		in := &keepalived.Instance{Name: li.Name, State: strings.ToUpper(li.State), Interface: li.Interface,
			VRID: li.VirtualRouterID, Priority: li.Priority, AdvertInt: li.AdvertInt.Or(vrrpsim.DefaultInterval),
			Version: li.Version, NoPreempt: li.NoPreempt, PreemptDelay: li.PreemptDelay.D,
			DontTrackPrimary: li.DontTrackPrimary, CheckUnicastSrc: li.CheckUnicastSrc, Notify: map[string]string{}}
		if a := li.Authentication; a != nil {
			in.AuthType, in.AuthPass = strings.ToUpper(a.AuthType), a.AuthPass
		}
		for _, s := range li.VirtualIPAddress {
			if !strings.Contains(s, "/") {
				s += "/32"
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fieldErr(i, "virtual_ipaddress", err)
			}
			in.VIPs = append(in.VIPs, p)
		}
		for _, name := range li.TrackScript {
			in.TrackScripts = append(in.TrackScripts, keepalived.TrackScript{Name: name})
			if _, done := c.Scripts[name]; done {
				continue
			}
			s, ok := v.Scripts[name]
			if !ok {
				return nil, fieldErr(i, "track_script", i18n.Errorf("no vrrp_script %s", name))
			}
			iv := s.Interval.Or(vrrpsim.DefaultScriptInterval)
			c.Scripts[name] = &keepalived.Script{Name: name, Command: s.Script, Interval: iv, Timeout: s.Timeout.Or(iv),
				Weight: s.Weight, Fall: max(s.Fall, 1), Rise: max(s.Rise, 1), InitFail: s.InitFail}
		}
		for _, t := range li.TrackInterface {
			f := strings.Fields(t)
			ti := keepalived.TrackInterface{Name: f[0]}
			if len(f) == 3 {
				w, err := strconv.Atoi(f[2])
				if err != nil {
					return nil, fieldErr(i, "track_interface", err)
				}
				ti.Weight = w
			}
			in.TrackInterfaces = append(in.TrackInterfaces, ti)
		}
		if li.UnicastSrcIP != "" {
			a, err := netip.ParseAddr(li.UnicastSrcIP)
			if err != nil {
				return nil, fieldErr(i, "unicast_src_ip", err)
			}
			in.UnicastSrc = a
		}
		for _, s := range li.UnicastPeer {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fieldErr(i, "unicast_peer", err)
			}
			in.UnicastPeers = append(in.UnicastPeers, a)
		}
		maps.Copy(in.Notify, li.NotifyScripts())
		c.Instances = append(c.Instances, in)
	}
	return c, nil
}

// startKeepalived starts a fresh keepalived on host, its FIFO read from
// now on.
func (w *netnsWorld) startKeepalived(host string) error {
	if p := w.agents[host]; p != nil {
		select {
		case <-p.Done():
		default:
			return nil // still running
		}
	}
	n := len(w.kaProcs)
	conf, text, err := w.keepalivedText(host, n)
	if err != nil {
		return err
	}
	confPath, fifoPath := w.kaPath(host, n, "conf"), w.kaPath(host, n, "fifo")
	if err := os.WriteFile(confPath, text, 0o644); err != nil {
		return err
	}
	if err := syscall.Mkfifo(fifoPath, 0o600); err != nil {
		return i18n.Errorf("host %s: making keepalived's FIFO: %w", host, err)
	}
	// Read and write: keepalived finds a reader when it opens the FIFO,
	// the reader sees no end of file between two writers, and finish
	// writes the line that ends it. Blocking: the reader's thread
	// (read) wakes from the read itself, not through Go's poller.
	fd, err := syscall.Open(fifoPath, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return i18n.Errorf("host %s: opening keepalived's FIFO: %w", host, err)
	}
	f := os.NewFile(uintptr(fd), fifoPath)
	out := &bytes.Buffer{}
	name, args := netns.Realtime(keepalivedBinary, "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp",
		"--use-file", confPath, "--pid", w.kaPath(host, n, "pid"), "--vrrp_pid", w.kaPath(host, n, "vrrp.pid"))
	p, err := w.hosts[host].Start(out, out, name, args...)
	if err != nil {
		f.Close()
		return i18n.Errorf("host %s: starting keepalived: %w", host, err)
	}
	run := &agentRun{host: host, p: p, out: out}
	kp := &kaProc{host: host, run: run, fifo: f, conf: conf, done: make(chan struct{}), states: map[string]string{}}
	w.agents[host] = p
	w.runs = append(w.runs, run)
	w.kaProcs = append(w.kaProcs, kp)
	go kp.read(w.Since)
	return w.agentStarted(host, p)
}

// kaMaxLine bounds a FIFO line: keepalived's are under 300 bytes.
const kaMaxLine = 4096

// kaEnd is the line finish writes to the FIFO to end its reader: after
// every line keepalived wrote before.
const kaEnd = "LBLAB END"

// read takes the FIFO's lines until kaEnd (or an error), each stamped
// when read. It runs on a thread of its own under the real-time
// round-robin policy, as keepalived does (netns.Realtime), blocked in
// the read: the stamp is late by the kernel's wake-up, microseconds,
// even when the machine is loaded (a goroutine woken by Go's poller was
// seen 2.5 ms late on a loaded 2-core machine). Without the right to
// real-time it reads at the normal policy.
func (kp *kaProc) read(now func() time.Duration) {
	defer close(kp.done)
	// Locked and never unlocked: the thread ends with the goroutine,
	// its policy with it.
	runtime.LockOSThread()
	_ = unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: 1}, 0)
	sc := bufio.NewScanner(kp.fifo)
	sc.Buffer(make([]byte, 0, 512), kaMaxLine)
	for sc.Scan() {
		t := now()
		if sc.Text() == kaEnd {
			return
		}
		kp.line(t, sc.Text())
	}
}

// line records one FIFO line said at t: INSTANCE "NAME" STATE PRIORITY,
// STATE one of BACKUP, MASTER, FAULT, STOP, or STATE_PRIORITY for a
// change of the effective priority alone. Other lines (GROUP ...) are
// not the history's.
func (kp *kaProc) line(t time.Duration, text string) {
	f := strings.Fields(text)
	if len(f) != 4 || f[0] != "INSTANCE" {
		return
	}
	name := strings.Trim(f[1], `"`)
	prio, err := strconv.Atoi(f[3])
	if err != nil {
		return
	}
	var in *keepalived.Instance
	for _, x := range kp.conf.Instances {
		if x.Name == name {
			in = x
		}
	}
	if in == nil {
		return
	}
	state, prioOnly := strings.CutSuffix(f[2], "_PRIORITY")
	kp.mu.Lock()
	defer kp.mu.Unlock()
	kp.lines++
	from := kp.states[name]
	if from == "" {
		from = vrrpsim.StateInit.String()
	}
	if prioOnly {
		state = from
	}
	kp.states[name] = state
	stamp := history.Stamp(t)
	reason := "keepalived: " + strings.Join(f[2:], " ")
	kp.events = append(kp.events, history.Event{T: stamp, Kind: history.KindVRRP, Router: kp.host, Instance: name,
		VRID: in.VRID, From: from, To: state, Priority: prio, Reason: reason})
	master := vrrpsim.StateMaster.String()
	if (state == master) == (from == master) {
		return
	}
	// keepalived sets its addresses on entering MASTER, removes them on
	// leaving it.
	for _, v := range in.VIPs {
		e := history.Event{T: stamp, Kind: history.KindVIP, VIP: v.Addr().String(), Instance: name, Reason: reason}
		if state == master {
			e.Owner = kp.host
		} else {
			e.Prev = kp.host
		}
		kp.events = append(kp.events, e)
	}
}

// said reports whether the process has written a line yet.
func (kp *kaProc) said() bool {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	return kp.lines > 0
}

// finish ends the FIFO's reader after the lines keepalived wrote before
// now (kaEnd), waiting at most kaDrain, and closes the FIFO.
func (kp *kaProc) finish() {
	kp.ended.Do(func() {
		if _, err := kp.fifo.WriteString(kaEnd + "\n"); err != nil {
			return
		}
		select {
		case <-kp.done:
			_ = kp.fifo.Close()
		case <-time.After(kaDrain):
			// The reader is stuck: closing a blocking file it reads
			// would wait for it. The FIFO goes with the work folder.
		}
	})
}

// kaDrain bounds the wait for the reader at the end: the lines are in
// the pipe's buffer, a read away.
const kaDrain = time.Second

// runKeepalived is Run for keepalived routers. keepalived cannot wait
// for a start file, and its processes come up one by one (from tens of
// milliseconds to a second each on a loaded machine): started at once,
// a lower-priority router could start its timers more than the skew
// difference before a higher one (0.195 s for priorities 150 and 100)
// and win the startup election. So the lab's time 0 is the start of the
// first, and they start in order of priority, highest first, each once
// the one before has said its first state (its FIFO's first line, its
// startup): a higher priority's down timer, shorter and started
// earlier, runs out first. Each must say it within agentReadyWait.
func (w *netnsWorld) runKeepalived(ctx context.Context, end time.Duration) (time.Duration, bool, error) {
	hosts := byPriority(w.lab)
	w.start()
	deadline := time.Now().Add(agentReadyWait)
	for _, host := range hosts {
		if ctx.Err() != nil {
			return 0, true, nil
		}
		if err := w.startKeepalived(host); err != nil {
			return 0, false, err
		}
		kp := w.kaProcs[len(w.kaProcs)-1]
		for !kp.said() {
			select {
			case <-kp.run.p.Done():
				return 0, false, i18n.Errorf("keepalived on %s exited with status %d before it started its instances:\n%s",
					kp.host, kp.run.p.ExitCode(), strings.TrimSpace(kp.run.out.String()))
			case <-ctx.Done():
				return w.Since(), true, nil
			case <-time.After(time.Millisecond):
			}
			if time.Now().After(deadline) {
				return 0, false, i18n.Errorf("keepalived on %s said no state after %v:\n%s", kp.host, agentReadyWait,
					strings.TrimSpace(kp.run.out.String()))
			}
		}
	}
	if w.ha != nil {
		// The load balancer's roles and the probes count from the
		// routers' time 0 (netns_ha.go).
		if interrupted, err := w.haReady(ctx); err != nil || interrupted {
			return w.Since(), interrupted, err
		}
		if err := w.haStart(ctx, end, w.epoch); err != nil {
			return w.Since(), false, err
		}
		if err := w.release(); err != nil {
			return w.Since(), false, err
		}
	}
	return w.runAgents(ctx, end)
}

// byPriority returns the lab's router hosts by the highest priority of
// their instances (vrrpsim.PriorityFor: 255 for state MASTER, else 100,
// when not written), highest first, then by name.
func byPriority(lab *labfile.Lab) []string {
	prio := map[string]int{}
	for _, in := range lab.VRRP.Instances {
		state := vrrpsim.StateBackup
		if strings.EqualFold(in.State, "MASTER") {
			state = vrrpsim.StateMaster
		}
		prio[in.Host] = max(prio[in.Host], int(vrrpsim.PriorityFor(state, uint8(in.Priority))))
	}
	hosts := slices.Sorted(maps.Keys(prio))
	slices.SortStableFunc(hosts, func(a, b string) int { return prio[b] - prio[a] })
	return hosts
}

// keepalivedHistories ends the FIFO readers and returns what each
// process said, in the order they started.
func (w *netnsWorld) keepalivedHistories() [][]history.Event {
	var out [][]history.Event
	for _, kp := range w.kaProcs {
		kp.finish()
		kp.mu.Lock()
		out = append(out, slices.Clone(kp.events))
		kp.mu.Unlock()
	}
	return out
}

// closeKeepalived ends the FIFO readers (Close: after the testbed killed
// every process).
func (w *netnsWorld) closeKeepalived() {
	for _, kp := range w.kaProcs {
		kp.finish()
	}
}

// keepalivedTest runs keepalived -t on host's exported configuration in
// the host's namespace (whose interfaces it checks); nil when it accepts it.
func keepalivedTest(h *netns.Host, path string) error {
	if out, err := h.Run(keepalivedBinary, "--config-test", "--use-file", path); err != nil {
		return i18n.Errorf("keepalived -t %s: %w\n%s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
}
