package scenarios

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/testbed/netns"
	"github.com/lblab/lblab/vrrpsim/keepalived"
)

// catalogVRRP returns every catalog lab with VRRP instances.
func catalogVRRP(t *testing.T) []*labfile.Lab {
	t.Helper()
	entries, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	var labs []*labfile.Lab
	for _, e := range entries {
		lab, err := Load(e.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if lab.VRRP != nil && len(lab.VRRP.Instances) > 0 {
			labs = append(labs, lab)
		}
	}
	if len(labs) < 5 {
		t.Fatalf("%d catalog VRRP labs, want at least 5", len(labs))
	}
	return labs
}

// routersOf returns the lab's router hosts in name order.
func routersOf(lab *labfile.Lab) []string {
	var hs []string
	for _, in := range lab.VRRP.Instances {
		if !slices.Contains(hs, in.Host) {
			hs = append(hs, in.Host)
		}
	}
	slices.Sort(hs)
	return hs
}

func kaFlag(host, script string) string { return "/run/lblab-test/" + host + "." + script + ".fail" }

func sameName(s string) string { return s }

// TestKeepalivedExportRoundTrip: the keepalived.conf the netns world
// exports for each router of each catalog VRRP lab reads back (Parse)
// into the same configuration, and holds the lab's instances: their
// VRIDs, priorities, VIPs and tracked scripts, the scripts' flag checks
// and the FIFO the runner reads.
func TestKeepalivedExportRoundTrip(t *testing.T) {
	for _, lab := range catalogVRRP(t) {
		for _, host := range routersOf(lab) {
			c, err := keepalivedConfig(lab, host, kaFlag, "/run/lblab-test/"+host+".fifo", sameName)
			if err != nil {
				t.Fatalf("%s %s: %v", lab.Name, host, err)
			}
			text, diff, err := keepalived.RoundTrip(c)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", lab.Name, host, err, text)
			}
			if diff != "" {
				t.Errorf("%s %s: the export reads back differently:\n%s\n%s", lab.Name, host, diff, text)
			}
			var n int
			for _, in := range lab.VRRP.Instances {
				if in.Host != host {
					continue
				}
				ki := c.Instances[n]
				n++
				if ki.VRID != in.VirtualRouterID || ki.Priority != in.Priority || len(ki.VIPs) != len(in.VirtualIPAddress) ||
					ki.NoPreempt != in.NoPreempt || len(ki.TrackScripts) != len(in.TrackScript) || len(ki.TrackInterfaces) != len(in.TrackInterface) {
					t.Errorf("%s %s: instance %+v exported as %+v", lab.Name, host, in, ki)
				}
				for _, ts := range in.TrackScript {
					// A script that restarts the proxy runs the world's
					// check script (netns_restart.go) in the flag's place.
					want := "/bin/test ! -e " + kaFlag(host, ts)
					if r, ok := lab.RestartScript(host); ok && r == ts {
						want = "/bin/sh " + kaFlag(host, ts)
					}
					if !strings.Contains(text, want) {
						t.Errorf("%s %s: script %s does not run %q:\n%s", lab.Name, host, ts, want, text)
					}
				}
			}
			if n != len(c.Instances) || !strings.Contains(text, "vrrp_notify_fifo /run/lblab-test/"+host+".fifo") {
				t.Errorf("%s %s: %d instances, want %d, and the FIFO:\n%s", lab.Name, host, len(c.Instances), n, text)
			}
		}
	}
}

// TestKeepalivedAcceptsExports: keepalived -t accepts every export of
// TestKeepalivedExportRoundTrip, run in the lab's hosts (namespaces with
// the lab's interfaces, which keepalived checks). Skipped without
// keepalived or namespaces (a failure with CI=true).
func TestKeepalivedAcceptsExports(t *testing.T) {
	skip := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %s", why)
		}
		t.Skip(why)
	}
	if _, err := exec.LookPath(keepalivedBinary); err != nil {
		skip("keepalived -t skipped: keepalived is not installed")
	}
	if err := netns.Available(); err != nil {
		skip("keepalived -t skipped: " + err.Error())
	}
	for _, lab := range catalogVRRP(t) {
		t.Run(lab.Name, func(t *testing.T) {
			tb, err := netns.New()
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := tb.Cleanup(); err != nil {
					t.Error(err)
				}
			}()
			dir := t.TempDir()
			segs := map[string]*netns.Segment{}
			for _, s := range lab.Topology.Segments {
				if segs[s.Name], err = tb.AddSegment(s.Name); err != nil {
					t.Fatal(err)
				}
			}
			for _, h := range lab.Topology.Hosts {
				if !slices.Contains(routersOf(lab), h.Name) {
					continue
				}
				host, err := tb.AddHost(h.Name)
				if err != nil {
					t.Fatal(err)
				}
				for _, ifc := range h.Interfaces {
					if _, err := tb.Connect(host, ifc.Name, segs[ifc.Segment], netip.MustParsePrefix(ifc.Address)); err != nil {
						t.Fatal(err)
					}
				}
				flag := func(host, script string) string { return filepath.Join(dir, host+"."+script+".fail") }
				c, err := keepalivedConfig(lab, h.Name, flag, filepath.Join(dir, h.Name+".fifo"), sameName)
				if err != nil {
					t.Fatal(err)
				}
				text, err := c.Export()
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, h.Name+".conf")
				if err := os.WriteFile(path, text, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := keepalivedTest(host, path); err != nil {
					t.Errorf("%s: %v\n%s", h.Name, err, text)
				}
			}
		})
	}
}

