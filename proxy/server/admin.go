package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lblab/lblab/proxy"
)

// startSide starts the redirect and admin listeners. Called with s.rmu
// held.
func (s *Server) startSide() error {
	type side struct {
		name, addr string
		h          http.Handler
	}
	var sides []side
	if s.opt.RedirectHTTP != "" {
		port := ""
		for _, l := range s.listeners {
			if l.proto == proxy.ProtoHTTPS {
				port = strconv.Itoa(l.rt.Load().cfg.Port)
				if s.opt.Listen != nil && l.ln != nil { // tests: the bound port
					_, port, _ = net.SplitHostPort(l.ln.Addr().String())
				}
				break
			}
		}
		sides = append(sides, side{"redirect", s.opt.RedirectHTTP, redirectHandler(port)})
	}
	if s.opt.Admin != "" {
		sides = append(sides, side{"admin", s.opt.Admin, s.adminHandler()})
	}
	for _, sd := range sides {
		ln, err := net.Listen("tcp", sd.addr)
		if err != nil {
			for _, h := range s.side {
				h.Close()
			}
			return fmt.Errorf("%s listener: %w", sd.name, err)
		}
		hs := &http.Server{Handler: sd.h, ReadHeaderTimeout: s.opt.HeaderTimeout}
		s.side = append(s.side, hs)
		s.sideAddr[sd.name] = ln.Addr()
		s.log.Info("listening", "listener", sd.name, "addr", ln.Addr().String())
		go func() {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Warn(sd.name+" listener", "err", err)
			}
		}()
	}
	return nil
}

// SideAddr returns the address of the "admin" or "redirect" listener.
func (s *Server) SideAddr(name string) net.Addr {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return s.sideAddr[name]
}

func (s *Server) adminHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{s: s})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s.Status())
	})
	mux.HandleFunc("PUT /health-path", func(w http.ResponseWriter, r *http.Request) {
		group, path := r.URL.Query().Get("group"), r.URL.Query().Get("path")
		if err := s.SetHealthPath(group, path); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "group %s: active checks now ask %s\n", group, path)
	})
	return mux
}

// maxHealthPath bounds the length of a health-check path set at run time.
const maxHealthPath = 1024

// SetHealthPath makes the active checks of group ask path from now on
// (the lab's health_path fault: someone fixes or breaks the checks'
// configuration); the servers keep their health state, and each changes
// it after rise or fall probes, as configured. The admin API does it
// with PUT /health-path?group=G&path=P. A reload returns to the
// configuration's path.
func (s *Server) SetHealthPath(group, path string) error {
	if !strings.HasPrefix(path, "/") || len(path) > maxHealthPath || strings.ContainsAny(path, " \r\n\t") {
		return fmt.Errorf("health path %q: want an absolute path of at most %d bytes, without spaces", path, maxHealthPath)
	}
	s.rmu.Lock()
	g := s.groups[group]
	s.rmu.Unlock()
	if g == nil {
		return fmt.Errorf("no group %q", group)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fg.SetProbePath(path)
}

// Status is the admin API's /status.
type Status struct {
	Uptime    float64          `json:"uptime"`
	Listeners []ListenerStatus `json:"listeners"`
	Groups    []GroupStatus    `json:"groups"`
}

// ListenerStatus is a listener in /status.
type ListenerStatus struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
	Addr     string `json:"addr"`
	Group    string `json:"group"`
	Sessions *int   `json:"udp_sessions,omitempty"`
}

// GroupStatus is a group in /status.
type GroupStatus struct {
	Name      string         `json:"name"`
	Algorithm string         `json:"algorithm"`
	Servers   []ServerStatus `json:"servers"`
}

// ServerStatus is a server in /status.
type ServerStatus struct {
	Address string `json:"address"`
	// Source is where the server came from: "config", or
	// docker:NAME/ID for a container registered by its labels.
	Source string `json:"source"`
	Weight int    `json:"weight"`
	Backup bool   `json:"backup,omitempty"`
	Down   bool   `json:"down,omitempty"`
	// Active is the active health check's state: up, down, or "" without
	// checks.
	Active string `json:"active,omitempty"`
	// PassiveFailed: max_fails took the server out for now.
	PassiveFailed bool   `json:"passive_failed"`
	Fails         int    `json:"fails"`
	Conns         int    `json:"conns"`
	Requests      uint64 `json:"requests"`
	Failures      uint64 `json:"failures"`
}

