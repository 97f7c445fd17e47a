package discovery

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/lblab/lblab/proxy"
)

func base() *proxy.Config {
	return &proxy.Config{Discovery: proxy.DiscoveryDocker,
		Listeners: []proxy.Listener{
			{Name: "web", Port: 8001, Group: "web"},
			{Name: "edge", Port: 8002, Group: "hc"},
			{Name: "redis", Protocol: "tcp", Port: 6379, Group: "slb_redis_app"},
		},
		Groups: []proxy.Group{
			{Name: "web"},
			{Name: "hc", Deregister: OnDestroy, Servers: []proxy.Server{{Address: "10.0.0.9:80"}}},
			{Name: "slb_redis_app"},
		}}
}

func ctr(id, name, ip string, labels ...string) Container {
	c := Container{ID: id, Name: name, Labels: map[string]string{}}
	if ip != "" {
		c.Addr = netip.MustParseAddr(ip)
	}
	for i := 0; i+1 < len(labels); i += 2 {
		c.Labels[labels[i]] = labels[i+1]
	}
	return c
}

// servers prints each group's servers as group=addr/weight/source lists.
func servers(cfg *proxy.Config) string {
	var b strings.Builder
	for _, g := range cfg.Groups {
		fmt.Fprintf(&b, "%s:", g.Name)
		for _, s := range g.Servers {
			fmt.Fprintf(&b, " %s/%d/%s", s.Address, s.WeightOr(), s.Source)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestLabelsRegisterAndEventsRemove(t *testing.T) {
	st := NewState()
	b := base()
	web1 := ctr("aaaaaaaaaaaaaaaa1", "web-1", "10.0.0.11", "lblab.lb.port_80", "http://web:8001", "lblab.lb.weight", "3", "lblab.lb.max_fails", "0")
	redis := ctr("bbbbbbbbbbbbbbbb2", "redis-1", "10.0.0.21", "aliyun.lb.port_6379", "tcp://slb_redis_app:6379")
	hc := ctr("cccccccccccccccc3", "hc-1", "10.0.0.31", "lblab.lb.port_80", "http://edge:8002")
	plain := ctr("dddd", "db", "10.0.0.41", "com.example", "x")
	for _, c := range []Container{web1, redis, hc, plain} {
		if !st.Apply(Event{Action: ActionStart, Container: c}) {
			t.Fatalf("start of %s changed nothing", c.Name)
		}
	}
	cfg, warns := Servers(b, st)
	if len(warns) != 0 {
		t.Fatalf("warnings: %v", warns)
	}
	want := "web: 10.0.0.11:80/3/docker:web-1/aaaaaaaaaaaa\n" +
		"hc: 10.0.0.9:80/1/ 10.0.0.31:80/1/docker:hc-1/cccccccccccc\n" +
		"slb_redis_app: 10.0.0.21:6379/1/docker:redis-1/bbbbbbbbbbbb\n"
	if got := servers(cfg); got != want {
		t.Fatalf("servers:\n%s\nwant:\n%s", got, want)
	}
	if len(b.Groups[0].Servers) != 0 || len(b.Groups[1].Servers) != 1 {
		t.Fatal("Servers changed its base")
	}
	if mf := cfg.Groups[0].Servers[0].MaxFailsOr(); mf != 0 {
		t.Fatalf("max_fails %d from the label 0", mf)
	}
	if problems := proxy.Validate(cfg); len(problems) != 0 {
		t.Fatalf("result does not validate: %v", problems)
	}
	// die removes web-1 at once; hc-1 (deregister destroy) stays until destroyed.
	st.Apply(Event{Action: ActionDie, Container: Container{ID: web1.ID}})
	st.Apply(Event{Action: ActionDie, Container: Container{ID: hc.ID}})
	cfg, _ = Servers(b, st)
	want = "web:\n" +
		"hc: 10.0.0.9:80/1/ 10.0.0.31:80/1/docker:hc-1/cccccccccccc\n" +
		"slb_redis_app: 10.0.0.21:6379/1/docker:redis-1/bbbbbbbbbbbb\n"
	if got := servers(cfg); got != want {
		t.Fatalf("after die:\n%s\nwant:\n%s", got, want)
	}
	if st.Apply(Event{Action: ActionStop, Container: Container{ID: web1.ID}}) {
		t.Fatal("stop after die reported a change")
	}
	st.Apply(Event{Action: ActionDestroy, Container: Container{ID: hc.ID}})
	st.Apply(Event{Action: ActionStop, Container: Container{ID: redis.ID}})
	st.Apply(Event{Action: ActionStart, Container: web1})
	cfg, _ = Servers(b, st)
	want = "web: 10.0.0.11:80/3/docker:web-1/aaaaaaaaaaaa\nhc: 10.0.0.9:80/1/\nslb_redis_app:\n"
	if got := servers(cfg); got != want {
		t.Fatalf("after destroy, stop, start:\n%s\nwant:\n%s", got, want)
	}
	if st.Apply(Event{Action: "exec_start", Container: web1}) {
		t.Fatal("an unrelated action reported a change")
	}
	// Reset is the full list: what is not in it is gone.
	web1.Running = true
	st.Reset([]Container{web1})
	cfg, _ = Servers(b, st)
	if got := servers(cfg); got != "web: 10.0.0.11:80/3/docker:web-1/aaaaaaaaaaaa\nhc: 10.0.0.9:80/1/\nslb_redis_app:\n" {
		t.Fatalf("after reset:\n%s", got)
	}
}

func TestBadLabelsWarnWithTheContainerName(t *testing.T) {
	cases := []struct {
		labels []string
		want   string
	}{
		{[]string{"lblab.lb.port_80", "http://nope:8001"}, "unknown load balancer"},
		{[]string{"lblab.lb.port_80", "http://web:9999"}, "unknown load balancer"},
		{[]string{"lblab.lb.port_80", "tcp://web:8001"}, "unknown load balancer"},
		{[]string{"lblab.lb.port_80", "gopher://web:8001"}, `scheme "gopher"`},
		{[]string{"lblab.lb.port_80", "web:8001"}, "want <scheme>://<lb name>:<front port>"},
		{[]string{"lblab.lb.port_80", "http://web"}, "want <scheme>://<lb name>:<front port>"},
		{[]string{"lblab.lb.port_80", "http://web:0"}, "front port: want a port 1..65535"},
		{[]string{"lblab.lb.port_80", "http://web:65536"}, "front port"},
		{[]string{"lblab.lb.port_x", "http://web:8001"}, "container port: want a port"},
		{[]string{"lblab.lb.port_", "http://web:8001"}, "container port"},
		{[]string{"lblab.lb.port_-1", "http://web:8001"}, "container port"},
		{[]string{"lblab.lb.port_80", "http://web:8001", "lblab.lb.weight", "0"}, "want a number 1..1000"},
		{[]string{"lblab.lb.port_80", "http://web:8001", "lblab.lb.weight", "+5"}, "want a number 1..1000"},
		{[]string{"lblab.lb.port_80", "http://web:8001", "lblab.lb.weight", "1001"}, "want a number 1..1000"},
		{[]string{"lblab.lb.port_80", "http://web:8001", "lblab.lb.weight", "99999999999999999999"}, "want a number"},
		{[]string{"lblab.lb.port_80", "http://web:8001", "lblab.lb.max_fails", "-1"}, "want a number 0..1000"},
		{[]string{"lblab.lb.port_80", "http://web:8001", "lblab.lb.max_fails", "1e3"}, "want a number 0..1000"},
		{[]string{"lblab.lb.port_80", "http://we\x00b:8001"}, "control characters"},
		{[]string{"lblab.lb.port_80", "http://web\n:8001"}, "control characters"},
		{[]string{"lblab.lb.port_80", "http://" + strings.Repeat("w", 1<<20) + ":8001"}, "more than 256"},
		{[]string{"lblab.lb.port_80", "\xff\xfe"}, "not UTF-8"},
	}
	for _, tc := range cases {
		st := NewState()
		st.Apply(Event{Action: ActionStart, Container: ctr("id1", "bad\x1b[31m-one", "10.0.0.5", tc.labels...)})
		cfg, warns := Servers(base(), st)
		if len(warns) == 0 || !strings.Contains(warns[0].String(), tc.want) {
			t.Errorf("%q: warnings %v, want one with %q", tc.labels, warns, tc.want)
			continue
		}
		if warns[0].Container != "bad?[31m-one" {
			t.Errorf("%q: warning names %q, want the name with its control characters replaced", tc.labels, warns[0].Container)
		}
		if len(warns[0].String()) > 400 {
			t.Errorf("%q: warning of %d bytes", tc.labels, len(warns[0].String()))
		}
		if n := len(cfg.Groups[0].Servers); n != 0 {
			t.Errorf("%q: %d servers registered", tc.labels, n)
		}
	}
	// No address: a warning, nothing registered.
	st := NewState()
	st.Apply(Event{Action: ActionStart, Container: ctr("id2", "noip", "", "lblab.lb.port_80", "http://web:8001")})
	if _, warns := Servers(base(), st); len(warns) != 1 || !strings.Contains(warns[0].String(), "no IP address") {
		t.Fatalf("no address: %v", warns)
	}
}

func TestHostileLabelCountsAreBounded(t *testing.T) {
	st := NewState()
	labels := []string{}
	for i := range 10000 {
		labels = append(labels, fmt.Sprintf("lblab.lb.port_%d", 1000+i), "http://web:8001")
	}
	st.Apply(Event{Action: ActionStart, Container: ctr("many", "many", "10.0.0.7", labels...)})
	cfg, warns := Servers(base(), st)
	if n := len(cfg.Groups[0].Servers); n != MaxPortLabels {
		t.Fatalf("%d servers from 10000 labels, want %d", n, MaxPortLabels)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].String(), "10000 registration labels") {
		t.Fatalf("warnings %v", warns)
	}
	// Many containers: the state is bounded, and so are the warnings.
	st = NewState()
	var list []Container
	for i := range MaxContainers + 10 {
		c := ctr(fmt.Sprint(i), fmt.Sprintf("c%05d", i), "10.0.0.8", "lblab.lb.port_80", "http://nope:1")
		c.Running = true
		list = append(list, c)
	}
	st.Reset(list)
	_, warns = Servers(base(), st)
	if len(warns) != MaxWarnings || !strings.Contains(warns[0].String(), "10 containers ignored") ||
		!strings.Contains(warns[MaxWarnings-1].String(), "more warnings") {
		t.Fatalf("%d warnings, first %v, last %v", len(warns), warns[0], warns[len(warns)-1])
	}
	// Two containers on one address: the second is a warning, not a duplicate server.
	st = NewState()
	st.Apply(Event{Action: ActionStart, Container: ctr("a", "a", "10.0.0.9", "lblab.lb.port_80", "http://web:8001")})
	st.Apply(Event{Action: ActionStart, Container: ctr("b", "b", "10.0.0.9", "lblab.lb.port_80", "http://web:8001")})
	cfg, warns = Servers(base(), st)
	if len(cfg.Groups[0].Servers) != 1 || len(warns) != 1 || !strings.Contains(warns[0].String(), "already in group") {
		t.Fatalf("duplicate: %s %v", servers(cfg), warns)
	}
}

func FuzzLabels(f *testing.F) {
	f.Add("lblab.lb.port_80", "http://web:8001", "3")
	f.Add("aliyun.lb.port_6379", "tcp://slb_redis_app:6379", "")
	f.Fuzz(func(t *testing.T, k, v, w string) {
		c := ctr("x", "x", "10.0.0.1", k, v, WeightLabel, w)
		regs, _ := Labels(base(), c)
		for _, r := range regs {
			if r.Server.WeightOr() < 1 || r.Server.WeightOr() > 1000 {
				t.Fatalf("weight %d", r.Server.WeightOr())
			}
		}
	})
}
