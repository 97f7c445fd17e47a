package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lblab/lblab/vrrpsim/keepalived"
	vrrplinux "github.com/lblab/lblab/vrrpsim/linux"
)

func init() { commands = append(commands, newVRRP) }

type vrrpFlags struct {
	config, instance, history, name, admin string
	epoch                                  int64
	startFile, readyFile, waitFile         string
}

func newVRRP() *cobra.Command {
	var f vrrpFlags
	c := &cobra.Command{
		Use:   "vrrp --config FILE [--instance NAME] [--history FILE] [--epoch UNIX_NANOS] [--name NAME] [--admin ADDR]",
		Short: "Run the VRRP agent on this host's interfaces (root), configured by a keepalived.conf",
		Long: `Run the VRRP agent of lblab on real interfaces: the same state machine as
the simulator, with a raw IP protocol-112 socket, virtual addresses set
with netlink and gratuitous ARP. It needs root (CAP_NET_RAW, CAP_NET_ADMIN).

--config is a keepalived.conf: every vrrp_instance runs (or only
--instance), with its vrrp_scripts and notify scripts. Keywords lblab does
not use are printed as warnings with their lines; errors exit 2.

--history appends vrrp and vip events as JSON lines; their times count
from --epoch (Unix nanoseconds; default the agent's start), so the agents
of one lab share a time base. --name is the router's name in the history
(default the router_id of global_defs, else the host name).

Every discarded packet is counted by cause, with keepalived's names
(packet_len_err, ip_ttl_err, auth_failure, addr_list_err, ...); the log
gets at most one line per cause and instance every 10 s, with the count
since the last line. --admin ADDR serves GET /status: JSON with each
instance's state, priority and counters. When the agent stops, the history
gets a vrrp_stats event per nonzero counter.

SIGTERM or SIGINT stops the agent as keepalived stops: a master sends
priority 0 and removes its addresses, notify_stop runs, exit status 0.

--start-file FILE makes the agent wait (up to 2 minutes) until FILE holds
a line, then start, with that line as --epoch when it is a number: the
docker world starts a lab's agents so, once it has given each container's
interfaces the lab's names.

--ready-file FILE makes the agent open its sockets first (bound to their
interfaces and joined to 224.0.0.18), then write a line to FILE, and only
then wait for --start-file (if given), and for the epoch it holds when
that is still ahead, before it starts its instances: the
netns world starts every agent so, waits until each is ready, and writes
the start file at the lab's time 0, so that no router starts its timers
before another can hear it.

--wait-file FILE makes the agent wait (up to 2 minutes) until FILE holds
a line before it opens anything: the docker world starts its agents so,
and writes the file once the container's interfaces have the lab's
names, then goes on as the netns world does with --ready-file and
--start-file.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error { return runVRRP(c, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.config, "config", "", "keepalived.conf to run (required)")
	fl.StringVar(&f.instance, "instance", "", "run only this vrrp_instance")
	fl.StringVar(&f.history, "history", "", "append history events (JSON lines) to this file")
	fl.Int64Var(&f.epoch, "epoch", 0, "history times count from this instant, in Unix nanoseconds (default: the agent's start)")
	fl.StringVar(&f.name, "name", "", "router name in the history (default router_id, else the host name)")
	fl.StringVar(&f.admin, "admin", "", "serve GET /status (state, priority, counters as JSON) on this address, e.g. 127.0.0.1:9091")
	fl.StringVar(&f.startFile, "start-file", "", "wait until this file holds a line before starting; a number there is the epoch (Unix nanoseconds)")
	fl.StringVar(&f.readyFile, "ready-file", "", "write a line to this file once the sockets are open and joined, then wait for --start-file")
	fl.StringVar(&f.waitFile, "wait-file", "", "wait until this file holds a line before opening anything (the interfaces' names are final then)")
	return c
}

func runVRRP(c *cobra.Command, f vrrpFlags) error {
	if f.config == "" {
		return usageError{fmt.Errorf("--config is required")}
	}
	stderr := c.ErrOrStderr()
	kc, warns, err := keepalived.ParseFile(f.config)
	for _, w := range warns {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err != nil {
		return err
	}
	cfg, dwarns, err := vrrplinux.FromKeepalived(kc, f.instance)
	for _, w := range dwarns {
		if w.File == "" {
			w.File = f.config
		}
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", f.config, err)}
	}
	if f.waitFile != "" {
		if _, err := waitStartFile(c.Context(), "--wait-file", f.waitFile, startFileWait); err != nil {
			return err
		}
	}
	if f.startFile != "" && f.readyFile == "" {
		epoch, err := waitStartFile(c.Context(), "--start-file", f.startFile, startFileWait)
		if err != nil {
			return err
		}
		if epoch != 0 {
			f.epoch = epoch
		}
	}
	links, err := vrrplinux.HostLinks()
	if err != nil {
		return err
	}
	if errs := vrrplinux.CheckLinks(f.config, kc, f.instance, links); len(errs) > 0 {
		return errs
	}
	if f.name != "" {
		cfg.Name = f.name
	}
	opts := vrrplinux.Options{Log: stderr, Admin: f.admin}
	if f.epoch != 0 {
		opts.Epoch = time.Unix(0, f.epoch)
	}
	if f.readyFile != "" {
		opts.Start = func(ctx context.Context) (time.Time, error) { return readyThenStart(ctx, f.readyFile, f.startFile) }
	}
	if f.history != "" {
		h, err := os.OpenFile(f.history, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer h.Close()
		opts.History = h
	}
	return vrrplinux.Run(c.Context(), cfg, opts)
}

// readyThenStart writes "ready" and this process's ID as a line to
// ready (whole, by a rename), then waits for the start file when there is
// one (waitStartFile), and for its epoch when that is ahead, and returns
// the epoch (zero: none).
func readyThenStart(ctx context.Context, ready, start string) (time.Time, error) {
	tmp := ready + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "ready %d\n", os.Getpid()), 0o644); err != nil {
		return time.Time{}, fmt.Errorf("--ready-file: %w", err)
	}
	if err := os.Rename(tmp, ready); err != nil {
		return time.Time{}, fmt.Errorf("--ready-file: %w", err)
	}
	if start == "" {
		return time.Time{}, nil
	}
	epoch, err := waitStartFile(ctx, "--start-file", start, startFileWait)
	if err != nil || epoch == 0 {
		return time.Time{}, err
	}
	at := time.Unix(0, epoch)
	if err := sleepUntilCtx(ctx, at); err != nil {
		return time.Time{}, err
	}
	return at, nil
}

// sleepUntilCtx waits until t (at once when it has passed) or until ctx
// is done (its cause).
func sleepUntilCtx(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-timer.C:
		return nil
	}
}

// startFileWait bounds the wait for --start-file.
const startFileWait = 2 * time.Minute

// startFilePoll is how often --start-file is looked at where its folder
// cannot be watched (startwait.go): the agents of a lab start within
// this of each other.
const startFilePoll = time.Millisecond

// waitStartFile waits until path holds a whole line (written by someone
// else, perhaps not at once), or until ctx is done or wait has passed. It
// returns the line as Unix nanoseconds, or 0 when the line is not a
// number.
func waitStartFile(ctx context.Context, flag, path string, wait time.Duration) (int64, error) {
	deadline := time.Now().Add(wait)
	watch := watchFileDir(path) // woken by the file's writing (startwait.go)
	defer watch.close()
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			if line, _, ok := strings.Cut(string(b), "\n"); ok {
				n, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
				if err != nil {
					return 0, nil
				}
				return n, nil
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("%s: %w", flag, err)
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s %s: no line after %s", flag, path, wait)
		}
		if err := ctx.Err(); err != nil {
			return 0, context.Cause(ctx)
		}
		watch.wait(startFileCtxPoll)
	}
}

// startFileCtxPoll is how often waitStartFile looks at its context and
// the file while its folder is quiet.
const startFileCtxPoll = 50 * time.Millisecond
