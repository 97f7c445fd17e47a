package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An interface this host does not have is bad input: the line that names
// it, and that it does not exist, not Go's "route ip+net" text. No root
// needed: the agent never starts.
func TestVRRPMissingInterfaceNamesTheLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	conf := "vrrp_instance VI_1 {\n  state BACKUP\n  interface lblabnosuch0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := lblab(t, "vrrp", "--config", path)
	wantExit(t, code, 2, out, errOut)
	want := path + ":3: interface lblabnosuch0 (vrrp_instance VI_1) does not exist on this host (this host has "
	if !strings.Contains(errOut, want) || strings.Contains(errOut, "route ip+net") {
		t.Errorf("stderr:\n%s\nwant a line starting:\n%s", errOut, want)
	}
}
