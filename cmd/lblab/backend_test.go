package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a buffer that a running command writes while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningBackend is an `lblab backend` command running in a goroutine.
type runningBackend struct {
	addr, admin string
	out         *syncBuffer
	stop        func() (code int, stdout string)
}

var listeningLine = regexp.MustCompile(`backend \S+: (http|tcp|udp) on (\S+)\n`)
var controlLine = regexp.MustCompile(`backend \S+: control on (\S+)\n`)

// startLblabBackend runs `lblab backend --listen 127.0.0.1:0 ARGS…` and
// waits until it listens. stop sends it the equivalent of SIGTERM and
// returns its exit status and output.
func startLblabBackend(t *testing.T, args ...string) *runningBackend {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- execute(ctx, append([]string{"backend", "--listen", "127.0.0.1:0"}, args...), out, errOut)
	}()
	rb := &runningBackend{out: out}
	var once sync.Once
	var exit int
	rb.stop = func() (int, string) {
		once.Do(func() { cancel(); exit = <-code })
		return exit, out.String()
	}
	t.Cleanup(func() { rb.stop() })
	rb.addr = waitBackendLine(t, listeningLine, out, errOut, code)[2]
	if m := controlLine.FindStringSubmatch(out.String()); m != nil {
		rb.admin = m[1]
	}
	return rb
}

// waitBackendLine waits up to 5 s for a line matching re in the output
// of an lblab backend command running in a goroutine (its exit status
// comes on code) and returns the match; the test fails when the command
// exits first (its status is put back on code, a buffered channel, for
// whoever stops it: a cleanup waiting for it does not hang).
func waitBackendLine(t *testing.T, re *regexp.Regexp, out, errOut *syncBuffer, code chan int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		select {
		case c := <-code:
			code <- c
			t.Fatalf("lblab backend exited with %d:\n%s%s", c, out, errOut)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("lblab backend printed no %q:\n%s%s", re, out, errOut)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func httpDo(t *testing.T, method, url string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestBackendAnswersAndStopsCleanly(t *testing.T) {
	b := startLblabBackend(t, "--name", "web1")
	code, body, h := httpDo(t, "GET", "http://"+b.addr+"/anything")
	if code != 200 || body != "web1\n" || h.Get("X-Backend") != "web1" {
		t.Fatalf("GET: %d %q %v", code, body, h)
	}
	exit, out := b.stop()
	if exit != 0 || !strings.Contains(out, "backend web1: stopped after 1 requests (0 errors)") {
		t.Fatalf("exit %d:\n%s", exit, out)
	}
}

func TestBackendHealthSwitch(t *testing.T) {
	b := startLblabBackend(t, "--name", "h", "--health-path", "/health")
	health := func() int {
		t.Helper()
		code, _, _ := httpDo(t, "GET", "http://"+b.addr+"/health")
		return code
	}
	if c := health(); c != 200 {
		t.Fatalf("health %d at start", c)
	}
	if code, _, _ := httpDo(t, "PUT", "http://"+b.addr+"/_lblab/health?status=503"); code != 200 {
		t.Fatalf("PUT health: %d", code)
	}
	if c := health(); c != 503 {
		t.Fatalf("health %d after PUT status=503", c)
	}
	httpDo(t, "PUT", "http://"+b.addr+"/_lblab/health?status=200")
	if c := health(); c != 200 {
		t.Fatalf("health %d after PUT status=200", c)
	}
	// SIGUSR1 and SIGUSR2 (the command has its handler installed once it
	// prints that it listens).
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return health() == 503 }, "health 503 after SIGUSR1")
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return health() == 200 }, "health 200 after SIGUSR2")
}

