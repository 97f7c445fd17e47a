package proxy

import (
	"strings"
	"testing"
)

func lbWith(ls ...Listener) *Config {
	return &Config{Listeners: ls, Groups: []Group{{Name: "app", Servers: []Server{{Address: "10.0.0.1:80"}}}}}
}

func problems(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Path + ": " + p.Msg + "\n")
	}
	return b.String()
}

func TestValidateListenerAddress(t *testing.T) {
	for _, tc := range []struct {
		name string
		ls   []Listener
		want string // a problem contains this; "" for none
	}{
		{"no address", []Listener{{Port: 80, Group: "app"}}, ""},
		{"IPv4", []Listener{{Address: "127.0.0.1", Port: 80, Group: "app"}}, ""},
		{"IPv6", []Listener{{Address: "::1", Port: 80, Group: "app"}}, ""},
		{"host name", []Listener{{Address: "localhost", Port: 80, Group: "app"}}, `listeners[0].address: want an IP address`},
		{"brackets", []Listener{{Address: "[::1]", Port: 80, Group: "app"}}, `listeners[0].address: want an IP address`},
		{"zone", []Listener{{Address: "fe80::1%lo", Port: 80, Group: "app"}}, `listeners[0].address: want an IP address`},
		{"two addresses of one port", []Listener{{Address: "127.0.0.1", Port: 80, Group: "app"}, {Address: "127.0.0.2", Port: 80, Group: "app"}}, ""},
		{"IPv4 and IPv6 wildcards of one port", []Listener{{Address: "0.0.0.0", Port: 80, Group: "app"}, {Address: "::", Port: 80, Group: "app"}}, ""},
		{"tcp and udp of one port", []Listener{{Address: "0.0.0.0", Port: 53, Protocol: "tcp", Group: "app"}, {Address: "0.0.0.0", Port: 53, Protocol: "udp", Group: "app"}}, ""},
		{"same address twice", []Listener{{Address: "127.0.0.1", Port: 80, Group: "app"}, {Address: "127.0.0.1", Port: 80, Name: "b", Group: "app"}},
			"listeners[1].port: tcp port 80 on 127.0.0.1 is also used by listener http:127.0.0.1:80"},
		{"wildcard then address", []Listener{{Address: "0.0.0.0", Port: 80, Group: "app"}, {Address: "127.0.0.1", Port: 80, Group: "app"}},
			"listeners[1].address: tcp port 80 on 127.0.0.1 overlaps listener http:0.0.0.0:80"},
		{"address then wildcard", []Listener{{Address: "::1", Port: 80, Group: "app"}, {Address: "::", Port: 80, Group: "app"}},
			"listeners[1].address: tcp port 80 on :: overlaps listener http:[::1]:80"},
		{"duplicate names", []Listener{{Name: "x", Port: 80, Group: "app"}, {Name: "x", Port: 81, Group: "app"}},
			`listeners[1].name: listener name "x" is used twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(Validate(lbWith(tc.ls...)))
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", got, tc.want)
			}
		})
	}
}

func TestValidateListenerNames(t *testing.T) {
	c := lbWith(Listener{Port: 80, Group: "app"}, Listener{Address: "::1", Port: 81, Group: "app"}, Listener{Address: "0:0::1", Port: 82, Group: "app"})
	if ps := Validate(c); len(ps) > 0 {
		t.Fatal(problems(ps))
	}
	for i, want := range []string{"http:80", "http:[::1]:81", "http:[::1]:82"} {
		if c.Listeners[i].Name != want {
			t.Errorf("listener %d is named %q, want %q", i, c.Listeners[i].Name, want)
		}
	}
	if c.Listeners[2].Address != "::1" {
		t.Errorf("address 0:0::1 is not made canonical: %q", c.Listeners[2].Address)
	}
}

// TestNoListenerSaysWhatToAdd: a load balancer with groups and no
// listener (a bare upstream block) is refused with what to write.
func TestNoListenerSaysWhatToAdd(t *testing.T) {
	got := problems(Validate(lbWith()))
	for _, want := range []string{"listeners: at least one listener is required", "{port: 8080, group: app}",
		"server { listen 8080; location / { proxy_pass http://app; } }"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems:\n%s\nwant %q", got, want)
		}
	}
}

func TestValidateQuotesALineAtMost(t *testing.T) {
	long := strings.Repeat("é", 3000)
	c := lbWith(Listener{Port: 80, Group: long, Address: long})
	got := problems(Validate(c))
	if len(got) > 600 || !strings.Contains(got, "…(6000 bytes)") {
		t.Errorf("problems quote too much (%d bytes):\n%.400s", len(got), got)
	}
	if s := Clip(long); len(s) > QuoteMax+len("…(6000 bytes)") || !strings.HasPrefix(long, strings.TrimSuffix(s, "…(6000 bytes)")) {
		t.Errorf("Clip = %q", s)
	}
	if Clip("short") != "short" {
		t.Error("Clip changes a short string")
	}
}

// TestValidateStreamHashKey: a tcp or udp listener's group may hash only
// $remote_addr, as nginx's stream module has no request variables.
func TestValidateStreamHashKey(t *testing.T) {
	for _, key := range []string{"$remote_addr", "$http_x_user"} {
		c := &Config{Listeners: []Listener{{Protocol: ProtoTCP, Port: 9000, Group: "g"}},
			Groups: []Group{{Name: "g", Algorithm: "hash", HashKey: key, Servers: []Server{{Address: "10.0.0.1:9000"}}}}}
		ps := Validate(c)
		if got, want := len(ps) > 0, key != "$remote_addr"; got != want {
			t.Errorf("tcp listener, hash %s: problems %v, want refused %v", key, ps, want)
		}
	}
}
