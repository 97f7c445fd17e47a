package main

import (
	"fmt"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newWorlds) }

func newWorlds() *cobra.Command {
	return &cobra.Command{
		Use:   "worlds",
		Short: "List the worlds a lab can run in (lblab run --mode) and what each can do",
		Long: `List the worlds a lab can run in, one block each: its name (as lblab run
--mode takes it), what it is, whether it can run on this machine now, and
its capabilities: the roles it plays (vrrp routers, the proxy, backends,
clients), the fault kinds it applies, whether it shapes links (latency,
jitter, loss), whether it needs root, and whether a seed gives the same
history byte for byte. lblab run refuses, before anything starts, a lab
that asks a world for what it cannot do, naming the capability.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			language, err := langOf(c)
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			for _, w := range scenarios.Worlds() {
				avail := i18n.T("available here")
				if w.Available != nil {
					if err := w.Available(); err != nil {
						avail = i18n.T("not available here: %v", err)
					}
				}
				fmt.Fprintf(out, "%s  %s (%s)\n  %s\n", w.Name, w.Doc.In(language), avail.In(language), w.Caps.Text().In(language))
			}
			return nil
		},
	}
}
