package balance

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Algorithm names accepted in Config.Algorithm.
const (
	// RoundRobin is nginx's default: smooth weighted round robin
	// (ngx_http_upstream_get_peer). Supports backup servers.
	RoundRobin = "round_robin"
	// LeastConn is nginx's `least_conn`: fewest conns/weight (compared by
	// cross-multiplication), ties broken by smooth weighted round robin among
	// the tied peers. Supports backup servers.
	LeastConn = "least_conn"
	// IPHash is nginx's `ip_hash`: the first three octets of an IPv4 client
	// address (all 16 bytes of IPv6), hash = 89, hash = (hash*113 + b) % 6271
	// per byte, then a pick by weight; rehashes on an unusable peer and falls
	// back to round robin after 20 rehashes. No backup servers.
	IPHash = "ip_hash"
	// Hash is nginx's `hash KEY`: ((crc32([REHASH] KEY) >> 16) & 0x7fff)
	// accumulated, picked by weight; rehashes like IPHash. No backup servers.
	Hash = "hash"
	// HashConsistent is nginx's `hash KEY consistent`: a ketama ring of 160
	// points per unit of weight per server. No backup servers.
	HashConsistent = "hash_consistent"
	// Random is nginx's `random`: a weighted random peer; each draw is
	// rnd.Uint64() % total weight in place of nginx's ngx_random() %
	// total_weight (so sequences cannot match a real nginx, only the
	// distribution). Up to 20 redraws, then round robin. No backup servers.
	Random = "random"
	// RandomTwo is nginx's `random two`: two distinct weighted random peers,
	// the one with fewer conns/weight wins (the second on a tie). No backup
	// servers.
	RandomTwo = "random_two"
	// RandomTwoLeastConn is nginx's `random two least_conn`, identical to
	// RandomTwo (least_conn is the only method nginx accepts there).
	RandomTwoLeastConn = "random_two_least_conn"
	// LeastTime is not in nginx open source. Each peer keeps an exponentially
	// weighted moving average of the response times passed to Attempt.Done
	// (alpha 0.3; the first sample sets it; rt <= 0 is not a sample). The
	// score is ewma*(conns+1)/weight, compared by cross-multiplication; a
	// peer without samples scores 0 so it is probed first. The lowest score
	// wins; ties are broken by smooth weighted round robin among the tied
	// peers, exactly as LeastConn breaks its ties. Supports backup servers.
	LeastTime = "least_time"
	// SourceHash ("sch") is a source-address consistent hash as offered by
	// Alibaba Cloud: exactly nginx's `hash $remote_addr consistent`, that is
	// HashConsistent with the key set to the client address in its text form
	// (netip.Addr.String, e.g. "192.0.2.7"). No backup servers.
	SourceHash = "sch"
)

// LeastTimeAlpha is the EWMA weight of a new response-time sample for
// LeastTime.
const LeastTimeAlpha = 0.3

// maxRehash is nginx's hard-coded 20 rehashes before falling back to round
// robin (ip_hash, hash, hash consistent, random).
const maxRehash = 20

// ErrNoPeer is returned by Attempt.Next when no peer can be picked: nginx's
// "no live upstreams" (NGX_BUSY from the get_peer function), answered 502.
var ErrNoPeer = errors.New("no live upstreams")

// ErrNoTries is returned by Attempt.Next when the attempt has used up its
// tries (nginx's pc->tries reached 0): nginx does not call the balancer
// again and answers with the last upstream error.
var ErrNoTries = errors.New("upstream tries exhausted")

// Server is one upstream server as configured (one `server` line of an
// nginx upstream block; one peer, as this package does not resolve names).
//
// The fields are taken literally: a zero Server has Weight 0 (never picked),
// MaxFails 0 (no failure accounting) and FailTimeout 0. Use NewServer or
// ParseServer to get nginx's defaults (weight=1 max_fails=1
// fail_timeout=10s).
type Server struct {
	// Name is the address as written in the config (e.g. "10.0.0.1:8080",
	// "backend1.example:80"); it is printed back as is and, for the
	// consistent hashes, hashed as is.
	Name string
	// Weight is nginx's weight=; nginx default 1 and nginx requires >= 1.
	// 0 is allowed here and means "no new traffic": never picked.
	Weight int
	// Backup marks a backup server, used only when no primary can be
	// picked. Only RoundRobin, LeastConn and LeastTime accept it, as in
	// nginx.
	Backup bool
	// Down marks the server permanently unavailable (nginx's down): never
	// picked.
	Down bool
	// MaxFails is nginx's max_fails= (nginx default 1, set by NewServer); 0
	// disables the failure accounting: the peer is never skipped for
	// failing.
	MaxFails int
	// FailTimeout is nginx's fail_timeout= (nginx default 10 s, set by
	// NewServer). nginx takes it in whole seconds; NewGroup rejects a value
	// that is not a whole number of seconds.
	FailTimeout time.Duration
	// MaxConns is nginx's max_conns=: the peer is skipped while it has this
	// many conns; 0 = no limit (the default).
	MaxConns int
}

