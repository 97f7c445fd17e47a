package main

import (
	"fmt"

	"github.com/lblab/lblab/testbed/netns"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newClean) }

func newClean() *cobra.Command {
	return &cobra.Command{
		Use:   "clean",
		Short: "Remove every network namespace, link and process lblab left behind (root)",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			before, _ := netns.Leftovers(netns.NamePrefix)
			if err := netns.CleanAll(); err != nil {
				return err
			}
			if before.Empty() {
				fmt.Fprintln(c.OutOrStdout(), "nothing to clean")
			} else {
				fmt.Fprintf(c.OutOrStdout(), "removed %s\n", before)
			}
			return nil
		},
	}
}
