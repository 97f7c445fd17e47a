package vrrplinux

import (
	"context"
	"errors"
	"github.com/lblab/lblab/i18n"
	"io/fs"
	"maps"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lblab/lblab/vrrpsim"
	"github.com/lblab/lblab/vrrpsim/keepalived"
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

// lookPath finds a script's program as exec.LookPath does: a name with a
// slash is checked as it is, a bare name is searched in PATH; the file
// must be a regular file with an execute bit. Tests replace it.
var lookPath = exec.LookPath

// scriptProgram is the program a vrrp_script or notify command runs: its
// first word, without quotes (keepalived splits the command into words and
// executes the first).
func scriptProgram(command string) string {
	f := strings.Fields(command)
	if len(f) == 0 {
		return ""
	}
	return strings.Trim(f[0], `"'`)
}

// ScriptDisabled says why keepalived 2.2 would disable a vrrp_script
// whose command is command (check_script_secure in lib/notify.c: its
// program is not found, in PATH for a bare name, or is not an executable
// regular file), or no message when it would run it. notFound is true when the
// program is missing, which `keepalived -t` reports as a configuration
// error; a script that is there but not executable is disabled with a
// log line only. A command starting with "<" and a path is keepalived's
// "is this file openable" check, never disabled.
func ScriptDisabled(command string) (why i18n.Text, notFound bool) {
	prog := scriptProgram(command)
	if strings.HasPrefix(prog, "<") && strings.HasPrefix(strings.TrimLeft(prog[1:], " \t"), "/") {
		return i18n.Text{}, false
	}
	if prog == "" {
		return i18n.T("the command is empty"), true
	}
	if _, err := lookPath(prog); err != nil {
		switch {
		case errors.Is(err, exec.ErrNotFound):
			return i18n.T("%s is not in PATH", prog), true
		case errors.Is(err, fs.ErrNotExist):
			return i18n.T("%s does not exist", prog), true
		case errors.Is(err, fs.ErrPermission):
			return i18n.T("%s is not executable", prog), false
		case errors.Is(err, syscall.EISDIR):
			// keepalived checks only the mode bits: it keeps the script,
			// whose every run then fails.
			return i18n.Text{}, false
		}
		return i18n.T("%s: %v", prog, err), true
	}
	return i18n.Text{}, false
}

// disableMissingScripts does what keepalived 2.2 does at start with a
// vrrp_script it cannot run (check_vrrp_script_security in
// keepalived/vrrp/vrrp.c): it disables it, which removes it from every
// instance's track_script, so that the instance keeps its configured
// priority, neither adding nor subtracting the weight, and a weight 0
// script never puts it in FAULT. It returns the scripts left to run and a
// warning per disabled script, at the line of its script keyword.
func disableMissingScripts(c *keepalived.Config, insts []Instance, scripts []Script) ([]Script, []keepalived.Warning) {
	var warns []keepalived.Warning
	disabled := map[string]bool{}
	kept := scripts[:0:0]
	for _, s := range scripts {
		why, _ := ScriptDisabled(s.Command)
		if why.IsZero() {
			kept = append(kept, s)
			continue
		}
		disabled[s.Name] = true
		var users []string
		for _, in := range insts {
			if slices.ContainsFunc(in.VRRP.Tracks, func(t vrrpsim.Track) bool { return t.Name == s.Name }) {
				users = append(users, in.VRRP.Name)
			}
		}
		line := c.Scripts[s.Name].CommandLine
		if line == 0 {
			line = c.Scripts[s.Name].Line
		}
		warns = append(warns, c.WarningAt("", line, i18n.T(
			"vrrp_script %s: %s: the script is disabled, as keepalived does, and %s keeps its priority (no weight, no FAULT)",
			s.Name, why, strings.Join(users, ", "))))
	}
	for i := range insts {
		insts[i].VRRP.Tracks = slices.DeleteFunc(slices.Clone(insts[i].VRRP.Tracks), func(t vrrpsim.Track) bool { return disabled[t.Name] })
	}
	return kept, warns
}

// disableMissingNotifies returns in's notify scripts without those
// keepalived would not run (check_notify_script_secure: a program that is
// missing or not executable), with a warning for each at its line.
func disableMissingNotifies(in *keepalived.Instance) (map[string]string, []keepalived.Warning) {
	var warns []keepalived.Warning
	out := make(map[string]string, len(in.Notify))
	for _, key := range slices.Sorted(maps.Keys(in.Notify)) {
		cmd := in.Notify[key]
		if why, _ := ScriptDisabled(cmd); !why.IsZero() {
			text := i18n.T("vrrp_instance %s %s: %s: keepalived does not run it, nor does lblab", in.Name, key, why)
			warns = append(warns, keepalived.Warning{Line: in.NotifyLines[key], Msg: text.String(), Text: text})
			continue
		}
		out[key] = cmd
	}
	return out, warns
}
