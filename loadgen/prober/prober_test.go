package prober

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen/probe"
)

// lockedLog is a history.Log safe for the prober's goroutines.
type lockedLog struct {
	mu  sync.Mutex
	log history.Log
}

func (l *lockedLog) Add(ev history.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.Add(ev)
}

func (l *lockedLog) events() []history.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]history.Event(nil), l.log.Events()...)
}

// TestLoopback probes this host's loopback: a listening port answers, a
// closed one refuses, an echo (when a raw or ping socket opens) answers;
// each probe's events come on its schedule, and none after the stop.
func TestLoopback(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedTo := closed.Addr().String()
	closed.Close()

	const interval, timeout = 20 * time.Millisecond, 200 * time.Millisecond
	specs := []probe.Spec{
		{From: "me", To: ln.Addr().String(), Interval: interval, Timeout: timeout},
		{From: "me", To: closedTo, Interval: interval, Timeout: timeout},
	}
	haveICMP := true
	if c, err := listenICMP(""); err != nil {
		t.Logf("no icmp probe: %v", err)
		haveICMP = false
	} else {
		c.c.Close()
		specs = append(specs, probe.Spec{From: "me", To: "127.0.0.1", Interval: interval, Timeout: timeout})
	}
	var sink lockedLog
	p, err := Open(specs, Options{Sink: &sink, Answer: func(netip.Addr) string { return "lo" }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, time.Now(), 0) }()
	// Three probes each: sent by 2 intervals, ended by their timeout.
	deadline := time.Now().Add(2*interval + timeout)
	count := func() map[string]int {
		n := map[string]int{}
		for _, ev := range sink.events() {
			n[ev.Dst]++
		}
		return n
	}
	for {
		n := count()
		if n[specs[0].To] >= 3 && n[closedTo] >= 3 && (!haveICMP || n["127.0.0.1"] >= 3) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not three events a probe by %v: %v", 2*interval+timeout, n)
		}
		time.Sleep(interval / 4)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(timeout + time.Second):
		t.Fatal("Run did not return after the stop")
	}
	after := len(sink.events())
	for _, ev := range sink.events() {
		switch ev.Dst {
		case closedTo:
			if *ev.OK || ev.Error != "refused" || ev.Probe != "tcp" {
				t.Errorf("closed port: %+v", ev)
			}
		default:
			if !*ev.OK || ev.RTT <= 0 || ev.Answer != "lo" || ev.Src != "me" {
				t.Errorf("%s: %+v, want answered by lo with an rtt", ev.Dst, ev)
			}
		}
	}
	// The k-th probe goes at k intervals: its event is after that.
	seen := map[string]int{}
	for _, ev := range sink.events() {
		k := seen[ev.Dst]
		seen[ev.Dst]++
		if at := time.Duration(k) * interval; ev.T.Duration() < at {
			t.Errorf("%s: event %d at %v, before its send time %v", ev.Dst, k, ev.T.Duration(), at)
		}
	}
	time.Sleep(2 * interval)
	if n := len(sink.events()); n != after {
		t.Errorf("%d events after Run returned", n-after)
	}
}

func TestOpenRefuses(t *testing.T) {
	var sink lockedLog
	if _, err := Open(nil, Options{Sink: &sink}); err == nil {
		t.Error("no specs: no error")
	}
	if _, err := Open([]probe.Spec{{From: "me", To: "10.0.0.1:80", Interval: time.Millisecond}}, Options{Sink: &sink}); err == nil {
		t.Error("1ms interval: no error")
	}
	if _, err := Open([]probe.Spec{{From: "me", To: "10.0.0.1:80"}}, Options{}); err == nil {
		t.Error("no sink: no error")
	}
	many := make([]probe.Spec, MaxSpecs+1)
	for i := range many {
		many[i] = probe.Spec{From: "me", To: "10.0.0.1:80"}
	}
	if _, err := Open(many, Options{Sink: &sink}); err == nil {
		t.Error("too many specs: no error")
	}
}

// TestParseEcho reads replies and destination unreachables: only those
// that quote this socket's requests to this destination count.
func TestParseEcho(t *testing.T) {
	dst := netip.MustParseAddr("10.0.0.9")
	raw := &icmpConn{raw: true, id: 0x1234}
	peer := &net.IPAddr{IP: net.IPv4(10, 0, 0, 9)}
	echo := func(typ icmp.Type, id, seq int) []byte {
		b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("x")}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unreach := func(to netip.Addr, id, seq int) []byte {
		ip := make([]byte, 20)
		ip[0], ip[9] = 0x45, 1
		copy(ip[16:20], to.AsSlice())
		q := make([]byte, 8)
		q[0] = byte(ipv4.ICMPTypeEcho)
		binary.BigEndian.PutUint16(q[4:6], uint16(id))
		binary.BigEndian.PutUint16(q[6:8], uint16(seq))
		b, err := (&icmp.Message{Type: ipv4.ICMPTypeDestinationUnreachable, Code: 1, Body: &icmp.DstUnreach{Data: append(ip, q...)}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		b       []byte
		c       *icmpConn
		ok      bool
		seq     int
		unreach bool
	}{
		{"reply", echo(ipv4.ICMPTypeEchoReply, 0x1234, 7), raw, true, 7, false},
		{"other id", echo(ipv4.ICMPTypeEchoReply, 0x4321, 7), raw, false, 0, false},
		{"ping socket: any id", echo(ipv4.ICMPTypeEchoReply, 0x4321, 8), &icmpConn{}, true, 8, false},
		{"a request", echo(ipv4.ICMPTypeEcho, 0x1234, 7), raw, false, 0, false},
		{"unreachable", unreach(dst, 0x1234, 9), raw, true, 9, true},
		{"unreachable, other id", unreach(dst, 1, 9), raw, false, 0, false},
		{"unreachable, other dst", unreach(netip.MustParseAddr("10.0.0.8"), 0x1234, 9), raw, false, 0, false},
		{"short", []byte{0, 0}, raw, false, 0, false},
		{"truncated unreachable", unreach(dst, 0x1234, 9)[:20], raw, false, 0, false},
	} {
		e, ok := parseEcho(tc.b, peer, tc.c, dst)
		if ok != tc.ok || ok && (e.seq != tc.seq || e.unreachable != tc.unreach || e.from != dst) {
			t.Errorf("%s: %+v %v", tc.name, e, ok)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want probe.Class
	}{
		{&net.OpError{Op: "dial", Err: &net.DNSError{IsTimeout: true}}, probe.Timeout},
		{context.DeadlineExceeded, probe.Timeout},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, probe.Refused},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, probe.Reset},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, probe.Unreachable},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("sendto", syscall.ENETUNREACH)}, probe.Unreachable},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}
