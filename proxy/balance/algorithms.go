package balance

import (
	"math/rand/v2"
	"strconv"
)

// picked does what every nginx get_peer function does to its winner after
// choosing it (outside the smooth round robin, which does it itself).
func (a *Attempt) picked(p *Peer, now int64) *Peer {
	p.conns++
	if now-p.checked > p.failTimeout {
		p.checked = now
	}
	a.setTried(p.index)
	return p
}

// getRR is ngx_http_upstream_get_round_robin_peer.
func (a *Attempt) getRR(now int64) *Peer {
	set := a.set
	if set.single {
		// nginx checks only down and max_conns here, sets no tried bit
		// and does not update checked.
		if p := set.peers[0]; p.upSingle() {
			p.conns++
			return p
		}
	} else if p := a.getPeer(now); p != nil {
		p.conns++
		return p
	}
	// failed:
	if set == &a.g.primary && a.g.backup != nil {
		a.set = a.g.backup
		clear(a.tried)
		return a.getRR(now)
	}
	return nil
}

// getPeer is ngx_http_upstream_get_peer: smooth weighted round robin.
func (a *Attempt) getPeer(now int64) *Peer {
	var best *Peer
	total := 0
	for i, p := range a.set.peers {
		if a.isTried(i) || !p.usable(now) {
			continue
		}
		p.currentWeight += p.effectiveWeight
		total += p.effectiveWeight
		if p.effectiveWeight < p.weight {
			p.effectiveWeight++
		}
		if best == nil || p.currentWeight > best.currentWeight {
			best = p
		}
	}
	if best == nil {
		return nil
	}
	a.setTried(best.index)
	best.currentWeight -= total
	if now-best.checked > best.failTimeout {
		best.checked = now
	}
	return best
}

// less reports whether p is strictly better than best: fewer conns per
// weight (least_conn) or a lower ewma*(conns+1)/weight (least_time),
// compared by cross-multiplication.
func less(p, best *Peer, lt bool) bool {
	if lt {
		return p.ewma*float64(p.conns+1)*float64(best.weight) <
			best.ewma*float64(best.conns+1)*float64(p.weight)
	}
	return p.conns*best.weight < best.conns*p.weight
}

func same(p, best *Peer, lt bool) bool {
	if lt {
		return p.ewma*float64(p.conns+1)*float64(best.weight) ==
			best.ewma*float64(best.conns+1)*float64(p.weight)
	}
	return p.conns*best.weight == best.conns*p.weight
}

// getLeast is ngx_http_upstream_get_least_conn_peer; with lt it compares
// least_time scores instead of conns/weight.
func (a *Attempt) getLeast(now int64, lt bool) *Peer {
	set := a.set
	if set.single {
		return a.getRR(now)
	}
	var best *Peer
	many := false
	for i, p := range set.peers {
		if a.isTried(i) || !p.usable(now) {
			continue
		}
		if best == nil || less(p, best, lt) {
			best = p
			many = false
		} else if same(p, best, lt) {
			many = true
		}
	}
	if best == nil {
		// failed:
		if set == &a.g.primary && a.g.backup != nil {
			a.set = a.g.backup
			clear(a.tried)
			return a.getLeast(now, lt)
		}
		return nil
	}
	total := 0
	if many {
		for _, p := range set.peers[best.index:] {
			// nginx compares with best as it changes during this loop;
			// equal scores are an equivalence, so this is the tie set.
			if a.isTried(p.index) || !same(p, best, lt) || !p.usable(now) {
				continue
			}
			p.currentWeight += p.effectiveWeight
			total += p.effectiveWeight
			if p.effectiveWeight < p.weight {
				p.effectiveWeight++
			}
			if p.currentWeight > best.currentWeight {
				best = p
			}
		}
	}
	best.currentWeight -= total
	return a.picked(best, now)
}

// weighted maps w in [0, total weight) to the peer index as nginx's ip_hash
// and hash do: while (w >= peer->weight) { w -= peer->weight; p++ }.
func weighted(peers []*Peer, w int) int {
	i := 0
	for w >= peers[i].weight {
		w -= peers[i].weight
		i++
	}
	return i
}

