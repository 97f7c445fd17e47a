// Package dockerwatch is container discovery's real driver: it watches
// the Docker Engine API with the official client (the one
// testcontainers-go uses) and feeds the containers and their events to
// proxy/discovery's State, applying the servers it maps them to (the
// proxy's Reload). It decides nothing itself.
package dockerwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/discovery"
)

// Retry is how long Run waits before it subscribes again after the event
// stream broke.
const Retry = time.Second

// Watcher keeps the proxy's servers in step with the labels of the
// engine's containers.
type Watcher struct {
	cli     client.APIClient
	network string
	only    string // a label filter, "" for every container
	ready   time.Duration
	apply   func(*proxy.Config) error
	log     *slog.Logger

	mu     sync.Mutex
	base   *proxy.Config
	st     *discovery.State
	warned map[string]bool
}

// New returns a watcher of the engine of DOCKER_HOST (default the local
// socket) that applies base with the containers' servers through apply
// (server.Server.Reload). network names the Docker network whose address
// a container registers with; "" takes the first of its networks by name
// that gives it an address.
func New(base *proxy.Config, network string, apply func(*proxy.Config) error, log *slog.Logger) (*Watcher, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker discovery: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Watcher{cli: cli, network: network, apply: apply, log: log, base: base,
		st: discovery.NewState(), warned: map[string]bool{}}, nil
}

// Only restricts the watcher to the containers carrying label (key, or
// key=value: Docker's label filter), e.g. one lblab run's
// (io.lblab.run=<run id>), so that another run's containers on the same
// engine never become servers. Default: every container. Call it before
// Run.
func (w *Watcher) Only(label string) { w.only = label }

// WaitListening makes a started container's servers join only once each
// accepts a TCP connection (as a container service registers a
// container once its health check passes), for at most d after the start
// event; then they join all the same. The events after a start wait
// meanwhile. Default 0: they join on the start event. Call it before
// Run.
func (w *Watcher) WaitListening(d time.Duration) { w.ready = d }

// ReadyPoll is how often WaitListening tries a server's port.
const ReadyPoll = 5 * time.Millisecond

// Close closes the connection to the engine.
func (w *Watcher) Close() error { return w.cli.Close() }

// SetBase replaces the configuration the containers' servers are added to
// (a SIGHUP reload) and applies the result.
func (w *Watcher) SetBase(base *proxy.Config) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.base = base
	return w.applyLocked()
}

// Run watches until ctx ends: it subscribes to the containers' start,
// die, stop and destroy events, lists the containers, applies, and then
// applies again after every event that changes something. A broken
// stream is subscribed again (and the list read again) after Retry.
func (w *Watcher) Run(ctx context.Context) error {
	for {
		err := w.watch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		w.log.Warn("docker discovery: event stream broke; subscribing again", "err", err, "after", Retry)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(Retry):
		}
	}
}

func (w *Watcher) watch(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := make(client.Filters).Add("type", string(events.ContainerEventType))
	for _, a := range []string{discovery.ActionStart, discovery.ActionDie, discovery.ActionStop, discovery.ActionDestroy} {
		f.Add("event", a)
	}
	lf := make(client.Filters)
	if w.only != "" {
		f.Add("label", w.only)
		lf.Add("label", w.only)
	}
	// Subscribe before the list, so that no event between the two is lost.
	ev := w.cli.Events(ctx, client.EventsListOptions{Filters: f})
	list, err := w.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: lf})
	if err != nil {
		return fmt.Errorf("container list: %w", err)
	}
	var cs []discovery.Container
	for _, s := range list.Items {
		name := ""
		if len(s.Names) > 0 {
			name = s.Names[0]
		}
		var nets map[string]*network.EndpointSettings
		if s.NetworkSettings != nil {
			nets = s.NetworkSettings.Networks
		}
		c := discovery.Container{ID: s.ID, Name: strings.TrimPrefix(name, "/"), Labels: s.Labels,
			Running: s.State == "running", Addr: w.addr(nets)}
		if mode := container.NetworkMode(s.HostConfig.NetworkMode); !c.Addr.IsValid() && mode.IsContainer() {
			c.Addr = w.joinedAddr(ctx, mode)
		}
		cs = append(cs, c)
	}
	w.mu.Lock()
	w.st.Reset(cs)
	err = w.applyLocked()
	w.mu.Unlock()
	if err != nil {
		w.log.Error("docker discovery: apply", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err, ok := <-ev.Err:
			if !ok {
				return errors.New("event stream closed")
			}
			return err
		case m := <-ev.Messages:
			w.event(ctx, m)
		}
	}
}

