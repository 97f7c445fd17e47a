package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/balance"
	"github.com/lblab/lblab/proxy/nginxconf"
	"github.com/lblab/lblab/scenarios"
	"github.com/spf13/cobra"
)

type balanceFlags struct {
	nginx, upstream, lab, group, keys string
	count                             int
	seed                              uint64
}

func newBalance() *cobra.Command {
	var f balanceFlags
	c := &cobra.Command{
		Use:   "balance (--nginx FILE --upstream NAME | --lab LAB --group NAME) (--count N | --keys FILE)",
		Short: "Print which server a group picks: N picks in a row, or one per key or client address",
		Long: `Print which server a group picks, with the same selection code as the
simulator and the proxy (exact to nginx 1.22).

--count N prints the servers of N consecutive picks, one a line.
--keys FILE (- for standard input) prints KEY<TAB>SERVER for each line of
FILE: the key is the client address for ip_hash and sch, and the hash
key's value for hash and hash_consistent; other algorithms ignore it and
pick in turn. Servers print as written in the config. Every pick is a
fresh request that succeeds, at time 0.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error { return runBalance(c, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.nginx, "nginx", "", "an nginx configuration file")
	fl.StringVar(&f.upstream, "upstream", "", "the upstream block to use (with --nginx)")
	fl.StringVar(&f.lab, "lab", "", "a lab (catalog name or file) with an lb section")
	fl.StringVar(&f.group, "group", "", "the group to use (with --lab)")
	fl.IntVar(&f.count, "count", 0, "print the servers of N consecutive picks")
	fl.StringVar(&f.keys, "keys", "", "print KEY<TAB>SERVER for each line of this file (- for stdin)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the random algorithms")
	return c
}

func runBalance(c *cobra.Command, f balanceFlags) error {
	lang, err := langOf(c)
	if err != nil {
		return err
	}
	g, err := balanceGroup(f, c.ErrOrStderr(), lang)
	if err != nil {
		return err
	}
	bal, err := balance.NewGroup(g.BalanceConfig())
	if err != nil {
		return usageError{err}
	}
	rnd := rand.New(rand.NewPCG(f.seed, 0x6c626c6162))
	out := bufio.NewWriter(c.OutOrStdout())
	defer out.Flush()
	pick := func(r balance.Request) string {
		a := bal.Start(r)
		p, err := a.Next(0, rnd)
		if err != nil {
			return "(" + err.Error() + ")"
		}
		a.Done(0, p, false, 0)
		return p.Name()
	}
	switch {
	case f.count > 0 && f.keys == "":
		for range f.count {
			fmt.Fprintln(out, pick(balance.Request{}))
		}
	case f.keys != "" && f.count == 0:
		in, err := openKeys(c, f.keys)
		if err != nil {
			return err
		}
		defer in.Close()
		byAddr := g.Algorithm == balance.IPHash || g.Algorithm == balance.SourceHash
		sc := bufio.NewScanner(in)
		line := 0
		for sc.Scan() {
			line++
			key := strings.TrimSpace(sc.Text())
			if key == "" {
				continue
			}
			r := balance.Request{Key: key}
			if byAddr {
				addr, err := netip.ParseAddr(key)
				if err != nil {
					return usageError{fmt.Errorf("%s:%d: %q is not a client address (%s hashes addresses)", f.keys, line, key, g.Algorithm)}
				}
				r = balance.Request{Client: addr}
			}
			fmt.Fprintf(out, "%s\t%s\n", key, pick(r))
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %w", f.keys, err)
		}
	default:
		return usageError{i18n.Errorf("give exactly one of --count N and --keys FILE")}
	}
	return nil
}

// balanceGroup finds the group the flags name; the warnings of the
// configuration (an nginx directive ignored, with its line) go to warn.
func balanceGroup(f balanceFlags, warn io.Writer, lang string) (*proxy.Group, error) {
	var cfg *proxy.Config
	var name string
	switch {
	case f.nginx != "" && f.lab == "":
		if f.upstream == "" {
			return nil, usageError{i18n.Errorf("--nginx needs --upstream NAME")}
		}
		var warns []nginxconf.Warning
		var err error
		cfg, warns, err = nginxconf.ImportFile(f.nginx)
		for _, w := range warns {
			printWarning(warn, w, lang)
		}
		if err != nil {
			return nil, err
		}
		name = f.upstream
	case f.lab != "" && f.nginx == "":
		if f.group == "" {
			return nil, usageError{i18n.Errorf("--lab needs --group NAME")}
		}
		lab, err := scenarios.Load(f.lab, nil)
		if err != nil {
			return nil, err
		}
		printLabWarnings(warn, lab, lang)
		if lab.LB == nil {
			return nil, usageError{i18n.Errorf("lab %s has no load balancer", lab.Name)}
		}
		cfg, name = lab.LB, f.group
	default:
		return nil, usageError{i18n.Errorf("give either --nginx FILE --upstream NAME or --lab LAB --group NAME")}
	}
	var names []string
	for i := range cfg.Groups {
		if cfg.Groups[i].Name == name {
			return &cfg.Groups[i], nil
		}
		names = append(names, cfg.Groups[i].Name)
	}
	return nil, usageError{i18n.Errorf("no group %q (there are: %s)", name, strings.Join(names, ", "))}
}

func openKeys(c *cobra.Command, path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(c.InOrStdin()), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError{err}
	}
	return f, nil
}
