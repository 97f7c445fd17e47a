package scenarios

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lblab/lblab/scenarios/labfile"
)

// TestRestartScriptOnRealHosts runs the check script the netns world
// writes for pair C of ha-pair-nginx-dies (its wait cut to 100 ms): the
// agent's configuration runs it (and pair B still checks its flag
// file); with no pid file yet, or the proxy alive, it does nothing; with
// the proxy dead it starts the proxy's program, which fails against its
// broken configuration, and SIGTERMs the agent's process group.
func TestRestartScriptOnRealHosts(t *testing.T) {
	lab, err := Load("ha-pair-nginx-dies", []string{"vrrp.vrrp_script.check_nginx_sh.restart_wait=100ms"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := &netnsWorld{lab: lab, opt: NetnsOptions{Work: dir, Binary: "/bin/false"}}
	script := w.restartScriptPath("c-lb1", "check_nginx_sh")
	if conf := keepalivedConf(lab, "c-lb1", w.flagPath); !strings.Contains(conf, `script "/bin/sh `+script+`"`) {
		t.Fatalf("c-lb1's configuration does not run %s:\n%s", script, conf)
	}
	if conf := keepalivedConf(lab, "b-lb1", w.flagPath); !strings.Contains(conf, `script "/bin/test ! -e `+filepath.Join(dir, "b-lb1.chk_nginx.fail")+`"`) {
		t.Fatalf("b-lb1's configuration does not check its flag file:\n%s", conf)
	}
	if err := w.writeRestartScripts(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(w.restartScriptPath("b-lb1", "chk_nginx")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a script for b-lb1, which restarts nothing: %v", err)
	}
	// The agent: a process group of its own.
	agent := exec.Command("sleep", "30")
	agent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}) // closed when the one Wait returns
	go func() { _ = agent.Wait(); close(done) }()
	defer func() { _ = agent.Process.Kill(); <-done }()
	writePid := func(path string, pid int) {
		t.Helper()
		if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writePid(w.agentPidPath("c-lb1"), agent.Process.Pid)
	runScript := func() {
		t.Helper()
		if out, err := exec.Command("/bin/sh", script).CombinedOutput(); err != nil {
			t.Fatalf("the script exits 0, got %v: %s", err, out)
		}
	}
	alive := func() bool {
		select {
		case <-done:
			return false
		case <-time.After(50 * time.Millisecond):
			return true
		}
	}
	runScript() // no proxy started yet
	if !alive() {
		t.Fatal("the script stopped the agent before the proxy was started")
	}
	writePid(w.proxyPidPath("c-lb1"), os.Getpid()) // a live process
	runScript()
	if !alive() {
		t.Fatal("the script stopped the agent with the proxy running")
	}
	if _, err := os.Stat(w.proxyStartPath("c-lb1") + ".log"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the script started the proxy while it ran: %v", err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	writePid(w.proxyPidPath("c-lb1"), dead.Process.Pid)
	runScript()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the script did not stop the agent with the proxy dead and its start failing")
	}
	if _, err := os.Stat(w.proxyStartPath("c-lb1") + ".log"); err != nil {
		t.Fatalf("the script did not try to start the proxy: %v", err)
	}
}

// TestRestartThatWorksIsRefusedOnRealHosts: a proxy_crash on a host
// whose script restarts the proxy must say the restart fails.
func TestRestartThatWorksIsRefusedOnRealHosts(t *testing.T) {
	lab, err := Load("ha-pair-nginx-dies", []string{"faults[2].start_fails=false", "expect=[]"})
	if err != nil {
		t.Fatal(err)
	}
	if err := restartRefusal(lab); err == nil || !strings.Contains(err.Error(), "start_fails: true") {
		t.Fatalf("got %v, want a refusal asking for start_fails", err)
	}
	lab, err = Load("ha-pair-nginx-dies", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := restartRefusal(lab); err != nil {
		t.Fatalf("the catalog's lab refused: %v", err)
	}
}

// TestDockerRefusesARestartingScript: the docker world has no check
// script to run, so it refuses the lab before it makes anything.
func TestDockerRefusesARestartingScript(t *testing.T) {
	lab, err := Load("ha-pair-nginx-dies", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &dockerWorld{lab: lab}
	err = w.Build(context.Background())
	var in *labfile.InputError
	if !errors.As(err, &in) || !strings.Contains(err.Error(), "restarts the proxy") {
		t.Fatalf("got %v, want an input error naming the restarting script", err)
	}
}
