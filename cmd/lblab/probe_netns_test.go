package main

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/testbed/netns"
)

// TestProbeInNamespaces runs `lblab probe` in one network namespace
// against another on the same bridge: an ICMP echo is answered (RTT > 0,
// the answer the target's MAC), a TCP connect to a listening port is
// answered, one to a closed port refused; after the target's link goes
// down, both kinds time out within timeout + one interval. Every wait is
// on the history file's lines, with a deadline derived from the probes'
// interval and timeout. It needs root (skipped without, a failure with
// CI=true).
func TestProbeInNamespaces(t *testing.T) {
	dir, tb, lan := lanTestbed(t, "probes in namespaces")
	bin := buildLblab(t)
	client, err := tb.AddHost("c1")
	if err != nil {
		t.Fatal(err)
	}
	target, err := tb.AddHost("t1")
	if err != nil {
		t.Fatal(err)
	}
	caddr, taddr := netip.MustParseAddr("10.78.0.11"), netip.MustParseAddr("10.78.0.12")
	if _, err := tb.Connect(client, "eth0", lan, netip.PrefixFrom(caddr, 24)); err != nil {
		t.Fatal(err)
	}
	tlink, err := tb.Connect(target, "eth0", lan, netip.PrefixFrom(taddr, 24))
	if err != nil {
		t.Fatal(err)
	}
	tmac, err := tlink.MAC()
	if err != nil {
		t.Fatal(err)
	}

	// A listener in t1 (the test's socket, opened in t1's namespace).
	var ln net.Listener
	if err := inNamespace(target.NS, func() error {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(taddr, 8080).String())
		return err
	}); err != nil {
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

	const interval, timeout = 50 * time.Millisecond, 300 * time.Millisecond
	icmpTo, openTo, closedTo := taddr.String(), taddr.String()+":8080", taddr.String()+":8081"
	hist, ready, start := filepath.Join(dir, "history.jsonl"), filepath.Join(dir, "ready"), filepath.Join(dir, "start")
	var stdout, stderr syncBuffer
	// Real-time, as the netns world runs it: the probes' stamps measure
	// the network, not the machine's other load.
	name, args := netns.Realtime(bin, "probe", "--from", "c1", "--history", hist,
		"--probe", "icmp:"+icmpTo, "--probe", "tcp:"+openTo, "--probe", "tcp:"+closedTo,
		"--interval", interval.String(), "--timeout", timeout.String(),
		"--ready-file", ready, "--start-file", start)
	prober, err := client.Start(&stdout, &stderr, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			prober.Kill()
			prober.Wait(5 * time.Second)
		}
	}()
	// The process's start is the machine's, not the protocol's: bounded
	// generously; from the ready line on, deadlines are the probes'.
	if _, err := waitStartFile(t.Context(), "ready", ready, 30*time.Second); err != nil {
		t.Fatalf("%v\nprober stderr:\n%s", err, stderr.String())
	}
	epoch := time.Now()
	if err := os.WriteFile(start, []byte(strconv.FormatInt(epoch.UnixNano(), 10)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// await waits until the history holds an event that ok accepts,
	// for at most limit, and returns it.
	await := func(what string, limit time.Duration, ok func(history.Event) bool) history.Event {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			for _, ev := range readWholeLines(t, hist) {
				if ok(ev) {
					return ev
				}
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(hist)
				t.Fatalf("%s: not within %v\nhistory:\n%s\nprober stderr:\n%s", what, limit, lastLines(b, 20), stderr.String())
			}
			time.Sleep(interval / 5)
		}
	}
	is := func(dst string, ok bool, class string) func(history.Event) bool {
		return func(ev history.Event) bool {
			return ev.Kind == history.KindNet && ev.Dst == dst && ev.OK != nil && *ev.OK == ok && ev.Error == class
		}
	}
	// The first probes go at the epoch and end within their timeout;
	// one more interval for a probe sent late, and one for the writes.
	first := timeout + 2*interval
	for _, c := range []struct {
		dst, kind string
		ok        bool
		class     string
	}{{icmpTo, "icmp", true, ""}, {openTo, "tcp", true, ""}, {closedTo, "tcp", false, "refused"}} {
		ev := await(fmt.Sprintf("%s %s ok=%v %s", c.kind, c.dst, c.ok, c.class), first, is(c.dst, c.ok, c.class))
		if ev.Src != "c1" || ev.Probe != c.kind {
			t.Errorf("%s: src %q probe %q, want c1 %s", c.dst, ev.Src, ev.Probe, c.kind)
		}
		t.Logf("%s %s: ok=%v error=%q rtt=%v answer=%s at %.4fs", c.kind, c.dst, c.ok, ev.Error, ev.RTT.Duration(), ev.Answer, ev.T.Seconds())
		if c.ok && (ev.RTT <= 0 || ev.RTT.Duration() > timeout) {
			t.Errorf("%s: rtt %v, want > 0 and within the timeout", c.dst, ev.RTT.Duration())
		}
		if c.ok && ev.Answer != tmac.String() {
			t.Errorf("%s: answered by %q, want t1's MAC %s", c.dst, ev.Answer, tmac)
		}
	}

	if err := tlink.Down(); err != nil {
		t.Fatal(err)
	}
	down := history.Stamp(time.Since(epoch))
	// A probe sent after the link went down is sent within one interval
	// and times out at its timeout: its event is stamped by then, and
	// written one interval later at most.
	bound := down + history.Stamp(timeout+interval)
	for _, dst := range []string{icmpTo, openTo} {
		timedOut := func(ev history.Event) bool { return is(dst, false, "timeout")(ev) && ev.T > down }
		ev := await(dst+" timeout after link down", timeout+2*interval, timedOut)
		t.Logf("%s: timeout at %.3fs, link down at %.3fs (bound %.3fs)", dst, ev.T.Seconds(), down.Seconds(), bound.Seconds())
		if ev.T > bound {
			t.Errorf("%s: timed out at %.3fs, want by %.3fs (link down at %.3fs + timeout + interval)",
				dst, ev.T.Seconds(), bound.Seconds(), down.Seconds())
		}
		if ev.RTT != 0 || ev.Answer != "" {
			t.Errorf("%s: a timeout with rtt %v answer %q", dst, ev.RTT, ev.Answer)
		}
	}

	// SIGTERM ends it at once, status 0, the history whole lines.
	if err := prober.Terminate(); err != nil {
		t.Fatal(err)
	}
	if err := prober.Wait(timeout + 5*time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
	}
	stopped = true
	if code := prober.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0\nstderr:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Errorf("history does not end with a whole line")
	}
	if _, err := history.ReadJSONL(bytes.NewReader(b), hist); err != nil {
		t.Errorf("history: %v", err)
	}
	if stdout.String() != "" {
		t.Errorf("stdout with --history: %q", stdout.String())
	}
}

