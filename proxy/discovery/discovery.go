// Package discovery registers containers with the load balancer by their
// labels, as a cloud container service does: a container carrying
//
//	lblab.lb.port_<port>: <scheme>://<lb name>:<front port>
//
// (or the container service's own aliyun.lb.port_<port> with the same
// value) becomes a server <container address>:<port> of the load balancer
// named <lb name> for as long as it runs.
//
// It is the pure core: a State holds the containers the driver has seen
// (from the Docker Engine API's list and its events, or from the
// simulator's), and Servers maps them and a base configuration to the
// configuration the proxy applies, with a warning for every label it
// cannot use. It reads no clock and opens no socket; the real driver is
// proxy/discovery/dockerwatch, the simulated one proxy/simproxy.
//
// How <lb name> and <front port> pick a group: the listener on <front
// port> whose protocol is <scheme> must be named <lb name>, or route by
// default to the group named <lb name>; the server joins that listener's
// default group. A label naming no such listener, a bad scheme, port or
// weight is a warning naming the container, never an error: the other
// labels and containers still register.
package discovery

import (
	"cmp"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/units"
)

// Label keys and the bounds on hostile labels.
const (
	// PortPrefix is the key of a registration label, before the container
	// port.
	PortPrefix = "lblab.lb.port_"
	// AliyunPortPrefix is the container service's registration label,
	// accepted as written.
	AliyunPortPrefix = "aliyun.lb.port_"
	// WeightLabel is the optional weight of every server of the
	// container, 1..1000 digits as nginx's weight= (default 1).
	WeightLabel = "lblab.lb.weight"
	// MaxFailsLabel is the optional max_fails of every server of the
	// container, 0..1000 digits as nginx's max_fails= (0: no passive
	// accounting; default 1).
	MaxFailsLabel = "lblab.lb.max_fails"
	// MaxLabelBytes is the longest label value read; a longer one is a
	// warning.
	MaxLabelBytes = 256
	// MaxPortLabels is how many registration labels of one container are
	// read (in key order); more are a warning.
	MaxPortLabels = 16
	// MaxContainers is how many containers a State holds; more are
	// ignored, with a warning.
	MaxContainers = 4096
	// MaxWarnings is how many warnings Servers returns; the last says how
	// many more there were.
	MaxWarnings = 100
)

// Deregister values (proxy.Group.Deregister).
const (
	// OnDie removes a container's servers on its die or stop event (the
	// default).
	OnDie = "die"
	// OnDestroy removes them only when the container is removed: a dead
	// container's servers stay until health checks take them out.
	OnDestroy = "destroy"
)

// Container is what discovery knows of one container.
type Container struct {
	// ID is the container's id. Required: containers are told apart by it.
	ID string
	// Name is the container's name, as warnings and /status show it.
	Name string
	// Addr is the container's IP address on the load balancer's network;
	// invalid: it has none (a warning if it registers).
	Addr netip.Addr
	// Host, when set, is a host name the servers are addressed by instead
	// of Addr (the simulator's containers: web-1:80).
	Host string
	// Labels are the container's labels.
	Labels map[string]string
	// Running is false once the container died or stopped.
	Running bool
}

// Event actions of the Docker Engine API that change registration.
const (
	ActionStart   = "start"
	ActionDie     = "die"
	ActionStop    = "stop"
	ActionDestroy = "destroy"
)

// Event is a container event: Action is one of the Action constants
// (others are ignored); Container is the container as inspected (for
// start) or as known (its ID is enough for the others).
type Event struct {
	Action    string
	Container Container
}

// State is the containers seen so far, by id.
type State struct {
	cs      map[string]Container
	dropped int // containers ignored past MaxContainers
}

// NewState returns an empty state.
func NewState() *State { return &State{cs: map[string]Container{}} }

// Reset replaces the state by a full list (the Engine API's container
// list): the containers not in it are gone.
func (s *State) Reset(list []Container) {
	s.cs, s.dropped = map[string]Container{}, 0
	for _, c := range list {
		s.put(c)
	}
}

func (s *State) put(c Container) {
	if _, ok := s.cs[c.ID]; !ok && len(s.cs) >= MaxContainers {
		s.dropped++
		return
	}
	s.cs[c.ID] = c
}

