package vrrplinux

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/vrrpsim"
	"github.com/lblab/lblab/vrrpsim/keepalived"
)

func TestGARPFrameIsKeepalived(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc}
	got := hex.EncodeToString(appendGARP(nil, mac, netip.MustParseAddr("10.77.0.100")))
	want := "ffffffffffff" + "020000aabbcc" + "0806" + // Ethernet: broadcast from our MAC, ARP
		"0001" + "0800" + "06" + "04" + "0001" + // Ethernet/IPv4, request
		"020000aabbcc" + "0a4d0064" + // sender: our MAC, the VIP
		"ffffffffffff" + "0a4d0064" // target: broadcast, the VIP
	if got != want {
		t.Errorf("gratuitous ARP\n got %s\nwant %s", got, want)
	}
}

func TestNotifyCommandsFollowKeepalived(t *testing.T) {
	notify := map[string]string{"notify_master": "/x/m.sh master", "notify": "/x/all.sh first"}
	got := vrrpsim.NotifyCommands(notify, "VI_1", vrrpsim.StateMaster, 150)
	want := [][]string{{"/x/m.sh master"}, {`/x/all.sh first "$@"`, "INSTANCE", "VI_1", "MASTER", "150"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MASTER: got %q, want %q", got, want)
	}
	got = vrrpsim.NotifyCommands(notify, "VI_1", vrrpsim.StateStop, 100)
	want = [][]string{{`/x/all.sh first "$@"`, "INSTANCE", "VI_1", "STOP", "100"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("STOP: got %q, want %q", got, want)
	}
	if got := vrrpsim.NotifyCommands(notify, "VI_1", vrrpsim.StateInit, 100); got != nil {
		t.Errorf("INIT runs nothing, got %q", got)
	}
}

func TestNotifyRunsWithKeepalivedArguments(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	var n notifier
	n.run(vrrpsim.NotifyCommands(map[string]string{"notify": "echo configured >>" + out + `; printf '%s\n' >>` + out},
		"VI_7", vrrpsim.StateStop, 99), true, t.Logf)
	n.waitStops(5 * time.Second)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "configured\nINSTANCE\nVI_7\nSTOP\n99\n"; got != want {
		t.Errorf("notify wrote %q, want %q", got, want)
	}
}

func TestRunCommandKillsTheGroupOnTimeout(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "late")
	start := time.Now()
	ok := runCommand(context.Background(), "(sleep 0.5; touch "+flag+") & sleep 5", 200*time.Millisecond)
	if ok {
		t.Fatal("a command that outlives its timeout succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout of 200ms took %v", d)
	}
	time.Sleep(700 * time.Millisecond)
	if _, err := os.Stat(flag); err == nil {
		t.Error("the script's background child survived the timeout")
	}
	if !runCommand(context.Background(), "exit 0", time.Second) || runCommand(context.Background(), "exit 3", time.Second) {
		t.Error("exit status not taken as the result")
	}
}

func TestRunScriptReportsEveryInterval(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "ok")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan trackResult)
	go runScript(ctx, Script{Name: "chk", Command: "test -e " + flag, Interval: 100 * time.Millisecond, Timeout: time.Second}, out)
	start := time.Now()
	if r := <-out; r.name != "chk" || r.ok {
		t.Fatalf("first result %+v, want chk failed", r)
	}
	if d := time.Since(start); d > 80*time.Millisecond {
		t.Errorf("first run after %v, want at once", d)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := <-out; !r.ok {
		t.Fatalf("second result %+v, want ok", r)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 400*time.Millisecond {
		t.Errorf("second run after %v, want about 100ms", d)
	}
}

func TestFromKeepalived(t *testing.T) {
	// The test file's scripts are found whether or not this host has them.
	defer func(old func(string) (string, error)) { lookPath = old }(lookPath)
	lookPath = func(p string) (string, error) { return p, nil }
	kc, _, err := keepalived.ParseFile("../keepalived/testdata/keepalived.conf")
	if err != nil {
		t.Fatal(err)
	}
	cfg, warns, err := FromKeepalived(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Instances) != 2 {
		t.Fatalf("%d instances, want 2", len(cfg.Instances))
	}
	if g := cfg.Instances[0].VRRP; cfg.Name != "LVS_DEVEL" || g.GARPDelay != 2*time.Second || g.GARPRepeat != 5 {
		t.Errorf("globals: name %q, GARP delay %v repeat %d", cfg.Name, g.GARPDelay, g.GARPRepeat)
	}
	vi1 := cfg.Instances[0]
	if vi1.Interface != "eth0" || vi1.VRRP.VRID != 51 || vi1.VRRP.Priority != 150 ||
		vi1.VRRP.PrimaryIP != netip.MustParseAddr("10.77.0.11") ||
		!reflect.DeepEqual(vi1.VRRP.UnicastPeers, []netip.Addr{netip.MustParseAddr("10.77.0.12")}) ||
		vi1.VRRP.Notify["notify"] != "/etc/keepalived/notify.sh" {
		t.Errorf("VI_1: %+v", vi1)
	}
	want := []Script{{Name: "chk_nginx", Command: "/usr/bin/ps -C nginx --no-headers", Interval: 2 * time.Second, Timeout: 2 * time.Second}}
	if !reflect.DeepEqual(cfg.Scripts, want) {
		t.Errorf("scripts %+v, want %+v", cfg.Scripts, want)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %v, want none", warns)
	}
	if got := vi1.VRRP.TrackInterfaces; !reflect.DeepEqual(got, []vrrpsim.TrackInterface{{Name: "eth1"}}) {
		t.Errorf("VI_1 track_interface %+v, want eth1 with weight 0", got)
	}
	if vi2 := cfg.Instances[1]; vi2.VRRP.PrimaryIP.IsValid() || vi2.VRRP.Version != 3 {
		t.Errorf("VI_2: primary %v (want unset: the interface's), version %d", vi2.VRRP.PrimaryIP, vi2.VRRP.Version)
	}

	one, _, err := FromKeepalived(kc, "VI_2")
	if err != nil || len(one.Instances) != 1 || one.Instances[0].VRRP.Name != "VI_2" || len(one.Scripts) != 0 {
		t.Errorf("--instance VI_2: %+v, %v", one, err)
	}
	if _, _, err := FromKeepalived(kc, "VI_9"); err == nil {
		t.Error("an unknown instance is not an error")
	}
}

func TestHistoryStampsCountFromTheEpoch(t *testing.T) {
	var h, log bytes.Buffer
	a := initAgent(Config{Name: "r1"}, Options{History: &h, Log: &log})
	a.offset = 1500 * time.Millisecond // started 1.5 s after the epoch
	in := &instance{a: a}
	in.Record(history.Event{T: history.Stamp(2 * time.Second), Kind: history.KindVRRP, Router: "r1", Instance: "VI_1",
		VRID: 51, From: "BACKUP", To: "MASTER", Priority: 100, Reason: "master down timer expired"})
	evs, err := history.ReadJSONL(&h, "history")
	if err != nil {
		t.Fatal(err)
	}
	want := history.Event{T: history.Stamp(3500 * time.Millisecond), Kind: history.KindVRRP, Router: "r1", Instance: "VI_1",
		VRID: 51, From: "BACKUP", To: "MASTER", Priority: 100, Reason: "master down timer expired"}
	if len(evs) != 1 || evs[0] != want {
		t.Errorf("history %+v, want %+v", evs, want)
	}
}
