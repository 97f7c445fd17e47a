package scenarios

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/sim"
)

// World is one place a lab plays in: the simulator, network namespaces,
// and the worlds after them. The one runner (play) drives every world
// the same way: Build, At for each fault of the timeline, Run to the
// lab's end, Finish, and Close, always, also on failure and when ctx is
// done (SIGINT). A world is made by its Factory for one lab and seed and
// played once.
type World interface {
	// Build makes the lab's topology and roles, ready for t = 0 on the
	// lab's clock. It gives up with ctx's error once ctx is done.
	Build(ctx context.Context) error
	// At schedules fn at t on the lab's clock (virtual in the simulator,
	// the wall clock since Run began on real hosts). Calls made before Run
	// run in the order of t, those of one t in the order of the calls.
	// An error from fn stops a real world's run and is Run's error.
	At(t time.Duration, fn func() error)
	// Run plays the lab until end on its clock, or until ctx is done. It
	// returns the time reached and whether ctx stopped it first.
	Run(ctx context.Context, end time.Duration) (reached time.Duration, interrupted bool, err error)
	// Apply carries out fault f now and records its fault event in the
	// history, stamped when the fault took effect (a link is down, a
	// signal delivered), not when Apply began.
	Apply(f labfile.Fault) error
	// Finish ends the roles and returns the history (nil when it streamed
	// to the sink the world was made with) and how many requests the
	// clients sent (0 when the world has no clients).
	Finish(ctx context.Context) (events []history.Event, sent int, err error)
	// Close removes whatever the world made (namespaces, processes,
	// folders). It may be called more than once, after any step.
	Close() error
}

// Role is a part a lab asks a world to play.
type Role string

// The roles of a lab.
const (
	// RoleVRRP is a VRRP router (a lab's vrrp section).
	RoleVRRP Role = "vrrp"
	// RoleProxy is the load balancer (a lab's lb section).
	RoleProxy Role = "proxy"
	// RoleBackend is a backend server (a lab's backends).
	RoleBackend Role = "backend"
	// RoleClients is a group of clients (a lab's clients).
	RoleClients Role = "clients"
)

// Capabilities is what a world can do. A lab that needs more is refused
// before anything starts (Capabilities.Refuse).
type Capabilities struct {
	// Roles are the roles the world can play.
	Roles []Role
	// Faults are the fault kinds it can apply.
	Faults []labfile.FaultKind
	// LinkShaping says whether it applies a link's latency, jitter and
	// loss (a segment's, an interface's, a lab's network section).
	LinkShaping bool
	// Root says the world needs root (network namespaces, netem).
	Root bool
	// Deterministic says a seed gives the same history, byte for byte.
	Deterministic bool
	// TCPListeners says it plays a load balancer's tcp listeners: their
	// clients' TCP exchanges, each recorded as lblab load tcp:// records
	// it (status 0, an error class when it failed). Default false.
	TCPListeners bool
	// MulticastFirewall says it applies a firewall fault that drops only
	// multicast (multicast: true). Default false.
	MulticastFirewall bool
	// Impls lists, per role, the implementations the world can run beside
	// lblab's own (labfile.Impl), e.g. keepalived for RoleVRRP. Default:
	// lblab's only.
	Impls map[Role][]string
	// HA says it plays a high-availability lab (labfile.Lab.HA): the load
	// balancer on topology hosts beside their VRRP routers, clients on
	// hosts sending to a VIP across the lab's network, probes. Default
	// false.
	HA bool
	// Cloud says it plays a lab's cloud network (network: vpcs,
	// vswitches, route tables, peerings, security groups, whitelists; its
	// reach checks). Default false.
	Cloud bool
	// Early and Late widen a check's theoretical window on this world's
	// clock: a timer that fires a little early, a process or socket that
	// adds latency. Zero in the simulator.
	Early, Late time.Duration
}

// Text lists the capabilities in one line, as lblab worlds prints them.
func (c Capabilities) Text() i18n.Text {
	roles := make([]string, len(c.Roles))
	for i, r := range c.Roles {
		roles[i] = string(r)
	}
	faults := make([]string, len(c.Faults))
	for i, f := range c.Faults {
		faults[i] = string(f)
	}
	shaping, root, det := i18n.T("no"), i18n.T("no"), i18n.T("no")
	if c.LinkShaping {
		shaping = i18n.T("yes")
	}
	if c.Root {
		root = i18n.T("yes")
	}
	if c.Deterministic {
		det = i18n.T("yes")
	}
	return i18n.T("roles: %s; faults: %s; link shaping: %s; needs root: %s; deterministic: %s",
		strings.Join(roles, ", "), strings.Join(faults, ", "), shaping, root, det)
}