// Apply takes one event and reports whether the servers may have changed.
func (s *State) Apply(e Event) bool {
	c := e.Container
	switch e.Action {
	case ActionStart:
		c.Running = true
		s.put(c)
		return true
	case ActionDie, ActionStop:
		old, ok := s.cs[c.ID]
		if !ok || !old.Running {
			return false
		}
		old.Running = false
		s.cs[c.ID] = old
		return true
	case ActionDestroy:
		_, ok := s.cs[c.ID]
		delete(s.cs, c.ID)
		return ok
	}
	return false
}

// Containers returns the containers in name order (then id).
func (s *State) Containers() []Container {
	out := slices.Collect(maps.Values(s.cs))
	slices.SortFunc(out, func(a, b Container) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out
}

// Warning is a label that registers nothing, and why.
type Warning struct {
	// Container is the container's name (cut to units.QuoteMax bytes).
	Container string
	// Text says what is wrong.
	Text i18n.Text
}

// String says the warning in English.
func (w Warning) String() string { return "container " + w.Container + ": " + w.Text.String() }

// Source is proxy.Server.Source of a server registered by container c:
// docker:NAME/ID (the id's first 12 characters).
func Source(c Container) string {
	id := clean(c.ID)
	if len(id) > 12 {
		id = id[:12]
	}
	return "docker:" + units.CutN(clean(c.Name), units.QuoteMax) + "/" + id
}

// Registration is one server a container's labels ask for.
type Registration struct {
	// Group is the group it joins.
	Group string
	// Server is the server, Source set.
	Server proxy.Server
}

// Servers returns base with the servers of the running containers of s
// added to their groups (after the configured ones, in container name
// order, then label key order), and a warning for every label that adds
// nothing. base is not changed; a server already in its group (by
// address) is not added twice. A group with Deregister destroy keeps the
// servers of dead containers not yet removed.
func Servers(base *proxy.Config, s *State) (*proxy.Config, []Warning) {
	cfg := *base
	cfg.Groups = slices.Clone(base.Groups)
	idx := map[string]int{}
	have := map[string]map[string]bool{}
	for i := range cfg.Groups {
		g := &cfg.Groups[i]
		g.Servers = slices.Clone(g.Servers)
		idx[g.Name] = i
		have[g.Name] = map[string]bool{}
		for _, sv := range g.Servers {
			have[g.Name][sv.Address] = true
		}
	}
	var warns []Warning
	warn := func(c Container, t i18n.Text) {
		warns = append(warns, Warning{Container: units.CutN(clean(c.Name), units.QuoteMax), Text: t})
	}
	if s.dropped > 0 {
		warns = append(warns, Warning{Container: "-", Text: i18n.T("%d containers ignored: discovery holds at most %d", s.dropped, MaxContainers)})
	}
	for _, c := range s.Containers() {
		regs, ws := Labels(base, c)
		for _, w := range ws {
			warn(c, w)
		}
		for _, r := range regs {
			i := idx[r.Group]
			if !c.Running && cfg.Groups[i].Deregister != OnDestroy {
				continue
			}
			if have[r.Group][r.Server.Address] {
				warn(c, i18n.T("server %s is already in group %s: not added twice", r.Server.Address, r.Group))
				continue
			}
			have[r.Group][r.Server.Address] = true
			cfg.Groups[i].Servers = append(cfg.Groups[i].Servers, r.Server)
		}
	}
	if len(warns) > MaxWarnings {
		n := len(warns) - MaxWarnings + 1
		warns = append(warns[:MaxWarnings-1], Warning{Container: "-", Text: i18n.T("%d more warnings", n)})
	}
	return &cfg, warns
}

// Labels returns the servers container c's labels register with the load
// balancer base, and a warning for each label that registers nothing.
func Labels(base *proxy.Config, c Container) ([]Registration, []i18n.Text) {
	var keys []string
	for k := range c.Labels {
		if strings.HasPrefix(k, PortPrefix) || strings.HasPrefix(k, AliyunPortPrefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	slices.Sort(keys)
	var warns []i18n.Text
	if len(keys) > MaxPortLabels {
		warns = append(warns, i18n.T("%d registration labels, only the first %d read", len(keys), MaxPortLabels))
		keys = keys[:MaxPortLabels]
	}
	weight := 1
	if w, ok := c.Labels[WeightLabel]; ok {
		n, err := parseWeight(w)
		if err != nil {
			return nil, append(warns, i18n.T("label %s: %s: its servers are not registered", WeightLabel, err))
		}
		weight = n
	}
	var maxFails *int
	if m, ok := c.Labels[MaxFailsLabel]; ok {
		n, err := parseCount(m, 0)
		if err != nil {
			return nil, append(warns, i18n.T("label %s: %s: its servers are not registered", MaxFailsLabel, err))
		}
		maxFails = &n
	}
	host := c.Host
	if host == "" && c.Addr.IsValid() {
		host = c.Addr.String()
	}
	if host == "" {
		return nil, append(warns, i18n.T("no IP address on the load balancer's network: its labels register nothing"))
	}
	var regs []Registration
	for _, k := range keys {
		v := c.Labels[k]
		port := strings.TrimPrefix(strings.TrimPrefix(k, PortPrefix), AliyunPortPrefix)
		cp, err := parsePort(port)
		if err != nil {
			warns = append(warns, i18n.T("label %s: container port: %s", units.Quote(k), err))
			continue
		}
		group, why := target(base, v)
		if !why.IsZero() {
			warns = append(warns, i18n.T("label %s: %s", units.Quote(k), why))
			continue
		}
		w := weight
		regs = append(regs, Registration{Group: group, Server: proxy.Server{
			Address: net.JoinHostPort(host, strconv.Itoa(cp)), Weight: &w, MaxFails: maxFails, Source: Source(c)}})
	}
	return regs, warns
}

// target maps a label value <scheme>://<lb name>:<front port> to the
// default group of the listener it names.
func target(base *proxy.Config, v string) (string, i18n.Text) {
	if len(v) > MaxLabelBytes {
		return "", i18n.T("value of %d bytes, more than %d", len(v), MaxLabelBytes)
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return "", i18n.T("value %s has control characters or is not UTF-8", units.Quote(v))
	}
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok {
		return "", i18n.T("want <scheme>://<lb name>:<front port>, got %s", units.Quote(v))
	}
	switch scheme {
	case proxy.ProtoHTTP, proxy.ProtoHTTPS, proxy.ProtoTCP, proxy.ProtoUDP:
	default:
		return "", i18n.T("scheme %s: want http, https, tcp or udp", units.Quote(scheme))
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return "", i18n.T("want <scheme>://<lb name>:<front port>, got %s", units.Quote(v))
	}
	lb, fp := rest[:i], rest[i+1:]
	front, err := parsePort(fp)
	if err != nil {
		return "", i18n.T("front port: %s", err)
	}
	for _, l := range base.Listeners {
		proto := cmp.Or(l.Protocol, proxy.ProtoHTTP)
		if l.Port == front && proto == scheme && (l.Name == lb || l.Group == lb) {
			return l.Group, i18n.Text{}
		}
	}
	return "", i18n.T("no %s listener on port %d named %s or routing to a group %s: unknown load balancer",
		scheme, front, units.Quote(lb), units.Quote(lb))
}

// parsePort reads a port 1..65535 written in digits.
func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, i18n.Errorf("want a port 1..65535, got %s", units.Quote(s))
	}
	n, _ := strconv.Atoi(s)
	if n < 1 || n > 65535 {
		return 0, i18n.Errorf("want a port 1..65535, got %s", units.Quote(s))
	}
	return n, nil
}

// parseWeight reads a weight as nginx reads weight=N (digits only, not 0),
// up to the 1000 a configuration allows.
func parseWeight(s string) (int, error) { return parseCount(s, 1) }

// parseCount reads a number low..1000 written in digits, as nginx reads
// weight= and max_fails=.
func parseCount(s string, low int) (int, error) {
	if s == "" || len(s) > 4 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, i18n.Errorf("want a number %d..1000, got %s", low, units.Quote(s))
	}
	n, _ := strconv.Atoi(s)
	if n < low || n > 1000 {
		return 0, i18n.Errorf("want a number %d..1000, got %s", low, units.Quote(s))
	}
	return n, nil
}

// clean replaces control characters, so that a name can be logged.
func clean(s string) string {
	if len(s) > MaxLabelBytes {
		s = s[:MaxLabelBytes]
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
}