// NewServer returns a Server named name with nginx's defaults: Weight 1,
// MaxFails 1, FailTimeout 10 s, MaxConns 0 (no limit), neither backup nor
// down.
func NewServer(name string) Server {
	return Server{Name: name, Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}
}

// Config is one upstream group: the balancing method and the servers in
// config order.
type Config struct {
	// Algorithm is one of the algorithm constants; "" means RoundRobin.
	Algorithm string
	// Servers in config order, primaries and backups interleaved as
	// written.
	Servers []Server
	// NextUpstreamTries is proxy_next_upstream_tries: it caps MaxTries;
	// 0 (nginx's default) = no cap.
	NextUpstreamTries int
}

type algo uint8

const (
	algRR algo = iota
	algLeastConn
	algIPHash
	algHash
	algHashConsistent
	algRandom
	algRandomTwo
	algLeastTime
	algSourceHash
)

var algoByName = map[string]algo{
	"":                 algRR,
	RoundRobin:         algRR,
	LeastConn:          algLeastConn,
	IPHash:             algIPHash,
	Hash:               algHash,
	HashConsistent:     algHashConsistent,
	Random:             algRandom,
	RandomTwo:          algRandomTwo,
	RandomTwoLeastConn: algRandomTwo,
	LeastTime:          algLeastTime,
	SourceHash:         algSourceHash,
}

func (a algo) backupAllowed() bool {
	return a == algRR || a == algLeastConn || a == algLeastTime
}

func (a algo) consistent() bool {
	return a == algHashConsistent || a == algSourceHash
}

// farPast is the initial accessed/checked second: nginx zeroes them, which
// is far in the past of ngx_time().
const farPast = -1 << 40

// Peer is one server with nginx's per-peer state
// (ngx_http_upstream_rr_peer_t). Callers read it; only the Group changes it
// (except SetHealthy).
type Peer struct {
	srv   Server
	index int // position in its peer set (primary or backup)

	weight          int
	effectiveWeight int
	currentWeight   int

	conns    int
	maxConns int

	fails       int
	accessed    int64 // second of the last failure
	checked     int64 // second of the last failure or probe
	maxFails    int
	failTimeout int64 // seconds

	down      bool
	unhealthy bool

	name int32 // distinct-name id (consistent hashes)

	ewma    float64 // least_time, nanoseconds
	samples int64
}

// Server returns the server as configured.
func (p *Peer) Server() Server { return p.srv }

// Name returns the server's name as configured.
func (p *Peer) Name() string { return p.srv.Name }

// Backup reports whether the peer is a backup server.
func (p *Peer) Backup() bool { return p.srv.Backup }

// Weight returns the configured weight.
func (p *Peer) Weight() int { return p.weight }

// Conns returns the number of picks not yet ended by Done (nginx's conns).
func (p *Peer) Conns() int { return p.conns }

// Fails returns nginx's fails counter: failures since the peer was last
// marked live.
func (p *Peer) Fails() int { return p.fails }

// EffectiveWeight returns nginx's effective_weight: the weight lowered by
// weight/max_fails on each failure and raised by 1 each time the peer takes
// part in a smooth round robin pick, up to Weight.
func (p *Peer) EffectiveWeight() int { return p.effectiveWeight }

// CurrentWeight returns nginx's current_weight of smooth weighted round
// robin.
func (p *Peer) CurrentWeight() int { return p.currentWeight }

// ResponseTime returns the least_time moving average of response times (0
// until the first sample).
func (p *Peer) ResponseTime() time.Duration { return time.Duration(p.ewma) }

// Healthy reports the active health check state (default true).
func (p *Peer) Healthy() bool { return !p.unhealthy }

// SetHealthy lets an active health checker mark the peer up or down. An
// unhealthy peer is skipped wherever nginx skips a `down` peer; it keeps its
// place in the weights and hash rings, as a `down` peer does, but unlike a
// configured `down` server it still counts in MaxTries.
func (p *Peer) SetHealthy(ok bool) { p.unhealthy = !ok }

