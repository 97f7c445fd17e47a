package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy/flow"
	"github.com/lblab/lblab/proxy/nginxconf"
	"github.com/lblab/lblab/scenarios/labfile"
)

// A load-balancer lab whose proxy is the system's nginx (impl: {proxy:
// nginx}) on a bed whose hosts start any program (lbProgramHost: netns).
//
// The lab's lb section is exported to nginx.conf (nginxconf.Export:
// servers by their hosts' addresses on the segment, one worker, 128
// idle connections per upstream kept as lblab proxy keeps them, an
// access log of lblab's format) and nginx runs in the proxy's host as
//
//	nginx -g 'daemon off; master_process on;' -c DIR/nginx.conf -p DIR/nginx/ -e DIR/nginx.error.log
//
// its pid, logs and temporary files in the run's folder. It is ready
// when its error log says it started its worker (the master binds every
// listener first). At the end it gets SIGQUIT (a graceful stop) and its
// access log becomes the proxy's side of each request (nginxEvents),
// which mergeLBHistories joins with the clients' as it does lblab
// proxy's history. What the access log cannot tell is left out: no
// health transitions (nginx open source has no active checks, and its
// passive marking of a server as failed is not logged), and the error
// class of a failed try is read from its status (504: timeout; 502
// without a connection: refused; 502 after one: reset).

// lbProgramHost is an lbBedHost that starts programs other than lblab
// (netnsBedHost): the system's nginx.
type lbProgramHost interface {
	lbBedHost
	// StartProgram is Start of the program bin, in a process group of
	// its own: Kill and Signal reach its children too.
	StartProgram(ctx context.Context, role string, files []lbFile, bin string, args ...string) (lbProc, error)
}

var _ lbProgramHost = (*netnsBedHost)(nil)

// nginxKeepalive is the keepalive of each exported upstream, and
// nginxKeepaliveTimeout its timeout: lblab proxy's defaults
// (server.Options' MaxIdlePerServer, UpstreamIdleTimeout).
const (
	nginxKeepalive        = 128
	nginxKeepaliveTimeout = 30 * time.Second
)

// nginxBinary finds the system's nginx: in PATH, or Debian's
// /usr/sbin/nginx.
func nginxBinary() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", i18n.Errorf("nginx is not installed (Debian: apt-get install nginx libnginx-mod-stream)")
}

func (w *lbWorld) nginxDir() string { return path.Join(w.bed.Dir(), "nginx") }

func (w *lbWorld) nginxFile(name string) string { return path.Join(w.nginxDir(), name) }

// nodeNginxDir is the folder of node n's run-th nginx (a
// high-availability lab's proxies: one each).
func (w *lbWorld) nodeNginxDir(n *lbNode, run int) string {
	return path.Join(w.bed.Dir(), fmt.Sprintf("nginx-%s-%d", n.host.name, run))
}

// nginxResolve maps the servers' host names to their hosts' addresses,
// and back: IP:PORT to the lab's address.
func (w *lbWorld) nginxResolve() (map[string]string, map[string]string) {
	resolve := map[string]string{}
	for name, h := range w.hosts {
		resolve[name] = h.ip.String()
	}
	back := map[string]string{}
	for _, g := range w.lab.LB.Groups {
		for _, s := range g.Servers {
			host, port, err := net.SplitHostPort(s.Address)
			if err != nil {
				continue
			}
			ip := host
			if r, ok := resolve[host]; ok {
				ip = r
			}
			back[net.JoinHostPort(ip, port)] = s.Address
		}
	}
	return resolve, back
}

// startNginx starts nginx in the proxy's host with the lab's load
// balancer exported, and waits until it listens.
func (w *lbWorld) startNginx(ctx context.Context) error {
	w.epoch = time.Now().Add(w.bed.Lead(len(w.clients)))
	p, err := w.startNginxIn(ctx, w.proxy.host, w.nginxDir(), "nginx.conf")
	if p != nil {
		w.proxy.p = p
	}
	return err
}