// Status returns the listeners and groups with their servers' state.
func (s *Server) Status() Status {
	s.rmu.Lock()
	cfg, groups, listeners := s.cfg, s.groups, append([]*listener(nil), s.listeners...)
	s.rmu.Unlock()
	st := Status{Uptime: s.now().Seconds()}
	for _, l := range listeners {
		rt := l.rt.Load()
		ls := ListenerStatus{Name: rt.name, Protocol: l.proto, Port: rt.cfg.Port, Group: rt.cfg.Group}
		if a := l.addr(); a != nil {
			ls.Addr = a.String()
		}
		if l.udp != nil {
			l.udp.mu.Lock()
			n := len(l.udp.sessions)
			l.udp.mu.Unlock()
			ls.Sessions = &n
		}
		st.Listeners = append(st.Listeners, ls)
	}
	for i := range cfg.Groups {
		g := groups[cfg.Groups[i].Name]
		if g == nil {
			continue
		}
		st.Groups = append(st.Groups, g.status())
	}
	return st
}

func (g *group) status() GroupStatus {
	reqs, _, _, _ := g.stats.snapshot()
	per := map[string][2]uint64{}
	for _, r := range reqs {
		v := per[r.backend]
		v[0] += r.n
		if r.failed() {
			v[1] += r.n
		}
		per[r.backend] = v
	}
	gs := GroupStatus{Name: g.name, Algorithm: g.fg.Algorithm()}
	g.mu.Lock()
	defer g.mu.Unlock()
	source := map[string]string{} // peers are primaries then backups: by address
	for _, cs := range g.fg.Config.Servers {
		source[cs.Address] = cs.Source
	}
	for i, p := range g.fg.Peers() {
		srv := p.Server()
		ss := ServerStatus{Address: p.Name(), Source: "config", Weight: p.Weight(), Backup: srv.Backup, Down: srv.Down,
			PassiveFailed: g.fg.PassiveDown(i), Fails: p.Fails(), Conns: p.Conns(),
			Requests: per[p.Name()][0], Failures: per[p.Name()][1]}
		if src := source[p.Name()]; src != "" {
			ss.Source = src
		}
		if up, checked := g.fg.ActiveUp(i); checked {
			ss.Active = "down"
			if up {
				ss.Active = "up"
			}
		}
		gs.Servers = append(gs.Servers, ss)
	}
	return gs
}

// collector reads the counters at scrape time, so that the data plane
// only adds to its own counters.
type collector struct{ s *Server }

var (
	descRequests = prometheus.NewDesc("lblab_requests_total",
		"Requests (tcp and udp: sessions) by listener, group, backend and status code (or error class).",
		[]string{"listener", "group", "backend", "code"}, nil)
	descDuration = prometheus.NewDesc("lblab_request_duration_seconds",
		"Request duration (tcp: connect time; udp: session length).", []string{"group"}, nil)
	descUp = prometheus.NewDesc("lblab_upstream_up",
		"1 when the server can get traffic (active check up, not taken out by max_fails).",
		[]string{"group", "server"}, nil)
	descConns = prometheus.NewDesc("lblab_upstream_conns",
		"Requests (tcp and udp: sessions) in flight to the server.", []string{"group", "server"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRequests
	ch <- descDuration
	ch <- descUp
	ch <- descConns
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	s.rmu.Lock()
	groups := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		groups = append(groups, g)
	}
	s.rmu.Unlock()
	sort.Slice(groups, func(i, j int) bool { return groups[i].name < groups[j].name })
	emit := func(gname string, st *stats, hist bool) {
		reqs, buckets, sum, n := st.snapshot()
		agg := map[[3]string]uint64{}
		var keys [][3]string
		for _, r := range reqs {
			code := r.class
			if r.status != 0 {
				code = strconv.Itoa(r.status)
			} else if code == "" {
				code = "ok"
			}
			k := [3]string{r.listener, r.backend, code}
			if _, ok := agg[k]; !ok {
				keys = append(keys, k)
			}
			agg[k] += r.n
		}
		for _, k := range keys {
			ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(agg[k]), k[0], gname, k[1], k[2])
		}
		if !hist {
			return
		}
		cum := map[float64]uint64{}
		var acc uint64
		for i, ub := range durBuckets {
			acc += buckets[i]
			cum[ub] = acc
		}
		ch <- prometheus.MustNewConstHistogram(descDuration, n, sum, cum, gname)
	}
	emit("", s.base, false)
	for _, g := range groups {
		emit(g.name, g.stats, true)
		g.mu.Lock()
		for i, p := range g.fg.Peers() {
			active, _ := g.fg.ActiveUp(i)
			up := !g.fg.PassiveDown(i) && active && !p.Server().Down
			v := 0.0
			if up {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, v, g.name, p.Name())
			ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(p.Conns()), g.name, p.Name())
		}
		g.mu.Unlock()
	}
}