// Usable reports whether the peer could be picked at now, ignoring the tried
// set of any attempt: not down, healthy, weight > 0, not failed within
// fail_timeout (fails >= max_fails and now-checked <= fail_timeout, in whole
// seconds) and below max_conns. (In a group of a single server nginx never
// counts failures, so there the failure part never applies.)
func (p *Peer) Usable(now time.Duration) bool { return p.usable(seconds(now)) }

func (p *Peer) usable(now int64) bool {
	if p.down || p.unhealthy || p.weight == 0 {
		return false
	}
	if p.maxFails != 0 && p.fails >= p.maxFails && now-p.checked <= p.failTimeout {
		return false
	}
	if p.maxConns != 0 && p.conns >= p.maxConns {
		return false
	}
	return true
}

// up is the part of usable that nginx checks for a single-peer group
// (ngx_http_upstream_get_round_robin_peer: down and max_conns only).
func (p *Peer) upSingle() bool {
	return !p.down && !p.unhealthy && p.weight != 0 &&
		(p.maxConns == 0 || p.conns < p.maxConns)
}

func seconds(now time.Duration) int64 { return int64(now / time.Second) }

// peerSet is ngx_http_upstream_rr_peers_t: the primaries or the backups.
type peerSet struct {
	peers       []*Peer
	totalWeight int  // sum of weights, down peers included
	tries       int  // peers neither down nor weight 0
	single      bool // one primary and no backup
	ranges      []int
}

// Group is the selection state of one upstream group: the peers with nginx's
// per-peer state and the round robin state of the primaries and the
// backups. It is not safe for concurrent use.
type Group struct {
	alg      algo
	algName  string
	primary  peerSet
	backup   *peerSet
	peers    []*Peer
	maxTries int
	words    int

	points  []chashPoint
	members [][]*Peer // primaries by distinct name (consistent hashes)

	rnd *rand.Rand // used when Next gets a nil *rand.Rand
}

// NewGroup builds a group from c, as ngx_http_upstream_init_round_robin
// (and ngx_http_upstream_init_chash for the consistent hashes) does. Errors
// name the bad server and field.
func NewGroup(c Config) (*Group, error) {
	alg, ok := algoByName[c.Algorithm]
	if !ok {
		return nil, fmt.Errorf("balance: unknown algorithm %q", c.Algorithm)
	}
	if c.NextUpstreamTries < 0 {
		return nil, fmt.Errorf("balance: NextUpstreamTries %d < 0", c.NextUpstreamTries)
	}
	g := &Group{alg: alg, algName: c.Algorithm, rnd: rand.New(rand.NewPCG(0x6e67696e78, 1))}
	if g.algName == "" {
		g.algName = RoundRobin
	}
	var prim, back []*Peer
	for i, s := range c.Servers {
		where := fmt.Sprintf("balance: server %d (%q)", i, s.Name)
		switch {
		case s.Name == "":
			return nil, fmt.Errorf("%s: empty Name", where)
		case s.Weight < 0:
			return nil, fmt.Errorf("%s: Weight %d < 0", where, s.Weight)
		case s.MaxFails < 0:
			return nil, fmt.Errorf("%s: MaxFails %d < 0", where, s.MaxFails)
		case s.MaxConns < 0:
			return nil, fmt.Errorf("%s: MaxConns %d < 0", where, s.MaxConns)
		case s.FailTimeout < 0:
			return nil, fmt.Errorf("%s: FailTimeout %v < 0", where, s.FailTimeout)
		case s.FailTimeout%time.Second != 0:
			return nil, fmt.Errorf("%s: FailTimeout %v is not whole seconds (nginx's fail_timeout is in seconds)", where, s.FailTimeout)
		case s.Backup && !alg.backupAllowed():
			return nil, fmt.Errorf("%s: Backup: balancing method %s does not support parameter \"backup\"", where, g.algName)
		}
		p := &Peer{
			srv:             s,
			weight:          s.Weight,
			effectiveWeight: s.Weight,
			maxConns:        s.MaxConns,
			maxFails:        s.MaxFails,
			failTimeout:     int64(s.FailTimeout / time.Second),
			accessed:        farPast,
			checked:         farPast,
			down:            s.Down,
		}
		if s.Backup {
			p.index = len(back)
			back = append(back, p)
		} else {
			p.index = len(prim)
			prim = append(prim, p)
		}
	}
	if len(prim) == 0 {
		return nil, errors.New("balance: no servers in upstream (no primary server)")
	}
	g.primary = newPeerSet(prim)
	n := len(prim)
	if len(back) > 0 {
		b := newPeerSet(back)
		g.backup = &b
		g.primary.single = false
		n = max(n, len(back))
	}
	g.words = (n + 63) / 64
	g.peers = append(append(make([]*Peer, 0, len(prim)+len(back)), prim...), back...)
	g.maxTries = g.primary.tries
	if g.backup != nil {
		g.maxTries += g.backup.tries
	}
	if c.NextUpstreamTries > 0 && g.maxTries > c.NextUpstreamTries {
		g.maxTries = c.NextUpstreamTries
	}
	if alg.consistent() {
		g.buildRing()
	}
	return g, nil
}