// startNginxIn starts nginx on host h with its configuration (the file
// conf in the bed's folder), pid, logs and temporary files in dir, and
// waits until it listens.
func (w *lbWorld) startNginxIn(ctx context.Context, h *lbHost, dir, conf string) (lbProc, error) {
	host, ok := h.h.(lbProgramHost)
	if !ok {
		return nil, i18n.Errorf("proxy: this world cannot start nginx")
	}
	bin, err := nginxBinary()
	if err != nil {
		return nil, err
	}
	file := func(name string) string { return path.Join(dir, name) }
	v, _ := exec.CommandContext(ctx, bin, "-V").CombinedOutput()
	module, hasStream := nginxconf.StreamModule(string(v))
	if len(labfile.TCPListeners(w.lab)) > 0 && !hasStream {
		return nil, i18n.Errorf("proxy: %s has no stream module for the tcp listeners (Debian: apt-get install libnginx-mod-stream)", bin)
	}
	if err := os.MkdirAll(file("temp"), 0o755); err != nil {
		return nil, err
	}
	resolve, _ := w.nginxResolve()
	text, err := nginxconf.Export(w.lab.LB, nginxconf.ExportOptions{Resolve: resolve,
		AccessLog: file("access.log"), StreamAccessLog: file("stream.log"),
		ErrorLog: file("error.log"), PID: file("nginx.pid"), TempDir: file("temp"),
		StreamModule: module, Keepalive: nginxKeepalive, KeepaliveTimeout: nginxKeepaliveTimeout})
	if err != nil {
		return nil, &labfile.InputError{Err: i18n.Errorf("lab %s: impl.proxy nginx: %w", w.lab.Name, err)}
	}
	f := lbFile{Name: conf, Data: text}
	p, err := host.StartProgram(ctx, "proxy", []lbFile{f}, bin, "-g", "daemon off; master_process on;",
		"-c", w.at(f), "-p", dir+"/", "-e", file("error.log"))
	if err != nil {
		return nil, i18n.Errorf("proxy: nginx: %w", err)
	}
	return p, waitFile(p, file("error.log"), "start worker process")
}

// waitFile waits until the file p writes at name holds what, or p ends,
// or lbReadyWait passes.
func waitFile(p lbProc, name, what string) error {
	deadline := time.Now().Add(lbReadyWait)
	for {
		b, _ := p.ReadFile(name)
		if bytes.Contains(b, []byte(what)) {
			return nil
		}
		if done, code := p.Exited(); done {
			return i18n.Errorf("exited with status %d: %s %s", code, strings.TrimSpace(p.Output()), lastLines(b, 5))
		}
		if time.Now().After(deadline) {
			return i18n.Errorf("not ready after %s: %s %s", lbReadyWait, strings.TrimSpace(p.Output()), lastLines(b, 5))
		}
		time.Sleep(lbPoll)
	}
}

// lastLines is the last n lines of b.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// proxyStopSignal is the signal that stops the proxy cleanly: SIGQUIT
// for nginx (its graceful shutdown: the requests under way finish and
// are logged; its SIGTERM is a fast one), SIGTERM for lblab proxy (it
// drains). A crash of the proxy is lbProc.Kill: SIGKILL of its process
// group, nginx's master and workers, returning once none is left.
func (w *lbWorld) proxyStopSignal() syscall.Signal {
	if w.lab.ProxyImpl() == labfile.ImplNginx {
		return syscall.SIGQUIT
	}
	return syscall.SIGTERM
}

// nginxHistory reads nginx's access logs as the proxy's request events.
func (w *lbWorld) nginxHistory() ([]history.Event, error) {
	return w.nginxHistoryIn(w.proxy.p, w.nginxDir())
}

