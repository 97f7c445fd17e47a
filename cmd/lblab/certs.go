package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/lblab/lblab/proxy/certs"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newCerts) }

func newCerts() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "certs --out DIR HOST...",
		Short: "Make a lab CA and a server certificate per host name (for HTTPS and SNI labs)",
		Long: `Make a lab certificate authority (DIR/ca.pem, reused if present) and, for
each HOST, DIR/HOST.pem and DIR/HOST-key.pem signed by it. Give clients
ca.pem to trust. For teaching only: the keys are not protected.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("name at least one host")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, hosts []string) error {
			if out == "" {
				return usageError{fmt.Errorf("--out DIR is required")}
			}
			f, err := certs.Make(out, hosts, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "CA: %s\n", f.CA)
			names := make([]string, 0, len(f.Certs))
			for h := range f.Certs {
				names = append(names, h)
			}
			sort.Strings(names)
			for _, h := range names {
				fmt.Fprintf(c.OutOrStdout(), "%s: %s %s\n", h, f.Certs[h][0], f.Certs[h][1])
			}
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "folder to write the certificates to")
	return c
}
