package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// hostileLabs writes the files of issue 10's probes (scaled to run fast
// once refused) and returns their paths with the message each must give.
func hostileLabs(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	src, err := scenarios.CatalogSource("vrrp-failover")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	n := 100_000 // 200 KB: out of memory before the bounds
	return map[string]string{
		write("deep.yaml", "name: x\nfaults: "+strings.Repeat("[", n)+strings.Repeat("]", n)+"\n"):                   "deep.yaml:2:72: lists and mappings nest deeper than 64 levels",
		write("big.yaml", string(src)+strings.Repeat("# a comment\n", labfile.MaxFileSize/12+1)):                     "big.yaml: the file is larger than 1 MiB",
		write("nan.yaml", strings.Replace(string(src), "latency: 100us\n", "latency: 100us\n      loss: .nan\n", 1)): "nan.yaml:25:13: topology.segments[0].loss: want a finite number, got .nan",
		write("long.yaml", strings.Replace(string(src), "duration: 20s", "duration: 2562047h", 1)):                   "long.yaml:20:11: duration: want at most 24h0m0s, got 2562047h0m0s",
	}
}

// validate and run exit 2 on each hostile lab, with the file, line and
// field, quickly and in bounded memory.
func TestHostileLabsExit2(t *testing.T) {
	for path, want := range hostileLabs(t) {
		for _, cmd := range []string{"validate", "run"} {
			t.Run(cmd+" "+filepath.Base(path), func(t *testing.T) {
				t.Chdir(t.TempDir()) // run writes nothing: it stops before
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				start := time.Now()
				code, stdout, stderr := lblab(t, cmd, path)
				took := time.Since(start)
				runtime.ReadMemStats(&m1)
				wantExit(t, code, 2, stdout, stderr)
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not say %q", stderr, want)
				}
				if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 256<<20 || took > 5*time.Second {
					t.Errorf("took %v and %d MB, want under 5s and 256 MB", took, alloc>>20)
				}
				if entries, _ := os.ReadDir("."); len(entries) > 0 {
					t.Errorf("%s left %d entries behind", cmd, len(entries))
				}
			})
		}
	}
}

// lblab proxy --config refuses a deeply nested lb at start (exit 2), and
// a SIGHUP reload of one keeps the old configuration, quickly, without
// the memory the parser took before.
func TestProxyConfigBounds(t *testing.T) {
	n := 100_000
	deep := "listeners: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n"
	dir := t.TempDir()
	path := filepath.Join(dir, "lb.yaml")
	if err := os.WriteFile(path, []byte(deep), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := lblab(t, "proxy", "--config", path, "--bind", "127.0.0.1")
	wantExit(t, code, 2, stdout, stderr)
	if !strings.Contains(stderr, "lb.yaml:1:75: lists and mappings nest deeper than 64 levels") {
		t.Errorf("stderr %q does not name the place", stderr)
	}

	// A running proxy, then a reload of the deep file.
	port := freePort(t)
	good := fmt.Sprintf("listeners: [{port: %d, group: web}]\ngroups: [{name: web, servers: [{address: \"127.0.0.1:1\"}]}]\n", port)
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	// Our own subscription keeps a SIGHUP that comes before the proxy's
	// from terminating the test.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, []string{"proxy", "--config", path, "--bind", "127.0.0.1", "--drain", "1s"}, &out, &errOut)
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the proxy did not listen on %s within 10s: %v\n%s", addr, err, errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.WriteFile(path, []byte(deep), 0o644); err != nil {
		t.Fatal(err)
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(errOut.String(), "the old configuration stays") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no word of the reload within 5s:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	runtime.ReadMemStats(&m1)
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 256<<20 {
		t.Errorf("the refused reload allocated %d MB, want under 256 MB", alloc>>20)
	}
	if log := errOut.String(); !strings.Contains(log, "lb.yaml:1:75: lists and mappings nest deeper than 64 levels") {
		t.Errorf("the reload's log does not name the place:\n%s", log)
	}
	// The old configuration still serves.
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Errorf("after the refused reload: %v", err)
	} else {
		c.Close()
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("the proxy exited %d:\n%s", code, errOut.String())
		}
	case <-time.After(5 * time.Second): // --drain 1s, and nothing in flight
		t.Fatalf("the proxy did not stop within 5s of its context's end")
	}
}