// nginxHistoryIn reads the access logs in dir of nginx process p.
func (w *lbWorld) nginxHistoryIn(p lbProc, dir string) ([]history.Event, error) {
	_, back := w.nginxResolve()
	portGroup := map[int]string{}
	for _, l := range w.lab.LB.Listeners {
		portGroup[l.Port] = l.Group
	}
	var out []history.Event
	for _, name := range []string{"access.log", "stream.log"} {
		b, err := p.ReadFile(path.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		evs, err := nginxEvents(b, path.Join(dir, name), w.epoch, back, portGroup)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// nginxEvents turns an access log of nginxconf's formats into the proxy's
// request events, as lblab proxy writes them: T when nginx logged the
// request, Start that less its request time, on the clock whose time 0
// is epoch; the client's address; the group ($proxy_host, or the
// listener's by port in stream); the server of the last try by the
// lab's name (back maps IP:PORT to it); the tries nginx made; the
// error class of a failure. A tcp session has status 0 and, when it
// failed, no server, as lblab proxy's. name is the file, in errors.
func nginxEvents(log []byte, name string, epoch time.Time, back map[string]string, portGroup map[int]string) ([]history.Event, error) {
	var out []history.Event
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 0, 4096), 128<<10)
	base := time.Duration(epoch.UnixNano())
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		e, err := nginxconf.ParseLogLine(sc.Bytes())
		if err != nil {
			return nil, i18n.Errorf("%s:%d: %w", name, n, err)
		}
		ev := history.Event{T: history.Stamp(e.End - base), Kind: history.KindRequest, Client: e.Client,
			Group: e.Group, Status: e.Status}
		ev.Start = ev.T - history.Stamp(e.Elapsed)
		ev.Latency = ev.T - ev.Start
		if e.Stream || ev.Group == "" {
			ev.Group = portGroup[e.Port]
		}
		var last nginxconf.LogTry
		for _, t := range e.Tries {
			if _, ok := back[t.Addr]; ok {
				ev.Tries++
				last = t
			}
		}
		if ev.Tries > 0 {
			ev.Backend = back[last.Addr]
		}
		switch {
		case ev.Tries == 0 && e.Status >= 500:
			ev.Error = flow.ClassNoServer
		case e.Stream && e.Status != 200:
			ev.Error, ev.Backend = "refused", ""
			if last.Connected {
				ev.Error = "reset"
			}
		case !e.Stream && last.Status == 504:
			ev.Error = "timeout"
		case !e.Stream && last.Status == 502:
			ev.Error = "refused"
			if last.Connected {
				ev.Error = "reset"
			}
		}
		if e.Stream {
			ev.Status = 0
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, i18n.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// nginxRefusal says why a lab with impl: {proxy: nginx} cannot run on
// real hosts, or is the zero Text: what nginx cannot mean as the lab
// does (nginxconf.Refusals, also refused at validation with its line),
// and what the world would ask of lblab proxy's admin API.
func nginxRefusal(lab *labfile.Lab) i18n.Text {
	if lab.ProxyImpl() != labfile.ImplNginx {
		return i18n.Text{}
	}
	if r := nginxconf.Refusals(lab.LB); len(r) > 0 {
		return i18n.T("impl.proxy nginx: lb.%s: %s", r[0].Field, r[0].Text)
	}
	for _, f := range lab.Faults {
		if f.Kind == labfile.FaultHealthPath {
			return i18n.T("impl.proxy nginx: fault %s: nginx has no health check path to change", f.Name)
		}
	}
	if len(lab.Services) > 0 {
		return i18n.T("impl.proxy nginx: nginx does not watch a Docker engine for the lab's services")
	}
	return i18n.Text{}
}

// nginxSlack is how far apart nginx's stamp of a request and its
// client's may be (clockSlack for lblab proxy): nginx stamps with the
// time it cached when its event loop last woke (ngx_time_update), late
// by as long as the loop has been busy since; after a stall of the
// machine it answers a backlog with one stale time. 2.2 s into a run
// stalled for 1.8 s, 348 of 2957 requests missed their nginx side with
// clockSlack.
const nginxSlack = 50 * time.Millisecond

// mergeSlack is the Slack of the clients' histories in the merge.
func (w *lbWorld) mergeSlack() time.Duration {
	if w.lab.ProxyImpl() == labfile.ImplNginx {
		return nginxSlack
	}
	return clockSlack
}
