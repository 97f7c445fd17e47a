package units

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// QuoteMax is how many bytes of an input value error and warning messages
// quote: about a line's worth.
const QuoteMax = 80

// Cut returns s, or its first QuoteMax bytes (cut on a rune boundary)
// followed by "…" and its length in bytes when it is longer, so that a
// huge token in a file gives a message of one line.
func Cut(s string) string {
	if len(s) <= QuoteMax {
		return s
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:runeCut(s, QuoteMax)], len(s))
}

// CutN returns s, or its first n bytes (cut on a rune boundary) followed by
// "…" when it is longer.
func CutN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:runeCut(s, n)] + "…"
}

// runeCut returns the largest i <= n at the start of a rune of s (or its
// end).
func runeCut(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// Quote returns s quoted as %q quotes it, at most QuoteMax bytes long in
// all: a longer one is cut, with "…" and the length of s in bytes inside
// the quotes.
func Quote(s string) string {
	q := strconv.Quote(s)
	if len(q) <= QuoteMax {
		return q
	}
	tail := fmt.Sprintf("…(%d bytes)\"", len(s))
	for n := QuoteMax; n > 0; n = runeCut(s, n-1) {
		if q = strconv.Quote(s[:runeCut(s, n)]); len(q)-1+len(tail) <= QuoteMax {
			return q[:len(q)-1] + tail
		}
	}
	return `"` + tail
}

// Sprintf formats as fmt.Sprintf does, with every string argument of a
// %q verb (an input value, by this project's habit) cut by Cut. Arguments
// of %s and %v are messages made by code, left whole.
func Sprintf(format string, args ...any) string {
	return fmt.Sprintf(format, CutArgs(format, args)...)
}

// CutArgs returns a copy of args (the caller's slice stays as it was) with
// every string argument of a %q verb of format cut by Cut, as Sprintf
// formats them.
func CutArgs(format string, args []any) []any {
	args = slices.Clone(args)
	n := 0
	for i := 0; i < len(format) && n < len(args); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0123456789.", format[i]) >= 0 {
			i++
		}
		if i == len(format) || format[i] == '%' {
			continue
		}
		if s, ok := args[n].(string); ok && format[i] == 'q' && len(s) > QuoteMax {
			args[n] = Cut(s)
		}
		n++
	}
	return args
}
