package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVRRPNeedsConfig(t *testing.T) {
	code, out, errOut := lblab(t, "vrrp")
	wantExit(t, code, 2, out, errOut)
	if !strings.Contains(errOut, "--config is required") {
		t.Errorf("stderr does not ask for --config:\n%s", errOut)
	}
}

func TestVRRPBadConfigExits2WithLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	conf := "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := lblab(t, "vrrp", "--config", path)
	wantExit(t, code, 2, out, errOut)
	if !strings.Contains(errOut, path+":3:") {
		t.Errorf("stderr does not name the bad line %s:3:\n%s", path, errOut)
	}
}

func TestVRRPUnknownInstanceExits2AndWarns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	conf := "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  smtp_alert\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := lblab(t, "vrrp", "--config", path, "--instance", "VI_9")
	wantExit(t, code, 2, out, errOut)
	if !strings.Contains(errOut, "no vrrp_instance VI_9") {
		t.Errorf("stderr does not name the missing instance:\n%s", errOut)
	}
	if !strings.Contains(errOut, "warning: "+path+":4: ignored: vrrp_instance smtp_alert") {
		t.Errorf("stderr does not warn about smtp_alert with its line:\n%s", errOut)
	}
}
