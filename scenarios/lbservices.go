package scenarios

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/workload"
)

// A lab's services on real hosts (a bed that runs them: lbServiceBed,
// the docker world's).
//
// Each container a service ever runs (labfile.Service.Slots: the most
// of its replicas and scale counts), named as the simulator names it
// (web-1, web-2, ...), is a server of the lab at NAME-i:PORT, played by a
// container of its own on the segment at 198.18.3.N, carrying the
// service's labels and the run's, running lblab backend (the tcp echo
// when a label registers it with a tcp:// scheme). The replicas are
// started before the proxy; the proxy (lblab proxy --docker, limited to
// the run's containers) learns of them from the engine, at its start and
// from the engine's events, never from the player. The faults:
//
//	scale      to N: the containers N+1 and up stop (SIGTERM, as docker
//	           stop) and are removed (die, stop, destroy events), the
//	           new ones start (start events), stamped when the last
//	           stopped or listens
//	crash      kill(2) of a container's first process, as for a server
//	restore    a fresh container in its place
//
// The proxy names a discovered server by its address on the segment;
// its events are renamed to the lab's names (web-3:80) before the merge,
// as the simulator names them.

// lbService is what a server that is a service's container has beside
// a server's.
type lbService struct {
	name   string // the service's
	slot   int    // its number, from 1
	labels map[string]string
	rep    lbReplica // its container's process; nil before it started
	gone   bool      // removed (scaled down)
}

// lbServiceIP is the address on lbNet of the n-th container of the
// lab's services, from 0.
func lbServiceIP(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18, 3 + byte(n/250), byte(n%250 + 1)})
}

// lbTCPService reports whether labels register a service's containers
// with a tcp listener (a tcp:// scheme): they run the tcp echo.
func lbTCPService(labels map[string]string) bool {
	for _, v := range labels {
		if strings.HasPrefix(strings.TrimSpace(v), "tcp://") {
			return true
		}
	}
	return false
}

// planServices makes a server of every container the lab's services
// ever run, after the lab's servers, each on a host of its own
// appended to hosts.
func (w *lbWorld) planServices(hosts *[]*lbHost) error {
	n := 0
	for _, s := range w.lab.Services {
		for i := 1; i <= s.Slots(w.lab); i++ {
			if n >= 250*10 {
				return i18n.Errorf("more than %d containers of services", n)
			}
			spec := s.Backend
			spec.Address = net.JoinHostPort(s.Container(i), strconv.Itoa(s.PortOr()))
			h := &lbHost{name: s.Container(i), ip: lbServiceIP(n)}
			*hosts = append(*hosts, h)
			b := &lbBackend{spec: spec, index: len(w.lab.Backends) + n, host: h, port: strconv.Itoa(s.PortOr()), healthy: true,
				tcp: lbTCPService(s.Labels), dead: true, svc: &lbService{name: s.Name, slot: i, labels: s.Labels}}
			var err error
			if b.spec0, err = specFile(fmt.Sprintf("backend%d.yaml", b.index), map[string]any{"backends": []workload.Backend{spec}}); err != nil {
				return err
			}
			w.backends[spec.Address] = b
			w.services = append(w.services, b)
			n++
		}
	}
	return nil
}

// startServices starts the replicas every service runs from the start,
// at once.
func (w *lbWorld) startServices(ctx context.Context) error {
	var start []*lbBackend
	for _, s := range w.lab.Services {
		for _, b := range w.services {
			if b.svc.name == s.Name && b.svc.slot <= s.ReplicasOr() {
				start = append(start, b)
			}
		}
	}
	return w.startReplicas(ctx, start)
}

// startReplicas starts the containers of bs at once and waits until
// each listens.
func (w *lbWorld) startReplicas(ctx context.Context, bs []*lbBackend) error {
	errs := make([]error, len(bs))
	var wg sync.WaitGroup
	for i, b := range bs {
		wg.Go(func() { errs[i] = w.startReplica(ctx, b) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startReplica starts a fresh container of a service's server and waits
// until it listens.
func (w *lbWorld) startReplica(ctx context.Context, b *lbBackend) error {
	sb := w.bed.(lbServiceBed) // newLBWorld refused a lab with services otherwise
	mode := "http"
	if b.tcp {
		mode = "tcp"
	}
	rep, err := sb.StartService(ctx, b.host.h, fmt.Sprintf("backend%d", b.index), b.svc.labels, []lbFile{b.spec0},
		"backend", "--spec", w.at(b.spec0), "--mode", mode, "--listen", net.JoinHostPort(b.host.ip.String(), b.port),
		"--seed", strconv.FormatUint(w.backendSeed(b.index), 10), "--grace", "0s")
	if err != nil {
		return i18n.Errorf("server %s: %w", b.spec.Address, err)
	}
	b.svc.rep, b.svc.gone = rep, false
	b.run = &lbRole{host: b.host, p: rep}
	if err := waitOutput(rep, "backend "+b.spec.Address+": "+mode+" on ", 1); err != nil {
		return i18n.Errorf("server %s: %w", b.spec.Address, err)
	}
	b.dead, b.hung, b.slow = false, false, false
	return nil
}

// scale runs n containers of service from now, as the simulator does:
// the highest-numbered running ones stop and are removed, new ones
// start. It returns when that took effect.
func (w *lbWorld) scale(service string, n int) (time.Time, error) {
	running := 0
	var up []*lbBackend
	var down []*lbBackend
	for _, b := range w.services {
		if b.svc.name != service {
			continue
		}
		if b.svc.rep != nil && !b.svc.gone {
			running = max(running, b.svc.slot)
		}
	}
	for _, b := range w.services {
		switch {
		case b.svc.name != service:
		case b.svc.slot > running && b.svc.slot <= n:
			up = append(up, b)
		case b.svc.slot > n && b.svc.slot <= running:
			down = append(down, b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), lbOpWait)
	defer cancel()
	if err := w.startReplicas(ctx, up); err != nil {
		return time.Time{}, err
	}
	at := time.Now()
	for _, b := range down {
		if b.svc.rep == nil || b.svc.gone {
			continue
		}
		if !b.dead {
			t, err := b.svc.rep.Stop()
			if err != nil {
				return time.Time{}, i18n.Errorf("server %s: %w", b.spec.Address, err)
			}
			at, b.dead = t, true
		}
	}
	for _, b := range down {
		if b.svc.rep != nil && !b.svc.gone {
			if err := b.svc.rep.Remove(); err != nil {
				return time.Time{}, i18n.Errorf("server %s: %w", b.spec.Address, err)
			}
			b.svc.gone = true
		}
	}
	return at, nil
}

// serviceNames maps the servers' addresses as the proxy names them
// (the container's address on the segment and its port) to the lab's
// names (web-3:80).
func (w *lbWorld) serviceNames() map[string]string {
	out := map[string]string{}
	for _, b := range w.services {
		out[net.JoinHostPort(b.host.ip.String(), b.port)] = b.spec.Address
	}
	return out
}

// renameServers gives the proxy's events the lab's names of the
// services' servers.
func renameServers(evs []history.Event, names map[string]string) {
	if len(names) == 0 {
		return
	}
	for i := range evs {
		if n, ok := names[evs[i].Backend]; ok {
			evs[i].Backend = n
		}
		if n, ok := names[evs[i].Server]; ok {
			evs[i].Server = n
		}
	}
}
