package main

import (
	"context"
	"net"
	"strings"
	"testing"
)

// TestBackendHoldListensOnOrder: with --hold the backend opens its
// control listener only; its address refuses connections until PUT
// /_lblab/listen, whose 200 answer comes once it listens (a lab's
// restore stamps that moment); a second order is answered with the same
// address; GET is refused.
func TestBackendHoldListensOnOrder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a free port, refused until the backend listens there
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- execute(ctx, []string{"backend", "--listen", addr, "--name", "held", "--admin", "127.0.0.1:0", "--hold"}, out, errOut)
	}()
	defer func() { cancel(); <-code }()
	admin := waitBackendLine(t, controlLine, out, errOut, code)[1]
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("held backend accepted a connection on %s before the order:\n%s", addr, out)
	}
	if strings.Contains(out.String(), "http on") {
		t.Fatalf("held backend says it listens before the order:\n%s", out)
	}
	if c, _, _ := httpDo(t, "GET", "http://"+admin+"/_lblab/listen"); c != 405 {
		t.Errorf("GET /_lblab/listen: %d, want 405", c)
	}
	for i := 0; i < 2; i++ {
		c, body, _ := httpDo(t, "PUT", "http://"+admin+"/_lblab/listen")
		if c != 200 || strings.TrimSpace(body) != addr {
			t.Fatalf("PUT /_lblab/listen #%d: %d %q, want 200 %s", i+1, c, body, addr)
		}
	}
	c, body, _ := httpDo(t, "GET", "http://"+addr+"/")
	if c != 200 || body != "held\n" {
		t.Fatalf("GET after the order: %d %q", c, body)
	}
	if n := strings.Count(out.String(), "backend held: http on "+addr); n != 1 {
		t.Errorf("%d listening lines, want 1:\n%s", n, out)
	}
	// A held backend without a control listener has nowhere to get its order.
	var o2, e2 syncBuffer
	if c := execute(context.Background(), []string{"backend", "--listen", "127.0.0.1:0", "--hold"}, &o2, &e2); c == 0 || !strings.Contains(e2.String(), "--hold needs --admin") {
		t.Errorf("--hold without --admin: exit %d, %s", c, e2.String())
	}
}