// event takes one event: a start is inspected for the container's
// labels and address; the others need only its id.
func (w *Watcher) event(ctx context.Context, m events.Message) {
	e := discovery.Event{Action: string(m.Action), Container: discovery.Container{ID: m.Actor.ID, Name: m.Actor.Attributes["name"]}}
	if e.Action == discovery.ActionStart {
		in, err := w.cli.ContainerInspect(ctx, m.Actor.ID, client.ContainerInspectOptions{})
		if err != nil {
			w.log.Warn("docker discovery: inspect of a started container", "container", e.Container.Name, "err", err)
			return
		}
		c := in.Container
		e.Container.Name = strings.TrimPrefix(c.Name, "/")
		if c.Config != nil {
			e.Container.Labels = c.Config.Labels
		}
		if c.State != nil && !c.State.Running {
			return // it died already; its die event follows
		}
		if c.NetworkSettings != nil {
			e.Container.Addr = w.addr(c.NetworkSettings.Networks)
		}
		if c.HostConfig != nil && !e.Container.Addr.IsValid() && c.HostConfig.NetworkMode.IsContainer() {
			e.Container.Addr = w.joinedAddr(ctx, c.HostConfig.NetworkMode)
		}
		if w.ready > 0 {
			w.waitListening(ctx, e.Container)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.st.Apply(e) {
		return
	}
	w.log.Info("docker discovery", "event", e.Action, "container", e.Container.Name)
	if err := w.applyLocked(); err != nil {
		w.log.Error("docker discovery: apply", "err", err)
	}
}

// joinedAddr is the address of a container that shares another's
// network namespace (network mode container:<id>): that one's.
func (w *Watcher) joinedAddr(ctx context.Context, mode container.NetworkMode) netip.Addr {
	in, err := w.cli.ContainerInspect(ctx, mode.ConnectedContainer(), client.ContainerInspectOptions{})
	if err != nil || in.Container.NetworkSettings == nil {
		return netip.Addr{}
	}
	return w.addr(in.Container.NetworkSettings.Networks)
}

// waitListening waits until every server c's labels register accepts a
// TCP connection, for at most w.ready (WaitListening).
func (w *Watcher) waitListening(ctx context.Context, c discovery.Container) {
	w.mu.Lock()
	regs, _ := discovery.Labels(w.base, c)
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, w.ready)
	defer cancel()
	for _, r := range regs {
		for {
			conn, err := (&net.Dialer{Timeout: ReadyPoll}).DialContext(ctx, "tcp", r.Server.Address)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-ctx.Done():
				w.log.Warn("docker discovery: a started container's server does not accept connections; joins all the same",
					"container", c.Name, "server", r.Server.Address, "waited", w.ready)
				return
			case <-time.After(ReadyPoll):
			}
		}
	}
}

// addr picks the container's address: on the watcher's network, or on
// the first network by name that gives one.
func (w *Watcher) addr(nets map[string]*network.EndpointSettings) netip.Addr {
	names := make([]string, 0, len(nets))
	for n := range nets {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ep := nets[n]
		if ep == nil || !ep.IPAddress.IsValid() || (w.network != "" && n != w.network) {
			continue
		}
		return ep.IPAddress
	}
	return netip.Addr{}
}

// applyLocked maps the state to servers, logs each new warning once and
// applies the configuration. Called with w.mu held.
func (w *Watcher) applyLocked() error {
	cfg, warns := discovery.Servers(w.base, w.st)
	for _, wn := range warns {
		if s := wn.String(); !w.warned[s] {
			if len(w.warned) < 10*discovery.MaxWarnings {
				w.warned[s] = true
			}
			w.log.Warn("docker discovery: label ignored", "container", wn.Container, "why", wn.Text.String())
		}
	}
	return w.apply(cfg)
}
