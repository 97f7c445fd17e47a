package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWorlds: lblab worlds lists every world with its capabilities, in
// English and in Chinese.
func TestWorlds(t *testing.T) {
	code, out, errs := lblab(t, "worlds")
	wantExit(t, code, 0, out, errs)
	for _, want := range []string{
		"sim  the deterministic discrete-event simulator",
		"roles: vrrp, proxy, backend, clients; faults: crash, restore",
		"netns  real agents, proxies, backends and load generators as processes in Linux network namespaces",
		"link shaping: no; needs root: yes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lblab worlds says\n%s\nwithout %q", out, want)
		}
	}
	code, out, errs = lblab(t, "worlds", "--lang", "zh")
	wantExit(t, code, 0, out, errs)
	if !strings.Contains(out, "确定性的离散事件模拟器") || !strings.Contains(out, "角色：vrrp, proxy, backend, clients") {
		t.Errorf("lblab worlds --lang zh says\n%s", out)
	}
}

// TestRunRefusesWhatTheWorldCannotDo: lblab run names the missing
// capability, exits 2, and makes nothing (no output folder).
func TestRunRefusesWhatTheWorldCannotDo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := lblab(t, "run", "vrrp-failover", "--mode", "netns", "--set", "topology.segments[0].loss=0.05", "--out", out)
	wantExit(t, code, 2, stdout, stderr)
	if !strings.Contains(stderr, "the netns world cannot shape links (segment lan: loss 0.05)") {
		t.Errorf("stderr %q does not name the capability", stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the refused run made %s", out)
	}
}
