package vrrpsim

import (
	"fmt"
	"time"
)

// scriptStatus is a track script's state as keepalived keeps it.
type scriptStatus int

const (
	// scriptInit: no result yet. A weighted script moves nothing; a
	// weight-0 script holds the instance in FAULT. The first result, either
	// way, decides at once.
	scriptInit scriptStatus = iota
	scriptOK
	scriptFailed
)

// TrackResult feeds one result of the vrrp_script name (ok: it exited 0).
// The first result decides the script's state at once; after that Fall
// failures in a row mark it failed and Rise successes in a row mark it OK
// (keepalived's counting). A change moves the effective priority
// (ActPriority) or, for a weight-0 script, moves the instance to or from
// FAULT. Unknown names are ignored.
func (r *Router) TrackResult(now time.Duration, name string, ok bool) []Action {
	r.out = r.out[:0]
	t := r.track(name)
	if t == nil {
		return r.out
	}
	if t.status == scriptInit {
		t.ok, t.status = ok, scriptFailed
		if ok {
			t.status = scriptOK
		}
		r.applyTracks(now, fmt.Sprintf("track script %s first result: %s", name, verdictOf(ok)))
		return r.out
	}
	if ok == t.ok {
		t.streak = 0
		return r.out
	}
	t.streak++
	need := t.Fall
	if ok {
		need = t.Rise
	}
	if t.streak < need {
		return r.out
	}
	t.ok, t.streak = ok, 0
	t.status = scriptFailed
	if ok {
		t.status = scriptOK
	}
	r.applyTracks(now, fmt.Sprintf("track script %s %s", name, verdictOf(ok)))
	return r.out
}

func verdictOf(ok bool) string {
	if ok {
		return "succeeded"
	}
	return "failed"
}

// applyTracks recomputes the effective priority and the FAULT state after a
// track script or a tracked link changed. In BACKUP a new priority moves the running down
// timer by the change of Master_Down_Interval, as keepalived does. A master
// going to FAULT sends two priority-0 adverts (keepalived's leave-master and
// restore-interface paths each send one) and removes its addresses.
func (r *Router) applyTracks(now time.Duration, reason string) {
	if prio := r.computePriority(); prio != r.effective {
		oldMDI := r.MasterDownInterval()
		r.effective = prio
		if r.state == StateBackup && r.armedDown {
			r.downAt += r.MasterDownInterval() - oldMDI
		}
		r.emit(Action{Kind: ActPriority, Priority: prio, Reason: reason})
	}
	switch faulted := r.faulted(); {
	case faulted && (r.state == StateBackup || r.state == StateMaster):
		if r.state == StateMaster {
			r.send(0)
			r.send(0)
			r.emit(Action{Kind: ActRemoveVIPs})
		}
		r.armedDown, r.armedAdver = false, false
		r.setState(StateFault, reason)
	case !faulted && r.state == StateFault:
		r.masterAdverInt = r.cfg.Interval
		r.setState(StateBackup, reason)
		r.armDown(now + r.MasterDownInterval())
	}
}

func (r *Router) track(name string) *trackState {
	for i := range r.tracks {
		if r.tracks[i].Name == name {
			return &r.tracks[i]
		}
	}
	return nil
}

func (r *Router) resetTracks() {
	r.tracks = r.tracks[:0]
	for _, t := range r.cfg.Tracks {
		ts := trackState{Track: t}
		if t.InitFail {
			ts.status = scriptFailed
		}
		r.tracks = append(r.tracks, ts)
	}
}

// faulted reports whether a weight-0 script is failing or has no result
// yet, or a weight-0 tracked link is down.
func (r *Router) faulted() bool { return r.faultCause() != "" }

// faultCause names what holds the instance in FAULT, or is "".
func (r *Router) faultCause() string {
	for _, l := range r.links {
		if l.Weight == 0 && !l.up {
			return "interface " + l.Name + " down"
		}
	}
	for _, t := range r.tracks {
		if t.Weight == 0 && t.status != scriptOK {
			return "track script " + t.Name + " failed"
		}
	}
	return ""
}

// linkState is a tracked interface and whether its link is up.
type linkState struct {
	TrackInterface
	up bool
}

// LinkChange tells the instance that the link of interface name went up
// or down, as keepalived learns it from netlink. A tracked link (Config's
// Interface, and TrackInterfaces) moves the instance as a track script
// does: a weight-0 link going down puts it in FAULT (a master sends its
// priority-0 adverts, lost on a dead link, and removes its addresses), and
// its return puts it in BACKUP with a fresh Master_Down_Timer; a weighted
// link moves the priority. Before Startup, or after Shutdown, the state is
// only recorded, and Startup starts in FAULT if it must. Links not
// tracked, and repeats of the current state, are ignored.
func (r *Router) LinkChange(now time.Duration, name string, up bool) []Action {
	r.out = r.out[:0]
	changed := false
	for i := range r.links {
		if r.links[i].Name == name && r.links[i].up != up {
			r.links[i].up = up
			changed = true
		}
	}
	if !changed || r.state == StateInit || r.state == StateStop {
		return r.out
	}
	verdict := "down"
	if up {
		verdict = "up"
	}
	r.applyTracks(now, "interface "+name+" "+verdict)
	return r.out
}

// computePriority is the base priority plus positive weights of scripts
// that succeed and links that are up, and negative weights of scripts that
// fail and links that are down, clamped to 1..254. The owner (255) never moves.
func (r *Router) computePriority() uint8 {
	if r.cfg.Priority == 255 {
		return 255
	}
	p := int(r.cfg.Priority)
	for _, t := range r.tracks {
		if (t.Weight > 0 && t.status == scriptOK) || (t.Weight < 0 && t.status == scriptFailed) {
			p += t.Weight
		}
	}
	for _, l := range r.links {
		if (l.Weight > 0 && l.up) || (l.Weight < 0 && !l.up) {
			p += l.Weight
		}
	}
	return uint8(min(max(p, 1), 254))
}
