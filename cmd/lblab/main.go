// Command lblab runs load-balancing and VRRP failover labs in a
// deterministic simulator (and, later, on real hosts), checks what
// happened against the protocols' theory, and writes HTML reports.
//
// Exit status: 0 when every expectation holds, 1 when one fails, 2 on bad
// input (a lab file, a flag, an unknown command), 130/143 when SIGINT/SIGTERM
// stopped it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/spf13/cobra"
)

// exitError carries an exit status without a message of its own.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signalContext(context.Background())
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs the command line, writing to stdout and stderr, and
// returns the exit status.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// The packages' warnings (the report's font note) print as lblab's
	// own, in the language of the command line.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(newWarningHandler(stderr, argsLang(args))))
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := unknownCommand(root, args); err != nil {
		fmt.Fprintln(stderr, "lblab:", i18n.Say(err, argsLang(args)))
		return 2
	}
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	lang := argsLang(args)
	if cmd != nil && cmd.Flags().Changed("lang") {
		if l, lerr := langOf(cmd); lerr == nil {
			lang = l
		}
	}
	if in, ok := interruption(ctx); ok {
		fmt.Fprintln(stderr, "lblab:", in)
		return in.code()
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "lblab:", i18n.Say(err, lang))
	var bad labfile.BadInput
	if errors.As(err, &bad) || isUsage(err) {
		return 2
	}
	return 1
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "lblab",
		Short:         "Run load-balancer and VRRP failover labs, check them against theory, report",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{flagError(err)} })
	root.PersistentFlags().String("lang", "", "language of the output (messages, summary, report): en or zh (default from LC_ALL, LC_MESSAGES or LANG: zh_* is zh)")
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// commands makes the subcommands; a command in a file of its own adds
// itself here from an init function.
var commands = []func() *cobra.Command{newList, newValidate, newRun, newBalance}

// unknownCommand returns an error, one line, when args name no command
// (cobra's own error spans lines with its suggestions).
func unknownCommand(root *cobra.Command, args []string) error {
	// The commands cobra adds itself, as ExecuteC adds them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd(args...)
	c, rest, err := root.Find(args)
	if err == nil || c != root {
		return nil
	}
	name := ""
	for _, a := range rest {
		if !strings.HasPrefix(a, "-") {
			name = a
			break
		}
	}
	if s := root.SuggestionsFor(name); len(s) > 0 {
		return usageError{i18n.Errorf("unknown command %q (did you mean %s?); 'lblab --help' lists the commands", proxy.Clip(name), strings.Join(s, " or "))}
	}
	return usageError{i18n.Errorf("unknown command %q; 'lblab --help' lists the commands", proxy.Clip(name))}
}

// usageError is a bad flag or argument.
type usageError struct{ error }

func (usageError) BadInput() {}

// In says the error in lang.
func (u usageError) In(lang string) string { return i18n.Say(u.error, lang) }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}
