package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/lblab/lblab/proxy"
)

// Reload replaces the configuration of a running server without dropping
// connections. The new groups and routes take every new connection and
// every new request (of keep-alive connections too); requests and tcp and
// udp sessions in flight finish on the old groups. Listeners whose
// protocol and port stay keep their sockets (no accept gap); removed ones
// close their sockets (their connections run to completion); new ones are
// bound. A configuration that does not validate is refused and the old
// one stays. Request counters carry over to the groups of the same name,
// and so does the state of the servers such a group keeps (by address):
// smooth round robin weights, max_fails accounting, active check state
// and phase, source persistence (flow.Group.Carry); new servers start up.
// Container discovery changes a group's servers through Reload.
func (s *Server) Reload(cfg *proxy.Config) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if !s.started || s.shutting.Load() {
		return errors.New("reload: server not running")
	}
	groups, rts, err := s.build(cfg)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	for name, g := range groups {
		if old := s.groups[name]; old != nil {
			g.stats = old.stats
			old.mu.Lock()
			g.fg.Carry(old.fg)
			old.mu.Unlock()
		}
	}
	old := map[string]*listener{}
	for _, l := range s.listeners {
		old[l.key] = l
	}
	var kept, added []*listener
	for _, rt := range rts {
		k := listenerKey(rt.cfg)
		if l := old[k]; l != nil {
			delete(old, k)
			l.rt.Store(rt)
			kept = append(kept, l)
			continue
		}
		l := &listener{proto: rt.cfg.Protocol, key: k}
		l.rt.Store(rt)
		added = append(added, l)
	}
	for _, l := range old {
		s.log.Info("reload: listener removed", "listener", l.rt.Load().name)
		l.close()
		if l.udp != nil {
			go l.udp.closeAll()
		}
	}
	var errs []error
	for _, l := range added {
		if err := s.bind(l); err != nil {
			errs = append(errs, fmt.Errorf("listener %s: %w", l.rt.Load().name, err))
			s.log.Error("reload: listener not bound", "listener", l.rt.Load().name, "err", err)
			continue
		}
		s.serve(l)
		kept = append(kept, l)
	}
	s.genStop()
	ctx, cancel := context.WithCancel(s.hcCtx)
	s.genStop = cancel
	s.startHealth(ctx, groups)
	s.cfg, s.groups, s.listeners = cfg, groups, kept
	s.log.Info("reloaded", "listeners", len(kept), "groups", len(groups))
	return errors.Join(errs...)
}