func newPeerSet(peers []*Peer) peerSet {
	s := peerSet{peers: peers, single: len(peers) == 1, ranges: make([]int, len(peers))}
	for i, p := range peers {
		s.ranges[i] = s.totalWeight
		s.totalWeight += p.weight
		if !p.down && p.weight != 0 {
			s.tries++
		}
	}
	return s
}

// Algorithm returns the algorithm name (RoundRobin for "").
func (g *Group) Algorithm() string { return g.algName }

// Peers returns the peers: primaries then backups, each in config order.
// The slice is the group's own; do not modify it.
func (g *Group) Peers() []*Peer { return g.peers }

// MaxTries returns the number of tries nginx allows a request (pc->tries as
// set by ngx_http_upstream_init_round_robin_peer): the primaries plus the
// backups that are neither down nor weight 0, capped by NextUpstreamTries.
func (g *Group) MaxTries() int { return g.maxTries }

// Request is what selection may look at.
type Request struct {
	// Key is the hash key's value for Hash and HashConsistent (e.g. the URI
	// or a cookie), already evaluated. An empty key makes nginx fall back to
	// round robin.
	Key string
	// Client is the client address for IPHash and SourceHash.
	Client netip.Addr
}

// Attempt is one request's walk through the group: which peers it tried
// (nginx's tried bitmap), how many tries remain and the hashing state. Get
// one with Group.Start and reuse it for later requests with Reset; Next and
// Done do not allocate.
type Attempt struct {
	g         *Group
	set       *peerSet
	tried     []uint64
	remaining int
	made      int
	cur       *Peer
	out       bool

	key    string
	hasKey bool
	addr   [16]byte
	alen   int

	tries  int    // iphp->tries, hp->tries, rp->tries
	rehash uint64 // hp->rehash
	hash   uint32 // iphp->hash, hp->hash (a point index for the rings)
}

// Start begins the walk of one request through g
// (ngx_http_upstream_init_round_robin_peer and the init_peer function of
// the algorithm). It allocates the Attempt; reuse it with Reset.
func (g *Group) Start(r Request) *Attempt {
	a := &Attempt{g: g, tried: make([]uint64, g.words)}
	a.Reset(r)
	return a
}

var pseudoAddr = [3]byte{}

// Reset makes a a fresh attempt for a new request r on the same group,
// reusing its memory. The previous pick, if any, must have been ended with
// Done.
func (a *Attempt) Reset(r Request) {
	g := a.g
	a.set = &g.primary
	clear(a.tried)
	a.remaining = g.maxTries
	a.made = 0
	a.cur = nil
	a.out = false
	a.tries = 0
	a.rehash = 0
	a.hash = 0
	a.key = r.Key
	a.hasKey = r.Key != ""
	switch g.alg {
	case algIPHash:
		a.hash = 89
		switch {
		case r.Client.Is4():
			b := r.Client.As4()
			copy(a.addr[:], b[:3])
			a.alen = 3
		case r.Client.Is6():
			b := r.Client.As16()
			a.addr = b
			a.alen = 16
		default:
			copy(a.addr[:], pseudoAddr[:])
			a.alen = 3
		}
	case algHashConsistent:
		a.hash = g.findPoint(crcFinal(crcString(crcInit, r.Key)))
	case algSourceHash:
		var buf [64]byte
		b := r.Client.AppendTo(buf[:0])
		a.hasKey = len(b) > 0
		a.hash = g.findPoint(crcFinal(crcBytes(crcInit, b)))
	}
}

// Group returns the group a walks through.
func (a *Attempt) Group() *Group { return a.g }

// Tries returns the number of peers picked so far by this attempt.
func (a *Attempt) Tries() int { return a.made }

