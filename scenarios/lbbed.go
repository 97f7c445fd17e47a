package scenarios

import (
	"context"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// lbBed is the seam under the one player of load-balancer labs on real
// hosts (lbWorld): the place that makes the lab's hosts on one segment,
// lbNet, and runs its roles there. netnsBed makes each host a network
// namespace and each role a process in it (netns_lb.go); dockerBed
// makes each host a holder container owning a network namespace and
// each role a container joined to it (docker_lb.go).
type lbBed interface {
	// Open makes the segment, lbNet. It gives up with ctx's error once
	// ctx is done.
	Open(ctx context.Context) error
	// AddHosts makes a host for each spec, in the order given (at once
	// where the bed can): named for the lab's name (the bed makes a
	// valid, unused name of it), at its address on the segment with
	// lbNet's length, every destination it has no better route for
	// sent straight onto the segment, so that a reply finds any address
	// another host holds (by ARP). It gives up with ctx's error once ctx
	// is done.
	AddHosts(ctx context.Context, specs []lbHostSpec) ([]lbBedHost, error)
	// Dir is the folder, as a role's process sees it, that holds the
	// files given to lbBedHost.Start and the files the roles write.
	Dir() string
	// Lead is how far ahead of the proxy's start the lab's time 0 is:
	// long enough for the proxy to get ready and for n load generators
	// to start, each waiting for time 0.
	Lead(n int) time.Duration
	// Close ends every role's process and removes what the bed made.
	// Later calls do nothing.
	Close() error
}

// lbBedHost is a host of an lbBed.
type lbBedHost interface {
	// AddAddrs gives the host's interface more addresses (a population
	// of client source addresses, a server named by its address), with
	// no prefix route.
	AddAddrs(addrs ...netip.Prefix) error
	// Shape gives the host's interface a one-way latency; nil, doing
	// nothing, when the bed has no link shaping (the world's
	// capabilities say so, and a lab needing more than the timing
	// tolerance was refused).
	Shape(latency time.Duration) error
	// SetLink sets the host's link down or up (a cable pulled at the
	// switch), returning when it took effect.
	SetLink(up bool) error
	// Start puts files into Dir and starts the role lblab args... (role
	// names it among the host's roles) on the host, returning once the
	// process runs.
	Start(ctx context.Context, role string, files []lbFile, args ...string) (lbProc, error)
	// Dial connects to addr from inside the host (its loopback: a
	// role's control listener).
	Dial(ctx context.Context, network, addr string) (net.Conn, error)
}

// lbProc is a role's process on an lbBedHost.
type lbProc interface {
	// Output is what it printed (stdout and stderr), at most its tail.
	Output() string
	// Exited reports whether it has ended, and with which status.
	Exited() (bool, int)
	// Kill SIGKILLs it and returns when that took effect: it is gone,
	// its sockets closed (the moment returned), or, where the bed can
	// tell no better, the signal was delivered.
	Kill() (time.Time, error)
	// Freeze stops every thread of it and returns when they are stopped
	// (the moment returned).
	Freeze() (time.Time, error)
	// Signal sends it sig.
	Signal(sig syscall.Signal) error
	// Wait waits up to timeout for it to end and reports whether it did.
	Wait(timeout time.Duration) bool
	// ReadFile returns a file it wrote (a path under the bed's Dir),
	// also after it ended.
	ReadFile(path string) ([]byte, error)
}

// lbHostSpec is a host lbBed.AddHosts makes: the lab's name for it and
// its address on lbNet.
type lbHostSpec struct {
	Name string
	IP   netip.Addr
}

// lbFile is a file a role reads, put into the bed's Dir under Name.
type lbFile struct {
	Name string
	Data []byte
}

// dialInside dials addr with a socket opened by do, which runs its
// function inside a host's network namespace (lbBedHost.Dial).
func dialInside(do func(func() error) error, ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := do(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// badNameChars are the characters a host's name on a bed leaves out.
var badNameChars = regexp.MustCompile(`[^a-z0-9_-]+`)

// bedName makes a valid name for a namespace or a container of a lab's
// name: lower case letters, digits, - and _, at most 24 bytes.
func bedName(want string) string {
	base := strings.Trim(badNameChars.ReplaceAllString(strings.ToLower(want), "-"), "-_")
	if base == "" {
		base = "h"
	}
	return base[:min(len(base), 24)]
}

// lbServiceBed is an lbBed that runs a lab's services (containers
// registered with the load balancer by their labels): dockerBed. The
// proxy learns of the replicas from the engine, never from the player.
type lbServiceBed interface {
	lbBed
	// Discovery returns the proxy's arguments that make it watch the
	// engine for this run's labelled containers on the segment, and lets
	// the proxy's role reach the engine. Call it before the proxy
	// starts.
	Discovery() ([]string, error)
	// StartService starts the role lblab args... on host h (a host of
	// this bed) as lbBedHost.Start does, its container carrying labels
	// beside the run's: a container of a service, registered by its
	// labels with the address of h. It returns once the process runs.
	StartService(ctx context.Context, h lbBedHost, role string, labels map[string]string, files []lbFile,
		args ...string) (lbReplica, error)
}

// lbReplica is the process of a service's container.
type lbReplica interface {
	lbProc
	// Stop ends it as docker stop does (SIGTERM) and returns when it
	// took effect: the process is gone (the moment returned).
	Stop() (time.Time, error)
	// Remove removes the container (the engine's destroy event).
	Remove() error
}
