package dockerwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/server"
	"github.com/lblab/lblab/testbed/dockerbed"
)

// deadline is how long a container's registration may take after its
// start, and its removal after its kill: one event through the engine,
// an inspect and a reload, on a loaded machine.
const deadline = 10 * time.Second

// needEngine skips the test in one line without a Docker engine; with
// CI=true that is a failure.
func needEngine(t *testing.T) {
	t.Helper()
	if err := dockerbed.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the docker tests cannot run: %v", err)
		}
		t.Skipf("docker test skipped: %v", err)
	}
}

// echoBinary builds a static HTTP server answering 200 "ok" on :80, for
// a FROM scratch image.
func echoBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	prog := `package main

import "net/http"

func main() {
	http.ListenAndServe(":80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "echo")
	cmd := exec.Command("go", "build", "-o", bin, "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO111MODULE=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// syncBuffer is a log sink safe for the watcher's goroutine.
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

// TestContainersRegisterByLabels: against this machine's engine, a
// container labelled lblab.lb.port_80: http://web:8001 becomes a server
// of group web (its source in /status names it) within the deadline
// after its start and takes requests; a container whose label names an
// unknown load balancer is a warning naming it; after a kill the server
// is gone within the deadline, and the proxy answers 502.
func TestContainersRegisterByLabels(t *testing.T) {
	needEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bed, err := dockerbed.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bed.Cleanup(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	img, err := bed.Image(ctx, echoBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bed.RemoveImage(context.Background(), img.Ref) })
	subnet := netip.MustParsePrefix("10.213.77.0/24")
	nw, err := bed.AddNetwork(ctx, "disc", subnet, netip.MustParseAddr("10.213.77.1"))
	if err != nil {
		t.Fatal(err)
	}

	base := &proxy.Config{Discovery: proxy.DiscoveryDocker,
		Listeners: []proxy.Listener{{Name: "web", Port: 8001, Group: "web"}},
		Groups:    []proxy.Group{{Name: "web", NextUpstream: &proxy.NextUpstream{On: []string{"off"}}}}}
	if ps := proxy.Validate(base); len(ps) != 0 {
		t.Fatal(ps)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	srv, err := server.New(base, server.Options{Logger: log, Admin: "127.0.0.1:0",
		Listen: func(proxy.Listener) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	})
	w, err := New(base, nw.Docker, srv.Reload, log)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Only(dockerbed.LabelRun + "=" + bed.Run())
	wctx, wstop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { wstop(); <-done }()

	status := func() server.Status {
		var st server.Status
		resp, err := http.Get("http://" + srv.SideAddr("admin").String() + "/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	source := func(addr string) string {
		for _, s := range status().Groups[0].Servers {
			if s.Address == addr {
				return s.Source
			}
		}
		return ""
	}
	waitFor := func(what string, since time.Time, ok func() bool) time.Duration {
		t.Helper()
		for !ok() {
			if time.Since(since) > deadline {
				t.Fatalf("%s: not within %v; log:\n%s", what, deadline, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		return time.Since(since)
	}

	// Another run's container, labelled for web and started first, is
	// never a server: the watcher sees this bed's run alone.
	other, err := dockerbed.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Cleanup() })
	foreign := netip.MustParsePrefix("10.213.77.12/24")
	if _, err := other.Start(ctx, dockerbed.Spec{Name: "web-other", Host: "web-other", Image: img.Ref,
		Endpoints: []dockerbed.Endpoint{{Net: nw, Addr: foreign, Iface: "eth0"}},
		Labels:    map[string]string{"lblab.lb.port_80": "http://web:8001"}}); err != nil {
		t.Fatal(err)
	}

	addr := netip.MustParsePrefix("10.213.77.10/24")
	began := time.Now()
	c, err := bed.Start(ctx, dockerbed.Spec{Name: "web-1", Host: "web-1", Image: img.Ref,
		Endpoints: []dockerbed.Endpoint{{Net: nw, Addr: addr, Iface: "eth0"}},
		Labels:    map[string]string{"lblab.lb.port_80": "http://web:8001", "lblab.lb.weight": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	server := addr.Addr().String() + ":80"
	took := waitFor("server "+server+" registered", started, func() bool { return source(server) != "" })
	if src := source(foreign.Addr().String() + ":80"); src != "" {
		t.Fatalf("another run's container is a server (%s)", src)
	}
	t.Logf("registered %v after the start returned (%v after the create began)", took, time.Since(began))
	if src := source(server); !strings.HasPrefix(src, "docker:"+c.Name+"/") || !strings.HasPrefix(c.ID, strings.TrimPrefix(src, "docker:"+c.Name+"/")) {
		t.Fatalf("source %q, want docker:%s/%.12s", src, c.Name, c.ID)
	}
	// A request through the proxy reaches the container.
	url := "http://" + srv.Addr("web").String() + "/"
	waitFor("a request answered by the container", started, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && string(body) == "ok"
	})

	// A label naming no load balancer: a warning with the container's name.
	bad, err := bed.Start(ctx, dockerbed.Spec{Name: "stray", Host: "stray", Image: img.Ref,
		Endpoints: []dockerbed.Endpoint{{Net: nw, Addr: netip.MustParsePrefix("10.213.77.11/24"), Iface: "eth0"}},
		Labels:    map[string]string{"lblab.lb.port_80": "http://nope:8001"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor("a warning naming "+bad.Name, time.Now(), func() bool {
		return strings.Contains(logs.String(), "container="+bad.Name) && strings.Contains(logs.String(), "unknown load balancer")
	})
	if n := len(status().Groups[0].Servers); n != 1 {
		t.Fatalf("%d servers, want web-1 alone", n)
	}

	if err := c.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	took = waitFor("server "+server+" removed", killed, func() bool { return source(server) == "" })
	t.Logf("removed %v after the kill returned", took)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Fatalf("status %d with no server, want 502", resp.StatusCode)
	}
}
