package scenarios_test

import (
	"strings"
	"testing"

	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// pairLab is keepalivedLab's pair without its fault, expecting one
// master, with r1pre and r2pre put before each host's vrrp_instance.
func pairLab(r1pre, r2pre string) string {
	s := strings.Replace(keepalivedLab, "    r1: |\n", "    r1: |\n"+r1pre, 1)
	s = strings.Replace(s, "    r2: |\n", "    r2: |\n"+r2pre, 1)
	return s[:strings.Index(s, "faults:")] + "expect:\n  - name: one master\n    single_master: {vrid: 51}\n"
}

// TestKeepalivedVersionPerHost: global_defs vrrp_version is the host's.
// keepalived drops an advert of the other version ("wrong version"), so
// r1 (v3) and r2 (v2) never hear each other and both become MASTER. Before,
// r1's version became the whole lab's: both ran v3, one master, and the
// lab passed.
func TestKeepalivedVersionPerHost(t *testing.T) {
	src := pairLab("      global_defs {\n          vrrp_version 3\n      }\n", "")
	// VRRPv3 has no authentication
	src = strings.ReplaceAll(src, "          authentication {\n              auth_type PASS\n              auth_pass 1111\n          }\n", "")
	lab, err := labfile.Parse("v.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range lab.VRRP.Instances {
		want := map[string]int{"r1": 3, "r2": 0}[in.Host]
		if in.Version != want {
			t.Errorf("%s %s: vrrp_version %d, want %d", in.Host, in.Name, in.Version, want)
		}
	}
	out, err := scenarios.RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := masters(out.Events); strings.Join(got, " ") != "r1 r2" {
		t.Errorf("routers that became MASTER: %v, want r1 then r2 (each drops the other's adverts)", got)
	}
	if out.Results.Passed {
		t.Error("single_master passed with a v3 and a v2 router")
	}
}

// TestKeepalivedScriptConflict: a vrrp_script of the same name on two
// hosts must agree on every setting; the lab is refused at the second
// host's vrrp_script line, naming the setting and both hosts. Before, only
// weight, fall and rise were compared: a different script, interval,
// timeout or init_fail was taken from the last host, silently (r1 ran
// r2's /bin/false and started in FAULT).
func TestKeepalivedScriptConflict(t *testing.T) {
	script := func(body string) string {
		return "      vrrp_script chk {\n" + body + "      }\n"
	}
	track := "advert_int 1\n          track_script {\n              chk\n          }\n"
	for _, c := range []struct{ r1, r2, want string }{
		{`          script "/bin/true"` + "\n", `          script "/bin/false"` + "\n",
			`v.yaml:33:1: vrrp.keepalived.r2: vrrp_script chk: script is "/bin/false" on r2 and "/bin/true" on r1`},
		{"          script \"/bin/true\"\n          interval 1\n", "          script \"/bin/true\"\n          interval 7\n",
			"v.yaml:34:1: vrrp.keepalived.r2: vrrp_script chk: interval is 7s on r2 and 1s on r1"},
		{"          script \"/bin/true\"\n          timeout 1\n", "          script \"/bin/true\"\n          timeout 5\n",
			"timeout is 5s on r2 and 1s on r1"},
		{"          script \"/bin/true\"\n", "          script \"/bin/true\"\n          init_fail\n",
			"init_fail is true on r2 and false on r1"},
		{"          script \"/bin/true\"\n", "          script \"/bin/true\"\n          weight 10\n",
			"weight is 10 on r2 and 0 on r1"},
	} {
		src := strings.ReplaceAll(pairLab(script(c.r1), script(c.r2)), "advert_int 1\n", track)
		_, err := labfile.Parse("v.yaml", []byte(src), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, err)
		}
	}
}
