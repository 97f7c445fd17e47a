package scenarios

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
					if want := "/bin/test ! -e " + kaFlag(host, ts); !strings.Contains(text, want) {
						t.Errorf("%s %s: script %s does not check its flag file:\n%s", lab.Name, host, ts, text)
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
