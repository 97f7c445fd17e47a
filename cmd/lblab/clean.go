package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/testbed/dockerbed"
	"github.com/lblab/lblab/testbed/netns"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newClean) }

func newClean() *cobra.Command {
	var opt netns.CleanOptions
	var images bool
	c := &cobra.Command{
		Use:   "clean",
		Short: "Remove the network namespaces, processes, work folders, containers and Docker networks that stopped lblab runs left behind",
		Long: `Remove what netns and docker runs and tests left behind when they were
killed (SIGKILL, a crash): their lbl-<pid>-* network namespaces with every
process inside (and so the VIPs they held), lbl-* links, and work folders
<tmp>/lblab-netns-<pid>-* (root); and, when a Docker engine answers
(DOCKER_HOST or the local socket), the containers and networks labelled
io.lblab.run whose io.lblab.pid process is gone, with their work folders
<tmp>/lblab-docker-<run id>-*. Only the remains of
processes <pid> that are gone are removed: runs still going on (yours or
another job's on a shared host) are left alone, and listed, as are docker
runs made from another machine (their process cannot be seen from here).

--all removes the remains of running lblab processes too (those runs then
fail), lbl-* namespaces and lblab-netns-* folders that name no owner, and
docker runs of other machines.
--pid PID looks only at what process PID made.
--images also removes the cached lblab-scratch images (one per lblab
binary) that no container uses; the next docker run builds its own again.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if c.Flags().Changed("pid") && opt.Owner < 1 {
				// Owner 0 means no filter: --pid 0 (an empty $PID made 0)
				// must not clean every stopped run's remains.
				return usageError{fmt.Errorf("--pid %d: not a process id (1 or more)", opt.Owner)}
			}
			nsErr, dockErr := netns.Available(), dockerbed.Engine()
			if nsErr != nil && dockErr != nil {
				return fmt.Errorf("nothing to clean with: %v; %v", nsErr, dockErr)
			}
			if dockErr != nil && os.Getenv("DOCKER_HOST") != "" {
				// The engine the user named is not cleaned: say so, rather
				// than "nothing to clean".
				language, _ := langOf(c)
				printWarning(c.ErrOrStderr(), i18n.T("containers are not cleaned: %v", dockErr), language)
			}
			if opt.All {
				fmt.Fprintln(c.ErrOrStderr(), "lblab: warning: --all also removes the namespaces, containers and processes of runs still going; they will fail")
			}
			var removed, kept []string
			var errs []error
			if nsErr == nil {
				r, k, err := netns.Clean(opt)
				if !r.Empty() {
					removed = append(removed, r.String())
				}
				if !k.Empty() {
					kept = append(kept, k.String())
				}
				errs = append(errs, err)
			}
			if dockErr == nil {
				r, k, err := dockerbed.Clean(c.Context(), dockerbed.CleanOptions{All: opt.All, Owner: opt.Owner, Images: images})
				if !r.Empty() {
					removed = append(removed, r.String())
				}
				if !k.Empty() {
					kept = append(kept, k.String())
				}
				errs = append(errs, err)
			}
			w := c.OutOrStdout()
			if len(removed) == 0 {
				fmt.Fprintln(w, "nothing to clean")
			} else {
				fmt.Fprintf(w, "removed %s\n", strings.Join(removed, "; "))
			}
			if len(kept) > 0 {
				fmt.Fprintf(w, "kept (their process still runs, or their owner is not known; --all removes them too): %s\n", strings.Join(kept, "; "))
			}
			return errors.Join(errs...)
		},
	}
	c.Flags().BoolVar(&opt.All, "all", false, "also remove the remains of runs still going (they fail), and those with no owner")
	c.Flags().IntVar(&opt.Owner, "pid", 0, "only what the lblab process PID made (its namespaces lbl-PID-*, its folders lblab-netns-PID-*, its containers and networks labelled io.lblab.pid=PID)")
	c.Flags().BoolVar(&images, "images", false, "also remove the cached lblab-scratch Docker images no container uses")
	return c
}
