// Package units holds the value types of lab and proxy configuration files:
// durations written as "10s", "250ms" or a plain number of seconds.
package units

import (
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
)

// Duration is a lab file duration: a Go duration string ("10s", "1.5s",
// "100us") or a plain number of seconds (keepalived's habit: advert_int 1).
// A value that is neither is kept and reported by validation with its line.
type Duration struct {
	// D is the parsed duration.
	D time.Duration
	// set is true when the field was written.
	set bool
	// bad holds the text of a value that did not parse.
	bad string
	// shape is "a list" or "a mapping" when the value was one.
	shape string
}

// UnmarshalYAML records the value; it never fails on a bad duration so
// that validation can name its line. It decodes the value's own node (the
// YAML library's func(any) form) rather than taking its bytes: the byte
// form re-formats the value from the token list of the whole file, once
// for every duration.
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var v any
	if err := unmarshal(&v); err != nil {
		return err
	}
	*d = Duration{set: true}
	var text string
	switch v := v.(type) {
	case string:
		text = strings.TrimSpace(v)
	case uint64:
		text = strconv.FormatUint(v, 10)
	case int64:
		text = strconv.FormatInt(v, 10)
	case float64:
		text = FloatText(v)
	case bool:
		text = strconv.FormatBool(v)
	case nil:
		text = "null"
	case []any:
		d.shape = "a list"
		return nil
	default:
		d.shape = "a mapping"
		return nil
	}
	p, err := ParseDuration(text)
	if err != nil {
		d.bad = text
		return nil
	}
	d.D = p
	return nil
}

// MarshalYAML writes the duration as Go writes it.
func (d Duration) MarshalYAML() (any, error) { return d.D.String(), nil }

// IsZero reports whether the field was not written, so that a YAML
// encoder omitting empty fields leaves it out (and keeps a written 0s):
// the file it writes reads back the same.
func (d Duration) IsZero() bool { return !d.set }

// Bad returns the text of a value that did not parse, "a list" or "a
// mapping" for one of those, or "" when the value is a duration.
func (d Duration) Bad() string {
	if d.shape != "" {
		return d.shape
	}
	return d.bad
}

// NotADuration ends the message of a value that is not a duration, after
// the value (What).
const NotADuration = " is not a duration (write 10s, 250ms or a number of seconds)"

// What returns a value that is not a duration as messages quote it: its
// text quoted and cut to QuoteMax bytes (Quote), "a list" or "a mapping";
// or "" when the value is a duration.
func (d Duration) What() string {
	switch {
	case d.shape != "":
		return d.shape
	case d.bad != "":
		return Quote(d.bad)
	}
	return ""
}

// Problem says what is wrong with a value that is not a duration, with a
// hint when it holds a character that looks like an ASCII one
// (LookalikeHint: a Unicode hyphen, a full-width digit), or returns "".
func (d Duration) Problem() string { return d.ProblemText().String() }

// ProblemText is Problem as a message, to say in other languages; the
// zero Text when d is a duration.
func (d Duration) ProblemText() i18n.Text {
	w := d.What()
	if w == "" {
		return i18n.Text{}
	}
	if hint := Lookalike(d.bad); !hint.IsZero() {
		return i18n.T("%s is not a duration (write 10s, 250ms or a number of seconds) (%s)", w, hint)
	}
	return i18n.T("%s is not a duration (write 10s, 250ms or a number of seconds)", w)
}

// Of returns a Duration set to v, as if written in a file.
func Of(v time.Duration) Duration { return Duration{D: v, set: true} }

// IsSet reports whether the field was written in the file.
func (d Duration) IsSet() bool { return d.set }

// Or returns the duration, or def when the field was not written.
func (d Duration) Or(def time.Duration) time.Duration {
	if !d.set {
		return def
	}
	return d.D
}

// ParseDuration reads "10s", "250ms", "1.5" (seconds) or "3" (seconds).
func ParseDuration(text string) (time.Duration, error) {
	if text == "" {
		return 0, i18n.Errorf("empty duration")
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		if !(f >= 0 && f <= 1e9) { // NaN too
			return 0, i18n.Errorf("%s is out of range", Quote(text))
		}
		return time.Duration(f*1e9 + 0.5), nil
	}
	v, err := time.ParseDuration(text)
	if err != nil {
		return 0, i18n.Errorf("%s is not a duration (write 10s, 250ms or a number of seconds)", Quote(text))
	}
	return v, nil
}
