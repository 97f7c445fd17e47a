package scenarios

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/probe"
	"github.com/lblab/lblab/testbed/netns"
)

// The probes of a lab on real hosts (netns): one `lblab probe` process
// per probing host and (interval, timeout) pair, started with the
// agents, in the host's network namespace, and released by the world's
// start file with the lab's epoch, so that the k-th probe of a spec goes
// at k × interval of the lab's clock, as in the simulator. Each writes
// its net events as whole lines into its own history file; when the run
// ends they are read, and each event's Answer (the MAC address of the
// prober's neighbour entry for the destination) is replaced by the name
// of the host whose interface has that MAC ("" when no lab host has it:
// a virtual MAC, an entry not resolved).
//
// A world plugs it in so (the lab's probes become probe.Specs, From the
// topology host):
//
//	ps, err := newNetnsProbes(bin, work, startPath, hosts, specs) // Build
//	ps.start()                                        // Run, with the agents
//	ps.waitReady(ctx, wait)                           // with the agents'
//	... write the start file (release) ...
//	ps.stop(wait)                                     // Finish
//	evs, err := ps.events(macs)                       // merged with the rest

// netnsProbes runs the probes of one lab run on its hosts.
type netnsProbes struct {
	bin, work, startFile string
	// inside is the work folder as the probers see it ("": work).
	inside string
	// has reports whether a probe may be sent from a host; launch starts
	// a prober on a host with lblab's arguments, its output into out.
	has    func(host string) bool
	launch func(host string, out io.Writer, args []string) (probeProc, error)
	groups []*probeGroup
}

// probeProc is a prober's process: a netns.Process, or a container's
// (docker_ha.go).
type probeProc interface {
	Done() <-chan struct{}
	ExitCode() int
	Terminate() error
	Wait(timeout time.Duration) error
}

// probeGroup is the probes one process runs: one host, one interval,
// timeout and phase (the first probe's send time after the epoch).
type probeGroup struct {
	host                     string
	interval, timeout, phase time.Duration
	specs                    []probe.Spec
	p                        probeProc
	out                      *bytes.Buffer
}

// name names the group's files: host, interval and timeout.
func (g *probeGroup) name() string {
	if g.phase > 0 {
		return fmt.Sprintf("%s.probe-%s-%s-%s", g.host, g.interval, g.timeout, g.phase)
	}
	return fmt.Sprintf("%s.probe-%s-%s", g.host, g.interval, g.timeout)
}

// newNetnsProbes groups specs (each valid after its defaults, From a host
// of hosts) into the processes that run them; bin is lblab, work the run's
// folder, startFile the file the world writes the epoch to at time 0.
func newNetnsProbes(bin, work, startFile string, hosts map[string]*netns.Host, specs []probe.Spec) (*netnsProbes, error) {
	return newNetnsProbesAt(bin, work, startFile, hosts, specs, nil)
}

// newNetnsProbesAt is newNetnsProbes with the phase of each spec (the
// first probe's send time after the epoch; none: 0).
func newNetnsProbesAt(bin, work, startFile string, hosts map[string]*netns.Host, specs []probe.Spec, phases []time.Duration) (*netnsProbes, error) {
	ps := &netnsProbes{bin: bin, work: work, startFile: startFile,
		has: func(host string) bool { return hosts[host] != nil },
		launch: func(host string, out io.Writer, args []string) (probeProc, error) {
			// Real-time, as the agents: the probes measure the network's
			// timers, not the machine's other load.
			name, args := netns.Realtime(bin, args...)
			return hosts[host].Start(out, out, name, args...)
		}}
	return ps, ps.group(specs, phases)
}

// group groups specs, each with its phase, into the processes that run
// them.
func (ps *netnsProbes) group(specs []probe.Spec, phases []time.Duration) error {
	for k, s := range specs {
		var phase time.Duration
		if k < len(phases) {
			phase = phases[k]
		}
		s = s.Defaults()
		if err := s.Validate(); err != nil {
			return i18n.Errorf("probe %s: %w", s.Name, err)
		}
		if !ps.has(s.From) {
			return i18n.Errorf("probe %s: from %s: no such host", s.Name, s.From)
		}
		i := slices.IndexFunc(ps.groups, func(g *probeGroup) bool {
			return g.host == s.From && g.interval == s.Interval && g.timeout == s.Timeout && g.phase == phase
		})
		if i < 0 {
			i = len(ps.groups)
			ps.groups = append(ps.groups, &probeGroup{host: s.From, interval: s.Interval, timeout: s.Timeout, phase: phase})
		}
		ps.groups[i].specs = append(ps.groups[i].specs, s)
	}
	slices.SortFunc(ps.groups, func(a, b *probeGroup) int { return strings.Compare(a.name(), b.name()) })
	return nil
}

