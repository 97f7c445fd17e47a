package vrrplinux

import (
	"context"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lblab/lblab/vrrpsim"
)

// trackResult is one run of a vrrp_script.
type trackResult struct {
	name string
	ok   bool
}

// runScript runs s every Interval (counted from the start of each run, as
// keepalived does; a run still going when the next is due makes that one
// wait) until ctx ends, and sends each result to out. The first run is at
// once.
func runScript(ctx context.Context, s Script, out chan<- trackResult) {
	next := time.Now()
	for {
		if wait := time.Until(next); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		start := time.Now()
		ok := runCommand(ctx, s.Command, s.Timeout)
		if ctx.Err() != nil {
			return
		}
		select {
		case out <- trackResult{s.Name, ok}:
		case <-ctx.Done():
			return
		}
		next = start.Add(s.Interval)
		for !next.After(time.Now()) {
			next = next.Add(s.Interval)
		}
	}
}

// runCommand runs command with /bin/sh -c in a process group of its own,
// killing the whole group when timeout passes (or ctx ends). It reports
// whether the command exited 0 in time.
func runCommand(ctx context.Context, command string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := shell(ctx, command)
	return cmd.Run() == nil && ctx.Err() == nil
}

// shell makes /bin/sh -c command (with args as $1...) in its own process
// group, killed as a group when ctx ends.
func shell(ctx context.Context, command string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", command, "sh"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd
}

// notifyKey is keepalived's notify_* keyword for a state, "" for none.
func notifyKey(s vrrpsim.State) string {
	switch s {
	case vrrpsim.StateMaster:
		return "notify_master"
	case vrrpsim.StateBackup:
		return "notify_backup"
	case vrrpsim.StateFault:
		return "notify_fault"
	case vrrpsim.StateStop:
		return "notify_stop"
	}
	return ""
}

// notifyCommands returns the shell command lines and their arguments that
// keepalived runs when instance enters state with priority: first
// notify_<state> as written, then notify with INSTANCE NAME STATE PRIORITY
// appended to what is written (keepalived's vrrp_notify.c).
func notifyCommands(notify map[string]string, instance string, state vrrpsim.State, priority uint8) [][]string {
	var cmds [][]string
	if c := notify[notifyKey(state)]; c != "" && notifyKey(state) != "" {
		cmds = append(cmds, []string{c})
	}
	if c := notify["notify"]; c != "" && notifyKey(state) != "" {
		cmds = append(cmds, []string{c + ` "$@"`, "INSTANCE", instance, state.String(), strconv.Itoa(int(priority))})
	}
	return cmds
}

// notifier runs notify scripts without waiting for them; Wait waits for
// the ones of STOP (as keepalived does, up to a limit) before the agent
// exits.
type notifier struct {
	stops sync.WaitGroup
	mu    sync.Mutex
	procs map[*exec.Cmd]bool
}

// run starts the commands; stop says they are STOP notifies to wait for.
func (n *notifier) run(cmds [][]string, stop bool, logf func(string, ...any)) {
	for _, c := range cmds {
		cmd := shell(context.Background(), c[0], c[1:]...)
		if err := cmd.Start(); err != nil {
			logf("notify %q: %v", c[0], err)
			continue
		}
		n.mu.Lock()
		if n.procs == nil {
			n.procs = map[*exec.Cmd]bool{}
		}
		n.procs[cmd] = stop
		n.mu.Unlock()
		if stop {
			n.stops.Add(1)
		}
		go func() {
			if err := cmd.Wait(); err != nil {
				logf("notify %q: %v", c[0], err)
			}
			n.mu.Lock()
			delete(n.procs, cmd)
			n.mu.Unlock()
			if stop {
				n.stops.Done()
			}
		}()
	}
}

// waitStops waits up to limit for the STOP notifies, then kills what is
// left of them.
func (n *notifier) waitStops(limit time.Duration) {
	done := make(chan struct{})
	go func() { n.stops.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(limit):
	}
	n.mu.Lock()
	for cmd, stop := range n.procs {
		if stop {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	n.mu.Unlock()
	<-done
}
