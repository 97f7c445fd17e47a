package scenarios_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/loadgen"
	"github.com/lblab/lblab/loadgen/backend"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/server"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
)

// crashLab is backend-crash's active group alone: 3 servers, active checks
// every 2 s (fall 3), no retries, max_fails 0; 100 req/s; a3 dies at 8 s.
const crashLab = `
name: realcrash
title: "A backend crashes: sim vs real"
duration: 20s
lb:
  listeners:
    - {name: active, port: 8002, group: active}
  groups:
    - name: active
      servers:
        - {address: "a1:80", max_fails: 0}
        - {address: "a2:80", max_fails: 0}
        - {address: "a3:80", max_fails: 0}
      health_check: {type: http, path: /health, interval: 2s, timeout: 5s, healthy_threshold: 3, unhealthy_threshold: 3}
      next_upstream: {on: [off]}
backends:
  - {address: "a1:80", service: {law: lognormal, median: 20ms, p99: 80ms}}
  - {address: "a2:80", service: {law: lognormal, median: 20ms, p99: 80ms}}
  - {address: "a3:80", service: {law: lognormal, median: 20ms, p99: 80ms}}
clients:
  - {name: users, listener: active, rate: 100}
faults:
  - {name: a3 crashes, at: 8s, kind: crash, target: "a3:80"}
`

const (
	crashAt  = 8 * time.Second
	crashRun = 20 * time.Second
)

// errorsAndDetection counts the 5xx answers of a history and the time of
// the first down transition of server.
func errorsAndDetection(evs []history.Event, server string) (int, time.Duration) {
	n, down := 0, time.Duration(-1)
	for _, e := range evs {
		switch {
		case e.Kind == history.KindRequest && e.Status >= 500:
			n++
		case e.Kind == history.KindHealth && e.Server == server && e.To == "down" && down < 0:
			down = time.Duration(e.T)
		}
	}
	return n, down
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestRealCrashMatchesSim runs the crash in the simulator and for real (the
// real proxy, three loadgen backends and the open-loop load generator on
// loopback) and compares the errors and the detection time.
func TestRealCrashMatchesSim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 20 s of real load")
	}
	lab, err := labfile.Parse("realcrash.yaml", []byte(crashLab), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := scenarios.RunSim(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	simErrs, simDown := errorsAndDetection(out.Events, "a3:80")
	if simDown < 0 {
		t.Fatal("the simulator never took a3 down")
	}
	simDetect := simDown - crashAt

	// The real world.
	law, err := backend.ParseLaw("lognormal:20ms,80ms")
	if err != nil {
		t.Fatal(err)
	}
	var bes []*backend.Server
	var addrs []string
	for _, name := range []string{"a1", "a2", "a3"} {
		b, err := backend.New(backend.Config{Name: name, Latency: law, HealthPath: "/health"})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go b.Serve(ln, false)
		bes = append(bes, b)
		addrs = append(addrs, ln.Addr().String())
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			b.Shutdown(ctx)
		})
	}
	g := lab.LB.Groups[0]
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Name: "active", Port: 8002, Group: "active"}},
		Groups: []proxy.Group{g}}
	cfg.Groups[0].Servers = append([]proxy.Server(nil), g.Servers...)
	for i := range cfg.Groups[0].Servers {
		cfg.Groups[0].Servers[i].Address = addrs[i]
	}
	hist := &lockedBuf{}
	srv, err := server.New(cfg, server.Options{History: hist, Logger: slog.New(slog.DiscardHandler),
		Listen: func(proxy.Listener) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }})
	if err != nil {
		t.Fatal(err)
	}
	proxyStart := time.Now() // within microseconds of the history's clock
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	target := "http://" + srv.Addr("active").String() + "/"
	var res *loadgen.Result
	done := make(chan error, 1)
	loadStart := time.Now()
	go func() {
		var err error
		res, err = loadgen.Run(context.Background(), loadgen.Config{Target: target, Rate: 100,
			Duration: crashRun, KeepAlive: true, Concurrency: 64, Timeout: 5 * time.Second})
		done <- err
	}()
	time.Sleep(time.Until(loadStart.Add(crashAt)))
	killed := time.Since(proxyStart)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a crash: everything closed at once
	bes[2].Shutdown(ctx)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	srv.Shutdown(sctx)
	evs, err := history.ReadJSONL(bytes.NewReader(hist.b.Bytes()), "history")
	if err != nil {
		t.Fatal(err)
	}
	realErrs, realDown := errorsAndDetection(evs, addrs[2])
	if realDown < 0 {
		t.Fatal("the real proxy never took a3 down")
	}
	realDetect := realDown - killed
	clientErrs := int(res.Sent - res.Completed)
	t.Logf("sim: %d errors, a3 down %.2fs after the crash; real: %d errors (%d at the client, %s), down %.2fs after",
		simErrs, simDetect.Seconds(), realErrs, clientErrs, res.AccountingLine(), realDetect.Seconds())
	if simErrs == 0 || realErrs*3 < simErrs || realErrs > 3*simErrs {
		t.Errorf("errors: real %d vs simulated %d, want within a factor of 3", realErrs, simErrs)
	}
	if d := realDetect - simDetect; d > 2*time.Second || d < -2*time.Second {
		t.Errorf("detection: real %s vs simulated %s, want within one health interval (2s)", realDetect, simDetect)
	}
}