func (ps *netnsProbes) historyPath(g *probeGroup) string {
	return filepath.Join(ps.work, g.name()+".history.jsonl")
}

func (ps *netnsProbes) readyPath(g *probeGroup) string {
	return filepath.Join(ps.work, g.name()+".ready")
}

// seen is where the prober sees path, a file of the work folder.
func (ps *netnsProbes) seen(path string) string {
	if ps.inside == "" {
		return path
	}
	return ps.inside + "/" + filepath.Base(path)
}

// start starts every group's prober: it opens its sockets, writes its
// ready file and waits for the start file.
func (ps *netnsProbes) start() error {
	for _, g := range ps.groups {
		if err := os.Remove(ps.readyPath(g)); err != nil && !os.IsNotExist(err) {
			return err
		}
		args := []string{"probe", "--from", g.host, "--history", ps.seen(ps.historyPath(g)),
			"--interval", g.interval.String(), "--timeout", g.timeout.String(),
			"--ready-file", ps.seen(ps.readyPath(g)), "--start-file", ps.startFile}
		if g.phase > 0 {
			args = append(args, "--phase", g.phase.String())
		}
		for _, s := range g.specs {
			args = append(args, "--probe", string(s.Kind)+":"+s.To)
		}
		g.out = &bytes.Buffer{}
		p, err := ps.launch(g.host, g.out, args)
		if err != nil {
			return i18n.Errorf("host %s: starting its probes: %w", g.host, err)
		}
		g.p = p
	}
	return nil
}

// waitReady waits until every prober has written its ready file, at most
// wait (a process start, not a protocol time); a prober that exits
// meanwhile is an error with its output. It reports whether ctx ended the
// wait.
func (ps *netnsProbes) waitReady(ctx context.Context, wait time.Duration) (bool, error) {
	deadline := time.Now().Add(wait)
	for _, g := range ps.groups {
		for {
			if _, err := os.Stat(ps.readyPath(g)); err == nil {
				break
			}
			select {
			case <-g.p.Done():
				return false, i18n.Errorf("the probes on %s (%s probe) exited with status %d before they were ready:\n%s",
					g.host, ps.bin, g.p.ExitCode(), strings.TrimSpace(g.out.String()))
			case <-ctx.Done():
				return true, nil
			case <-time.After(time.Millisecond):
			}
			if time.Now().After(deadline) {
				return false, i18n.Errorf("the probes on %s (%s probe) not ready after %v", g.host, ps.bin, wait)
			}
		}
	}
	return false, nil
}

// stop ends the probers (SIGTERM: the probes still awaited write
// nothing), waiting for each at most wait.
func (ps *netnsProbes) stop(wait time.Duration) {
	for _, g := range ps.groups {
		if g.p != nil {
			_ = g.p.Terminate()
		}
	}
	for _, g := range ps.groups {
		if g.p != nil {
			_ = g.p.Wait(wait)
		}
	}
}

// events reads the probers' histories (a missing one has no events) and
// returns their net events ordered by time, each Answer mapped from a MAC
// address to its host by macs ("" when macs has none).
func (ps *netnsProbes) events(macs map[string]string) ([]history.Event, error) {
	var out []history.Event
	for _, g := range ps.groups {
		f, err := os.Open(ps.historyPath(g))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		evs, err := history.ReadJSONL(f, ps.historyPath(g))
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if e.Answer != "" {
				e.Answer = macs[strings.ToLower(e.Answer)]
			}
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b history.Event) int { return cmp.Compare(a.T, b.T) })
	return out, nil
}

// hostMACs returns the host of each MAC address of the links (lower
// case, as net.HardwareAddr writes them).
func hostMACs(links map[string][]*netns.Link) (map[string]string, error) {
	macs := map[string]string{}
	for host, ls := range links {
		for _, l := range ls {
			mac, err := l.MAC()
			if err != nil {
				return nil, err
			}
			macs[mac.String()] = host
		}
	}
	return macs, nil
}
