package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const balanceConf = `events {}
http {
  upstream app {
    ip_hash;
    server 10.0.0.1:80;
    server 10.0.0.2:80 weight=2;
    server 10.0.0.3:80;
  }
  upstream rr {
    server a:80 weight=5;
    server b:80;
    server c:80;
  }
  server { listen 80; location / { proxy_pass http://app; } location /rr/ { proxy_pass http://rr; } }
}
`

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBalanceCount(t *testing.T) {
	conf := writeFile(t, "nginx.conf", balanceConf)
	code, out, errOut := lblab(t, "balance", "--nginx", conf, "--upstream", "rr", "--count", "14")
	wantExit(t, code, 0, out, errOut)
	// nginx's smooth weighted round robin for 5, 1, 1.
	if got, want := strings.Fields(out), strings.Fields("a:80 a:80 b:80 a:80 c:80 a:80 a:80 a:80 a:80 b:80 a:80 c:80 a:80 a:80"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("picks %v, want %v", got, want)
	}
	code, out, errOut = lblab(t, "balance", "--lab", "weighted", "--group", "smooth", "--count", "7")
	wantExit(t, code, 0, out, errOut)
	if got := strings.Join(strings.Fields(out), " "); got != "a:80 a:80 b:80 a:80 c:80 a:80 a:80" {
		t.Fatalf("lab picks %s", got)
	}
}

func TestBalanceKeys(t *testing.T) {
	conf := writeFile(t, "nginx.conf", balanceConf)
	keys := writeFile(t, "keys", "192.0.2.10\n\n198.51.100.7\n192.0.2.200\n")
	code, out, errOut := lblab(t, "balance", "--nginx", conf, "--upstream", "app", "--keys", keys)
	wantExit(t, code, 0, out, errOut)
	// ip_hash over 192.0.2: hash 6255, 6255 % 4 = 3 → past weights 1 and 2 → 10.0.0.3;
	// 198.51.100: 89 → (89*113+198)%6271=3984 → (3984*113+51)%6271=5002 → (5002*113+100)%6271=936,
	// 936 % 4 = 0 → the first server, 10.0.0.1. Same /24, same server.
	want := "192.0.2.10\t10.0.0.3:80\n198.51.100.7\t10.0.0.1:80\n192.0.2.200\t10.0.0.3:80\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	bad := writeFile(t, "bad", "not-an-address\n")
	code, out, errOut = lblab(t, "balance", "--nginx", conf, "--upstream", "app", "--keys", bad)
	wantExit(t, code, 2, out, errOut)
	if !strings.Contains(errOut, bad+":1:") {
		t.Errorf("error does not name the line: %s", errOut)
	}
}

func TestBalanceBadInput(t *testing.T) {
	conf := writeFile(t, "nginx.conf", balanceConf)
	broken := writeFile(t, "broken.conf", strings.Replace(balanceConf, "weight=2", "wieght=2", 1))
	for _, args := range [][]string{
		{"balance", "--nginx", conf, "--upstream", "nope", "--count", "1"},
		{"balance", "--nginx", conf, "--count", "1"},
		{"balance", "--nginx", conf, "--upstream", "app"},
		{"balance", "--lab", "vrrp-failover", "--group", "x", "--count", "1"},
		{"balance", "--nginx", broken, "--upstream", "app", "--count", "1"},
	} {
		code, out, errOut := lblab(t, args...)
		wantExit(t, code, 2, out, errOut)
	}
	_, _, errOut := lblab(t, "balance", "--nginx", broken, "--upstream", "app", "--count", "1")
	if !strings.Contains(errOut, broken+":6:") {
		t.Errorf("nginx error does not name file and line: %s", errOut)
	}
}