// getIPHash is ngx_http_upstream_get_ip_hash_peer.
func (a *Attempt) getIPHash(now int64) *Peer {
	set := a.set
	if a.tries > maxRehash || set.single || set.totalWeight == 0 {
		return a.getRR(now)
	}
	hash := a.hash
	var p *Peer
	for {
		for _, b := range a.addr[:a.alen] {
			hash = (hash*113 + uint32(b)) % 6271
		}
		p = set.peers[weighted(set.peers, int(hash%uint32(set.totalWeight)))]
		if !a.isTried(p.index) && p.usable(now) {
			break
		}
		a.tries++
		if a.tries > maxRehash {
			return a.getRR(now)
		}
	}
	a.hash = hash
	return a.picked(p, now)
}

// getHash is ngx_http_upstream_get_hash_peer.
func (a *Attempt) getHash(now int64) *Peer {
	set := a.set
	if a.tries > maxRehash || set.single || !a.hasKey || set.totalWeight == 0 {
		return a.getRR(now)
	}
	var p *Peer
	for {
		// ((crc32([REHASH] KEY) >> 16) & 0x7fff) + PREV_HASH, REHASH
		// omitted at the first iteration.
		crc := crcInit
		if a.rehash > 0 {
			var buf [20]byte
			crc = crcBytes(crc, strconv.AppendUint(buf[:0], a.rehash, 10))
		}
		crc = crcFinal(crcString(crc, a.key))
		a.hash += (crc >> 16) & 0x7fff
		a.rehash++
		p = set.peers[weighted(set.peers, int(a.hash%uint32(set.totalWeight)))]
		if !a.isTried(p.index) && p.usable(now) {
			break
		}
		a.tries++
		if a.tries > maxRehash {
			return a.getRR(now)
		}
	}
	return a.picked(p, now)
}

// getCHash is ngx_http_upstream_get_chash_peer.
func (a *Attempt) getCHash(now int64) *Peer {
	set := a.set
	g := a.g
	if a.tries > maxRehash || set.single || !a.hasKey || len(g.points) == 0 {
		return a.getRR(now)
	}
	var best *Peer
	for {
		name := g.points[a.hash%uint32(len(g.points))].name
		total := 0
		for _, p := range g.members[name] {
			if a.isTried(p.index) || !p.usable(now) {
				continue
			}
			p.currentWeight += p.effectiveWeight
			total += p.effectiveWeight
			if p.effectiveWeight < p.weight {
				p.effectiveWeight++
			}
			if best == nil || p.currentWeight > best.currentWeight {
				best = p
			}
		}
		if best != nil {
			best.currentWeight -= total
			break
		}
		a.hash++
		a.tries++
		if a.tries > maxRehash {
			return a.getRR(now)
		}
	}
	return a.picked(best, now)
}

// peek is ngx_http_upstream_peek_random_peer: x = random % total_weight,
// then the peer whose weight range holds x. rnd.Uint64 stands for
// ngx_random().
func (a *Attempt) peek(rnd *rand.Rand) *Peer {
	set := a.set
	x := int(rnd.Uint64() % uint64(set.totalWeight))
	i, j := 0, len(set.peers)
	for j-i > 1 {
		k := (i + j) / 2
		if x < set.ranges[k] {
			j = k
		} else {
			i = k
		}
	}
	return set.peers[i]
}

// getRandom is ngx_http_upstream_get_random_peer.
func (a *Attempt) getRandom(now int64, rnd *rand.Rand) *Peer {
	set := a.set
	if a.tries > maxRehash || set.single || set.totalWeight == 0 {
		return a.getRR(now)
	}
	var p *Peer
	for {
		p = a.peek(rnd)
		if !a.isTried(p.index) && p.usable(now) {
			break
		}
		a.tries++
		if a.tries > maxRehash {
			return a.getRR(now)
		}
	}
	return a.picked(p, now)
}

// getRandom2 is ngx_http_upstream_get_random2_peer.
func (a *Attempt) getRandom2(now int64, rnd *rand.Rand) *Peer {
	set := a.set
	if a.tries > maxRehash || set.single || set.totalWeight == 0 {
		return a.getRR(now)
	}
	var prev *Peer
	for {
		p := a.peek(rnd)
		if p != prev && !a.isTried(p.index) && p.usable(now) {
			if prev != nil {
				if p.conns*prev.weight > prev.conns*p.weight {
					p = prev
				}
				return a.picked(p, now)
			}
			prev = p
		}
		// nginx counts the first pick of the pair as a try too.
		a.tries++
		if a.tries > maxRehash {
			return a.getRR(now)
		}
	}
}
