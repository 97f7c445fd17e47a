package main

import (
	"net"
	"os"
	"strings"
	"testing"
)

// hostInterface returns a non-loopback interface of this host with
// multicast, or skips.
func hostInterface(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ifs {
		if f.Flags&net.FlagLoopback == 0 && f.Flags&net.FlagMulticast != 0 && len(f.Name) < 16 {
			return f.Name
		}
	}
	t.Skip("this host has no interface with multicast but loopback")
	return ""
}

// validate on a keepalived.conf checks it as keepalived -t does (not as a
// YAML lab: its "!" comments were read as YAML tags), with its warnings
// and their lines.
func TestValidateKeepalivedConf(t *testing.T) {
	script := writeFile(t, "check.sh", "#!/bin/sh\nexit 0\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := `! Configuration File for keepalived
global_defs {
   router_id LVS_DEVEL
}
vrrp_script chk_nginx {
    script "` + script + `"
    interval 2
    weight -20
}
vrrp_sync_group VG_1 {
    group {
        VI_1
    }
}
vrrp_instance VI_1 {
    state MASTER
    interface ` + hostInterface(t) + `
    virtual_router_id 51
    priority 100
    advert_int 1
    notify_master /nonexistent/lblab/notify.sh
    virtual_ipaddress {
        192.168.200.16
    }
    track_script {
        chk_nginx
    }
}
`
	path := writeFile(t, "keepalived.conf", conf)
	code, out, errOut := lblab(t, "validate", path)
	wantExit(t, code, 0, out, errOut)
	if want := path + ": ok (keepalived.conf: 1 vrrp_instance, 1 vrrp_script)\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	for _, want := range []string{
		"warning: " + path + ":10: vrrp_sync_group VG_1: sync groups are not modelled",
		"warning: " + path + ":21: vrrp_instance VI_1 notify_master: /nonexistent/lblab/notify.sh does not exist (keepalived does not run it)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr:\n%s\nwant %q", errOut, want)
		}
	}
}

// What keepalived -t refuses, validate refuses, each problem with its
// line: a value with a Unicode hyphen (and the hint), an interval VRRPv2
// cannot carry, a script file that does not exist, an interface the host
// does not have.
func TestValidateKeepalivedConfRefuses(t *testing.T) {
	conf := `vrrp_script chk {
    script /nonexistent/lblab/check.sh
    weight ‐20
}
vrrp_instance VI_1 {
    interface lblabnosuch0
    virtual_router_id 51
    advert_int 0.5
    virtual_ipaddress {
        10.0.0.1
    }
}
`
	path := writeFile(t, "keepalived.conf", conf)
	code, out, errOut := lblab(t, "validate", path)
	wantExit(t, code, 2, out, errOut)
	if want := path + `:3: weight: want a whole number -253..253, got "‐20" ("‐" looks like a Unicode hyphen (U+2010); use '-')`; !strings.Contains(errOut, want) {
		t.Errorf("stderr:\n%s\nwant %q", errOut, want)
	}
	fixed := strings.Replace(conf, "‐20", "-20", 1)
	path = writeFile(t, "keepalived.conf", fixed)
	code, out, errOut = lblab(t, "validate", path)
	wantExit(t, code, 2, out, errOut)
	for _, want := range []string{
		path + ":2: vrrp_script chk: /nonexistent/lblab/check.sh does not exist on this host",
		path + ":5: vrrp_instance VI_1: advert_int: VRRPv2 needs whole seconds",
		path + ":6: interface lblabnosuch0 (vrrp_instance VI_1) does not exist on this host",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr:\n%s\nwant %q", errOut, want)
		}
	}
	if strings.Contains(errOut, "YAML") || strings.Contains(errOut, "tag") {
		t.Errorf("read as YAML:\n%s", errOut)
	}
}

// validate on an nginx.conf imports it as lblab does, with lines and the
// Unicode hint.
func TestValidateNginxConf(t *testing.T) {
	conf := `# nginx.conf
events {}
http {
    upstream app {
        server 10.0.0.1:80 weight=5;
        server 10.0.0.2:80;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; }
    }
}
`
	path := writeFile(t, "nginx.conf", conf)
	code, out, errOut := lblab(t, "validate", path)
	wantExit(t, code, 0, out, errOut)
	if want := path + ": ok (nginx configuration: 1 upstream groups, 1 listeners)\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	bad := writeFile(t, "nginx.conf", strings.Replace(conf, "weight=5", "weight=５", 1))
	code, out, errOut = lblab(t, "validate", bad)
	wantExit(t, code, 2, out, errOut)
	if want := bad + `:5: invalid parameter "weight=５" ("５" looks like a full-width digit (U+FF15); use '5')`; !strings.Contains(errOut, want) {
		t.Errorf("stderr:\n%s\nwant %q", errOut, want)
	}
}

func TestSniffConf(t *testing.T) {
	for text, want := range map[string]confKind{
		"! Configuration File for keepalived\n\nglobal_defs {\n":   kindKeepalived,
		"# comment\nvrrp_instance VI_1 {\n":                        kindKeepalived,
		"include /etc/keepalived/conf.d/*.conf\n":                  kindKeepalived,
		"$IF=eth0\nvrrp_instance VI_1 {\n":                         kindKeepalived,
		"@lb1 global_defs {\n":                                     kindKeepalived,
		"user www-data;\nworker_processes auto;\n":                 kindNginx,
		"upstream app {\n  server a:80;\n}\n":                      kindNginx,
		"include /etc/nginx/conf.d/*.conf;\n":                      kindNginx,
		"# a lab\nname: my-lab\ntitle: x\n":                        kindLab,
		"---\nname: x\n":                                           kindLab,
		"vrrp:\n  keepalived:\n    r1: |\n      vrrp_instance x {": kindLab,
		"": kindLab,
	} {
		if got := sniffConf([]byte(text)); got != want {
			t.Errorf("sniffConf(%q) = %d, want %d", text, got, want)
		}
	}
}
