package main

import (
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newHold) }

// newHold is lblab hold, hidden: it does nothing until SIGINT or SIGTERM
// (exit status 0 then). The docker world runs it as the first process
// of a lab host's holder container, which owns the host's network
// namespace; the host's roles run in containers joined to it, so that a
// role can be killed or frozen alone while the host keeps its addresses.
func newHold() *cobra.Command {
	return &cobra.Command{
		Use:    "hold",
		Short:  "Hold a container's network namespace until SIGINT or SIGTERM (docker world)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			<-cmd.Context().Done()
			return nil
		},
	}
}
