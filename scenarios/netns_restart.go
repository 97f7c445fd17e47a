package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/testbed/netns"
)

// A vrrp_script that restarts the proxy (labfile.Script.RestartWait) on
// real hosts: the agent (lblab vrrp, or keepalived) runs, as its
// command, the seed's check_nginx.sh itself, written for the host
// (restartScriptPath):
//
//	if no nginx runs: start nginx; sleep 2; if none runs still: stop keepalived
//
// with the host's own processes in the places of the seed's: "nginx
// runs" is the host's proxy (lblab proxy or nginx) alive, by the process
// id the world writes at each of its starts (proxyPidPath: the
// namespaces share one process table, so ps -C nginx would see every
// host's), or not started yet (no such file: at boot nginx comes
// before keepalived); "start nginx" runs the proxy's program against a
// configuration broken while it ran (a proxy_crash with start_fails:
// the program really exits with an error; started in the background,
// as nginx returns at once when it daemonizes, so that the script's
// wait is its sleep and not the start of a Go program on a loaded
// machine); "stop keepalived" is SIGTERM
// to the agent's process group, as the world's own stop fault sends
// (its pid, agentPidPath). The simulator runs the model of the same
// script (vrrpsim.RestartCheck). A restart that works is refused
// (restartRefusal): the proxy the script would start is not one the
// world knows, and its requests would be lost to the history.

// restartScriptPath is the check script of host's vrrp_script name.
func (w *netnsWorld) restartScriptPath(host, name string) string {
	return filepath.Join(w.opt.Work, host+"."+name+".sh")
}

// proxyPidPath holds the process id of host's running proxy.
func (w *netnsWorld) proxyPidPath(host string) string {
	return filepath.Join(w.opt.Work, host+".proxy.pid")
}

// agentPidPath holds the process id of host's running agent.
func (w *netnsWorld) agentPidPath(host string) string {
	return filepath.Join(w.opt.Work, host+".agent.pid")
}

// proxyStartPath is the command the check script of host runs to start
// the proxy again.
func (w *netnsWorld) proxyStartPath(host string) string {
	return filepath.Join(w.opt.Work, host+".proxy-start.sh")
}

// scriptCommand is the command the agent of host runs for its
// vrrp_script name: the check script for one that restarts the proxy,
// else a check of the flag file script_fail creates (flagPath).
func scriptCommand(lab *labfile.Lab, host, name string, flag func(host, script string) string) string {
	if r, ok := lab.RestartScript(host); ok && r == name {
		return "/bin/sh " + flag(host, name)
	}
	return "/bin/test ! -e " + flag(host, name)
}

// restartRefusal says why the restarting scripts of lab cannot run on
// real hosts, or nil: a proxy_crash on a host whose script restarts the
// proxy must say the restart fails (start_fails).
func restartRefusal(lab *labfile.Lab) error {
	for _, f := range lab.Faults {
		if _, ok := lab.RestartScript(f.Target); ok && f.Kind == labfile.FaultProxyCrash && !f.StartFails {
			return &labfile.InputError{Err: i18n.Errorf("lab %s: fault %s: a vrrp_script that restarts the proxy on %s and succeeds does not run on real hosts yet (the proxy it starts would not be the world's); give the fault start_fails: true", lab.Name, f.Name, f.Target)}
		}
	}
	return nil
}

// writeRestartScripts writes, for each host whose vrrp_script restarts
// the proxy, the check script and the proxy's start command: the
// proxy's program (lblab proxy, or nginx with impl nginx) against a
// configuration that an edit broke while it ran.
func (w *netnsWorld) writeRestartScripts() error {
	for _, h := range w.lab.Topology.Hosts {
		name, ok := w.lab.RestartScript(h.Name)
		if !ok {
			continue
		}
		wait := w.lab.VRRP.Scripts[name].RestartWait.D
		// No pid file yet: the world has not started the node's proxy
		// (keepalived runs its scripts from its own start, the proxies
		// start just before the lab's time 0), as if nginx had started
		// before keepalived at boot, as in the seed.
		pid := w.proxyPidPath(h.Name)
		running := fmt.Sprintf(`{ [ ! -e %s ] || kill -0 "$(cat %s)" 2>/dev/null; }`, pid, pid)
		script := fmt.Sprintf(`#!/bin/sh
# check_nginx.sh, the seed's restarting vrrp_script %[1]s, on %[2]s:
# if no nginx runs, start nginx; sleep; if none runs still, stop keepalived.
# nginx is %[2]s's proxy (its pid file), keepalived %[2]s's agent.
if ! %[3]s; then
	/bin/sh %[4]s >>%[4]s.log 2>&1 &
	sleep %[5]s
	if ! %[3]s; then
		kill -TERM -"$(cat %[6]s)"
	fi
fi
exit 0
`, name, h.Name, running, w.proxyStartPath(h.Name), strconv.FormatFloat(wait.Seconds(), 'f', -1, 64), w.agentPidPath(h.Name))
		if err := os.WriteFile(w.restartScriptPath(h.Name, name), []byte(script), 0o755); err != nil {
			return err
		}
		start, err := w.brokenStart(h.Name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(w.proxyStartPath(h.Name), []byte(start), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// brokenStart is the command that starts host's proxy against a
// configuration broken by an edit (an unterminated block): the program
// reads it, says why, and exits with an error.
func (w *netnsWorld) brokenStart(host string) (string, error) {
	if w.lab.ProxyImpl() == labfile.ImplNginx {
		bin, err := nginxBinary()
		if err != nil {
			return "", err
		}
		dir := filepath.Join(w.opt.Work, host+".nginx-broken")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, []byte("# broken by an edit while nginx ran\nevents {\n"), 0o644); err != nil {
			return "", err
		}
		return fmt.Sprintf("exec %s -c %s -p %s/ -e %s/error.log\n", bin, conf, dir, dir), nil
	}
	conf := filepath.Join(w.opt.Work, host+".proxy-broken.yaml")
	if err := os.WriteFile(conf, []byte("# broken by an edit while the proxy ran\nlisteners: [\n"), 0o644); err != nil {
		return "", err
	}
	return fmt.Sprintf("exec %s proxy --config %s --bind 0.0.0.0\n", w.opt.Binary, conf), nil
}

// agentStarted writes the process id of host's new agent p where its
// restarting script looks for it (agentPidPath), if it has one.
func (w *netnsWorld) agentStarted(host string, p *netns.Process) error {
	if _, ok := w.lab.RestartScript(host); !ok {
		return nil
	}
	return os.WriteFile(w.agentPidPath(host), []byte(strconv.Itoa(p.Pid())+"\n"), 0o644)
}

// restartFlag is flagPath for a host's restarting script: its check
// script's path ("" when name is not one).
func (w *netnsWorld) restartFlag(host, name string) string {
	if r, ok := w.lab.RestartScript(host); ok && r == name {
		return w.restartScriptPath(host, name)
	}
	return ""
}