func TestBackendAdminListener(t *testing.T) {
	b := startLblabBackend(t, "--name", "adm", "--admin", "127.0.0.1:0")
	if b.admin == "" {
		t.Fatalf("no control line:\n%s", b.out)
	}
	// The main listener has no control path then.
	if code, body, _ := httpDo(t, "PUT", "http://"+b.addr+"/_lblab/health?status=503"); code != 200 || body != "adm\n" {
		t.Fatalf("control path on the main listener: %d %q", code, body)
	}
	if code, _, _ := httpDo(t, "PUT", "http://"+b.admin+"/_lblab/health?status=503"); code != 200 {
		t.Fatalf("admin PUT: %d", code)
	}
	if code, _, _ := httpDo(t, "GET", "http://"+b.addr+"/healthz"); code != 503 {
		t.Fatalf("health %d after the admin switch", code)
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBackendErrorRate(t *testing.T) {
	b := startLblabBackend(t, "--name", "e", "--error-rate", "0.2", "--error-status", "503")
	code, stdout, stderr := lblab(t, "load", "-n", "2000", "-c", "8", "-k", "http://"+b.addr+"/")
	wantExit(t, code, 1, stdout, stderr)
	m := regexp.MustCompile(`statuses: 200: (\d+), 503: (\d+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no statuses line:\n%s", stdout)
	}
	// Binomial(2000, 0.2): mean 400, standard deviation 17.9; allow 5 of them.
	n := atoi(t, m[2])
	if n < 310 || n > 490 || atoi(t, m[1])+n != 2000 {
		t.Fatalf("%d errors of 2000 at rate 0.2, want 400 ± 90\n%s", n, stdout)
	}
	if !strings.Contains(stdout, "sent 2000 = completed "+m[1]+" + failed "+m[2]+" + timed out 0\n") {
		t.Fatalf("accounting:\n%s", stdout)
	}
}

// dialGreeted connects to a tcp echo at addr (closed at the test's end)
// and reads its greeting, which must be name.
func dialGreeted(t *testing.T, addr, name string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	if line, err := br.ReadString('\n'); line != name+"\n" {
		t.Fatalf("greeting %q %v, want %q", line, err, name)
	}
	return c, br
}

func TestBackendTCPEcho(t *testing.T) {
	b := startLblabBackend(t, "--name", "t1", "--mode", "tcp")
	c, br := dialGreeted(t, b.addr, "t1")
	for _, msg := range []string{"hello\n", "again, longer\n"} {
		io.WriteString(c, msg)
		if line, err := br.ReadString('\n'); line != msg {
			t.Fatalf("echo %q %v, want %q", line, err, msg)
		}
	}
	code, stdout, stderr := lblab(t, "load", "-n", "500", "-c", "5", "-k", "tcp://"+b.addr)
	wantExit(t, code, 0, stdout, stderr)
	if !strings.Contains(stdout, "sent 500 = completed 500 + failed 0 + timed out 0\n") || !strings.Contains(stdout, "backends: t1 500") {
		t.Fatalf("load over TCP:\n%s", stdout)
	}
}

func TestBackendUDPEcho(t *testing.T) {
	b := startLblabBackend(t, "--name", "u1", "--mode", "udp", "--latency", "1ms")
	c, err := net.Dial("udp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1500)
	for _, msg := range []string{"ping", "second datagram"} {
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "u1:"+msg {
			t.Fatalf("udp echo %q %v, want %q", buf[:n], err, "u1:"+msg)
		}
	}
}

func TestBackendBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"backend", "--mode", "sctp"},
		{"backend", "--latency", "soon"},
		{"backend", "--error-rate", "1.5"},
		{"backend", "--error-status", "42"},
		{"backend", "--listen", "not an address"},
		{"backend", "--health-path", "healthz"},
	} {
		code, stdout, stderr := lblab(t, args...)
		wantExit(t, code, 2, stdout, stderr)
	}
}

// TestBackendSpecTCPEcho: a lab's server of a tcp listener (--spec with
// --mode tcp) greets with its address and echoes; udp is refused.
func TestBackendSpecTCPEcho(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "backend.yaml")
	if err := os.WriteFile(spec, []byte("backends:\n  - {address: \"r1:6379\", service: {law: lognormal, median: 1ms, p99: 3ms}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startLblabBackend(t, "--spec", spec, "--mode", "tcp")
	c, br := dialGreeted(t, b.addr, "r1:6379") // the spec's address
	io.WriteString(c, "PING\n")
	if line, err := br.ReadString('\n'); line != "PING\n" {
		t.Fatalf("echo %q %v", line, err)
	}
	code, stdout, stderr := lblab(t, "backend", "--spec", spec, "--mode", "udp", "--listen", "127.0.0.1:0")
	wantExit(t, code, 2, stdout, stderr)
}
