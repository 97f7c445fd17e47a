package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// validate refuses what `keepalived -t` (Debian's keepalived 2.2.7)
// refuses, and takes what it takes: a good file, a tracked script whose
// file does not exist, an interface the host does not have, a weight
// written with a Unicode hyphen. Skipped
// without keepalived (a failure with CI=true as root, where the test task
// installs it).
func TestValidateAgreesWithKeepalivedT(t *testing.T) {
	if _, err := exec.LookPath("keepalived"); err != nil {
		if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
			t.Fatalf("CI=true as root but keepalived is not installed: %v", err)
		}
		t.Skip("keepalived -t comparison skipped: keepalived is not installed")
	}
	iface := hostInterface(t)
	good := `global_defs {
    router_id r1
    enable_script_security
    script_user root
}
vrrp_script chk {
    script "/bin/true"
    weight -20
}
vrrp_instance VI_1 {
    state BACKUP
    interface ` + iface + `
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.77.0.100/24
    }
    track_script {
        chk
    }
}
`
	for _, c := range []struct {
		name, conf string
		refused    bool
	}{
		{"good", good, false},
		{"missing script", strings.Replace(good, "/bin/true", "/nonexistent/lblab/check.sh", 1), true},
		{"missing interface", strings.Replace(good, "interface "+iface, "interface lblabnosuch0", 1), true},
		{"Unicode hyphen in a weight", strings.Replace(good, "weight -20", "weight \u201020", 1), true},
	} {
		path := writeFile(t, "keepalived.conf", c.conf)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		kout, kerr := exec.CommandContext(ctx, "keepalived", "-t", "-f", path).CombinedOutput()
		cancel()
		if kRefused := kerr != nil; kRefused != c.refused {
			t.Errorf("%s: keepalived -t refused=%v (%v), the test expects %v:\n%s", c.name, kRefused, kerr, c.refused, kout)
		}
		code, out, errOut := lblab(t, "validate", path)
		if lRefused := code != 0; lRefused != c.refused {
			t.Errorf("%s: lblab validate exit %d, keepalived -t refused=%v\nkeepalived -t:\n%s\nlblab:\n%s%s", c.name, code, c.refused, kout, out, errOut)
		}
	}
}
