package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
)

// flagError returns a flag error of pflag's as a message lblab says in
// Chinese too: the same English, the fixed words translated, the flag
// names and values as given. Any other error is returned as it is.
func flagError(err error) error {
	var (
		notExist *pflag.NotExistError
		required *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
		syntax   *pflag.InvalidSyntaxError
	)
	switch {
	case errors.As(err, &notExist):
		if s := notExist.GetSpecifiedShortnames(); s != "" {
			return i18n.Errorf("unknown shorthand flag: %q in -%s", rune(notExist.GetSpecifiedName()[0]), s)
		}
		if strings.HasPrefix(err.Error(), "unknown flag: ") {
			return i18n.Errorf("unknown flag: --%s", notExist.GetSpecifiedName())
		}
	case errors.As(err, &required):
		if s := required.GetSpecifiedShortnames(); s != "" {
			return i18n.Errorf("flag needs an argument: %q in -%s", rune(required.GetSpecifiedName()[0]), s)
		}
		return i18n.Errorf("flag needs an argument: --%s", required.GetSpecifiedName())
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		name := "--" + f.Name
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			name = "-" + f.Shorthand + ", " + name
		}
		return i18n.Errorf("invalid argument %q for %q flag: %w", invalid.GetValue(), name, valueError(invalid.Unwrap()))
	case errors.As(err, &syntax):
		return i18n.Errorf("bad flag syntax: %s", syntax.GetSpecifiedFlag())
	}
	return err
}

// valueError returns why a flag's value was refused, a number's parse
// error (strconv's) said in Chinese too; any other error as it is.
func valueError(err error) error {
	var num *strconv.NumError
	if errors.As(err, &num) {
		if errors.Is(num.Err, strconv.ErrRange) {
			return i18n.Errorf("strconv.%s: parsing %q: value out of range", num.Func, num.Num)
		}
		return i18n.Errorf("strconv.%s: parsing %q: invalid syntax", num.Func, num.Num)
	}
	return err
}

// exactArgs is cobra.ExactArgs with its message said in Chinese too.
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{i18n.Errorf("accepts %d arg(s), received %d", n, len(args))}
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs with its message said in Chinese too.
func minArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError{i18n.Errorf("requires at least %d arg(s), only received %d", n, len(args))}
		}
		return nil
	}
}

// argsLang returns the language a command line asks for with --lang
// (--lang zh, --lang=zh), for the errors found before its flags are read
// (an unknown command, a bad flag before --lang); else the locale's.
func argsLang(args []string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		v, ok := strings.CutPrefix(a, "--lang=")
		if a == "--lang" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if l, err := reports.ParseLang(v); ok && err == nil {
			return l
		}
	}
	return localeLang()
}
