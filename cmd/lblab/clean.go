package main

import (
	"fmt"

	"github.com/lblab/lblab/testbed/netns"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newClean) }

func newClean() *cobra.Command {
	var opt netns.CleanOptions
	c := &cobra.Command{
		Use:   "clean",
		Short: "Remove the network namespaces, processes and work folders that stopped lblab runs left behind (root)",
		Long: `Remove what netns runs and tests left behind when they were killed
(SIGKILL, a crash): their lbl-<pid>-* network namespaces with every
process inside (and so the VIPs they held), lbl-* links, and work folders
<tmp>/lblab-netns-<pid>-*. Only the remains of processes <pid> that are
gone are removed: runs still going on (yours or another job's on a shared
host) are left alone, and listed.

--all removes the remains of running lblab processes too (those runs then
fail), and lbl-* namespaces and lblab-netns-* folders that name no owner.
--pid PID looks only at what process PID made.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if c.Flags().Changed("pid") && opt.Owner < 1 {
				// Owner 0 means no filter: --pid 0 (an empty $PID made 0)
				// must not clean every stopped run's remains.
				return usageError{fmt.Errorf("--pid %d: not a process id (1 or more)", opt.Owner)}
			}
			if err := netns.Available(); err != nil {
				return err
			}
			if opt.All {
				fmt.Fprintln(c.ErrOrStderr(), "lblab: warning: --all also removes the namespaces and processes of runs still going; they will fail")
			}
			removed, kept, err := netns.Clean(opt)
			w := c.OutOrStdout()
			if removed.Empty() {
				fmt.Fprintln(w, "nothing to clean")
			} else {
				fmt.Fprintf(w, "removed %s\n", removed)
			}
			if !kept.Empty() {
				fmt.Fprintf(w, "kept (their process still runs, or their owner is not known; --all removes them too): %s\n", kept)
			}
			return err
		},
	}
	c.Flags().BoolVar(&opt.All, "all", false, "also remove the remains of runs still going (they fail), and those with no owner")
	c.Flags().IntVar(&opt.Owner, "pid", 0, "only what the lblab process PID made (its namespaces lbl-PID-*, its folders lblab-netns-PID-*)")
	return c
}