// TestProbeUnreachableInNamespaces probes an address of the segment that
// no host holds, with a timeout longer than ARP's resolution: the kernel
// gives up after mcast_solicit requests retrans_time apart, and both
// kinds end unreachable by then (ICMP: the host unreachable the kernel
// sends itself, quoting the echo; TCP: EHOSTUNREACH), not timed out.
func TestProbeUnreachableInNamespaces(t *testing.T) {
	dir, tb, lan := lanTestbed(t, "unreachable probes in namespaces")
	bin := buildLblab(t)
	client, err := tb.AddHost("c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Connect(client, "eth0", lan, netip.MustParsePrefix("10.78.1.11/24")); err != nil {
		t.Fatal(err)
	}
	sysctl := func(name string) time.Duration {
		out, err := client.Run("cat", "/proc/sys/net/ipv4/neigh/eth0/"+name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(out)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return time.Duration(n)
	}
	// ARP gives up after this long (3 × 1 s by default).
	resolve := sysctl("mcast_solicit") * sysctl("retrans_time_ms") * time.Millisecond
	const interval = time.Second
	timeout := resolve + 2*interval
	hist := filepath.Join(dir, "history.jsonl")
	var stdout, stderr syncBuffer
	name, args := netns.Realtime(bin, "probe", "--from", "c1", "--history", hist,
		"--probe", "icmp:10.78.1.99", "--probe", "tcp:10.78.1.99:80",
		"--interval", interval.String(), "--timeout", timeout.String())
	prober, err := client.Start(&stdout, &stderr, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		prober.Terminate()
		prober.Wait(5 * time.Second)
	}()
	// The process's start is bounded by the first event's wait: the
	// first probes end by resolve, written at once; two intervals more
	// for the process to start and a late send.
	deadline := time.Now().Add(resolve + 2*interval)
	found := map[string]history.Event{}
	for len(found) < 2 {
		for _, ev := range readWholeLines(t, hist) {
			if _, ok := found[ev.Probe]; !ok {
				found[ev.Probe] = ev
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(hist)
			t.Fatalf("not an event of each probe within %v\nhistory:\n%s\nstderr:\n%s", resolve+2*interval, b, stderr.String())
		}
		time.Sleep(interval / 20)
	}
	for kind, ev := range found {
		t.Logf("%s: %s at %.3fs", kind, ev.Error, ev.T.Seconds())
		if *ev.OK || ev.Error != "unreachable" {
			t.Errorf("%s: ok=%v error %q, want unreachable", kind, *ev.OK, ev.Error)
		}
		if ev.T.Duration() > resolve+interval {
			t.Errorf("%s: unreachable at %v, want by ARP's %v (+ one interval)", kind, ev.T.Duration(), resolve)
		}
	}
}

// lanTestbed returns a folder, then a testbed with one segment "lan",
// both removed when t ends (the testbed first: what runs in it and
// writes into the folder is gone before the folder is removed); it skips
// t, in one line saying why and what, where namespaces cannot be made
// (not root), and fails it so with CI=true.
func lanTestbed(t *testing.T, what string) (string, *netns.Testbed, *netns.Segment) {
	t.Helper()
	if err := netns.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s cannot run: %v", what, err)
		}
		t.Skipf("%s skipped: %v", what, err)
	}
	dir := t.TempDir()
	tb, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tb.Cleanup(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	lan, err := tb.AddSegment("lan")
	if err != nil {
		t.Fatal(err)
	}
	return dir, tb, lan
}

// readWholeLines returns the events of the whole lines of a history
// being written (none while it does not exist).
func readWholeLines(t *testing.T, path string) []history.Event {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	b = b[:bytes.LastIndexByte(b, '\n')+1]
	evs, err := history.ReadJSONL(bytes.NewReader(b), path)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	return evs
}

// lastLines returns the last n lines of b.
func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
