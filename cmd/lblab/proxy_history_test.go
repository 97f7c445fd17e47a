package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
)

// historyFlush is how often `lblab proxy` writes its history buffer to
// the file (proxy/server's historyFlush, which the README promises): a
// killed proxy loses at most the events of the last historyFlush.
const historyFlush = time.Second

// killMargin is added to historyFlush before a kill that must lose
// nothing: the flusher is a goroutine that a loaded machine may run late.
const killMargin = 500 * time.Millisecond

// killableProxy is an `lblab proxy --history FILE` process in front of
// one in-process backend.
type killableProxy struct {
	url, hist string
	cmd       *exec.Cmd
	exited    chan struct{}
	out       bytes.Buffer
}

func startKillableProxy(t *testing.T, bin string) *killableProxy {
	t.Helper()
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	t.Cleanup(be.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := writeFile(t, "lb.yaml", fmt.Sprintf("listeners:\n  - port: %d\n    group: web\ngroups:\n  - name: web\n    servers:\n      - address: %s\n",
		port, be.Listener.Addr()))
	p := &killableProxy{url: fmt.Sprintf("http://127.0.0.1:%d/", port), hist: filepath.Join(t.TempDir(), "history.jsonl"),
		exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "proxy", "--config", cfg, "--history", p.hist, "--bind", "127.0.0.1")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("lblab proxy exited:\n%s", p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("lblab proxy does not listen on %d:\n%s", port, p.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *killableProxy) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// requests reads the history the killed proxy left: it must be whole
// lines that history.ReadJSONL reads.
func (p *killableProxy) requests(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile(p.hist)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		t.Errorf("the history ends inside a line: %q", raw[max(0, len(raw)-60):])
	}
	evs, err := history.ReadJSONL(bytes.NewReader(raw), p.hist)
	if err != nil {
		t.Fatalf("the killed proxy's history does not read: %v", err)
	}
	n := 0
	for _, e := range evs {
		if e.Kind == history.KindRequest {
			n++
		}
	}
	return n
}

// `lblab proxy --history FILE` killed with SIGKILL: the history holds
// every request answered more than historyFlush before the kill, in whole
// lines (a cut last line made the whole file unreadable).
func TestProxyHistoryOnSIGKILL(t *testing.T) {
	bin := buildLblab(t)
	t.Run("after the last answer", func(t *testing.T) { historyAfterLastAnswer(t, bin) })
	t.Run("under load", func(t *testing.T) { historyUnderLoad(t, bin) })
}

// historyAfterLastAnswer kills the proxy more than historyFlush after its
// last answer: every request is in the history.
func historyAfterLastAnswer(t *testing.T, bin string) {
	p := startKillableProxy(t, bin)
	c := &http.Client{Timeout: 10 * time.Second}
	const n = 300
	for i := range n {
		resp, err := c.Get(p.url)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	// The timer under test: every answer is in the file within
	// historyFlush of the last one (killMargin for a loaded machine's
	// scheduler), without the proxy being asked to flush or stop. Then the
	// kill must not take any of it back.
	last := time.Now()
	for got := 0; got != n; {
		if time.Since(last) > historyFlush+killMargin {
			t.Fatalf("%d requests in the history %v after the last answer, want all %d", got, historyFlush+killMargin, n)
		}
		time.Sleep(20 * time.Millisecond)
		if raw, err := os.ReadFile(p.hist); err == nil {
			got = bytes.Count(raw, []byte(`"kind":"request"`))
		}
	}
	p.kill()
	if got := p.requests(t); got != n {
		t.Fatalf("%d requests in the history of the killed proxy, want all %d", got, n)
	}
}

// historyUnderLoad kills the proxy while requests keep coming: the
// history is whole lines holding every request answered more than
// historyFlush before the kill.
func historyUnderLoad(t *testing.T, bin string) {
	p := startKillableProxy(t, bin)
	var (
		answered []time.Time // when each answer came
		mu       sync.Mutex
		wg       sync.WaitGroup
		stop     atomic.Bool
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second} // a kept-alive connection each
			for !stop.Load() {
				resp, err := c.Get(p.url)
				if err != nil {
					return // killed
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				answered = append(answered, time.Now())
				mu.Unlock()
			}
		}()
	}
	// Once 3000 requests are answered (the buffer has gone out), load for
	// longer than historyFlush, then kill while it goes on.
	var enough time.Time
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(answered)
		mu.Unlock()
		if enough.IsZero() && n >= 3000 {
			enough = time.Now()
		}
		if !enough.IsZero() && time.Since(enough) > historyFlush+killMargin {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests answered in 30 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	killed := time.Now()
	p.kill()
	stop.Store(true)
	wg.Wait()
	before := 0
	for _, a := range answered {
		if a.Before(killed.Add(-historyFlush - killMargin)) {
			before++
		}
	}
	got := p.requests(t)
	t.Logf("%d answered, %d of them more than %v before the kill; %d in the history", len(answered), before, historyFlush+killMargin, got)
	if got < before {
		t.Fatalf("%d requests in the history, want at least the %d answered more than %v before the kill", got, before, historyFlush+killMargin)
	}
}
