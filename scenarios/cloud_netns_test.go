package scenarios

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/sim/cloud"
	"github.com/lblab/lblab/testbed/netns"
)

// loadCloudLab loads a VPC lab from the catalog, or from the test data
// (scenarios/testdata/cloudverify: vpc-rules, a lab for the acceptance).
func loadCloudLab(t *testing.T, name string) *labfile.Lab {
	t.Helper()
	if lab, err := Load(name, nil); err == nil {
		return lab
	}
	for _, dir := range []string{"testdata/cloudverify"} {
		p := filepath.Join(dir, name+".yaml")
		if _, err := os.Stat(p); err == nil {
			lab, err := Load(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			return lab
		}
	}
	t.Fatalf("no lab %s", name)
	return nil
}

// tracePair is a probe of the acceptance table and the model's outcome
// and drop expected for it (written down, so that the table says what
// it covers).
type tracePair struct {
	src, dst string // DST is ADDR or ADDR:PORT
	outcome  cloud.Outcome
	place    string // Place.String() of the model's drop, "" for none
}

func (p tracePair) flow(t *testing.T) cloud.Flow {
	t.Helper()
	f := cloud.Flow{Src: p.src, Protocol: cloud.ICMP}
	host := p.dst
	if h, port, ok := strings.Cut(p.dst, ":"); ok {
		n, err := strconv.Atoi(port)
		if err != nil {
			t.Fatal(err)
		}
		host, f.Protocol, f.Port = h, cloud.TCP, n
	}
	f.Dst = netip.MustParseAddr(host)
	return f
}

// cloudVerifyPairs are the 20 pairs of issue 16's acceptance, lab by lab.
var cloudVerifyPairs = []struct {
	lab   string
	pairs []tracePair
}{
	{"vpc-isolation", []tracePair{
		{"ecs-a", "192.168.5.130", cloud.NoRoute, "request dropped at router vpc-a (no_route)"},
		{"ecs-b2", "192.168.5.130", cloud.Accepted, ""},
		{"ecs-b", "192.168.6.76", cloud.NoRoute, "request dropped at router vpc-b (no_route)"},
	}},
	{"vpc-peering", []tracePair{
		{"ecs-a", "192.168.5.130", cloud.Accepted, ""},
		{"ecs-a", "192.168.5.130:80", cloud.Accepted, ""},
		{"ecs-a", "10.0.1.10", cloud.NoRoute, "request dropped at router vpc-b (not_transitive)"},
		{"ecs-c", "192.168.5.130", cloud.Accepted, ""},
		{"ecs-c", "192.168.6.76", cloud.NoRoute, "request dropped at router vpc-b (not_transitive)"},
		{"ecs-b", "192.168.6.76:22", cloud.DeniedIn, "request dropped at instance ecs-a (security_group)"},
	}},
	{"vpc-overlap", []tracePair{
		{"ecs-b2", "192.168.5.130", cloud.Accepted, ""}, // vpc-b's, not vpc-a's
		{"ecs-a", "192.168.5.131:80", cloud.Refused, ""},
	}},
	{"vpc-rules", []tracePair{
		{"web01", "192.168.6.140:3306", cloud.Accepted, ""},
		{"web02", "192.168.6.140:3306", cloud.DeniedIn, "request dropped at instance db (whitelist)"},
		{"web01", "192.168.6.140:5432", cloud.Refused, ""},
		{"db", "192.168.6.10", cloud.DeniedIn, "request dropped at instance web01 (security_group)"},
		{"ops", "192.168.6.10", cloud.NoReplyRoute, "reply dropped at router vpc-app (no_route)"},
		{"ops", "192.168.6.10:80", cloud.NoReplyRoute, "reply dropped at router vpc-app (no_route)"}, // its RST
		{"db", "10.1.1.10", cloud.DeniedOut, "request dropped at instance db (security_group)"},
		{"web01", "192.168.6.200", cloud.NoRoute, "request dropped at vswitch vsw-db (no_instance)"},
		{"web01", "192.168.6.50", cloud.NoRoute, "request dropped at vswitch vsw-web (no_instance)"},
	}},
}

// TestTraceVerify20Pairs is issue 16's acceptance: lblab trace's verdict
// on 20 source/destination pairs across the VPC labs (isolation, peering
// both ways, not transitive, overlap side by side, security-group deny in
// and out, whitelist deny, closed port refused, one-sided peering route
// (an echo reply and a RST lost on the way back),
// nobody at the address) is the real network's: the same reachability,
// and for a drop the same place, read from the kernel's counters. Each
// lab is built once in netns and all its pairs probed. Root only.
func TestTraceVerify20Pairs(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the real cloud network needs root (netns), and CI=true")
		}
		t.Skip("needs root: builds the labs' cloud networks in namespaces")
	}
	start := time.Now()
	n, agree := 0, 0
	var table []string
	for _, l := range cloudVerifyPairs {
		lab := loadCloudLab(t, l.lab)
		m := lab.Cloud()
		if m == nil {
			t.Fatalf("lab %s has no cloud network", l.lab)
		}
		cn, err := StartCloud(m)
		if err != nil {
			t.Fatalf("lab %s: %v", l.lab, err)
		}
		for _, p := range l.pairs {
			n++
			res, err := cloud.Trace(m, p.flow(t))
			if err != nil {
				t.Fatal(err)
			}
			mp, dropped := ModelPlace(res)
			got := ""
			if dropped {
				got = mp.String()
			}
			if res.Outcome != p.outcome || got != p.place {
				t.Errorf("%s %s → %s: model %s %q, want %s %q", l.lab, p.src, p.dst, res.Outcome, got, p.outcome, p.place)
			}
			real, err := cn.Probe(context.Background(), res)
			if err != nil {
				t.Fatalf("%s %s → %s: %v", l.lab, p.src, p.dst, err)
			}
			ok := Verdict(res, real)
			if ok {
				agree++
			} else {
				t.Errorf("%s %s → %s: DISAGREE: model %s %s, real %s %s (dropped %v); counters %v", l.lab, p.src, p.dst, res.Outcome, got, real.Outcome, real.Drop, real.Dropped, real.Evidence)
			}
			realPlace := ""
			if real.Dropped {
				realPlace = real.Drop.String()
			}
			table = append(table, fmt.Sprintf("%2d %-13s %-6s %-18s | model %-14s %-50s | real %-8s %-50s %.1f ms | %v",
				n, l.lab, p.src, p.dst, res.Outcome, got, real.Outcome, realPlace, float64(real.RTT.Microseconds())/1000, ok))
		}
		if err := cn.Close(); err != nil {
			t.Errorf("lab %s: cleanup: %v", l.lab, err)
		}
	}
	for _, line := range table {
		t.Log(line)
	}
	t.Logf("%d/%d agree, wall time %.1f s", agree, n, time.Since(start).Seconds())
	if n != 20 {
		t.Errorf("%d pairs, want 20", n)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if mine := fmt.Sprintf("%s%d-", netns.NamePrefix, os.Getpid()); strings.Contains(string(out), mine) {
		t.Errorf("namespaces left behind:\n%s", out)
	}
}
