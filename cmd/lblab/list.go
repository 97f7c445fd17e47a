package main

import (
	"fmt"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/spf13/cobra"
)

func newList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the labs of the catalog, one a line",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			labs, err := scenarios.Catalog()
			if err != nil {
				return err
			}
			w := 0
			for _, l := range labs {
				w = max(w, len(l.Name))
			}
			for _, l := range labs {
				fmt.Fprintf(c.OutOrStdout(), "%-*s  %s\n", w, l.Name, l.Title)
			}
			return nil
		},
	}
}

func newValidate() *cobra.Command {
	var sets []string
	c := &cobra.Command{
		Use:   "validate LAB|keepalived.conf|nginx.conf",
		Short: "Check a lab file (or catalog name), a keepalived.conf or an nginx configuration and print its problems with file, line and field",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if handled, err := validateConfFile(c, args[0], sets); handled {
				return err
			}
			language, err := langOf(c)
			if err != nil {
				return err
			}
			lab, err := unlessInterrupted(c.Context(), func() (*labfile.Lab, error) { return scenarios.Load(args[0], sets) })
			if err != nil {
				return err
			}
			printLabWarnings(c.ErrOrStderr(), lab, language)
			fmt.Fprintln(c.OutOrStdout(), i18n.T("%s: ok (%s)", args[0], lab.Localized(language).Title).In(language))
			return nil
		},
	}
	c.Flags().StringArrayVar(&sets, "set", nil, "override a field: PATH=VALUE (repeatable)")
	return c
}
