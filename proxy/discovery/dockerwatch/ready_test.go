package dockerwatch

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/discovery"
)

// TestWaitListening: a started container's server joins once its port
// accepts a connection (here 200 ms after the start), and no later than
// WaitListening's bound when it never does.
func TestWaitListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens until the container's server starts
	base := &proxy.Config{Discovery: proxy.DiscoveryDocker,
		Listeners: []proxy.Listener{{Name: "web", Port: 8001, Group: "web"}},
		Groups:    []proxy.Group{{Name: "web"}}}
	w := &Watcher{base: base, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w.WaitListening(5 * time.Second)
	c := discovery.Container{ID: "c1", Name: "web-3", Addr: netip.MustParseAddr("127.0.0.1"),
		Labels: map[string]string{discovery.PortPrefix + strconv.Itoa(port): "http://web:8001"}}
	const late = 200 * time.Millisecond
	up := make(chan net.Listener, 1)
	go func() {
		time.Sleep(late)
		l, _ := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		up <- l // nil when the port was taken meanwhile: the wait below says so
	}()
	began := time.Now()
	w.waitListening(context.Background(), c)
	took := time.Since(began)
	if took < late || took > late+time.Second {
		t.Errorf("joined %s after the start, want once it listens (%s) and within a second of it", took, late)
	}
	if l := <-up; l != nil {
		l.Close()
	}
	w.WaitListening(300 * time.Millisecond)
	began = time.Now()
	w.waitListening(context.Background(), c)
	if took := time.Since(began); took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("a server that never listens joined after %s, want after the bound (300ms)", took)
	}
}
