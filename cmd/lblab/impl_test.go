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