// Refuse returns an error naming the first capability lab needs that the
// world named world lacks, or nil. The error is an input error: the lab
// asks for what this world cannot do.
func (c Capabilities) Refuse(world string, lab *labfile.Lab) error {
	refuse := func(what i18n.Text) error {
		return &labfile.InputError{Err: i18n.Errorf("lab %s: the %s world cannot %s", lab.Name, world, what)}
	}
	need := func(r Role, what i18n.Text) error {
		if slices.Contains(c.Roles, r) {
			return nil
		}
		return refuse(i18n.T("play the role %s (%s)", string(r), what))
	}
	if lab.HA() && !c.HA {
		return refuse(i18n.T("play a high-availability lab (the load balancer on the hosts %s, clients sending across the lab's network): not yet",
			strings.Join(lab.ProxyHosts(), ", ")))
	}
	if lab.InCloud() && !c.Cloud {
		return refuse(i18n.T("build the lab's cloud network (VPCs, vswitches, peerings, security groups): not yet"))
	}
	if lab.VRRP != nil {
		if err := need(RoleVRRP, i18n.T("the lab's vrrp section")); err != nil {
			return err
		}
	}
	if lab.LB != nil {
		if err := need(RoleProxy, i18n.T("the lab's lb section")); err != nil {
			return err
		}
	}
	if len(lab.Backends) > 0 {
		if err := need(RoleBackend, i18n.T("the lab's backends")); err != nil {
			return err
		}
	}
	if len(lab.Clients) > 0 {
		if err := need(RoleClients, i18n.T("the lab's clients")); err != nil {
			return err
		}
	}
	for _, im := range []struct {
		role Role
		impl string
	}{{RoleVRRP, lab.VRRPImpl()}, {RoleProxy, lab.ProxyImpl()}} {
		if im.impl != labfile.ImplLblab && !slices.Contains(c.Impls[im.role], im.impl) {
			return refuse(i18n.T("run %s as the role %s (impl): it runs lblab's own agents only for that role", im.impl, string(im.role)))
		}
	}
	if len(lab.Services) > 0 && !slices.Contains(c.Faults, labfile.FaultScale) {
		return refuse(i18n.T("run the lab's services (containers registered by their labels, scaled by scale faults)"))
	}
	for _, f := range lab.Faults {
		if !slices.Contains(c.Faults, f.Kind) {
			return refuse(i18n.T("apply fault %s: faults of kind %s are not among its capabilities", f.Name, string(f.Kind)))
		}
		if f.Kind == labfile.FaultFirewall && f.Multicast && !c.MulticastFirewall {
			return refuse(i18n.T("apply fault %s: it drops the whole protocol, not only its multicast (multicast: true)", f.Name))
		}
	}
	if tcp := labfile.TCPListeners(lab); len(tcp) > 0 && !c.TCPListeners {
		for _, l := range lab.LB.Listeners {
			if tcp[l.Name] {
				return refuse(i18n.T("play tcp listener %s (its clients' TCP exchanges)", l.Name))
			}
		}
	}
	if !c.LinkShaping {
		for _, l := range links(lab) {
			if l.loss > 0 {
				return refuse(i18n.T("shape links (%s: loss %v): it has no link shaping, and a loss changes what happens", l.where, l.loss))
			}
			if l.delay > c.Late {
				return refuse(i18n.T("shape links (%s: up to %s one way): it has no link shaping, and that is more than its timing tolerance of %s",
					l.where, l.delay.String(), c.Late.String()))
			}
		}
	}
	return nil
}

// Unshaped returns, for a world without link shaping, a warning for each
// link whose latency and jitter it leaves out because they are within
// its timing tolerance (Refuse refuses the others); nil for a world that
// shapes links. The warnings go to the run's results and its report.
func (c Capabilities) Unshaped(world string, lab *labfile.Lab) []i18n.Text {
	if c.LinkShaping {
		return nil
	}
	var out []i18n.Text
	for _, l := range links(lab) {
		if l.delay > 0 {
			out = append(out, i18n.T("the %s world does not shape links: %s's up to %s one way is left out (within its timing tolerance of %s)",
				world, l.where, l.delay.String(), c.Late.String()))
		}
	}
	return out
}

// shapedLink is a place of a lab that asks for latency, jitter or loss,
// with the most one-way delay a packet gets there.
type shapedLink struct {
	where i18n.Text
	delay time.Duration
	loss  float64
}