// MaxTries returns the number of tries nginx allows this request (see
// Group.MaxTries).
func (a *Attempt) MaxTries() int { return a.g.maxTries }

// Remaining returns the tries left (nginx's pc->tries): MaxTries less one
// per Done, and 0 after the first Done in a group of a single server.
func (a *Attempt) Remaining() int { return a.remaining }

// Current returns the peer picked last by Next (nil before the first pick).
func (a *Attempt) Current() *Peer { return a.cur }

func (a *Attempt) isTried(i int) bool { return a.tried[i>>6]&(1<<(uint(i)&63)) != 0 }
func (a *Attempt) setTried(i int)     { a.tried[i>>6] |= 1 << (uint(i) & 63) }

// Next picks the next peer for the attempt, as the algorithm's nginx
// get_peer function does: it skips down, unhealthy, weight-0, already
// tried, max_conns-full and failed-within-fail_timeout peers, uses the
// backups only when no primary can be picked, and increments the peer's
// conns. It returns ErrNoPeer when nothing can be picked and ErrNoTries
// when the attempt has no tries left. now is the time since the start of
// the run (truncated to seconds for the failure accounting); rnd is used by
// Random and RandomTwo only (nil uses a fixed-seed source of the group).
// Each pick must be ended with Done before the next call.
func (a *Attempt) Next(now time.Duration, rnd *rand.Rand) (*Peer, error) {
	if a.made > 0 && a.remaining == 0 {
		return nil, ErrNoTries
	}
	sec := seconds(now)
	var p *Peer
	switch a.g.alg {
	case algRR:
		p = a.getRR(sec)
	case algLeastConn:
		p = a.getLeast(sec, false)
	case algLeastTime:
		p = a.getLeast(sec, true)
	case algIPHash:
		p = a.getIPHash(sec)
	case algHash:
		p = a.getHash(sec)
	case algHashConsistent, algSourceHash:
		p = a.getCHash(sec)
	case algRandom:
		if rnd == nil {
			rnd = a.g.rnd
		}
		p = a.getRandom(sec, rnd)
	case algRandomTwo:
		if rnd == nil {
			rnd = a.g.rnd
		}
		p = a.getRandom2(sec, rnd)
	}
	if p == nil {
		return nil, ErrNoPeer
	}
	a.cur = p
	a.out = true
	a.made++
	return p, nil
}

// Refund gives back the try just ended with Done, as nginx does when a
// try on a cached keep-alive connection failed with an error
// (ngx_http_upstream_next: "if (u->peer.cached && ft_type ==
// NGX_HTTP_UPSTREAM_FT_ERROR) u->peer.tries++"): one more Next is
// allowed, even in a group of a single server. The tried bitmap is kept,
// so the next pick is another peer (the same one in a group of a single
// server, where nginx keeps none).
func (a *Attempt) Refund() {
	if !a.out && a.made > 0 {
		a.remaining++
	}
}

// Done ends the try of p, the peer returned by the last Next
// (ngx_http_upstream_free_round_robin_peer): it decrements conns; failed
// applies the failure accounting (fails++, accessed = checked = now,
// effective_weight -= weight/max_fails, floor 0); !failed marks the peer
// live again (fails = 0) if accessed < checked, i.e. if it was picked as a
// probe after its fail_timeout. In a group of a single server nginx does no
// failure accounting and allows no further try. rt is a response-time
// sample for LeastTime (rt <= 0: none; ignored by the other algorithms).
// Calling Done for any other peer, or twice, does nothing.
func (a *Attempt) Done(now time.Duration, p *Peer, failed bool, rt time.Duration) {
	if p == nil || !a.out || p != a.cur {
		return
	}
	a.out = false
	if a.g.alg == algLeastTime && rt > 0 {
		if p.samples == 0 {
			p.ewma = float64(rt)
		} else {
			p.ewma = LeastTimeAlpha*float64(rt) + (1-LeastTimeAlpha)*p.ewma
		}
		p.samples++
	}
	if a.set.single {
		p.conns--
		a.remaining = 0
		return
	}
	if failed {
		sec := seconds(now)
		p.fails++
		p.accessed = sec
		p.checked = sec
		if p.maxFails != 0 {
			p.effectiveWeight -= p.weight / p.maxFails
		}
		if p.effectiveWeight < 0 {
			p.effectiveWeight = 0
		}
	} else if p.accessed < p.checked {
		p.fails = 0
	}
	p.conns--
	if a.remaining > 0 {
		a.remaining--
	}
}
