package balance

import "time"

// Take makes p the attempt's pick, as if Next had chosen it, when p is
// usable now, belongs to the peers the attempt is walking (the primaries,
// or the backups once it fell back to them) and was not tried yet: session
// persistence pins a request to its server this way. It marks p tried and
// counts the connection, like Next; end the try with Done. It returns
// false and changes nothing otherwise, and the caller then calls Next.
func (a *Attempt) Take(now time.Duration, p *Peer) bool {
	if p == nil || a.out || (a.made > 0 && a.remaining == 0) {
		return false
	}
	set := a.set
	if p.index >= len(set.peers) || set.peers[p.index] != p {
		return false
	}
	sec := seconds(now)
	if set.single {
		if !p.upSingle() {
			return false
		}
		p.conns++
	} else {
		if !p.usable(sec) || a.isTried(p.index) {
			return false
		}
		a.picked(p, sec)
	}
	a.cur, a.out = p, true
	a.made++
	return true
}
