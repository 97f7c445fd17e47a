package vrrplinux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Status is what GET /status answers (Options.Admin), as JSON.
type Status struct {
	// Router is the agent's name (Config.Name).
	Router string `json:"router"`
	// Instances are the VRRP instances in configuration order.
	Instances []InstanceStatus `json:"instances"`
}

// InstanceStatus is one instance in Status.
type InstanceStatus struct {
	// Name is the vrrp_instance name.
	Name string `json:"name"`
	// Interface is the interface it runs on.
	Interface string `json:"interface"`
	// VRID is the virtual router ID.
	VRID int `json:"vrid"`
	// State is INIT, BACKUP, MASTER, FAULT or STOP.
	State string `json:"state"`
	// Priority is the effective priority.
	Priority int `json:"priority"`
	// Stats are every counter since the agent started, by keepalived's
	// names where it has them (vrrpsim.Stat), zeros included, as
	// keepalived's JSON dump writes its "stats".
	Stats map[string]uint64 `json:"stats"`
	// Dropped is the sum of the drop counters.
	Dropped uint64 `json:"dropped"`
}

// status is the agent's Status; only the loop may call it.
func (a *agent) status() Status {
	st := Status{Router: a.cfg.Name, Instances: []InstanceStatus{}}
	for _, in := range a.insts {
		s := in.x.Router().Stats()
		st.Instances = append(st.Instances, InstanceStatus{
			Name: in.cfg.Name, Interface: in.cfg.Interface, VRID: int(in.cfg.VRID),
			State: in.x.Router().State().String(), Priority: int(in.x.Router().Priority()),
			Stats: s.Map(false), Dropped: s.Dropped(),
		})
	}
	return st
}

// adminHandler serves GET /status from the loop's answer; once the loop
// has ended it answers 503.
func (a *agent) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		reply := make(chan Status, 1)
		select {
		case a.statusReq <- reply:
		case <-a.done:
			http.Error(w, "the agent has stopped", http.StatusServiceUnavailable)
			return
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(<-reply) //nolint:errcheck // the client went away
	})
	return mux
}

// serveAdmin listens on addr and serves adminHandler until the returned
// stop is called.
func (a *agent) serveAdmin(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin address %s: %w", addr, err)
	}
	srv := &http.Server{Handler: a.adminHandler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logf("admin: %v", err)
		}
	}()
	a.logf("admin: serving /status on %v", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck // best effort at exit
		<-served
	}, nil
}

// recordStats writes a vrrp_stats event per nonzero counter.
func (in *instance) recordStats(now time.Duration) {
	for _, ev := range in.x.Router().Stats().Events(in.a.stamp(now), in.a.cfg.Name, in.cfg.Name, int(in.cfg.VRID), false) {
		in.a.record(ev)
	}
}