// TestKeepalivedRunsTheLabsModel: each instance keepalived runs (the
// netns world's export, read back) has the state machine configuration
// the simulator plays for it (labfile.InstanceConfig): the same timers,
// priorities, preemption, tracking, unicast and GARP settings, with
// keepalived's defaults filled in. For every catalog VRRP lab, and for
// a lab given as keepalived.conf text (roundTripConf), which keeps the
// text's configuration.
func TestKeepalivedRunsTheLabsModel(t *testing.T) {
	src := "name: rt\ntitle: round trip\ntopology:\n  segments: [{name: lan}, {name: wan}]\n  hosts:\n" +
		"    - {name: r1, interfaces: [{segment: lan, address: 10.77.0.11/24}, {segment: wan, address: 10.78.0.11/24}]}\n" +
		"vrrp:\n  keepalived:\n    r1: |\n      " + strings.ReplaceAll(strings.TrimSpace(roundTripConf), "\n", "\n      ") + "\n"
	text, err := labfile.Parse("rt.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, lab := range append(catalogVRRP(t), text) {
		for _, host := range routersOf(lab) {
			c, err := keepalivedConfig(lab, host, kaFlag, "/run/lblab-test/fifo", sameName)
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Export()
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := keepalived.Parse("export", b)
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			var h *labfile.Host
			for i := range lab.Topology.Hosts {
				if lab.Topology.Hosts[i].Name == host {
					h = &lab.Topology.Hosts[i]
				}
			}
			primary := netip.MustParsePrefix(h.Interfaces[0].Address).Addr()
			n := 0
			for i := range lab.VRRP.Instances {
				in := &lab.VRRP.Instances[i]
				if in.Host != host {
					continue
				}
				sim := filled(t, labfile.InstanceConfig(lab, in, h))
				real := filled(t, back.VRRPConfig(back.Instances[n], primary))
				n++
				if !reflect.DeepEqual(sim, real) {
					t.Errorf("%s %s %s: the simulator plays\n%+v\nkeepalived runs\n%+v\n%s", lab.Name, host, in.Name, sim, real, b)
				}
			}
		}
	}
}

// TestKeepalivedFIFOLines: keepalived's FIFO lines become the history's
// vrrp events (the state left kept by the reader, INIT first; a
// priority change alone keeps the state) and vip events on entering and
// leaving MASTER; other lines and unknown instances are not the
// history's.
func TestKeepalivedFIFOLines(t *testing.T) {
	conf, _, err := keepalived.Parse("k", []byte("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.77.0.100/24\n }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	kp := &kaProc{host: "r1", conf: conf, states: map[string]string{}}
	for i, l := range []string{`INSTANCE "VI_1" BACKUP 150`, `INSTANCE "VI_1" BACKUP_PRIORITY 90`, `GROUP "G" MASTER 0`,
		`INSTANCE "VI_9" MASTER 100`, `INSTANCE "VI_1" MASTER 90`, `INSTANCE "VI_1" MASTER`, `INSTANCE "VI_1" STOP 90`} {
		kp.line(time.Duration(i)*time.Second, l)
	}
	var got []string
	for _, e := range kp.events {
		got = append(got, fmt.Sprintf("%v %s %s>%s %d %s+%s", e.T.Duration().Seconds(), e.Kind, e.From, e.To, e.Priority, e.Owner, e.Prev))
	}
	want := []string{"0 vrrp INIT>BACKUP 150 +", "1 vrrp BACKUP>BACKUP 90 +", "4 vrrp BACKUP>MASTER 90 +", "4 vip > 0 r1+",
		"6 vrrp MASTER>STOP 90 +", "6 vip > 0 +r1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestKeepalivedStartOrder: routers start highest priority first (a
// state MASTER without a priority is the owner, 255), then by name.
func TestKeepalivedStartOrder(t *testing.T) {
	lab := &labfile.Lab{VRRP: &labfile.VRRP{Instances: []labfile.Instance{
		{Host: "r4", Priority: 100}, {Host: "r1", Priority: 150}, {Host: "r3", Priority: 150, NoPreempt: true},
		{Host: "r2"}, {Host: "r5", State: "MASTER"}, {Host: "r2", Priority: 120},
	}}}
	if got := strings.Join(byPriority(lab), " "); got != "r5 r1 r3 r2 r4" {
		t.Errorf("start order %s, want r5 r1 r3 r2 r4", got)
	}
}
