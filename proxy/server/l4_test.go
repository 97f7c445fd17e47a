package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	lgbackend "github.com/lblab/lblab/loadgen/backend"
	"github.com/lblab/lblab/proxy"
)

// echoBackend runs a loadgen backend's TCP echo (and UDP echo with udp)
// on 127.0.0.1:0 and returns its address.
func echoBackend(t *testing.T, name string, udp bool) string {
	t.Helper()
	b, err := lgbackend.New(lgbackend.Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		b.Shutdown(ctx)
	})
	if udp {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go b.ServeUDP(pc)
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go b.Serve(ln, true)
	return ln.Addr().String()
}

func l4Config(proto string, addrs ...string) *proxy.Config {
	return &proxy.Config{Listeners: []proxy.Listener{{Name: proto, Protocol: proto, Port: 1, Group: "g"}},
		Groups: []proxy.Group{{Name: "g", Servers: servers(addrs...)}}}
}

func startL4(t *testing.T, cfg *proxy.Config, opt Options) *testProxy {
	opt.ListenPacket = func(proxy.Listener) (net.PacketConn, error) { return net.ListenPacket("udp", "127.0.0.1:0") }
	return startProxy(t, cfg, opt)
}

func TestTCPBalanceOneToOne(t *testing.T) {
	a, b := echoBackend(t, "a", false), echoBackend(t, "b", false)
	p := startL4(t, l4Config("tcp", a, b), Options{})
	count := map[string]int{}
	for i := range 100 {
		c, br, name := greet(t, p.addr, i)
		msg := "ping " + strings.Repeat("x", i) + "\n"
		io.WriteString(c, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("conn %d: echo %q, %v", i, got, err)
		}
		c.Close()
		count[name]++
	}
	if count["a"] != 50 || count["b"] != 50 {
		t.Fatalf("balance over 100 connections: %v, want 50:50", count)
	}
	p.stop(t)
	n := 0
	for _, e := range p.hist.requests(t) {
		if e.Listener == "tcp" && e.Error == "" && e.Backend != "" && e.Status == 0 {
			n++
		}
	}
	if n != 100 {
		t.Fatalf("history: %d tcp session events, want 100", n)
	}
}

func TestTCPHalfClose(t *testing.T) {
	a := echoBackend(t, "a", false)
	p := startL4(t, l4Config("tcp", a), Options{})
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "hello\n")
	c.(*net.TCPConn).CloseWrite()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "a\nhello\n" {
		t.Fatalf("after a half-close, read %q, want the greeting and the echo", out)
	}
}

func TestTCPRefusedGoesToNext(t *testing.T) {
	a := echoBackend(t, "a", false)
	dead := deadAddr(t)
	cfg := l4Config("tcp", dead, a)
	cfg.Groups[0].Servers[0].MaxFails = intp(0)
	p := startL4(t, cfg, Options{})
	for range 4 {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		name, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || name != "a\n" {
			t.Fatalf("greeting %q, %v: want a (the dead server's refusal passed on)", name, err)
		}
	}
	// No server at all: the client connection is closed.
	cfg2 := l4Config("tcp", dead)
	cfg2.Groups[0].NextUpstream = &proxy.NextUpstream{On: []string{"off"}}
	p2 := startL4(t, cfg2, Options{})
	c, err := net.Dial("tcp", p2.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if out, err := io.ReadAll(c); err != nil || len(out) != 0 {
		t.Fatalf("read %q, %v: want the connection closed", out, err)
	}
	c.Close()
	p2.stop(t)
	evs := p2.hist.requests(t)
	if len(evs) != 1 || evs[0].Error != "refused" {
		t.Fatalf("history %+v: want one refused session", evs)
	}
}

func udpRoundTrip(t *testing.T, c *net.UDPConn, msg string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("udp %q: %v", msg, err)
	}
	got := string(buf[:n])
	name, rest, ok := strings.Cut(got, ":")
	if !ok || rest != msg {
		t.Fatalf("udp reply %q to %q", got, msg)
	}
	return name
}

func TestUDPStickySessionsAndIdleExpiry(t *testing.T) {
	a, b := echoBackend(t, "a", true), echoBackend(t, "b", true)
	// The sessions must outlive the 60 round trips below even when a
	// loaded machine stalls between them, and then expire.
	const idle = time.Second
	p := startL4(t, l4Config("udp", a, b), Options{UDPIdleTimeout: idle, Logger: slog.New(slog.DiscardHandler)})
	paddr, _ := net.ResolveUDPAddr("udp", p.addr)
	count := map[string]int{}
	var clients []*net.UDPConn
	for range 10 {
		c, err := net.DialUDP("udp", nil, paddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
		first := udpRoundTrip(t, c, "hello")
		for i := range 5 {
			if got := udpRoundTrip(t, c, "more "+strings.Repeat("y", i)); got != first {
				t.Fatalf("client moved from %s to %s within its session", first, got)
			}
		}
		count[first]++
	}
	if count["a"] != 5 || count["b"] != 5 {
		t.Fatalf("sessions per server %v, want 5:5", count)
	}
	if n := p.UDPSessions("udp"); n != 10 {
		t.Fatalf("%d sessions, want 10", n)
	}
	waitFor(t, idle+10*time.Second, "sessions expire when idle", func() bool { return p.UDPSessions("udp") == 0 })
	// A new session after the expiry still works.
	udpRoundTrip(t, clients[0], "again")
	p.stop(t)
	n := 0
	for _, e := range p.hist.requests(t) {
		if e.Listener == "udp" && e.Error == "" && e.Backend != "" {
			n++
		}
	}
	if n != 11 {
		t.Fatalf("history: %d udp sessions, want 11", n)
	}
}

// TestTCPSourceIPPersistence: a tcp listener's group keeps a client on
// one server with source_ip persistence, through the same flow core as
// HTTP. Before, the TCP loop ignored persistence and alternated a and b.
func TestTCPSourceIPPersistence(t *testing.T) {
	a, b := echoBackend(t, "a", false), echoBackend(t, "b", false)
	cfg := l4Config("tcp", a, b)
	cfg.Groups[0].Persistence = &proxy.Persistence{Mode: "source_ip"}
	p := startL4(t, cfg, Options{})
	count := map[string]int{}
	for i := range 6 {
		c, _, name := greet(t, p.addr, i)
		c.Close()
		count[name]++
		// the session ends (and is remembered) when both sides have
		// closed: wait for its history event before the next one
		deadline := time.Now().Add(5 * time.Second)
		for p.Status().Groups[0].Servers[0].Requests+p.Status().Groups[0].Servers[1].Requests < uint64(i+1) &&
			time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	if len(count) != 1 {
		t.Errorf("sessions of one client spread over %v, want one server", count)
	}
}

// greet opens session i to a tcp listener at addr and reads the echo
// backend's greeting: its name.
func greet(t *testing.T, addr string, i int) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	name, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("conn %d: greeting: %v", i, err)
	}
	return c, br, strings.TrimSpace(name)
}