// links returns the places of lab that shape links: each segment with the
// most a packet crossing it gets (the segment's latency and jitter, plus
// those of the sending and the receiving interface), and the lab's
// network section (client and backend latency).
func links(lab *labfile.Lab) []shapedLink {
	var out []shapedLink
	for _, s := range lab.Topology.Segments {
		l := shapedLink{where: i18n.T("segment %s", s.Name), delay: s.Latency.D + s.Jitter.D, loss: s.Loss}
		var worst, second time.Duration
		for _, h := range lab.Topology.Hosts {
			for _, ifc := range h.Interfaces {
				if ifc.Segment != s.Name {
					continue
				}
				d := ifc.Latency.D + ifc.Jitter.D
				if d > worst {
					worst, second = d, worst
				} else if d > second {
					second = d
				}
				l.loss = max(l.loss, ifc.Loss)
			}
		}
		l.delay += worst + second
		if l.delay > 0 || l.loss > 0 {
			out = append(out, l)
		}
	}
	if n := lab.Network; n != nil && (n.ClientLatency.D > 0 || n.BackendLatency.D > 0) {
		out = append(out, shapedLink{where: i18n.T("the network section"), delay: max(n.ClientLatency.D, n.BackendLatency.D)})
	}
	return out
}

// Options are what a run may tell a world beside its lab and seed. Each
// world reads the fields it knows.
type Options struct {
	// Binary is the lblab executable real hosts run their roles with.
	// Default: this process's own executable.
	Binary string
	// Work is a folder for the roles' configurations and histories.
	// Default: a folder of the world's own, removed when it closes.
	Work string
}

// Factory makes a world of one kind. Worlds register their factory
// (Register) when the package loads.
type Factory struct {
	// Name is the world's name, as lblab run --mode takes it.
	Name string
	// Doc says in one line what the world is, as lblab worlds prints it.
	Doc i18n.Text
	// Caps is what the world can do.
	Caps Capabilities
	// Available returns why the world cannot run on this machine now
	// (no root, no Docker), or nil.
	Available func() error
	// New makes the world for one lab and seed; its history goes to sink
	// when sink is not nil (a world that cannot stream ignores it and
	// returns the history from Finish).
	New func(lab *labfile.Lab, seed uint64, sink history.Sink, opt Options) (World, error)
}

var (
	worldsMu sync.Mutex
	worlds   = map[string]Factory{}
)

// Register adds a world. It panics on a second world of the same name (a
// programming error, at start-up).
func Register(f Factory) {
	worldsMu.Lock()
	defer worldsMu.Unlock()
	if _, ok := worlds[f.Name]; ok {
		panic("scenarios: world " + f.Name + " registered twice")
	}
	worlds[f.Name] = f
}

