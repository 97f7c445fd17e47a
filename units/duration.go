// Package units holds the value types of lab and proxy configuration files:
// durations written as "10s", "250ms" or a plain number of seconds.
package units

import (
	"fmt"
	"strconv"
	"strings"
	"time"
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
}

// UnmarshalYAML records the value; it never fails so that validation can
// name the line of a bad value.
func (d *Duration) UnmarshalYAML(b []byte) error {
	text := strings.Trim(strings.TrimSpace(string(b)), `"'`)
	d.set = true
	v, err := ParseDuration(text)
	if err != nil {
		d.bad = text
		return nil
	}
	d.D, d.bad = v, ""
	return nil
}

// MarshalYAML writes the duration as Go writes it.
func (d Duration) MarshalYAML() (any, error) { return d.D.String(), nil }

// Bad returns the text of a value that did not parse ("" if it did).
func (d Duration) Bad() string { return d.bad }

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
		return 0, fmt.Errorf("empty duration")
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		if f < 0 || f > 1e9 {
			return 0, fmt.Errorf("%q is out of range", text)
		}
		return time.Duration(f*1e9 + 0.5), nil
	}
	v, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (write 10s, 250ms or a number of seconds)", text)
	}
	return v, nil
}
