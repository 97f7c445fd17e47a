package vrrplinux

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lblab/lblab/vrrpsim"
	"github.com/lblab/lblab/vrrpsim/keepalived"
)

// A vrrp_script keepalived cannot run (its file does not exist, is not
// executable, or a bare name is not in PATH) is disabled, as keepalived
// 2.2 disables it: it is not run, the instances no longer track it, so
// they keep their priority (a negative weight is not subtracted, a weight
// 0 script puts nothing in FAULT), and a warning names its line. A
// notify script keepalived cannot run is dropped the same way.
func TestScriptsKeepalivedCannotRunAreDisabled(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.sh")
	noexec := filepath.Join(dir, "noexec.sh")
	for path, mode := range map[string]os.FileMode{ok: 0o755, noexec: 0o644} {
		if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	conf := fmt.Sprintf(`vrrp_script chk_missing {
    script "%s/missing.sh --quiet"
    weight -60
}
vrrp_script chk_noexec {
    script %s
}
vrrp_script chk_path {
    script "lblab-no-such-program -x"
}
vrrp_script chk_ok {
    script "ok.sh"
    weight 10
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    notify_master "%s/notify.sh master"
    notify "ok.sh"
    virtual_ipaddress {
        10.0.0.100/24
    }
    track_script {
        chk_missing
        chk_noexec
        chk_path
        chk_ok
    }
}
`, dir, noexec, dir)
	kc, _, err := keepalived.Parse("k.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	cfg, warns, err := FromKeepalived(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Scripts) != 1 || cfg.Scripts[0].Name != "chk_ok" {
		t.Errorf("scripts run: %+v, want only chk_ok", cfg.Scripts)
	}
	if tr := cfg.Instances[0].VRRP.Tracks; len(tr) != 1 || tr[0].Name != "chk_ok" || tr[0].Weight != 10 {
		t.Errorf("VI_1 tracks %+v, want only chk_ok", tr)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	want := []string{
		":2: vrrp_script chk_missing: " + dir + "/missing.sh does not exist: the script is disabled, as keepalived does, and VI_1 keeps its priority (no weight, no FAULT)",
		":6: vrrp_script chk_noexec: " + noexec + " is not executable: the script is disabled, as keepalived does, and VI_1 keeps its priority (no weight, no FAULT)",
		":9: vrrp_script chk_path: lblab-no-such-program is not in PATH: the script is disabled, as keepalived does, and VI_1 keeps its priority (no weight, no FAULT)",
		":19: vrrp_instance VI_1 notify_master: " + dir + "/notify.sh does not exist: keepalived does not run it, nor does lblab",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := cfg.Instances[0].VRRP.Notify; len(n) != 1 || n["notify"] != "ok.sh" {
		t.Errorf("notify scripts %q, want only notify ok.sh", n)
	}
	// The state machine keeps the configured priority: 100 + 10 (chk_ok
	// passes), nothing subtracted for chk_missing.
	vc := cfg.Instances[0].VRRP
	vc.PrimaryIP = netip.MustParseAddr("10.0.0.1")
	r, err := vrrpsim.New(vc)
	if err != nil {
		t.Fatal(err)
	}
	r.Startup(0)
	r.TrackResult(0, "chk_ok", true)
	if p := r.Priority(); p != 110 {
		t.Errorf("priority %d, want 110", p)
	}
}

func TestScriptProgram(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/ps -C nginx": "/usr/bin/ps",
		`"/x/y.sh" a`:          "/x/y.sh",
		"  killall -0 nginx":   "killall",
		"":                     "",
	} {
		if got := scriptProgram(in); got != want {
			t.Errorf("scriptProgram(%q) = %q, want %q", in, got, want)
		}
	}
	if why, _ := ScriptDisabled("</dev/tcp/127.0.0.1/80"); !why.IsZero() {
		t.Errorf("keepalived's file-open check is disabled: %s", why)
	}
}