// Worlds returns the registered worlds, by name.
func Worlds() []Factory {
	worldsMu.Lock()
	defer worldsMu.Unlock()
	out := make([]Factory, 0, len(worlds))
	for _, f := range worlds {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// WorldNames returns the registered worlds' names, sorted.
func WorldNames() []string {
	var names []string
	for _, f := range Worlds() {
		names = append(names, f.Name)
	}
	return names
}

// LookupWorld returns the world named name, or an input error listing the
// worlds there are.
func LookupWorld(name string) (Factory, error) {
	worldsMu.Lock()
	f, ok := worlds[name]
	worldsMu.Unlock()
	if !ok {
		return Factory{}, &labfile.InputError{Err: i18n.Errorf("no world %q (the worlds are %s)", name, strings.Join(WorldNames(), ", "))}
	}
	return f, nil
}

// CheckWorld returns an input error when there is no world named mode,
// or when lab needs what it cannot do (the capability named), else nil.
func CheckWorld(mode string, lab *labfile.Lab) error {
	fac, err := LookupWorld(mode)
	if err != nil {
		return err
	}
	return fac.Caps.Refuse(fac.Name, lab)
}

// faultStep is one fault of a run's timeline at the time the seed gives it.
type faultStep struct {
	at time.Duration
	f  labfile.Fault
}

// faultPlan is the lab's fault timeline for seed: each fault at its time
// plus its jitter (drawn from the fault's own stream, so a seed puts a
// fault at the same moment in every world), in the lab's order.
func faultPlan(lab *labfile.Lab, seed uint64) []faultStep {
	plan := make([]faultStep, 0, len(lab.Faults))
	for _, f := range lab.Faults {
		at := f.At.D
		if f.Jitter.D > 0 {
			at += time.Duration(faultRand(seed, f.Name).Int64N(int64(f.Jitter.D)))
		}
		plan = append(plan, faultStep{at, f})
	}
	return plan
}

// faultRand is the random stream of a fault's jitter: the simulator's own
// stream for it, so a seed puts the fault at the same moment in every
// world.
func faultRand(seed uint64, name string) *rand.Rand {
	return sim.NewKernel(seed).Rand("fault/" + name)
}

// played is what play hands back: the history (nil when it streamed), the
// time reached, how many requests the clients sent, and whether ctx
// stopped the run first.
type played struct {
	events      []history.Event
	reached     time.Duration
	sent        int
	interrupted bool
}

// play is the one runner: it makes the world mode for lab and seed (its
// history going to sink when not nil), refuses a lab that needs what the
// world cannot do, builds it, schedules the fault timeline, runs it to the
// lab's end and hands back the history. The world is closed on every way
// out. A run stopped by ctx while building returns an empty history,
// interrupted.
func play(ctx context.Context, mode string, lab *labfile.Lab, seed uint64, sink history.Sink, opt Options) (played, Capabilities, error) {
	fac, err := LookupWorld(mode)
	if err != nil {
		return played{}, Capabilities{}, err
	}
	if err := fac.Caps.Refuse(fac.Name, lab); err != nil {
		return played{}, fac.Caps, err
	}
	if fac.Available != nil {
		if err := fac.Available(); err != nil {
			return played{}, fac.Caps, i18n.Errorf("%s mode: %w", fac.Name, err)
		}
	}
	w, err := fac.New(lab, seed, sink, opt)
	if err != nil {
		return played{}, fac.Caps, i18n.Errorf("lab %s: %w", lab.Name, err)
	}
	defer w.Close()
	if err := w.Build(ctx); err != nil {
		if ctx.Err() == nil {
			return played{}, fac.Caps, i18n.Errorf("lab %s: %w", lab.Name, err)
		}
		return played{interrupted: true}, fac.Caps, nil // nothing ran: an empty history
	}
	for _, step := range faultPlan(lab, seed) {
		f := step.f
		w.At(step.at, func() error {
			if err := w.Apply(f); err != nil {
				return i18n.Errorf("fault %s: %w", f.Name, err)
			}
			return nil
		})
	}
	var p played
	p.reached, p.interrupted, err = w.Run(ctx, lab.RunDuration())
	if err != nil {
		_, _, _ = w.Finish(ctx) // end the roles before Close removes their folders
		return played{}, fac.Caps, err
	}
	if p.events, p.sent, err = w.Finish(ctx); err != nil {
		return played{}, fac.Caps, err
	}
	if err := w.Close(); err != nil {
		return played{}, fac.Caps, i18n.Errorf("lab %s: cleaning up: %w", lab.Name, err)
	}
	return p, fac.Caps, nil
}

// wallClock is the lab's clock on real hosts: the functions given to At,
// run in order at their time since Run began. Real worlds embed it.
type wallClock struct {
	steps []wallStep
	epoch time.Time
	// together runs the steps of one time at once, each in a goroutine
	// of its own, rather than one after the other: for a world whose
	// faults take long to apply (a container started) and are safe to
	// apply at once.
	together bool
}

type wallStep struct {
	at time.Duration
	fn func() error
}

// At schedules fn at t after the epoch (see World.At).
func (c *wallClock) At(t time.Duration, fn func() error) {
	c.steps = append(c.steps, wallStep{t, fn})
	sort.SliceStable(c.steps, func(i, j int) bool { return c.steps[i].at < c.steps[j].at })
}

// Since is the time on the lab's clock: since the epoch.
func (c *wallClock) Since() time.Duration { return time.Since(c.epoch) }

// start sets the clock's t = 0 to now.
func (c *wallClock) start() { c.epoch = time.Now() }

// runClock runs each step at its time since the epoch (start, or now if
// the clock has not started), then waits until end. It returns the time
// reached, whether ctx stopped it first, and the first error of a step
// (which stops it).
func (c *wallClock) runClock(ctx context.Context, end time.Duration) (time.Duration, bool, error) {
	if c.epoch.IsZero() {
		c.start()
	}
	for i := 0; i < len(c.steps); {
		s := c.steps[i]
		if s.at > end {
			break
		}
		if sleepUntil(ctx, c.epoch.Add(s.at)) != nil {
			return c.Since(), true, nil
		}
		n := 1
		if c.together {
			for i+n < len(c.steps) && c.steps[i+n].at == s.at {
				n++
			}
		}
		if err := runSteps(c.steps[i : i+n]); err != nil {
			return c.Since(), false, err
		}
		i += n
	}
	if sleepUntil(ctx, c.epoch.Add(end)) != nil {
		return c.Since(), true, nil
	}
	return end, false, nil
}

// runSteps runs steps, at once when there is more than one, and
// returns their errors, in the steps' order.
func runSteps(steps []wallStep) error {
	if len(steps) == 1 {
		return steps[0].fn()
	}
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Go(func() { errs[i] = s.fn() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sleepUntil waits until t, or until ctx is done (its error), on a
// thread of its own (sleepPrecisely), so that a fault starts at its time
// and not when a loaded machine gets round to the runtime's timers.
func sleepUntil(ctx context.Context, t time.Time) error {
	return sleepPrecisely(ctx, t)
}
