package main

import (
	"strings"
	"testing"
)

// --impl sets the lab's impl field per role, checked as the field is;
// a malformed flag is a usage error naming it.
func TestImplFlag(t *testing.T) {
	lab, err := loadWithImpl("vrrp-failover", nil, "vrrp=keepalived")
	if err != nil {
		t.Fatal(err)
	}
	if lab.VRRPImpl() != "keepalived" || lab.ProxyImpl() != "lblab" {
		t.Errorf("impls %s, %s; want keepalived, lblab", lab.VRRPImpl(), lab.ProxyImpl())
	}
	// A lab that has an impl field keeps its other roles.
	lab, err = loadWithImpl("vrrp-failover", []string{"impl={vrrp: keepalived}"}, "vrrp=lblab")
	if err != nil || lab.VRRPImpl() != "lblab" {
		t.Errorf("--impl vrrp=lblab over impl.vrrp keepalived: %v, %v", lab, err)
	}
	for _, c := range []struct{ flag, msg string }{
		{"vrrp=bird", `want lblab or keepalived, got "bird"`},
		{"proxy=nginx", "the lab has no load balancer"},
		{"vrrp", "want ROLE=NAME"},
		{"dns=bind", "want ROLE=NAME"},
		{"vrrp=keepalived,vrrp=lblab", "role vrrp named twice"},
		{"vrrp={x: 1}", "want ROLE=NAME"},
	} {
		_, err := loadWithImpl("vrrp-failover", nil, c.flag)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("--impl %s: %v; want %q", c.flag, err, c.msg)
		}
	}
}

// lblab run --mode sim --impl vrrp=keepalived is refused by the
// simulator (it plays lblab's cores only), exit 2; lblab compare runs
// the simulator on lblab's model beside the worlds that run the
// programs --impl names.
func TestImplFlagInCommands(t *testing.T) {
	code, out, errOut := lblab(t, "run", "vrrp-failover", "--impl", "vrrp=keepalived", "--out", t.TempDir())
	if code != 2 || !strings.Contains(out+errOut, "run keepalived as the role vrrp (impl)") {
		t.Errorf("run --mode sim --impl vrrp=keepalived: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = lblab(t, "compare", "vrrp-failover", "--modes", "sim", "--impl", "vrrp=keepalived", "--out", t.TempDir())
	wantExit(t, code, 0, out, errOut)
	code, out, errOut = lblab(t, "compare", "vrrp-failover", "--modes", "sim", "--impl", "vrrp", "--out", t.TempDir())
	if code != 2 || !strings.Contains(out+errOut, "want ROLE=NAME") {
		t.Errorf("compare --impl vrrp: exit %d\n%s%s", code, out, errOut)
	}
}
