package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/discovery/dockerwatch"
	"github.com/lblab/lblab/proxy/nginxconf"
	"github.com/lblab/lblab/proxy/server"
	"github.com/lblab/lblab/scenarios/labfile"
)

func init() { commands = append(commands, newProxy) }

type proxyFlags struct {
	config, history, admin, bind string
	headerTimeout, idleTimeout   time.Duration
	drain                        time.Duration
	quiet                        bool
	cpuprofile                   string
	udpIdle                      time.Duration
	certs                        []string
	certDir                      string
	redirectHTTP                 int
	resolve                      []string
	epoch                        int64
	seed                         uint64
	docker                       bool
	dockerReady                  time.Duration
	dockerNetwork                string
	dockerLabel                  string
}

func newProxy() *cobra.Command {
	var f proxyFlags
	c := &cobra.Command{
		Use:   "proxy --config FILE [--history FILE]",
		Short: "Run the load balancer on real sockets (http, https, tcp and udp listeners)",
		Long: `Run the load balancer on real sockets, with the same decision code as the
simulator: server selection, retries and final statuses, active and passive
health, persistence.

--config takes a load balancer in any of three forms, told apart by their
content: the YAML of a lab file's lb section (listeners, groups), a whole
lab file (its lb section, or its nginx field, is used), or an nginx
configuration.

http listeners proxy HTTP/1.1; https listeners terminate TLS with the
certificates of --cert HOST=CERT.pem,KEY.pem (repeatable) or --certs DIR (as
'lblab certs' writes them), picked by the client's server name (SNI), then
proxy as http with X-Forwarded-Proto: https; --redirect-http PORT answers
every request on PORT with a 301 to https. tcp listeners proxy each
connection to a server (half-closes passed on); udp listeners keep a
session per client address (one server, its own socket) until it has been
idle for --udp-idle.

Where it listens: an nginx configuration's listen directives say it, as
nginx reads them (a bare port is every IPv4 address, 0.0.0.0; [::]:PORT
every IPv6 address); a listener of an lb section or lab file listens on
its address, or, without one, on --bind (default 127.0.0.1, loopback
only: give --bind 0.0.0.0 to take every IPv4 address). The log names
every address listened on, one line each.

--resolve NAME=IP (repeatable, as curl's) connects to the servers whose
address names the host NAME ("p1:80") at IP instead, and keeps calling
them by their names in the history, the status and the logs: a lab's
servers in network namespaces of their own.

Active health checks probe each server every interval. Where in its
interval a server's probes fall (its phase) decides how long a fault goes
unseen: with --seed N, each server's phase is drawn from N, its group's
name and its own (uniform in [0, interval)), as 'lblab run --seed N' draws
it in the simulator, so the real proxy detects a fault after the delay the
simulated run of seed N shows. Without --seed, the first probes of a group
of n servers are staggered, server i's at i × interval / n after start,
the same at every start.

--admin ADDR serves /status (JSON: listeners, groups, servers with health,
connections and counters) and /metrics (Prometheus); PUT
/health-path?group=G&path=P makes group G's active checks ask P from now
on (until a reload), each server changing state after rise or fall probes.

--docker (or discovery: docker in the configuration) watches the Docker
Engine API (DOCKER_HOST, default the local socket) and adds a server for
each running container labelled lblab.lb.port_<port>: <scheme>://<lb
name>:<front port> (the container service's aliyun.lb.port_<port> is read
the same way): <lb name> is the name of the listener on <front port>
whose protocol is <scheme>, or the group it routes to by default, and the
server, the container's address on --docker-network (default: its first
network by name) and <port>, joins that group, with the weight of an
optional lblab.lb.weight label. A container's die or stop event removes
it at once (a group with deregister: destroy keeps it until the container
is removed, for its health checks to take out); a label that names no
listener, or a bad scheme, port or weight, is a warning naming the
container. /status gives each server's source: config, or
docker:NAME/ID.

SIGHUP re-reads --config: new connections and requests use the new
configuration, those in flight finish on the old one, listeners on
unchanged ports keep their sockets; a configuration that does not load is
logged and the old one stays.

With --history FILE, every request and every health transition is written
to FILE as JSON Lines (t in seconds since the proxy started, or since
--epoch), in whole
lines at least once a second: a killed proxy loses at most the last second.

SIGTERM or SIGINT stops accepting, lets the requests in flight finish for
up to --drain, flushes the history and exits 0.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error { return runProxy(c, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.config, "config", "", "the load balancer: an lb section, a lab file or an nginx.conf (required)")
	fl.StringVar(&f.history, "history", "", "write the history (JSON Lines) to this file")
	fl.StringVar(&f.admin, "admin", "", "address of the admin API (/status, /metrics), e.g. 127.0.0.1:9090")
	fl.StringArrayVar(&f.certs, "cert", nil, "an https certificate as HOST=CERT.pem,KEY.pem (repeatable; the first is the default)")
	fl.StringVar(&f.certDir, "certs", "", "a folder of https certificates as 'lblab certs' writes it (HOST.pem, HOST-key.pem)")
	fl.IntVar(&f.redirectHTTP, "redirect-http", 0, "a port (on --bind) answering every request with a 301 to https")
	fl.StringArrayVar(&f.resolve, "resolve", nil, "connect to the servers of host NAME at IP: NAME=IP (repeatable)")
	fl.Int64Var(&f.epoch, "epoch", 0, "the proxy's clock and the history's t count from this wall-clock time, Unix nanoseconds, within an hour of now (default the proxy's start; ahead: active checks start then)")
	fl.DurationVar(&f.udpIdle, "udp-idle", 30*time.Second, "how long a udp session lives without a datagram")
	fl.StringVar(&f.bind, "bind", "127.0.0.1", "address of the listeners whose configuration names none (lb sections and lab files; an nginx.conf names them all); 0.0.0.0 for every IPv4 address")
	fl.DurationVar(&f.headerTimeout, "header-timeout", 10*time.Second, "time a client has to send a whole request header, from its first byte")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 75*time.Second, "time a keep-alive client connection may wait for its next request")
	fl.DurationVar(&f.drain, "drain", 10*time.Second, "on SIGTERM, how long the requests in flight may take to finish")
	fl.Uint64Var(&f.seed, "seed", 0, "draw each server's health-check phase from this seed, as the simulator's run of the seed does (default: staggered i × interval / n)")
	fl.BoolVar(&f.docker, "docker", false, "add servers from the labels of the Docker engine's running containers (lblab.lb.port_<port>: <scheme>://<lb name>:<front port>)")
	fl.StringVar(&f.dockerLabel, "docker-label", "", "with --docker, only the containers carrying this label (key or key=value), e.g. one lblab run's io.lblab.run=<run id> (default: every container)")
	fl.DurationVar(&f.dockerReady, "docker-ready", 0, "with --docker, a started container's servers join once they accept a TCP connection, waiting at most this long (default 0: at its start event)")
	fl.StringVar(&f.dockerNetwork, "docker-network", "", "with --docker, the Docker network whose address a container registers with (default: its first network by name)")
	fl.BoolVar(&f.quiet, "quiet", false, "log warnings and errors only")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	fl.MarkHidden("cpuprofile")
	return c
}

func runProxy(c *cobra.Command, f proxyFlags) error {
	if f.config == "" {
		return usageError{errors.New("--config FILE is required")}
	}
	level := slog.LevelInfo
	if f.quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	discovery := ""
	if f.docker {
		discovery = proxy.DiscoveryDocker
	}
	cfg, err := loadProxyConfig(f.config, log, discovery)
	if err != nil {
		return err
	}
	if c.Flags().Changed("bind") && !bindUsed(cfg) {
		log.Warn("--bind is not used: every listener names its address", "bind", f.bind)
	}
	opt := server.Options{HeaderTimeout: f.headerTimeout, IdleTimeout: f.idleTimeout, Bind: f.bind, Logger: log,
		UDPIdleTimeout: f.udpIdle, Admin: f.admin}
	if f.epoch != 0 {
		opt.Epoch = time.Unix(0, f.epoch)
		if d := time.Since(opt.Epoch); d < -time.Hour || d > time.Hour {
			return usageError{i18n.Errorf("--epoch %d: want a time within an hour of now, in Unix nanoseconds", f.epoch)}
		}
	}
	if opt.Hosts, err = parseResolve(f.resolve); err != nil {
		return err
	}
	if c.Flags().Changed("seed") {
		opt.Seed = &f.seed
	}
	if len(f.certs) > 0 || f.certDir != "" {
		if opt.Certificates, err = server.LoadCertificates(f.certs, f.certDir); err != nil {
			return usageError{err}
		}
	}
	if f.redirectHTTP != 0 {
		opt.RedirectHTTP = net.JoinHostPort(f.bind, strconv.Itoa(f.redirectHTTP))
	}
	var hist *os.File
	if f.history != "" {
		if hist, err = os.Create(f.history); err != nil {
			return usageError{err}
		}
		defer hist.Close()
		opt.History = hist
	}
	srv, err := server.New(cfg, opt)
	if err != nil {
		return usageError{err}
	}
	var watcher *dockerwatch.Watcher
	if cfg.Discovery == proxy.DiscoveryDocker {
		if watcher, err = dockerwatch.New(cfg, f.dockerNetwork, srv.Reload, log); err != nil {
			return usageError{err}
		}
		watcher.Only(f.dockerLabel)
		watcher.WaitListening(f.dockerReady)
		defer watcher.Close()
	}
	if f.cpuprofile != "" {
		pf, err := os.Create(f.cpuprofile)
		if err != nil {
			return usageError{err}
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			ncfg, err := loadProxyConfig(f.config, log, discovery)
			if err != nil {
				log.Error("reload: the old configuration stays", "err", err)
				continue
			}
			if watcher != nil && ncfg.Discovery == proxy.DiscoveryDocker {
				err = watcher.SetBase(ncfg)
			} else {
				err = srv.Reload(ncfg)
			}
			if err != nil {
				log.Error("reload", "err", err)
			}
		}
	}()
	if err := runServer(c.Context(), srv, watcher, f.drain, log); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			log.Warn("drain deadline passed: requests in flight were cut", "drain", f.drain)
			return nil
		}
		return err
	}
	if hist != nil {
		return hist.Close()
	}
	return nil
}

// runServer is server.Run with the container watcher, when there is one,
// running between the start and the shutdown.
func runServer(ctx context.Context, srv *server.Server, watcher *dockerwatch.Watcher, drain time.Duration, log *slog.Logger) error {
	if watcher == nil {
		return srv.Run(ctx, drain)
	}
	if err := srv.Start(); err != nil {
		return err
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = watcher.Run(wctx)
	}()
	<-ctx.Done()
	stop()
	<-done
	log.Info("shutting down", "drain", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	return srv.Shutdown(sctx)
}

// parseResolve reads --resolve NAME=IP flags into a hosts map.
func parseResolve(flags []string) (map[string]netip.Addr, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	hosts := map[string]netip.Addr{}
	for _, f := range flags {
		name, ip, ok := strings.Cut(f, "=")
		addr, err := netip.ParseAddr(ip)
		if !ok || name == "" || err != nil || strings.ContainsAny(name, ":/ ") {
			return nil, usageError{i18n.Errorf("--resolve %q: want NAME=IP, a host name and an IP address", f)}
		}
		if old, dup := hosts[name]; dup && old != addr {
			return nil, usageError{i18n.Errorf("--resolve: %s given twice (%s and %s)", name, old, addr)}
		}
		hosts[name] = addr.Unmap()
	}
	return hosts, nil
}

// bindUsed reports whether a listener of cfg names no address, and so
// listens on --bind.
func bindUsed(cfg *proxy.Config) bool {
	for _, l := range cfg.Listeners {
		if l.Address == "" {
			return true
		}
	}
	return false
}

// loadProxyConfig reads a load balancer from path: a lab file's lb
// section, a whole lab file, or an nginx configuration, told apart by
// content, within the limits of a lab file (see labfile.LoadLB).
func loadProxyConfig(path string, log *slog.Logger, discovery string) (*proxy.Config, error) {
	return labfile.LoadLBDiscovery(path, func(name string, src []byte) (*proxy.Config, error) {
		return importNginx(name, src, log)
	}, discovery)
}

// validated checks a load balancer and lists every problem.
func validated(where string, cfg *proxy.Config) (*proxy.Config, error) {
	if ps := proxy.Validate(cfg); len(ps) > 0 {
		var b strings.Builder
		for _, p := range ps {
			fmt.Fprintf(&b, "\n  %s: %s", p.Path, p.Msg)
		}
		return nil, usageError{fmt.Errorf("%s: invalid load balancer:%s", where, b.String())}
	}
	return cfg, nil
}

// importNginx imports an nginx configuration, logging its warnings.
func importNginx(name string, src []byte, log *slog.Logger) (*proxy.Config, error) {
	cfg, warns, err := nginxconf.ImportWith(name, src, nginxconf.Options{Dir: filepath.Dir(name)})
	for _, w := range warns {
		log.Warn("nginx configuration", "warning", w.String())
	}
	if err != nil {
		return nil, usageError{err}
	}
	return validated(name, cfg)
}
