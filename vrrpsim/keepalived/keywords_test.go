package keepalived

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lblab/lblab/vrrpsim"
)

const instanceConf = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    authentication {
        auth_type PASS
        auth_pass 123456789abc
    }
    virtual_ipaddress {
        10.0.0.100/24
    }
}
`

// An auth_pass longer than 8 characters is cut to 8, as keepalived does
// (vrrp_auth_pass_handler), with a warning keepalived -t fails on: the
// agent and labs send the same 8 bytes keepalived sends.
func TestAuthPassTruncated(t *testing.T) {
	c, warns, err := Parse("k.conf", []byte(instanceConf))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || warns[0].Line != 6 || !warns[0].TestFails ||
		!strings.HasPrefix(warns[0].Msg, `Truncating auth_pass to 8 characters: keepalived uses "12345678"`) {
		t.Fatalf("warnings: %+v", warns)
	}
	vc := c.VRRPConfig(c.Instances[0], c.Instances[0].UnicastSrc)
	if vc.AuthPass != "12345678" || vrrpsim.PasswordData(vc.AuthPass) != vrrpsim.PasswordData("123456789abc") {
		t.Errorf("auth_pass %q", vc.AuthPass)
	}
}

// A keyword keepalived does not know, where it stands, is an error; a
// value block (virtual_ipaddress) is not read as keywords; a lab's text
// cannot include files.
func TestUnknownKeywordsAndIncludes(t *testing.T) {
	for _, c := range []struct{ name, conf, want string }{
		{"in an instance", strings.Replace(instanceConf, "virtual_router_id 51", "virtual_routerid 51", 1), "k.conf:3: Unknown keyword 'virtual_routerid'"},
		{"in authentication", strings.Replace(instanceConf, "auth_type PASS", "auth_typ PASS", 1), "k.conf:5: Unknown keyword 'auth_typ'"},
		{"a block keyword of another block", strings.Replace(instanceConf, "virtual_router_id 51", "virtual_router_id 51\n    router_id x", 1), "k.conf:4: Unknown keyword 'router_id'"},
		{"include without a folder", "include other.conf\n" + instanceConf, "k.conf:1: include other.conf: this text has no folder"},
	} {
		_, _, err := Parse("k.conf", []byte(c.conf))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// include reads files relative to the folder of the file that holds it,
// globs in sorted order; a missing file is a warning (keepalived -t
// passes), an error with includem; a loop is refused.
func TestIncludes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("conf.d/b.conf", "vrrp_script b {\n    script /bin/true\n}\n")
	write("conf.d/a.conf", "include ../scripts/a.conf\n")
	write("scripts/a.conf", "vrrp_script a {\n    script /bin/true\n    wieght 2\n}\n")
	main := write("keepalived.conf", "include conf.d/*.conf\ninclude none.conf\n"+strings.Replace(instanceConf, "123456789abc", "1111", 1))
	_, warns, err := ParseFile(main)
	if err == nil || err.Error() != filepath.Join(dir, "scripts/a.conf")+":3: Unknown keyword 'wieght' (keepalived 2.2.7 does not know it here: keepalived -t fails, and keepalived ignores the line)" {
		t.Errorf("error in an included file: %v", err)
	}
	if len(warns) != 1 || warns[0].File != main || warns[0].Line != 2 || !strings.HasPrefix(warns[0].Msg, "Config files missing 'none.conf'") {
		t.Errorf("warnings: %+v", warns)
	}
	write("scripts/a.conf", "vrrp_script a {\n    script /bin/true\n}\n")
	c, _, err := ParseFile(main)
	if err != nil || c.Scripts["a"] == nil || c.Scripts["b"] == nil {
		t.Fatalf("includes: %v %+v", err, c)
	}
	if f, l := c.Place(c.Scripts["b"].Line); f != filepath.Join(dir, "conf.d/b.conf") || l != 1 {
		t.Errorf("script b at %s:%d", f, l)
	}
	write("keepalived.conf", "includem none.conf\n"+instanceConf)
	if _, _, err := ParseFile(main); err == nil || !strings.Contains(err.Error(), "none.conf: no such file") {
		t.Errorf("includem of a missing file: %v", err)
	}
	write("conf.d/a.conf", "include ../keepalived.conf\n")
	write("keepalived.conf", "include conf.d/a.conf\n"+instanceConf)
	if _, _, err := ParseFile(main); err == nil || !strings.Contains(err.Error(), "include loop") {
		t.Errorf("include loop: %v", err)
	}
}
