package main

import (
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/probe"
	"github.com/lblab/lblab/loadgen/prober"
	"github.com/lblab/lblab/units"
)

func init() { commands = append(commands, newProbe) }

type probeFlags struct {
	probes                     []string
	interval, timeout, phase   durationFlag
	from, history, icmpNetwork string
	epoch                      int64
	startFile, readyFile       string
}

// newProbe is lblab probe, hidden: the real worlds run it on a lab host
// to write the history's net events.
func newProbe() *cobra.Command {
	var f probeFlags
	c := &cobra.Command{
		Use:    "probe --probe KIND:ADDR[:PORT] ... [--from NAME] [--history FILE]",
		Short:  "Probe addresses with ICMP echo and TCP connects and write the history's net events (real worlds)",
		Hidden: true,
		Long: `Send a probe every --interval (default 100ms) from this host's network
namespace to each --probe: icmp:ADDR (an ICMP echo request) or
tcp:ADDR:PORT (a TCP connect, closed at once), and write one net event
(JSON line) per probe when it ends: answered, with its round-trip time
and the MAC address of the neighbour entry that answered; or not, with
its class: timeout (no answer within --timeout, default 1s), refused,
reset or unreachable.

ICMP uses a raw socket as root, else an unprivileged ping socket
(net.ipv4.ping_group_range); --icmp-socket ip4:icmp or udp4 forces one.

--history appends the events to FILE (default: standard output); their
times count from --epoch (Unix nanoseconds; default the start), and the
k-th probe of each spec is sent at --phase + k × interval, so that the
probes of a lab share its clock. --from names the probing host (the
events' src; default the host name).

--ready-file FILE makes it open its sockets first, then write a line to
FILE, then wait for --start-file (up to 2 minutes; a number there is the
epoch, waited for when ahead). --start-file without --ready-file waits
before opening anything.

SIGTERM or SIGINT stops it: probes still awaited write nothing (their end
is unknown), what was written is flushed.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error { return runProbe(c, f) },
	}
	fl := c.Flags()
	fl.StringArrayVar(&f.probes, "probe", nil, "a probe: icmp:ADDR or tcp:ADDR:PORT (repeatable)")
	fl.Var(&f.interval, "interval", "time between two probes of each --probe (default 100ms)")
	fl.Var(&f.timeout, "timeout", "how long a probe waits for its answer (default 1s)")
	fl.Var(&f.phase, "phase", "send time of each --probe's first probe, after the epoch")
	fl.StringVar(&f.from, "from", "", "the probing host's name in the history (default the host name)")
	fl.StringVar(&f.history, "history", "", "append the net events (JSON lines) to this file (default standard output)")
	fl.Int64Var(&f.epoch, "epoch", 0, "history times count from this instant, in Unix nanoseconds (default: the start)")
	fl.StringVar(&f.startFile, "start-file", "", "wait until this file holds a line before starting; a number there is the epoch (Unix nanoseconds)")
	fl.StringVar(&f.readyFile, "ready-file", "", "write a line to this file once the sockets are open, then wait for --start-file")
	fl.StringVar(&f.icmpNetwork, "icmp-socket", "", "ICMP socket: ip4:icmp (raw) or udp4 (ping socket); default raw, else ping")
	return c
}

// probeSpecs returns the probes of the --probe values, with the common
// flags.
func probeSpecs(f probeFlags) ([]probe.Spec, error) {
	if len(f.probes) == 0 {
		return nil, usageError{i18n.Errorf("want at least one --probe (icmp:ADDR or tcp:ADDR:PORT)")}
	}
	if len(f.probes) > prober.MaxSpecs {
		return nil, usageError{i18n.Errorf("at most %d probes, got %d", prober.MaxSpecs, len(f.probes))}
	}
	var specs []probe.Spec
	for _, p := range f.probes {
		kind, to, ok := strings.Cut(p, ":")
		if !ok || kind != string(probe.ICMP) && kind != string(probe.TCP) {
			return nil, usageError{i18n.Errorf("--probe %q: want icmp:ADDR or tcp:ADDR:PORT", units.Cut(p))}
		}
		s := probe.Spec{From: f.from, To: to, Kind: probe.Kind(kind), Interval: f.interval.d, Timeout: f.timeout.d}.Defaults()
		if err := s.Validate(); err != nil {
			return nil, usageError{i18n.Errorf("--probe %q: %w", units.Cut(p), err)}
		}
		specs = append(specs, s)
	}
	return specs, nil
}

func runProbe(c *cobra.Command, f probeFlags) error {
	if f.from == "" {
		name, err := os.Hostname()
		if err != nil {
			return i18n.Errorf("--from: %w", err)
		}
		f.from = name
	}
	if c.Flags().Changed("interval") && f.interval.d == 0 || c.Flags().Changed("timeout") && f.timeout.d == 0 {
		return usageError{i18n.Errorf("--interval and --timeout must be positive")}
	}
	if f.phase.d < 0 {
		return usageError{i18n.Errorf("--phase must not be negative")}
	}
	if f.icmpNetwork != "" && f.icmpNetwork != "ip4:icmp" && f.icmpNetwork != "udp4" {
		return usageError{i18n.Errorf("--icmp-socket: want ip4:icmp or udp4, got %q", units.Cut(f.icmpNetwork))}
	}
	specs, err := probeSpecs(f)
	if err != nil {
		return err
	}
	ctx := c.Context()
	if f.startFile != "" && f.readyFile == "" {
		epoch, err := waitStartFile(ctx, "--start-file", f.startFile, startFileWait)
		if err != nil {
			return err
		}
		if epoch != 0 {
			f.epoch = epoch
		}
	}
	var out io.Writer = c.OutOrStdout()
	if f.history != "" {
		h, err := os.OpenFile(f.history, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer h.Close()
		out = h
	}
	// Every event is written as one whole line when it ends: a killed
	// prober leaves whole lines, and a world reads them as they come.
	w := history.NewWriter(out, history.WriterOptions{EveryLine: true})
	defer w.Close()
	p, err := prober.Open(specs, prober.Options{Sink: w, ICMPNetwork: f.icmpNetwork})
	if err != nil {
		return err
	}
	epoch := time.Now()
	if f.epoch != 0 {
		epoch = time.Unix(0, f.epoch)
	}
	if f.readyFile != "" {
		at, err := readyThenStart(ctx, f.readyFile, f.startFile)
		if err != nil {
			p.Close()
			return err
		}
		if !at.IsZero() {
			epoch = at
		}
	}
	return p.Run(ctx, epoch, f.phase.d)
}
